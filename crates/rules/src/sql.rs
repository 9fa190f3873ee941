//! The pack as one SQL query, for engines that run on many machines (DuckDB, Spark
//! SQL). The query reads a table `cases` of canonical cases (dates as DATE, booleans
//! as BOOLEAN, money as DOUBLE, text, lists joined with
//! [`LIST_SEPARATOR`](crate::spelling::LIST_SEPARATOR)) and a table `calendar`
//! (`day` DATE, `ordinal` INTEGER: working days from the calendar's start to the day)
//! and returns one row per finding: `case_id`, `agency`, `rule_id`. It covers every
//! rule but DQ-003, which concerns cells before they have a type.
//!
//! PUB-008 and PUB-009 (and the rules with `published_without_date`) also read a table
//! `published` of publication records (decisions.md): `case_key` (the case number's key,
//! as cases.parquet has it), `decision_date` DATE, `fine_amount` DOUBLE (yuan),
//! `party_name` (NFKC-folded, whitespace removed: `caseaudit audit --format cases`
//! writes it so in published.parquet), `kind` (行政处罚 or 行政许可) and `covered_until`
//! DATE. Without records it is an empty table of those columns. The ledger's party name
//! is compared by `cases.party_key`, folded the same way (SQL engines have no NFKC:
//! cases.parquet carries it).

use crate::calendar::{format_day, Calendar, Day};
use crate::expr::{ArithOp, Expr, ExprKind, Ty};
use crate::fields::FieldType;
use crate::params::ParamValues;
use crate::publication::MONEY_TOLERANCE;
use crate::rule::{Builtin, RuleKind};
use crate::spelling::{
    date_literal, number, text_literal as quote, workday_column, LIST_SEPARATOR,
};
use crate::RulePack;
use std::fmt::Write;

/// The SQL dialect to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB.
    DuckDb,
    /// Spark SQL.
    Spark,
}

#[derive(Clone, Copy)]
struct Printer<'a> {
    pack: &'a RulePack,
    params: &'a ParamValues,
    calendar: &'a Calendar,
    as_of: Day,
    dialect: Dialect,
    /// Where `AS_OF` is read from a column instead (PUB-008's coverage date): the date
    /// and its work-day ordinal.
    as_of_column: Option<(&'a str, &'a str)>,
}

fn sql_type(t: Ty, d: Dialect) -> &'static str {
    match (t, d) {
        (Ty::Bool, _) | (Ty::Null, _) => "BOOLEAN",
        (Ty::Number, _) => "DOUBLE",
        (Ty::Date, _) => "DATE",
        (Ty::Text, Dialect::DuckDb) | (Ty::List, Dialect::DuckDb) => "VARCHAR",
        (Ty::Text, Dialect::Spark) | (Ty::List, Dialect::Spark) => "STRING",
    }
}

