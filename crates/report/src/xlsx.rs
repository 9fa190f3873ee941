//! findings.xlsx: a summary, the findings, scores, rules, and for every input sheet an
//! annotated copy of the ledger whose finding cells are coloured and commented.

use crate::safe::neutralise_formula;
use crate::write::{write_atomic, ReportError};
use caseaudit_engine::cell::Cell;
use caseaudit_engine::load::read_file;
use caseaudit_engine::{AuditReport, Finding, InputSummary};
use caseaudit_rules::{Severity, System};
use rust_xlsxwriter::{Color, Format, Note, Workbook, Worksheet, XlsxError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Findings per sheet before the list continues on another sheet (decisions.md).
pub const FINDINGS_PER_SHEET: usize = 1_000_000;
/// Excel's limit on the text of one cell.
const CELL_LIMIT: usize = 32_767;
const TRUNCATED: &str = "…（已截断）";

/// Text as it may be written to a cell: formula-safe and within Excel's limit.
pub fn cell_text(s: &str) -> String {
    let safe = neutralise_formula(s);
    if safe.chars().count() <= CELL_LIMIT {
        return safe.into_owned();
    }
    let keep = CELL_LIMIT - TRUNCATED.chars().count();
    let mut out: String = safe.chars().take(keep).collect();
    out.push_str(TRUNCATED);
    out
}

/// A sheet name Excel accepts: `[]:*?/\` replaced, at most 31 characters, unique.
pub fn sheet_name(wanted: &str, used: &mut HashSet<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    let base: String = clean.chars().take(31).collect();
    let mut name = if base.is_empty() {
        "Sheet".to_string()
    } else {
        base.clone()
    };
    let mut n = 2;
    while used.contains(&name.to_lowercase()) {
        let suffix = format!("({n})");
        let room = 31 - suffix.chars().count();
        name = format!("{}{suffix}", base.chars().take(room).collect::<String>());
        n += 1;
    }
    used.insert(name.to_lowercase());
    name
}

struct Styles {
    header: Format,
    date: Format,
    fill: [Format; 3],
    fill_date: [Format; 3],
}

fn styles() -> Styles {
    let colors = [0xFFF2CC, 0xFCE4D6, 0xFFC7CE];
    Styles {
        header: Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDDEBF7)),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        fill: colors.map(|c| Format::new().set_background_color(Color::RGB(c))),
        fill_date: colors.map(|c| {
            Format::new()
                .set_background_color(Color::RGB(c))
                .set_num_format("yyyy-mm-dd")
        }),
    }
}

fn sev_index(s: &str) -> usize {
    match Severity::from_key(s) {
        Some(Severity::Critical) => 2,
        Some(Severity::Major) => 1,
        _ => 0,
    }
}

fn put(ws: &mut Worksheet, r: u32, c: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        ws.write_string(r, c, cell_text(s))?;
    }
    Ok(())
}

