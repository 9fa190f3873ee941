//! Publication records (`--published`, decisions.md "Publication records"): exports of
//! the publication platform, read with the ledgers' loader but kept as evidence. They
//! are never cases: never evaluated, scored or checked for duplicates. The audit matches
//! them to the ledgers' cases by case key and adds PUB-008 (published in the ledger,
//! absent from the platform) and PUB-009 (the platform disagrees with the ledger); a
//! case the records show as published without a ledger date is published, date
//! unknown, for the rules that say so (`published_without_date`).

use crate::audit::{prepare_inputs, rule_status, Prepared};
use crate::model::{
    Finding, InputError, InputSummary, NotEvaluated, PublishedInput, PublishedSummary, RuleStatus,
};
use crate::table::{CaseTable, ColumnData};
use caseaudit_rules::calendar::format_day;
use caseaudit_rules::expr::{Case, EvalContext, Val};
use caseaudit_rules::publication::{self, Difference};
use caseaudit_rules::{case_key, fold, Builtin, Day, PublishedWithoutDate, Rule, RulePack};
use polars::prelude::{Column, DataFrame, DataType, ParquetWriter, PolarsResult};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

/// The publication records of a run, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct PublishedOptions {
    /// Record files and folders (`--published`).
    pub files: Vec<PathBuf>,
    /// The coverage date of every record file (`--published-until`); by default each
    /// file's latest date.
    pub until: Option<Day>,
}

/// One record: the fields compared, and where it lies.
struct Record {
    case: Case,
    /// Index into [`Records::inputs`].
    entry: usize,
    row: u32,
    /// Its file's coverage date.
    covered: Option<Day>,
}

/// The publication records of a run, read and keyed.
pub struct Records {
    inputs: Vec<PublishedInput>,
    records: Vec<Record>,
    by_key: HashMap<String, Vec<usize>>,
    /// Kind → the latest coverage date of the files of that kind.
    covered: BTreeMap<String, Day>,
    /// Files that could not be read (reported with the ledgers' errors).
    pub errors: Vec<InputError>,
    /// What discovery skipped, and files that cover nothing (for `run.warnings`).
    pub notes: Vec<String>,
}

