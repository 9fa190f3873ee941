//! The generator can plant every rule of the shipped pack, and an audit of a generated
//! batch finds exactly what was planted.

use caseaudit_engine::{audit, AuditOptions};
use caseaudit_generate::{generate_each, CsvRows, GenerateOptions, Style, PLANTABLE};
use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::{RuleKind, RulePack};
use std::collections::{BTreeMap, BTreeSet};

fn pack() -> RulePack {
    RulePack::builtin().unwrap_or_else(|e| panic!("{e}"))
}

/// The active rules a ledger alone can break: those that need publication records
/// (PUB-008, PUB-009) are checked on the fixture export instead (tests/published.rs).
fn ledger_rules(pack: &RulePack) -> Vec<&caseaudit_rules::Rule> {
    pack.rules
        .iter()
        .filter(|r| r.is_active() && !r.builtin.is_some_and(|b| b.needs_records()))
        .collect()
}

#[test]
fn every_active_rule_of_the_shipped_pack_is_plantable() {
    let pack = pack();
    let active = ledger_rules(&pack);
    assert!(active.iter().any(|r| r.kind == RuleKind::Condition));
    for r in &active {
        assert!(
            PLANTABLE.contains(&r.id.as_str()),
            "{} ({:?}) cannot be planted",
            r.id,
            r.kind
        );
    }
    for id in PLANTABLE {
        assert!(
            pack.rule(id).is_some_and(|r| r.is_active()),
            "{id} is not an active rule of the pack"
        );
    }
}

#[test]
fn an_audit_of_a_generated_batch_finds_each_planted_rule_and_nothing_else() {
    let pack = pack();
    let as_of = parse_iso("2022-12-31").unwrap_or_else(|| panic!("date"));
    let profile = pack.profile("national").unwrap_or_else(|e| panic!("{e}"));
    let params = pack.param_values(profile);
    let calendar = pack.calendar(profile);
    let opts = GenerateOptions {
        cases: 1500,
        seed: 11,
        violation_rate: 1.0,
        as_of,
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger = dir.path().join("batch.csv");
    let file = std::fs::File::create(&ledger).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = CsvRows::new(&pack, Style::Ledger, std::io::BufWriter::new(file))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut written = 0;
    let truth = generate_each(&pack, &params, &calendar, &opts, |c| {
        written += 1;
        rows.push(c)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    rows.finish().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written, opts.cases);

    let report = audit(
        &pack,
        &[ledger],
        &AuditOptions {
            as_of,
            profile: "national".into(),
            agency: None,
            published: Default::default(),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .report;
    assert_eq!(report.run.cases_audited, opts.cases as u64);

    let mut want: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (case, rule) in &truth {
        *want.entry((case.clone(), rule.to_string())).or_default() += 1;
    }
    let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &report.findings {
        let case = f.case_id.clone().unwrap_or_else(|| "-".into());
        *got.entry((case, f.rule_id.clone())).or_default() += 1;
    }
    let missing: Vec<_> = want
        .iter()
        .filter(|(k, n)| got.get(*k) != Some(n))
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|(k, n)| want.get(*k) != Some(n))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "planted but not found as planted: {missing:?}\nfound but not planted: {extra:?}"
    );

    let planted: BTreeSet<&str> = truth.iter().map(|(_, r)| *r).collect();
    for r in ledger_rules(&pack) {
        assert!(
            planted.contains(r.id.as_str()),
            "{} was never planted",
            r.id
        );
    }
}
