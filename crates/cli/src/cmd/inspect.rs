//! `caseaudit inspect`: how each sheet's headers map to fields, what is missing and
//! which rules that disables, and the values that could not be read.

use crate::args::InspectArgs;
use crate::summary::table;
use crate::EXIT_INPUT;
use anyhow::Result;
use caseaudit_engine::{missing_text, Inspection};
use caseaudit_report::safe::{json_for_terminal, terminal as term};
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn run(a: InspectArgs) -> Result<u8> {
    let pack = super::pack_from(&a.pack)?;
    let inspection = caseaudit_report::run::inspect(&pack, &a.inputs, &a.profile)?;
    if a.json {
        crate::outln!(
            "{}",
            json_for_terminal(&serde_json::to_string_pretty(&inspection)?)
        );
    } else {
        crate::out!("{}", render(&inspection, &pack));
    }
    Ok(if !inspection.errors.is_empty() {
        EXIT_INPUT
    } else {
        0
    })
}

/// The inspection text for people.
pub fn render(report: &Inspection, pack: &caseaudit_rules::RulePack) -> String {
    let mut out = String::new();
    // People read labels, not canonical names (decisions.md).
    let label = |f: &str| -> String {
        pack.fields
            .get(f)
            .map(|d| d.label.clone())
            .unwrap_or_else(|| f.to_string())
    };
    for inp in &report.inputs {
        let title = if inp.sheet.is_empty() {
            term(&inp.file).into_owned()
        } else {
            format!("{} 「{}」", term(&inp.file), term(&inp.sheet))
        };
        let rows: Vec<String> = inp.header_rows.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(
            out,
            "\n{title}\n  表头位于第 {} 行；数据 {} 行，案件 {} 件，未作为案件 {} 行，跳过空行 {} 行",
            rows.join("、"),
            inp.rows,
            inp.cases,
            inp.rejected,
            inp.empty_rows_skipped
        );
        let mut t = vec![vec![
            "列".to_string(),
            "表头".into(),
            "标准字段".into(),
            "说明".into(),
        ]];
        for c in &inp.columns {
            let field = c
                .field
                .as_ref()
                .map(|f| label(f))
                .unwrap_or_else(|| "— 未识别，原样保留".into());
            let mut note = c.note.clone().unwrap_or_default();
            if let Some(s) = c.scale {
                note = format!("金额按 ×{s} 换算为元");
            }
            if c.hidden {
                note = if note.is_empty() {
                    "隐藏列（仍作为台账数据）".into()
                } else {
                    format!("隐藏列（仍作为台账数据）；{note}")
                };
            }
            t.push(vec![
                c.column.clone(),
                c.header.replace('\n', " "),
                field,
                note,
            ]);
        }
        out.push_str(&table(&t));
        if !inp.missing_fields.is_empty() {
            let names: Vec<String> = inp
                .missing_fields
                .iter()
                .map(|f| format!("“{}”", label(f)))
                .collect();
            let _ = writeln!(out, "  缺少字段：{}", names.join("、"));
        }
        for m in &inp.implied {
            let _ = writeln!(out, "  推定：{}", m.because);
        }
        for n in &inp.not_evaluated {
            let title = pack
                .rule(&n.rule_id)
                .map(|r| r.title.as_str())
                .unwrap_or("");
            let _ = writeln!(
                out,
                "  无法评查 {} {}：{}",
                n.rule_id,
                title,
                missing_text(&n.missing_fields, |f| label(f))
            );
        }
        for r in &inp.rejected_rows {
            let _ = writeln!(out, "  未作为案件：第 {} 行，{}", r.row, r.reason);
        }
        for n in &inp.notes {
            let _ = writeln!(out, "  注意：{}", term(n));
        }
        // Value problems (DQ-003), grouped by column.
        let mut by_col: BTreeMap<String, (String, Vec<(u32, String)>)> = BTreeMap::new();
        for c in report
            .unreadable
            .iter()
            .filter(|c| c.source.file == inp.file && c.source.sheet == inp.sheet)
        {
            let col = c.source.column.clone().unwrap_or_default();
            by_col
                .entry(col)
                .or_insert_with(|| (c.header.clone(), Vec::new()))
                .1
                .push((c.source.row, c.raw.clone()));
        }
        for (col, (header, cells)) in by_col {
            let sample: Vec<String> = cells
                .iter()
                .take(5)
                .map(|(r, v)| format!("第{r}行「{}」", term(v)))
                .collect();
            let _ = writeln!(
                out,
                "  取值问题 {} 列「{}」：{} 个单元格无法识别，如 {}",
                term(&col),
                term(&header),
                cells.len(),
                sample.join("、")
            );
        }
    }
    for e in &report.errors {
        let _ = writeln!(out, "\n{}\n  无法读取：{}", term(&e.file), term(&e.reason));
    }
    out
}
