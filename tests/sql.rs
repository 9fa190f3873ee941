//! `caseaudit rules sql` run by DuckDB and by a real Spark (pyspark, local mode) gives
//! the same (case, rule) findings as the audit, on the fixtures and on generated
//! batches. `.ci/run` installs pip's duckdb and pyspark (Java 17 is on the image); set
//! CASEAUDIT_SKIP_DUCKDB=1 / CASEAUDIT_SKIP_SPARK=1 to skip on a machine without them.

use super::{caseaudit, diff, multiset, read_json, root, RunOk};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command as Process;

fn skip(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// A SQL engine the compiled pack runs on.
#[derive(Clone, Copy)]
enum Sql {
    DuckDb,
    Spark,
}

impl Sql {
    fn dialect(self) -> &'static str {
        match self {
            Sql::DuckDb => "duckdb",
            Sql::Spark => "spark",
        }
    }
    fn script(self) -> &'static str {
        match self {
            Sql::DuckDb => "scripts/run_duckdb.py",
            Sql::Spark => "scripts/run_spark.py",
        }
    }
}

/// One audit and its compiled query, ready for a SQL engine.
struct Job {
    _dir: tempfile::TempDir,
    report: serde_json::Value,
    query: std::path::PathBuf,
    cases: std::path::PathBuf,
    cal: std::path::PathBuf,
    profile: String,
    as_of: String,
}

fn job(sql_engine: Sql, inputs: &[&Path], profile: &str, as_of: &str) -> Job {
    job_with(sql_engine, inputs, &[], profile, as_of)
}

/// A job whose audit gets more options (publication records).
fn job_with(
    sql_engine: Sql,
    inputs: &[&Path],
    options: &[&str],
    profile: &str,
    as_of: &str,
) -> Job {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    caseaudit()
        .current_dir(root())
        .args([
            "audit",
            "--quiet",
            "--format",
            "json,cases",
            "--profile",
            profile,
            "--as-of",
            as_of,
            "--out",
        ])
        .arg(&out)
        .args(options)
        .args(inputs)
        .run_ok();
    let report = read_json(&out.join("findings.json"));
    let query = dir.path().join("q.sql");
    let cal = dir.path().join("calendar.csv");
    let o = caseaudit()
        .args([
            "rules",
            "sql",
            "--dialect",
            sql_engine.dialect(),
            "--profile",
            profile,
            "--as-of",
            as_of,
            "--calendar-table",
        ])
        .arg(&cal)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(&query, &o.stdout).unwrap_or_else(|e| panic!("{e}"));
    Job {
        report,
        query,
        cases: out.join("cases.parquet"),
        cal,
        profile: profile.into(),
        as_of: as_of.into(),
        _dir: dir,
    }
}

/// Runs every job's query on the engine (one process for all: a Spark session takes
/// long to start); each job's output lines.
fn run_jobs(sql_engine: Sql, jobs: &[Job]) -> Vec<String> {
    let mut cmd = Process::new("python3");
    cmd.arg(root().join(sql_engine.script()));
    for j in jobs {
        cmd.arg(&j.query).arg(&j.cases).arg(&j.cal);
    }
    let o = cmd.output().unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        o.status.success(),
        "{} failed (pip install duckdb pyspark): {}",
        sql_engine.dialect(),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("#job") {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    if jobs.len() == 1 && out.is_empty() {
        out.push(text.clone());
    }
    assert_eq!(out.len(), jobs.len(), "{text}");
    out
}

/// The findings of one job's query against its audit's: equal as multisets.
fn check(sql_engine: Sql, job: &Job, stdout: &str) -> usize {
    let (report, profile, as_of) = (&job.report, &job.profile, &job.as_of);
    // Where each case came from, and which rules did not run on each input.
    let mut input_of: HashMap<(String, String), String> = HashMap::new();
    for c in report["scores"]["cases"].as_array().into_iter().flatten() {
        let key = (
            c["agency"].as_str().unwrap_or("").to_string(),
            c["case_id"].as_str().unwrap_or("").to_string(),
        );
        input_of.insert(
            key,
            format!(
                "{}|{}",
                c["source"]["file"].as_str().unwrap_or(""),
                c["source"]["sheet"].as_str().unwrap_or("")
            ),
        );
    }
    let mut skipped: HashSet<(String, String)> = HashSet::new();
    for i in report["run"]["inputs"].as_array().into_iter().flatten() {
        let at = format!(
            "{}|{}",
            i["file"].as_str().unwrap_or(""),
            i["sheet"].as_str().unwrap_or("")
        );
        for n in i["not_evaluated"].as_array().into_iter().flatten() {
            skipped.insert((at.clone(), n["rule_id"].as_str().unwrap_or("").to_string()));
        }
    }
    let sql = multiset(stdout.lines().filter_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        let key = (
            v[1].as_str().unwrap_or("").to_string(),
            v[0].as_str().unwrap_or("-").to_string(),
            v[2].as_str().unwrap_or("").to_string(),
        );
        let at = input_of
            .get(&(key.0.clone(), key.1.clone()))
            .cloned()
            .unwrap_or_default();
        (!skipped.contains(&(at, key.2.clone()))).then_some(key)
    }));
    let engine = multiset(
        report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule_id"] != "DQ-003")
            .map(|f| {
                (
                    f["agency"].as_str().unwrap_or("").to_string(),
                    f["case_id"].as_str().unwrap_or("-").to_string(),
                    f["rule_id"].as_str().unwrap_or("").to_string(),
                )
            }),
    );
    let diff = diff(&engine, &sql);
    assert!(
        diff.is_empty(),
        "audit and {} disagree ({profile}, {as_of}):\n{diff}",
        sql_engine.dialect()
    );
    engine.values().sum()
}

