//! Publication records (`--published`): the platform export of fixtures/published checked
//! against market-2022.xlsx, as fixtures/expected/published says (oracle.py re-derives
//! those files from the workbooks).

use super::{caseaudit, diff, expected, found, read_json, root, RunOk};
use std::collections::BTreeMap;

const LEDGER: &str = "fixtures/ledgers/market-2022.xlsx";
const RECORDS: &str = "fixtures/published/market-platform-2022.xlsx";

fn audit(extra: &[&str]) -> (tempfile::TempDir, serde_json::Value) {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    caseaudit()
        .current_dir(root())
        .args(["audit", LEDGER, "--published", RECORDS])
        .args(extra)
        .args([
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,xlsx,html",
        ])
        .arg("--out")
        .arg(out.path())
        .run_ok();
    let report = read_json(&out.path().join("findings.json"));
    (out, report)
}

fn findings_of<'a>(
    report: &'a serde_json::Value,
    rule: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |f| f["rule_id"] == rule)
}

fn rule_status<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["run"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no status of {id}"))
}

#[test]
fn records_check_the_ledger_as_the_fixture_expects() {
    let (out, report) = audit(&[]);
    let want = expected(&root().join("fixtures/expected/published/market-2022.xlsx.national.tsv"));
    let got = found(&report, "market-2022.xlsx");
    let d = diff(&want, &got);
    assert!(d.is_empty(), "findings differ from the expected:\n{d}");
    // Every class of the fixture, by name.
    let cases = |rule: &str| -> Vec<String> {
        let mut v: Vec<String> = findings_of(&report, rule)
            .map(|f| f["case_id"].as_str().unwrap_or("-").to_string())
            .collect();
        v.sort();
        v
    };
    let no = |n: u32| format!("巴市监罚〔2022〕{n}号");
    // Missing from the platform; 23号 and 27号 decided after the coverage date; 13号's
    // row has no case number; the permits are not covered.
    assert_eq!(cases("PUB-008"), vec![no(12), no(14), no(22)]);
    // Date (3号), amount (7号), party (8号), both records disagreeing (11号), the second
    // row of a duplicated number (20号); 1号/2号 (brackets, spaces), 6号 (3 万元), 9号
    // (a space in the name) and 10号 (one of two records agrees) agree.
    assert_eq!(cases("PUB-009"), vec![no(11), no(20), no(3), no(7), no(8)]);
    // Published, date unknown: no PUB-001 for 4号, PUB-002 not evaluable for it.
    assert!(!cases("PUB-001").contains(&no(4)));
    assert_eq!(rule_status(&report, "PUB-002")["not_evaluable"], 1);
    assert_eq!(rule_status(&report, "PUB-001")["findings"], 1);
    assert_eq!(rule_status(&report, "PUB-008")["evaluated"], true);
    let s = &report["run"]["published_summary"];
    assert_eq!(s["published_without_ledger_date"], 1);
    assert_eq!(s["cases_missing"], 3);
    assert_eq!(s["cases_disagreeing"], 5);
    assert_eq!(s["records"], 23);
    // run.published: the file, its sheet, kind, rows and coverage date.
    let p = &report["run"]["published"];
    assert_eq!(p.as_array().map(Vec::len), Some(1), "{p}");
    let p = &p[0];
    assert_eq!(p["file"], RECORDS);
    assert_eq!(p["sheet"], "行政处罚");
    assert_eq!(p["rows"], 23);
    assert_eq!(p["kind"], "行政处罚");
    // The latest decision date, not the unmapped 公示截止期 column (2022-12-31).
    assert_eq!(p["covered_until"], "2022-09-20");
    assert_eq!(p["matched"], 21);
    assert_eq!(p["unmatched"], 2);
    assert_eq!(p["unreadable_cells"], 1);
    // PUB-009 evidence names the record's file and row and both values.
    let f3 = findings_of(&report, "PUB-009")
        .find(|f| f["case_id"] == no(3).as_str())
        .unwrap_or_else(|| panic!("no PUB-009 for 3号"));
    assert_eq!(f3["evidence"]["published_file"], RECORDS);
    assert_eq!(f3["evidence"]["published_row"], 4);
    let d3 = &f3["evidence"]["differences"][0];
    assert_eq!(d3["field"], "decision_date");
    assert_eq!(d3["ledger"], "2022-03-01");
    assert_eq!(d3["published"], "2022-03-02");
    assert_eq!(f3["cells"], serde_json::json!(["J"]));
    let f7 = findings_of(&report, "PUB-009")
        .find(|f| f["case_id"] == no(7).as_str())
        .unwrap_or_else(|| panic!("no PUB-009 for 7号"));
    assert_eq!(f7["evidence"]["differences"][0]["field"], "fine_amount");
    assert_eq!(f7["evidence"]["differences"][0]["published"], 25000.0);
    // Both records of 11号 disagree: the first of the closest is named.
    let f11 = findings_of(&report, "PUB-009")
        .find(|f| f["case_id"] == no(11).as_str())
        .unwrap_or_else(|| panic!("no PUB-009 for 11号"));
    assert_eq!(f11["evidence"]["published_row"], 13);
    assert_eq!(f11["evidence"]["records"], 2);
    // Records are never cases: no finding and no score comes from the records file.
    for f in report["findings"].as_array().into_iter().flatten() {
        assert!(
            f["source"]["file"]
                .as_str()
                .is_some_and(|s| s.ends_with(LEDGER)),
            "{f}"
        );
    }
    for c in report["scores"]["cases"].as_array().into_iter().flatten() {
        assert_ne!(c["source"]["file"], RECORDS, "{c}");
    }
    assert_eq!(report["run"]["inputs"].as_array().map(Vec::len), Some(2));
    // The annotated copy of the penalty sheet notes the cell that disagrees: 3号's
    // decision date (J7).
    let file =
        std::fs::File::open(out.path().join("findings.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let mut zip = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("{e}"));
    let mut noted = false;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap_or_else(|e| panic!("{e}"));
        if !part.name().is_ok_and(|n| n.starts_with("xl/comments")) {
            continue;
        }
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut part, &mut xml).unwrap_or_else(|e| panic!("{e}"));
        if let Some(at) = xml.find("ref=\"J7\"") {
            let end = xml[at..].find("</comment>").map_or(xml.len(), |e| at + e);
            noted |= xml[at..end].contains("PUB-009");
        }
    }
    assert!(noted, "no PUB-009 note on J7 of the annotated copy");
    // report.html has the publication section with its counts.
    let html =
        std::fs::read_to_string(out.path().join("report.html")).unwrap_or_else(|e| panic!("{e}"));
    assert!(html.contains("<h2 id=\"published\">公示记录比对</h2>"));
    assert!(html.contains("台账未填公示日期但公示平台已有记录 1 件"));
    assert!(html.contains("行政处罚决定至 2022-09-20"));
}

