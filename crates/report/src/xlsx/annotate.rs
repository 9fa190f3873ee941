//! Annotated copies of the ledgers: every input sheet re-read and written as it was,
//! with exactly the cells its findings point at filled by severity and noted with the
//! rules and messages of all findings on that cell.

use super::{cell_text, note_text, sheet_name, utf16_prefix, Styles, MAX_COL, MAX_ROW};
use crate::tally::{severity_index, SEVERITIES};
use caseaudit_engine::cell::Cell;
use caseaudit_engine::load::{self, read_file};
use caseaudit_engine::{header_col_index, AuditReport, Finding, InputSummary};
use rust_xlsxwriter::{Color, Format, Note, Workbook, Worksheet, XlsxError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Excel's serial number of 1970-01-01 (days since the epoch are caseaudit's dates).
const EPOCH_SERIAL: f64 = 25_569.0;
/// 1900-03-01: serials below it are off by Excel's 1900 leap-year bug.
const FIRST_SAFE_SERIAL: f64 = 61.0;
/// 9999-12-31, Excel's last date.
const LAST_SERIAL: f64 = 2_958_465.0;
/// The longest ledger sheet copied with annotations (rows read below its header).
pub(super) const COPY_ROWS_LIMIT: u64 = 200_000;
/// Rows looked at when sizing columns.
const WIDTH_SAMPLE: usize = 200;

