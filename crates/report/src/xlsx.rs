//! findings.xlsx: a summary (汇总), the findings (问题清单, continued on further sheets
//! past a million), case scores (评分), the rules (规则), agency scores (单位评分), and
//! for every input sheet an annotated copy of the ledger (批注-…) whose finding cells
//! are coloured by severity and carry a note naming the rules.
//!
//! Text from ledgers and findings is always written as a text cell (never a formula),
//! neutralised like findings.csv, and cut to Excel's cell limit with a mark.

mod annotate;
mod summary;
mod tables;

use crate::safe::neutralise_formula;
use crate::tally::Tally;
use crate::write::ReportError;
use caseaudit_engine::{AuditReport, Finding};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Findings (and case scores) per sheet before the list continues on another sheet
/// (decisions.md); also the count past which annotated copies are skipped.
pub const FINDINGS_PER_SHEET: usize = 1_000_000;
/// Excel's limit on the text of one cell, in UTF-16 code units.
const CELL_LIMIT: usize = 32_767;
/// A note's limit: Excel's cell limit less room for the author prefix.
const NOTE_LIMIT: usize = 32_000;
const TRUNCATED: &str = "…（已截断）";
/// Excel's last row and column (0-based).
const MAX_ROW: u32 = 1_048_575;
const MAX_COL: u16 = 16_383;
/// Excel's limit on a sheet name, in UTF-16 code units.
const SHEET_NAME_LIMIT: usize = 31;

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The longest prefix of `s` within `limit` UTF-16 code units.
fn utf16_prefix(s: &str, limit: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > limit {
            return &s[..i];
        }
    }
    s
}

fn capped(s: &str, limit: usize) -> String {
    if utf16_len(s) <= limit {
        return s.to_string();
    }
    let keep = limit - utf16_len(TRUNCATED);
    format!("{}{TRUNCATED}", utf16_prefix(s, keep))
}

/// Text as it may be written to a cell: formula-safe and within Excel's limit (a cut
/// cell ends with `…（已截断）`).
pub fn cell_text(s: &str) -> String {
    capped(&neutralise_formula(s), CELL_LIMIT)
}

/// Text for a note (comment), within the limit Excel and rust_xlsxwriter allow.
fn note_text(s: &str) -> String {
    capped(s, NOTE_LIMIT)
}

/// A sheet name Excel accepts: `[]:*?/\` replaced by `_`, no apostrophe at either end,
/// at most 31 characters (UTF-16 units), unique among `used` (compared as Excel does,
/// ignoring case) by a number added on collision: `名称(2)`.
pub fn sheet_name(wanted: &str, used: &mut HashSet<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let fit = |s: &str, limit: usize| -> String {
        utf16_prefix(s.trim_matches('\''), limit)
            .trim_matches('\'')
            .to_string()
    };
    let mut base = fit(&clean, SHEET_NAME_LIMIT);
    if base.is_empty() {
        base = "Sheet".into();
    }
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name.to_lowercase()) {
        let suffix = format!("({n})");
        name = format!(
            "{}{suffix}",
            fit(&base, SHEET_NAME_LIMIT - utf16_len(&suffix))
        );
        n += 1;
    }
    used.insert(name.to_lowercase());
    name
}

/// Cell formats shared by the sheets.
struct Styles {
    header: Format,
    title: Format,
    bold: Format,
    date: Format,
    score: Format,
    /// Fills by severity, in `tally::SEVERITIES` order (critical, major, minor).
    fill: [Format; 3],
    fill_date: [Format; 3],
}

impl Styles {
    fn new() -> Styles {
        // Critical red-ish, major orange, minor yellow.
        let colors = [0xFF9C9C, 0xFFC58A, 0xFFF08A];
        let border = |f: Format| {
            f.set_border(FormatBorder::Thin)
                .set_border_color(Color::RGB(0x999999))
        };
        Styles {
            header: border(
                Format::new()
                    .set_bold()
                    .set_background_color(Color::RGB(0xDDEBF7)),
            ),
            title: Format::new().set_bold().set_font_size(14),
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            score: Format::new().set_num_format("0.0"),
            fill: colors.map(|c| border(Format::new().set_background_color(Color::RGB(c)))),
            fill_date: colors.map(|c| {
                border(
                    Format::new()
                        .set_background_color(Color::RGB(c))
                        .set_num_format("yyyy-mm-dd"),
                )
            }),
        }
    }
}

/// Writes text (made safe) unless it is empty; always a text cell.
fn put(ws: &mut Worksheet, r: u32, c: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        ws.write_string(r, c, cell_text(s))?;
    }
    Ok(())
}

