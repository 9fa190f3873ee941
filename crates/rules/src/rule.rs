//! Rules as the engine sees them: validated, with typed conditions.

use crate::calendar::Day;
use crate::expr::{Case, Expr};
use serde::{Deserialize, Serialize};

/// Which of the three systems (or other area) a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// 行政执法公示 (PUB).
    Publication,
    /// 执法全过程记录 (REC).
    Recording,
    /// 重大执法决定法制审核 (LR).
    LegalReview,
    /// 程序时限 (PRO).
    Procedure,
    /// 数据质量 (DQ).
    DataQuality,
}

impl System {
    /// Every system, in report order.
    pub const ALL: [System; 5] = [
        System::Publication,
        System::Recording,
        System::LegalReview,
        System::Procedure,
        System::DataQuality,
    ];

    /// The identifier used in findings.json.
    pub fn key(self) -> &'static str {
        match self {
            System::Publication => "publication",
            System::Recording => "recording",
            System::LegalReview => "legal_review",
            System::Procedure => "procedure",
            System::DataQuality => "data_quality",
        }
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            System::Publication => "行政执法公示",
            System::Recording => "执法全过程记录",
            System::LegalReview => "重大执法决定法制审核",
            System::Procedure => "程序时限",
            System::DataQuality => "数据质量",
        }
    }

    /// The system a `system = "…"` word names, if any.
    pub fn from_key(s: &str) -> Option<System> {
        System::ALL.into_iter().find(|x| x.key() == s)
    }

    /// The prefix of the ids of this system's rules (`PUB` in `PUB-001`). The one table
    /// of prefixes: it is a naming convention of rule ids, so it lives beside them in
    /// code, and the loader checks every rule's id against its `system` with it.
    pub fn id_prefix(self) -> &'static str {
        match self {
            System::Publication => "PUB",
            System::Recording => "REC",
            System::LegalReview => "LR",
            System::Procedure => "PRO",
            System::DataQuality => "DQ",
        }
    }

    /// The system whose rules' ids start with `prefix`, if any.
    pub fn from_id_prefix(prefix: &str) -> Option<System> {
        System::ALL.into_iter().find(|x| x.id_prefix() == prefix)
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 一般.
    Minor,
    /// 较重.
    Major,
    /// 严重.
    Critical,
}

impl Severity {
    /// The word written in a rule file and in findings.json.
    pub fn key(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Minor => "一般",
            Severity::Major => "较重",
            Severity::Critical => "严重",
        }
    }

    /// The severity a rule file's word names, if any.
    pub fn from_key(s: &str) -> Option<Severity> {
        [Severity::Minor, Severity::Major, Severity::Critical]
            .into_iter()
            .find(|x| x.key() == s)
    }
}

/// Whether a rule is a condition or computed by the engine itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A condition the engine evaluates (`applies`, `violation`).
    Condition,
    /// Computed by the engine itself (`builtin = "…"`).
    Builtin,
}

/// The checks the engine computes itself (a `kind = "builtin"` rule names one with
/// `builtin = "…"`): the engine finds a builtin rule by its mechanism, never by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// One case number on several rows of an agency (DQ-002).
    DuplicateCaseNumbers,
    /// Cells that cannot be read as their field's type (DQ-003).
    UnreadableCells,
    /// A case the ledger says is published that the publication records lack (PUB-008).
    /// Its `applies` is the per-case scope, with `AS_OF` read as the records' coverage
    /// date.
    PublicationMissing,
    /// A case whose publication records all disagree with the ledger (PUB-009).
    PublicationMismatch,
}

impl Builtin {
    /// The word written in a rule file (`builtin = "…"`).
    pub fn key(self) -> &'static str {
        match self {
            Builtin::DuplicateCaseNumbers => "duplicate_case_numbers",
            Builtin::UnreadableCells => "unreadable_cells",
            Builtin::PublicationMissing => "publication_missing",
            Builtin::PublicationMismatch => "publication_mismatch",
        }
    }

    /// Every mechanism, in the order the pack documents them.
    pub const ALL: [Builtin; 4] = [
        Builtin::DuplicateCaseNumbers,
        Builtin::UnreadableCells,
        Builtin::PublicationMissing,
        Builtin::PublicationMismatch,
    ];

    /// Whether the rule needs publication records (`--published`) to run.
    pub fn needs_records(self) -> bool {
        matches!(
            self,
            Builtin::PublicationMissing | Builtin::PublicationMismatch
        )
    }
}

/// What a publication record means for a rule on a case whose ledger has no
/// publication date (decisions.md, "Publication records"): the case is published,
/// date unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishedWithoutDate {
    /// The rule does not fire for the case (PUB-001).
    Pass,
    /// The rule cannot decide the case (PUB-002): counted as not evaluable.
    NotEvaluable,
}

/// Whether a rule runs. A rule is never deleted (its id is never reused): a retired rule
/// stays in the pack as `deprecated`, is not evaluated and so never yields a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Evaluated on every ledger (the default).
    #[default]
    Active,
    /// Kept for its id and documentation; not evaluated, never a finding.
    Deprecated,
}

impl Status {
    /// Every status, in the order the pack documents them.
    pub const ALL: [Status; 2] = [Status::Active, Status::Deprecated];

