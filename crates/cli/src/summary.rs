//! The summary table printed to stderr after an audit.

use caseaudit_engine::{AuditReport, InputError, NO_AGENCY};
use caseaudit_report::safe::terminal as t;
use caseaudit_report::tally::Tally;
use std::fmt::Write;

/// Display width of text in a terminal: CJK and full-width characters take two columns.
pub fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if (0x1100..=0x115F).contains(&u)
                || (0x2E80..=0xA4CF).contains(&u)
                || (0xAC00..=0xD7A3).contains(&u)
                || (0xF900..=0xFAFF).contains(&u)
                || (0xFE30..=0xFE4F).contains(&u)
                || (0xFF00..=0xFF60).contains(&u)
                || (0xFFE0..=0xFFE6).contains(&u)
                || (0x20000..=0x3FFFD).contains(&u)
            {
                2
            } else {
                1
            }
        })
        .sum()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// Renders rows as an aligned table. Cells are shown escaped for the terminal: a cell
/// from data cannot move the cursor or start a line of its own.
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| t(c).into_owned()).collect())
        .collect();
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| pad(s, widths[c]))
            .collect();
        let _ = writeln!(out, "  {}", line.join("  ").trim_end());
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            let _ = writeln!(out, "  {}", "─".repeat(total));
        }
    }
    out
}

/// The summary of an audit: accounting, findings per agency and system, rules not run.
pub fn render(report: &AuditReport) -> String {
    let run = &report.run;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "评查日期 {}，参数配置 {}；读取 {} 个工作表，{} 行：评查案件 {} 件，未作为案件 {} 行；问题 {} 个",
        t(&run.as_of),
        t(&run.profile),
        run.inputs.len(),
        run.rows_read,
        run.cases_audited,
        run.rows_rejected,
        report.findings.len()
    );
    let tally = Tally::new(report);
    let mut header = vec!["执法单位".to_string(), "案件".into(), "平均分".into()];
    header.extend(tally.systems.iter().map(|s| s.label().to_string()));
    header.push("合计".into());
    let mut rows = vec![header];
    for a in &tally.agencies {
        let mut r = vec![
            if a.name.is_empty() {
                NO_AGENCY.to_string()
            } else {
                a.name.clone()
            },
            a.cases.to_string(),
            a.mean_score.map(|m| format!("{m:.1}")).unwrap_or_default(),
        ];
        r.extend(a.by_system.iter().map(u64::to_string));
        r.push(a.findings.to_string());
        rows.push(r);
    }
    let mut total = vec![
        "合计".to_string(),
        run.cases_audited.to_string(),
        String::new(),
    ];
    total.extend(tally.total.by_system.iter().map(u64::to_string));
    total.push(tally.total.findings.to_string());
    rows.push(total);
    out.push_str(&table(&rows));
    for i in &run.inputs {
        if !i.not_evaluated.is_empty() {
            let list: Vec<String> = i
                .not_evaluated
                .iter()
                .map(|n| format!("{}（{}）", n.rule_id, run.missing_text(&n.missing_fields)))
                .collect();
            let _ = writeln!(
                out,
                "未评查规则 {} {}：{}",
                t(&i.file),
                t(&i.sheet),
                t(&list.join("；"))
            );
        }
    }
    for r in run.rules.iter().filter(|r| r.not_evaluable > 0) {
        let _ = writeln!(
            out,
            "规则 {} 有 {} 件案件因日期超出工作日历无法判断",
            t(&r.id),
            r.not_evaluable
        );
    }
    for w in &run.warnings {
        let _ = writeln!(out, "提示：{}", t(w));
    }
    for e in &run.errors {
        let _ = writeln!(out, "无法评查：{}", error_line(e));
    }
    out
}

/// A file error as one terminal line: the file, the sheet and the reason, escaped (a
/// file name holding a line break cannot forge a second line).
pub fn error_line(e: &InputError) -> String {
    format!(
        "{}{}：{}",
        t(&e.file),
        e.sheet
            .as_ref()
            .map(|s| format!(" 「{}」", t(s)))
            .unwrap_or_default(),
        t(&e.reason)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_width() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("执法单位"), 8);
        assert_eq!(width("（a）"), 5);
    }
}