fn put_fmt(ws: &mut Worksheet, r: u32, c: u16, s: &str, f: &Format) -> Result<(), XlsxError> {
    ws.write_string_with_format(r, c, cell_text(s), f)?;
    Ok(())
}

/// A header row at `r` with column widths; the rows above it and it stay in view.
fn header_row(
    ws: &mut Worksheet,
    st: &Styles,
    r: u32,
    cols: &[(&str, f64)],
) -> Result<(), XlsxError> {
    for (i, (h, w)) in cols.iter().enumerate() {
        ws.write_string_with_format(r, i as u16, *h, &st.header)?;
        ws.set_column_width(i as u16, *w)?;
    }
    ws.set_freeze_panes(r + 1, 0)?;
    Ok(())
}

/// The name of the `k`-th (0-based) sheet of a list continued over sheets: 问题清单,
/// 问题清单2, 问题清单3…
fn continued(base: &str, k: usize) -> String {
    if k == 0 {
        base.to_string()
    } else {
        format!("{base}{}", k + 1)
    }
}

/// Renders the workbook.
pub fn render_xlsx(report: &AuditReport) -> Result<Vec<u8>, XlsxError> {
    let mut out = Vec::new();
    render(report, FINDINGS_PER_SHEET, &mut out, None)?;
    Ok(out)
}

/// Renders with `per_sheet` rows a list sheet (tests use a small one) into `out`. The
/// long sheets (findings, scores, annotated copies) are constant-memory sheets: their
/// rows go to temporary files (in `tempdir`, else the system's) as they are written.
fn render<W: std::io::Write + Send>(
    report: &AuditReport,
    per_sheet: usize,
    out: W,
    tempdir: Option<&Path>,
) -> Result<(), XlsxError> {
    let sheets_needed = |rows: usize| rows.div_ceil(per_sheet).max(1);
    let st = Styles::new();
    let tally = Tally::new(report);
    let mut used = HashSet::new();
    // Fixed names first, so a ledger called 汇总 gets the number, not our sheet.
    let summary_name = sheet_name("汇总", &mut used);
    let finding_names: Vec<String> = (0..sheets_needed(report.findings.len()))
        .map(|k| sheet_name(&continued("问题清单", k), &mut used))
        .collect();
    let score_names: Vec<String> = (0..sheets_needed(report.scores.cases.len()))
        .map(|k| sheet_name(&continued("评分", k), &mut used))
        .collect();
    let rules_name = sheet_name("规则", &mut used);
    let agencies_name = sheet_name("单位评分", &mut used);

    let mut wb = Workbook::new();
    if let Some(dir) = tempdir {
        wb.set_tempdir(dir)?;
    }
    if report.findings.len() > per_sheet || report.scores.cases.len() > per_sheet {
        wb.use_zip_large_file(true);
    }
    // 汇总 comes first but is filled last: it lists what the copies could not hold.
    wb.add_worksheet().set_name(&summary_name)?;
    let chunks: Vec<&[Finding]> = if report.findings.is_empty() {
        vec![&[]]
    } else {
        report.findings.chunks(per_sheet).collect()
    };
    for (name, chunk) in finding_names.iter().zip(chunks) {
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        tables::findings_sheet(ws, report, chunk, &st)?;
    }
    let cases = report.scores.cases.len();
    for (k, name) in score_names.iter().enumerate() {
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        let from = (k * per_sheet).min(cases);
        let chunk = report
            .scores
            .cases
            .range(from..(from + per_sheet).min(cases));
        tables::scores_sheet(ws, chunk, &st)?;
    }
    wb.push_worksheet(tables::rules_sheet(&rules_name, report, &st)?);
    wb.push_worksheet(tables::agencies_sheet(&agencies_name, &tally, &st)?);
    let mut notes: Vec<String> = Vec::new();
    if report.findings.len() > per_sheet {
        notes.push(format!(
            "问题超过 {per_sheet} 个，未生成台账批注副本；请按问题清单逐项处理。"
        ));
    } else {
        let names = annotate::copy_names(report, &mut used);
        annotate::annotated_sheets(&mut wb, report, &st, &names, &mut notes)?;
    }
    *wb.worksheet_from_index(0)? =
        summary::summary_sheet(&summary_name, report, &tally, &st, &notes)?;
    wb.save_to_writer(out)
}

