//! Annotated copies of the ledgers: every input sheet re-read and written as it was,
//! with exactly the cells its findings point at filled by severity and noted with the
//! rules and messages of all findings on that cell.

use super::{cell_text, note_text, sheet_name, utf16_prefix, Styles, MAX_COL, MAX_ROW};
use crate::tally::{severity_index, severity_label, SEVERITIES};
use caseaudit_engine::cell::{Cell, RawSheet};
use caseaudit_engine::load::read_file;
use caseaudit_engine::{header_col_index, AuditReport, Finding, InputSummary};
use rust_xlsxwriter::{Color, Format, Note, Worksheet, XlsxError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Excel's serial number of 1970-01-01 (days since the epoch are caseaudit's dates).
const EPOCH_SERIAL: f64 = 25_569.0;
/// 1900-03-01: serials below it are off by Excel's 1900 leap-year bug.
const FIRST_SAFE_SERIAL: f64 = 61.0;
/// 9999-12-31, Excel's last date.
const LAST_SERIAL: f64 = 2_958_465.0;
/// Rows looked at when sizing columns.
const WIDTH_SAMPLE: usize = 200;

/// One annotated copy per input sheet, in the order of `run.inputs`. What could not be
/// copied is said in `notes` (shown on 汇总).
pub(super) fn annotated_sheets(
    report: &AuditReport,
    st: &Styles,
    used: &mut HashSet<String>,
    notes: &mut Vec<String>,
) -> Result<Vec<Worksheet>, XlsxError> {
    let mut by_input: HashMap<(&str, &str), Vec<&Finding>> = HashMap::new();
    for f in &report.findings {
        by_input
            .entry((f.source.file.as_str(), f.source.sheet.as_str()))
            .or_default()
            .push(f);
    }
    // Each file is read once, however many of its sheets were audited.
    let mut files: Vec<&str> = Vec::new();
    for i in &report.run.inputs {
        if !files.contains(&i.file.as_str()) {
            files.push(&i.file);
        }
    }
    let mut out = Vec::new();
    for file in files {
        let inputs: Vec<&InputSummary> = report
            .run
            .inputs
            .iter()
            .filter(|i| i.file == file)
            .collect();
        let sheets = match read_file(Path::new(file), file) {
            Ok(s) => s,
            Err(e) => {
                notes.push(format!(
                    "未生成批注副本：{file} 无法重新读取（{}）",
                    e.reason
                ));
                continue;
            }
        };
        for input in inputs {
            let Some(raw) = sheets.iter().find(|s| s.sheet == input.sheet) else {
                notes.push(format!(
                    "未生成批注副本：{file} 中找不到工作表「{}」",
                    input.sheet
                ));
                continue;
            };
            let findings = by_input
                .get(&(input.file.as_str(), input.sheet.as_str()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let name = sheet_name(&copy_name(input), used);
            out.push(annotated_sheet(&name, input, raw, findings, st, notes)?);
        }
    }
    Ok(out)
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
    name: &str,
    input: &InputSummary,
    raw: &RawSheet,
    findings: &[&Finding],
    st: &Styles,
    notes: &mut Vec<String>,
) -> Result<Worksheet, XlsxError> {
    let mut sheet = Worksheet::new();
    sheet.set_name(name)?;
    sheet.set_tab_color(Color::RGB(0xF4B183));
    let ws = &mut sheet;
    // (0-based row, column) → the findings pointing at that cell.
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
    let mut widths: Vec<usize> = Vec::new();
    let mut skipped = 0usize;
    for (k, (row, cells)) in raw.rows.iter().enumerate() {
        let r = row.saturating_sub(1);
        for (c, cell) in cells.iter().enumerate() {
            if matches!(cell, Cell::Empty) {
                continue;
            }
            if *row == 0 || r > MAX_ROW || c > MAX_COL as usize {
                skipped += 1;
                continue;
            }
            if k < WIDTH_SAMPLE {
                if widths.len() <= c {
                    widths.resize(c + 1, 0);
                }
                widths[c] = widths[c].max(display_width(&cell.display()));
            }
            if !marks.contains_key(&(r, c as u16)) {
                write_cell(ws, r, c as u16, cell, None, &st.date)?;
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 50.0))?;
    }
    if let Some(last) = input.header_rows.iter().max() {
        if *last > 0 && *last <= MAX_ROW {
            ws.set_freeze_panes(*last, 0)?;
        }
    }
    // The marked cells: the original value with the fill of the most serious finding.
    let cells: HashMap<u32, &Vec<Cell>> = raw.rows.iter().map(|(r, c)| (*r, c)).collect();
    for ((r, c), fs) in &marks {
        let sev = fs
            .iter()
            .filter_map(|f| severity_index(&f.severity))
            .min()
            .unwrap_or(SEVERITIES.len() - 1);
        let cell = cells
            .get(&(r + 1))
            .and_then(|row| row.get(*c as usize))
            .unwrap_or(&Cell::Empty);
        let fill = if matches!(cell, Cell::Date(_)) {
            &st.fill_date[sev]
        } else {
            &st.fill[sev]
        };
        write_cell(ws, *r, *c, cell, Some(fill), &st.date)?;
        let lines: Vec<String> = fs
            .iter()
            .map(|f| {
                format!(
                    "{}【{}】{}：{}",
                    f.rule_id,
                    severity_label(&f.severity),
                    f.title,
                    f.message
                )
            })
            .collect();
        let note = Note::new(note_text(&lines.join("\n")))
            .set_author("caseaudit")
            .set_width(420)
            .set_height((60 + 50 * fs.len() as u32).min(360));
        ws.insert_note(*r, *c, &note)?;
    }
    if skipped > 0 || outside > 0 {
        notes.push(format!(
            "批注副本「{name}」：超出 Excel 行列上限的 {skipped} 个单元格未复制，{outside} 处问题未标注"
        ));
    }
    Ok(sheet)
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