/// One annotated copy per input sheet, in the order of `run.inputs`, each added to
/// `wb` as a constant-memory sheet written row by row: a CSV ledger is streamed from
/// disk, record by record, so a copy of a million cases costs no more memory than one of
/// a hundred. What could not be copied is said in `notes` (shown on 汇总, which is
/// rendered after the copies are known).
pub(super) fn annotated_sheets(
    wb: &mut Workbook,
    report: &AuditReport,
    st: &Styles,
    names: &[String],
    notes: &mut Vec<String>,
) -> Result<(), XlsxError> {
    let mut by_input: HashMap<(&str, &str), Vec<&Finding>> = HashMap::new();
    for f in &report.findings {
        by_input
            .entry((f.source.file.as_str(), f.source.sheet.as_str()))
            .or_default()
            .push(f);
    }
    let mut cached: Option<(String, Vec<caseaudit_engine::cell::RawSheet>)> = None;
    for (input, name) in report.run.inputs.iter().zip(names) {
        // A copy of a very long ledger is more than a person works through and more
        // than the writer holds in memory when it packs the workbook: the findings
        // sheet lists them instead.
        if input.rows > COPY_ROWS_LIMIT {
            notes.push(format!(
                "未生成批注副本：{} 有 {} 行，超过 {} 行；请按问题清单逐项处理。",
                input.file, input.rows, COPY_ROWS_LIMIT
            ));
            continue;
        }
        let findings = by_input
            .get(&(input.file.as_str(), input.sheet.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let file = input.file.as_str();
        let path = Path::new(file);
        // CSV: streamed record by record. Workbooks: their sheet read whole (calamine
        // reads a sheet at once; the reader's cell limits bound it).
        if matches!(load::kind_of(path), Ok(load::FileKind::Csv)) {
            let mut records = match load::open_csv(path) {
                Ok(r) => r,
                Err(e) => {
                    notes.push(format!(
                        "未生成批注副本：{file} 无法重新读取（{}）",
                        e.reason
                    ));
                    continue;
                }
            };
            let mut record = csv::StringRecord::new();
            let rows = std::iter::from_fn(|| {
                let row = records.next_into(&mut record)?.ok()?;
                Some((
                    row,
                    record.iter().map(|t| Cell::Text(t.to_string())).collect(),
                ))
            });
            let ws = wb.add_worksheet_with_constant_memory()?;
            ws.set_name(name)?;
            annotated_sheet(ws, name, input, rows, findings, st, notes)?;
            continue;
        }
        // Each file is read once, however many of its sheets were audited (a file's
        // inputs are next to each other in `run.inputs`).
        if cached.as_ref().is_none_or(|(f, _)| f != file) {
            match read_file(path, file) {
                Ok(s) => cached = Some((file.to_string(), s)),
                Err(e) => {
                    cached = None;
                    notes.push(format!(
                        "未生成批注副本：{file} 无法重新读取（{}）",
                        e.reason
                    ));
                    continue;
                }
            }
        }
        let Some(raw) = cached
            .as_mut()
            .and_then(|(_, sheets)| sheets.iter_mut().find(|s| s.sheet == input.sheet))
            .map(|s| std::mem::take(&mut s.rows))
        else {
            notes.push(format!(
                "未生成批注副本：{file} 中找不到工作表「{}」",
                input.sheet
            ));
            continue;
        };
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        annotated_sheet(ws, name, input, raw.into_iter(), findings, st, notes)?;
    }
    Ok(())
}

/// The names of the annotated copies, one per input, unique among `used`.
pub(super) fn copy_names(report: &AuditReport, used: &mut HashSet<String>) -> Vec<String> {
    report
        .run
        .inputs
        .iter()
        .map(|i| sheet_name(&copy_name(i), used))
        .collect()
}

/// `批注-` and a short name from the file stem and the sheet.
fn copy_name(input: &InputSummary) -> String {
    let stem = Path::new(&input.file)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    if input.sheet.is_empty() {
        format!("批注-{stem}")
    } else {
        let short = utf16_prefix(&stem, 12).trim_end_matches(['-', '_', ' ', '.']);
        format!("批注-{short}-{}", input.sheet)
    }
}

/// Cells a person would see as wide: CJK and other wide characters count twice.
fn display_width(s: &str) -> usize {
    s.chars()
        .take(200)
        .map(|c| if (c as u32) < 0x1100 { 1 } else { 2 })
        .sum()
}

fn annotated_sheet(
    ws: &mut Worksheet,
    name: &str,
    input: &InputSummary,
    rows: impl Iterator<Item = (u32, Vec<Cell>)>,
    findings: &[&Finding],
    st: &Styles,
    notes: &mut Vec<String>,
) -> Result<(), XlsxError> {
    ws.set_tab_color(Color::RGB(0xF4B183));
    if let Some(last) = input.header_rows.iter().max() {
        if *last > 0 && *last <= MAX_ROW {
            ws.set_freeze_panes(*last, 0)?;
        }
    }
    // (0-based row, column) → the findings pointing at that cell, in row order.
    let mut marks: BTreeMap<(u32, u16), Vec<&Finding>> = BTreeMap::new();
    let mut outside = 0usize;
    for f in findings {
        for letter in &f.cells {
            let col = header_col_index(letter);
            let row = f.source.row.saturating_sub(1);
            if f.source.row == 0 || row > MAX_ROW || col > MAX_COL as usize {
                outside += 1;
                continue;
            }
            let v = marks.entry((row, col as u16)).or_default();
            if !v.iter().any(|g| std::ptr::eq(*g, *f)) {
                v.push(f);
            }
        }
    }
    let mut marks = marks.into_iter().peekable();
    let mut widths: Vec<usize> = Vec::new();
    let mut skipped = 0usize;
    // Rows are written in order (a constant-memory sheet cannot go back): the marks on
    // rows the ledger left empty are written where they fall.
    let mut last_row: Option<u32> = None;
    for (k, (row, cells)) in rows.enumerate() {
        let r = row.saturating_sub(1);
        if row == 0 || r > MAX_ROW || last_row.is_some_and(|l| r <= l) {
            skipped += cells.iter().filter(|c| !matches!(c, Cell::Empty)).count();
            continue;
        }
        while let Some(((mr, mc), fs)) = marks.next_if(|((mr, _), _)| *mr < r) {
            mark(ws, mr, mc, &Cell::Empty, &fs, st)?;
        }
        let mut here: Vec<(u16, Vec<&Finding>)> = Vec::new();
        while let Some(((_, mc), fs)) = marks.next_if(|((mr, _), _)| *mr == r) {
            here.push((mc, fs));
        }
        for (c, cell) in cells.iter().enumerate() {
            if c > MAX_COL as usize {
                if !matches!(cell, Cell::Empty) {
                    skipped += 1;
                }
                continue;
            }
            if let Some((_, fs)) = here.iter().find(|(mc, _)| *mc as usize == c) {
                mark(ws, r, c as u16, cell, fs, st)?;
                continue;
            }
            if matches!(cell, Cell::Empty) {
                continue;
            }
            if k < WIDTH_SAMPLE {
                if widths.len() <= c {
                    widths.resize(c + 1, 0);
                }
                widths[c] = widths[c].max(display_width(&cell.display()));
            }
            write_cell(ws, r, c as u16, cell, None, &st.date)?;
        }
        // Marks past the row's last cell.
        for (mc, fs) in here.iter().filter(|(mc, _)| *mc as usize >= cells.len()) {
            mark(ws, r, *mc, &Cell::Empty, fs, st)?;
        }
        last_row = Some(r);
    }
    for ((mr, mc), fs) in marks {
        if last_row.is_some_and(|l| mr <= l) {
            outside += fs.len();
            continue;
        }
        mark(ws, mr, mc, &Cell::Empty, &fs, st)?;
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 50.0))?;
    }
    if skipped > 0 || outside > 0 {
        notes.push(format!(
            "批注副本「{name}」：超出 Excel 行列上限的 {skipped} 个单元格未复制，{outside} 处问题未标注"
        ));
    }
    Ok(())
}