    /// The word written in a rule file (`status = "…"`).
    pub fn key(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Deprecated => "deprecated",
        }
    }

    /// The status a rule file's word names, if any.
    pub fn from_key(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.key() == s)
    }
}

/// What an example expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// The rule must fire on the case.
    Fire,
    /// The rule must not fire on the case.
    Pass,
}

/// A case a rule must or must not fire on.
#[derive(Debug, Clone)]
pub struct Example {
    /// What the example shows.
    pub name: String,
    /// Whether the rule must fire.
    pub expect: Expect,
    /// The audit date of the example.
    pub as_of: Day,
    /// The profile it runs under.
    pub profile: String,
    /// The case, field by field (absent fields are NULL).
    pub case: Case,
    /// Publication records given with the case (publication builtins only).
    pub published: Vec<Case>,
    /// The records' coverage date (publication builtins; default: the example's as-of).
    pub covered_until: Option<Day>,
    /// Its line in the rule file.
    pub line: usize,
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The stable id, `PREFIX-NNN`.
    pub id: String,
    /// The Chinese title.
    pub title: String,
    /// The system, agreeing with the id's prefix.
    pub system: System,
    /// How serious a finding is.
    pub severity: Severity,
    /// Points off the case's 100.
    pub deduction: u32,
    /// Whether a finding sets the case's score to the veto score (一票否决).
    pub veto: bool,
    /// A condition or a builtin.
    pub kind: RuleKind,
    /// The engine's mechanism, for a builtin rule.
    pub builtin: Option<Builtin>,
    /// Whether the rule runs.
    pub status: Status,
    /// What a publication record means for the rule when the ledger has no publication
    /// date (`published_without_date = "pass"` or `"not_evaluable"`).
    pub published_without_date: Option<PublishedWithoutDate>,
    /// Fields a ledger must have for the rule to run.
    pub requires: Vec<String>,
    /// Evaluated on whichever of its fields a ledger has (DQ-004, DQ-005).
    pub partial: bool,
    /// Which cases the rule concerns (every case when absent).
    pub applies: Option<Expr>,
    /// True when the case breaks the rule.
    pub violation: Option<Expr>,
    /// `applies` as written.
    pub applies_text: Option<String>,
    /// `violation` as written.
    pub violation_text: Option<String>,
    /// The message template over the evidence.
    pub message: Option<String>,
    /// The legal text, with article.
    pub basis: String,
    /// What the agency must do.
    pub rectification: String,
    /// A longer explanation, when the rule file has one.
    pub description: Option<String>,
    /// Cases the rule must and must not fire on.
    pub examples: Vec<Example>,
    /// The file in the pack, e.g. `three-systems/PUB-001.toml`.
    pub file: String,
    /// The file's text, for `rules show`.
    pub source_text: String,
}

impl Rule {
    /// Whether the rule is evaluated (not deprecated).
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// The fields the rule reads directly (applies and violation), in order: the evidence.
    pub fn evidence_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(a) = &self.applies {
            a.direct_fields(false, &mut out);
        }
        if let Some(v) = &self.violation {
            v.direct_fields(false, &mut out);
        }
        out
    }

    /// The names a rule's message template may use, in order: the evidence fields, then
    /// each day count of `applies` and `violation` (`workdays_A_B`, `days_A_B`, see
    /// [`Expr::day_counts`]), then `as_of` and `params` (an object of the parameters).
    pub fn evidence_names(&self) -> Vec<String> {
        let mut out = self.evidence_fields();
        for e in self.applies.iter().chain(self.violation.iter()) {
            for (name, _) in e.day_counts() {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        for n in ["as_of", "params"] {
            if !out.iter().any(|x| x == n) {
                out.push(n.to_string());
            }
        }
        out
    }

    /// The fields named in `violation`: the cells a finding points at.
    pub fn violation_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = &self.violation {
            v.direct_fields(false, &mut out);
        }
        out
    }

    /// The required fields by the pack's principle: those named directly in `violation`
    /// and those named directly, outside COALESCE, in `applies`.
    pub fn principle_requires(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = &self.violation {
            v.direct_fields(false, &mut out);
        }
        if let Some(a) = &self.applies {
            a.direct_fields(true, &mut out);
        }
        out
    }

    /// The rule's condition, `applies AND violation`, as text.
    pub fn condition_text(&self) -> String {
        match (&self.applies_text, &self.violation_text) {
            (Some(a), Some(v)) => format!("({a}) AND ({v})"),
            (None, Some(v)) => v.clone(),
            _ => String::new(),
        }
    }
}

/// Grade bands and veto behaviour (`scoring.toml`).
#[derive(Debug, Clone)]
pub struct Scoring {
    /// The score of a case with a veto finding.
    pub veto_score: f64,
    /// (name, minimum score), highest first.
    pub grades: Vec<(String, f64)>,
}

impl Scoring {
    /// The grade of a score.
    pub fn grade(&self, score: f64) -> &str {
        self.grades
            .iter()
            .find(|(_, min)| score >= *min)
            .or(self.grades.last())
            .map(|(n, _)| n.as_str())
            .unwrap_or("")
    }
}
