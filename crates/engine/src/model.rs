//! What an audit produces: findings, per-input accounting, rule status, scores.
//! The report crate renders these; it never computes them.

use caseaudit_rules::{Severity, System};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Map;
use std::collections::BTreeMap;
use std::fmt;

/// A closed set of words findings.json writes (a rule's [`System`], its [`Severity`]),
/// as the rules crate defines them.
pub trait Keyword: Copy + Eq + 'static {
    /// The word findings.json writes.
    fn key(self) -> &'static str;
    /// The Chinese name.
    fn label(self) -> &'static str;
    /// The value a word names, if this version knows it.
    fn from_key(key: &str) -> Option<Self>;
}

impl Keyword for System {
    fn key(self) -> &'static str {
        System::key(self)
    }
    fn label(self) -> &'static str {
        System::label(self)
    }
    fn from_key(key: &str) -> Option<Self> {
        System::from_key(key)
    }
}

impl Keyword for Severity {
    fn key(self) -> &'static str {
        Severity::key(self)
    }
    fn label(self) -> &'static str {
        Severity::label(self)
    }
    fn from_key(key: &str) -> Option<Self> {
        Severity::from_key(key)
    }
}

/// One such word in findings.json: the value this version knows, or the word a newer
/// version wrote, kept as written so that a report or notice of that file still shows it.
/// Serialised as the word itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Keyed<T> {
    /// A value this version knows.
    Known(T),
    /// A word this version does not know (a findings.json from a newer version).
    Other(String),
}

impl<T: Keyword> Keyed<T> {
    /// The word findings.json writes.
    pub fn key(&self) -> &str {
        match self {
            Keyed::Known(t) => t.key(),
            Keyed::Other(s) => s,
        }
    }

    /// The Chinese name, or the word as written when this version does not know it.
    pub fn label(&self) -> &str {
        match self {
            Keyed::Known(t) => t.label(),
            Keyed::Other(s) => s,
        }
    }

    /// The value, when this version knows it.
    pub fn known(&self) -> Option<T> {
        match self {
            Keyed::Known(t) => Some(*t),
            Keyed::Other(_) => None,
        }
    }
}

impl<T> From<T> for Keyed<T> {
    fn from(t: T) -> Self {
        Keyed::Known(t)
    }
}

impl<T: PartialEq> PartialEq<T> for Keyed<T> {
    fn eq(&self, other: &T) -> bool {
        matches!(self, Keyed::Known(t) if t == other)
    }
}

impl<T: Keyword> Serialize for Keyed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de, T: Keyword> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Word<T>(std::marker::PhantomData<T>);
        impl<T: Keyword> serde::de::Visitor<'_> for Word<T> {
            type Value = Keyed<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Keyed<T>, E> {
                Ok(T::from_key(v).map_or_else(|| Keyed::Other(v.to_string()), Keyed::Known))
            }
        }
        deserializer.deserialize_str(Word(std::marker::PhantomData))
    }
}

/// Where a finding comes from in the ledgers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    /// The ledger file, as given (a path).
    pub file: String,
    /// The sheet (empty for a CSV or parquet file).
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
    /// The case number (案件编号), when the row has one.
    pub case_id: Option<String>,
    /// The agency (执法单位), when the row names one.
    pub agency: Option<String>,
    /// The rule the case breaks (`PUB-001`).
    pub rule_id: String,
    /// The rule's system.
    pub system: Keyed<System>,
    /// The rule's severity.
    pub severity: Keyed<Severity>,
    /// The rule's title (Chinese).
    pub title: String,
    /// What is wrong with this case, rendered from the rule's message template (Chinese).
    pub message: String,
    /// The values the rule looked at, by canonical field name (and the day counts it made).
    pub evidence: Map<String, serde_json::Value>,
    /// Points deducted from the case's score.
    pub deduction: u32,
    /// A veto finding: the case gets the veto score whatever else it has.
    #[serde(default)]
    pub veto: bool,
    /// Where the case is in the ledgers.
    pub source: Source,
    /// Column letters of the cells the finding points at (the annotated copy colours them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<String>,
}

/// A rule that did not run on an input, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    /// The rule.
    pub rule_id: String,
    /// The canonical fields it needs that the input lacks.
    pub missing_fields: Vec<String>,
}

/// How one header became a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// Column letter (`A`, `AB`).
    pub column: String,
    /// The header as written (the rows of a multi-row header joined).
    pub header: String,
    /// The canonical field the header maps to, if any.
    pub field: Option<String>,
    /// Why an unmapped header is unmapped (another column won the field), if so.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Factor money in this column is multiplied by (10,000 for a 万元 header).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scale: Option<f64>,
    /// The column is hidden in the workbook (still data: it is read like any other).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub hidden: bool,
}

