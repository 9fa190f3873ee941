//! The audit: read every input, map and normalise, evaluate the pack, and gather
//! findings, accounting and scores.

use crate::cell::column_letter;
use crate::evaluate::{fields_read, Compiler};
use crate::header::AliasIndex;
use crate::load::{self, discover_inputs, InputFile, LoadError};
use crate::model::*;
use crate::prepare::{csv_ledger, no_header, parquet_ledger, Ledger};
use crate::score::score;
use crate::table::{CaseTable, ColumnData};
use caseaudit_rules::calendar::{format_day, from_day};
use caseaudit_rules::expr::{EvalContext, Val};
use caseaudit_rules::{case_key_ref, fold, MessageRenderer};
use caseaudit_rules::{Builtin, Day, Rule, RuleKind, RulePack};
use chrono::Datelike;
use polars::prelude::{PlHashMap, PlHashSet};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How to run an audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The audit date: deadlines not yet passed on it are not findings.
    pub as_of: Day,
    /// The parameter profile (`national`, …).
    pub profile: String,
    /// Fills the agency of inputs that have no agency column.
    pub agency: Option<String>,
    /// Publication records to check the ledgers against (`--published`).
    pub published: crate::published::PublishedOptions,
}

/// Errors that stop the whole run (a file error does not: it is reported in the run).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The rule pack or the profile is unusable.
    #[error(transparent)]
    Pack(#[from] caseaudit_rules::PackError),
    /// A rule could not be evaluated.
    #[error("规则求值失败（{rule}）：{reason}")]
    Evaluate {
        /// The rule (`全部规则` when the query as a whole failed).
        rule: String,
        /// Why (the evaluator's message).
        reason: String,
    },
}

/// One rule's findings (with their table rows), its status, and the years outside the
/// calendar that kept it from deciding some cases.
type RuleOutcome = (Vec<(usize, Finding)>, RuleStatus, BTreeSet<i32>);

