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

/// A file error: exit 2, one line on stderr naming the file with `reason`, and exactly
/// one entry in `run.errors`, of class `kind`.
fn file_error(name: &str, bytes: &[u8], kind: &str, reason: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join(name);
    std::fs::write(&bad, bytes).unwrap_or_else(|e| panic!("{e}"));
    path_error(dir.path(), &bad, kind, reason);
}

/// As [`file_error`], for a path prepared by the caller inside `dir`.
fn path_error(dir: &Path, bad: &Path, kind: &str, reason: &str) {
    let (code, stderr, report) = audit_with_good(dir, bad);
    expect_error(bad, code, &stderr, &report, kind, reason);
}

fn expect_error(
    bad: &Path,
    code: Option<i32>,
    stderr: &str,
    report: &serde_json::Value,
    kind: &str,
    reason: &str,
) {
    let name = bad
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    assert_eq!(code, Some(2), "{name}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&name)).collect();
    assert_eq!(lines.len(), 1, "{name} not named on one line: {stderr}");
    assert!(
        lines[0].contains(reason),
        "{name}: `{}` lacks `{reason}`",
        lines[0]
    );
    let errors = report["run"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(errors.len(), 1, "{name}: {errors:?}");
    assert!(errors[0]["file"].as_str().unwrap_or("").ends_with(&name));
    assert_eq!(errors[0]["kind"], kind, "{name}: {errors:?}");
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

/// An xlsx built from raw sheet XML (and shared strings), for cells that writers such as
/// rust_xlsxwriter do not make: real error cells, damaged XML.
fn raw_xlsx(sheet: &str, strings: Option<&str>) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = vec![sheet.as_bytes()];
    if let Some(s) = strings {
        parts.push(s.as_bytes());
    }
    super::fuzz_replay::harness::pack_xlsx(&parts, false)
        .unwrap_or_else(|| panic!("could not pack the xlsx"))
}

fn inline(r: &str, text: &str) -> String {
    format!(r#"<c r="{r}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

fn sheet_xml(rows: &[String]) -> String {
    let body: String = rows
        .iter()
        .enumerate()
        .map(|(i, cells)| format!(r#"<row r="{}">{cells}</row>"#, i + 1))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>"#
    )
}

fn ledger_header_xml() -> String {
    ["案件编号", "执法单位", "执法类别", "决定日期", "文字记录"]
        .iter()
        .enumerate()
        .map(|(i, h)| inline(&format!("{}1", (b'A' + i as u8) as char), h))
        .collect()
}

fn book() -> Vec<u8> {
    xlsx(&[
        &["案件编号", "执法单位", "执法类别"],
        &["A-1", "某局", "行政检查"],
    ])
}

fn input<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["run"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["file"].as_str().unwrap_or("").ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in run.inputs"))
}

fn rules_of<'a>(report: &'a serde_json::Value, case: &str) -> Vec<&'a str> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["case_id"] == case)
        .filter_map(|f| f["rule_id"].as_str())
        .collect()
}

/// The finding of `rule` on `case` (JSON null when there is none).
fn finding(report: &serde_json::Value, case: &str, rule: &str) -> serde_json::Value {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["case_id"] == case && f["rule_id"] == rule)
        .cloned()
        .unwrap_or_default()
}

// ---- File level: exit 2, the file named with its error class, the batch still audited.

#[test]
fn an_empty_csv() {
    file_error("empty.csv", b"", "empty_file", "文件为空");
}

#[test]
fn a_zero_byte_xlsx() {
    file_error("zero.xlsx", b"", "empty_file", "文件为空");
}

#[test]
fn a_truncated_xlsx() {
    let b = book();
    file_error("truncated.xlsx", &b[..b.len() / 2], "truncated", "不完整");
}

#[test]
fn a_zip_that_is_not_a_workbook() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file::<_, ()>("hello.txt", zip::write::SimpleFileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    zip.write_all(b"not a workbook")
        .unwrap_or_else(|e| panic!("{e}"));
    let zipped = zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
    file_error(
        "other.xlsx",
        &zipped,
        "not_a_workbook",
        "不是 Excel/WPS 工作簿",
    );
}

#[test]
fn plain_text_named_xlsx() {
    file_error(
        "text.xlsx",
        b"just some text, not a workbook",
        "not_a_workbook",
        "不是有效的工作簿",
    );
}

#[test]
fn a_password_protected_workbook() {
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
    file_error("locked.xlsx", &bytes, "encrypted", "加密");
}

#[test]
fn a_workbook_without_a_recognisable_header() {
    file_error(
        "noheader.xlsx",
        &xlsx(&[&["姓名", "年龄"], &["张三", "30"]]),
        "no_header",
        "表头",
    );
}

#[test]
fn a_csv_without_a_recognisable_header() {
    file_error(
        "noheader.csv",
        "姓名,年龄\n张三,30\n".as_bytes(),
        "no_header",
        "表头",
    );
}

#[test]
fn a_workbook_with_only_empty_sheets() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet();
    wb.add_worksheet();
    let bytes = wb.save_to_buffer().unwrap_or_else(|e| panic!("{e}"));
    file_error("blank.xlsx", &bytes, "no_content", "没有内容");
}

#[test]
fn a_csv_that_is_neither_utf8_nor_gbk() {
    file_error(
        "latin1.csv",
        b"\xff\xfe\x00\xffabc\xff\xff,\x80\x80\n",
        "undecodable",
        "编码",
    );
}

#[test]
fn a_utf16_csv_cut_in_the_middle_of_a_character() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "案件编号,执法单位\n".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    bytes.extend([0x00, 0xD8, 0x41]); // a lone surrogate and half a code unit
    file_error("utf16.csv", &bytes, "undecodable", "UTF-16");
}