/// Accounting and mapping of one input sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    /// The ledger file, as given.
    pub file: String,
    /// The sheet (empty for a CSV or parquet file).
    pub sheet: String,
    /// Data rows read below the header (all-empty rows excluded).
    pub rows: u64,
    /// Rows audited as cases.
    pub cases: u64,
    /// Rows below the header that are not cases.
    pub rejected: u64,
    /// All-empty rows below the header, skipped (not counted in `rows`).
    #[serde(default)]
    pub empty_rows_skipped: u64,
    /// The 1-based rows the header spans.
    #[serde(default)]
    pub header_rows: Vec<u32>,
    /// How each column was mapped.
    #[serde(default)]
    pub columns: Vec<ColumnMapping>,
    /// Canonical fields the pack knows that the sheet has no column for.
    #[serde(default)]
    pub missing_fields: Vec<String>,
    /// Rules that could not run on this sheet, and why.
    #[serde(default)]
    pub not_evaluated: Vec<NotEvaluated>,
    /// Remarks for people about how the sheet was read (Chinese).
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
    /// The 1-based row.
    pub row: u32,
    /// Why it is not a case (Chinese).
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
    /// The file, as given.
    pub file: String,
    /// The sheet, when the error concerns one sheet of a workbook.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sheet: Option<String>,
    /// Why, as a stable code.
    pub kind: ErrorKind,
    /// Why, for people (Chinese).
    pub reason: String,
}

/// A rule as the run used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// The rule id (`PUB-001`).
    pub id: String,
    /// The rule's system.
    pub system: Keyed<System>,
    /// The rule's severity.
    pub severity: Keyed<Severity>,
    /// The rule's title (Chinese).
    pub title: String,
    /// The legal basis (Chinese).
    pub basis: String,
    /// What an agency must do about a finding (Chinese).
    pub rectification: String,
    /// Points a finding deducts.
    pub deduction: u32,
    /// Whether a finding vetoes the case's score.
    pub veto: bool,
    /// Whether the rule ran on at least one input.
    pub evaluated: bool,
    /// Canonical fields it needed that some input lacked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_fields: Vec<String>,
    /// Cases the rule applied to but could not decide (a date outside the calendar).
    #[serde(default)]
    pub not_evaluable: u64,
    /// Findings it made.
    #[serde(default)]
    pub findings: u64,
}

/// The publication records of one sheet and one kind (`run.published[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedInput {
    /// The record file.
    pub file: String,
    /// The sheet of the records (empty for CSV and parquet).
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

/// The rule pack a run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackInfo {
    /// The pack's name.
    pub name: String,
    /// The pack's version.
    pub version: String,
    /// Where it came from (`built-in` or the folder given).
    pub source: String,
}

/// The program that wrote a findings.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `caseaudit`.
    pub name: String,
    /// Its version (a newer one may write what this version does not know).
    pub version: String,
}

/// How a run went: its settings, its inputs, the rules it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The audit date (`YYYY-MM-DD`).
    pub as_of: String,
    /// The parameter profile.
    pub profile: String,
    /// The rule pack.
    pub pack: PackInfo,
    /// One summary per input sheet read.
    pub inputs: Vec<InputSummary>,
    /// Files and sheets that could not be audited.
    pub errors: Vec<InputError>,
    /// Remarks for people about the run (Chinese).
    pub warnings: Vec<String>,
    /// Data rows read over all inputs.
    pub rows_read: u64,
    /// Cases audited.
    pub cases_audited: u64,
    /// Rows read that are not cases.
    pub rows_rejected: u64,
    /// Every rule of the pack, as the run used it.
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

/// The score of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseScore {
    /// The case number, when the row has one.
    pub case_id: Option<String>,
    /// The agency, when the row names one.
    pub agency: Option<String>,
    /// The score (100 minus deductions, at least 0; the veto score for a veto).
    pub score: f64,
    /// The grade the pack's scoring gives the score.
    pub grade: String,
    /// Whether a veto finding decided the score.
    pub veto: bool,
    /// Points deducted in all.
    pub deductions: u32,
    /// Findings of the case.
    pub findings: u32,
    /// Where the case is in the ledgers.
    pub source: Source,
}

/// The scores of one agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgencyScore {
    /// The agency (or the label for cases without one).
    pub agency: String,
    /// Cases audited.
    pub cases: u64,
    /// Mean case score, to one decimal.
    pub mean_score: f64,
    /// Cases per grade, in the pack's grade order.
    pub grades: Map<String, serde_json::Value>,
    /// Cases with a veto finding.
    pub veto_cases: u64,
    /// Findings in all.
    pub findings: u64,
    /// Findings per system key.
    pub findings_by_system: Map<String, serde_json::Value>,
}

/// Scores of every case and every agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Scores {
    /// One per case, in table order.
    pub cases: crate::score::CaseScores,
    /// One per agency, in order of first appearance.
    pub agencies: Vec<AgencyScore>,
}

/// The whole result of `audit`: what findings.json holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The program that wrote the report.
    pub tool: ToolInfo,
    /// How the run went.
    pub run: RunInfo,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Self-inspection scores.
    pub scores: Scores,
}

/// The label used for cases without an agency.
pub const NO_AGENCY: &str = "未注明执法单位";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_words_round_trip_known_and_unknown() {
        let words = r#"["publication","data_quality","transparency"]"#;
        let systems: Vec<Keyed<System>> =
            serde_json::from_str(words).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(systems[0], System::Publication);
        assert_eq!(systems[1], System::DataQuality);
        assert_eq!(systems[2], Keyed::Other("transparency".into()));
        assert_eq!(systems[2].label(), "transparency");
        assert_eq!(systems[1].label(), "数据质量");
        assert_eq!(
            serde_json::to_string(&systems).unwrap_or_else(|e| panic!("{e}")),
            words
        );
        let severity: Keyed<Severity> =
            serde_json::from_str(r#""critical""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(severity.known(), Some(Severity::Critical));
        assert!(serde_json::from_str::<Keyed<Severity>>("3").is_err());
    }
}
