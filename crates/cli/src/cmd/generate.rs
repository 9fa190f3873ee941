//! `caseaudit generate`: ledgers with planted findings.

use crate::args::{GenerateArgs, StyleArg};
use anyhow::{anyhow, Result};
use caseaudit_generate::{
    generate, generate_each, write_parquet, write_xlsx, CsvRows, GenerateOptions, Style, Truth,
};
use caseaudit_rules::calendar::format_day;

pub fn run(a: GenerateArgs) -> Result<u8> {
    if !(0.0..=1.0).contains(&a.violation_rate) {
        return Err(anyhow!("`--violation-rate` 应在 0 到 1 之间"));
    }
    let pack = super::pack_from(&a.pack)?;
    let profile = pack.profile(&a.profile)?;
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
    let style = match a.style {
        StyleArg::Canonical => Style::Canonical,
        StyleArg::Ledger => Style::Ledger,
    };
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let failed = |e: String| anyhow!("无法生成 `{}`：{e}", super::shown(&a.out));
    let truth = match ext.as_str() {
        // CSV is streamed: one case in memory at a time, whatever the batch size.
        "csv" => {
            let mut truth = Truth::new();
            caseaudit_report::write::write_atomic_with(&a.out, |w| {
                let mut rows = CsvRows::new(&pack, style, w)?;
                truth = generate_each(&pack, &params, &calendar, &opts, |c| rows.push(c))?;
                rows.finish()
            })?;
            truth
        }
        "parquet" | "xlsx" => {
            let batch = generate(&pack, &params, &calendar, &opts);
            let mut bytes = Vec::new();
            if ext == "xlsx" {
                bytes = write_xlsx(&pack, &batch, style).map_err(failed)?;
            } else {
                write_parquet(&pack, &batch, style, &mut bytes).map_err(failed)?;
            }
            caseaudit_report::write_atomic(&a.out, &bytes)?;
            batch.truth
        }
        other => {
            return Err(anyhow!(
                "不支持的输出类型 `.{other}`（可选 csv、xlsx、parquet）"
            ))
        }
    };
    if let Some(t) = &a.truth {
        /// The truth file (streamed: a batch's truth can be millions of pairs).
        #[derive(serde::Serialize)]
        struct TruthFile<'a> {
            as_of: String,
            profile: &'a str,
            seed: u64,
            cases: usize,
            findings: &'a Truth,
        }
        let file = TruthFile {
            as_of: format_day(as_of),
            profile: &a.profile,
            seed: a.seed,
            cases: opts.cases,
            findings: &truth,
        };
        caseaudit_report::write::write_atomic_with(t, |w| {
            serde_json::to_writer_pretty(w, &file).map_err(std::io::Error::other)
        })?;
    }
    crate::errln!(
        "已生成 {} 件案件（植入问题 {} 个）：{}",
        opts.cases,
        truth.len(),
        super::shown(&a.out)
    );
    Ok(0)
}
