//! Broken and hostile inputs: each gives a clear error naming the file (or a cell
//! finding), the process never panics, and the rest of the batch is still audited.

use super::{caseaudit, read_json};
use std::io::Write;
use std::path::Path;

const GOOD: &str = "案件编号,执法单位,执法类别,文字记录\nG-1,某局,行政检查,否\n";

/// Audits `bad` together with a good ledger; returns (exit code, stderr, report).
fn audit_with_good(dir: &Path, bad: &Path) -> (Option<i32>, String, serde_json::Value) {
    let good = dir.join("good.csv");
    std::fs::write(&good, GOOD).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let o = caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,csv,xlsx,html",
            "--out",
        ])
        .arg(&out)
        .arg(bad)
        .arg(&good)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let report = read_json(&out.join("findings.json"));
    let good_cases: u64 = report["run"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["file"].as_str().unwrap_or("").ends_with("good.csv"))
        .map(|i| i["cases"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(good_cases, 1, "the good file was not audited: {stderr}");
    (o.status.code(), stderr, report)
}

/// A file error: exit 2, the file named on stderr and in run.errors with `reason`.
fn file_error(name: &str, bytes: &[u8], reason: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join(name);
    std::fs::write(&bad, bytes).unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, report) = audit_with_good(dir.path(), &bad);
    assert_eq!(code, Some(2), "{name}: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{name} not named: {stderr}"));
    assert!(line.contains(reason), "{name}: `{line}` lacks `{reason}`");
    let errors = report["run"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(errors.len(), 1, "{name}: {errors:?}");
    assert!(errors[0]["file"].as_str().unwrap_or("").ends_with(name));
}

/// A ledger that is read: exit 0, and the findings of `case` include `rules`.
fn cell_level(name: &str, bytes: &[u8], case: &str, rules: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join(name);
    std::fs::write(&bad, bytes).unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, report) = audit_with_good(dir.path(), &bad);
    assert_eq!(code, Some(0), "{name}: {stderr}");
    let found: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["case_id"] == case)
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    for r in rules {
        assert!(found.contains(r), "{name}: {case} lacks {r}: {found:?}");
    }
    report
}

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if let Some(f) = v.strip_prefix("FORMULA:") {
                ws.write_formula(
                    r as u32,
                    c as u16,
                    rust_xlsxwriter::Formula::new(f).set_result("否"),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            } else {
                ws.write_string(r as u32, c as u16, *v)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    wb.save_to_buffer().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn file_level_errors() {
    file_error("empty.csv", b"", "文件为空");
    file_error("zero.xlsx", b"", "文件为空");
    let book = xlsx(&[
        &["案件编号", "执法单位", "执法类别"],
        &["A-1", "某局", "行政检查"],
    ]);
    file_error("truncated.xlsx", &book[..book.len() / 2], "工作簿");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file::<_, ()>("hello.txt", zip::write::SimpleFileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    zip.write_all(b"not a workbook")
        .unwrap_or_else(|e| panic!("{e}"));
    let zipped = zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
    file_error("other.xlsx", &zipped, "工作簿");
    file_error("text.xlsx", b"just some text, not a workbook", "工作簿");
    file_error("noheader.csv", "姓名,年龄\n张三,30\n".as_bytes(), "表头");
    file_error(
        "noheader.xlsx",
        &xlsx(&[&["姓名", "年龄"], &["张三", "30"]]),
        "表头",
    );
    file_error(
        "latin1.csv",
        b"\xff\xfe\x00\xffabc\xff\xff,\x80\x80\n",
        "编码",
    );
    file_error("ledger.doc", b"whatever", "不支持的文件类型");
}

#[test]
fn encrypted_workbook_is_named_as_such() {
    // An OLE compound file with an EncryptedPackage stream is how Office stores a
    // password-protected xlsx.
    let mut c = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    c.create_stream("/EncryptionInfo")
        .and_then(|mut s| s.write_all(&[4, 0, 4, 0, 0x40, 0, 0, 0]))
        .unwrap_or_else(|e| panic!("{e}"));
    c.create_stream("/EncryptedPackage")
        .and_then(|mut s| s.write_all(&[0u8; 64]))
        .unwrap_or_else(|e| panic!("{e}"));
    c.flush().unwrap_or_else(|e| panic!("{e}"));
    let bytes = c.into_inner().into_inner();
    file_error("locked.xlsx", &bytes, "加密");
}

#[test]
fn missing_and_special_paths() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, _) = audit_with_good(dir.path(), &dir.path().join("nowhere.xlsx"));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("nowhere.xlsx") && stderr.contains("不存在"),
        "{stderr}"
    );
    let empty_dir = dir.path().join("empty-folder");
    std::fs::create_dir_all(&empty_dir).unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, _) = audit_with_good(dir.path(), &empty_dir);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("empty-folder") && stderr.contains("没有台账文件"),
        "{stderr}"
    );
    #[cfg(unix)]
    {
        let link = dir.path().join("dangling.xlsx");
        std::os::unix::fs::symlink(dir.path().join("gone.xlsx"), &link)
            .unwrap_or_else(|e| panic!("{e}"));
        let (code, stderr, _) = audit_with_good(dir.path(), &link);
        assert_eq!(code, Some(2));
        assert!(
            stderr.contains("dangling.xlsx") && stderr.contains("链接"),
            "{stderr}"
        );
    }
}

