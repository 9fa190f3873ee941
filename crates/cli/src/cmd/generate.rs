//! `caseaudit generate`: ledgers with planted findings.

use crate::args::{GenerateArgs, StyleArg};
use anyhow::{anyhow, Result};
use caseaudit_engine::generate::{
    generate, write_csv, write_parquet, write_xlsx, GenerateOptions, Style,
};
use caseaudit_rules::calendar::format_day;

pub fn run(a: GenerateArgs) -> Result<u8> {
    if !(0.0..=1.0).contains(&a.violation_rate) {
        return Err(anyhow!("`--violation-rate` 应在 0 到 1 之间"));
    }
    let pack = super::pack_from(&a.pack)?;
    let profile = pack.profile(&a.profile).map_err(|e| anyhow!("{e}"))?;
    let params = pack.param_values(profile);
    let calendar = pack.calendar(profile);
    let as_of = super::as_of(a.as_of.as_deref())?;
    let first = calendar.years().map(|(y, _)| y).min().unwrap_or(0);
    if !calendar.covers(as_of) || !calendar.covers(as_of - 200) {
        return Err(anyhow!(
            "评查日期 {} 须在工作日历覆盖范围内且距其起始（{first} 年初）至少 200 天，以便所有生成的日期都在日历内",
            format_day(as_of)
        ));
    }
    let opts = GenerateOptions {
        cases: a.cases,
        seed: a.seed,
        violation_rate: a.violation_rate,
        as_of,
    };
    let batch = generate(&pack, &params, &calendar, &opts);
    let style = match a.style {
        StyleArg::Canonical => Style::Canonical,
        StyleArg::Ledger => Style::Ledger,
    };
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut bytes = Vec::new();
    match ext.as_str() {
        "csv" => write_csv(&pack, &batch, style, &mut bytes),
        "parquet" => write_parquet(&pack, &batch, style, &mut bytes),
        "xlsx" => write_xlsx(&pack, &batch, style).map(|b| bytes = b),
        other => {
            return Err(anyhow!(
                "不支持的输出类型 `.{other}`（可选 csv、xlsx、parquet）"
            ))
        }
    }
    .map_err(|e| anyhow!("无法生成 `{}`：{e}", super::shown(&a.out)))?;
    caseaudit_report::write_atomic(&a.out, &bytes).map_err(|e| anyhow!("{e}"))?;
    if let Some(t) = &a.truth {
        let truth = serde_json::json!({
            "as_of": format_day(as_of),
            "profile": a.profile,
            "seed": a.seed,
            "cases": batch.cases.len(),
            "findings": batch.truth.iter().map(|(c, r)| [c, r]).collect::<Vec<_>>(),
        });
        caseaudit_report::write_atomic(t, serde_json::to_string_pretty(&truth)?.as_bytes())
            .map_err(|e| anyhow!("{e}"))?;
    }
    crate::errln!(
        "已生成 {} 件案件（植入问题 {} 个）：{}",
        batch.cases.len(),
        batch.truth.len(),
        super::shown(&a.out)
    );
    Ok(0)
}
