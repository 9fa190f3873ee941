//! What an audit produces: findings, per-input accounting, rule status, scores.
//! The report crate renders these; it never computes them.

use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::collections::BTreeMap;

/// Where a finding comes from in the ledgers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub sheet: String,
    /// 1-based row a person sees in the spreadsheet program.
    pub row: u32,
    /// Column letter, for cell-level findings (DQ-003).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<String>,
}

/// One problem of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub case_id: Option<String>,
    pub agency: Option<String>,
    pub rule_id: String,
    pub system: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub evidence: Map<String, serde_json::Value>,
    pub deduction: u32,
    #[serde(default)]
    pub veto: bool,
    pub source: Source,
    /// Column letters of the cells the finding points at (the annotated copy colours them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<String>,
}

/// A rule that did not run on an input, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub rule_id: String,
    pub missing_fields: Vec<String>,
}

/// How one header became a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub column: String,
    pub header: String,
    pub field: Option<String>,
    /// Why an unmapped header is unmapped (another column won the field), if so.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scale: Option<f64>,
    /// The column is hidden in the workbook (still data: it is read like any other).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub hidden: bool,
}

/// Accounting and mapping of one input sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    pub file: String,
    pub sheet: String,
    /// Data rows read below the header (all-empty rows excluded).
    pub rows: u64,
    pub cases: u64,
    pub rejected: u64,
    #[serde(default)]
    pub empty_rows_skipped: u64,
    #[serde(default)]
    pub header_rows: Vec<u32>,
    #[serde(default)]
    pub columns: Vec<ColumnMapping>,
    #[serde(default)]
    pub missing_fields: Vec<String>,
    #[serde(default)]
    pub not_evaluated: Vec<NotEvaluated>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// Rows below the header that are not cases (totals, sign-off, repeated header),
    /// counted in `rejected`.
    #[serde(default)]
    pub rejected_rows: Vec<RejectedRow>,
    /// Values a header alias implies for a field the sheet lacks.
    #[serde(default)]
    pub implied: Vec<Implied>,
}

/// A row that is not a case, and why (Chinese).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub row: u32,
    pub reason: String,
}

/// A field value implied by a header alias (行政处罚决定书文号 → case_type = 行政处罚).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implied {
    /// Canonical field name.
    pub field: String,
    /// The canonical value filled into every row.
    pub value: String,
    /// Why, for people (Chinese, naming the header).
    pub because: String,
}

/// Why a file could not be audited, as a stable code (`run.errors[].kind`) for
/// programs; `reason` says it in Chinese for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The path does not exist.
    NotFound,
    /// A symbolic link whose target does not exist.
    DanglingLink,
    /// The file or folder may not be read (permissions).
    PermissionDenied,
    /// Another operating-system error while opening or reading.
    Unreadable,
    /// A folder named like a ledger file (`台账.xlsx/`).
    IsFolder,
    /// A folder with no ledger file in it.
    EmptyFolder,
    /// Zero bytes.
    EmptyFile,
    /// An extension caseaudit does not read.
    UnsupportedType,
    /// Not a workbook of the kind its name says (a zip of other things, plain text).
    NotAWorkbook,
    /// A workbook cut short or damaged (a broken zip or compound file, broken XML).
    Truncated,
    /// A password-protected workbook.
    Encrypted,
    /// A workbook that would expand past the size limits (a decompression bomb).
    TooLarge,
    /// A text file that is neither UTF-8, UTF-16 (with BOM) nor GB18030/GBK.
    Undecodable,
    /// A text file whose records cannot be parsed as CSV.
    MalformedCsv,
    /// A parquet file that cannot be read.
    InvalidParquet,
    /// A file with nothing in it but empty cells.
    NoContent,
    /// No sheet has a header caseaudit recognises.
    NoHeader,
}

/// A file (or sheet) that could not be audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sheet: Option<String>,
    pub kind: ErrorKind,
    pub reason: String,
}

