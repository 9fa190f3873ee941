//! The typed syntax tree of the condition language.

use crate::calendar::{format_day, Day};
use crate::spelling::{date_literal, number as fmt_number, text_literal as quote};
use std::fmt;

/// The type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// True, false or NULL.
    Bool,
    /// A number (money, counts, days).
    Number,
    /// A date.
    Date,
    /// Text (text and enum fields).
    Text,
    /// A list of texts (list fields).
    List,
    /// The literal NULL, which fits any type.
    Null,
}

impl Ty {
    /// Whether a value of type `self` may stand where `other` is expected.
    pub fn fits(self, other: Ty) -> bool {
        self == other || self == Ty::Null || other == Ty::Null
    }

    /// The more specific of two fitting types.
    pub fn unify(self, other: Ty) -> Ty {
        if self == Ty::Null {
            other
        } else {
            self
        }
    }

    /// The Chinese name of the type, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Ty::Bool => "布尔值",
            Ty::Number => "数字",
            Ty::Date => "日期",
            Ty::Text => "文本",
            Ty::List => "列表",
            Ty::Null => "空值",
        }
    }

    /// The English name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Bool => "boolean",
            Ty::Number => "number",
            Ty::Date => "date",
            Ty::Text => "text",
            Ty::List => "list",
            Ty::Null => "null",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CmpOp {
    /// The operator as written in SQL.
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl ArithOp {
    /// The operator as written in SQL.
    pub fn sql(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

/// A place in a condition's text: 1-based line and column (counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Place {
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column, in characters; 0 when unknown.
    pub column: usize,
}

/// Where in its condition's text an expression was written. Line 0 means unknown (a node
/// the checker made itself, or one the parser gave no place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Where it starts.
    pub start: Place,
    /// Where it ends.
    pub end: Place,
}

impl Span {
    /// Whether the span points somewhere.
    pub fn is_known(&self) -> bool {
        self.start.line > 0
    }

    /// The start, when known.
    pub fn place(&self) -> Option<Place> {
        self.is_known().then_some(self.start)
    }
}

impl From<sqlparser::tokenizer::Span> for Span {
    fn from(s: sqlparser::tokenizer::Span) -> Span {
        let place = |l: sqlparser::tokenizer::Location| Place {
            line: usize::try_from(l.line).unwrap_or(0),
            column: usize::try_from(l.column).unwrap_or(0),
        };
        Span {
            start: place(s.start),
            end: place(s.end),
        }
    }
}

/// A type-checked expression, with where it was written.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Its type, as checked.
    pub ty: Ty,
    /// Where it was written (not part of equality).
    pub span: Span,
}

