//! Placeholder until the xlsx renderer lands (being written now).

use crate::write::ReportError;
use caseaudit_engine::AuditReport;
use std::path::{Path, PathBuf};

pub fn write_xlsx(_report: &AuditReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    Err(ReportError::Render {
        file: out_dir.display().to_string(),
        reason: "xlsx 输出尚未实现".into(),
    })
}
