//! Compiling typed conditions to polars expressions and running every rule over the
//! case table in one lazy query.

use crate::table::{list_items, CaseTable, ListPredicate, ListTest, LEN_PREFIX, OUTSIDE_PREFIX};
use caseaudit_rules::expr::{ArithOp, CmpOp, Expr as RExpr, ExprKind, Ty};
use caseaudit_rules::spelling::workday_column;
use caseaudit_rules::{Calendar, Day, ParamValues, Rule, RuleKind, RulePack};
use polars::prelude::*;
use std::collections::HashMap;

/// What the evaluator needs besides the conditions.
pub struct Compiler<'a> {
    /// The rule pack.
    pub pack: &'a RulePack,
    /// The profile's parameter values.
    pub params: &'a ParamValues,
    /// The profile's work-day calendar.
    pub calendar: &'a Calendar,
    /// The audit date.
    pub as_of: Day,
    /// Cases evaluated together in one frame ([`EVAL_ROWS`] unless changed).
    pub slice: usize,
    predicates: HashMap<String, String>,
}

/// Per rule: the rows where it fired and how many rows it could not decide.
#[derive(Debug, Clone, Default)]
pub struct RuleHits {
    /// Table rows where the rule fired.
    pub fired: Vec<usize>,
    /// Table rows the rule applied to but could not decide.
    pub not_evaluable: Vec<usize>,
}

fn dtype(t: Ty) -> DataType {
    match t {
        Ty::Bool => DataType::Boolean,
        Ty::Number => DataType::Float64,
        Ty::Date => DataType::Date,
        Ty::Text => DataType::String,
        Ty::List => DataType::String,
        Ty::Null => DataType::Boolean,
    }
}

fn null_of(t: Ty) -> Expr {
    lit(Null {}).cast(dtype(t))
}