impl Records {
    /// The records as the `published` table of `rules sql` (published.parquet):
    /// case_key, decision_date, fine_amount, party_name (folded), kind, covered_until,
    /// and where each came from (`__file`, `__sheet`, `__row`).
    pub fn write_parquet(&self, out: &mut impl std::io::Write) -> PolarsResult<()> {
        let text = |f: &str| -> Vec<Option<String>> {
            self.records
                .iter()
                .map(|r| match r.case.get(f) {
                    Some(Val::Text(t)) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        };
        let date = |f: &str| -> Vec<Option<i32>> {
            self.records
                .iter()
                .map(|r| match r.case.get(f) {
                    Some(Val::Date(d)) => Some(*d),
                    _ => None,
                })
                .collect()
        };
        let keys: Vec<Option<String>> = self
            .records
            .iter()
            .map(|r| publication::key_of(&r.case))
            .collect();
        let parties: Vec<Option<String>> = text("party_name")
            .into_iter()
            .map(|p| p.map(|p| fold(&p)))
            .collect();
        let fines: Vec<Option<f64>> = self
            .records
            .iter()
            .map(|r| match r.case.get("fine_amount") {
                Some(Val::Num(n)) => Some(*n),
                _ => None,
            })
            .collect();
        let covered: Vec<Option<i32>> = self.records.iter().map(|r| r.covered).collect();
        let place = |f: fn(&PublishedInput) -> &str| -> Vec<String> {
            self.records
                .iter()
                .map(|r| f(&self.inputs[r.entry]).to_string())
                .collect()
        };
        let rows: Vec<u32> = self.records.iter().map(|r| r.row).collect();
        let mut df = DataFrame::new(
            self.records.len(),
            vec![
                Column::new("case_key".into(), keys),
                Column::new("decision_date".into(), date("decision_date")).cast(&DataType::Date)?,
                Column::new("fine_amount".into(), fines),
                Column::new("party_name".into(), parties),
                Column::new("kind".into(), text("case_type")),
                Column::new("covered_until".into(), covered).cast(&DataType::Date)?,
                Column::new("__file".into(), place(|i| &i.file)),
                Column::new("__sheet".into(), place(|i| &i.sheet)),
                Column::new("__row".into(), rows),
            ],
        )?;
        ParquetWriter::new(out).finish(&mut df)?;
        Ok(())
    }
}

/// The record files the options name (folders walked), for leaving them out of the
/// ledgers.
pub fn files(opts: &PublishedOptions) -> Vec<PathBuf> {
    if opts.files.is_empty() {
        return Vec::new();
    }
    crate::load::discover_inputs(&opts.files)
        .0
        .into_iter()
        .filter_map(|f| match f {
            crate::load::InputFile::File(p) => Some(p),
            crate::load::InputFile::Error(..) => None,
        })
        .collect()
}

/// The fields a record keeps.
const RECORD_FIELDS: [&str; 5] = [
    "case_id",
    "case_type",
    "decision_date",
    "fine_amount",
    "party_name",
];

/// Reads the record files with the ledgers' loader. `None` when none were given.
pub fn read(pack: &RulePack, opts: &PublishedOptions, as_of: Day) -> Option<Records> {
    if opts.files.is_empty() {
        return None;
    }
    let Prepared {
        ledgers,
        errors,
        notes,
    } = prepare_inputs(pack, &opts.files, None, &|_| {});
    let mut out = Records {
        inputs: Vec::new(),
        records: Vec::new(),
        by_key: HashMap::new(),
        covered: BTreeMap::new(),
        errors,
        notes: notes
            .into_iter()
            .map(|n| format!("公示记录：{n}"))
            .collect(),
    };
    // A file's coverage date: the option, else the latest date in its mapped date
    // fields (over all its sheets); never past the as-of date.
    let mut latest: HashMap<String, Day> = HashMap::new();
    for l in &ledgers {
        for (_, c) in &l.table.columns {
            if let ColumnData::Date(v) = c {
                if let Some(d) = v.range(0..v.len()).flatten().max() {
                    let e = latest.entry(l.summary.file.clone()).or_insert(d);
                    *e = (*e).max(d);
                }
            }
        }
    }
    for l in &ledgers {
        let file = &l.summary.file;
        let covered = opts
            .until
            .or_else(|| latest.get(file).copied())
            .map(|d| d.min(as_of));
        if covered.is_none() {
            out.notes.push(format!(
                "公示记录 {} {}：没有日期，无法确定覆盖截止日期，不据以判断台账案件是否漏公示（可用 --published-until 指定）",
                file, l.summary.sheet
            ));
        }
        // Unreadable cells per record (DQ-003 is never reported for records).
        let mut bad: HashMap<usize, u64> = HashMap::new();
        for p in &l.problems {
            *bad.entry(p.row_index).or_default() += 1;
        }
        let mut entries: HashMap<Option<String>, usize> = HashMap::new();
        for i in 0..l.table.len() {
            let case: Case = RECORD_FIELDS
                .iter()
                .map(|f| (f.to_string(), l.table.val(f, i)))
                .filter(|(_, v)| !v.is_null())
                .collect();
            let kind = match case.get("case_type") {
                Some(Val::Text(t)) => Some(t.clone()),
                _ => None,
            };
            let entry = *entries.entry(kind.clone()).or_insert_with(|| {
                out.inputs.push(PublishedInput {
                    file: file.clone(),
                    sheet: l.summary.sheet.clone(),
                    rows: 0,
                    kind: kind.clone(),
                    covered_until: covered.map(format_day),
                    matched: 0,
                    unmatched: 0,
                    unreadable_cells: 0,
                });
                out.inputs.len() - 1
            });
            let e = &mut out.inputs[entry];
            e.rows += 1;
            e.unreadable_cells += bad.get(&i).copied().unwrap_or(0);
            if let (Some(k), Some(d)) = (&kind, covered) {
                let c = out.covered.entry(k.clone()).or_insert(d);
                *c = (*c).max(d);
            }
            if let Some(key) = publication::key_of(&case) {
                out.by_key.entry(key).or_default().push(out.records.len());
            }
            out.records.push(Record {
                case,
                entry,
                row: l.table.row[i],
                covered,
            });
        }
    }
    Some(out)
}

/// The audit's finding builder: (rule, table row, message, evidence, cells) → finding.
pub(crate) type FindingBuilder<'a> =
    dyn Fn(&Rule, usize, String, Map<String, Value>, Vec<String>) -> Finding + Sync + 'a;

/// What the audit gives the publication check.
pub(crate) struct Context<'a> {
    pub pack: &'a RulePack,
    pub ctx: EvalContext<'a>,
    pub table: &'a CaseTable,
    /// Field → column letter, per input.
    pub columns: &'a [HashMap<String, String>],
    /// Builds a finding of a rule on a table row (the audit's one builder).
    pub finding: &'a FindingBuilder<'a>,
}

/// The publication part of `run`.
pub(crate) struct Outcome {
    pub published: Vec<PublishedInput>,
    pub summary: Option<PublishedSummary>,
    /// (input index, rule not run there for want of a field).
    pub not_evaluated: Vec<(usize, NotEvaluated)>,
}

/// Runs PUB-008 and PUB-009 over the run's cases and applies what the records say to
/// the rules with `published_without_date`: their findings are dropped or their cases
/// counted as not evaluable. Without records the two rules are listed as not evaluated.
pub(crate) fn check(
    cx: &Context,
    records: Option<&Records>,
    inputs: &[InputSummary],
    findings: &mut Vec<(usize, Finding)>,
    statuses: &mut Vec<RuleStatus>,
) -> Outcome {
    let pack = cx.pack;
    let rules: Vec<&Rule> = Builtin::ALL
        .iter()
        .filter(|b| b.needs_records())
        .filter_map(|b| pack.builtin_rule(*b))
        .collect();
    // These two rules' statuses are decided here (the audit lists condition rules').
    let Some(records) = records else {
        for rule in rules {
            let mut s = rule_status(rule, inputs, 0, 0);
            s.evaluated = false;
            statuses.push(s);
        }
        return Outcome {
            published: Vec::new(),
            summary: None,
            not_evaluated: Vec::new(),
        };
    };
    let mut entries = records.inputs.clone();
    // Inputs lacking a rule's required fields do not run it (as for condition rules).
    let mut inputs = inputs.to_vec();
    let mut not_evaluated = Vec::new();
    for rule in &rules {
        for (k, inp) in inputs.iter_mut().enumerate() {
            let absent: Vec<String> = rule
                .requires
                .iter()
                .filter(|f| inp.missing_fields.contains(f))
                .cloned()
                .collect();
            if !absent.is_empty() {
                let n = NotEvaluated {
                    rule_id: rule.id.clone(),
                    missing_fields: absent,
                };
                inp.not_evaluated.push(n.clone());
                not_evaluated.push((k, n));
            }
        }
    }
    let skipped =
        |rule: &Rule, k: usize| inputs[k].not_evaluated.iter().any(|n| n.rule_id == rule.id);
    let table = cx.table;
    // Each case's matching records, by key.
    let ids = table.column("case_id");
    let matches: Vec<Option<&Vec<usize>>> = (0..table.len())
        .into_par_iter()
        .map(|i| {
            let id = ids?.text(i)?;
            if id.trim().is_empty() {
                return None;
            }
            records.by_key.get(&case_key(id))
        })
        .collect();
    let mut summary = PublishedSummary {
        records: records.records.len() as u64,
        covered: records
            .covered
            .iter()
            .map(|(k, d)| (k.clone(), format_day(*d)))
            .collect(),
        ..Default::default()
    };
    let mut matched_records: HashSet<usize> = HashSet::new();
    for m in matches.iter().flatten() {
        summary.cases_matched += 1;
        matched_records.extend(m.iter().copied());
    }
    for (r, rec) in records.records.iter().enumerate() {
        let e = &mut entries[rec.entry];
        if matched_records.contains(&r) {
            e.matched += 1;
        } else {
            e.unmatched += 1;
        }
    }

    let case_of = |i: usize, fields: &[String]| -> Case {
        fields
            .iter()
            .map(|f| (f.clone(), table.val(f, i)))
            .filter(|(_, v)| !v.is_null())
            .collect()
    };
    let letters = |i: usize, fields: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        let k = table.input[i] as usize;
        fields
            .filter_map(|f| cx.columns[k].get(f).cloned())
            .collect()
    };

