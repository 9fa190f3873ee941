#![warn(unreachable_pub, missing_docs)]

//! Renders an audit ([`caseaudit_engine::AuditReport`]) into the files people open:
//! findings.json, findings.csv, and the other formats. It computes nothing about cases;
//! the engine has decided every finding and score.

pub mod csv_out;
#[cfg(test)]
mod fixture;
pub mod follow_up;
pub mod html;
pub mod notice;
pub mod outdir;
pub mod row;
pub mod run;
pub mod safe;
pub mod tally;
pub mod write;
pub mod xlsx;

pub use write::{write_atomic, ReportError};

use caseaudit_engine::AuditReport;
use std::path::Path;

/// Cases up to which findings.json is pretty-printed; larger runs are written compact
/// (the same JSON, without indentation, which would add a third to its size).
pub const PRETTY_JSON_CASES: usize = 100_000;

/// Writes findings.json, streamed to disk as it is serialised.
pub fn write_json(report: &AuditReport, out_dir: &Path) -> Result<std::path::PathBuf, ReportError> {
    let path = out_dir.join("findings.json");
    let pretty = report.scores.cases.len() <= PRETTY_JSON_CASES;
    write::write_atomic_with(&path, |w| {
        let r = if pretty {
            serde_json::to_writer_pretty(&mut *w, report)
        } else {
            serde_json::to_writer(&mut *w, report)
        };
        r.map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    Ok(path)
}
