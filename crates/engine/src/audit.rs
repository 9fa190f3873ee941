//! The audit: read every input, map and normalise, evaluate the pack, and gather
//! findings, accounting and scores.

use crate::cell::{column_letter, Cell, RawSheet};
use crate::evaluate::Compiler;
use crate::header::{detect, AliasIndex, Header};
use crate::load::{expand_inputs, read_file, InputFile};
use crate::model::*;
use crate::normalize::{normalize, Typed};
use crate::score::score;
use crate::table::{CaseTable, ColumnData};
use caseaudit_rules::calendar::{format_day, from_day};
use caseaudit_rules::expr::{EvalContext, Val};
use caseaudit_rules::fields::fold;
use caseaudit_rules::message::MessageRenderer;
use caseaudit_rules::{Day, Rule, RuleKind, RulePack};
use chrono::Datelike;
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How to run an audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub as_of: Day,
    pub profile: String,
    /// Fills the agency of inputs that have no agency column.
    pub agency: Option<String>,
}

/// Errors that stop the whole run (a file error does not: it is reported in the run).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Pack(#[from] caseaudit_rules::PackError),
    #[error("规则求值失败（{rule}）：{reason}")]
    Evaluate { rule: String, reason: String },
}

/// A cell that could not be read.
#[derive(Debug, Clone)]
struct CellProblem {
    row_index: usize,
    field: String,
    column: usize,
    header: String,
    raw: String,
    problem: String,
}

/// One rule's findings (with their table rows), its status, and the years outside the
/// calendar that kept it from deciding some cases.
type RuleOutcome = (Vec<(usize, Finding)>, RuleStatus, BTreeSet<i32>);

/// One ledger sheet, mapped and normalised.
struct SheetCases {
    summary: InputSummary,
    table: CaseTable,
    problems: Vec<CellProblem>,
    /// Field → column letter, for the cells a finding points at.
    columns: HashMap<String, String>,
    has_agency: bool,
}

/// Reads one file into its ledger sheets, or a file error.
enum FileResult {
    Sheets(Vec<SheetCases>, Vec<InputError>),
    Error(InputError),
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

/// Maps and normalises one sheet whose header was found.
fn sheet_cases(
    sheet: &RawSheet,
    header: &Header,
    pack: &RulePack,
    agency: Option<&str>,
) -> SheetCases {
    let fields = &pack.fields;
    let data = &sheet.rows[header.data_start.min(sheet.rows.len())..];
    let mut table = CaseTable::empty(fields);
    let mut problems = Vec::new();
    let mut empty = 0u64;
    let mut rejected = 0u64;
    let mut notes = Vec::new();
    let header_texts: Vec<String> = header.columns.iter().map(|c| fold(&c.header)).collect();
    let col_of: Vec<Option<usize>> = fields
        .iter()
        .map(|f| header.fields.get(&f.name).copied())
        .collect();
    let mut kept: Vec<&(u32, Vec<Cell>)> = Vec::with_capacity(data.len());
    let mut rejected_rows = Vec::new();
    let case_col = header.fields.get("case_id").copied();
    for r in data {
        if r.1.iter().all(Cell::is_empty) {
            empty += 1;
            continue;
        }
        // [inputs hook] Totals, sign-off and note rows are not cases (crate::rows).
        if let Some(reason) = crate::rows::non_case_cells(&r.1, case_col, &fields.words) {
            rejected += 1;
            rejected_rows.push(RejectedRow { row: r.0, reason });
            continue;
        }
        // A header repeated inside the data (multi-page exports) is not a case. The
        // first column is compared first so that ordinary rows cost one comparison.
        let first_matches = header.columns.first().is_some_and(|c| {
            let i = crate::header_col_index(&c.column);
            r.1.get(i)
                .is_some_and(|x| fold(&x.display()) == header_texts[0])
        });
        if !first_matches {
            kept.push(r);
            continue;
        }
        let texts: Vec<String> = header
            .columns
            .iter()
            .map(|c| {
                let i = crate::header_col_index(&c.column);
                r.1.get(i).map(|x| fold(&x.display())).unwrap_or_default()
            })
            .collect();
        if texts == header_texts {
            rejected += 1;
            notes.push(format!("第 {} 行是重复的表头，未作为案件", r.0));
            rejected_rows.push(RejectedRow {
                row: r.0,
                reason: "重复的表头，不是案件".into(),
            });
            continue;
        }
        kept.push(r);
    }
    // Fields are normalised in parallel; within a column, repeated texts (the same
    // dates, words and options recur all over a ledger) are read once.
    let columns: Vec<(ColumnData, Vec<CellProblem>)> = fields
        .iter()
        .collect::<Vec<_>>()
        .par_iter()
        .enumerate()
        .map(|(fi, f)| normalize_column(sheet, header, f, col_of[fi], &kept, &fields.words, agency))
        .collect();
    for (fi, (data, ps)) in columns.into_iter().enumerate() {
        table.columns[fi].1 = data;
        problems.extend(ps);
    }
    problems.sort_by_key(|p| (p.row_index, p.column));
    table.row = kept.iter().map(|r| r.0).collect();
    table.input = vec![0; kept.len()];
    // [inputs hook] A field with an implied value (header.implied) is not missing.
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| !header.fields.contains_key(&f.name) && header.implied_value(&f.name).is_none())
        .map(|f| f.name.clone())
        .collect();
    let mut not_evaluated = Vec::new();
    for r in &pack.rules {
        if r.kind != RuleKind::Condition || r.status != "active" {
            continue;
        }
        let absent: Vec<String> = r
            .requires
            .iter()
            .filter(|f| missing.contains(f))
            .cloned()
            .collect();
        if !absent.is_empty() {
            not_evaluated.push(NotEvaluated {
                rule_id: r.id.clone(),
                missing_fields: absent,
            });
        }
    }
    let has_agency = header.fields.contains_key("agency");
    if !has_agency && agency.is_none() {
        notes.push(
            "台账没有执法单位列，案件的执法单位记为「未注明执法单位」（可用 --agency 指定）".into(),
        );
    }
    let columns = header
        .fields
        .iter()
        .map(|(f, c)| (f.clone(), column_letter(*c)))
        .collect();
    let cases = kept.len() as u64;
    SheetCases {
        summary: InputSummary {
            file: sheet.file.clone(),
            sheet: sheet.sheet.clone(),
            rows: cases + rejected,
            cases,
            rejected,
            empty_rows_skipped: empty,
            header_rows: header.rows.clone(),
            columns: header.columns.clone(),
            missing_fields: missing,
            not_evaluated,
            notes,
            rejected_rows,
            implied: header.implied.clone(),
        },
        table,
        problems,
        columns,
        has_agency,
    }
}

