//! Parsing (with sqlparser) and type checking of conditions against the pack's schema.

use super::ast::{ArithOp, CmpOp, Expr, ExprKind, Span, Ty};
use crate::calendar::parse_iso;
use crate::error::nearest;
use crate::fields::{FieldSet, FieldType};
use sqlparser::ast as sql;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::{BTreeMap, BTreeSet};

pub use super::error::CheckError;

/// The names a condition may use.
pub struct Scope<'a> {
    /// The canonical fields.
    pub fields: &'a FieldSet,
    /// Derived fields defined so far, with their types.
    pub derived: &'a BTreeMap<String, Ty>,
    /// The parameters' names.
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

/// Parses a condition's text into sqlparser's tree, or the syntax error with its place.
fn parse_sql(text: &str) -> Result<sql::Expr, CheckError> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| CheckError::Syntax {
            found: String::new(),
            detail: e.message,
            span: Span::from(sqlparser::tokenizer::Span::new(e.location, e.location)),
        })?;
    // The size first, from the tokens alone: the parser and the checker recurse.
    let n = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .count();
    if n > MAX_CONDITION_TOKENS {
        return Err(CheckError::TooLong {
            tokens: n,
            max: MAX_CONDITION_TOKENS,
        });
    }
    let mut p = Parser::new(&dialect).with_tokens_with_locations(tokens);
    match p.parse_expr() {
        Ok(e) => {
            // Anything left over is a syntax error too.
            let next = p.peek_token();
            if next.token == Token::EOF {
                Ok(e)
            } else {
                Err(CheckError::Syntax {
                    found: next.token.to_string(),
                    detail: "unexpected text after the end of the condition".into(),
                    span: next.span.into(),
                })
            }
        }
        Err(e) => Err(syntax_error(&p, e)),
    }
}

/// A parser error with the token it stopped at. The parser reports the place only inside
/// its message (` at Line: L, Column: C`, written by `Location`'s Display); rather than read
/// numbers back from text, the tokens where it may have stopped (the one just read, the
/// next) are matched against that ending, and the matching token gives the place.
fn syntax_error(p: &Parser, e: ParserError) -> CheckError {
    let msg = match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
        ParserError::RecursionLimitExceeded => "nested too deep".to_string(),
    };
    let candidates = [p.get_current_token(), p.get_next_token()];
    let (token, detail) = candidates
        .iter()
        .find_map(|t| {
            let suffix = t.span.start.to_string();
            (!suffix.is_empty() && msg.ends_with(&suffix))
                .then(|| (*t, msg[..msg.len() - suffix.len()].to_string()))
        })
        .unwrap_or((p.get_current_token(), msg));
    let found = match token.token {
        Token::EOF => String::new(),
        ref t => t.to_string(),
    };
    CheckError::Syntax {
        found,
        detail: detail.trim_start_matches("sql parser error: ").to_string(),
        span: token.span.into(),
    }
}