/// Reads one file into its ledger sheets, or a file error.
enum FileResult {
    Sheets(Vec<Ledger>, Vec<InputError>),
    Error(InputError),
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

fn read_one(path: &Path, pack: &RulePack, index: &AliasIndex, agency: Option<&str>) -> FileResult {
    let display = display_path(path);
    let file_error = |e: LoadError| {
        FileResult::Error(InputError {
            file: display.clone(),
            sheet: None,
            kind: e.kind,
            reason: e.reason,
        })
    };
    match load::kind_of(path) {
        Err(e) => return file_error(e),
        Ok(load::FileKind::Csv) => {
            return match csv_ledger(path, &display, pack, index, agency) {
                Ok(l) => FileResult::Sheets(vec![l], Vec::new()),
                Err(e) => file_error(e),
            }
        }
        Ok(load::FileKind::Parquet) => {
            return match parquet_ledger(path, &display, pack, index, agency) {
                Ok(l) => FileResult::Sheets(vec![l], Vec::new()),
                Err(e) => file_error(e),
            }
        }
        Ok(load::FileKind::Workbook) => {}
    }
    let book = match crate::prepare::workbook_ledgers(path, &display, pack, index, agency) {
        Ok(b) => b,
        Err(e) => return file_error(e),
    };
    let (mut out, skipped) = (book.ledgers, book.skipped);
    if out.is_empty() {
        return file_error(no_header(book.has_content));
    }
    // Hidden columns are data; inspect marks them (xlsx, xls, ods).
    let hidden = crate::hidden::hidden_columns_of(path);
    for s in &mut out {
        crate::hidden::mark(&hidden, &s.summary.sheet, &mut s.summary.columns);
    }
    for name in skipped {
        if let Some(first) = out.first_mut() {
            first
                .summary
                .notes
                .push(format!("工作表「{name}」没有可识别的台账表头，已跳过"));
        }
    }
    FileResult::Sheets(out, Vec::new())
}

/// The result of an audit before rendering.
pub struct Audit {
    /// What findings.json holds.
    pub report: AuditReport,
    /// Whether any input could not be read (exit code 2).
    pub had_input_errors: bool,
    /// The audited cases, typed (for `cases.parquet`), shared with the case scores.
    pub cases: std::sync::Arc<CaseTable>,
    /// The publication records given, if any (for `published.parquet`).
    pub published: Option<crate::published::Records>,
    /// Wall time of each phase, in order, for profiling.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// What an audit reports while it runs, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The number of files to read.
    Files(usize),
    /// One more file has been read.
    FileRead,
    /// All files are read; rules are being evaluated.
    Evaluating,
}

/// The prepare stage of a run: every input read, mapped and normalised (what
/// `inspect` shows), and the inputs that could not be read.
pub struct Prepared {
    /// Every input sheet that could be read, mapped and normalised.
    pub ledgers: Vec<Ledger>,
    /// Files and sheets that could not be read.
    pub errors: Vec<InputError>,
    /// What input discovery skipped or merged, and why (for `run.warnings`).
    pub notes: Vec<String>,
}

/// Reads, maps and normalises every input (folders walked), in parallel.
pub fn prepare_inputs(
    pack: &RulePack,
    inputs: &[PathBuf],
    agency: Option<&str>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Prepared {
    prepare_inputs_except(pack, inputs, &[], agency, progress)
}

/// [`prepare_inputs`], leaving out the files in `except` (publication records met in a
/// folder of ledgers), each with a note.
pub fn prepare_inputs_except(
    pack: &RulePack,
    inputs: &[PathBuf],
    except: &[PathBuf],
    agency: Option<&str>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Prepared {
    let index = AliasIndex::new(&pack.fields);
    let (mut files, mut notes) = discover_inputs(inputs);
    if !except.is_empty() {
        let skip: HashSet<(u64, u64)> = except
            .iter()
            .filter_map(|p| crate::inputs::file_identity(p))
            .collect();
        files.retain(|f| match f {
            InputFile::File(p)
                if crate::inputs::file_identity(p).is_some_and(|i| skip.contains(&i)) =>
            {
                notes.push(format!(
                    "{} 作为公示记录读取，不作为台账评查",
                    display_path(p)
                ));
                false
            }
            _ => true,
        });
    }
    progress(Progress::Files(files.len()));
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|f| {
            let r = match f {
                InputFile::File(p) => read_one(p, pack, &index, agency),
                InputFile::Error(p, e) => FileResult::Error(InputError {
                    file: display_path(p),
                    sheet: None,
                    kind: e.kind,
                    reason: e.reason.clone(),
                }),
            };
            progress(Progress::FileRead);
            r
        })
        .collect();
    let mut prepared = Prepared {
        ledgers: Vec::new(),
        errors: Vec::new(),
        notes,
    };
    for r in results {
        match r {
            FileResult::Sheets(s, e) => {
                prepared.ledgers.extend(s);
                prepared.errors.extend(e);
            }
            FileResult::Error(e) => prepared.errors.push(e),
        }
    }
    prepared
}

/// What `inspect` shows: every input read, mapped and normalised (the prepare stage
/// alone: nothing is evaluated, so no date is needed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// One summary per input sheet read.
    pub inputs: Vec<InputSummary>,
    /// Files and sheets that could not be read.
    pub errors: Vec<InputError>,
    /// What input discovery skipped or merged, and why.
    pub warnings: Vec<String>,
    /// The cells that could not be read (each a DQ-003 finding in an audit), in order.
    pub unreadable: Vec<UnreadableCell>,
}

/// A cell whose value could not be read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnreadableCell {
    /// Where it is (with its column letter).
    pub source: Source,
    /// The canonical field of its column.
    pub field: String,
    /// Its column's header as written.
    pub header: String,
    /// The cell as written.
    pub raw: String,
    /// What is wrong with it (Chinese).
    pub problem: String,
}

/// Reads, maps and normalises every input, for `inspect`.
pub fn inspect(pack: &RulePack, inputs: &[PathBuf], agency: Option<&str>) -> Inspection {
    let prepared = prepare_inputs(pack, inputs, agency, &|_| {});
    let mut unreadable = Vec::new();
    let mut summaries = Vec::new();
    for l in prepared.ledgers {
        for p in &l.problems {
            unreadable.push(UnreadableCell {
                source: Source {
                    file: l.summary.file.clone(),
                    sheet: l.summary.sheet.clone(),
                    row: l.table.row[p.row_index],
                    column: Some(column_letter(p.column)),
                },
                field: p.field.clone(),
                header: p.header.clone(),
                raw: p.raw.clone(),
                problem: p.problem.clone(),
            });
        }
        summaries.push(l.summary);
    }
    Inspection {
        inputs: summaries,
        errors: prepared.errors,
        warnings: prepared.notes,
        unreadable,
    }
}