impl Printer<'_> {
    fn list(&self, e: &Expr) -> Result<String, String> {
        let x = self.expr(e)?;
        Ok(match self.dialect {
            Dialect::DuckDb => format!("string_split({x}, {})", quote(LIST_SEPARATOR)),
            Dialect::Spark => format!("split({x}, {})", quote(LIST_SEPARATOR)),
        })
    }

    fn values(&self, v: &[String]) -> String {
        let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
        match self.dialect {
            Dialect::DuckDb => format!("[{}]", items.join(", ")),
            Dialect::Spark => format!("array({})", items.join(", ")),
        }
    }

    fn ordinal(&self, e: &Expr) -> Result<String, String> {
        let lit = |d: Day| {
            self.calendar
                .ordinal_of(d)
                .map(|o| o.to_string())
                .unwrap_or_else(|| "CAST(NULL AS INTEGER)".into())
        };
        Ok(match &e.kind {
            ExprKind::Field(f) => workday_column(f),
            ExprKind::AsOf => match self.as_of_column {
                Some((_, ordinal)) => ordinal.to_string(),
                None => lit(self.as_of),
            },
            ExprKind::Date(d) => lit(*d),
            ExprKind::Null => "CAST(NULL AS INTEGER)".into(),
            _ => {
                return Err(format!(
                    "WORKDAYS argument `{e}` must be a date field, AS_OF or a date literal"
                ))
            }
        })
    }

    fn expr(&self, e: &Expr) -> Result<String, String> {
        use ExprKind as K;
        let d = self.dialect;
        Ok(match &e.kind {
            K::Null => format!("CAST(NULL AS {})", sql_type(e.ty, d)),
            K::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            K::Number(n) => number(*n),
            K::Text(s) => quote(s),
            K::Date(x) => date_literal(*x),
            K::Field(f) => f.clone(),
            K::Derived(n) => {
                let x = self
                    .pack
                    .derived_exprs
                    .get(n)
                    .ok_or_else(|| format!("未知派生字段 `{n}`"))?;
                format!("({})", self.expr(x)?)
            }
            K::Param(p) => match self.params.get(p) {
                Some(v) => number(v),
                None => "CAST(NULL AS DOUBLE)".into(),
            },
            K::AsOf => match self.as_of_column {
                Some((day, _)) => day.to_string(),
                None => date_literal(self.as_of),
            },
            K::Not(x) => format!("(NOT {})", self.expr(x)?),
            K::And(a, b) => format!("({} AND {})", self.expr(a)?, self.expr(b)?),
            K::Or(a, b) => format!("({} OR {})", self.expr(a)?, self.expr(b)?),
            K::Cmp(op, a, b) => format!("({} {} {})", self.expr(a)?, op.sql(), self.expr(b)?),
            K::Arith(op, a, b) => {
                let (x, y) = (self.expr(a)?, self.expr(b)?);
                match (e.ty, op, d) {
                    (Ty::Date, ArithOp::Add, Dialect::Spark) => {
                        format!("date_add({x}, CAST({y} AS INT))")
                    }
                    (Ty::Date, ArithOp::Sub, Dialect::Spark) => {
                        format!("date_sub({x}, CAST({y} AS INT))")
                    }
                    (Ty::Date, _, Dialect::DuckDb) => {
                        format!("({x} {} CAST({y} AS INTEGER))", op.sql())
                    }
                    (_, ArithOp::Div, _) => {
                        format!("(CAST({x} AS DOUBLE) / NULLIF(CAST({y} AS DOUBLE), 0))")
                    }
                    _ => format!("(CAST({x} AS DOUBLE) {} CAST({y} AS DOUBLE))", op.sql()),
                }
            }
            K::Neg(x) => format!("(-{})", self.expr(x)?),
            K::IsNull { expr, negated } => {
                format!(
                    "({} IS {}NULL)",
                    self.expr(expr)?,
                    if *negated { "NOT " } else { "" }
                )
            }
            K::IsBool {
                expr,
                value,
                negated,
            } => {
                let t = format!(
                    "COALESCE({} = {}, FALSE)",
                    self.expr(expr)?,
                    if *value { "TRUE" } else { "FALSE" }
                );
                if *negated {
                    format!("(NOT {t})")
                } else {
                    t
                }
            }
            K::In {
                expr,
                list,
                negated,
            } => {
                let items = list
                    .iter()
                    .map(|x| self.expr(x))
                    .collect::<Result<Vec<_>, _>>()?;
                format!(
                    "({} {}IN ({}))",
                    self.expr(expr)?,
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            K::Case {
                branches,
                otherwise,
            } => {
                let mut s = String::from("CASE");
                for (c, r) in branches {
                    let _ = write!(
                        s,
                        " WHEN {} THEN CAST({} AS {})",
                        self.expr(c)?,
                        self.expr(r)?,
                        sql_type(e.ty, d)
                    );
                }
                if let Some(o) = otherwise {
                    let _ = write!(s, " ELSE CAST({} AS {})", self.expr(o)?, sql_type(e.ty, d));
                }
                s.push_str(" END");
                s
            }
            K::Coalesce(args) => {
                let items = args
                    .iter()
                    .map(|x| Ok(format!("CAST({} AS {})", self.expr(x)?, sql_type(e.ty, d))))
                    .collect::<Result<Vec<_>, String>>()?;
                format!("COALESCE({})", items.join(", "))
            }
            K::Workdays(a, b) => format!("({} - {})", self.ordinal(b)?, self.ordinal(a)?),
            K::Days(a, b) => {
                let (x, y) = (self.expr(a)?, self.expr(b)?);
                match d {
                    Dialect::DuckDb => format!("date_diff('day', {x}, {y})"),
                    Dialect::Spark => format!("datediff({y}, {x})"),
                }
            }
            K::Len(x) => {
                let raw = self.expr(x)?;
                match d {
                    Dialect::DuckDb => format!("len({})", self.list(x)?),
                    Dialect::Spark => format!(
                        "CASE WHEN {raw} IS NULL THEN NULL ELSE size({}) END",
                        self.list(x)?
                    ),
                }
            }
            K::HasAny(x, v) => match d {
                Dialect::DuckDb => format!(
                    "COALESCE(list_has_any({}, {}), FALSE)",
                    self.list(x)?,
                    self.values(v)
                ),
                Dialect::Spark => format!(
                    "COALESCE(arrays_overlap({}, {}), FALSE)",
                    self.list(x)?,
                    self.values(v)
                ),
            },
            K::AllIn(x, v) => match d {
                Dialect::DuckDb => format!(
                    "COALESCE(list_has_all({}, {}), TRUE)",
                    self.values(v),
                    self.list(x)?
                ),
                // Spark's size(NULL) is -1 (spark.sql.legacy.sizeOfNull), not NULL: a
                // NULL list is caught before it (ALL_IN of an empty list is TRUE).
                Dialect::Spark => format!(
                    "COALESCE(CASE WHEN {} IS NULL THEN NULL ELSE size(array_except({}, {})) = 0 END, TRUE)",
                    self.expr(x)?,
                    self.list(x)?,
                    self.values(v)
                ),
            },
        })
    }
}

/// Date fields used in WORKDAYS anywhere in the pack: they get an ordinal column.
fn workday_fields(pack: &RulePack) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let exprs = pack
        .rules
        .iter()
        .flat_map(|r| r.applies.iter().chain(r.violation.iter()))
        .chain(pack.derived.iter().map(|d| &d.expr));
    for e in exprs {
        e.workday_fields(&mut out);
    }
    out
}