    // PUB-008: the covered cases the ledger says are published that no record holds.
    if let Some(rule) = pack.builtin_rule(Builtin::PublicationMissing) {
        let mut fields = crate::evaluate::fields_read(pack, rule.applies.iter());
        fields.extend(["case_id", "case_type", "publication_date"].map(String::from));
        let found: Vec<(usize, Finding)> = (0..table.len())
            .into_par_iter()
            .filter_map(|i| {
                if skipped(rule, table.input[i] as usize) {
                    return None;
                }
                let Val::Text(kind) = table.val("case_type", i) else {
                    return None;
                };
                let covered = *records.covered.get(&kind)?;
                let case = case_of(i, &fields);
                let scope = EvalContext {
                    as_of: covered,
                    ..cx.ctx
                };
                let applies = rule
                    .applies
                    .as_ref()
                    .is_none_or(|a| scope.eval(a, &case).is_true());
                if !applies || !publication::missing(&case, matches[i].is_some()) {
                    return None;
                }
                let mut evidence = Map::new();
                for f in ["case_id", "case_type", "decision_date", "publication_date"] {
                    evidence.insert(f.into(), table.val(f, i).to_json());
                }
                evidence.insert("covered_until".into(), format_day(covered).into());
                let shown = |f: &str| show(&table.val(f, i));
                let message = format!(
                    "台账记载该{kind}决定（{}）已于 {} 公示，但公示平台导出记录（覆盖至 {}）中没有案件编号为「{}」的决定",
                    shown("decision_date"),
                    shown("publication_date"),
                    format_day(covered),
                    shown("case_id"),
                );
                let cells = letters(i, &mut ["publication_date"].into_iter());
                Some((i, (cx.finding)(rule, i, message, evidence, cells)))
            })
            .collect();
        summary.cases_missing = found.len() as u64;
        statuses.push(rule_status(rule, &inputs, found.len() as u64, 0));
        findings.extend(found);
    }

