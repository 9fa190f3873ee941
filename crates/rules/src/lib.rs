#![warn(unreachable_pub, missing_docs)]

//! The caseaudit rule pack: canonical fields, parameters and profiles, the work-day
//! calendar, derived fields, the rules with their legal basis, and the condition
//! language (parse, type-check, reference evaluation, explanation).
//!
//! This crate knows nothing of spreadsheets or polars: a condition is a typed tree that
//! the engine compiles to vectorised expressions, and that [`expr::EvalContext`]
//! evaluates one case at a time as the reference (the oracle for tests and examples).

pub mod calendar;
pub mod error;
pub mod examples;
pub mod expr;
pub mod fields;
pub mod message;
pub mod pack;
pub mod params;
pub mod rule;
pub mod sql;

pub use calendar::{Calendar, Day};
pub use error::{PackError, PackIssue};
pub use fields::{Field, FieldSet, FieldType};
pub use pack::RulePack;
pub use params::{ParamValues, Profile};
pub use rule::{Builtin, Rule, RuleKind, Scoring, Severity, Status, System};