/// Parses and checks a condition, returning every problem found in it.
pub fn parse_condition(text: &str, scope: &Scope, want: Ty) -> Result<Expr, Vec<CheckError>> {
    let ast = parse_sql(text).map_err(|e| vec![e])?;
    let mut c = Checker {
        scope,
        errors: Vec::new(),
    };
    let e = c.expr(&ast);
    if !e.ty.fits(want) {
        c.errors.push(CheckError::ResultType { found: e.ty, want });
    }
    let d = depth(&e);
    if d > MAX_CONDITION_DEPTH {
        c.errors.push(CheckError::TooDeep {
            depth: d,
            max: MAX_CONDITION_DEPTH,
        });
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

/// Where sqlparser says a node was written.
fn sp(e: &sql::Expr) -> Span {
    use sqlparser::ast::Spanned;
    e.span().into()
}

/// `Some(name)` of the known name closest to `name`.
fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    nearest(name, known)
}

impl Checker<'_, '_> {
    fn err(&mut self, e: CheckError) {
        self.errors.push(e);
    }

    fn unsupported(&mut self, what: String, hint: &'static str, at: &sql::Expr) -> Expr {
        self.err(CheckError::Unsupported {
            what,
            hint,
            span: sp(at),
        });
        null()
    }

    fn expect(&mut self, e: &Expr, want: Ty, at: &sql::Expr, role: &str) {
        if !e.ty.fits(want) {
            self.err(CheckError::WrongType {
                role: role.to_string(),
                expr: e.to_string(),
                found: e.ty,
                want,
                span: sp(at),
            });
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
        self.err(CheckError::UnknownField {
            name: name.to_string(),
            suggestion: suggest(name, known),
            span: sp(at),
        });
        null()
    }

    fn param(&mut self, name: &str, at: &sql::Expr) -> Expr {
        if self.scope.params.contains(name) {
            return Expr::new(ExprKind::Param(name.into()), Ty::Number);
        }
        self.err(CheckError::UnknownParam {
            name: name.to_string(),
            suggestion: suggest(name, self.scope.params.iter().map(|s| s.as_str())),
            span: sp(at),
        });
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
            self.err(CheckError::NotInVocabulary {
                value: v.clone(),
                field: f.clone(),
                suggestion: suggest(v, def.vocabulary.iter().map(|s| s.as_str())),
                span: sp(at),
            });
        }
    }

    fn cmp(&mut self, op: CmpOp, a: Expr, b: Expr, at: &sql::Expr) -> Expr {
        if !a.ty.fits(b.ty) {
            self.err(CheckError::Incomparable {
                left: a.to_string(),
                left_ty: a.ty,
                right: b.to_string(),
                right_ty: b.ty,
                span: sp(at),
            });
        } else if a.ty == Ty::List {
            self.err(CheckError::ListCompared {
                expr: a.to_string(),
                span: sp(at),
            });
        }
        self.check_vocab(&a, &b, at);
        self.check_vocab(&b, &a, at);
        Expr::new(ExprKind::Cmp(op, Box::new(a), Box::new(b)), Ty::Bool)
    }

    /// The typed expression of `e`, placed where `e` was written.
    fn expr(&mut self, e: &sql::Expr) -> Expr {
        self.expr_kind(e).at(sp(e))
    }

    fn expr_kind(&mut self, e: &sql::Expr) -> Expr {
        use sql::Expr as S;
        match e {
            S::Nested(inner) => self.expr(inner),
            S::Identifier(id) => self.ident(id, e),
            S::CompoundIdentifier(parts) => {
                if parts.len() == 2 && parts[0].value == "params" {
                    self.param(&parts[1].value, e)
                } else {
                    let name: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                    self.err(CheckError::UnknownName {
                        name: name.join("."),
                        span: sp(e),
                    });
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
                    return self.unsupported(
                        format!("`{}` 字面量", ts.data_type),
                        "；只支持 DATE 'YYYY-MM-DD'",
                        e,
                    );
                }
                match parse_iso(&text) {
                    Some(d) => Expr::new(ExprKind::Date(d), Ty::Date),
                    None => {
                        self.err(CheckError::BadDate { text, span: sp(e) });
                        null()
                    }
                }
            }
            S::UnaryOp { op, expr } => {
                let x = self.expr(expr);
                match op {
                    sql::UnaryOperator::Not => {
                        self.expect(&x, Ty::Bool, expr, "NOT 的操作数");
                        Expr::new(ExprKind::Not(Box::new(x)), Ty::Bool)
                    }
                    sql::UnaryOperator::Minus => {
                        self.expect(&x, Ty::Number, expr, "负号 - 的操作数");
                        if let ExprKind::Number(n) = x.kind {
                            return Expr::new(ExprKind::Number(-n), Ty::Number);
                        }
                        Expr::new(ExprKind::Neg(Box::new(x)), Ty::Number)
                    }
                    sql::UnaryOperator::Plus => x,
                    other => self.unsupported(format!("运算符 `{other}`"), "", e),
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
                self.expect(&inner, Ty::Bool, x, "IS TRUE/FALSE 的操作数");
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
                    return self.unsupported("此种 IN 写法".into(), "；IN 后接括号内的取值列表", e);
                };
                let mut list = Vec::new();
                for it in items {
                    let v = self.expr(it);
                    if !v.ty.fits(x.ty) {
                        self.err(CheckError::InListType {
                            item: v.to_string(),
                            item_ty: v.ty,
                            expr: x.to_string(),
                            expr_ty: x.ty,
                            span: sp(it),
                        });
                    }
                    self.check_vocab(&x, &v, it);
                    list.push(v);
                }
                if x.ty == Ty::List {
                    self.err(CheckError::ListIn {
                        expr: x.to_string(),
                        span: sp(e),
                    });
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
                self.unsupported("BETWEEN".into(), "；请写 `a >= x AND a <= y`", e)
            }
            S::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(e, operand.as_deref(), conditions, else_result.as_deref()),
            S::Function(f) => self.function(e, f),
            other => self.unsupported(format!("表达式 `{other}`"), "", e),
        }
    }

    fn value(&mut self, v: &sql::Value, at: &sql::Expr) -> Expr {
        match v {
            sql::Value::Number(n, _) => match n.parse::<f64>() {
                Ok(x) => Expr::new(ExprKind::Number(x), Ty::Number),
                Err(_) => {
                    self.err(CheckError::BadNumber {
                        text: n.clone(),
                        span: sp(at),
                    });
                    null()
                }
            },
            sql::Value::SingleQuotedString(s) => Expr::new(ExprKind::Text(s.clone()), Ty::Text),
            sql::Value::Boolean(b) => Expr::new(ExprKind::Bool(*b), Ty::Bool),
            sql::Value::Null => null(),
            sql::Value::DoubleQuotedString(s) => {
                self.err(CheckError::DoubleQuoted {
                    text: s.clone(),
                    span: sp(at),
                });
                null()
            }
            other => self.unsupported(format!("字面量 `{other}`"), "", at),
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
                self.expect(&a, Ty::Bool, l, &format!("{op} 的左边"));
                self.expect(&b, Ty::Bool, r, &format!("{op} 的右边"));
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
                        self.err(CheckError::DateDifference {
                            left: a.to_string(),
                            right: b.to_string(),
                            span: sp(e),
                        });
                        Ty::Null
                    }
                    _ => {
                        self.err(CheckError::Arithmetic {
                            left: a.to_string(),
                            left_ty: a.ty,
                            right: b.to_string(),
                            right_ty: b.ty,
                            span: sp(e),
                        });
                        Ty::Null
                    }
                };
                Expr::new(ExprKind::Arith(aop, Box::new(a), Box::new(b)), ty)
            }
            other => self.unsupported(format!("运算符 `{other}`"), "", e),
        }
    }

    /// A CASE result or COALESCE argument of the running type `ty`, or an error.
    fn same_type(&mut self, construct: &'static str, x: &Expr, ty: Ty, at: &sql::Expr) {
        if !x.ty.fits(ty) {
            self.err(CheckError::MixedTypes {
                construct,
                expr: x.to_string(),
                found: x.ty,
                want: ty,
                span: sp(at),
            });
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
                c = self
                    .cmp(CmpOp::Eq, o.clone(), c, &w.condition)
                    .at(sp(&w.condition));
            } else {
                self.expect(&c, Ty::Bool, &w.condition, "WHEN 条件");
            }
            let r = self.expr(&w.result);
            self.same_type("CASE", &r, ty, &w.result);
            ty = ty.unify(r.ty);
            branches.push((c, r));
        }
        let otherwise = otherwise.map(|o| {
            let r = self.expr(o);
            self.same_type("CASE", &r, ty, o);
            ty = ty.unify(r.ty);
            Box::new(r)
        });
        if branches.is_empty() {
            self.err(CheckError::TooFewArguments {
                function: "CASE".into(),
                need: "一个 WHEN",
                span: sp(e),
            });
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
                return self.unsupported(
                    format!("{name} 的此种参数写法"),
                    "；参数须为普通表达式",
                    e,
                );
            }
        }
        let arity = |c: &mut Self, n: usize| -> bool {
            if raw_args.len() != n {
                c.err(CheckError::Arity {
                    function: name.clone(),
                    want: n,
                    got: raw_args.len(),
                    span: sp(e),
                });
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
                    self.expect(x, Ty::Date, at, &format!("{name} 的参数"));
                    if name == "WORKDAYS"
                        && !matches!(
                            x.kind,
                            ExprKind::Field(_)
                                | ExprKind::AsOf
                                | ExprKind::Date(_)
                                | ExprKind::Null
                        )
                    {
                        self.err(CheckError::WorkdaysArgument {
                            expr: x.to_string(),
                            span: sp(at),
                        });
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
                self.expect(&a, Ty::List, raw_args[0], "LEN 的参数");
                Expr::new(ExprKind::Len(Box::new(a)), Ty::Number)
            }
            "HAS_ANY" | "ALL_IN" => {
                if raw_args.len() < 2 {
                    self.err(CheckError::TooFewArguments {
                        function: name.clone(),
                        need: "一个列表和一个取值",
                        span: sp(e),
                    });
                    return null();
                }
                let list = self.expr(raw_args[0]);
                self.expect(
                    &list,
                    Ty::List,
                    raw_args[0],
                    &format!("{name} 的第一个参数"),
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
                                    self.err(CheckError::NotInVocabulary {
                                        value: s.clone(),
                                        field: list.to_string(),
                                        suggestion: suggest(&s, voc.iter().map(|x| x.as_str())),
                                        span: sp(a),
                                    });
                                }
                            }
                            values.push(s);
                        }
                        _ => self.err(CheckError::ListValue {
                            function: name.clone(),
                            expr: v.to_string(),
                            span: sp(a),
                        }),
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
                    self.err(CheckError::TooFewArguments {
                        function: name.clone(),
                        need: "一个参数",
                        span: sp(e),
                    });
                    return null();
                }
                let mut ty = Ty::Null;
                let mut args = Vec::new();
                for a in raw_args {
                    let x = self.expr(a);
                    self.same_type("COALESCE", &x, ty, a);
                    ty = ty.unify(x.ty);
                    args.push(x);
                }
                Expr::new(ExprKind::Coalesce(args), ty)
            }
            _ => {
                self.err(CheckError::UnknownFunction {
                    suggestion: suggest(&name, FUNCTIONS.iter().copied()),
                    name,
                    span: sp(e),
                });
                null()
            }
        }
    }
}