    // PUB-009: the matched cases no record of which agrees with the ledger.
    if let Some(rule) = pack.builtin_rule(Builtin::PublicationMismatch) {
        let compared: Vec<String> = publication::COMPARED.map(String::from).to_vec();
        let found: Vec<(usize, Finding)> = (0..table.len())
            .into_par_iter()
            .filter_map(|i| {
                let m = matches[i]?;
                if skipped(rule, table.input[i] as usize) {
                    return None;
                }
                let case = case_of(i, &compared);
                let (which, diffs) =
                    publication::disagreement(&case, m.iter().map(|&r| &records.records[r].case))?;
                let rec = &records.records[m[which]];
                let place = &entries[rec.entry];
                let mut evidence = Map::new();
                evidence.insert("case_id".into(), table.val("case_id", i).to_json());
                evidence.insert(
                    "differences".into(),
                    Value::Array(diffs.iter().map(|d| difference_json(pack, d)).collect()),
                );
                evidence.insert("published_file".into(), place.file.clone().into());
                evidence.insert("published_sheet".into(), place.sheet.clone().into());
                evidence.insert("published_row".into(), rec.row.into());
                evidence.insert("records".into(), m.len().into());
                let what: Vec<String> = diffs
                    .iter()
                    .map(|d| {
                        format!(
                            "{}台账为「{}」、公示为「{}」",
                            label(pack, d.field),
                            show(&d.ledger),
                            show(&d.published)
                        )
                    })
                    .collect();
                let others = if m.len() > 1 {
                    format!("（同一编号共 {} 条记录，均不一致）", m.len())
                } else {
                    String::new()
                };
                let message = format!(
                    "公示平台记录（{} {} 第 {} 行）与台账不一致：{}{others}",
                    place.file,
                    place.sheet,
                    rec.row,
                    what.join("；")
                );
                let cells = letters(i, &mut diffs.iter().map(|d| d.field));
                Some((i, (cx.finding)(rule, i, message, evidence, cells)))
            })
            .collect();
        summary.cases_disagreeing = found.len() as u64;
        statuses.push(rule_status(rule, &inputs, found.len() as u64, 0));
        findings.extend(found);
    }

    // Published, date unknown: matched cases without a ledger publication date.
    let unknown: Vec<usize> = (0..table.len())
        .filter(|&i| matches[i].is_some() && table.val("publication_date", i).is_null())
        .collect();
    summary.published_without_ledger_date = unknown.len() as u64;
    let unknown_set: HashSet<usize> = unknown.iter().copied().collect();
    for rule in pack.rules.iter().filter(|r| r.is_active()) {
        let Some(how) = rule.published_without_date else {
            continue;
        };
        let before = findings.len();
        findings.retain(|(i, f)| f.rule_id != rule.id || !unknown_set.contains(i));
        let dropped = (before - findings.len()) as u64;
        let mut undecided = 0u64;
        if how == PublishedWithoutDate::NotEvaluable {
            let fields = crate::evaluate::fields_read(pack, rule.applies.iter());
            undecided = unknown
                .iter()
                .filter(|&&i| !skipped(rule, table.input[i] as usize))
                .filter(|&&i| {
                    rule.applies
                        .as_ref()
                        .is_none_or(|a| cx.ctx.eval(a, &case_of(i, &fields)).is_true())
                })
                .count() as u64;
        }
        if let Some(s) = statuses.iter_mut().find(|s| s.id == rule.id) {
            s.findings -= dropped.min(s.findings);
            s.not_evaluable += undecided;
        }
    }
    Outcome {
        published: entries,
        summary: Some(summary),
        not_evaluated,
    }
}

/// A value as a person reads it in a message.
fn show(v: &Val) -> String {
    match v {
        Val::Null => "（空）".into(),
        Val::Date(d) => format_day(*d),
        Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Val::Num(n) => format!("{n:.2}"),
        Val::Text(t) => t.clone(),
        Val::Bool(b) => if *b { "是" } else { "否" }.into(),
        Val::List(l) => l.join("、"),
    }
}

fn label<'a>(pack: &'a RulePack, field: &'a str) -> &'a str {
    pack.fields
        .get(field)
        .map(|f| f.label.as_str())
        .unwrap_or(field)
}

fn difference_json(pack: &RulePack, d: &Difference) -> Value {
    json!({
        "field": d.field,
        "label": label(pack, d.field),
        "ledger": d.ledger.to_json(),
        "published": d.published.to_json(),
    })
}
