#![warn(unreachable_pub, missing_docs)]

//! The caseaudit rule pack: canonical fields, parameters and profiles, the work-day
//! calendar, derived fields, the rules with their legal basis, and the condition
//! language (parse, type-check, reference evaluation, explanation).
//!
//! This crate knows nothing of spreadsheets or polars: a condition is a typed tree that
//! the engine compiles to vectorised expressions, and that [`expr::EvalContext`]
//! evaluates one case at a time as the reference (the oracle for tests and examples).

pub mod calendar;
pub mod expr;
pub mod spelling;
pub mod sql;

mod error;
mod examples;
mod fields;
mod message;
mod pack;
mod params;
pub mod publication;
mod rule;

pub use calendar::{Calendar, Day};
pub use error::{nearest, PackError, PackIssue};
pub use examples::{run_examples, run_rule_examples, ExampleOutcome};
pub use fields::{
    case_key, case_key_ref, fold, is_nfkc, is_solid, Field, FieldSet, FieldType, Implication,
    ValueWords,
};
pub use message::{Evidence, Message, MessageRenderer};
pub use pack::{builtin_files, Derived, RulePack, DEFAULT_CALENDAR_WARNING_DAYS};
pub use params::{Param, ParamValues, Profile};
pub use rule::{
    Builtin, Example, Expect, PublishedWithoutDate, Rule, RuleKind, Scoring, Severity, Status,
    System,
};
