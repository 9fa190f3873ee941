//! The vectorised (polars) evaluator agrees with the reference evaluator of the rules
//! crate on every rule, for random cases (nulls, boundaries, dates outside the calendar).

use caseaudit_engine::evaluate::Compiler;
use caseaudit_engine::normalize::Typed;
use caseaudit_engine::table::{CaseTable, ColumnData};
use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::expr::EvalContext;
use caseaudit_rules::{FieldType, Rule, RuleKind, RulePack};
use proptest::prelude::*;
use std::sync::OnceLock;

fn pack() -> &'static RulePack {
    static PACK: OnceLock<RulePack> = OnceLock::new();
    PACK.get_or_init(|| RulePack::builtin().unwrap_or_else(|e| panic!("{e}")))
}

const MONEY: &[f64] = &[
    0.0, 199.0, 200.0, 201.0, 500.0, 2000.0, 2999.0, 3000.0, 3001.0, 10000.0, 20000.0, 50000.0,
    100000.0,
];

fn value(ty: FieldType, vocab: &[String], x: u32) -> Typed {
    if x.is_multiple_of(5) {
        return Typed::Null;
    }
    let y = x / 5;
    match ty {
        FieldType::Date => {
            // 2019-12-01 plus up to ~3.3 years: crosses 2019, outside the calendar.
            let base = parse_iso("2019-12-01").unwrap_or_default();
            Typed::Date(base + (y % 1200) as i32)
        }
        FieldType::Bool => Typed::Bool(y.is_multiple_of(2)),
        FieldType::Money => Typed::Money(MONEY[(y as usize) % MONEY.len()]),
        FieldType::Enum => {
            let i = (y as usize) % (vocab.len() + 1);
            Typed::Text(vocab.get(i).cloned().unwrap_or_else(|| "原则同意".into()))
        }
        FieldType::Text => Typed::Text(format!("T{}", y % 7)),
        FieldType::List => {
            if vocab.is_empty() {
                let n = 1 + (y % 3) as usize;
                Typed::List((0..n).map(|i| format!("人员{i}")).collect())
            } else {
                let mut items: Vec<String> = vocab
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (y >> (i % 16)) & 1 == 1 && *i < 16)
                    .map(|(_, v)| v.clone())
                    .collect();
                if y.is_multiple_of(11) {
                    items.push("其他措施".into());
                }
                if items.is_empty() {
                    Typed::Null
                } else {
                    Typed::List(items)
                }
            }
        }
    }
}

fn table(rows: &[Vec<u32>]) -> CaseTable {
    let p = pack();
    let mut t = CaseTable::empty(&p.fields);
    for (fi, f) in p.fields.iter().enumerate() {
        let mut col = ColumnData::new(f.ty, rows.len());
        for r in rows {
            col.push(value(
                f.ty,
                &f.vocabulary,
                r[fi % r.len()].rotate_left(fi as u32 * 3),
            ));
        }
        t.columns[fi].1 = col;
    }
    t.row = (0..rows.len() as u32).map(|i| i + 2).collect();
    t.input = vec![0; rows.len()];
    t
}

fn check(rows: Vec<Vec<u32>>, as_of: &str, profile: &str) {
    let p = pack();
    let prof = p.profile(profile).unwrap_or_else(|e| panic!("{e}"));
    let params = p.param_values(prof);
    let calendar = p.calendar(prof);
    let as_of = parse_iso(as_of).unwrap_or_default();
    let t = table(&rows);
    let rules: Vec<&Rule> = p
        .rules
        .iter()
        .filter(|r| r.kind == RuleKind::Condition)
        .collect();
    let mut compiler = Compiler::new(p, &params, &calendar, as_of);
    let hits = compiler.run(&t, &rules).unwrap_or_else(|e| panic!("{e}"));
    // Evaluating in slices (the engine's way past a few hundred thousand cases) finds
    // exactly the same rows.
    compiler.slice = 3;
    let sliced = compiler.run(&t, &rules).unwrap_or_else(|e| panic!("{e}"));
    for (a, b) in hits.iter().zip(&sliced) {
        assert_eq!(a.fired, b.fired);
        assert_eq!(a.not_evaluable, b.not_evaluable);
    }
    let ctx = EvalContext {
        params: &params,
        calendar: &calendar,
        as_of,
        derived: &p.derived_exprs,
    };
    for (ri, rule) in rules.iter().enumerate() {
        for i in 0..t.len() {
            let case = t.case(i);
            let applies = rule
                .applies
                .as_ref()
                .map(|a| ctx.eval(a, &case).is_true())
                .unwrap_or(true);
            let fired = applies
                && rule
                    .violation
                    .as_ref()
                    .is_some_and(|v| ctx.eval(v, &case).is_true());
            let polars_fired = hits[ri].fired.binary_search(&i).is_ok();
            assert_eq!(
                fired,
                polars_fired,
                "rule {} row {i}: reference {fired}, polars {polars_fired}\ncase: {case:?}\n{}",
                rule.id,
                rule.violation
                    .as_ref()
                    .map(|v| ctx.explain(v, &case).render())
                    .unwrap_or_default()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn polars_agrees_with_reference(
        rows in prop::collection::vec(prop::collection::vec(any::<u32>(), 8), 1..80),
        as_of in prop::sample::select(vec!["2022-12-31", "2022-02-08", "2021-06-30", "2023-01-15"]),
        profile in prop::sample::select(vec!["national", "jiangxi", "public-security", "urumqi"]),
    ) {
        check(rows, as_of, profile);
    }
}

#[test]
fn agrees_on_a_dense_grid() {
    // Deterministic large batch: every field cycles through its values.
    let rows: Vec<Vec<u32>> = (0..3000u32)
        .map(|i| {
            (0..8)
                .map(|k| i.wrapping_mul(2654435761).rotate_left(k * 5) ^ (i * (k + 1)))
                .collect()
        })
        .collect();
    check(rows.clone(), "2022-12-31", "national");
    check(rows, "2022-12-31", "jiangxi");
}
