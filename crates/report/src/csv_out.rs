//! findings.csv: one finding a row, Chinese column names, formula-safe cells.

use crate::safe::neutralise_formula;
use crate::write::{write_atomic, ReportError};
use caseaudit_engine::AuditReport;
use std::path::{Path, PathBuf};

/// The column names of findings.csv.
pub const CSV_HEADER: [&str; 13] = [
    "文件",
    "工作表",
    "行号",
    "列",
    "案件编号",
    "执法单位",
    "规则编号",
    "制度",
    "严重程度",
    "问题",
    "说明",
    "扣分",
    "证据",
];

/// Renders findings.csv (UTF-8 with BOM so that Excel reads the Chinese text).
pub fn render_csv(report: &AuditReport) -> Result<Vec<u8>, csv::Error> {
    let mut buf = Vec::from(&b"\xEF\xBB\xBF"[..]);
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(CSV_HEADER)?;
        for f in &report.findings {
            let row = f.source.row.to_string();
            let ded = if f.veto {
                "一票否决".to_string()
            } else {
                f.deduction.to_string()
            };
            let evidence = serde_json::to_string(&f.evidence).unwrap_or_default();
            let cells = [
                f.source.file.as_str(),
                f.source.sheet.as_str(),
                row.as_str(),
                f.source.column.as_deref().unwrap_or(""),
                f.case_id.as_deref().unwrap_or(""),
                f.agency.as_deref().unwrap_or(""),
                f.rule_id.as_str(),
                f.system.label(),
                f.severity.label(),
                f.title.as_str(),
                f.message.as_str(),
                ded.as_str(),
                evidence.as_str(),
            ];
            w.write_record(cells.iter().map(|c| neutralise_formula(c).into_owned()))?;
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