fn header_row(ws: &mut Worksheet, st: &Styles, cols: &[(&str, f64)]) -> Result<(), XlsxError> {
    for (i, (h, w)) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &st.header)?;
        ws.set_column_width(i as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn system_label(key: &str) -> &str {
    System::from_key(key).map(|s| s.label()).unwrap_or(key)
}

fn severity_label(key: &str) -> &str {
    Severity::from_key(key).map(|s| s.label()).unwrap_or(key)
}

fn summary_sheet(
    wb: &mut Workbook,
    st: &Styles,
    report: &AuditReport,
    used: &mut HashSet<String>,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name("汇总", used))?;
    let run = &report.run;
    let info = [
        ("评查日期", run.as_of.clone()),
        ("参数配置", run.profile.clone()),
        (
            "规则包",
            format!(
                "{} {}（{}）",
                run.pack.name, run.pack.version, run.pack.source
            ),
        ),
        ("读取行数", run.rows_read.to_string()),
        ("评查案件数", run.cases_audited.to_string()),
        ("未作为案件的行数", run.rows_rejected.to_string()),
        ("问题总数", report.findings.len().to_string()),
    ];
    for (i, (k, v)) in info.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, *k, &st.header)?;
        put(ws, i as u32, 1, v)?;
    }
    let mut r = info.len() as u32 + 1;
    let mut cols: Vec<String> = vec![
        "执法单位".into(),
        "案件数".into(),
        "平均分".into(),
        "一票否决案件".into(),
    ];
    let grades: Vec<String> = report
        .scores
        .agencies
        .first()
        .map(|a| a.grades.keys().cloned().collect())
        .unwrap_or_default();
    cols.extend(grades.iter().cloned());
    cols.extend(System::ALL.iter().map(|s| s.label().to_string()));
    cols.push("问题合计".into());
    for (c, h) in cols.iter().enumerate() {
        ws.write_string_with_format(r, c as u16, h, &st.header)?;
    }
    ws.set_column_width(0, 28)?;
    for c in 1..cols.len() as u16 {
        ws.set_column_width(c, 12)?;
    }
    r += 1;
    for a in &report.scores.agencies {
        put(ws, r, 0, &a.agency)?;
        ws.write_number(r, 1, a.cases as f64)?;
        ws.write_number(r, 2, a.mean_score)?;
        ws.write_number(r, 3, a.veto_cases as f64)?;
        let mut c = 4u16;
        for g in &grades {
            ws.write_number(
                r,
                c,
                a.grades.get(g).and_then(|v| v.as_f64()).unwrap_or(0.0),
            )?;
            c += 1;
        }
        for s in System::ALL {
            ws.write_number(
                r,
                c,
                a.findings_by_system
                    .get(s.key())
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0),
            )?;
            c += 1;
        }
        ws.write_number(r, c, a.findings as f64)?;
        r += 1;
    }
    r += 1;
    let mut lines: Vec<String> = Vec::new();
    for i in &run.inputs {
        for n in &i.not_evaluated {
            lines.push(format!(
                "未评查：{} {} 的 {}（缺少 {}）",
                i.file,
                i.sheet,
                n.rule_id,
                n.missing_fields.join("、")
            ));
        }
    }
    for e in &run.errors {
        lines.push(format!(
            "无法读取：{} {}：{}",
            e.file,
            e.sheet.clone().unwrap_or_default(),
            e.reason
        ));
    }
    lines.extend(run.warnings.iter().map(|w| format!("提示：{w}")));
    for l in lines {
        put(ws, r, 0, &l)?;
        r += 1;
    }
    Ok(())
}

fn findings_sheets(
    wb: &mut Workbook,
    st: &Styles,
    report: &AuditReport,
    used: &mut HashSet<String>,
) -> Result<(), XlsxError> {
    let rules: HashMap<&str, (&str, &str)> = report
        .run
        .rules
        .iter()
        .map(|r| (r.id.as_str(), (r.basis.as_str(), r.rectification.as_str())))
        .collect();
    let cols = [
        ("文件", 24.0),
        ("工作表", 14.0),
        ("行号", 7.0),
        ("列", 6.0),
        ("案件编号", 24.0),
        ("执法单位", 24.0),
        ("规则编号", 10.0),
        ("制度", 16.0),
        ("严重程度", 9.0),
        ("问题", 30.0),
        ("说明", 60.0),
        ("扣分", 9.0),
        ("法律依据", 50.0),
        ("整改要求", 50.0),
    ];
    let chunks: Vec<&[Finding]> = if report.findings.is_empty() {
        vec![&[]]
    } else {
        report.findings.chunks(FINDINGS_PER_SHEET).collect()
    };
    for (k, chunk) in chunks.into_iter().enumerate() {
        let ws = wb.add_worksheet();
        let name = if k == 0 {
            "问题清单".to_string()
        } else {
            format!("问题清单{}", k + 1)
        };
        ws.set_name(sheet_name(&name, used))?;
        header_row(ws, st, &cols)?;
        for (i, f) in chunk.iter().enumerate() {
            let r = i as u32 + 1;
            put(ws, r, 0, &f.source.file)?;
            put(ws, r, 1, &f.source.sheet)?;
            ws.write_number(r, 2, f.source.row as f64)?;
            put(ws, r, 3, f.source.column.as_deref().unwrap_or(""))?;
            put(ws, r, 4, f.case_id.as_deref().unwrap_or(""))?;
            put(ws, r, 5, f.agency.as_deref().unwrap_or(""))?;
            put(ws, r, 6, &f.rule_id)?;
            put(ws, r, 7, system_label(&f.system))?;
            put(ws, r, 8, severity_label(&f.severity))?;
            put(ws, r, 9, &f.title)?;
            put(ws, r, 10, &f.message)?;
            if f.veto {
                put(ws, r, 11, "一票否决")?;
            } else {
                ws.write_number(r, 11, f.deduction as f64)?;
            }
            let (basis, rect) = rules.get(f.rule_id.as_str()).copied().unwrap_or(("", ""));
            put(ws, r, 12, basis)?;
            put(ws, r, 13, rect)?;
        }
        ws.autofilter(0, 0, chunk.len() as u32, cols.len() as u16 - 1)?;
    }
    Ok(())
}