/// Runs an audit over input paths.
pub fn audit(
    pack: &RulePack,
    inputs: &[PathBuf],
    opts: &AuditOptions,
) -> Result<Audit, AuditError> {
    audit_with_progress(pack, inputs, opts, &|_| {})
}

/// Runs an audit, telling `progress` how far it has got.
pub fn audit_with_progress(
    pack: &RulePack,
    inputs: &[PathBuf],
    opts: &AuditOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Audit, AuditError> {
    let profile = pack.profile(&opts.profile)?;
    let params = pack.param_values(profile);
    let calendar = pack.calendar(profile);
    // An as-of outside the calendar is not an error: warn (crate::coverage).
    let calendar_warnings = crate::coverage::as_of_warnings(pack, &calendar, opts.as_of);
    let started = std::time::Instant::now();
    let record_files = crate::published::files(&opts.published);
    let mut prepared = prepare_inputs_except(
        pack,
        inputs,
        &record_files,
        opts.agency.as_deref(),
        progress,
    );
    // Publication records: evidence read like ledgers, never cases.
    let mut records = crate::published::read(pack, &opts.published, opts.as_of);
    if let Some(r) = &mut records {
        prepared.errors.append(&mut r.errors);
        prepared.notes.append(&mut r.notes);
    }
    progress(Progress::Evaluating);
    let read = started.elapsed();
    let mut audit = evaluate_sheets(
        pack,
        &params,
        &calendar,
        opts,
        prepared.ledgers,
        prepared.errors,
        records,
    )?;
    audit.report.run.warnings.extend(prepared.notes);
    audit.report.run.warnings.extend(calendar_warnings);
    audit.timings.insert(0, ("read and normalise", read));
    Ok(audit)
}

fn evaluate_sheets(
    pack: &RulePack,
    params: &caseaudit_rules::ParamValues,
    calendar: &caseaudit_rules::Calendar,
    opts: &AuditOptions,
    sheets: Vec<Ledger>,
    errors: Vec<InputError>,
    records: Option<crate::published::Records>,
) -> Result<Audit, AuditError> {
    // One table for the run; problems and columns stay per input.
    let mut tables = Vec::new();
    let mut offsets = Vec::new();
    let mut len = 0usize;
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    let mut skip: Vec<HashSet<String>> = Vec::new();
    let mut has_agency = Vec::new();
    for (k, s) in sheets.into_iter().enumerate() {
        offsets.push(len);
        let mut t = s.table;
        len += t.len();
        t.input = vec![k as u32; t.len()];
        tables.push(t);
        skip.push(
            s.summary
                .not_evaluated
                .iter()
                .map(|n| n.rule_id.clone())
                .collect(),
        );
        problems.push(s.problems);
        columns.push(s.columns);
        has_agency.push(s.has_agency);
        inputs.push(s.summary);
    }
    let table = CaseTable::concat(&pack.fields, tables);

    let mut clock = std::time::Instant::now();
    let mut timings = Vec::new();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    lap("combine inputs");
    // Condition rules; each builtin rule's findings and status come from its mechanism.
    let rules: Vec<&Rule> = pack
        .rules
        .iter()
        .filter(|r| r.is_active() && r.kind == RuleKind::Condition)
        .collect();
    let mut compiler = Compiler::new(pack, params, calendar, opts.as_of);
    let hits = compiler
        .run(&table, &rules)
        .map_err(|e| AuditError::Evaluate {
            rule: e.rule.unwrap_or_else(|| "全部规则".into()),
            reason: e.reason,
        })?;

    lap("evaluate (polars)");
    let renderer = MessageRenderer::new(pack);
    let ctx = EvalContext {
        params,
        calendar,
        as_of: opts.as_of,
        derived: &pack.derived_exprs,
    };
    let mut params_json = Map::new();
    for (k, v) in params.iter() {
        params_json.insert(
            k.to_string(),
            v.map(|x| Val::Num(x).to_json()).unwrap_or(Value::Null),
        );
    }
    let as_of_text = format_day(opts.as_of);

    let source_of = |i: usize| -> Source {
        let k = table.input[i] as usize;
        Source {
            file: inputs[k].file.clone(),
            sheet: inputs[k].sheet.clone(),
            row: table.row[i],
            column: None,
        }
    };
    let (ids, agencies) = (table.column("case_id"), table.column("agency"));
    let text_of = |column: Option<&ColumnData>, i: usize| -> Option<String> {
        column.and_then(|c| c.text(i)).map(str::to_string)
    };

    // One finding of `rule` on table row `i`; every finding is built here.
    let finding = |rule: &Rule,
                   i: usize,
                   message: String,
                   evidence: Map<String, Value>,
                   cells: Vec<String>| Finding {
        case_id: text_of(ids, i),
        agency: text_of(agencies, i),
        rule_id: rule.id.clone(),
        system: rule.system.into(),
        severity: rule.severity.into(),
        title: rule.title.clone(),
        message,
        evidence,
        deduction: rule.deduction,
        veto: rule.veto,
        source: source_of(i),
        cells,
    };

    // (table row, finding)
    // Each rule's findings are built on their own, in parallel.
    let shared = MessageRenderer::shared(&serde_json::json!({
        "as_of": as_of_text,
        "params": Value::Object(params_json),
    }));
    let per_rule: Vec<RuleOutcome> = rules
        .par_iter()
        .enumerate()
        .map(|(ri, rule)| {
            let h = &hits[ri];
            let evidence_fields: Vec<(String, Option<&ColumnData>)> = rule
                .evidence_fields()
                .into_iter()
                .map(|f| {
                    let c = table.column(&f);
                    (f, c)
                })
                .collect();
            let pointed = rule.violation_fields();
            let day_counts: Vec<(String, caseaudit_rules::expr::Expr)> = rule
                .applies
                .iter()
                .chain(rule.violation.iter())
                .flat_map(|e| e.day_counts().into_iter().map(|(n, x)| (n, x.clone())))
                .collect();
            // The fields the day counts read (through derived fields too): a case of
            // those alone is enough to evaluate them.
            let day_fields: Vec<(String, Option<&ColumnData>)> =
                fields_read(pack, day_counts.iter().map(|(_, x)| x))
                    .into_iter()
                    .map(|f| {
                        let c = table.column(&f);
                        (f, c)
                    })
                    .collect();
            let template = renderer.message(&rule.id, &rule.title);
            let mut found = Vec::with_capacity(h.fired.len());
            for &i in &h.fired {
                let k = table.input[i] as usize;
                if skip[k].contains(&rule.id) {
                    continue;
                }
                // Sized once: a million findings' evidence maps are most of a large run's
                // memory, and a map that grows leaves room unused.
                let mut evidence = Map::with_capacity(evidence_fields.len() + day_counts.len());
                for (f, c) in &evidence_fields {
                    evidence.insert(f.clone(), c.map_or(Value::Null, |c| c.json(i)));
                }
                if !day_counts.is_empty() {
                    let case: caseaudit_rules::expr::Case = day_fields
                        .iter()
                        .filter_map(|(f, c)| Some((f.clone(), c.as_ref()?.val(i))))
                        .filter(|(_, v)| !v.is_null())
                        .collect();
                    for (name, x) in &day_counts {
                        let v = ctx.eval(x, &case).to_json();
                        evidence.entry(name.clone()).or_insert(v);
                    }
                }
                let message = template.render(&mut evidence, &shared);
                let cells = pointed
                    .iter()
                    .filter_map(|f| columns[k].get(f).cloned())
                    .collect();
                found.push((i, finding(rule, i, message, evidence, cells)));
            }
            let mut not_evaluable = 0u64;
            let mut years = BTreeSet::new();
            for &i in &h.not_evaluable {
                if skip[table.input[i] as usize].contains(&rule.id) {
                    continue;
                }
                not_evaluable += 1;
                for (_, c) in &table.columns {
                    if let ColumnData::Date(v) = c {
                        if let Some(d) = v.get(i).filter(|d| !calendar.covers(*d)) {
                            years.insert(from_day(d).year());
                        }
                    }
                }
            }
            let status = rule_status(rule, &inputs, found.len() as u64, not_evaluable);
            (found, status, years)
        })
        .collect();
    let mut findings: Vec<(usize, Finding)> =
        Vec::with_capacity(per_rule.iter().map(|(f, _, _)| f.len()).sum());
    let mut statuses = Vec::new();
    let mut outside_years: BTreeSet<i32> = BTreeSet::new();
    for (f, status, years) in per_rule {
        findings.extend(f);
        statuses.push(status);
        outside_years.extend(years);
    }

    // Engine-computed rules.
    if let Some(rule) = pack.builtin_rule(Builtin::DuplicateCaseNumbers) {
        let found = duplicates(&table);
        let n = found.len() as u64;
        // Room made once (a vector of findings doubling moves them all to fresh memory).
        findings.reserve(found.len());
        for (i, named, total) in found {
            let id = text_of(ids, i).unwrap_or_default();
            let k = table.input[i] as usize;
            let mut evidence = Map::new();
            evidence.insert("case_id".into(), id.clone().into());
            evidence.insert(
                "agency".into(),
                text_of(agencies, i).map(Value::from).unwrap_or(Value::Null),
            );
            // Named at most DUPLICATES_NAMED others: the message must not grow with
            // the square of a group's size.
            let rest = total.saturating_sub(named.len());
            evidence.insert("rows".into(), Value::from(named.clone()));
            evidence.insert("other_rows".into(), Value::from(total));
            let more = if rest > 0 {
                format!("，另有 {rest} 行")
            } else {
                String::new()
            };
            let message = format!("案件编号「{id}」重复，另见：{}{more}", named.join("；"));
            let cells = columns[k].get("case_id").cloned().into_iter().collect();
            findings.push((i, finding(rule, i, message, evidence, cells)));
        }
        statuses.push(builtin_status(rule, n));
    }
    if let Some(rule) = pack.builtin_rule(Builtin::UnreadableCells) {
        let mut n = 0u64;
        findings.reserve(problems.iter().map(Vec::len).sum());
        for (k, ps) in problems.iter().enumerate() {
            for p in ps {
                let i = offsets[k] + p.row_index;
                let letter = column_letter(p.column);
                let mut evidence = Map::new();
                evidence.insert("field".into(), p.field.clone().into());
                evidence.insert("header".into(), p.header.clone().into());
                evidence.insert("raw".into(), p.raw.clone().into());
                evidence.insert("problem".into(), p.problem.clone().into());
                let raw_short: String = if p.raw.chars().count() > 60 {
                    format!("{}…", p.raw.chars().take(60).collect::<String>())
                } else {
                    p.raw.clone()
                };
                n += 1;
                let message = format!(
                    "「{}」列（{}）第 {} 行的「{}」{}",
                    p.header, letter, table.row[i], raw_short, p.problem
                );
                let mut f = finding(rule, i, message, evidence, vec![letter.clone()]);
                f.source.column = Some(letter);
                findings.push((i, f));
            }
        }
        statuses.push(builtin_status(rule, n));
    }
    // Publication records: PUB-008, PUB-009, and published-without-date cases.
    let publication = crate::published::check(
        &crate::published::Context {
            pack,
            ctx,
            table: &table,
            columns: &columns,
            finding: &finding,
        },
        records.as_ref(),
        &inputs,
        &mut findings,
        &mut statuses,
    );
    statuses.sort_by(|a, b| a.id.cmp(&b.id));

    // In (file, sheet, row, rule, column) order: inputs ranked by (file, sheet) once,
    // so that sorting compares numbers, not file names.
    let mut ranked: Vec<usize> = (0..inputs.len()).collect();
    ranked.sort_by(|&a, &b| {
        (&inputs[a].file, &inputs[a].sheet).cmp(&(&inputs[b].file, &inputs[b].sheet))
    });
    let mut rank = vec![0u32; inputs.len()];
    for (r, &k) in ranked.iter().enumerate() {
        rank[k] = r as u32;
    }
    // Rule ids ranked once too: the order is found by sorting small keys (a finding is
    // a few hundred bytes, moved many times by a sort, and read from all over memory by
    // a comparison), then the findings are put in place. Only findings of one rule on
    // one row (DQ-003's cells) compare their column letters.
    let order: Vec<usize> = {
        let rule_rank: PlHashMap<&str, u32> = {
            let ids: PlHashSet<&str> = findings.iter().map(|(_, f)| f.rule_id.as_str()).collect();
            let mut ids: Vec<&str> = ids.into_iter().collect();
            ids.sort_unstable();
            ids.into_iter().zip(0..).collect()
        };
        let mut keys: Vec<(u32, u32, u32, u32)> = findings
            .par_iter()
            .enumerate()
            .map(|(k, (i, f))| {
                (
                    rank[table.input[*i] as usize],
                    f.source.row,
                    rule_rank[f.rule_id.as_str()],
                    k as u32,
                )
            })
            .collect();
        let column = |k: u32| findings[k as usize].1.source.column.as_deref();
        keys.par_sort_unstable_by(|a, b| {
            (a.0, a.1, a.2)
                .cmp(&(b.0, b.1, b.2))
                .then_with(|| column(a.3).cmp(&column(b.3)))
                .then(a.3.cmp(&b.3))
        });
        keys.into_iter().map(|k| k.3 as usize).collect()
    };
    permute(&mut findings, order);
    lap("findings and evidence");
    for (k, n) in publication.not_evaluated {
        inputs[k].not_evaluated.push(n);
    }
    let table = std::sync::Arc::new(table);
    let scores = score(pack, &table, &findings, &inputs);
    lap("scores");

    let mut warnings = Vec::new();
    if !outside_years.is_empty() {
        let ys: Vec<String> = outside_years.iter().map(|y| y.to_string()).collect();
        warnings.push(format!(
            "部分案件日期所在年份（{}）不在工作日历内，相关工作日时限规则对这些案件无法判断；请在规则包 calendar/ 中补充这些年份",
            ys.join("、")
        ));
    }
    for (k, inp) in inputs.iter().enumerate() {
        if !has_agency[k] && opts.agency.is_none() {
            warnings.push(format!("{} {}：没有执法单位列", inp.file, inp.sheet));
        }
    }
    let rows_read = inputs.iter().map(|i| i.rows).sum();
    let cases_audited = inputs.iter().map(|i| i.cases).sum();
    let rows_rejected = inputs.iter().map(|i| i.rejected).sum();
    let had_input_errors = !errors.is_empty();
    Ok(Audit {
        report: AuditReport {
            tool: ToolInfo {
                name: "caseaudit".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            run: RunInfo {
                as_of: as_of_text,
                profile: opts.profile.clone(),
                pack: PackInfo {
                    name: pack.name.clone(),
                    version: pack.version.clone(),
                    source: pack.source.clone(),
                },
                inputs,
                errors,
                warnings,
                rows_read,
                cases_audited,
                rows_rejected,
                rules: statuses,
                published: publication.published,
                published_summary: publication.summary,
                // Labels for the texts people read.
                field_labels: pack
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), f.label.clone()))
                    .collect(),
            },
            findings: findings.into_iter().map(|(_, f)| f).collect(),
            scores,
        },
        had_input_errors,
        cases: table,
        published: records,
        timings,
    })
}

