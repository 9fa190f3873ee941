//! `caseaudit diff OLD NEW`: rectification follow-up.

use crate::args::{DiffArgs, DiffFormat};
use crate::summary::table;
use anyhow::Result;
use caseaudit_engine::diff::{follow_up, AgencyDiff};
use caseaudit_report::safe::terminal;

fn row(d: &AgencyDiff) -> Vec<String> {
    vec![
        d.agency.clone(),
        d.old.to_string(),
        d.resolved.to_string(),
        d.persisting.to_string(),
        d.new.to_string(),
        d.unknown.to_string(),
        d.rectification_rate
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "—".into()),
    ]
}

pub fn run(a: DiffArgs) -> Result<u8> {
    if let Some(out) = &a.out {
        super::refuse_overwrite(out, &[&a.old, &a.new])?;
    }
    let old = super::read_report(&a.old)?;
    let new = super::read_report(&a.new)?;
    super::warn_if_newer(&a.old, &old);
    super::warn_if_newer(&a.new, &new);
    let f = follow_up(&old, &new);
    let text = match a.format {
        DiffFormat::Json => {
            let json = serde_json::to_string_pretty(&f)?;
            if a.out.is_none() {
                caseaudit_report::safe::json_for_terminal(&json).into_owned()
            } else {
                json
            }
        }
        DiffFormat::Html => caseaudit_report::follow_up::render_html(&f),
        DiffFormat::Table => {
            let mut rows = vec![[
                "执法单位",
                "原问题",
                "已整改",
                "仍存在",
                "新发现",
                "无法判断",
                "整改率",
            ]
            .map(String::from)
            .to_vec()];
            rows.extend(f.agencies.iter().map(row));
            rows.push(row(&f.totals));
            let note = f
                .differences_note()
                .map(|n| format!("{}\n", terminal(&n)))
                .unwrap_or_default();
            format!(
                "{note}原评查日期 {}，复查评查日期 {}\n{}",
                terminal(&f.old_as_of),
                terminal(&f.new_as_of),
                table(&rows)
            )
        }
    };
    match &a.out {
        Some(p) => caseaudit_report::write_atomic(p, text.as_bytes())?,
        None => crate::outln!("{text}"),
    }
    // The table shows the note above it; other formats (a file, JSON, HTML) say it here.
    if a.out.is_some() || !matches!(a.format, DiffFormat::Table) {
        if let Some(n) = f.differences_note() {
            crate::errln!("{}", terminal(&n));
        }
    }
    Ok(0)
}
