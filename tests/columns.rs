//! The column-first loader: CSV records and parquet columns go straight into typed
//! columns in chunks. What a person sees must not change with that: row numbers as a
//! spreadsheet shows them, findings across chunk boundaries, the case-number key,
//! capped duplicate messages, other tools' parquet types.

use super::{caseaudit, read_json, RunOk};
use std::fmt::Write as _;
use std::path::Path;

/// Audits `inputs` into `out` (json and xlsx); the report.
fn audit(out: &Path, inputs: &[&Path]) -> serde_json::Value {
    caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,xlsx",
            "--out",
        ])
        .arg(out)
        .args(inputs)
        .run_ok();
    read_json(&out.join("findings.json"))
}

/// (row, rule id) of every finding.
fn rows_and_rules(report: &serde_json::Value) -> Vec<(u64, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["source"]["row"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn csv_rows_are_numbered_as_a_spreadsheet_shows_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("wps.csv");
    // BOM, CRLF, a quoted cell of three lines in row 2 and a blank line before row 5:
    // the bad date of G-3 is on text line 6, spreadsheet row 4; G-4's on row 6.
    let text = "\u{feff}案件编号,执法单位,执法类别,违法事实,立案日期\r\n\
                G-1,某局,行政检查,\"第一行\r\n第二行\r\n第三行\",2022-01-05\r\n\
                G-2,某局,行政检查,无,2022-01-06\r\n\
                G-3,某局,行政检查,无,不是日期\r\n\
                \r\n\
                G-4,某局,行政检查,无,也不是\r\n";
    std::fs::write(&csv, text).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let report = audit(&out, &[&csv]);
    let dq3: Vec<u64> = rows_and_rules(&report)
        .into_iter()
        .filter(|(_, r)| r == "DQ-003")
        .map(|(row, _)| row)
        .collect();
    assert_eq!(dq3, [4, 6]);
    // The annotated copy (streamed from the CSV) marks the same cells: E4 and E6.
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook(out.join("findings.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    use calamine::Reader;
    let name = wb
        .sheet_names()
        .into_iter()
        .find(|n| n.starts_with("批注-"))
        .unwrap_or_else(|| panic!("no annotated copy"));
    let range = wb.worksheet_range(&name).unwrap_or_else(|e| panic!("{e}"));
    let cell = |r: u32, c: u32| range.get_value((r, c)).map(|v| v.to_string());
    assert_eq!(cell(3, 4).as_deref(), Some("不是日期"));
    assert_eq!(cell(5, 4).as_deref(), Some("也不是"));
    assert_eq!(cell(1, 3).as_deref(), Some("第一行\r\n第二行\r\n第三行"));
}

#[test]
fn an_unclosed_quote_is_a_file_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("open-quote.csv");
    let mut text = String::from("案件编号,执法单位,执法类别,文字记录\n");
    for i in 0..100 {
        if i == 10 {
            text.push_str("G-10,某局,\"行政检查,是\n");
        } else {
            let _ = writeln!(text, "G-{i},某局,行政检查,是");
        }
    }
    std::fs::write(&bad, text).unwrap_or_else(|e| panic!("{e}"));
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "案件编号,执法单位,执法类别,文字记录\nG-1,某局,行政检查,否\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let o = caseaudit()
        .args(["audit", "--as-of", "2022-12-31", "--quiet", "--out"])
        .arg(&out)
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("open-quote.csv") && stderr.contains("第 12 行"),
        "{stderr}"
    );
    let report = read_json(&out.join("findings.json"));
    assert_eq!(report["run"]["errors"][0]["kind"], "malformed_csv");
    // None of the bad file's cases is audited; the good file is.
    assert_eq!(report["run"]["cases_audited"], 1);
}

#[test]
fn findings_across_chunks_keep_their_rows() {
    // More rows than two chunks of the loader (65,536 rows each): problems and
    // duplicates on both sides of the chunk boundaries.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("big.csv");
    let mut text = String::from("案件编号,执法单位,执法类别,立案日期\n");
    let n = 140_000;
    for i in 0..n {
        let date = if i % 33_333 == 0 {
            "坏日期"
        } else {
            "2022-01-05"
        };
        let id = if i == 139_000 { 5 } else { i };
        let _ = writeln!(text, "G-{id},某局,行政检查,{date}");
    }
    std::fs::write(&csv, text).unwrap_or_else(|e| panic!("{e}"));
    let report = audit(&dir.path().join("out"), &[&csv]);
    assert_eq!(report["run"]["cases_audited"], n);
    let found = rows_and_rules(&report);
    let dq3: Vec<u64> = found
        .iter()
        .filter(|(_, r)| r == "DQ-003")
        .map(|(row, _)| *row)
        .collect();
    // Case i is on row i + 2.
    assert_eq!(dq3, [2, 33_335, 66_668, 100_001, 133_334]);
    let dq2: Vec<u64> = found
        .iter()
        .filter(|(_, r)| r == "DQ-002")
        .map(|(row, _)| *row)
        .collect();
    assert_eq!(dq2, [7, 139_002]);
    let scores = report["scores"]["cases"].as_array().map_or(0, Vec::len);
    assert_eq!(scores, n);
}

#[test]
fn duplicate_case_numbers_match_by_their_key_and_name_at_most_ten_others() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("dup.csv");
    let mut text = String::from("案件编号,执法单位,执法类别\n");
    // One case number written four ways (brackets, full-width, spaces): one key.
    for id in [
        "巴市监罚〔2022〕21号",
        "巴市监罚[2022]21号",
        "巴市监罚［2022］２１号",
        " 巴市监罚 (2022) 21号",
    ] {
        let _ = writeln!(text, "{id},某局,行政检查");
    }
    for _ in 0..30 {
        text.push_str("X-1,某局,行政检查\n");
    }
    std::fs::write(&csv, text).unwrap_or_else(|e| panic!("{e}"));
    let report = audit(&dir.path().join("out"), &[&csv]);
    let dq2: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule_id"] == "DQ-002")
        .collect();
    assert_eq!(dq2.len(), 34);
    // Outputs show the number as written, not the key.
    assert_eq!(dq2[1]["case_id"], "巴市监罚[2022]21号");
    let big = dq2
        .iter()
        .find(|f| f["case_id"] == "X-1")
        .unwrap_or_else(|| panic!("no X-1"));
    let message = big["message"].as_str().unwrap_or("");
    assert_eq!(message.matches("第 ").count(), 10, "{message}");
    assert!(message.contains("另有 19 行"), "{message}");
    assert_eq!(big["evidence"]["other_rows"], 29);
    assert_eq!(big["evidence"]["rows"].as_array().map_or(0, Vec::len), 10);
}