#[test]
fn cell_level_problems_are_findings() {
    // Ragged rows, a NUL byte, impossible and extreme dates, a very long cell.
    let long = "长".repeat(100_000);
    let csv = format!(
        "案件编号,执法单位,执法类别,决定日期,公示日期,文字记录,案件名称\n\
         R-1,某局,行政处罚,0000-00-00,,是\n\
         R-2,某局,行政处罚,9999-12-31,,是,名称,多余1,多余2\n\
         R-3,某\u{0}局,行政检查,2022-03-01,2022-03-02,是,{long}\n"
    );
    let report = cell_level("ragged.csv", csv.as_bytes(), "R-1", &["DQ-003"]);
    let r2: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["case_id"] == "R-2")
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert!(r2.contains(&"DQ-005"), "{r2:?}");
    assert_eq!(report["run"]["cases_audited"].as_u64(), Some(4));

    // Header only: no cases, no error.
    cell_level(
        "header-only.csv",
        "案件编号,执法单位,执法类别\n".as_bytes(),
        "none",
        &[],
    );

    // Excel: an error value, a formula with a cached value, duplicate headers.
    let book = xlsx(&[
        &[
            "案件编号",
            "行政处罚决定书文号",
            "执法单位",
            "执法类别",
            "决定日期",
            "文字记录",
        ],
        &[
            "E-1",
            "X-1",
            "某局",
            "行政检查",
            "#VALUE!",
            "FORMULA:=IF(1=1,\"否\",\"是\")",
        ],
    ]);
    let report = cell_level("cells.xlsx", &book, "E-1", &["REC-001"]);
    let input = report["run"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["file"].as_str().unwrap_or("").ends_with("cells.xlsx"))
        .cloned()
        .unwrap_or_default();
    let dup = input["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["header"] == "行政处罚决定书文号")
        .cloned()
        .unwrap_or_default();
    assert!(
        dup["field"].is_null() && dup["note"].as_str().unwrap_or("").contains("case_id"),
        "{dup}"
    );
}

#[test]
fn a_decompression_bomb_is_refused() {
    // 24 MB of zeros packs to a few kilobytes: far past the allowed expansion ratio.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let zeros = vec![b' '; 1024 * 1024];
    for _ in 0..24 {
        zip.write_all(&zeros).unwrap_or_else(|e| panic!("{e}"));
    }
    let bytes = zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
    assert!(bytes.len() < 1024 * 1024);
    file_error("bomb.xlsx", &bytes, "压缩炸弹");
}