fn scores_sheets(
    wb: &mut Workbook,
    st: &Styles,
    report: &AuditReport,
    used: &mut HashSet<String>,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name("评分", used))?;
    header_row(
        ws,
        st,
        &[
            ("案件编号", 26.0),
            ("执法单位", 26.0),
            ("得分", 8.0),
            ("等级", 8.0),
            ("一票否决", 9.0),
            ("扣分合计", 9.0),
            ("问题数", 8.0),
            ("行号", 7.0),
        ],
    )?;
    for (i, c) in report.scores.cases.iter().enumerate() {
        let r = i as u32 + 1;
        put(ws, r, 0, c.case_id.as_deref().unwrap_or(""))?;
        put(ws, r, 1, c.agency.as_deref().unwrap_or(""))?;
        ws.write_number(r, 2, c.score)?;
        put(ws, r, 3, &c.grade)?;
        put(ws, r, 4, if c.veto { "是" } else { "否" })?;
        ws.write_number(r, 5, c.deductions as f64)?;
        ws.write_number(r, 6, c.findings as f64)?;
        ws.write_number(r, 7, c.source.row as f64)?;
    }
    ws.autofilter(0, 0, report.scores.cases.len() as u32, 7)?;

    let ws = wb.add_worksheet();
    ws.set_name(sheet_name("规则", used))?;
    header_row(
        ws,
        st,
        &[
            ("编号", 10.0),
            ("名称", 30.0),
            ("制度", 16.0),
            ("严重程度", 9.0),
            ("扣分", 9.0),
            ("是否评查", 9.0),
            ("缺少字段", 24.0),
            ("无法判断案件数", 12.0),
            ("问题数", 8.0),
            ("法律依据", 60.0),
            ("整改要求", 60.0),
        ],
    )?;
    for (i, rule) in report.run.rules.iter().enumerate() {
        let r = i as u32 + 1;
        put(ws, r, 0, &rule.id)?;
        put(ws, r, 1, &rule.title)?;
        put(ws, r, 2, system_label(&rule.system))?;
        put(ws, r, 3, severity_label(&rule.severity))?;
        if rule.veto {
            put(ws, r, 4, "一票否决")?;
        } else {
            ws.write_number(r, 4, rule.deduction as f64)?;
        }
        put(ws, r, 5, if rule.evaluated { "是" } else { "否" })?;
        put(ws, r, 6, &rule.missing_fields.join("、"))?;
        ws.write_number(r, 7, rule.not_evaluable as f64)?;
        ws.write_number(r, 8, rule.findings as f64)?;
        put(ws, r, 9, &rule.basis)?;
        put(ws, r, 10, &rule.rectification)?;
    }
    Ok(())
}

/// Column index of a column letter (A → 0).
fn col_index(letter: &str) -> u16 {
    caseaudit_engine::header_col_index(letter) as u16
}

fn write_cell(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &Cell,
    fmt: Option<&Format>,
    date: &Format,
) -> Result<(), XlsxError> {
    match (cell, fmt) {
        (Cell::Empty, None) => {}
        (Cell::Number(n), Some(f)) => {
            ws.write_number_with_format(r, c, *n, f)?;
        }
        (Cell::Number(n), None) => {
            ws.write_number(r, c, *n)?;
        }
        (Cell::Date(d), f) => {
            ws.write_number_with_format(r, c, *d as f64 + 25569.0, f.unwrap_or(date))?;
        }
        (other, Some(f)) => {
            ws.write_string_with_format(r, c, cell_text(&other.display()), f)?;
        }
        (other, None) => put(ws, r, c, &other.display())?,
    }
    Ok(())
}

