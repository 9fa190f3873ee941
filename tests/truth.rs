//! Correctness at scale: generated batches are audited to exactly the planted truth,
//! for several seeds, profiles, audit dates, styles and file formats.

use super::{caseaudit, diff, multiset, read_json, RunOk};
use std::collections::BTreeSet;

#[test]
fn audits_find_exactly_the_planted_findings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut rules_seen: BTreeSet<String> = BTreeSet::new();
    let runs = [
        (1, "2022-12-31", "national", "canonical", "csv", 3000),
        (2, "2021-06-30", "jiangxi", "ledger", "csv", 3000),
        (3, "2026-11-28", "urumqi", "ledger", "xlsx", 800),
        (
            4,
            "2024-02-20",
            "public-security",
            "canonical",
            "parquet",
            3000,
        ),
        (5, "2023-10-09", "national", "ledger", "parquet", 2000),
    ];
    for (seed, as_of, profile, style, ext, n) in runs {
        let ledger = dir.path().join(format!("batch{seed}.{ext}"));
        let truth = dir.path().join(format!("truth{seed}.json"));
        caseaudit()
            .args([
                "generate",
                "--cases",
                &n.to_string(),
                "--seed",
                &seed.to_string(),
                "--as-of",
                as_of,
            ])
            .args([
                "--profile",
                profile,
                "--style",
                style,
                "--violation-rate",
                "0.3",
                "--out",
            ])
            .arg(&ledger)
            .arg("--truth")
            .arg(&truth)
            .run_ok();
        let out = dir.path().join(format!("out{seed}"));
        caseaudit()
            .args([
                "audit",
                "--quiet",
                "--format",
                "json",
                "--as-of",
                as_of,
                "--profile",
                profile,
                "--out",
            ])
            .arg(&out)
            .arg(&ledger)
            .run_ok();
        let t = read_json(&truth);
        assert_eq!(t["as_of"], as_of);
        let want = multiset(t["findings"].as_array().into_iter().flatten().map(|p| {
            (
                p[0].as_str().unwrap_or("").to_string(),
                p[1].as_str().unwrap_or("").to_string(),
            )
        }));
        let report = read_json(&out.join("findings.json"));
        assert_eq!(report["run"]["cases_audited"].as_u64(), Some(n as u64));
        let got = multiset(
            report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    (
                        f["case_id"].as_str().unwrap_or("-").to_string(),
                        f["rule_id"].as_str().unwrap_or("").to_string(),
                    )
                }),
        );
        let diff = diff(&want, &got);
        assert!(
            diff.is_empty(),
            "seed {seed} ({profile}, {as_of}, {style}, {ext}):\n{diff}"
        );
        rules_seen.extend(want.keys().map(|(_, r)| r.clone()));
    }
    // Every catalog rule was planted, but those that need publication records (a
    // generated batch has none; tests/published.rs checks them on the fixture export).
    let pack = caseaudit_rules::RulePack::builtin().unwrap_or_else(|e| panic!("{e}"));
    for r in pack
        .rules
        .iter()
        .filter(|r| !r.builtin.is_some_and(|b| b.needs_records()))
    {
        assert!(rules_seen.contains(&r.id), "{} was never planted", r.id);
    }
}

#[test]
fn generation_is_deterministic() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut outputs = Vec::new();
    for k in 0..2 {
        let p = dir.path().join(format!("g{k}.csv"));
        let o = caseaudit()
            .args([
                "generate",
                "--cases",
                "500",
                "--seed",
                "42",
                "--as-of",
                "2022-12-31",
                "--out",
            ])
            .arg(&p)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.status.code(), Some(0));
        outputs.push(std::fs::read(&p).unwrap_or_else(|e| panic!("{e}")));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[0].len() > 50_000);
}