#[test]
fn a_binary_file_named_csv() {
    file_error(
        "picture.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff",
        "undecodable",
        "编码",
    );
}

#[test]
fn an_unsupported_file_type() {
    file_error(
        "ledger.doc",
        b"whatever",
        "unsupported_type",
        "不支持的文件类型",
    );
}

#[test]
fn a_damaged_xls() {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend(std::iter::repeat_n(0x5A, 600));
    file_error("old.xls", &bytes, "truncated", "损坏");
}

#[test]
fn a_broken_parquet_file() {
    file_error(
        "cases.parquet",
        b"PAR1 this is not really parquet PAR1",
        "invalid_parquet",
        "parquet",
    );
}

#[test]
fn an_xlsx_with_damaged_sheet_xml() {
    let sheet = sheet_xml(&[ledger_header_xml()]);
    let cut = &sheet[..sheet.len() - 40];
    file_error("damaged.xlsx", &raw_xlsx(cut, None), "truncated", "损坏");
}

#[test]
fn a_workbook_that_trips_a_bug_in_the_xlsx_library() {
    // Found by the xlsx fuzz target: a cell reference with many column letters overflows
    // inside calamine. The panic becomes an error about this file.
    let saved = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/xlsx/calamine-cell-ref-overflow");
    let data = std::fs::read(&saved).unwrap_or_else(|e| panic!("{e}"));
    let parts = super::fuzz_replay::harness::split_parts(&data[1..]);
    let bytes = super::fuzz_replay::harness::pack_xlsx(&parts, data[0] & 2 != 0)
        .unwrap_or_else(|| panic!("pack"));
    // The binary under test is built like this test: with overflow checks (debug
    // assertions) calamine panics and the guard reports the file; without them the
    // reference wraps and the file is read.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("overflow.xlsx");
    std::fs::write(&bad, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, report) = audit_with_good(dir.path(), &bad);
    if cfg!(debug_assertions) {
        expect_error(&bad, code, &stderr, &report, "truncated", "无法解析");
    } else {
        assert_eq!(code, Some(0), "{stderr}");
    }
}

