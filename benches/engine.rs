//! Micro-benchmarks of the hot paths: normalising date, money and boolean cells,
//! WORKDAYS over a column, and evaluating the whole built-in pack over 1M cases (each
//! evaluation includes building the DataFrame from the typed columns).
//! Run: cargo bench --bench engine

#![allow(clippy::expect_used, clippy::unwrap_used)]

use caseaudit_engine::cell::Cell;
use caseaudit_engine::evaluate::Compiler;
use caseaudit_engine::normalize::{normalize, Typed};
use caseaudit_engine::table::{CaseTable, ColumnData};
use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::{FieldType, Rule, RulePack};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// Cells per normalisation benchmark.
const N: usize = 100_000;
/// Cases in the evaluation benchmarks.
const CASES: usize = 1_000_000;

fn cells(forms: &[&str]) -> Vec<Cell> {
    (0..N)
        .map(|i| Cell::Text(forms[i % forms.len()].to_string()))
        .collect()
}

fn bench_normalise(c: &mut Criterion) {
    let pack = RulePack::builtin().expect("pack");
    let words = &pack.fields.words;
    let mut g = c.benchmark_group("normalise");
    g.throughput(Throughput::Elements(N as u64));
    for (field, forms) in [
        (
            "decision_date",
            vec![
                "2022-03-05",
                "2022/3/5",
                "2022年3月5日",
                "20220305",
                "2022-03-05 10:30",
            ],
        ),
        (
            "fine_amount",
            vec!["5000", "5,000元", "0.5万元", "５０００"],
        ),
        ("text_record", vec!["是", "否", "√", "×", "Y"]),
    ] {
        let f = pack.fields.get(field).expect("field");
        let column = cells(&forms);
        g.bench_function(field, |b| {
            b.iter(|| {
                column
                    .iter()
                    .filter(|c| normalize(c, f, words, 1.0, false).0 != Typed::Null)
                    .count()
            })
        });
    }
    g.finish();
}

/// A table of `CASES` cases where every field cycles through typical values.
fn table(pack: &RulePack) -> CaseTable {
    let start = parse_iso("2022-01-01").expect("date");
    let mut t = CaseTable::empty(&pack.fields);
    for (fi, f) in pack.fields.iter().enumerate() {
        let mut col = ColumnData::new(f.ty, CASES);
        for i in 0..CASES {
            let k = i.wrapping_mul(2654435761).rotate_left(fi as u32) % 97;
            let v = match f.ty {
                _ if k % 13 == 0 => Typed::Null,
                FieldType::Date => Typed::Date(start + (k * 3) as i32),
                FieldType::Bool => Typed::Bool(k % 5 != 0),
                FieldType::Money => Typed::Money((k * 250) as f64),
                FieldType::Enum => Typed::Text(f.vocabulary[k % f.vocabulary.len()].clone()),
                FieldType::Text => Typed::Text(format!("T{k}")),
                FieldType::List if f.has_vocabulary() => {
                    Typed::List(vec![f.vocabulary[k % f.vocabulary.len()].clone()])
                }
                FieldType::List => Typed::List((0..=k % 3).map(|j| format!("人员{j}")).collect()),
            };
            col.push(v);
        }
        t.columns[fi].1 = col;
    }
    t.row = (0..CASES as u32).collect();
    t.input = vec![0; CASES];
    t
}

fn bench_evaluate(c: &mut Criterion) {
    let pack = RulePack::builtin().expect("pack");
    let profile = pack.profile("national").expect("profile");
    let params = pack.param_values(profile);
    let calendar = pack.calendar(profile);
    let as_of = parse_iso("2022-12-31").expect("date");
    let t = table(&pack);
    let rules: Vec<&Rule> = pack.rules.iter().collect();
    // PUB-002 alone is WORKDAYS(decision_date, publication_date) > 7 over the column.
    let workdays: Vec<&Rule> = pack.rules.iter().filter(|r| r.id == "PUB-002").collect();
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(CASES as u64));
    g.sample_size(10);
    for (name, set) in [("workdays_column_1m", &workdays), ("whole_pack_1m", &rules)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Compiler::new(&pack, &params, &calendar, as_of),
                |mut comp| {
                    comp.run(&t, set)
                        .expect("run")
                        .iter()
                        .map(|h| h.fired.len())
                        .sum::<usize>()
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_normalise, bench_evaluate);
criterion_main!(benches);