/// Two expressions are equal when they mean the same, wherever they were written.
impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.kind == other.kind && self.ty == other.ty
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// The literal NULL.
    Null,
    /// `TRUE`, `FALSE`.
    Bool(bool),
    /// A number literal.
    Number(f64),
    /// A text literal in single quotes.
    Text(String),
    /// `DATE 'YYYY-MM-DD'`.
    Date(Day),
    /// A canonical field of the case.
    Field(String),
    /// A derived field of the pack, by name.
    Derived(String),
    /// `params.NAME`.
    Param(String),
    /// The audit date.
    AsOf,
    /// `NOT x`.
    Not(Box<Expr>),
    /// `a AND b`.
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`.
    Or(Box<Expr>, Box<Expr>),
    /// A comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// Arithmetic.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `-x`.
    Neg(Box<Expr>),
    /// `x IS [NOT] NULL`.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// With `NOT`.
        negated: bool,
    },
    /// `IS [NOT] TRUE` (value true) and `IS [NOT] FALSE` (value false).
    IsBool {
        /// The operand.
        expr: Box<Expr>,
        /// `TRUE` or `FALSE`.
        value: bool,
        /// With `NOT`.
        negated: bool,
    },
    /// `x [NOT] IN (…)`.
    In {
        /// The value looked up.
        expr: Box<Expr>,
        /// The values it is looked up in.
        list: Vec<Expr>,
        /// With `NOT`.
        negated: bool,
    },
    /// `CASE WHEN … THEN … [ELSE …] END`.
    Case {
        /// (condition, result), in order.
        branches: Vec<(Expr, Expr)>,
        /// The `ELSE` result.
        otherwise: Option<Box<Expr>>,
    },
    /// `COALESCE(…)`: the first argument that is not NULL.
    Coalesce(Vec<Expr>),
    /// `WORKDAYS(a, b)`: working days d with a < d ≤ b.
    Workdays(Box<Expr>, Box<Expr>),
    /// `DAYS(a, b)`: b − a in calendar days.
    Days(Box<Expr>, Box<Expr>),
    /// `LEN(list)`: the number of items.
    Len(Box<Expr>),
    /// `HAS_ANY(list, …)`: whether the list holds any of the values.
    HasAny(Box<Expr>, Vec<String>),
    /// `ALL_IN(list, …)`: whether every item of the list is one of the values.
    AllIn(Box<Expr>, Vec<String>),
}

impl Expr {
    /// An expression without a place in a text.
    pub fn new(kind: ExprKind, ty: Ty) -> Expr {
        Expr {
            kind,
            ty,
            span: Span::default(),
        }
    }

    /// The same expression, placed at `span` unless it already has a place.
    pub fn at(mut self, span: Span) -> Expr {
        if !self.span.is_known() {
            self.span = span;
        }
        self
    }

    /// The direct children of this node.
    pub fn children(&self) -> Vec<&Expr> {
        use ExprKind::*;
        match &self.kind {
            Null | Bool(_) | Number(_) | Text(_) | Date(_) | Field(_) | Derived(_) | Param(_)
            | AsOf => vec![],
            Not(e) | Neg(e) | Len(e) | HasAny(e, _) | AllIn(e, _) => vec![e],
            IsNull { expr, .. } | IsBool { expr, .. } => vec![expr],
            And(a, b) | Or(a, b) | Cmp(_, a, b) | Arith(_, a, b) | Workdays(a, b) | Days(a, b) => {
                vec![a, b]
            }
            In { expr, list, .. } => std::iter::once(&**expr).chain(list.iter()).collect(),
            Case {
                branches,
                otherwise,
            } => {
                let mut v: Vec<&Expr> = branches.iter().flat_map(|(c, r)| [c, r]).collect();
                if let Some(o) = otherwise {
                    v.push(o);
                }
                v
            }
            Coalesce(v) => v.iter().collect(),
        }
    }

    /// Visits every node, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }

    /// Fields named directly (not through derived fields). With `skip_coalesce`, fields
    /// that appear only inside COALESCE are left out.
    pub fn direct_fields(&self, skip_coalesce: bool, out: &mut Vec<String>) {
        match &self.kind {
            ExprKind::Field(f) => {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
            ExprKind::Coalesce(_) if skip_coalesce => {}
            _ => {
                for c in self.children() {
                    c.direct_fields(skip_coalesce, out);
                }
            }
        }
    }

    /// Derived fields named directly.
    pub fn derived_refs(&self, out: &mut Vec<String>) {
        self.walk(&mut |e| {
            if let ExprKind::Derived(d) = &e.kind {
                if !out.contains(d) {
                    out.push(d.clone());
                }
            }
        });
    }

    /// Parameters named.
    pub fn params(&self, out: &mut Vec<String>) {
        self.walk(&mut |e| {
            if let ExprKind::Param(p) = &e.kind {
                if !out.contains(p) {
                    out.push(p.clone());
                }
            }
        });
    }

    /// Date fields passed to WORKDAYS anywhere in the expression, in order.
    pub fn workday_fields(&self, out: &mut Vec<String>) {
        self.walk(&mut |n| {
            if let ExprKind::Workdays(a, b) = &n.kind {
                for x in [a, b] {
                    if let ExprKind::Field(f) = &x.kind {
                        if !out.contains(f) {
                            out.push(f.clone());
                        }
                    }
                }
            }
        });
    }

    /// Whether a WORKDAYS in the expression counts to or from AS_OF.
    pub fn workdays_use_as_of(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| {
            if let ExprKind::Workdays(a, b) = &n.kind {
                if matches!(a.kind, ExprKind::AsOf) || matches!(b.kind, ExprKind::AsOf) {
                    found = true;
                }
            }
        });
        found
    }

    /// Every WORKDAYS and DAYS call, in order, with its evidence name.
    pub fn day_counts(&self) -> Vec<(String, &Expr)> {
        let mut out: Vec<(String, &Expr)> = Vec::new();
        self.walk(&mut |e| {
            let name = match &e.kind {
                ExprKind::Workdays(a, b) => format!("workdays_{}_{}", a.slug(), b.slug()),
                ExprKind::Days(a, b) => format!("days_{}_{}", a.slug(), b.slug()),
                _ => return,
            };
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, e));
            }
        });
        out
    }

    /// A short name for an argument of a day count, used to name evidence.
    pub fn slug(&self) -> String {
        match &self.kind {
            ExprKind::Field(f) | ExprKind::Derived(f) => f.clone(),
            ExprKind::AsOf => "as_of".into(),
            ExprKind::Date(d) => format_day(*d).replace('-', ""),
            _ => "expr".into(),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExprKind::*;
        let list = |v: &[Expr]| {
            v.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let strs = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
        match &self.kind {
            Null => write!(f, "NULL"),
            Bool(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
            Number(n) => write!(f, "{}", fmt_number(*n)),
            Text(s) => write!(f, "{}", quote(s)),
            Date(d) => write!(f, "{}", date_literal(*d)),
            Field(n) | Derived(n) => write!(f, "{n}"),
            Param(n) => write!(f, "params.{n}"),
            AsOf => write!(f, "AS_OF"),
            Not(e) => write!(f, "NOT ({e})"),
            And(a, b) => write!(f, "({a} AND {b})"),
            Or(a, b) => write!(f, "({a} OR {b})"),
            Cmp(op, a, b) => write!(f, "{a} {} {b}", op.sql()),
            Arith(op, a, b) => write!(f, "({a} {} {b})", op.sql()),
            Neg(e) => write!(f, "-({e})"),
            IsNull { expr, negated } => {
                write!(f, "{expr} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            IsBool {
                expr,
                value,
                negated,
            } => write!(
                f,
                "{expr} IS {}{}",
                if *negated { "NOT " } else { "" },
                if *value { "TRUE" } else { "FALSE" }
            ),
            In {
                expr,
                list: l,
                negated,
            } => write!(
                f,
                "{expr} {}IN ({})",
                if *negated { "NOT " } else { "" },
                list(l)
            ),
            Case {
                branches,
                otherwise,
            } => {
                write!(f, "CASE")?;
                for (c, r) in branches {
                    write!(f, " WHEN {c} THEN {r}")?;
                }
                if let Some(o) = otherwise {
                    write!(f, " ELSE {o}")?;
                }
                write!(f, " END")
            }
            Coalesce(v) => write!(f, "COALESCE({})", list(v)),
            Workdays(a, b) => write!(f, "WORKDAYS({a}, {b})"),
            Days(a, b) => write!(f, "DAYS({a}, {b})"),
            Len(e) => write!(f, "LEN({e})"),
            HasAny(e, v) => write!(f, "HAS_ANY({e}, {})", strs(v)),
            AllIn(e, v) => write!(f, "ALL_IN({e}, {})", strs(v)),
        }
    }
}