#[test]
fn a_decompression_bomb() {
    // 24 MB of spaces packs to a few kilobytes: far past the allowed expansion ratio.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let spaces = vec![b' '; 1024 * 1024];
    for _ in 0..24 {
        zip.write_all(&spaces).unwrap_or_else(|e| panic!("{e}"));
    }
    let bytes = zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
    assert!(bytes.len() < 1024 * 1024);
    file_error("bomb.xlsx", &bytes, "too_large", "压缩炸弹");
}

#[test]
fn a_missing_path() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    path_error(
        dir.path(),
        &dir.path().join("nowhere.xlsx"),
        "not_found",
        "不存在",
    );
}

#[test]
fn a_folder_with_no_ledger() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let empty = dir.path().join("empty-folder");
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(empty.join("readme.txt"), "x").unwrap_or_else(|e| panic!("{e}"));
    path_error(dir.path(), &empty, "empty_folder", "没有台账文件");
}

#[test]
fn a_file_that_is_a_folder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder = dir.path().join("台账.xlsx");
    std::fs::create_dir_all(folder.join("xl")).unwrap_or_else(|e| panic!("{e}"));
    path_error(dir.path(), &folder, "is_folder", "是文件夹");
}

#[cfg(unix)]
#[test]
fn a_dangling_link() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let link = dir.path().join("dangling.xlsx");
    std::os::unix::fs::symlink(dir.path().join("gone.xlsx"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    path_error(dir.path(), &link, "dangling_link", "链接");
}

#[cfg(unix)]
#[test]
fn a_dangling_link_inside_a_folder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder = dir.path().join("batch");
    std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(folder.join("a.csv"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    let link = folder.join("lost.xlsx");
    std::os::unix::fs::symlink(dir.path().join("gone.xlsx"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, report) = audit_with_good(dir.path(), &folder);
    expect_error(&link, code, &stderr, &report, "dangling_link", "链接");
    assert_eq!(input(&report, "a.csv")["cases"], 1);
}

#[cfg(unix)]
#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("secret.csv");
    std::fs::write(&bad, GOOD).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o000))
        .unwrap_or_else(|e| panic!("{e}"));
    let good = dir.path().join("good.csv");
    std::fs::write(&good, GOOD).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let bin = assert_cmd::cargo::cargo_bin("caseaudit");
    // root reads any file: drop the capabilities that let it (setpriv, util-linux).
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--bounding-set",
            "-dac_override,-dac_read_search",
            "--inh-caps",
            "-dac_override,-dac_read_search",
        ])
        .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let o = cmd
        .args(["audit", "--as-of", "2022-12-31", "--quiet", "--out"])
        .arg(&out)
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = read_json(&out.join("findings.json"));
    expect_error(
        &bad,
        o.status.code(),
        &stderr,
        &report,
        "permission_denied",
        "权限",
    );
    assert_eq!(input(&report, "good.csv")["cases"], 1);
}

// ---- Cell level: the file is read (exit 0) and the problem is a finding or a note.

#[test]
fn ragged_rows_short_and_long() {
    let csv = "案件编号,执法单位,执法类别,文字记录,案件名称\n\
               S-1,某局,行政检查\n\
               L-1,某局,行政检查,是,名称,多余1,多余2\n";
    let report = cell_level("ragged.csv", csv.as_bytes(), "S-1", &[]);
    let i = input(&report, "ragged.csv");
    assert_eq!(
        (i["rows"].as_u64(), i["cases"].as_u64()),
        (Some(2), Some(2))
    );
    // The short row's missing 文字记录 is an empty record.
    assert!(rules_of(&report, "S-1").contains(&"REC-001"));
    assert!(!rules_of(&report, "L-1").contains(&"REC-001"));
}

#[test]
fn a_nul_byte_in_a_cell() {
    let csv = "案件编号,执法单位,执法类别,文字记录\nN-1,某\u{0}局,行政检查,是\n";
    let report = cell_level("nul.csv", csv.as_bytes(), "N-1", &[]);
    assert_eq!(input(&report, "nul.csv")["cases"], 1);
}