#[test]
fn a_later_coverage_date_covers_later_decisions() {
    let (_out, report) = audit(&["--published-until", "2022-12-31"]);
    let want = expected(
        &root().join("fixtures/expected/published/market-2022.xlsx.until-2022-12-31.national.tsv"),
    );
    let d = diff(&want, &found(&report, "market-2022.xlsx"));
    assert!(d.is_empty(), "findings differ from the expected:\n{d}");
    assert_eq!(report["run"]["published"][0]["covered_until"], "2022-12-31");
}

#[test]
fn the_coverage_date_is_at_most_the_audit_date() {
    let (_out, report) = audit(&["--published-until", "2023-06-30"]);
    assert_eq!(report["run"]["published"][0]["covered_until"], "2022-12-31");
}

#[test]
fn without_records_the_two_rules_do_not_run_and_the_export_is_a_ledger() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    caseaudit()
        .current_dir(root())
        .args(["audit", LEDGER, RECORDS, "--as-of", "2022-12-31", "--quiet"])
        .args(["--format", "json", "--out"])
        .arg(out.path())
        .run_ok();
    let report = read_json(&out.path().join("findings.json"));
    for id in ["PUB-008", "PUB-009"] {
        assert_eq!(rule_status(&report, id)["evaluated"], false);
        assert_eq!(findings_of(&report, id).count(), 0);
    }
    assert!(report["run"].get("published").is_none());
    // Given as an input, the export is audited: its rows are cases.
    let from_export: BTreeMap<_, _> = found(&report, "market-platform-2022.xlsx");
    assert!(!from_export.is_empty());
}

#[test]
fn published_until_needs_published() {
    let o = caseaudit()
        .current_dir(root())
        .args([
            "audit",
            LEDGER,
            "--published-until",
            "2022-12-31",
            "--quiet",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_unreadable_record_file_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("平台导出.xlsx");
    std::fs::write(&bad, b"not a workbook").unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let o = caseaudit()
        .current_dir(root())
        .args([
            "audit",
            LEDGER,
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json",
        ])
        .arg("--published")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
    let report = read_json(&out.join("findings.json"));
    let errors = report["run"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        errors.iter().any(|e| e["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("平台导出.xlsx"))),
        "{errors:?}"
    );
}

#[test]
fn a_record_file_in_the_ledger_folder_is_not_a_ledger() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledgers = dir.path().join("台账");
    std::fs::create_dir(&ledgers).unwrap_or_else(|e| panic!("{e}"));
    for (from, to) in [(LEDGER, "market.xlsx"), (RECORDS, "平台导出.xlsx")] {
        std::fs::copy(root().join(from), ledgers.join(to)).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = dir.path().join("out");
    caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json",
        ])
        .arg(&ledgers)
        .arg("--published")
        .arg(ledgers.join("平台导出.xlsx"))
        .arg("--out")
        .arg(&out)
        .run_ok();
    let report = read_json(&out.join("findings.json"));
    let inputs = report["run"]["inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(inputs.len(), 2, "{inputs:?}");
    assert!(inputs.iter().all(|i| i["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("market.xlsx"))));
    let warnings = report["run"]["warnings"].to_string();
    assert!(warnings.contains("作为公示记录读取"), "{warnings}");
    assert_eq!(report["run"]["published_summary"]["cases_missing"], 3);
}
