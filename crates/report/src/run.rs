//! One audit from inputs to an output folder, shared by the front ends (the `caseaudit`
//! command line and the `caseaudit serve` workbench) so that both write the same files
//! for the same inputs and options. It adds no logic of its own: the engine audits, the
//! other modules of this crate render.

use crate::write::ReportError;
use caseaudit_engine::{Audit, AuditError, AuditOptions, Inspection, Progress};
use caseaudit_rules::calendar::to_day;
use caseaudit_rules::{Day, RulePack};
use std::path::{Path, PathBuf};

/// The output formats `audit` knows.
pub const FORMATS: &[&str] = &["json", "csv", "xlsx", "html", "cases"];

/// Why a run could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The audit could not run.
    #[error("{0}")]
    Audit(#[from] AuditError),
    /// The request is wrong (an unknown output format, …).
    #[error("{0}")]
    Usage(String),
    /// An output could not be written.
    #[error("{0}")]
    Output(String),
}

/// Today's date in China (UTC+8).
pub fn today_in_china() -> Day {
    let now = chrono::Utc::now() + chrono::Duration::hours(8);
    to_day(now.date_naive())
}

/// Checks a list of output formats (trimmed, lower-cased, duplicates dropped).
pub fn parse_formats(list: &[String]) -> Result<Vec<String>, RunError> {
    let mut formats = Vec::new();
    for f in list {
        let f = f.trim().to_lowercase();
        if f.is_empty() {
            continue;
        }
        if !FORMATS.contains(&f.as_str()) {
            let hint = caseaudit_rules::nearest(&f, FORMATS.iter().copied())
                .map(|s| format!("，是否想写 `{s}`？"))
                .unwrap_or_default();
            return Err(RunError::Usage(format!(
                "未知的输出格式 `{f}`{hint}（可选 json、csv、xlsx、html、cases）"
            )));
        }
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    Ok(formats)
}

/// Writes an audit's outputs in `formats` (see [`parse_formats`]) into `out`, created if
/// missing and marked as caseaudit's own.
pub fn write_outputs(audit: &Audit, out: &Path, formats: &[String]) -> Result<(), RunError> {
    let report = &audit.report;
    // The output folder: created if missing, never a marker written through a link,
    // the temporary files of interrupted runs removed.
    crate::outdir::prepare(out).map_err(|e| RunError::Output(e.to_string()))?;
    let mut written_files = Vec::new();
    for f in formats {
        let written: Result<PathBuf, ReportError> = match f.as_str() {
            "json" => crate::write_json(report, out),
            "csv" => crate::csv_out::write_csv(report, out),
            "xlsx" => crate::xlsx::write_xlsx(report, out),
            "html" => crate::html::write_html(report, out),
            "cases" => {
                // The publication records too, as `rules sql`'s `published` table.
                if let Some(records) = &audit.published {
                    let written = write_parquet(&out.join("published.parquet"), |mut w| {
                        records.write_parquet(&mut w)
                    });
                    written_files.push(written.map_err(|e| RunError::Output(e.to_string()))?);
                }
                write_parquet(&out.join("cases.parquet"), |mut w| {
                    audit.cases.write_parquet(&report.run.inputs, &mut w)
                })
            }
            _ => continue,
        };
        written_files.push(written.map_err(|e| RunError::Output(e.to_string()))?);
    }
    // Marks the folder as caseaudit's own and lists what it wrote, so that a later
    // audit never reads these files as ledgers.
    crate::outdir::record(out, &written_files).map_err(|e| RunError::Output(e.to_string()))?;
    Ok(())
}

/// Writes a parquet file whole or not at all.
fn write_parquet<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&mut (dyn std::io::Write + Send)) -> Result<(), E>,
) -> Result<PathBuf, ReportError> {
    let mut failed = None;
    crate::write::write_atomic_with(path, |w| {
        write(w).map_err(|e| {
            failed = Some(e.to_string());
            std::io::Error::other("parquet")
        })
    })
    .map_err(|e| match failed.take() {
        Some(reason) => ReportError::Render {
            file: path.display().to_string(),
            reason,
        },
        None => e,
    })
    .map(|()| path.to_path_buf())
}

/// Audits `inputs` and writes the outputs into `out`: what `caseaudit audit` does,
/// without the terminal.
pub fn audit_to_folder(
    pack: &RulePack,
    inputs: &[PathBuf],
    opts: &AuditOptions,
    out: &Path,
    formats: &[String],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Audit, RunError> {
    let audit = caseaudit_engine::audit_with_progress(pack, inputs, opts, progress)?;
    write_outputs(&audit, out, formats)?;
    Ok(audit)
}

/// What `caseaudit inspect` shows: how headers map, read without evaluating (the
/// profile is checked so that a mistyped one is said at once).
pub fn inspect(pack: &RulePack, inputs: &[PathBuf], profile: &str) -> Result<Inspection, RunError> {
    pack.profile(profile)
        .map_err(|e| RunError::Usage(e.to_string()))?;
    Ok(caseaudit_engine::inspect(pack, inputs, None))
}