#[test]
fn a_zero_date() {
    let csv = "案件编号,执法单位,执法类别,决定日期,文字记录\nZ-1,某局,行政处罚,0000-00-00,是\n";
    let report = cell_level("zero-date.csv", csv.as_bytes(), "Z-1", &["DQ-003"]);
    let f = finding(&report, "Z-1", "DQ-003");
    assert_eq!(f["source"]["column"], "D", "{f}");
    assert_eq!(f["source"]["row"], 2, "{f}");
}

#[test]
fn a_far_future_date() {
    let csv = "案件编号,执法单位,执法类别,决定日期,文字记录\nF-1,某局,行政处罚,9999-12-31,是\n";
    cell_level("future.csv", csv.as_bytes(), "F-1", &["DQ-005"]);
}

#[test]
fn a_hundred_thousand_character_cell() {
    let long = "长".repeat(100_000);
    let csv = format!("案件编号,执法单位,执法类别,案件名称\nC-1,某局,行政检查,{long}\n");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("long.csv");
    std::fs::write(&bad, csv).unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, report) = audit_with_good(dir.path(), &bad);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(input(&report, "long.csv")["cases"], 1);
    // The outputs that cap cell length were still written.
    assert!(dir.path().join("out/findings.xlsx").is_file());
    assert!(dir.path().join("out/report.html").is_file());
}

