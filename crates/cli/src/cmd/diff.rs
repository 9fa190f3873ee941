//! `caseaudit diff OLD NEW`: rectification follow-up.

use crate::args::{DiffArgs, DiffFormat};
use crate::summary::table;
use anyhow::{anyhow, Result};
use caseaudit_engine::diff::{follow_up, AgencyDiff};

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
    let old = super::read_report(&a.old)?;
    let new = super::read_report(&a.new)?;
    let f = follow_up(&old, &new);
    let text = match a.format {
        DiffFormat::Json => serde_json::to_string_pretty(&f)?,
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
            format!(
                "原评查日期 {}，复查评查日期 {}\n{}",
                f.old_as_of,
                f.new_as_of,
                table(&rows)
            )
        }
    };
    match &a.out {
        Some(p) => {
            caseaudit_report::write_atomic(p, text.as_bytes()).map_err(|e| anyhow!("{e}"))?
        }
        None => println!("{text}"),
    }
    Ok(0)
}
