//! CLI tests: the real binary on the shipped fixtures and packs.

mod broken;
mod browser;
mod columns;
pub mod fuzz_replay;
mod hostile;
mod inputs;
mod published;
mod serve;
mod sql;
mod truth;

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command that must succeed; its output.
trait RunOk {
    fn run_ok(&mut self) -> std::process::Output;
}

impl RunOk for Command {
    fn run_ok(&mut self) -> std::process::Output {
        let o = self.output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }
}

fn caseaudit() -> Command {
    Command::cargo_bin("caseaudit").unwrap_or_else(|e| panic!("{e}"))
}

fn serde_json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (case id, rule id) → count, from findings.json of one input file.
fn found(report: &serde_json::Value, file_suffix: &str) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        let file = f["source"]["file"].as_str().unwrap_or("");
        if !file.ends_with(file_suffix) {
            continue;
        }
        let case = f["case_id"].as_str().unwrap_or("-").to_string();
        let rule = f["rule_id"].as_str().unwrap_or("").to_string();
        *out.entry((case, rule)).or_insert(0) += 1;
    }
    out
}

fn expected(path: &Path) -> BTreeMap<(String, String), usize> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (case, rule) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        *out.entry((case.trim().to_string(), rule.trim().to_string()))
            .or_insert(0) += 1;
    }
    out
}

/// Counts of each key: findings compared as multisets.
fn multiset<K: Ord>(keys: impl Iterator<Item = K>) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// Where two multisets of findings differ, one line each; empty when they agree.
fn diff<K: Ord + std::fmt::Debug>(want: &BTreeMap<K, usize>, got: &BTreeMap<K, usize>) -> String {
    let mut s = String::new();
    for (k, n) in want {
        let g = got.get(k).copied().unwrap_or(0);
        if g != *n {
            s.push_str(&format!("  {k:?}: expected {n}, found {g}\n"));
        }
    }
    for (k, g) in got {
        if !want.contains_key(k) {
            s.push_str(&format!("  {k:?}: unexpected ×{g}\n"));
        }
    }
    s
}

fn audit_fixtures(profile: &str) -> (tempfile::TempDir, serde_json::Value) {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let assert = caseaudit()
        .current_dir(root())
        .args([
            "audit",
            "fixtures/ledgers",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,csv",
        ])
        .args(["--profile", profile, "--out"])
        .arg(out.path())
        .assert();
    let code = assert.get_output().status.code();
    assert_eq!(
        code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&assert.get_output().stderr)
    );
    let report = read_json(&out.path().join("findings.json"));
    (out, report)
}

#[test]
fn fixtures_give_the_expected_findings_for_two_profiles() {
    let dir = root().join("fixtures/expected");
    let mut checked = 0;
    for profile in ["national", "jiangxi"] {
        let (_out, report) = audit_fixtures(profile);
        let mut failures = String::new();
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix(&format!(".{profile}.tsv")) else {
                continue;
            };
            let got = found(&report, stem);
            let want = expected(&e.path());
            let d = diff(&want, &got);
            if !d.is_empty() {
                failures.push_str(&format!("{stem} ({profile}):\n{d}"));
            }
            checked += 1;
        }
        assert!(
            failures.is_empty(),
            "findings differ from fixtures/expected:\n{failures}"
        );
    }
    assert!(checked >= 4, "only {checked} expected files checked");
}

#[test]
fn every_row_is_accounted_for() {
    let (_out, report) = audit_fixtures("national");
    let run = &report["run"];
    let mut rows = 0;
    let mut cases = 0;
    for i in run["inputs"].as_array().into_iter().flatten() {
        let r = i["rows"].as_u64().unwrap_or(0);
        let c = i["cases"].as_u64().unwrap_or(0);
        let j = i["rejected"].as_u64().unwrap_or(0);
        assert_eq!(r, c + j, "{i}");
        rows += r;
        cases += c;
    }
    assert_eq!(run["rows_read"].as_u64(), Some(rows));
    assert_eq!(run["cases_audited"].as_u64(), Some(cases));
    assert_eq!(
        report["scores"]["cases"].as_array().map(|a| a.len() as u64),
        Some(cases)
    );
}

