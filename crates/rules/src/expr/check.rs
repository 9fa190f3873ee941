//! Parsing (with sqlparser) and type checking of conditions against the pack's schema.

use super::ast::{ArithOp, CmpOp, Expr, ExprKind, Ty};
use crate::calendar::parse_iso;
use crate::error::{did_you_mean, nearest};
use crate::fields::{FieldSet, FieldType};
use sqlparser::ast as sql;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use std::collections::{BTreeMap, BTreeSet};

/// A problem in one condition; `line` is 1-based within the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub message: String,
    pub line: Option<usize>,
}

/// The names a condition may use.
pub struct Scope<'a> {
    pub fields: &'a FieldSet,
    /// Derived fields defined so far, with their types.
    pub derived: &'a BTreeMap<String, Ty>,
    pub params: &'a BTreeSet<String>,
}

const FUNCTIONS: &[&str] = &["WORKDAYS", "DAYS", "LEN", "HAS_ANY", "ALL_IN", "COALESCE"];

/// The type a field has in conditions.
pub fn field_ty(t: FieldType) -> Ty {
    match t {
        FieldType::Text | FieldType::Enum => Ty::Text,
        FieldType::Date => Ty::Date,
        FieldType::Bool => Ty::Bool,
        FieldType::Money => Ty::Number,
        FieldType::List => Ty::List,
    }
}

/// The most tokens (words, numbers, operators, brackets) one condition may hold. Parsing,
/// checking and evaluating are recursive over the condition's tree; these limits keep
/// a hostile pack (a condition of 5,000 ANDs) from overflowing the stack.
pub const MAX_CONDITION_TOKENS: usize = 2000;
/// The deepest a condition's tree may nest (`a AND b AND c` nests two deep).
pub const MAX_CONDITION_DEPTH: usize = 64;

/// The deepest a condition may nest with the derived fields it uses put in their place
/// (they are compiled inline).
pub const MAX_EXPANDED_DEPTH: usize = 64;