/// Puts `items` in the order `order` gives (a permutation of their indices: item
/// `order[k]` goes to place `k`), each moved along its cycle.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        // Place `k` takes the item at `order[k]`; a place done points to itself.
        let mut k = start;
        while order[k] != start {
            let from = order[k];
            items.swap(k, from);
            order[k] = k;
            k = from;
        }
        order[k] = k;
    }
}

pub(crate) fn rule_status(
    rule: &Rule,
    inputs: &[InputSummary],
    findings: u64,
    not_evaluable: u64,
) -> RuleStatus {
    let skipped_everywhere = !inputs.is_empty()
        && inputs
            .iter()
            .all(|i| i.not_evaluated.iter().any(|n| n.rule_id == rule.id));
    let mut missing: Vec<String> = Vec::new();
    if skipped_everywhere {
        for i in inputs {
            for n in i.not_evaluated.iter().filter(|n| n.rule_id == rule.id) {
                for f in &n.missing_fields {
                    if !missing.contains(f) {
                        missing.push(f.clone());
                    }
                }
            }
        }
    }
    RuleStatus {
        id: rule.id.clone(),
        system: rule.system.into(),
        severity: rule.severity.into(),
        title: rule.title.clone(),
        basis: rule.basis.clone(),
        rectification: rule.rectification.clone(),
        deduction: rule.deduction,
        veto: rule.veto,
        evaluated: !inputs.is_empty() && !skipped_everywhere,
        missing_fields: missing,
        not_evaluable,
        findings,
    }
}