/// A canonical CSV of `n` cases whose fields cycle through boundary values.
fn generated_batch(path: &Path, n: usize, seed: u64) {
    let pack = caseaudit_rules::RulePack::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let start = caseaudit_rules::calendar::parse_iso("2019-11-01").unwrap_or_default();
    let mut w = csv::Writer::from_path(path).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = pack.fields.iter().map(|f| f.name.clone()).collect();
    w.write_record(&names).unwrap_or_else(|e| panic!("{e}"));
    let money = [
        "0", "199", "200", "201", "500", "2000", "2999", "3000", "3001", "10000", "20000", "100000",
    ];
    for i in 0..n {
        let mut row = Vec::new();
        for f in pack.fields.iter() {
            let r = next();
            let v = if r % 6 == 0 && f.name != "agency" {
                String::new()
            } else {
                match f.ty {
                    caseaudit_rules::FieldType::Date => {
                        caseaudit_rules::calendar::format_day(start + (r % 1300) as i32)
                    }
                    caseaudit_rules::FieldType::Bool => {
                        if r % 2 == 0 { "true" } else { "false" }.into()
                    }
                    caseaudit_rules::FieldType::Money => money[r % money.len()].into(),
                    caseaudit_rules::FieldType::Enum => {
                        f.vocabulary[r % f.vocabulary.len()].clone()
                    }
                    caseaudit_rules::FieldType::List if f.has_vocabulary() => {
                        let k = 1 + r % 2;
                        (0..k)
                            .map(|j| f.vocabulary[(r / 7 + j * 3) % f.vocabulary.len()].clone())
                            .collect::<Vec<_>>()
                            .join("、")
                    }
                    caseaudit_rules::FieldType::List => (0..1 + r % 3)
                        .map(|j| format!("人员{j}"))
                        .collect::<Vec<_>>()
                        .join("、"),
                    caseaudit_rules::FieldType::Text if f.name == "case_id" => {
                        format!("G-{}", i % (n - 3))
                    }
                    caseaudit_rules::FieldType::Text if f.name == "agency" => {
                        format!("局{}", r % 3)
                    }
                    caseaudit_rules::FieldType::Text => format!("T{}", r % 5),
                }
            };
            row.push(v);
        }
        w.write_record(&row).unwrap_or_else(|e| panic!("{e}"));
    }
    w.flush().unwrap_or_else(|e| panic!("{e}"));
}

/// The fixtures (two profiles) and three generated batches, on one SQL engine.
fn runs_the_same_rules(sql_engine: Sql) {
    let fixtures = root().join("fixtures/ledgers");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut jobs = Vec::new();
    for profile in ["national", "jiangxi"] {
        jobs.push((job(sql_engine, &[&fixtures], profile, "2022-12-31"), 30));
    }
    // Publication records (PUB-008, PUB-009, PUB-001 for cases published without a
    // ledger date), with the default coverage date and a later one.
    let market = root().join("fixtures/ledgers/market-2022.xlsx");
    for until in [None, Some("2022-12-31")] {
        let mut options = vec![
            "--published",
            "fixtures/published/market-platform-2022.xlsx",
        ];
        if let Some(u) = until {
            options.extend(["--published-until", u]);
        }
        let j = job_with(sql_engine, &[&market], &options, "national", "2022-12-31");
        let pub_findings = j.report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule_id"] == "PUB-008" || f["rule_id"] == "PUB-009")
            .count();
        assert!(pub_findings >= 8, "{pub_findings} PUB-008/PUB-009 findings");
        jobs.push((j, 30));
    }
    for (seed, profile, as_of) in [
        (1, "national", "2022-12-31"),
        (2, "jiangxi", "2021-06-30"),
        (3, "public-security", "2023-03-01"),
    ] {
        let batch = dir.path().join(format!("batch{seed}.csv"));
        generated_batch(&batch, 2000, seed);
        jobs.push((job(sql_engine, &[&batch], profile, as_of), 2000));
    }
    let (jobs, least): (Vec<Job>, Vec<usize>) = jobs.into_iter().unzip();
    for ((j, out), least) in jobs.iter().zip(run_jobs(sql_engine, &jobs)).zip(least) {
        let n = check(sql_engine, j, &out);
        assert!(n > least, "only {n} findings ({}, {})", j.profile, j.as_of);
    }
}

#[test]
fn duckdb_runs_the_same_rules() {
    if skip("CASEAUDIT_SKIP_DUCKDB") {
        eprintln!("CASEAUDIT_SKIP_DUCKDB=1: DuckDB differential test skipped");
        return;
    }
    runs_the_same_rules(Sql::DuckDb);
}

#[test]
fn spark_runs_the_same_rules() {
    if skip("CASEAUDIT_SKIP_SPARK") {
        eprintln!("CASEAUDIT_SKIP_SPARK=1: Spark differential test skipped");
        return;
    }
    runs_the_same_rules(Sql::Spark);
}
