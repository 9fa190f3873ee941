//! Renders an audit ([`caseaudit_engine::AuditReport`]) into the files people open:
//! findings.json, findings.csv, and the other formats. It computes nothing about cases;
//! the engine has decided every finding and score.

pub mod csv_out;
#[cfg(test)]
mod fixture;
pub mod follow_up;
pub mod html;
pub mod notice;
pub mod run;
pub mod safe;
pub(crate) mod tally;
pub mod write;
pub mod xlsx;

pub use write::{write_atomic, ReportError};

use caseaudit_engine::AuditReport;
use std::path::Path;

/// Writes findings.json.
pub fn write_json(report: &AuditReport, out_dir: &Path) -> Result<std::path::PathBuf, ReportError> {
    let path = out_dir.join("findings.json");
    let bytes = serde_json::to_vec_pretty(report).map_err(|e| ReportError::Render {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, &bytes)?;
    Ok(path)
}