#[test]
fn findings_are_sorted_and_runs_are_identical() {
    let (_a, r1) = audit_fixtures("national");
    let (_b, r2) = audit_fixtures("national");
    assert_eq!(r1["findings"], r2["findings"]);
    let keys: Vec<(String, String, u64, String)> = r1["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["source"]["file"].as_str().unwrap_or("").to_string(),
                f["source"]["sheet"].as_str().unwrap_or("").to_string(),
                f["source"]["row"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn rules_test_passes_every_example() {
    let out = caseaudit()
        .args(["rules", "test"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("，失败 0 个"), "{text}");
}

#[test]
fn rules_show_prints_the_rule_file() {
    let out = caseaudit()
        .args(["rules", "show", "PUB-002"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("PUB-002") && text.contains("basis") && text.contains("WORKDAYS"),
        "{text}"
    );
    let out = caseaudit()
        .args(["rules", "show", "PUB-0002"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_column_disables_rules_in_inspect_and_audit() {
    let out = caseaudit()
        .current_dir(root())
        .args(["inspect", "fixtures/ledgers/health-2022-missing.xlsx"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // People read labels: 缺少“归档日期”列, never the canonical name.
    assert!(
        text.contains("REC-004") && text.contains("缺少“归档日期”列"),
        "{text}"
    );
    assert!(!text.contains("archived_date"), "{text}");
    let (_o, report) = audit_fixtures("national");
    let input = report["run"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| {
            i["file"]
                .as_str()
                .unwrap_or("")
                .ends_with("health-2022-missing.xlsx")
        })
        .cloned()
        .unwrap_or_default();
    let ne: Vec<&str> = input["not_evaluated"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["rule_id"].as_str())
        .collect();
    assert!(ne.contains(&"REC-004"), "{input}");
}

#[test]
fn a_bad_file_is_reported_and_the_rest_audited() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("empty.xlsx"), b"").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("notzip.xlsx"), b"this is not a workbook")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("good.csv"),
        "案件编号,执法单位,执法类别,决定日期,文字记录\nA-1,某局,行政检查,2022-03-01,否\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out_dir = dir.path().join("out");
    let out = caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--format",
            "json",
            "--quiet",
            "--out",
        ])
        .arg(&out_dir)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("empty.xlsx") && stderr.contains("notzip.xlsx"),
        "{stderr}"
    );
    let report = read_json(&out_dir.join("findings.json"));
    assert_eq!(report["run"]["errors"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(report["run"]["cases_audited"].as_u64(), Some(1));
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert!(rules.contains(&"REC-001"), "{rules:?}");
}

#[test]
fn fail_on_sets_exit_code_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("l.csv");
    std::fs::write(
        &f,
        "案件编号,执法单位,执法类别,执法人员\nA-1,某局,行政检查,张三\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--format",
            "json",
            "--quiet",
            "--fail-on",
            "critical",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg(&f)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn notices_and_diff_from_findings_json() {
    let (out, report) = audit_fixtures("national");
    let json = out.path().join("findings.json");
    let notices = out.path().join("notices");
    caseaudit()
        .args([
            "notices",
            "--issuer",
            "巴楚县司法局",
            "--number-prefix",
            "巴司函〔2022〕",
            "--issued",
            "2023-01-10",
        ])
        .args(["--format", "md,docx", "--out"])
        .arg(&notices)
        .arg(&json)
        .run_ok();
    let mut names: Vec<String> = std::fs::read_dir(&notices)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    // Eight agencies with findings other than data quality: a docx and an md each, and the
    // register.
    assert_eq!(names.len(), 17, "{names:?}");
    assert!(names[0].starts_with("01-") && names[0].ends_with(".docx"));
    let register = std::fs::read_to_string(notices.join("整改通知书清单.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(register.lines().count(), 9, "{register}");
    assert!(register.contains("巴司函〔2022〕4号"), "{register}");

    // Follow-up against a copy with one finding removed: that case's rule is resolved.
    let mut later = report.clone();
    let arr = later["findings"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("findings"));
    let idx = arr
        .iter()
        .position(|f| f["rule_id"] == "PUB-002" && f["case_id"].is_string())
        .unwrap_or_else(|| panic!("no PUB-002"));
    arr.remove(idx);
    let new_json = out.path().join("later.json");
    std::fs::write(&new_json, later.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .args(["diff", "--format", "json"])
        .arg(&json)
        .arg(&new_json)
        .run_ok();
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d["totals"]["resolved"], 1);
    assert_eq!(d["totals"]["new"], 0);
    let o = caseaudit()
        .args(["diff"])
        .arg(&json)
        .arg(&new_json)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("整改率") && table.contains("合计"),
        "{table}"
    );
}

#[test]
fn an_output_folder_inside_the_input_folder_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("l.csv"),
        "案件编号,执法单位,文字记录\nA-1,某局,否\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("~$l.xlsx"), b"lock").unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        caseaudit()
            .args([
                "audit",
                "--as-of",
                "2022-12-31",
                "--quiet",
                "--format",
                "json,csv",
                "--out",
            ])
            .arg(dir.path().join("out"))
            .arg(dir.path())
            .run_ok();
    }
    let report = read_json(&dir.path().join("out/findings.json"));
    assert_eq!(
        report["run"]["inputs"].as_array().map(|a| a.len()),
        Some(1),
        "{}",
        report["run"]["inputs"]
    );
    assert_eq!(report["run"]["cases_audited"], 1);
}