fn annotated_sheet(
    wb: &mut Workbook,
    st: &Styles,
    input: &InputSummary,
    findings: &[&Finding],
    used: &mut HashSet<String>,
) -> Result<Option<String>, XlsxError> {
    let sheets = match read_file(Path::new(&input.file), &input.file) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Some(format!(
                "未生成批注副本：{} 无法重新读取（{}）",
                input.file, e.reason
            )))
        }
    };
    let Some(raw) = sheets.into_iter().find(|s| s.sheet == input.sheet) else {
        return Ok(Some(format!(
            "未生成批注副本：{} 中找不到工作表「{}」",
            input.file, input.sheet
        )));
    };
    // (row, col) → findings on that cell.
    let mut marks: BTreeMap<(u32, u16), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        for letter in &f.cells {
            marks
                .entry((f.source.row, col_index(letter)))
                .or_default()
                .push(f);
        }
    }
    let stem = Path::new(&input.file)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let wanted = if input.sheet.is_empty() {
        format!("批注-{stem}")
    } else {
        format!("批注-{stem}-{}", input.sheet)
    };
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name(&wanted, used))?;
    let mut cells: HashMap<(u32, u16), &Cell> = HashMap::new();
    for (row, values) in &raw.rows {
        for (c, cell) in values.iter().enumerate() {
            let key = (*row, c as u16);
            if marks.contains_key(&key) {
                cells.insert(key, cell);
                continue;
            }
            write_cell(ws, row.saturating_sub(1), c as u16, cell, None, &st.date)?;
        }
    }
    let empty = Cell::Empty;
    for ((row, col), fs) in &marks {
        let sev = fs.iter().map(|f| sev_index(&f.severity)).max().unwrap_or(0);
        let cell = cells.get(&(*row, *col)).copied().unwrap_or(&empty);
        let fmt = if matches!(cell, Cell::Date(_)) {
            &st.fill_date[sev]
        } else {
            &st.fill[sev]
        };
        write_cell(ws, row.saturating_sub(1), *col, cell, Some(fmt), &st.date)?;
        if matches!(cell, Cell::Empty) {
            ws.write_string_with_format(row.saturating_sub(1), *col, "", fmt)?;
        }
        let text: Vec<String> = fs
            .iter()
            .map(|f| format!("{} {}：{}", f.rule_id, f.title, f.message))
            .collect();
        let note = Note::new(cell_text(&text.join("\n")))
            .set_author("caseaudit")
            .set_width(360)
            .set_height(160);
        ws.insert_note(row.saturating_sub(1), *col, &note)?;
    }
    Ok(None)
}

/// Renders the workbook.
pub fn render_xlsx(report: &AuditReport) -> Result<Vec<u8>, XlsxError> {
    let st = styles();
    let mut wb = Workbook::new();
    let mut used = HashSet::new();
    // Problems met while writing annotated copies go to a last sheet, 说明.
    let mut notes = Vec::new();
    let mut by_input: HashMap<(&str, &str), Vec<&Finding>> = HashMap::new();
    for f in &report.findings {
        by_input
            .entry((f.source.file.as_str(), f.source.sheet.as_str()))
            .or_default()
            .push(f);
    }
    let annotate = report.findings.len() <= FINDINGS_PER_SHEET;
    if !annotate {
        notes.push(format!(
            "问题超过 {FINDINGS_PER_SHEET} 个，未生成台账批注副本；请按问题清单逐项处理"
        ));
    }
    summary_sheet(&mut wb, &st, report, &mut used)?;
    findings_sheets(&mut wb, &st, report, &mut used)?;
    scores_sheets(&mut wb, &st, report, &mut used)?;
    if annotate {
        for input in &report.run.inputs {
            let fs = by_input
                .get(&(input.file.as_str(), input.sheet.as_str()))
                .cloned()
                .unwrap_or_default();
            if let Some(note) = annotated_sheet(&mut wb, &st, input, &fs, &mut used)? {
                notes.push(note);
            }
        }
    }
    if !notes.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name("说明", &mut used))?;
        for (i, n) in notes.iter().enumerate() {
            put(ws, i as u32, 0, n)?;
        }
    }
    wb.save_to_buffer()
}

/// Writes findings.xlsx into `out_dir`.
pub fn write_xlsx(report: &AuditReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let path = out_dir.join("findings.xlsx");
    let bytes = render_xlsx(report).map_err(|e| ReportError::Render {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, &bytes)?;
    Ok(path)
}