/// Normalises one field's column of a sheet.
fn normalize_column(
    sheet: &RawSheet,
    header: &Header,
    f: &caseaudit_rules::Field,
    col: Option<usize>,
    kept: &[&(u32, Vec<Cell>)],
    words: &caseaudit_rules::fields::ValueWords,
    agency: Option<&str>,
) -> (ColumnData, Vec<CellProblem>) {
    let mut data = ColumnData::new(f.ty, kept.len());
    let mut problems = Vec::new();
    let Some(c) = col else {
        // [inputs hook] An absent field is filled by --agency or by a value its header
        // implies (header.implied); otherwise NULL.
        let fill = if f.name == "agency" {
            agency
        } else {
            header.implied_value(&f.name)
        };
        for _ in kept {
            data.push(
                fill.map(|a| Typed::Text(a.to_string()))
                    .unwrap_or(Typed::Null),
            );
        }
        return (data, problems);
    };
    let scale = header.scale.get(&c).copied().unwrap_or(1.0);
    let shown = header
        .columns
        .iter()
        .find(|m| m.field.as_deref() == Some(f.name.as_str()))
        .map(|m| m.header.replace(['\r', '\n'], " "))
        .unwrap_or_default();
    const MEMO_LIMIT: usize = 200_000;
    let mut memo: HashMap<&str, (Typed, Option<String>)> = HashMap::new();
    let empty = Cell::Empty;
    for (ri, r) in kept.iter().enumerate() {
        let cell = r.1.get(c).unwrap_or(&empty);
        let (v, problem) = match cell {
            Cell::Text(t) if f.ty != caseaudit_rules::FieldType::Text => match memo.get(t.as_str())
            {
                Some(hit) => hit.clone(),
                None => {
                    let out = normalize(cell, f, words, scale, sheet.date1904);
                    if memo.len() < MEMO_LIMIT {
                        memo.insert(t.as_str(), out.clone());
                    }
                    out
                }
            },
            _ => normalize(cell, f, words, scale, sheet.date1904),
        };
        if let Some(p) = problem {
            problems.push(CellProblem {
                row_index: ri,
                field: f.name.clone(),
                column: c,
                header: shown.clone(),
                raw: cell.display(),
                problem: p,
            });
        }
        data.push(v);
    }
    (data, problems)
}