#[test]
fn parquet_from_other_tools_with_decimals_and_time_zones_is_read() {
    if std::env::var("CASEAUDIT_SKIP_DUCKDB").is_ok_and(|v| v == "1") {
        eprintln!("CASEAUDIT_SKIP_DUCKDB=1: parquet writer (duckdb) not available, skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pq = dir.path().join("duck.parquet");
    let script = format!(
        "import duckdb\n\
         duckdb.sql(\"\"\"COPY (SELECT * FROM (VALUES \
         ('P-1', '某局', '行政处罚', CAST(5000.50 AS DECIMAL(12,2)), TIMESTAMPTZ '2022-03-05 10:00:00+08', 3::BIGINT), \
         ('P-2', '某局', '行政处罚', CAST(0.5 AS DECIMAL(12,2)), TIMESTAMPTZ '2022-03-06 07:30:00+08', NULL)) \
         t(案件编号, 执法单位, 执法类别, 罚款金额, 决定日期, 序号)) TO '{}' (FORMAT PARQUET)\"\"\")\n",
        pq.display()
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,cases",
            "--out",
        ])
        .arg(&out)
        .arg(&pq)
        .run_ok();
    let report = read_json(&out.join("findings.json"));
    assert_eq!(report["run"]["cases_audited"], 2);
    assert!(
        !report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["rule_id"] == "DQ-003"),
        "{}",
        report["findings"]
    );
    // The values as the audit read them: cases.parquet, read back with DuckDB.
    let check = format!(
        "import duckdb\n\
         print(duckdb.sql(\"SELECT case_id, fine_amount, CAST(decision_date AS VARCHAR), case_key FROM '{}' ORDER BY case_id\").fetchall())",
        out.join("cases.parquet").display()
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &check])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = String::from_utf8_lossy(&o.stdout);
    assert!(
        rows.contains("('P-1', 5000.5, '2022-03-05', 'P-1')")
            && rows.contains("('P-2', 0.5, '2022-03-06', 'P-2')"),
        "{rows} {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
