//! The scalar reference evaluator: one case at a time, SQL three-valued logic.
//!
//! This is the oracle the engine's vectorised evaluator is tested against, and what runs
//! the rule examples. It is not on the audit's hot path.

use super::ast::{ArithOp, CmpOp, Expr, ExprKind};
use crate::calendar::{format_day, Calendar, Day};
use crate::params::ParamValues;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Unknown.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A text.
    Text(String),
    /// A date (days since 1970-01-01).
    Date(Day),
    /// A list of texts.
    List(Vec<String>),
}

impl Val {
    /// Whether the value is unknown.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// TRUE only for a true boolean.
    pub fn is_true(&self) -> bool {
        matches!(self, Val::Bool(true))
    }

    /// The value as evidence JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Bool(b) => (*b).into(),
            Val::Num(n) => {
                if n.fract() == 0.0 && n.abs() < 9e15 {
                    (*n as i64).into()
                } else {
                    (*n).into()
                }
            }
            Val::Text(s) => s.clone().into(),
            Val::Date(d) => format_day(*d).into(),
            Val::List(v) => v.join(crate::spelling::LIST_SEPARATOR).into(),
        }
    }
}

/// What a condition is evaluated against.
pub struct EvalContext<'a> {
    /// Parameter values of the profile.
    pub params: &'a ParamValues,
    /// The work-day calendar of the profile.
    pub calendar: &'a Calendar,
    /// The audit date.
    pub as_of: Day,
    /// Derived fields by name.
    pub derived: &'a BTreeMap<String, Expr>,
}

/// A case: canonical field → value (absent = NULL).
pub type Case = HashMap<String, Val>;