fn builtin_status(rule: &Rule, findings: u64) -> RuleStatus {
    RuleStatus {
        id: rule.id.clone(),
        system: rule.system.into(),
        severity: rule.severity.into(),
        title: rule.title.clone(),
        basis: rule.basis.clone(),
        rectification: rule.rectification.clone(),
        deduction: rule.deduction,
        veto: rule.veto,
        evaluated: true,
        missing_fields: Vec::new(),
        not_evaluable: 0,
        findings,
    }
}

/// How many other rows a DQ-002 finding names (the rest are counted).
const DUPLICATES_NAMED: usize = 10;

/// Rows whose (agency, case number) occurs more than once in the run, each with the
/// places of the others. Case numbers are compared by their key ([`case_key_ref`]);
/// a NULL agency is one group.
fn duplicates(table: &CaseTable) -> Vec<(usize, Vec<String>, usize)> {
    use std::hash::BuildHasher;
    let (Some(ids), agencies) = (table.column("case_id"), table.column("agency")) else {
        return Vec::new();
    };
    // Agencies by folded name: few distinct texts, each folded once.
    let mut agency_of = vec![0u32; table.len()];
    if let Some(a) = agencies {
        let mut raw: PlHashMap<&str, u32> = Default::default();
        let mut folded: HashMap<String, u32> = HashMap::new();
        for (i, slot) in agency_of.iter_mut().enumerate() {
            if let Some(t) = a.text(i) {
                *slot = *raw.entry(t).or_insert_with(|| {
                    let n = folded.len() as u32 + 1;
                    *folded.entry(fold(t)).or_insert(n)
                });
            }
        }
    }
    // Each row's key hashed in parallel (the keys are made again for the few rows
    // whose hashes meet: kept for every row, they would be tens of bytes a case); equal
    // hashes sorted together, then compared exactly.
    let key = |i: usize| Some((agency_of[i], case_key_ref(ids.text(i)?)));
    let hasher = polars::prelude::PlRandomState::default();
    let mut hashed: Vec<(u64, u32)> = (0..table.len())
        .into_par_iter()
        .filter_map(|i| Some((hasher.hash_one(key(i)?), i as u32)))
        .collect();
    hashed.par_sort_unstable();
    let mut out = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    for run in hashed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        // One hash, almost always one key: group the run's rows by key exactly.
        let mut left: Vec<(usize, _)> = run
            .iter()
            .map(|&(_, i)| (i as usize, key(i as usize)))
            .collect();
        while let Some((_, first)) = left.first() {
            let first = first.clone();
            rows.clear();
            left.retain(|(i, k)| {
                let same = *k == first;
                if same {
                    rows.push(*i);
                }
                !same
            });
            if rows.len() < 2 {
                continue;
            }
            for &i in &rows {
                // The first DUPLICATES_NAMED others are named; the rest only counted.
                let named = rows
                    .iter()
                    .filter(|&&j| j != i)
                    .take(DUPLICATES_NAMED)
                    .map(|&j| format!("第 {} 行（输入 {}）", table.row[j], table.input[j] + 1))
                    .collect();
                out.push((i, named, rows.len() - 1));
            }
        }
    }
    out.sort_by_key(|(i, _, _)| *i);
    out
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        // Orders with fixed points, one long cycle, several cycles, and a reversal.
        let orders: Vec<Vec<usize>> = vec![
            vec![],
            vec![0],
            vec![0, 1, 2, 3],
            vec![1, 2, 3, 4, 0],
            vec![2, 0, 1, 4, 3, 5],
            (0..9).rev().collect(),
            (0..50).map(|k| (k * 7) % 50).collect(),
        ];
        for order in orders {
            let items: Vec<String> = (0..order.len()).map(|k| format!("item {k}")).collect();
            let expected: Vec<String> = order.iter().map(|&k| items[k].clone()).collect();
            let mut got = items.clone();
            permute(&mut got, order.clone());
            assert_eq!(got, expected, "order {order:?}");
        }
    }
}
