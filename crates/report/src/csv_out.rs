//! findings.csv: one finding a row, Chinese column names, formula-safe cells.

use crate::row::{finding_cells, RowColumns, FINDING_COLUMNS};
use crate::safe::neutralise_formula;
use crate::write::{write_atomic, ReportError};
use caseaudit_engine::AuditReport;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The columns findings.csv adds after [`FINDING_COLUMNS`].
const CSV_EXTRA: [&str; 1] = ["证据"];

/// Renders findings.csv (UTF-8 with BOM so that Excel reads the Chinese text).
pub fn render_csv(report: &AuditReport) -> Result<Vec<u8>, csv::Error> {
    let mut buf = Vec::from(&b"\xEF\xBB\xBF"[..]);
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(FINDING_COLUMNS.iter().chain(&CSV_EXTRA))?;
        for f in &report.findings {
            let evidence = serde_json::to_string(&f.evidence).unwrap_or_default();
            let cells = finding_cells(f, RowColumns::Blank);
            let cells = cells.iter().map(|c| c.text()).chain([Cow::from(evidence)]);
            w.write_record(cells.map(|c| neutralise_formula(&c).into_owned()))?;
        }
        w.flush()?;
    }
    Ok(buf)
}

/// Writes findings.csv into `out_dir`.
pub fn write_csv(report: &AuditReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let path = out_dir.join("findings.csv");
    let bytes = render_csv(report).map_err(|e| ReportError::Render {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, &bytes)?;
    Ok(path)
}
