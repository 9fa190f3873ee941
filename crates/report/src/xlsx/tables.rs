//! The list sheets: 问题清单 (one finding a row), 评分 (one case a row), 规则 and 单位评分.

use super::{header_row, put, Styles};
use crate::row::{finding_cells, Cell, RowColumns, FINDING_COLUMNS};
use crate::tally::{Tally, SEVERITIES};
use caseaudit_engine::{AuditReport, CaseScore, Finding};
use rust_xlsxwriter::{Worksheet, XlsxError};
use std::collections::HashMap;

/// Widths of the shared [`FINDING_COLUMNS`], then the columns this sheet adds.
const FINDING_WIDTHS: [f64; 12] = [
    24.0, 14.0, 7.0, 7.0, 24.0, 26.0, 10.0, 18.0, 9.0, 32.0, 60.0, 9.0,
];
const FINDING_EXTRA: [(&str, f64); 2] = [("法律依据", 50.0), ("整改要求", 50.0)];

fn new_sheet(name: &str) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name(name)?;
    Ok(ws)
}

/// One sheet of findings (a slice of at most `FINDINGS_PER_SHEET`), written row by row
/// into `ws` (a constant-memory sheet).
pub(super) fn findings_sheet(
    ws: &mut Worksheet,
    report: &AuditReport,
    findings: &[Finding],
    st: &Styles,
) -> Result<(), XlsxError> {
    let rules: HashMap<&str, (&str, &str)> = report
        .run
        .rules
        .iter()
        .map(|r| (r.id.as_str(), (r.basis.as_str(), r.rectification.as_str())))
        .collect();
    let columns: Vec<(&str, f64)> = FINDING_COLUMNS
        .into_iter()
        .zip(FINDING_WIDTHS)
        .chain(FINDING_EXTRA)
        .collect();
    header_row(ws, st, 0, &columns)?;
    for (i, f) in findings.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, cell) in finding_cells(f, RowColumns::Cells).iter().enumerate() {
            match cell {
                Cell::Text(s) => put(ws, r, c as u16, s)?,
                Cell::Number(n) => {
                    ws.write_number(r, c as u16, *n as f64)?;
                }
            }
        }
        let (basis, rect) = rules.get(f.rule_id.as_str()).copied().unwrap_or(("", ""));
        let c = FINDING_COLUMNS.len() as u16;
        put(ws, r, c, basis)?;
        put(ws, r, c + 1, rect)?;
    }
    ws.autofilter(0, 0, findings.len() as u32, columns.len() as u16 - 1)?;
    Ok(())
}

/// One sheet of case scores, written row by row into `ws`.
pub(super) fn scores_sheet(
    ws: &mut Worksheet,
    cases: impl ExactSizeIterator<Item = CaseScore>,
    st: &Styles,
) -> Result<(), XlsxError> {
    let cols = [
        ("案件编号", 26.0),
        ("执法单位", 26.0),
        ("得分", 8.0),
        ("等级", 8.0),
        ("一票否决", 9.0),
        ("扣分合计", 9.0),
        ("问题数", 8.0),
        ("文件", 24.0),
        ("工作表", 14.0),
        ("行号", 7.0),
    ];
    header_row(ws, st, 0, &cols)?;
    let n = cases.len();
    for (i, c) in cases.enumerate() {
        let r = i as u32 + 1;
        put(ws, r, 0, c.case_id.as_deref().unwrap_or(""))?;
        put(ws, r, 1, c.agency.as_deref().unwrap_or(""))?;
        ws.write_number(r, 2, c.score)?;
        put(ws, r, 3, &c.grade)?;
        put(ws, r, 4, if c.veto { "是" } else { "否" })?;
        ws.write_number(r, 5, c.deductions as f64)?;
        ws.write_number(r, 6, c.findings as f64)?;
        put(ws, r, 7, &c.source.file)?;
        put(ws, r, 8, &c.source.sheet)?;
        ws.write_number(r, 9, c.source.row as f64)?;
    }
    ws.autofilter(0, 0, n as u32, cols.len() as u16 - 1)?;
    Ok(())
}

/// The rules of the run.
pub(super) fn rules_sheet(
    name: &str,
    report: &AuditReport,
    st: &Styles,
) -> Result<Worksheet, XlsxError> {
    let cols = [
        ("编号", 10.0),
        ("名称", 32.0),
        ("制度", 18.0),
        ("严重程度", 9.0),
        ("扣分", 9.0),
        ("是否评查", 9.0),
        ("缺少字段", 24.0),
        ("无法判断案件数", 14.0),
        ("问题数", 8.0),
        ("法律依据", 60.0),
        ("整改要求", 60.0),
    ];
    let mut sheet = new_sheet(name)?;
    let ws = &mut sheet;
    header_row(ws, st, 0, &cols)?;
    for (i, rule) in report.run.rules.iter().enumerate() {
        let r = i as u32 + 1;
        put(ws, r, 0, &rule.id)?;
        put(ws, r, 1, &rule.title)?;
        put(ws, r, 2, rule.system.label())?;
        put(ws, r, 3, rule.severity.label())?;
        if rule.veto {
            put(ws, r, 4, "一票否决")?;
        } else {
            ws.write_number(r, 4, rule.deduction as f64)?;
        }
        put(ws, r, 5, if rule.evaluated { "是" } else { "否" })?;
        let labels: Vec<&str> = rule
            .missing_fields
            .iter()
            .map(|f| report.run.label(f))
            .collect();
        put(ws, r, 6, &labels.join("、"))?;
        ws.write_number(r, 7, rule.not_evaluable as f64)?;
        ws.write_number(r, 8, rule.findings as f64)?;
        put(ws, r, 9, &rule.basis)?;
        put(ws, r, 10, &rule.rectification)?;
    }
    ws.autofilter(0, 0, report.run.rules.len() as u32, cols.len() as u16 - 1)?;
    Ok(sheet)
}

/// Agency scores: cases, mean score, vetoes, grades and findings by severity.
pub(super) fn agencies_sheet(
    name: &str,
    tally: &Tally,
    st: &Styles,
) -> Result<Worksheet, XlsxError> {
    let mut cols: Vec<(&str, f64)> = vec![
        ("执法单位", 30.0),
        ("案件数", 9.0),
        ("平均分", 9.0),
        ("一票否决案件", 13.0),
    ];
    cols.extend(tally.grades.iter().map(|g| (g.as_str(), 9.0)));
    cols.extend(SEVERITIES.iter().map(|s| (s.label(), 9.0)));
    cols.push(("问题数", 9.0));
    let mut sheet = new_sheet(name)?;
    let ws = &mut sheet;
    // Grade names come from the pack: written as text like everything else.
    for (i, (h, w)) in cols.iter().enumerate() {
        super::put_fmt(ws, 0, i as u16, h, &st.header)?;
        ws.set_column_width(i as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (i, a) in tally.agencies.iter().enumerate() {
        let r = i as u32 + 1;
        put(ws, r, 0, &a.name)?;
        ws.write_number(r, 1, a.cases as f64)?;
        match a.mean_score {
            Some(m) => ws.write_number_with_format(r, 2, m, &st.score)?,
            None => ws.write_string(r, 2, "—")?,
        };
        ws.write_number(r, 3, a.veto_cases as f64)?;
        let mut c = 4u16;
        for n in a.grades.iter().chain(a.by_severity.iter()) {
            ws.write_number(r, c, *n as f64)?;
            c += 1;
        }
        ws.write_number(r, c, a.findings as f64)?;
    }
    ws.autofilter(0, 0, tally.agencies.len() as u32, cols.len() as u16 - 1)?;
    Ok(sheet)
}
