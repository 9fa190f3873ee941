//! The condition language: a small SQL-like expression language over canonical fields.

pub mod ast;
pub mod check;
mod error;
pub mod eval;

pub use ast::{ArithOp, CmpOp, Expr, ExprKind, Place, Span, Ty};
pub use check::{field_ty, parse_condition, CheckError, Scope};
pub use eval::{Case, EvalContext, Explanation, Val};
