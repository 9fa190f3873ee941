//! Ledgers and exports as they come (decisions.md, rulings of 2026-12): rows that are not
//! cases, implied fields, hidden columns, labels in what people read, and the calendar
//! given on the command line.

use super::{caseaudit, read_json, root, RunOk};
use serde_json::Value;

fn audit(args: &[&str]) -> (tempfile::TempDir, Value, String) {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .current_dir(root())
        .args(["audit", "--format", "json", "--out"])
        .arg(out.path())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        o.status.code()
    );
    let report = read_json(&out.path().join("findings.json"));
    (out, report, stderr)
}

fn inputs(report: &Value) -> Vec<Value> {
    report["run"]["inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn totals_and_signoff_rows_are_rejected_not_audited() {
    let (_o, report, _) = audit(&[
        "fixtures/ledgers/quarterly-2022.xlsx",
        "--as-of",
        "2022-12-31",
    ]);
    let ins = inputs(&report);
    let sheets: Vec<&str> = ins.iter().filter_map(|i| i["sheet"].as_str()).collect();
    assert_eq!(sheets, ["一季度", "二季度", "三季度", "四季度"], "{ins:?}");
    let rejected = |sheet: &str| -> Vec<(u64, String)> {
        ins.iter()
            .find(|i| i["sheet"] == sheet)
            .and_then(|i| i["rejected_rows"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r["row"].as_u64().unwrap_or(0),
                    r["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let q1 = rejected("一季度");
    assert_eq!(q1.len(), 1, "{q1:?}");
    assert_eq!(q1[0].0, 7);
    assert!(q1[0].1.contains("合计"), "{q1:?}");
    let q2 = rejected("二季度");
    assert_eq!(q2.iter().map(|r| r.0).collect::<Vec<_>>(), [7, 8], "{q2:?}");
    assert!(q2[1].1.contains("签字"), "{q2:?}");
    for i in &ins {
        assert_eq!(i["cases"].as_u64(), Some(3), "{i}");
        assert_eq!(
            i["rejected"].as_u64(),
            i["rejected_rows"].as_array().map(|a| a.len() as u64),
            "{i}"
        );
    }
    // No finding and no score on a rejected row; the DQ-001 case (row 6 of 二季度) stays.
    for f in report["findings"].as_array().into_iter().flatten() {
        assert!(f["source"]["row"].as_u64() < Some(7), "{f}");
    }
    assert_eq!(report["run"]["cases_audited"].as_u64(), Some(12));
    assert_eq!(
        report["scores"]["cases"].as_array().map(|a| a.len()),
        Some(12)
    );
    assert!(report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["rule_id"] == "DQ-001" && f["source"]["sheet"] == "二季度"));
}

#[test]
fn inspect_marks_hidden_columns_implied_values_and_rejected_rows() {
    let o = caseaudit()
        .current_dir(root())
        .args([
            "inspect",
            "fixtures/ledgers/quarterly-2022.xlsx",
            "fixtures/ledgers/platform-2022.xlsx",
        ])
        .run_ok();
    let text = String::from_utf8_lossy(&o.stdout);
    let hidden_line = text
        .lines()
        .find(|l| l.contains("出示执法证件") && l.contains("隐藏列"))
        .unwrap_or_else(|| panic!("no hidden column marked:\n{text}"));
    assert!(hidden_line.contains('P'), "{hidden_line}");
    assert!(text.contains("未作为案件：第 7 行"), "{text}");
    assert!(
        text.contains("推定：") && text.contains("行政处罚决定书文号") && text.contains("行政许可"),
        "{text}"
    );
    // 证件号码 under the merged 当事人 is carried unmapped; 名称 maps to the party.
    let zjhm = text
        .lines()
        .find(|l| l.contains("当事人证件号码"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(zjhm.contains("未识别"), "{zjhm}");
    assert!(
        !text.contains("party_name"),
        "labels, not canonical names:\n{text}"
    );

    let o = caseaudit()
        .current_dir(root())
        .args(["inspect", "--json", "fixtures/ledgers/platform-2022.xlsx"])
        .run_ok();
    let run: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let implied: Vec<(String, String)> = run["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["implied"].as_array().cloned().unwrap_or_default())
        .map(|m| {
            (
                m["field"].as_str().unwrap_or("").to_string(),
                m["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        implied,
        [
            ("case_type".to_string(), "行政处罚".to_string()),
            ("case_type".to_string(), "行政许可".to_string())
        ]
    );
    for i in run["inputs"].as_array().into_iter().flatten() {
        let ne: Vec<&str> = i["not_evaluated"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["rule_id"].as_str())
            .collect();
        assert!(!ne.contains(&"PUB-001"), "{i}");
        assert!(!i["missing_fields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f == "case_type"));
    }
}

#[test]
fn the_summary_names_missing_fields_by_label() {
    let (_o, _report, stderr) = audit(&[
        "fixtures/ledgers/health-2022-missing.xlsx",
        "--as-of",
        "2022-12-31",
    ]);
    assert!(stderr.contains("缺少“归档日期”列"), "{stderr}");
    assert!(!stderr.contains("archived_date"), "{stderr}");
}

#[test]
fn an_as_of_outside_the_calendar_warns_and_a_calendar_file_fills_the_year() {
    // Every shipped year ends with 2026: 2027 is outside.
    let (_o, report, stderr) = audit(&[
        "fixtures/ledgers/canonical-2022.csv",
        "--as-of",
        "2027-03-01",
    ]);
    let warnings: Vec<String> = report["run"]["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str().map(String::from))
        .collect();
    let w = warnings
        .iter()
        .find(|w| w.contains("2027 年不在工作日历内"))
        .unwrap_or_else(|| panic!("{warnings:?}"));
    for needle in [
        "PUB-001",
        "PRO-002",
        "2027.toml",
        "--calendar",
        "国务院办公厅关于2027年部分节假日安排的通知",
    ] {
        assert!(w.contains(needle), "{needle}: {w}");
    }
    assert!(stderr.contains("2027"), "{stderr}");
    let status = |r: &Value, id: &str| -> Value {
        r["run"]["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    // PUB-001 counts to the as-of date: undecided for the unpublished cases.
    assert!(status(&report, "PUB-001")["not_evaluable"].as_u64() > Some(0));
    // PUB-002 counts between two case dates, REC-004 calendar days: they run as usual.
    assert_eq!(
        status(&report, "PUB-002")["not_evaluable"].as_u64(),
        Some(0)
    );
    assert_eq!(
        status(&report, "REC-004")["not_evaluable"].as_u64(),
        Some(0)
    );
    assert!(status(&report, "REC-004")["findings"].as_u64() > Some(0));

    // A 2027 file given with --calendar: no warning, nothing undecided.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cal = dir.path().join("2027.toml");
    std::fs::write(
        &cal,
        "year = 2027\nnotice = \"测试用日历（非官方）\"\noff = [\"01-01\"]\nwork = []\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cal_arg = cal.display().to_string();
    let (_o, report, _) = audit(&[
        "fixtures/ledgers/canonical-2022.csv",
        "--as-of",
        "2027-03-01",
        "--calendar",
        &cal_arg,
    ]);
    assert!(
        !report["run"]["warnings"].to_string().contains("工作日历"),
        "{}",
        report["run"]["warnings"]
    );
    assert_eq!(
        status(&report, "PUB-001")["not_evaluable"].as_u64(),
        Some(0)
    );
    // A year given past a missing one is refused: counts across 2027 would be wrong.
    let y2028 = dir.path().join("2028.toml");
    std::fs::write(&y2028, "year = 2028\nnotice = \"测试\"\n").unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .current_dir(root())
        .args([
            "audit",
            "fixtures/ledgers/canonical-2022.csv",
            "--as-of",
            "2028-03-01",
        ])
        .arg("--calendar")
        .arg(&y2028)
        .arg("--out")
        .arg(dir.path().join("out2028"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2027.toml"));
    // rules check takes --calendar too, and refuses a broken file.
    std::fs::write(&cal, "year = 2027\nnotice = \"x\"\noff = [\"02-30\"]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .args(["rules", "check", "--calendar", &cal_arg])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("02-30"));
}

/// Per fixture ledger: the rows of its cases, sorted, from the audit and from
/// fixtures/expected/<file>.cases.json (rows as a spreadsheet program shows them).
fn case_rows(only: &[&str]) -> Vec<(String, Vec<u64>, Vec<u64>)> {
    let (_o, report, _) = audit(&["fixtures/ledgers", "--as-of", "2022-12-31"]);
    let mut out = Vec::new();
    let dir = root().join("fixtures/expected");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let Some(file) = name.strip_suffix(".cases.json") else {
            continue;
        };
        if !only.is_empty() && !only.contains(&file) {
            continue;
        }
        let doc = read_json(&dir.join(&name));
        let mut want: Vec<u64> = doc["sheets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["cases"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["row"].as_u64())
            .collect();
        let mut got: Vec<u64> = report["scores"]["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["source"]["file"].as_str().unwrap_or("").ends_with(file))
            .filter_map(|c| c["source"]["row"].as_u64())
            .collect();
        want.sort_unstable();
        got.sort_unstable();
        out.push((file.to_string(), want, got));
    }
    out
}

#[test]
fn case_rows_are_the_rows_people_see() {
    let rows = case_rows(&[]);
    assert!(rows.len() >= 9, "{rows:?}");
    for (file, want, got) in rows {
        if file == "wps-2022.csv" {
            continue; // see the ignored test below
        }
        assert_eq!(got, want, "{file}");
    }
}

/// decisions.md: a CSV's row is its record number counting the header as row 1, so a
/// quoted cell holding line breaks does not shift later rows.
#[test]
fn csv_rows_count_records_not_lines() {
    for (file, want, got) in case_rows(&["wps-2022.csv"]) {
        assert_eq!(want, [2, 3, 4, 5, 6]);
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn inspect_marks_a_hidden_column_of_an_xls() {
    // A real BIFF file (xlwt) with column D hidden: its cells are data, and inspect
    // says the column is hidden.
    let o = caseaudit()
        .current_dir(root())
        .args(["inspect", "--json", "tests/data/hidden-column.xls"])
        .run_ok();
    let run: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let columns = run["inputs"][0]["columns"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let hidden: Vec<&str> = columns
        .iter()
        .filter(|c| c["hidden"] == true)
        .filter_map(|c| c["column"].as_str())
        .collect();
    assert_eq!(hidden, ["D"], "{columns:?}");
    assert_eq!(run["inputs"][0]["cases"], 2);
}

#[test]
fn inspect_reads_without_evaluating_and_lists_unreadable_cells_as_audit_does() {
    let file = "fixtures/ledgers/transport-2022-gbk.csv";
    let o = caseaudit()
        .current_dir(root())
        .args(["inspect", "--json", file])
        .run_ok();
    let ins: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    // The prepare stage alone: no rules, findings or as-of date.
    for key in ["rules", "findings", "as_of"] {
        assert!(ins.get(key).is_none(), "inspect evaluated something: {key}");
    }
    let mut cells: Vec<(u64, String)> = ins["unreadable"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["source"]["row"].as_u64().unwrap_or(0),
                c["source"]["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(!cells.is_empty(), "{ins}");
    // The same cells an audit reports as DQ-003.
    let (_out, report, _) = audit(&[file, "--as-of", "2022-12-31"]);
    let mut dq3: Vec<(u64, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule_id"] == "DQ-003")
        .map(|f| {
            (
                f["source"]["row"].as_u64().unwrap_or(0),
                f["source"]["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    cells.sort();
    dq3.sort();
    assert_eq!(cells, dq3);
}

#[test]
fn each_rule_has_one_status_in_the_run() {
    let (_out, report, _) = audit(&["fixtures/ledgers", "--as-of", "2022-12-31"]);
    let mut ids: Vec<&str> = report["run"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str())
        .collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "a rule listed twice: {ids:?}");
    for id in ["DQ-002", "DQ-003", "PUB-008", "PUB-009", "REC-001"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}