fn read_one(path: &Path, pack: &RulePack, index: &AliasIndex, agency: Option<&str>) -> FileResult {
    let display = display_path(path);
    let sheets = match read_file(path, &display) {
        Ok(s) => s,
        Err(e) => {
            return FileResult::Error(InputError {
                file: display,
                sheet: None,
                kind: e.kind,
                reason: e.reason,
            })
        }
    };
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for s in &sheets {
        match detect(s, &pack.fields, index) {
            Some(h) => out.push(sheet_cases(s, &h, pack, agency)),
            None => skipped.push(s.sheet.clone()),
        }
    }
    if out.is_empty() {
        let (kind, reason) = if sheets
            .iter()
            .all(|s| s.rows.iter().all(|r| r.1.iter().all(Cell::is_empty)))
        {
            (ErrorKind::NoContent, "文件没有内容".to_string())
        } else {
            (
                ErrorKind::NoHeader,
                "没有找到可识别的台账表头（至少需要识别出案件编号等 2–3 个字段）".to_string(),
            )
        };
        return FileResult::Error(InputError {
            file: display,
            sheet: None,
            kind,
            reason,
        });
    }
    // [inputs hook] Hidden columns are data; inspect marks them (xlsx, ods).
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
    pub report: AuditReport,
    /// Whether any input could not be read (exit code 2).
    pub had_input_errors: bool,
    /// The audited cases, typed (for `cases.parquet`).
    pub cases: CaseTable,
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
    // [inputs hook] An as-of outside the calendar is not an error: warn (crate::coverage).
    let calendar_warnings = crate::coverage::as_of_warnings(pack, &calendar, opts.as_of);
    let started = std::time::Instant::now();
    let index = AliasIndex::new(&pack.fields);
    let files = expand_inputs(inputs);
    progress(Progress::Files(files.len()));
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|f| {
            let r = match f {
                InputFile::File(p) => read_one(p, pack, &index, opts.agency.as_deref()),
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
    progress(Progress::Evaluating);

    let mut errors = Vec::new();
    let mut sheets: Vec<SheetCases> = Vec::new();
    for r in results {
        match r {
            FileResult::Sheets(s, e) => {
                sheets.extend(s);
                errors.extend(e);
            }
            FileResult::Error(e) => errors.push(e),
        }
    }
    let read = started.elapsed();
    let mut audit = evaluate_sheets(pack, &params, &calendar, opts, sheets, errors)?;
    audit.report.run.warnings.extend(calendar_warnings); // [inputs hook]
    audit.timings.insert(0, ("read and normalise", read));
    Ok(audit)
}

fn evaluate_sheets(
    pack: &RulePack,
    params: &caseaudit_rules::ParamValues,
    calendar: &caseaudit_rules::Calendar,
    opts: &AuditOptions,
    sheets: Vec<SheetCases>,
    errors: Vec<InputError>,
) -> Result<Audit, AuditError> {
    // One table for the run; problems and columns stay per input.
    let mut table = CaseTable::empty(&pack.fields);
    let mut offsets = Vec::new();
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    let mut skip: Vec<HashSet<String>> = Vec::new();
    let mut has_agency = Vec::new();
    for (k, s) in sheets.into_iter().enumerate() {
        let offset = table.len();
        offsets.push(offset);
        let mut t = s.table;
        t.input = vec![k as u32; t.len()];
        table.append(t);
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

    let mut clock = std::time::Instant::now();
    let mut timings = Vec::new();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    lap("combine inputs");
    let rules: Vec<&Rule> = pack.rules.iter().filter(|r| r.status == "active").collect();
    let mut compiler = Compiler::new(pack, params, calendar, opts.as_of);
    let hits = compiler
        .run(&table, &rules)
        .map_err(|reason| AuditError::Evaluate {
            rule: "*".into(),
            reason,
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
    let text_of = |field: &str, i: usize| -> Option<String> {
        match table.val(field, i) {
            Val::Text(s) => Some(s),
            _ => None,
        }
    };

    // One finding of `rule` on table row `i`; every finding is built here.
    let finding = |rule: &Rule,
                   i: usize,
                   message: String,
                   evidence: Map<String, Value>,
                   cells: Vec<String>| Finding {
        case_id: text_of("case_id", i),
        agency: text_of("agency", i),
        rule_id: rule.id.clone(),
        system: rule.system.key().into(),
        severity: rule.severity.key().into(),
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
    let params_value = Value::Object(params_json);
    let per_rule: Vec<RuleOutcome> = rules
        .par_iter()
        .enumerate()
        .map(|(ri, rule)| {
            let h = &hits[ri];
            let evidence_fields = rule.evidence_fields();
            let pointed = rule.violation_fields();
            let day_counts: Vec<(String, caseaudit_rules::expr::Expr)> = rule
                .applies
                .iter()
                .chain(rule.violation.iter())
                .flat_map(|e| e.day_counts().into_iter().map(|(n, x)| (n, x.clone())))
                .collect();
            let mut found = Vec::new();
            for &i in &h.fired {
                let k = table.input[i] as usize;
                if skip[k].contains(&rule.id) {
                    continue;
                }
                let mut evidence = Map::new();
                for f in &evidence_fields {
                    evidence.insert(f.clone(), table.val(f, i).to_json());
                }
                if !day_counts.is_empty() {
                    let case = table.case(i);
                    for (name, x) in &day_counts {
                        let v = ctx.eval(x, &case).to_json();
                        evidence.entry(name.clone()).or_insert(v);
                    }
                }
                let mut tctx: Map<String, Value> = evidence
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                tctx.insert("as_of".into(), as_of_text.clone().into());
                tctx.insert("params".into(), params_value.clone());
                let message = renderer.render(&rule.id, &Value::Object(tctx), &rule.title);
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
                for (name, _) in table.columns.iter() {
                    if let Val::Date(d) = table.val(name, i) {
                        if !calendar.covers(d) {
                            years.insert(from_day(d).year());
                        }
                    }
                }
            }
            let status = rule_status(rule, &inputs, found.len() as u64, not_evaluable);
            (found, status, years)
        })
        .collect();
    let mut findings: Vec<(usize, Finding)> = Vec::new();
    let mut statuses = Vec::new();
    let mut outside_years: BTreeSet<i32> = BTreeSet::new();
    for (f, status, years) in per_rule {
        findings.extend(f);
        statuses.push(status);
        outside_years.extend(years);
    }

    // Engine-computed rules.
    if let Some(rule) = pack.rule("DQ-002").filter(|r| r.kind == RuleKind::Builtin) {
        let found = duplicates(&table);
        let n = found.len() as u64;
        for (i, others) in found {
            let id = text_of("case_id", i).unwrap_or_default();
            let k = table.input[i] as usize;
            let mut evidence = Map::new();
            evidence.insert("case_id".into(), id.clone().into());
            evidence.insert(
                "agency".into(),
                text_of("agency", i).map(Value::from).unwrap_or(Value::Null),
            );
            evidence.insert("rows".into(), Value::from(others.clone()));
            let message = format!("案件编号「{id}」重复，另见：{}", others.join("；"));
            let cells = columns[k].get("case_id").cloned().into_iter().collect();
            findings.push((i, finding(rule, i, message, evidence, cells)));
        }
        statuses.push(builtin_status(rule, n));
    }
    if let Some(rule) = pack.rule("DQ-003").filter(|r| r.kind == RuleKind::Builtin) {
        let mut n = 0u64;
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
    statuses.sort_by(|a, b| a.id.cmp(&b.id));

    findings.sort_by(|(_, a), (_, b)| {
        (
            &a.source.file,
            &a.source.sheet,
            a.source.row,
            &a.rule_id,
            &a.source.column,
        )
            .cmp(&(
                &b.source.file,
                &b.source.sheet,
                b.source.row,
                &b.rule_id,
                &b.source.column,
            ))
    });
    lap("findings and evidence");
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
                // [inputs hook] labels for the texts people read.
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
        timings,
    })
}

fn rule_status(
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
        system: rule.system.key().into(),
        severity: rule.severity.key().into(),
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
        system: rule.system.key().into(),
        severity: rule.severity.key().into(),
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

/// Rows whose (agency, case number) occurs more than once in the run, each with the
/// places of the others. Case numbers are compared after trimming and NFKC folding;
/// a NULL agency is one group.
fn duplicates(table: &CaseTable) -> Vec<(usize, Vec<String>)> {
    let mut groups: HashMap<(Option<String>, String), Vec<usize>> = HashMap::new();
    for i in 0..table.len() {
        let Val::Text(id) = table.val("case_id", i) else {
            continue;
        };
        let agency = match table.val("agency", i) {
            Val::Text(a) => Some(fold(&a)),
            _ => None,
        };
        groups.entry((agency, fold(&id))).or_default().push(i);
    }
    let mut out = Vec::new();
    for rows in groups.values().filter(|r| r.len() > 1) {
        for &i in rows {
            let others = rows
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| format!("第 {} 行（输入 {}）", table.row[j], table.input[j] + 1))
                .collect();
            out.push((i, others));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}