/// Writes findings.xlsx into `out_dir`, streamed to disk.
pub fn write_xlsx(report: &AuditReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let path = out_dir.join("findings.xlsx");
    let mut failed = None;
    crate::write::write_atomic_with(&path, |w| {
        render(report, FINDINGS_PER_SHEET, w, Some(out_dir)).map_err(|e| {
            let reason = e.to_string();
            failed = Some(reason.clone());
            std::io::Error::other(reason)
        })
    })
    .map_err(|e| match failed.take() {
        Some(reason) => ReportError::Render {
            file: path.display().to_string(),
            reason,
        },
        None => e,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use crate::fixture::{self, EVIL, FORMULA_CASE, OTHER_AGENCY};
    use calamine::{open_workbook_auto, Data, Reader};
    use std::io::Read;

    /// (name, text) of every entry of an xlsx: calamine does not read comments.
    fn entries(path: &Path) -> Vec<(String, String)> {
        let bytes = std::fs::read(path).expect("read");
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).expect("entry");
                let mut s = String::new();
                let _ = f.read_to_string(&mut s);
                (f.name().map(|n| n.to_string()).unwrap_or_default(), s)
            })
            .collect()
    }

    fn written(report: &AuditReport, dir: &Path) -> PathBuf {
        let path = write_xlsx(report, dir).expect("xlsx");
        assert_eq!(path, dir.join("findings.xlsx"));
        path
    }

    fn s(v: &str) -> Data {
        Data::String(v.into())
    }

    #[test]
    fn xlsx_has_the_sheets_and_one_finding_a_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&fixture::ledger(dir.path()));
        let path = written(&report, dir.path());
        let mut wb = open_workbook_auto(&path).expect("open");
        assert_eq!(
            wb.sheet_names(),
            [
                "汇总",
                "问题清单",
                "评分",
                "规则",
                "单位评分",
                "批注-ledger"
            ]
        );
        let list = wb.worksheet_range("问题清单").expect("findings");
        assert_eq!(list.height(), 1 + report.findings.len());
        let header: Vec<String> = (0..14)
            .map(|c| list.get((0, c)).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        assert_eq!(
            header,
            [
                "文件",
                "工作表",
                "行号",
                "列",
                "案件编号",
                "执法单位",
                "规则编号",
                "制度",
                "严重程度",
                "问题",
                "说明",
                "扣分",
                "法律依据",
                "整改要求"
            ]
        );
        // The formula-like case number is a neutralised string; the script-like agency
        // is kept as text.
        assert_eq!(list.get((1, 4)), Some(&s(&format!("'{FORMULA_CASE}"))));
        assert_eq!(list.get((1, 5)), Some(&s(EVIL)));
        assert_eq!(list.get((1, 2)), Some(&Data::Float(2.0)));
        assert_eq!(list.get((1, 3)), Some(&s("C")));
        assert_eq!(list.get((1, 7)), Some(&s("行政执法公示")));
        assert_eq!(list.get((1, 8)), Some(&s("较重")));
        assert_eq!(list.get((1, 11)), Some(&Data::Float(5.0)));
        assert_eq!(list.get((1, 12)), Some(&s("PUB-001 的依据")));
        assert_eq!(list.get((1, 13)), Some(&s("PUB-001 的整改要求")));
        assert_eq!(list.get((2, 11)), Some(&s("一票否决")));
        assert_eq!(list.get((4, 3)), Some(&s("B")), "DQ-003 names its column");

        let scores = wb.worksheet_range("评分").expect("scores");
        assert_eq!(scores.height(), 3);
        assert_eq!(scores.get((1, 0)), Some(&s(&format!("'{FORMULA_CASE}"))));
        assert_eq!(scores.get((1, 4)), Some(&s("是")));
        let agencies = wb.worksheet_range("单位评分").expect("agencies");
        assert_eq!(agencies.get((2, 0)), Some(&s(OTHER_AGENCY)));
        assert_eq!(agencies.get((2, 2)), Some(&Data::Float(95.0)));
        let rules = wb.worksheet_range("规则").expect("rules");
        assert_eq!(rules.height(), 1 + report.run.rules.len());
        assert_eq!(rules.get((3, 4)), Some(&s("一票否决")));
        assert_eq!(rules.get((4, 5)), Some(&s("否")));
        assert_eq!(rules.get((4, 6)), Some(&s("archived_date")));

        // The findings sheet keeps its header in view and can be filtered.
        let xml = entries(&path);
        let sheet2 = &xml
            .iter()
            .find(|(n, _)| n == "xl/worksheets/sheet2.xml")
            .unwrap()
            .1;
        assert!(sheet2.contains("<autoFilter ref=\"A1:N5\"/>"), "{sheet2}");
        assert!(sheet2.contains("state=\"frozen\""));
    }

    #[test]
    fn xlsx_never_writes_a_formula() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&fixture::ledger(dir.path()));
        let path = written(&report, dir.path());
        for (name, text) in entries(&path) {
            assert!(!text.contains("<f>") && !text.contains("<f "), "{name}");
        }
    }

    #[test]
    fn xlsx_summary_counts_agencies_with_a_totals_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&fixture::ledger(dir.path()));
        let path = written(&report, dir.path());
        let mut wb = open_workbook_auto(&path).expect("open");
        let sum = wb.worksheet_range("汇总").expect("summary");
        let find = |text: &str| {
            sum.cells()
                .find(|(_, _, d)| *d == text)
                .map(|(r, c, _)| (r, c))
        };
        let value = |label: &str| {
            let (r, c) = find(label).unwrap_or_else(|| panic!("{label}"));
            sum.get((r, c + 1)).cloned()
        };
        assert_eq!(value("评查日期"), Some(s("2022-12-31")));
        assert_eq!(value("参数配置"), Some(s("national")));
        assert_eq!(value("读取行数"), Some(Data::Float(2.0)));
        assert_eq!(value("平均分"), Some(Data::Float(47.5)));
        let (hr, _) = find("执法单位").expect("agency table");
        let cols: Vec<String> = (0..sum.width())
            .map(|c| sum.get((hr, c)).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        let col = |h: &str| {
            cols.iter()
                .position(|c| c == h)
                .unwrap_or_else(|| panic!("{h}"))
        };
        assert_eq!(sum.get((hr + 1, 0)), Some(&s(EVIL)));
        assert_eq!(sum.get((hr + 2, 0)), Some(&s(OTHER_AGENCY)));
        let total = hr + 3;
        assert_eq!(sum.get((total, 0)), Some(&s("合计")));
        assert_eq!(sum.get((total, col("案件数"))), Some(&Data::Float(2.0)));
        assert_eq!(sum.get((total, col("平均分"))), Some(&Data::Float(47.5)));
        assert_eq!(
            sum.get((total, col("一票否决案件"))),
            Some(&Data::Float(1.0))
        );
        assert_eq!(sum.get((total, col("不合格"))), Some(&Data::Float(1.0)));
        assert_eq!(
            sum.get((total, col("行政执法公示"))),
            Some(&Data::Float(2.0))
        );
        assert_eq!(
            sum.get((hr + 1, col("执法全过程记录"))),
            Some(&Data::Float(1.0))
        );
        assert_eq!(sum.get((total, col("问题合计"))), Some(&Data::Float(4.0)));
        let text: Vec<String> = sum.cells().map(|(_, _, d)| d.to_string()).collect();
        assert!(text.iter().any(|t| t.starts_with("无法读取：broken.xlsx")));
        assert!(text
            .iter()
            .any(|t| t.contains("REC-004") && t.contains("archived_date")));
    }

    #[test]
    fn xlsx_annotates_exactly_the_finding_cells() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&fixture::ledger(dir.path()));
        let path = written(&report, dir.path());
        let mut wb = open_workbook_auto(&path).expect("open");
        let copy = wb.worksheet_range("批注-ledger").expect("copy");
        assert_eq!(copy.get((0, 0)), Some(&s("案件编号")));
        assert_eq!(copy.get((1, 0)), Some(&s(&format!("'{FORMULA_CASE}"))));
        assert_eq!(copy.get((1, 1)), Some(&s(EVIL)));
        assert_eq!(copy.get((1, 2)), Some(&s("2022-03-01")));
        assert_eq!(copy.get((2, 0)), Some(&s("B-2")));
        assert_eq!(copy.height(), 3);

        let xml = entries(&path);
        let comments: Vec<&String> = xml
            .iter()
            .filter(|(n, _)| n.starts_with("xl/comments"))
            .map(|(_, t)| t)
            .collect();
        assert_eq!(comments.len(), 1, "one sheet has notes");
        let notes: Vec<(String, String)> = comments[0]
            .split("<comment ref=\"")
            .skip(1)
            .map(|c| {
                let cell = c.split('"').next().unwrap_or("").to_string();
                (cell, c.to_string())
            })
            .collect();
        let cells: Vec<&str> = notes.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(cells, ["C2", "A3", "C3"]);
        // C2 carries both of its findings; A3 only its own.
        assert!(notes[0].1.contains("PUB-001") && notes[0].1.contains("REC-001"));
        assert!(notes[1].1.contains("PUB-002") && !notes[1].1.contains("PUB-001"));
        // Marked cells have a fill (a style), the others none.
        let sheet = &xml
            .iter()
            .find(|(n, _)| n == "xl/worksheets/sheet6.xml")
            .expect("copy xml")
            .1;
        let styled = |cell: &str| {
            sheet
                .split(&format!("<c r=\"{cell}\""))
                .nth(1)
                .map(|rest| rest.split('>').next().unwrap_or("").contains(" s=\""))
                .unwrap_or(false)
        };
        assert!(styled("C2") && styled("A3") && styled("C3"));
        assert!(!styled("A2") && !styled("B2") && !styled("B3"));
    }

    #[test]
    fn xlsx_notes_a_ledger_it_cannot_reread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&dir.path().join("gone.csv"));
        let path = written(&report, dir.path());
        let mut wb = open_workbook_auto(&path).expect("open");
        assert!(!wb.sheet_names().iter().any(|n| n.starts_with("批注-")));
        let sum = wb.worksheet_range("汇总").expect("summary");
        assert!(sum
            .cells()
            .any(|(_, _, d)| d.to_string().starts_with("未生成批注副本")));
    }

    #[test]
    fn xlsx_continues_the_findings_and_skips_copies_past_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&fixture::ledger(dir.path()));
        let path = dir.path().join("small.xlsx");
        let mut bytes = Vec::new();
        render(&report, 3, &mut bytes, None).expect("render");
        std::fs::write(&path, bytes).expect("write");
        let mut wb = open_workbook_auto(&path).expect("open");
        assert_eq!(
            wb.sheet_names(),
            ["汇总", "问题清单", "问题清单2", "评分", "规则", "单位评分"]
        );
        assert_eq!(wb.worksheet_range("问题清单").expect("1").height(), 4);
        let rest = wb.worksheet_range("问题清单2").expect("2");
        assert_eq!(rest.height(), 2);
        assert_eq!(rest.get((1, 6)), Some(&s("DQ-003")));
        let sum = wb.worksheet_range("汇总").expect("summary");
        assert!(sum
            .cells()
            .any(|(_, _, d)| d.to_string().contains("未生成台账批注副本")));
    }

    #[test]
    fn a_ledger_too_long_for_a_copy_is_noted_not_copied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut report = fixture::report(&fixture::ledger(dir.path()));
        report.run.inputs[0].rows = annotate::COPY_ROWS_LIMIT + 1;
        let path = dir.path().join("long.xlsx");
        let mut bytes = Vec::new();
        render(&report, FINDINGS_PER_SHEET, &mut bytes, None).expect("render");
        std::fs::write(&path, bytes).expect("write");
        let mut wb = open_workbook_auto(&path).expect("open");
        assert!(!wb.sheet_names().iter().any(|n| n.starts_with("批注-")));
        let sum = wb.worksheet_range("汇总").expect("summary");
        assert!(sum
            .cells()
            .any(|(_, _, d)| d.to_string().contains("超过 200000 行")));
    }

    #[test]
    fn long_text_is_cut_to_excels_limit_with_a_mark() {
        for long in ["字".repeat(40_000), "😀".repeat(20_000), "=".repeat(32_767)] {
            let t = cell_text(&long);
            assert!(utf16_len(&t) <= CELL_LIMIT, "{}", utf16_len(&t));
            assert!(t.ends_with(TRUNCATED));
        }
        assert_eq!(cell_text("短"), "短");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut report = fixture::report(&dir.path().join("none.csv"));
        report.findings[0].message = "😀".repeat(40_000);
        let path = written(&report, dir.path());
        let mut wb = open_workbook_auto(&path).expect("open");
        let list = wb.worksheet_range("问题清单").expect("findings");
        let cell = list.get((1, 10)).map(|d| d.to_string()).unwrap_or_default();
        assert!(cell.ends_with(TRUNCATED));
    }

    #[test]
    fn sheet_names_are_valid_short_and_unique() {
        let mut used = HashSet::new();
        let names = [
            sheet_name("a[b]:c*d?e/f\\g", &mut used),
            sheet_name(&"很长的工作表名称".repeat(6), &mut used),
            sheet_name(&"很长的工作表名称".repeat(6), &mut used),
            sheet_name(&"很长的工作表名称".repeat(6), &mut used),
            sheet_name(&"😀".repeat(20), &mut used),
            sheet_name("'引号'", &mut used),
            sheet_name("汇总", &mut used),
            sheet_name("汇总", &mut used),
            sheet_name("", &mut used),
        ];
        assert_eq!(names[0], "a_b__c_d_e_f_g");
        assert!(names[2].ends_with("(2)") && names[3].ends_with("(3)"));
        assert_eq!(names[5], "引号");
        assert_eq!(names[7], "汇总(2)");
        for n in &names {
            rust_xlsxwriter::check_sheet_name(n).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
        let unique: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(unique.len(), names.len());
    }
}