/// A marked cell: the original value with the fill of the most serious finding, and a
/// note naming every finding on it.
fn mark(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &Cell,
    fs: &[&Finding],
    st: &Styles,
) -> Result<(), XlsxError> {
    let sev = fs
        .iter()
        .filter_map(|f| severity_index(&f.severity))
        .min()
        .unwrap_or(SEVERITIES.len() - 1);
    let fill = if matches!(cell, Cell::Date(_)) {
        &st.fill_date[sev]
    } else {
        &st.fill[sev]
    };
    write_cell(ws, r, c, cell, Some(fill), &st.date)?;
    let lines: Vec<String> = fs
        .iter()
        .map(|f| {
            format!(
                "{}【{}】{}：{}",
                f.rule_id,
                f.severity.label(),
                f.title,
                f.message
            )
        })
        .collect();
    let note = Note::new(note_text(&lines.join("\n")))
        .set_author("caseaudit")
        .set_width(420)
        .set_height((60 + 50 * fs.len() as u32).min(360));
    ws.insert_note(r, c, &note)?;
    Ok(())
}

/// Writes one ledger cell as it was: text as text (made safe), numbers as numbers,
/// dates as dates, booleans as booleans, error values as their text.
fn write_cell(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &Cell,
    fill: Option<&Format>,
    date: &Format,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => {
            if let Some(f) = fill {
                ws.write_blank(r, c, f)?;
            }
        }
        Cell::Number(n) if n.is_finite() => {
            match fill {
                Some(f) => ws.write_number_with_format(r, c, *n, f)?,
                None => ws.write_number(r, c, *n)?,
            };
        }
        Cell::Date(d)
            if (FIRST_SAFE_SERIAL..=LAST_SERIAL).contains(&(*d as f64 + EPOCH_SERIAL)) =>
        {
            ws.write_number_with_format(r, c, *d as f64 + EPOCH_SERIAL, fill.unwrap_or(date))?;
        }
        Cell::Bool(b) => {
            match fill {
                Some(f) => ws.write_boolean_with_format(r, c, *b, f)?,
                None => ws.write_boolean(r, c, *b)?,
            };
        }
        // Text, error values, and numbers or dates Excel cannot hold: as text.
        other => {
            let text = cell_text(&other.display());
            match fill {
                Some(f) => ws.write_string_with_format(r, c, text, f)?,
                None => ws.write_string(r, c, text)?,
            };
        }
    }
    Ok(())
}