/// A rule as the run used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    pub id: String,
    pub system: String,
    pub severity: String,
    pub title: String,
    pub basis: String,
    pub rectification: String,
    pub deduction: u32,
    pub veto: bool,
    pub evaluated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_fields: Vec<String>,
    /// Cases the rule applied to but could not decide (a date outside the calendar).
    #[serde(default)]
    pub not_evaluable: u64,
    #[serde(default)]
    pub findings: u64,
}

/// The publication records of one sheet and one kind (`run.published[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedInput {
    pub file: String,
    pub sheet: String,
    /// Records (rows read as records) of this kind in the sheet.
    pub rows: u64,
    /// 行政处罚 or 行政许可 (from the records' case type, explicit or implied); none when
    /// the records name no case type (they cover nothing, but still match).
    pub kind: Option<String>,
    /// The date up to which the file covers its kinds' decisions (`--published-until`,
    /// else the latest date of the file's mapped date fields; at most the as-of date).
    pub covered_until: Option<String>,
    /// Records whose case number matches a ledger case.
    pub matched: u64,
    /// Records matching no ledger case (those without a case number included).
    pub unmatched: u64,
    /// Cells of these records that could not be read as their field's type.
    pub unreadable_cells: u64,
}

/// What the publication records showed about the ledgers (`run.published_summary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PublishedSummary {
    /// Records read, in all files.
    pub records: u64,
    /// Each kind the records cover, with its coverage date.
    pub covered: BTreeMap<String, String>,
    /// Ledger cases with at least one record.
    pub cases_matched: u64,
    /// Ledger cases the ledger says are published that the records lack (PUB-008).
    pub cases_missing: u64,
    /// Ledger cases no record of which agrees with the ledger (PUB-009).
    pub cases_disagreeing: u64,
    /// Ledger cases with a record but no publication date in the ledger (台账未填公示日期但
    /// 公示平台已有记录): published, date unknown.
    pub published_without_ledger_date: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackInfo {
    pub name: String,
    pub version: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub as_of: String,
    pub profile: String,
    pub pack: PackInfo,
    pub inputs: Vec<InputSummary>,
    pub errors: Vec<InputError>,
    pub warnings: Vec<String>,
    pub rows_read: u64,
    pub cases_audited: u64,
    pub rows_rejected: u64,
    pub rules: Vec<RuleStatus>,
    /// The publication records given (`--published`): one entry per sheet and kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<PublishedInput>,
    /// What the publication records showed, when records were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_summary: Option<PublishedSummary>,
    /// Canonical field name → its Chinese label. Everything people read names a field by
    /// its label (decisions.md); findings.json keeps canonical names everywhere else.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_labels: BTreeMap<String, String>,
}

impl RunInfo {
    /// The label of a field, or its canonical name when the run does not know it (a
    /// findings.json written before labels were recorded).
    pub fn label<'a>(&'a self, field: &'a str) -> &'a str {
        self.field_labels
            .get(field)
            .map(String::as_str)
            .unwrap_or(field)
    }

    /// The fields a rule lacks, for people: `缺少“出示执法证件”、“音像记录”列`.
    pub fn missing_text(&self, fields: &[String]) -> String {
        missing_text(fields, |f| self.label(f).to_string())
    }
}

/// The fields a rule lacks, for people, each named by `label`.
pub fn missing_text(fields: &[String], label: impl Fn(&str) -> String) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("“{}”", label(f))).collect();
    format!("缺少{}列", names.join("、"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseScore {
    pub case_id: Option<String>,
    pub agency: Option<String>,
    pub score: f64,
    pub grade: String,
    pub veto: bool,
    pub deductions: u32,
    pub findings: u32,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgencyScore {
    pub agency: String,
    pub cases: u64,
    pub mean_score: f64,
    pub grades: Map<String, serde_json::Value>,
    pub veto_cases: u64,
    pub findings: u64,
    /// Findings per system key.
    pub findings_by_system: Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Scores {
    pub cases: crate::score::CaseScores,
    pub agencies: Vec<AgencyScore>,
}

/// The whole result of `audit`: what findings.json holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    pub tool: ToolInfo,
    pub run: RunInfo,
    pub findings: Vec<Finding>,
    pub scores: Scores,
}

/// The label used for cases without an agency.
pub const NO_AGENCY: &str = "未注明执法单位";