/// The whole pack as one query over `cases` and `calendar`.
pub fn pack_query(
    pack: &RulePack,
    params: &ParamValues,
    calendar: &Calendar,
    as_of: Day,
    dialect: Dialect,
) -> Result<String, String> {
    let p = Printer {
        pack,
        params,
        calendar,
        as_of,
        dialect,
        as_of_column: None,
    };
    let wd = workday_fields(pack);
    let mut q = String::from("WITH c AS (\n  SELECT cases.*");
    for f in &wd {
        let _ = write!(q, ", w_{f}.ordinal AS {}", workday_column(f));
    }
    // Whether publication records hold the case (its key).
    q.push_str(", pub_keys.case_key IS NOT NULL AS __published");
    q.push_str("\n  FROM cases");
    for f in &wd {
        let _ = write!(
            q,
            "\n  LEFT JOIN calendar AS w_{f} ON w_{f}.day = cases.{f}"
        );
    }
    q.push_str("\n  LEFT JOIN (SELECT DISTINCT case_key FROM published WHERE case_key IS NOT NULL) AS pub_keys ON pub_keys.case_key = cases.case_key");
    q.push_str("\n)\n");
    let mut parts = Vec::new();
    for r in pack.rules.iter().filter(|r| r.is_active()) {
        match (r.kind, &r.violation) {
            (RuleKind::Condition, Some(v)) => {
                let applies = match &r.applies {
                    Some(a) => p.expr(a)?,
                    None => "TRUE".into(),
                };
                // Published, date unknown (a record, no ledger date): not this rule's.
                let unknown = if r.published_without_date.is_some() {
                    " AND NOT (publication_date IS NULL AND __published)"
                } else {
                    ""
                };
                parts.push(format!(
                    "SELECT case_id, agency, {} AS rule_id FROM c\nWHERE COALESCE({applies} AND {}, FALSE){unknown}",
                    quote(&r.id),
                    p.expr(v)?
                ));
            }
            (RuleKind::Builtin, _) if r.builtin == Some(Builtin::PublicationMissing) => {
                let scope = Printer {
                    as_of_column: Some(("cov.__covered", "w_cov.ordinal")),
                    ..p
                };
                let applies = match &r.applies {
                    Some(a) => scope.expr(a)?,
                    None => "TRUE".into(),
                };
                parts.push(format!(
                    "SELECT case_id, agency, {} AS rule_id FROM c\nJOIN (SELECT kind AS __kind, LEAST(MAX(covered_until), DATE '{}') AS __covered FROM published WHERE kind IS NOT NULL AND covered_until IS NOT NULL GROUP BY kind) AS cov ON cov.__kind = c.case_type\nLEFT JOIN calendar AS w_cov ON w_cov.day = cov.__covered\nWHERE c.case_id IS NOT NULL AND c.publication_date IS NOT NULL AND NOT c.__published AND COALESCE({applies}, FALSE)",
                    quote(&r.id),
                    format_day(as_of),
                ));
            }
            (RuleKind::Builtin, _) if r.builtin == Some(Builtin::PublicationMismatch) => {
                let agree = format!(
                    "(k.decision_date IS NULL OR p.decision_date IS NULL OR k.decision_date = p.decision_date) AND (k.fine_amount IS NULL OR p.fine_amount IS NULL OR ABS(k.fine_amount - p.fine_amount) < {MONEY_TOLERANCE}) AND (k.party_key IS NULL OR p.party_name IS NULL OR k.party_key = p.party_name)"
                );
                parts.push(format!(
                    "SELECT case_id, agency, {} AS rule_id FROM (\n  SELECT k.case_id, k.agency, MAX(CASE WHEN {agree} THEN 1 ELSE 0 END) AS __agrees\n  FROM (SELECT case_id, agency, case_key, decision_date, fine_amount, party_key, ROW_NUMBER() OVER (PARTITION BY case_key ORDER BY case_key) AS __rid FROM cases WHERE case_id IS NOT NULL AND case_key IS NOT NULL) AS k\n  JOIN published AS p ON p.case_key = k.case_key\n  GROUP BY k.case_id, k.agency, k.case_key, k.__rid\n) AS m WHERE __agrees = 0",
                    quote(&r.id)
                ));
            }
            (RuleKind::Builtin, _) if r.builtin == Some(Builtin::DuplicateCaseNumbers) => {
                parts.push(format!(
                    "SELECT case_id, agency, {} AS rule_id FROM (\n  SELECT case_id, agency, COUNT(*) OVER (PARTITION BY agency, case_key) AS n\n  FROM cases WHERE case_id IS NOT NULL\n) d WHERE n > 1",
                    quote(&r.id)
                ));
            }
            _ => {}
        }
    }
    q.push_str(&parts.join("\nUNION ALL\n"));
    q.push('\n');
    Ok(q)
}

/// The calendar table: one row per day the calendar covers.
pub fn calendar_rows(calendar: &Calendar) -> Vec<(String, i32)> {
    let (start, table) = calendar.ordinal_table();
    table
        .iter()
        .enumerate()
        .filter(|(_, o)| **o >= 0)
        .map(|(i, o)| (format_day(start + i as i32), *o))
        .collect()
}

/// The `cases` table's columns and their SQL types.
pub fn cases_schema(pack: &RulePack, dialect: Dialect) -> Vec<(String, &'static str)> {
    pack.fields
        .iter()
        .map(|f| {
            let ty = match f.ty {
                FieldType::Date => Ty::Date,
                FieldType::Bool => Ty::Bool,
                FieldType::Money => Ty::Number,
                _ => Ty::Text,
            };
            (f.name.clone(), sql_type(ty, dialect))
        })
        .collect()
}
