//! Rendering tests: open what was written and check its content.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use calamine::{open_workbook_auto, Data, Reader};
use caseaudit_engine::*;
use caseaudit_report::{csv_out, html, write_json, xlsx};
use serde_json::Map;
use std::path::Path;

fn finding(file: &str, row: u32, case: &str, agency: &str, rule: &str, cells: &[&str]) -> Finding {
    Finding {
        case_id: Some(case.into()),
        agency: Some(agency.into()),
        rule_id: rule.into(),
        system: caseaudit_rules::System::Publication.into(),
        severity: caseaudit_rules::Severity::Major.into(),
        title: "行政许可、行政处罚决定未公示".into(),
        message: format!("{case} 的说明"),
        evidence: Map::new(),
        deduction: 5,
        veto: false,
        source: Source {
            file: file.into(),
            sheet: String::new(),
            row,
            column: None,
        },
        cells: cells.iter().map(|s| s.to_string()).collect(),
    }
}

fn report(ledger: &Path) -> AuditReport {
    let file = ledger.display().to_string();
    let evil = "<script>alert(1)</script>";
    AuditReport {
        tool: ToolInfo {
            name: "caseaudit".into(),
            version: "0.1.0".into(),
        },
        run: RunInfo {
            as_of: "2022-12-31".into(),
            profile: "national".into(),
            pack: PackInfo {
                name: "three-systems".into(),
                version: "t".into(),
                source: "built-in".into(),
            },
            inputs: vec![InputSummary {
                file: file.clone(),
                sheet: String::new(),
                rows: 2,
                cases: 2,
                rejected: 0,
                empty_rows_skipped: 0,
                header_rows: vec![1],
                columns: vec![],
                missing_fields: vec![],
                not_evaluated: vec![],
                notes: vec![],
                rejected_rows: Vec::new(),
                implied: Vec::new(),
            }],
            errors: vec![],
            warnings: vec![],
            rows_read: 2,
            cases_audited: 2,
            rows_rejected: 0,
            published: Vec::new(),
            published_summary: None,
            field_labels: Default::default(),
            rules: vec![],
        },
        findings: vec![
            finding(&file, 2, "=HYPERLINK(\"x\")", evil, "PUB-001", &["C"]),
            finding(
                &file,
                3,
                "B-2",
                "局乙 <img src=x onerror=alert(2)>",
                "PUB-002",
                &["A", "C"],
            ),
        ],
        scores: Scores {
            cases: Default::default(),
            agencies: vec![AgencyScore {
                agency: evil.into(),
                cases: 1,
                mean_score: 95.0,
                grades: Map::new(),
                veto_cases: 0,
                findings: 1,
                findings_by_system: Map::new(),
            }],
        },
    }
}

fn ledger(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("ledger.csv");
    std::fs::write(
        &p,
        "案件编号,执法单位,决定日期\n=HYPERLINK(\"x\"),局甲,2022-03-01\nB-2,局乙,2022-03-02\n",
    )
    .expect("write");
    p
}

#[test]
fn xlsx_has_the_sheets_neutralised_text_and_exact_annotations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = report(&ledger(dir.path()));
    let path = xlsx::write_xlsx(&r, dir.path()).expect("xlsx");
    let mut wb = open_workbook_auto(&path).expect("open");
    let names = wb.sheet_names().to_vec();
    assert_eq!(&names[..4], &["汇总", "问题清单", "评分", "规则"]);
    assert!(
        names.iter().any(|n| n.starts_with("批注-ledger")),
        "{names:?}"
    );
    let findings = wb.worksheet_range("问题清单").expect("sheet");
    assert_eq!(findings.height(), 3);
    assert_eq!(
        findings.get((1, 4)),
        Some(&Data::String("'=HYPERLINK(\"x\")".into()))
    );
    assert_eq!(findings.get((1, 6)), Some(&Data::String("PUB-001".into())));
    // The annotated copy keeps the ledger's cells (neutralised) and comments exactly
    // the finding cells: C2, A3, C3.
    let copy = names
        .iter()
        .find(|n| n.starts_with("批注-"))
        .cloned()
        .expect("copy");
    let range = wb.worksheet_range(&copy).expect("copy range");
    assert_eq!(range.get((0, 0)), Some(&Data::String("案件编号".into())));
    assert_eq!(range.get((2, 0)), Some(&Data::String("B-2".into())));
    let bytes = std::fs::read(&path).expect("read");
    let mut zip = zip_entries(&bytes);
    let comments = zip
        .iter_mut()
        .find(|(n, _)| n.starts_with("xl/comments"))
        .map(|(_, t)| t.clone())
        .expect("comments xml");
    let mut refs: Vec<String> = comments
        .split("<comment ref=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or("").to_string())
        .collect();
    refs.sort();
    assert_eq!(refs, vec!["A3", "C2", "C3"]);
}

/// (name, text) of the entries of an xlsx: calamine does not read comments, so the
/// test reads the comments XML itself.
fn zip_entries(bytes: &[u8]) -> Vec<(String, String)> {
    let reader = std::io::Cursor::new(bytes);
    let mut z = zip::ZipArchive::new(reader).expect("zip");
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("entry");
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut f, &mut s);
        out.push((f.name().map(|n| n.to_string()).unwrap_or_default(), s));
    }
    out
}

#[test]
fn html_escapes_and_is_self_contained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = report(&ledger(dir.path()));
    let path = html::write_html(&r, dir.path()).expect("html");
    let page = std::fs::read_to_string(path).expect("read");
    assert!(!page.contains("<script>alert"), "unescaped script");
    assert!(!page.contains("<img src=x"), "unescaped img");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    let start = page.find("id=\"findings-data\">").expect("data") + "id=\"findings-data\">".len();
    let end = start + page[start..].find("</script>").expect("end");
    let data: serde_json::Value = serde_json::from_str(&page[start..end]).expect("json");
    assert_eq!(data.as_array().map(|a| a.len()), Some(2));
    assert_eq!(data[0][0], "<script>alert(1)</script>");
    assert!(page.contains("id=\"findings-table\"") && page.contains("<svg"));
}

#[test]
fn csv_neutralises_formulas_and_json_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = report(&ledger(dir.path()));
    let p = csv_out::write_csv(&r, dir.path()).expect("csv");
    let text = std::fs::read_to_string(p).expect("read");
    assert!(text.contains("'=HYPERLINK"), "{text}");
    let j = write_json(&r, dir.path()).expect("json");
    let back: AuditReport =
        serde_json::from_str(&std::fs::read_to_string(j).expect("read")).expect("parse");
    assert_eq!(back, r);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}