impl<'a> Compiler<'a> {
    /// A compiler for one run, evaluating [`EVAL_ROWS`] cases at a time.
    pub fn new(
        pack: &'a RulePack,
        params: &'a ParamValues,
        calendar: &'a Calendar,
        as_of: Day,
    ) -> Compiler<'a> {
        Compiler {
            pack,
            params,
            calendar,
            as_of,
            slice: EVAL_ROWS,
            predicates: HashMap::new(),
        }
    }

    /// Finds every HAS_ANY / ALL_IN in the rules and derived fields and returns the
    /// boolean columns the table must carry for them.
    pub fn list_predicates(&mut self, rules: &[&Rule]) -> Vec<ListPredicate> {
        let mut out: Vec<ListPredicate> = Vec::new();
        let visit =
            |e: &RExpr, out: &mut Vec<ListPredicate>, preds: &mut HashMap<String, String>| {
                e.walk(&mut |n| {
                    let (list, values, any) = match &n.kind {
                        ExprKind::HasAny(l, v) => (l, v.clone(), true),
                        ExprKind::AllIn(l, v) => (l, v.clone(), false),
                        _ => return,
                    };
                    let ExprKind::Field(field) = &list.kind else {
                        return;
                    };
                    // One column per distinct predicate, named stably across runs.
                    let key = n.to_string();
                    let next = format!("__pred__{}", preds.len());
                    let col = preds.entry(key).or_insert(next).clone();
                    if out.iter().any(|(c, _, _)| *c == col) {
                        return;
                    }
                    let f: ListTest = if any {
                        Box::new(move |l| {
                            l.is_some_and(|l| list_items(l).any(|i| values.iter().any(|v| v == i)))
                        })
                    } else {
                        Box::new(move |l| {
                            l.is_none_or(|l| list_items(l).all(|i| values.iter().any(|v| v == i)))
                        })
                    };
                    out.push((col, field.clone(), f));
                });
            };
        let derived: Vec<RExpr> = self.pack.derived.iter().map(|d| d.expr.clone()).collect();
        for d in &derived {
            visit(d, &mut out, &mut self.predicates);
        }
        for r in rules {
            for e in r.applies.iter().chain(r.violation.iter()) {
                visit(e, &mut out, &mut self.predicates);
            }
        }
        out
    }

    fn ordinal(&self, e: &RExpr) -> Result<Expr, String> {
        Ok(match &e.kind {
            ExprKind::Field(f) => col(workday_column(f)),
            ExprKind::AsOf => match self.calendar.ordinal_of(self.as_of) {
                Some(o) => lit(o),
                None => null_of(Ty::Number).cast(DataType::Int32),
            },
            ExprKind::Date(d) => match self.calendar.ordinal_of(*d) {
                Some(o) => lit(o),
                None => lit(Null {}).cast(DataType::Int32),
            },
            ExprKind::Null => lit(Null {}).cast(DataType::Int32),
            _ => {
                return Err(format!(
                    "WORKDAYS argument `{e}` must be a date field, AS_OF or a date literal"
                ))
            }
        })
    }

    /// Compiles a typed condition to a polars expression with the same meaning.
    pub fn compile(&self, e: &RExpr) -> Result<Expr, String> {
        use ExprKind as K;
        Ok(match &e.kind {
            K::Null => null_of(e.ty),
            K::Bool(b) => lit(*b),
            K::Number(n) => lit(*n),
            K::Text(s) => lit(s.as_str()),
            K::Date(d) => lit(*d).cast(DataType::Date),
            K::Field(f) => col(f.as_str()),
            K::Derived(d) => {
                let x = self
                    .pack
                    .derived_exprs
                    .get(d)
                    .ok_or_else(|| format!("unknown derived field `{d}`"))?;
                self.compile(x)?
            }
            K::Param(p) => match self.params.get(p) {
                Some(v) => lit(v),
                None => null_of(Ty::Number),
            },
            K::AsOf => lit(self.as_of).cast(DataType::Date),
            K::Not(x) => self.compile(x)?.not(),
            K::And(a, b) => self.compile(a)?.and(self.compile(b)?),
            K::Or(a, b) => self.compile(a)?.or(self.compile(b)?),
            K::Cmp(op, a, b) => {
                let (x, y) = (self.compile(a)?, self.compile(b)?);
                match op {
                    CmpOp::Eq => x.eq(y),
                    CmpOp::NotEq => x.neq(y),
                    CmpOp::Lt => x.lt(y),
                    CmpOp::LtEq => x.lt_eq(y),
                    CmpOp::Gt => x.gt(y),
                    CmpOp::GtEq => x.gt_eq(y),
                }
            }
            K::Arith(op, a, b) => {
                let (x, y) = (self.compile(a)?, self.compile(b)?);
                if e.ty == Ty::Date {
                    let (x, y) = (x.cast(DataType::Int32), y.cast(DataType::Int32));
                    let r = match op {
                        ArithOp::Sub => x - y,
                        _ => x + y,
                    };
                    r.cast(DataType::Date)
                } else {
                    let (x, y) = (x.cast(DataType::Float64), y.cast(DataType::Float64));
                    match op {
                        ArithOp::Add => x + y,
                        ArithOp::Sub => x - y,
                        ArithOp::Mul => x * y,
                        ArithOp::Div => when(y.clone().eq(lit(0.0)))
                            .then(null_of(Ty::Number))
                            .otherwise(x / y),
                    }
                }
            }
            K::Neg(x) => lit(0.0) - self.compile(x)?.cast(DataType::Float64),
            K::IsNull { expr, negated } => {
                let x = self.compile(expr)?;
                if *negated {
                    x.is_not_null()
                } else {
                    x.is_null()
                }
            }
            K::IsBool {
                expr,
                value,
                negated,
            } => {
                let t = self.compile(expr)?.eq(lit(*value)).fill_null(lit(false));
                if *negated {
                    t.not()
                } else {
                    t
                }
            }
            K::In {
                expr,
                list,
                negated,
            } => {
                let x = self.compile(expr)?;
                let mut acc: Option<Expr> = None;
                for item in list {
                    let eq = x.clone().eq(self.compile(item)?);
                    acc = Some(match acc {
                        None => eq,
                        Some(a) => a.or(eq),
                    });
                }
                let r = acc.unwrap_or(lit(false));
                if *negated {
                    r.not()
                } else {
                    r
                }
            }
            K::Case {
                branches,
                otherwise,
            } => {
                let mut acc = match otherwise {
                    Some(o) => self.compile(o)?.cast(dtype(e.ty)),
                    None => null_of(e.ty),
                };
                for (c, r) in branches.iter().rev() {
                    acc = when(self.compile(c)?)
                        .then(self.compile(r)?.cast(dtype(e.ty)))
                        .otherwise(acc);
                }
                acc
            }
            K::Coalesce(args) => {
                let xs = args
                    .iter()
                    .map(|a| Ok(self.compile(a)?.cast(dtype(e.ty))))
                    .collect::<Result<Vec<_>, String>>()?;
                coalesce(&xs)
            }
            K::Workdays(a, b) => (self.ordinal(b)? - self.ordinal(a)?).cast(DataType::Float64),
            K::Days(a, b) => {
                let (x, y) = (
                    self.compile(a)?.cast(DataType::Int32),
                    self.compile(b)?.cast(DataType::Int32),
                );
                (y - x).cast(DataType::Float64)
            }
            K::Len(x) => match &x.kind {
                K::Field(f) => col(format!("{LEN_PREFIX}{f}")).cast(DataType::Float64),
                _ => return Err(format!("LEN over `{x}` is not supported; use a list field")),
            },
            K::HasAny(..) | K::AllIn(..) => {
                let key = e.to_string();
                let c = self
                    .predicates
                    .get(&key)
                    .ok_or_else(|| format!("`{e}` needs a list field"))?;
                col(c.as_str())
            }
        })
    }

    /// The "outside the calendar" flag of a rule: any WORKDAYS argument is a date that
    /// the calendar does not cover.
    fn outside(&self, rule: &Rule) -> Option<Expr> {
        let mut fields = Vec::new();
        for e in rule.applies.iter().chain(rule.violation.iter()) {
            e.workday_fields(&mut fields);
        }
        // [inputs] An as-of date outside the calendar: every WORKDAYS counting to it is
        // NULL (see `ordinal`), so the rule is undecided where its violation is NULL.
        let as_of_outside = self.calendar.ordinal_of(self.as_of).is_none()
            && rule
                .applies
                .iter()
                .chain(rule.violation.iter())
                .any(|e| e.workdays_use_as_of());
        let undecided = as_of_outside
            .then(|| rule.violation.as_ref().and_then(|v| self.compile(v).ok()))
            .flatten()
            .map(|v| v.is_null());
        fields
            .into_iter()
            .map(|f| col(format!("{OUTSIDE_PREFIX}{f}")))
            .chain(undecided)
            .reduce(|a, b| a.or(b))
    }

    /// Builds the whole query and runs it: for every rule, the rows where
    /// `applies AND violation` is TRUE, and the rows it applied to but could not decide.
    /// The table is evaluated in slices of [`EVAL_ROWS`] cases, so that the frame the
    /// query runs on stays small however many cases the run holds.
    pub fn run(&mut self, table: &CaseTable, rules: &[&Rule]) -> Result<Vec<RuleHits>, EvalError> {
        let preds = self.list_predicates(rules);
        let mut exprs = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.kind != RuleKind::Condition {
                continue;
            }
            let Some(v) = &r.violation else { continue };
            let in_rule = |reason: String| EvalError {
                rule: Some(r.id.clone()),
                reason,
            };
            let applies = match &r.applies {
                Some(a) => self.compile(a).map_err(in_rule)?,
                None => lit(true),
            };
            let violation = self.compile(v).map_err(in_rule)?;
            let fire = applies.clone().and(violation).fill_null(lit(false));
            exprs.push(fire.clone().alias(format!("fire{i}")));
            if let Some(outside) = self.outside(r) {
                let ne = applies.fill_null(lit(false)).and(fire.not()).and(outside);
                exprs.push(ne.alias(format!("ne{i}")));
            }
        }
        let mut hits = vec![RuleHits::default(); rules.len()];
        if exprs.is_empty() || table.is_empty() {
            return Ok(hits);
        }
        // Only the fields the conditions read (through derived fields too) go into the
        // frames.
        let conditions = rules
            .iter()
            .filter(|r| r.kind == RuleKind::Condition)
            .flat_map(|r| r.applies.iter().chain(r.violation.iter()));
        let needed = fields_read(self.pack, conditions);
        let whole = |e: String| EvalError {
            rule: None,
            reason: e,
        };
        // The next slice's frame is built on a thread of its own while polars queries
        // this one's (the query stays on this thread, whose stack polars' planner
        // needs: not a pool thread's).
        let step = self.slice.max(1);
        let slices: Vec<std::ops::Range<usize>> = (0..table.len())
            .step_by(step)
            .map(|from| from..(from + step).min(table.len()))
            .collect();
        let frame = |k: usize| -> Option<Result<DataFrame, EvalError>> {
            let range = slices.get(k)?.clone();
            Some(
                table
                    .to_dataframe(self.calendar, &preds, &needed, range)
                    .map_err(|e| whole(e.to_string())),
            )
        };
        let mut current = frame(0);
        let mut k = 0;
        while let Some(df) = current {
            let range = slices[k].clone();
            let (out, next) = std::thread::scope(|s| {
                let next = s.spawn(|| frame(k + 1));
                let out = df.and_then(|df| {
                    df.lazy()
                        .select(exprs.clone())
                        .collect()
                        .map_err(|e| whole(e.to_string()))
                });
                let next = next
                    .join()
                    .unwrap_or_else(|_| Some(Err(whole("评查数据准备失败".into()))));
                (out, next)
            });
            collect_hits(&out?, range.start, range.len(), &mut hits).map_err(whole)?;
            current = next;
            k += 1;
        }
        Ok(hits)
    }
}