/// How deep an expression nests with each derived field replaced by its definition,
/// whose expanded depth `derived` gives; without recursion.
pub fn expanded_depth(e: &Expr, derived: &BTreeMap<String, usize>) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, d)) = stack.pop() {
        let here = match &e.kind {
            ExprKind::Derived(name) => d - 1 + derived.get(name).copied().unwrap_or(1),
            _ => d,
        };
        deepest = deepest.max(here);
        stack.extend(e.children().into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

/// The issue for a condition whose expansion nests too deep, if it does.
pub fn expanded_depth_issue(e: &Expr, derived: &BTreeMap<String, usize>) -> Option<String> {
    let d = expanded_depth(e, derived);
    (d > MAX_EXPANDED_DEPTH).then(|| {
        format!(
            "条件连同所用派生字段展开后嵌套过深：{d} 层，上限 {MAX_EXPANDED_DEPTH} 层；请减少派生字段的层层引用"
        )
    })
}

/// How deep an expression nests (a leaf is 1), without recursion.
pub fn depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        stack.extend(e.children().into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

/// Parses and checks a condition, returning every problem found in it.
pub fn parse_condition(text: &str, scope: &Scope, want: Ty) -> Result<Expr, Vec<CheckError>> {
    let dialect = GenericDialect {};
    // The size first, from the tokens alone: the parser and the checker recurse.
    if let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&dialect, text).tokenize() {
        let n = tokens
            .iter()
            .filter(|t| !matches!(t, sqlparser::tokenizer::Token::Whitespace(_)))
            .count();
        if n > MAX_CONDITION_TOKENS {
            return Err(vec![CheckError {
                message: format!(
                    "条件过长：共 {n} 个词（字段、运算符、括号等），上限 {MAX_CONDITION_TOKENS} 个；请拆分为多条规则或使用派生字段"
                ),
                line: None,
            }]);
        }
    }
    let parsed = Parser::new(&dialect).try_with_sql(text).and_then(|mut p| {
        let e = p.parse_expr()?;
        // Anything left over is a syntax error too.
        let next = p.peek_token();
        if next.token != sqlparser::tokenizer::Token::EOF {
            return Err(sqlparser::parser::ParserError::ParserError(format!(
                "unexpected `{}` after the end of the condition at Line: {}, Column: {}",
                next.token, next.span.start.line, next.span.start.column
            )));
        }
        Ok(e)
    });
    let ast = match parsed {
        Ok(a) => a,
        Err(e) => {
            let msg = e.to_string();
            let line = msg
                .split("Line: ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .and_then(|n| n.trim().parse().ok());
            return Err(vec![CheckError {
                message: format!(
                    "syntax error: {}",
                    msg.trim_start_matches("sql parser error: ")
                ),
                line,
            }]);
        }
    };
    let mut c = Checker {
        scope,
        errors: Vec::new(),
    };
    let e = c.expr(&ast);
    if !e.ty.fits(want) {
        c.err(
            None,
            format!(
                "the condition is {}, it must be {}",
                e.ty.name(),
                want.name()
            ),
        );
    }
    let d = depth(&e);
    if d > MAX_CONDITION_DEPTH {
        c.err(
            None,
            format!(
                "条件嵌套过深：{d} 层，上限 {MAX_CONDITION_DEPTH} 层（每个 AND、OR、比较、运算和函数各算一层）；请拆分为多条规则或使用派生字段"
            ),
        );
    }
    if c.errors.is_empty() {
        Ok(e)
    } else {
        Err(c.errors)
    }
}

struct Checker<'a, 'b> {
    scope: &'a Scope<'b>,
    errors: Vec<CheckError>,
}

fn null() -> Expr {
    Expr::new(ExprKind::Null, Ty::Null)
}

fn span_line(e: &sql::Expr) -> Option<usize> {
    use sqlparser::ast::Spanned;
    let s = e.span();
    (s.start.line > 0).then_some(s.start.line as usize)
}

impl Checker<'_, '_> {
    fn err(&mut self, line: Option<usize>, message: String) {
        self.errors.push(CheckError { message, line });
    }

    fn expect(&mut self, e: &Expr, want: Ty, at: &sql::Expr, what: &str) {
        if !e.ty.fits(want) {
            self.err(
                span_line(at),
                format!(
                    "{what} must be {}, but `{e}` is {}",
                    want.name(),
                    e.ty.name()
                ),
            );
        }
    }

    fn ident(&mut self, id: &sql::Ident, at: &sql::Expr) -> Expr {
        let name = id.value.as_str();
        if name.eq_ignore_ascii_case("as_of") {
            return Expr::new(ExprKind::AsOf, Ty::Date);
        }
        if let Some(f) = self.scope.fields.get(name) {
            return Expr::new(ExprKind::Field(name.into()), field_ty(f.ty));
        }
        if let Some(t) = self.scope.derived.get(name) {
            return Expr::new(ExprKind::Derived(name.into()), *t);
        }
        let known = self
            .scope
            .fields
            .names()
            .chain(self.scope.derived.keys().map(|s| s.as_str()))
            .chain(["AS_OF"]);
        let hint = did_you_mean(nearest(name, known));
        self.err(span_line(at), format!("unknown field `{name}`{hint}"));
        null()
    }

    fn param(&mut self, name: &str, at: &sql::Expr) -> Expr {
        if self.scope.params.contains(name) {
            return Expr::new(ExprKind::Param(name.into()), Ty::Number);
        }
        let hint = did_you_mean(nearest(name, self.scope.params.iter().map(|s| s.as_str())));
        self.err(
            span_line(at),
            format!("unknown parameter `params.{name}`{hint}"),
        );
        null()
    }

    /// Checks that a text literal compared with an enum field is in its vocabulary.
    fn check_vocab(&mut self, field: &Expr, value: &Expr, at: &sql::Expr) {
        let (ExprKind::Field(f), ExprKind::Text(v)) = (&field.kind, &value.kind) else {
            return;
        };
        let Some(def) = self.scope.fields.get(f) else {
            return;
        };
        if def.ty == FieldType::Enum && !def.vocabulary.contains(v) {
            let hint = did_you_mean(nearest(v, def.vocabulary.iter().map(|s| s.as_str())));
            self.err(
                span_line(at),
                format!("`{v}` is not a value of `{f}`{hint}"),
            );
        }
    }

    fn cmp(&mut self, op: CmpOp, a: Expr, b: Expr, at: &sql::Expr) -> Expr {
        if !a.ty.fits(b.ty) {
            let hint = if (a.ty == Ty::Date && b.ty == Ty::Text)
                || (a.ty == Ty::Text && b.ty == Ty::Date)
            {
                "; write a date as DATE 'YYYY-MM-DD'"
            } else {
                ""
            };
            self.err(
                span_line(at),
                format!(
                    "cannot compare {} `{a}` with {} `{b}`{hint}",
                    a.ty.name(),
                    b.ty.name()
                ),
            );
        } else if a.ty == Ty::List {
            self.err(
                span_line(at),
                format!("cannot compare lists (`{a}`); use HAS_ANY, ALL_IN or LEN"),
            );
        }
        self.check_vocab(&a, &b, at);
        self.check_vocab(&b, &a, at);
        Expr::new(ExprKind::Cmp(op, Box::new(a), Box::new(b)), Ty::Bool)
    }

    fn expr(&mut self, e: &sql::Expr) -> Expr {
        use sql::Expr as S;
        match e {
            S::Nested(inner) => self.expr(inner),
            S::Identifier(id) => self.ident(id, e),
            S::CompoundIdentifier(parts) => {
                if parts.len() == 2 && parts[0].value == "params" {
                    self.param(&parts[1].value, e)
                } else {
                    let name: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                    self.err(
                        span_line(e),
                        format!(
                            "unknown name `{}`; parameters are written `params.NAME`",
                            name.join(".")
                        ),
                    );
                    null()
                }
            }
            S::Value(v) => self.value(&v.value, e),
            S::TypedString(ts) => {
                let text = match &ts.value.value {
                    sql::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                if !matches!(ts.data_type, sql::DataType::Date) {
                    self.err(
                        span_line(e),
                        format!("only DATE literals are supported, not `{}`", ts.data_type),
                    );
                    return null();
                }
                match parse_iso(&text) {
                    Some(d) => Expr::new(ExprKind::Date(d), Ty::Date),
                    None => {
                        self.err(
                            span_line(e),
                            format!("`{text}` is not a date; write DATE 'YYYY-MM-DD'"),
                        );
                        null()
                    }
                }
            }
            S::UnaryOp { op, expr } => {
                let x = self.expr(expr);
                match op {
                    sql::UnaryOperator::Not => {
                        self.expect(&x, Ty::Bool, expr, "the operand of NOT");
                        Expr::new(ExprKind::Not(Box::new(x)), Ty::Bool)
                    }
                    sql::UnaryOperator::Minus => {
                        self.expect(&x, Ty::Number, expr, "the operand of -");
                        if let ExprKind::Number(n) = x.kind {
                            return Expr::new(ExprKind::Number(-n), Ty::Number);
                        }
                        Expr::new(ExprKind::Neg(Box::new(x)), Ty::Number)
                    }
                    sql::UnaryOperator::Plus => x,
                    other => {
                        self.err(span_line(e), format!("unsupported operator `{other}`"));
                        null()
                    }
                }
            }
            S::BinaryOp { left, op, right } => self.binary(e, left, op, right),
            S::IsNull(x) | S::IsNotNull(x) => {
                let inner = self.expr(x);
                Expr::new(
                    ExprKind::IsNull {
                        expr: Box::new(inner),
                        negated: matches!(e, S::IsNotNull(_)),
                    },
                    Ty::Bool,
                )
            }
            S::IsTrue(x) | S::IsNotTrue(x) | S::IsFalse(x) | S::IsNotFalse(x) => {
                let inner = self.expr(x);
                self.expect(&inner, Ty::Bool, x, "the operand of IS TRUE/FALSE");
                Expr::new(
                    ExprKind::IsBool {
                        expr: Box::new(inner),
                        value: matches!(e, S::IsTrue(_) | S::IsNotTrue(_)),
                        negated: matches!(e, S::IsNotTrue(_) | S::IsNotFalse(_)),
                    },
                    Ty::Bool,
                )
            }
            S::In {
                expr,
                target,
                negated,
                ..
            } => {
                let x = self.expr(expr);
                let sql::InTarget::List(items) = target else {
                    self.err(
                        span_line(e),
                        "IN takes a list of values in parentheses".into(),
                    );
                    return null();
                };
                let mut list = Vec::new();
                for it in items {
                    let v = self.expr(it);
                    if !v.ty.fits(x.ty) {
                        self.err(
                            span_line(it),
                            format!(
                                "`{v}` ({}) cannot be in a list compared with {} `{x}`",
                                v.ty.name(),
                                x.ty.name()
                            ),
                        );
                    }
                    self.check_vocab(&x, &v, it);
                    list.push(v);
                }
                if x.ty == Ty::List {
                    self.err(
                        span_line(e),
                        format!("`{x}` is a list; use HAS_ANY or ALL_IN instead of IN"),
                    );
                }
                Expr::new(
                    ExprKind::In {
                        expr: Box::new(x),
                        list,
                        negated: *negated,
                    },
                    Ty::Bool,
                )
            }
            S::Between { .. } => {
                self.err(
                    span_line(e),
                    "BETWEEN is not supported; write `a >= x AND a <= y`".into(),
                );
                null()
            }
            S::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(e, operand.as_deref(), conditions, else_result.as_deref()),
            S::Function(f) => self.function(e, f),
            other => {
                self.err(span_line(e), format!("unsupported expression `{other}`"));
                null()
            }
        }
    }

    fn value(&mut self, v: &sql::Value, at: &sql::Expr) -> Expr {
        match v {
            sql::Value::Number(n, _) => match n.parse::<f64>() {
                Ok(x) => Expr::new(ExprKind::Number(x), Ty::Number),
                Err(_) => {
                    self.err(span_line(at), format!("`{n}` is not a number"));
                    null()
                }
            },
            sql::Value::SingleQuotedString(s) => Expr::new(ExprKind::Text(s.clone()), Ty::Text),
            sql::Value::Boolean(b) => Expr::new(ExprKind::Bool(*b), Ty::Bool),
            sql::Value::Null => null(),
            sql::Value::DoubleQuotedString(s) => {
                self.err(
                    span_line(at),
                    format!("text is written in single quotes: '{s}'"),
                );
                null()
            }
            other => {
                self.err(span_line(at), format!("unsupported literal `{other}`"));
                null()
            }
        }
    }

    fn binary(
        &mut self,
        e: &sql::Expr,
        l: &sql::Expr,
        op: &sql::BinaryOperator,
        r: &sql::Expr,
    ) -> Expr {
        use sql::BinaryOperator as B;
        let a = self.expr(l);
        let b = self.expr(r);
        let cmp = match op {
            B::Eq => Some(CmpOp::Eq),
            B::NotEq => Some(CmpOp::NotEq),
            B::Lt => Some(CmpOp::Lt),
            B::LtEq => Some(CmpOp::LtEq),
            B::Gt => Some(CmpOp::Gt),
            B::GtEq => Some(CmpOp::GtEq),
            _ => None,
        };
        if let Some(op) = cmp {
            return self.cmp(op, a, b, e);
        }
        match op {
            B::And | B::Or => {
                self.expect(&a, Ty::Bool, l, &format!("the left side of {op}"));
                self.expect(&b, Ty::Bool, r, &format!("the right side of {op}"));
                let kind = if matches!(op, B::And) {
                    ExprKind::And(Box::new(a), Box::new(b))
                } else {
                    ExprKind::Or(Box::new(a), Box::new(b))
                };
                Expr::new(kind, Ty::Bool)
            }
            B::Plus | B::Minus | B::Multiply | B::Divide => {
                let aop = match op {
                    B::Plus => ArithOp::Add,
                    B::Minus => ArithOp::Sub,
                    B::Multiply => ArithOp::Mul,
                    _ => ArithOp::Div,
                };
                // A date plus or minus a number of days is a date; days between dates
                // are written DAYS(a, b) so their meaning is explicit.
                let ty = match (a.ty, b.ty, aop) {
                    (Ty::Date, t, ArithOp::Add | ArithOp::Sub) if t.fits(Ty::Number) => Ty::Date,
                    (t, Ty::Date, ArithOp::Add) if t.fits(Ty::Number) => Ty::Date,
                    (x, y, _) if x.fits(Ty::Number) && y.fits(Ty::Number) => Ty::Number,
                    (Ty::Date, Ty::Date, ArithOp::Sub) => {
                        self.err(span_line(e), format!("`{a} - {b}`: write DAYS({b}, {a}) or WORKDAYS({b}, {a}) for the days between two dates"));
                        Ty::Null
                    }
                    _ => {
                        self.err(
                            span_line(e),
                            format!(
                                "arithmetic needs numbers, but `{a}` is {} and `{b}` is {}",
                                a.ty.name(),
                                b.ty.name()
                            ),
                        );
                        Ty::Null
                    }
                };
                Expr::new(ExprKind::Arith(aop, Box::new(a), Box::new(b)), ty)
            }
            other => {
                self.err(span_line(e), format!("unsupported operator `{other}`"));
                null()
            }
        }
    }

    fn case(
        &mut self,
        e: &sql::Expr,
        operand: Option<&sql::Expr>,
        conditions: &[sql::CaseWhen],
        otherwise: Option<&sql::Expr>,
    ) -> Expr {
        let operand = operand.map(|o| self.expr(o));
        let mut branches = Vec::new();
        let mut ty = Ty::Null;
        for w in conditions {
            let mut c = self.expr(&w.condition);
            if let Some(o) = &operand {
                c = self.cmp(CmpOp::Eq, o.clone(), c, &w.condition);
            } else {
                self.expect(&c, Ty::Bool, &w.condition, "a WHEN condition");
            }
            let r = self.expr(&w.result);
            if !r.ty.fits(ty) {
                self.err(
                    span_line(&w.result),
                    format!(
                        "CASE results must have one type; `{r}` is {}, not {}",
                        r.ty.name(),
                        ty.name()
                    ),
                );
            }
            ty = ty.unify(r.ty);
            branches.push((c, r));
        }
        let otherwise = otherwise.map(|o| {
            let r = self.expr(o);
            if !r.ty.fits(ty) {
                self.err(
                    span_line(o),
                    format!(
                        "CASE results must have one type; `{r}` is {}, not {}",
                        r.ty.name(),
                        ty.name()
                    ),
                );
            }
            ty = ty.unify(r.ty);
            Box::new(r)
        });
        if branches.is_empty() {
            self.err(span_line(e), "CASE needs at least one WHEN".into());
        }
        Expr::new(
            ExprKind::Case {
                branches,
                otherwise,
            },
            ty,
        )
    }

    fn function(&mut self, e: &sql::Expr, f: &sql::Function) -> Expr {
        let name = f.name.to_string().to_uppercase();
        let raw_args: Vec<&sql::Expr> = match &f.args {
            sql::FunctionArguments::List(l) => l
                .args
                .iter()
                .filter_map(|a| match a {
                    sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(x)) => Some(x),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if let sql::FunctionArguments::List(l) = &f.args {
            if raw_args.len() != l.args.len() {
                self.err(
                    span_line(e),
                    format!("{name}: arguments must be plain expressions"),
                );
                return null();
            }
        }
        let arity = |c: &mut Self, n: usize| -> bool {
            if raw_args.len() != n {
                c.err(
                    span_line(e),
                    format!("{name} takes {n} argument(s), not {}", raw_args.len()),
                );
                false
            } else {
                true
            }
        };
        match name.as_str() {
            "WORKDAYS" | "DAYS" => {
                if !arity(self, 2) {
                    return null();
                }
                let a = self.expr(raw_args[0]);
                let b = self.expr(raw_args[1]);
                for (x, at) in [(&a, raw_args[0]), (&b, raw_args[1])] {
                    self.expect(x, Ty::Date, at, &format!("an argument of {name}"));
                    if name == "WORKDAYS"
                        && !matches!(
                            x.kind,
                            ExprKind::Field(_)
                                | ExprKind::AsOf
                                | ExprKind::Date(_)
                                | ExprKind::Null
                        )
                    {
                        self.err(
                            span_line(at),
                            format!(
                                "WORKDAYS takes date fields, AS_OF or DATE literals, not `{x}`"
                            ),
                        );
                    }
                }
                let kind = if name == "WORKDAYS" {
                    ExprKind::Workdays(Box::new(a), Box::new(b))
                } else {
                    ExprKind::Days(Box::new(a), Box::new(b))
                };
                Expr::new(kind, Ty::Number)
            }
            "LEN" => {
                if !arity(self, 1) {
                    return null();
                }
                let a = self.expr(raw_args[0]);
                self.expect(&a, Ty::List, raw_args[0], "the argument of LEN");
                Expr::new(ExprKind::Len(Box::new(a)), Ty::Number)
            }
            "HAS_ANY" | "ALL_IN" => {
                if raw_args.len() < 2 {
                    self.err(
                        span_line(e),
                        format!("{name} takes a list and at least one value"),
                    );
                    return null();
                }
                let list = self.expr(raw_args[0]);
                self.expect(
                    &list,
                    Ty::List,
                    raw_args[0],
                    &format!("the first argument of {name}"),
                );
                let vocab: Option<Vec<String>> = match &list.kind {
                    ExprKind::Field(f) => self
                        .scope
                        .fields
                        .get(f)
                        .filter(|d| d.has_vocabulary())
                        .map(|d| d.vocabulary.clone()),
                    _ => None,
                };
                let mut values = Vec::new();
                for a in &raw_args[1..] {
                    let v = self.expr(a);
                    match v.kind {
                        ExprKind::Text(s) => {
                            if let Some(voc) = &vocab {
                                if !voc.contains(&s) {
                                    let hint =
                                        did_you_mean(nearest(&s, voc.iter().map(|x| x.as_str())));
                                    self.err(
                                        span_line(a),
                                        format!("`{s}` is not a value of `{list}`{hint}"),
                                    );
                                }
                            }
                            values.push(s);
                        }
                        _ => self.err(
                            span_line(a),
                            format!("{name} takes text values in quotes, not `{v}`"),
                        ),
                    }
                }
                let kind = if name == "HAS_ANY" {
                    ExprKind::HasAny(Box::new(list), values)
                } else {
                    ExprKind::AllIn(Box::new(list), values)
                };
                Expr::new(kind, Ty::Bool)
            }
            "COALESCE" => {
                if raw_args.is_empty() {
                    self.err(span_line(e), "COALESCE needs at least one argument".into());
                    return null();
                }
                let mut ty = Ty::Null;
                let mut args = Vec::new();
                for a in raw_args {
                    let x = self.expr(a);
                    if !x.ty.fits(ty) {
                        self.err(
                            span_line(a),
                            format!(
                                "COALESCE arguments must have one type; `{x}` is {}, not {}",
                                x.ty.name(),
                                ty.name()
                            ),
                        );
                    }
                    ty = ty.unify(x.ty);
                    args.push(x);
                }
                Expr::new(ExprKind::Coalesce(args), ty)
            }
            _ => {
                let hint = did_you_mean(nearest(&name, FUNCTIONS.iter().copied()));
                self.err(span_line(e), format!("unknown function `{name}`{hint}"));
                null()
            }
        }
    }
}