fn cmp_vals(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::Text(x), Val::Text(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn truth(v: &Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        _ => None,
    }
}

fn from_truth(t: Option<bool>) -> Val {
    t.map(Val::Bool).unwrap_or(Val::Null)
}

impl EvalContext<'_> {
    /// Evaluates an expression on one case.
    pub fn eval(&self, e: &Expr, case: &Case) -> Val {
        use ExprKind::*;
        match &e.kind {
            Null => Val::Null,
            Bool(b) => Val::Bool(*b),
            Number(n) => Val::Num(*n),
            Text(s) => Val::Text(s.clone()),
            Date(d) => Val::Date(*d),
            Field(f) => case.get(f).cloned().unwrap_or(Val::Null),
            Derived(d) => match self.derived.get(d) {
                Some(x) => self.eval(x, case),
                None => Val::Null,
            },
            Param(p) => self.params.get(p).map(Val::Num).unwrap_or(Val::Null),
            AsOf => Val::Date(self.as_of),
            Not(x) => from_truth(truth(&self.eval(x, case)).map(|b| !b)),
            And(a, b) => {
                let (x, y) = (truth(&self.eval(a, case)), truth(&self.eval(b, case)));
                from_truth(match (x, y) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            Or(a, b) => {
                let (x, y) = (truth(&self.eval(a, case)), truth(&self.eval(b, case)));
                from_truth(match (x, y) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            Cmp(op, a, b) => {
                let (x, y) = (self.eval(a, case), self.eval(b, case));
                match cmp_vals(&x, &y) {
                    None => Val::Null,
                    Some(o) => Val::Bool(match op {
                        CmpOp::Eq => o == Ordering::Equal,
                        CmpOp::NotEq => o != Ordering::Equal,
                        CmpOp::Lt => o == Ordering::Less,
                        CmpOp::LtEq => o != Ordering::Greater,
                        CmpOp::Gt => o == Ordering::Greater,
                        CmpOp::GtEq => o != Ordering::Less,
                    }),
                }
            }
            Arith(op, a, b) => {
                let (x, y) = (self.eval(a, case), self.eval(b, case));
                arith(*op, &x, &y)
            }
            Neg(x) => match self.eval(x, case) {
                Val::Num(n) => Val::Num(-n),
                _ => Val::Null,
            },
            IsNull { expr, negated } => Val::Bool(self.eval(expr, case).is_null() != *negated),
            IsBool {
                expr,
                value,
                negated,
            } => {
                let v = self.eval(expr, case);
                Val::Bool((v == Val::Bool(*value)) != *negated)
            }
            In {
                expr,
                list,
                negated,
            } => {
                let x = self.eval(expr, case);
                if x.is_null() {
                    return Val::Null;
                }
                let mut saw_null = false;
                for item in list {
                    let v = self.eval(item, case);
                    if v.is_null() {
                        saw_null = true;
                    } else if cmp_vals(&x, &v) == Some(Ordering::Equal) {
                        return Val::Bool(!*negated);
                    }
                }
                if saw_null {
                    Val::Null
                } else {
                    Val::Bool(*negated)
                }
            }
            Case {
                branches,
                otherwise,
            } => {
                for (c, r) in branches {
                    if self.eval(c, case).is_true() {
                        return self.eval(r, case);
                    }
                }
                otherwise
                    .as_ref()
                    .map(|o| self.eval(o, case))
                    .unwrap_or(Val::Null)
            }
            Coalesce(args) => args
                .iter()
                .map(|a| self.eval(a, case))
                .find(|v| !v.is_null())
                .unwrap_or(Val::Null),
            Workdays(a, b) => match (self.eval(a, case), self.eval(b, case)) {
                (Val::Date(x), Val::Date(y)) => self
                    .calendar
                    .workdays(x, y)
                    .map(|n| Val::Num(n as f64))
                    .unwrap_or(Val::Null),
                _ => Val::Null,
            },
            Days(a, b) => match (self.eval(a, case), self.eval(b, case)) {
                (Val::Date(x), Val::Date(y)) => Val::Num(Calendar::days(x, y) as f64),
                _ => Val::Null,
            },
            Len(x) => match self.eval(x, case) {
                Val::List(v) => Val::Num(v.len() as f64),
                _ => Val::Null,
            },
            HasAny(x, values) => match self.eval(x, case) {
                Val::List(v) => Val::Bool(v.iter().any(|i| values.contains(i))),
                _ => Val::Bool(false),
            },
            AllIn(x, values) => match self.eval(x, case) {
                Val::List(v) => Val::Bool(v.iter().all(|i| values.contains(i))),
                _ => Val::Bool(true),
            },
        }
    }

    /// Explains a boolean result: the value of the expression and, through AND, OR and
    /// NOT, of each clause, so a finding can say which clause decided it.
    pub fn explain(&self, e: &Expr, case: &Case) -> Explanation {
        let value = self.eval(e, case);
        let parts = match &e.kind {
            ExprKind::And(..) | ExprKind::Or(..) => {
                let mut clauses = Vec::new();
                flatten(e, &mut clauses);
                clauses.iter().map(|c| self.explain(c, case)).collect()
            }
            ExprKind::Not(x) => vec![self.explain(x, case)],
            _ => Vec::new(),
        };
        Explanation {
            clause: e.to_string(),
            value,
            parts,
        }
    }
}

/// Flattens a chain of one connective (`a AND b AND c`) into its clauses.
fn flatten<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match &e.kind {
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            let same =
                |x: &Expr| std::mem::discriminant(&x.kind) == std::mem::discriminant(&e.kind);
            for side in [a, b] {
                if same(side) {
                    flatten(side, out);
                } else {
                    out.push(side);
                }
            }
        }
        _ => out.push(e),
    }
}

fn arith(op: ArithOp, x: &Val, y: &Val) -> Val {
    match (x, y) {
        (Val::Num(a), Val::Num(b)) => {
            let r = match op {
                ArithOp::Add => a + b,
                ArithOp::Sub => a - b,
                ArithOp::Mul => a * b,
                ArithOp::Div => {
                    if *b == 0.0 {
                        return Val::Null;
                    }
                    a / b
                }
            };
            Val::Num(r)
        }
        (Val::Date(d), Val::Num(n)) => match op {
            ArithOp::Add => Val::Date(d + *n as Day),
            ArithOp::Sub => Val::Date(d - *n as Day),
            _ => Val::Null,
        },
        (Val::Num(n), Val::Date(d)) if op == ArithOp::Add => Val::Date(d + *n as Day),
        _ => Val::Null,
    }
}

/// Why a condition came out as it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The clause, as printed.
    pub clause: String,
    /// Its value for the case.
    pub value: Val,
    /// The clauses it is made of.
    pub parts: Vec<Explanation>,
}

impl Explanation {
    /// Renders the explanation as indented lines.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(0, &mut out);
        out
    }

    fn render_into(&self, depth: usize, out: &mut String) {
        let v = match &self.value {
            Val::Bool(true) => "TRUE".to_string(),
            Val::Bool(false) => "FALSE".to_string(),
            Val::Null => "NULL".to_string(),
            other => other.to_json().to_string(),
        };
        out.push_str(&format!("{}{v:<5}  {}\n", "  ".repeat(depth), self.clause));
        for p in &self.parts {
            p.render_into(depth + 1, out);
        }
    }
}
