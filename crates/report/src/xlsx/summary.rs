//! The 汇总 sheet: run information, findings per agency and system with a totals row,
//! the inputs, and everything the reader should know was left out.

use super::{put, put_fmt, Styles};
use crate::tally::{AgencyTally, Tally, SEVERITIES};
use caseaudit_engine::AuditReport;
use rust_xlsxwriter::{Worksheet, XlsxError};

enum Info {
    Text(String),
    Number(f64),
}

fn sheet_part(sheet: &str) -> String {
    if sheet.is_empty() {
        String::new()
    } else {
        format!(" 工作表「{sheet}」")
    }
}

pub(super) fn summary_sheet(
    name: &str,
    report: &AuditReport,
    tally: &Tally,
    st: &Styles,
    notes: &[String],
) -> Result<Worksheet, XlsxError> {
    let mut sheet = Worksheet::new();
    sheet.set_name(name)?;
    let ws = &mut sheet;
    let run = &report.run;
    ws.write_string_with_format(0, 0, "行政执法案卷评查汇总", &st.title)?;
    let severities: Vec<String> = SEVERITIES
        .iter()
        .zip(tally.total.by_severity)
        .map(|(s, n)| format!("{} {n}", s.label()))
        .collect();
    let n = |v: u64| Info::Number(v as f64);
    let info = [
        ("评查日期", Info::Text(run.as_of.clone())),
        ("参数配置", Info::Text(run.profile.clone())),
        (
            "规则包",
            Info::Text(format!(
                "{} {}（{}）",
                run.pack.name, run.pack.version, run.pack.source
            )),
        ),
        (
            "工具",
            Info::Text(format!("{} {}", report.tool.name, report.tool.version)),
        ),
        ("读取行数", n(run.rows_read)),
        ("评查案件数", n(run.cases_audited)),
        ("未作为案件的行数", n(run.rows_rejected)),
        ("问题数", n(report.findings.len() as u64)),
        ("问题严重程度", Info::Text(severities.join("，"))),
        ("一票否决案件", n(tally.total.veto_cases)),
        (
            "平均分",
            match tally.total.mean_score {
                Some(m) => Info::Number(m),
                None => Info::Text("—".into()),
            },
        ),
    ];
    let mut r = 2u32;
    for (k, v) in &info {
        ws.write_string_with_format(r, 0, *k, &st.bold)?;
        match v {
            Info::Text(t) => put(ws, r, 1, t)?,
            Info::Number(x) => {
                ws.write_number(r, 1, *x)?;
            }
        }
        r += 1;
    }

    // Agencies × systems.
    r += 1;
    ws.write_string_with_format(r, 0, "各执法单位", &st.bold)?;
    r += 1;
    let mut cols: Vec<String> = ["执法单位", "案件数", "平均分", "一票否决案件"]
        .map(String::from)
        .to_vec();
    cols.extend(tally.grades.iter().cloned());
    cols.extend(tally.systems.iter().map(|k| k.label().to_string()));
    cols.extend(SEVERITIES.iter().map(|s| s.label().to_string()));
    cols.push("问题合计".into());
    for (c, h) in cols.iter().enumerate() {
        put_fmt(ws, r, c as u16, h, &st.header)?;
    }
    ws.set_column_width(0, 30)?;
    ws.set_column_width(1, 24)?;
    for c in 2..cols.len().max(6) as u16 {
        ws.set_column_width(c, 12)?;
    }
    r += 1;
    for a in &tally.agencies {
        agency_row(ws, st, r, a, false)?;
        r += 1;
    }
    agency_row(ws, st, r, &tally.total, true)?;
    r += 2;

    // Inputs.
    ws.write_string_with_format(r, 0, "台账", &st.bold)?;
    r += 1;
    for (c, h) in [
        "文件",
        "工作表",
        "读取行数",
        "案件数",
        "未作为案件的行数",
        "未评查规则",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(r, c as u16, *h, &st.header)?;
    }
    r += 1;
    for i in &run.inputs {
        put(ws, r, 0, &i.file)?;
        put(ws, r, 1, &i.sheet)?;
        ws.write_number(r, 2, i.rows as f64)?;
        ws.write_number(r, 3, i.cases as f64)?;
        ws.write_number(r, 4, i.rejected as f64)?;
        let ids: Vec<&str> = i.not_evaluated.iter().map(|n| n.rule_id.as_str()).collect();
        put(ws, r, 5, &ids.join("、"))?;
        r += 1;
    }

    // What was left out or could not be done.
    let mut lines: Vec<String> = Vec::new();
    for e in &run.errors {
        let sheet = sheet_part(e.sheet.as_deref().unwrap_or(""));
        lines.push(format!("无法读取：{}{sheet}：{}", e.file, e.reason));
    }
    for i in &run.inputs {
        for n in &i.not_evaluated {
            lines.push(format!(
                "未评查：{}{} 的 {}（{}）",
                i.file,
                sheet_part(&i.sheet),
                n.rule_id,
                run.missing_text(&n.missing_fields)
            ));
        }
    }
    for rule in run.rules.iter().filter(|r| r.not_evaluable > 0) {
        lines.push(format!(
            "无法判断：{} 有 {} 件案件的日期超出工作日历年份",
            rule.id, rule.not_evaluable
        ));
    }
    lines.extend(run.warnings.iter().map(|w| format!("提示：{w}")));
    lines.extend(notes.iter().cloned());
    if !lines.is_empty() {
        r += 1;
        ws.write_string_with_format(r, 0, "说明", &st.bold)?;
        r += 1;
        for l in lines {
            put(ws, r, 0, &l)?;
            r += 1;
        }
    }
    Ok(sheet)
}

fn agency_row(
    ws: &mut Worksheet,
    st: &Styles,
    r: u32,
    a: &AgencyTally,
    total: bool,
) -> Result<(), XlsxError> {
    if total {
        ws.write_string_with_format(r, 0, "合计", &st.header)?;
    } else {
        put(ws, r, 0, &a.name)?;
    }
    ws.write_number(r, 1, a.cases as f64)?;
    match a.mean_score {
        Some(m) => ws.write_number_with_format(r, 2, m, &st.score)?,
        None => ws.write_string(r, 2, "—")?,
    };
    ws.write_number(r, 3, a.veto_cases as f64)?;
    let mut c = 4u16;
    for n in a
        .grades
        .iter()
        .chain(&a.by_system)
        .chain(a.by_severity.iter())
    {
        ws.write_number(r, c, *n as f64)?;
        c += 1;
    }
    ws.write_number(r, c, a.findings as f64)?;
    Ok(())
}