/// Why the pack could not be evaluated: the rule whose condition failed to compile,
/// or the query as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", rule.as_ref().map(|r| format!("{r}：")).unwrap_or_default())]
pub struct EvalError {
    /// The rule, when one rule failed.
    pub rule: Option<String>,
    /// Why (the evaluator's message).
    pub reason: String,
}

/// Every field an expression reads, directly or through derived fields.
pub(crate) fn fields_read<'e>(
    pack: &RulePack,
    exprs: impl Iterator<Item = &'e caseaudit_rules::expr::Expr>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending: Vec<&caseaudit_rules::expr::Expr> = exprs.collect();
    let mut seen_derived: std::collections::HashSet<String> = Default::default();
    while let Some(x) = pending.pop() {
        x.direct_fields(false, &mut out);
        let mut refs = Vec::new();
        x.derived_refs(&mut refs);
        for r in refs {
            if seen_derived.insert(r.clone()) {
                if let Some(d) = pack.derived_exprs.get(&r) {
                    pending.push(d);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Cases evaluated together in one frame.
pub const EVAL_ROWS: usize = 262_144;

/// Adds the TRUE rows of each `fire<i>` / `ne<i>` column of `out` (a slice of `len`
/// cases starting at `offset`) to the rules' hits.
fn collect_hits(
    out: &DataFrame,
    offset: usize,
    len: usize,
    hits: &mut [RuleHits],
) -> Result<(), String> {
    for c in out.columns() {
        let name = c.name().to_string();
        let (kind, idx) = if let Some(i) = name.strip_prefix("fire") {
            (true, i)
        } else if let Some(i) = name.strip_prefix("ne") {
            (false, i)
        } else {
            continue;
        };
        let Some(hit) = idx.parse::<usize>().ok().and_then(|i| hits.get_mut(i)) else {
            continue;
        };
        let b = c.bool().map_err(|e| e.to_string())?;
        let target = if kind {
            &mut hit.fired
        } else {
            &mut hit.not_evaluable
        };
        // A condition that is constant comes back as one value: broadcast it.
        if b.len() == 1 && len != 1 {
            if b.get(0) == Some(true) {
                target.extend(offset..offset + len);
            }
        } else {
            target.extend(
                b.downcast_iter()
                    .flat_map(|arr| arr.iter())
                    .enumerate()
                    .filter_map(|(r, v)| (v == Some(true)).then_some(offset + r)),
            );
        }
    }
    Ok(())
}
