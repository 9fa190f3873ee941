//! Rendering the rectification follow-up (`caseaudit diff`) as an HTML page.

use crate::safe::html_escape as esc;
use caseaudit_engine::diff::{AgencyDiff, FollowUp};
use std::fmt::Write;

fn rate(d: &AgencyDiff) -> String {
    d.rectification_rate
        .map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// The follow-up page: a table per agency and the items behind each count.
pub fn render_html(f: &FollowUp) -> String {
    let mut h = String::from("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>整改情况跟踪</title><style>body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px}th{background:#ddebf7}details{margin:6px 0}</style></head><body>");
    let _ = write!(
        h,
        "<h1>整改情况跟踪</h1><p>原评查日期 {}，复查评查日期 {}</p><table id=\"follow-up\"><tr><th>执法单位</th><th>原问题</th><th>已整改</th><th>仍存在</th><th>新发现</th><th>无法判断</th><th>整改率</th></tr>",
        esc(&f.old_as_of),
        esc(&f.new_as_of)
    );
    for d in f.agencies.iter().chain(std::iter::once(&f.totals)) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.agency),
            d.old,
            d.resolved,
            d.persisting,
            d.new,
            d.unknown,
            rate(d)
        );
    }
    h.push_str("</table>");
    if let Some(note) = f.differences_note() {
        let _ = write!(
            h,
            "<p id=\"run-differences\"><strong>{}</strong></p>",
            esc(&note)
        );
    }
    for d in &f.agencies {
        let _ = write!(h, "<h2>{}</h2>", esc(&d.agency));
        for (label, items) in [
            ("已整改", &d.resolved_items),
            ("仍存在", &d.persisting_items),
            ("新发现", &d.new_items),
            (
                "无法判断（案件不在复查台账中或规则未评查）",
                &d.unknown_items,
            ),
        ] {
            if items.is_empty() {
                continue;
            }
            let _ = write!(
                h,
                "<details><summary>{label}（{}）</summary><ul>",
                items.len()
            );
            for i in items {
                let _ = write!(
                    h,
                    "<li>{} {} {}</li>",
                    esc(&i.case_id),
                    esc(&i.rule_id),
                    esc(&i.title)
                );
            }
            h.push_str("</ul></details>");
        }
    }
    h.push_str("</body></html>");
    h
}