#[test]
fn a_header_only_sheet() {
    let report = cell_level(
        "header-only.csv",
        "案件编号,执法单位,执法类别\n".as_bytes(),
        "none",
        &[],
    );
    let i = input(&report, "header-only.csv");
    assert_eq!(
        (i["rows"].as_u64(), i["cases"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn duplicate_headers_mapping_to_one_field() {
    let book = xlsx(&[
        &["案件编号", "行政处罚决定书文号", "执法单位", "执法类别"],
        &["D-1", "X-1", "某局", "行政检查"],
    ]);
    let report = cell_level("dup.xlsx", &book, "D-1", &[]);
    let dup = input(&report, "dup.xlsx")["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["header"] == "行政处罚决定书文号")
        .cloned()
        .unwrap_or_default();
    // The note is read by people: the field's label, not its canonical name.
    let note = dup["note"].as_str().unwrap_or("");
    assert!(
        dup["field"].is_null() && note.contains("案件编号") && !note.contains("case_id"),
        "{dup}"
    );
}

#[test]
fn excel_error_cells() {
    let rows = [
        ledger_header_xml(),
        format!(
            "{}{}{}<c r=\"D2\" t=\"e\"><v>#VALUE!</v></c>{}",
            inline("A2", "E-1"),
            inline("B2", "某局"),
            inline("C2", "行政处罚"),
            inline("E2", "是")
        ),
        format!(
            "{}{}{}{}<c r=\"E3\" t=\"e\"><v>#REF!</v></c>",
            inline("A3", "E-2"),
            inline("B3", "某局"),
            inline("C3", "行政检查"),
            inline("D3", "2022-03-01")
        ),
    ];
    let report = cell_level(
        "errors.xlsx",
        &raw_xlsx(&sheet_xml(&rows), None),
        "E-1",
        &["DQ-003"],
    );
    // An unreadable record is unknown: DQ-003, and the record rule sees it as empty.
    let e2 = rules_of(&report, "E-2");
    assert!(e2.contains(&"DQ-003") && e2.contains(&"REC-001"), "{e2:?}");
}

#[test]
fn a_formula_cell_uses_its_cached_value() {
    let book = xlsx(&[
        &["案件编号", "执法单位", "执法类别", "文字记录"],
        &["M-1", "某局", "行政检查", "FORMULA:=IF(1=1,\"否\",\"是\")"],
    ]);
    cell_level("formula.xlsx", &book, "M-1", &["REC-001"]);
}

#[test]
fn merged_cells_in_the_data_area() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let fmt = rust_xlsxwriter::Format::new();
    for (c, h) in ["案件编号", "执法单位", "执法类别", "文字记录"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (r, id) in ["H-1", "H-2", "H-3"].iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, *id).unwrap_or_else(|e| panic!("{e}"));
        ws.write_string(r, 2, "行政检查")
            .unwrap_or_else(|e| panic!("{e}"));
        ws.write_string(r, 3, "是")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // One agency cell merged over all three cases.
    ws.merge_range(1, 1, 3, 1, "巴楚县市场监督管理局", &fmt)
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = wb.save_to_buffer().unwrap_or_else(|e| panic!("{e}"));
    let report = cell_level("merged.xlsx", &bytes, "H-3", &[]);
    let agencies: Vec<&str> = report["scores"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["case_id"].as_str().unwrap_or("").starts_with("H-"))
        .filter_map(|c| c["agency"].as_str())
        .collect();
    assert_eq!(agencies, ["巴楚县市场监督管理局"; 3]);
}

#[test]
fn title_rows_above_the_header() {
    let book = xlsx(&[
        &["巴楚县市场监督管理局2022年行政执法案件台账"],
        &["填报单位：法规股", "", "填报日期：2023-01-05"],
        &["案件编号", "执法单位", "执法类别", "文字记录"],
        &["T-1", "某局", "行政检查", "否"],
    ]);
    let report = cell_level("titled.xlsx", &book, "T-1", &["REC-001"]);
    assert_eq!(input(&report, "titled.xlsx")["header_rows"][0], 3);
    assert_eq!(finding(&report, "T-1", "REC-001")["source"]["row"], 4);
}

#[test]
fn an_instructions_sheet_beside_the_ledger() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let notes = wb.add_worksheet();
    notes
        .set_name("填报说明")
        .and_then(|w| w.write_string(0, 0, "请按以下要求填写台账……"))
        .unwrap_or_else(|e| panic!("{e}"));
    let ws = wb.add_worksheet();
    for (c, h) in ["案件编号", "执法单位", "执法类别"].iter().enumerate() {
        ws.write_string(0, c as u16, *h)
            .unwrap_or_else(|e| panic!("{e}"));
        ws.write_string(1, c as u16, ["I-1", "某局", "行政检查"][c])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let bytes = wb.save_to_buffer().unwrap_or_else(|e| panic!("{e}"));
    let report = cell_level("with-notes.xlsx", &bytes, "I-1", &[]);
    let notes = input(&report, "with-notes.xlsx")["notes"].to_string();
    assert!(notes.contains("填报说明"), "{notes}");
    assert_eq!(report["run"]["errors"].as_array().map(Vec::len), Some(0));
}

#[test]
fn blank_rows_and_a_repeated_header_inside_the_data() {
    let csv = "案件编号,执法单位,执法类别\r\nB-1,某局,行政检查\r\n,,\r\n\r\n\
               案件编号,执法单位,执法类别\r\nB-2,某局,行政检查\r\n";
    let report = cell_level("paged.csv", csv.as_bytes(), "B-2", &[]);
    let i = input(&report, "paged.csv");
    assert_eq!(i["cases"], 2);
    assert_eq!(i["rejected"], 1);
    assert_eq!(i["rows"], 3);
}

#[test]
fn crlf_csv_rows_are_numbered_as_people_see_them() {
    // Found by the csv fuzz target: with CRLF line ends every row number after the
    // first was one too small.
    let csv =
        "案件编号,执法单位,执法类别,文字记录\r\nK-1,某局,行政检查,是\r\nK-2,某局,行政检查,否\r\n";
    let report = cell_level("crlf.csv", csv.as_bytes(), "K-2", &["REC-001"]);
    assert_eq!(finding(&report, "K-2", "REC-001")["source"]["row"], 3);
}

#[test]
fn unreadable_booleans_money_and_enums_are_findings() {
    let csv = "案件编号,执法单位,执法类别,文字记录,罚款金额\n\
               U-1,某局,行政处罚,待定,五千元\n\
               U-2,某局,行政处理,是,100\n";
    let report = cell_level("values.csv", csv.as_bytes(), "U-1", &["DQ-003"]);
    let dq: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["case_id"] == "U-1" && f["rule_id"] == "DQ-003")
        .collect();
    assert_eq!(dq.len(), 2, "{dq:?}");
    assert!(rules_of(&report, "U-2").contains(&"DQ-003"));
}

// ---- Accounting: every row read is a case or a rejected row, per file.

#[test]
fn a_mixed_batch_accounts_for_every_row() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = |n: &str| dir.path().join(n);
    let write = |n: &str, b: &[u8]| std::fs::write(p(n), b).unwrap_or_else(|e| panic!("{e}"));
    // (file, data rows that are not blank): rows = cases + rejected must hold per file.
    write(
        "a.csv",
        "案件编号,执法单位,执法类别,决定日期\nA-1,某局,行政处罚,2022-13-45\nA-2,某局,行政检查,\n\n案件编号,执法单位,执法类别,决定日期\nA-3,某局,行政检查,2022-01-05\n"
            .as_bytes(),
    );
    write(
        "b.xlsx",
        &xlsx(&[
            &["案件编号", "执法单位", "执法类别", "文字记录"],
            &["B-1", "某局", "行政检查", "说不清"],
            &["B-2", "某局", "行政检查", "是"],
        ]),
    );
    write("broken.xlsx", &book()[..100]);
    write("empty.csv", b"");
    let out = p("out");
    let o = caseaudit()
        .args(["audit", "--as-of", "2022-12-31", "--quiet", "--out"])
        .arg(&out)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let report = read_json(&out.join("findings.json"));
    let expect = [("a.csv", 4u64, 1u64), ("b.xlsx", 2, 0)];
    let mut cases = 0;
    for (name, rows, rejected) in expect {
        let i = input(&report, name);
        assert_eq!(i["rows"], rows, "{name}: {i}");
        assert_eq!(i["rejected"], rejected, "{name}: {i}");
        let c = i["cases"].as_u64().unwrap_or(0);
        assert_eq!(c + rejected, rows, "{name}");
        cases += c;
    }
    assert_eq!(report["run"]["cases_audited"], cases);
    assert_eq!(report["run"]["rows_read"], 6);
    let mut errors: Vec<(String, String)> = report["run"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["file"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                e["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("broken.xlsx".to_string(), "truncated".to_string()),
            ("empty.csv".to_string(), "empty_file".to_string())
        ]
    );
    // Rows with unreadable cells are audited, and the cells are findings.
    assert!(rules_of(&report, "A-1").contains(&"DQ-003"));
    assert!(rules_of(&report, "B-1").contains(&"DQ-003"));
}

#[test]
fn a_sheet_whose_cells_span_a_huge_range() {
    // A few kilobytes of XML with cells in the last column of thousands of rows: read
    // as a grid it is over a hundred million cells. Found by the xlsx fuzz target (as
    // two cells far apart, which calamine's grid could not allocate).
    let mut rows = vec![ledger_header_xml()];
    for r in 2..=6200 {
        rows.push(format!(r#"<c r="XFD{r}"><v>1</v></c>"#));
    }
    file_error(
        "huge-range.xlsx",
        &raw_xlsx(&sheet_xml(&rows), None),
        "too_large",
        "单元格范围过大",
    );
}

#[test]
fn a_sheet_with_two_cells_far_apart() {
    let rows = [
        ledger_header_xml(),
        format!(
            "{}{}{}",
            inline("A2", "W-1"),
            inline("B2", "某局"),
            inline("C2", "行政检查")
        ),
    ];
    let mut xml = sheet_xml(&rows);
    xml = xml.replace(
        "</sheetData>",
        r#"<row r="1048576"><c r="XFD1048576"><v>7</v></c></row></sheetData>"#,
    );
    let report = cell_level("far.xlsx", &raw_xlsx(&xml, None), "W-1", &[]);
    assert_eq!(input(&report, "far.xlsx")["cases"], 2);
}

#[test]
fn a_csv_past_the_size_limit() {
    // A sparse file: 3 GB long, no disk used, of one endless line: refused once one
    // record passes its limit, never read into memory whole.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("huge.csv");
    let f = std::fs::File::create(&bad).unwrap_or_else(|e| panic!("{e}"));
    f.set_len(3 * 1024 * 1024 * 1024)
        .unwrap_or_else(|e| panic!("{e}"));
    path_error(dir.path(), &bad, "too_large", "超过 64 MB");
}

#[test]
fn a_gbk_csv_past_the_size_limit() {
    // Decoded in memory (not UTF-8): refused by its size before it is read.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("huge-gbk.csv");
    let mut f = std::fs::File::create(&bad).unwrap_or_else(|e| panic!("{e}"));
    // 案件编号 in GBK: not UTF-8.
    f.write_all(b"\xb0\xb8\xbc\xfe\xb1\xe0\xba\xc5\n")
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(3 * 1024 * 1024 * 1024)
        .unwrap_or_else(|e| panic!("{e}"));
    path_error(
        dir.path(),
        &bad,
        "too_large",
        "非 UTF-8 编码的 CSV 文件过大",
    );
}

#[test]
fn plain_numbers_in_date_columns_follow_the_workbooks_1904_epoch() {
    // 43434 is 2022-12-01 in the 1904 system and 2018-11-29 in the 1900 system, which
    // would put the decision before the filing (DQ-004).
    let rows = [
        ["案件编号", "执法单位", "执法类别", "立案日期", "决定日期"]
            .iter()
            .enumerate()
            .map(|(i, h)| inline(&format!("{}1", (b'A' + i as u8) as char), h))
            .collect::<String>(),
        format!(
            "{}{}{}{}<c r=\"E2\"><v>43434</v></c>",
            inline("A2", "Q-1"),
            inline("B2", "某局"),
            inline("C2", "行政处罚"),
            inline("D2", "2022-11-20")
        ),
    ];
    let xml = sheet_xml(&rows);
    let book = |d1904| {
        super::fuzz_replay::harness::pack_xlsx(&[xml.as_bytes()], d1904)
            .unwrap_or_else(|| panic!("pack"))
    };
    let r1904 = cell_level("epoch1904.xlsx", &book(true), "Q-1", &[]);
    assert!(
        !rules_of(&r1904, "Q-1").contains(&"DQ-004"),
        "{:?}",
        rules_of(&r1904, "Q-1")
    );
    let r1900 = cell_level("epoch1900.xlsx", &book(false), "Q-1", &["DQ-004"]);
    assert!(rules_of(&r1900, "Q-1").contains(&"DQ-004"));
}

#[test]
fn without_quiet_each_file_error_is_still_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("empty.csv");
    std::fs::write(&bad, b"").unwrap_or_else(|e| panic!("{e}"));
    let good = dir.path().join("good.csv");
    std::fs::write(&good, GOOD).unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .args(["audit", "--as-of", "2022-12-31", "--out"])
        .arg(dir.path().join("out"))
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("empty.csv")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("文件为空"), "{stderr}");
}

/// Cells of rows 2–3 of a small ledger as XML rows, in the order given.
fn ledger_rows_xml(order: &[(u32, &[usize])]) -> Vec<String> {
    let values = |r: u32| {
        [
            format!("O-{r}"),
            "某局".to_string(),
            "行政检查".to_string(),
            "2022-03-01".to_string(),
            if r == 2 { "是" } else { "否" }.to_string(),
        ]
    };
    order
        .iter()
        .map(|(r, cols)| {
            let v = values(*r);
            let cells: String = cols
                .iter()
                .map(|&c| inline(&format!("{}{r}", (b'A' + c as u8) as char), &v[c]))
                .collect();
            format!(r#"<row r="{r}">{cells}</row>"#)
        })
        .collect()
}

#[test]
fn cells_out_of_document_order_read_as_in_order() {
    // Excel writes rows and cells in order, and the reader hands rows out as they
    // come; a hand-made file that lists row 3 before row 2, and a row's cells
    // backwards, reads the same.
    let sheet = |rows: Vec<String>| {
        let body: String = rows.concat();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">{}</row>{body}</sheetData></worksheet>"#,
            ledger_header_xml()
        )
    };
    let all = [0, 1, 2, 3, 4];
    let backwards = [4, 3, 2, 1, 0];
    let ordered = sheet(ledger_rows_xml(&[(2, &all), (3, &all)]));
    let shuffled = sheet(ledger_rows_xml(&[(3, &backwards), (2, &all)]));
    let found = |name: &str, xml: &str| {
        let report = cell_level(name, &raw_xlsx(xml, None), "O-3", &["REC-001"]);
        assert_eq!(input(&report, name)["cases"], 2, "{name}");
        let mut pairs: Vec<(String, String, String)> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["source"]["file"].as_str().unwrap_or("").ends_with(name))
            .map(|f| {
                (
                    f["case_id"].to_string(),
                    f["rule_id"].to_string(),
                    f["source"]["row"].to_string(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };
    let expected = found("ordered.xlsx", &ordered);
    assert!(!expected.is_empty());
    assert_eq!(found("shuffled.xlsx", &shuffled), expected);
}

#[test]
fn a_merged_area_across_the_rows_read_at_once() {
    // The reader hands an xlsx's rows out in batches of thousands; a merged area of
    // the data that spans two batches is filled in both.
    let mut rows = vec![ledger_header_xml()];
    for r in 2..=9000u32 {
        let agency = if r == 8100 {
            inline(&format!("B{r}"), "合并局")
        } else if r == 8301 {
            inline(&format!("B{r}"), "次局")
        } else if (8100..=8400).contains(&r) {
            String::new()
        } else {
            inline(&format!("B{r}"), "他局")
        };
        rows.push(format!(
            "{}{agency}{}{}{}",
            inline(&format!("A{r}"), &format!("M-{r}")),
            inline(&format!("C{r}"), "行政检查"),
            inline(&format!("D{r}"), "2022-03-01"),
            inline(&format!("E{r}"), "否"),
        ));
    }
    let xml = sheet_xml(&rows).replace(
        "</sheetData>",
        r#"</sheetData><mergeCells count="2"><mergeCell ref="B8100:B8300"/><mergeCell ref="B8301:B8400"/></mergeCells>"#,
    );
    let report = cell_level("merged.xlsx", &raw_xlsx(&xml, None), "M-8250", &["REC-001"]);
    assert_eq!(input(&report, "merged.xlsx")["cases"], 8999);
    let agency = |case: &str| finding(&report, case, "REC-001")["agency"].clone();
    for case in ["M-8100", "M-8192", "M-8250", "M-8300"] {
        assert_eq!(agency(case), "合并局", "{case}");
    }
    // The next area down has its own value.
    for case in ["M-8301", "M-8350", "M-8400"] {
        assert_eq!(agency(case), "次局", "{case}");
    }
    for case in ["M-8099", "M-8401", "M-9000"] {
        assert_eq!(agency(case), "他局", "{case}");
    }
}

#[test]
fn a_large_value_merged_over_many_rows_is_refused() {
    // A megabyte of text merged over 3,000 rows: a sheet read whole would copy it into
    // every cell (3 GB). Its copies are spent from the file's byte budget.
    let big = "甲".repeat(350_000);
    let mut rows = vec![ledger_header_xml()];
    rows.push(format!("{}{}", inline("A2", "B-2"), inline("B2", &big)));
    for r in 3..=3001u32 {
        rows.push(inline(&format!("A{r}"), &format!("B-{r}")));
    }
    let xml = sheet_xml(&rows).replace(
        "</sheetData>",
        r#"</sheetData><mergeCells count="1"><mergeCell ref="B2:B3001"/></mergeCells>"#,
    );
    file_error(
        "merged-bomb.xlsx",
        &raw_xlsx(&xml, None),
        "too_large",
        "合并单元格",
    );
}
