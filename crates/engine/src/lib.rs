#![warn(unreachable_pub, missing_docs)]

//! The caseaudit engine: reads ledgers (xlsx, xls, ods, csv, parquet), maps their
//! headers onto the pack's canonical fields, normalises the messy values real ledgers
//! hold, evaluates every rule over all cases in one polars query, and returns findings,
//! per-input accounting and self-inspection scores.
//!
//! It does not render anything: the report crate turns [`model::AuditReport`] into files.

#[cfg(feature = "evaluate")]
pub mod audit;
pub mod budget;
pub mod cell;
#[cfg(feature = "evaluate")]
pub mod coverage;
pub mod diff;
#[cfg(feature = "evaluate")]
pub mod evaluate;
pub mod header;
pub mod hidden;
pub mod inputs;
pub mod load;
pub mod model;
pub mod normalize;
#[cfg(feature = "evaluate")]
pub mod prepare;
#[cfg(feature = "evaluate")]
pub mod published;
pub mod rows;
pub mod score;
#[cfg(feature = "evaluate")]
pub mod table;

#[cfg(feature = "evaluate")]
pub use audit::{
    audit, audit_with_progress, inspect, prepare_inputs, Audit, AuditError, AuditOptions,
    Inspection, Prepared, Progress, UnreadableCell,
};
pub use model::{
    missing_text, AgencyScore, AuditReport, CaseScore, ColumnMapping, ErrorKind, Finding, Implied,
    InputError, InputSummary, Keyed, Keyword, NotEvaluated, PackInfo, PublishedInput,
    PublishedSummary, RejectedRow, RuleStatus, RunInfo, Scores, Source, ToolInfo, NO_AGENCY,
};
#[cfg(feature = "evaluate")]
pub use published::PublishedOptions;

/// Column index of a column letter (A → 0, AA → 26).
pub fn header_col_index(letter: &str) -> usize {
    letter
        .bytes()
        .filter(u8::is_ascii_uppercase)
        .fold(0usize, |acc, b| {
            acc.saturating_mul(26)
                .saturating_add((b - b'A' + 1) as usize)
        })
        .saturating_sub(1)
}
