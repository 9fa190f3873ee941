//! Registry tests: walk the built-in pack and check it against the catalog and the
//! principles of the spec; calendar figures; error reporting of a broken pack.

use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::{builtin_files, run_examples, Expect, RuleKind, RulePack, System};
use std::collections::BTreeSet;

const CATALOG: &[&str] = &[
    "PUB-001", "PUB-002", "PUB-003", "PUB-004", "PUB-005", "PUB-006", "PUB-007", "REC-001",
    "REC-002", "REC-003", "REC-004", "LR-001", "LR-002", "LR-003", "LR-004", "LR-005", "LR-006",
    "LR-007", "PRO-001", "PRO-002", "PRO-003", "DQ-001", "DQ-002", "DQ-003", "DQ-004", "DQ-005",
];

fn pack() -> RulePack {
    match RulePack::builtin() {
        Ok(p) => p,
        Err(e) => panic!("built-in pack is invalid:\n{e}"),
    }
}

fn d(s: &str) -> i32 {
    parse_iso(s).unwrap_or_else(|| panic!("bad date {s}"))
}

#[test]
fn every_catalog_rule_is_present_once() {
    let p = pack();
    let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "duplicate ids in {ids:?}");
    for id in CATALOG {
        assert!(unique.contains(id), "catalog rule {id} missing");
    }
}

#[test]
fn rules_are_documented_and_exemplified() {
    let p = pack();
    for r in &p.rules {
        // The id's prefix agrees with the system: checked at load
        // (a_rule_whose_id_prefix_and_system_disagree_is_refused).
        assert!(!r.basis.trim().is_empty(), "{} has no basis", r.id);
        assert!(
            !r.rectification.trim().is_empty(),
            "{} has no rectification",
            r.id
        );
        assert!(!r.title.trim().is_empty(), "{} has no title", r.id);
        if r.kind == RuleKind::Condition {
            assert!(
                r.examples.iter().any(|e| e.expect == Expect::Fire),
                "{} has no firing example",
                r.id
            );
            assert!(
                r.examples.iter().any(|e| e.expect == Expect::Pass),
                "{} has no passing example",
                r.id
            );
            assert!(r.message.is_some(), "{} has no message", r.id);
        }
        if r.system == System::DataQuality {
            assert_eq!(r.deduction, 0, "{}: data quality deducts nothing", r.id);
        }
    }
    for id in ["DQ-002", "DQ-003"] {
        assert_eq!(p.rule(id).map(|r| r.kind), Some(RuleKind::Builtin), "{id}");
    }
}

#[test]
fn catalog_severities_and_scoring() {
    let p = pack();
    let veto = ["PUB-005", "PUB-006", "LR-001", "LR-002", "LR-003"];
    let ded = [
        ("PUB-001", 5),
        ("PUB-002", 2),
        ("PUB-003", 2),
        ("PUB-004", 3),
        ("PUB-007", 3),
        ("REC-001", 5),
        ("REC-002", 10),
        ("REC-003", 2),
        ("REC-004", 2),
        ("LR-004", 5),
        ("LR-005", 5),
        ("LR-006", 5),
        ("LR-007", 10),
        ("PRO-001", 5),
        ("PRO-002", 3),
        ("PRO-003", 10),
    ];
    for id in veto {
        assert!(p.rule(id).is_some_and(|r| r.veto), "{id} is a veto rule");
    }
    for (id, n) in ded {
        let r = p.rule(id).unwrap_or_else(|| panic!("{id}"));
        assert!(!r.veto, "{id}");
        assert_eq!(r.deduction, n, "{id}");
    }
    let g: Vec<(&str, f64)> = p
        .scoring
        .grades
        .iter()
        .map(|(n, m)| (n.as_str(), *m))
        .collect();
    assert_eq!(
        g,
        vec![
            ("优秀", 90.0),
            ("良好", 80.0),
            ("合格", 60.0),
            ("不合格", 0.0)
        ]
    );
    assert_eq!(p.scoring.grade(90.0), "优秀");
    assert_eq!(p.scoring.grade(89.9), "良好");
    assert_eq!(p.scoring.grade(60.0), "合格");
    assert_eq!(p.scoring.grade(59.0), "不合格");
}

#[test]
fn every_example_passes() {
    let p = pack();
    let outcomes = run_examples(&p);
    assert!(outcomes.len() >= 2 * 24, "only {} examples", outcomes.len());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| {
            format!(
                "{} {} ({}:{})\n{}",
                o.rule_id, o.name, o.file, o.line, o.explanation
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "failing examples:\n{}",
        failed.join("\n")
    );
}

#[test]
fn calendar_known_figures() {
    let p = pack();
    let cal = p.calendar(p.profile("national").expect("national"));
    assert_eq!(cal.workdays(d("2022-01-28"), d("2022-02-08")), Ok(4));
    assert_eq!(cal.workdays(d("2022-09-30"), d("2022-10-12")), Ok(5));
    assert_eq!(cal.workdays(d("2022-02-08"), d("2022-01-28")), Ok(-4));
    assert_eq!(cal.workdays(d("2022-03-01"), d("2022-03-01")), Ok(0));
    // 2024-02-04 (Sunday) and 2024-02-18 (Sunday) are make-up working days.
    assert_eq!(cal.is_workday(d("2024-02-04")), Ok(true));
    assert_eq!(cal.is_workday(d("2024-02-12")), Ok(false));
    assert_eq!(
        caseaudit_rules::Calendar::days(d("2022-01-01"), d("2022-12-31")),
        364
    );
    let err = cal
        .workdays(d("2019-12-31"), d("2020-01-02"))
        .expect_err("outside");
    assert_eq!(err.year, 2019);
    assert!(err.to_string().contains("2019"));
}

#[test]
fn params_and_profiles() {
    let p = pack();
    let national = p.param_values(p.profile("national").expect("national"));
    assert_eq!(
        national.get("publication_workdays_permit_penalty"),
        Some(7.0)
    );
    assert_eq!(national.get("hearing_fine_individual"), None);
    let jx = p.param_values(p.profile("jiangxi").expect("jiangxi"));
    assert_eq!(jx.get("hearing_fine_individual"), Some(3000.0));
    assert_eq!(jx.get("hearing_fine_organization"), Some(20000.0));
    let err = p.profile("jiangxl").expect_err("unknown");
    assert!(err.to_string().contains("jiangxi"), "{err}");
}

#[test]
fn requires_follow_the_principle() {
    // Checked when the pack loads; this pins the decision for two rules.
    let p = pack();
    let pub1 = p.rule("PUB-001").expect("PUB-001");
    let mut r = pub1.requires.clone();
    r.sort();
    assert_eq!(r, vec!["case_type", "decision_date", "publication_date"]);
    let lr1 = p.rule("LR-001").expect("LR-001");
    let mut r = lr1.requires.clone();
    r.sort();
    assert_eq!(r, vec!["decision_date", "legal_review_date"]);
}

#[test]
fn a_broken_pack_reports_every_error_with_file_line_and_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in builtin_files() {
        let p = dir.path().join(&path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let bad = r#"id = "PUB-901"
title = "测试"
system = "publication"
severity = "minor"
deduction = 1
requires = []
applies = "case_type = '行政处罚'"
violation = """
publicaton_date IS NULL
OR WORKDAY(decision_date, AS_OF) > 3
OR decision_date > '2022-01-01'
OR LEN(officers) > params.publication_workday_permit_penalty
"""
basis = "测试"
rectification = "测试"
"#;
    std::fs::write(dir.path().join("three-systems/PUB-901.toml"), bad).expect("write");
    let err = RulePack::load_dir(dir.path()).expect_err("the pack is broken");
    let issues = err.issues();
    let text = err.to_string();
    let find = |needle: &str| {
        issues
            .iter()
            .find(|i| i.message.contains(needle))
            .unwrap_or_else(|| panic!("no issue mentions {needle}:\n{text}"))
    };
    // Each problem at its line and column in the rule file, in Chinese.
    let field = find("未知字段 `publicaton_date`");
    assert!(
        field.message.contains("是否想写 `publication_date`"),
        "{text}"
    );
    assert_eq!((field.line, field.column), (Some(9), Some(1)), "{text}");
    let func = find("未知函数 `WORKDAY`");
    assert!(func.message.contains("是否想写 `WORKDAYS`"), "{text}");
    assert_eq!((func.line, func.column), (Some(10), Some(4)), "{text}");
    let cmp = find("不能比较日期");
    assert!(cmp.message.contains("DATE 'YYYY-MM-DD'"), "{text}");
    assert_eq!((cmp.line, cmp.column), (Some(11), Some(4)), "{text}");
    let param = find("未知参数 `params.publication_workday_permit_penalty`");
    assert!(
        param
            .message
            .contains("是否想写 `publication_workdays_permit_penalty`"),
        "{text}"
    );
    assert_eq!((param.line, param.column), (Some(12), Some(20)), "{text}");
    assert!(
        text.contains("three-systems/PUB-901.toml:12:20 [PUB-901]: 未知参数"),
        "{text}"
    );
    for i in [field, func, cmp, param] {
        assert_eq!(i.file, "three-systems/PUB-901.toml");
        assert_eq!(i.item.as_deref(), Some("PUB-901"));
    }
}

#[test]
fn a_profile_can_overlay_regional_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in builtin_files() {
        let p = dir.path().join(&path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    std::fs::create_dir_all(dir.path().join("calendar/overlays/test-region")).expect("mkdir");
    std::fs::write(
        dir.path().join("calendar/overlays/test-region/2022.toml"),
        "year = 2022\nnotice = \"测试用地方节日安排\"\noff = [\"03-02..03-03\"]\nwork = [\"03-05\"]\n",
    )
    .expect("write");
    let params = std::fs::read_to_string(dir.path().join("params.toml")).expect("read");
    std::fs::write(
        dir.path().join("params.toml"),
        format!("{params}\n[[profile]]\nname = \"regional\"\ntitle = \"测试\"\nvalues = {{}}\ncalendar_overlays = [\"test-region\"]\n"),
    )
    .expect("write");
    let p = RulePack::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let national = p.calendar(p.profile("national").expect("national"));
    let regional = p.calendar(p.profile("regional").expect("regional"));
    // 2022-03-01 (Tue) → 2022-03-07 (Mon): 4 working days nationally; the overlay takes
    // two days off and adds Saturday 03-05.
    assert_eq!(national.workdays(d("2022-03-01"), d("2022-03-07")), Ok(4));
    assert_eq!(regional.workdays(d("2022-03-01"), d("2022-03-07")), Ok(3));
    // A profile naming a missing overlay is a pack error.
    std::fs::write(
        dir.path().join("params.toml"),
        format!("{params}\n[[profile]]\nname = \"broken\"\ntitle = \"测试\"\ncalendar_overlays = [\"nowhere\"]\n"),
    )
    .expect("write");
    let err = RulePack::load_dir(dir.path()).expect_err("missing overlay");
    assert!(err.to_string().contains("nowhere"), "{err}");
}

/// The built-in pack written to a folder with `fields.toml` edited by `f`.
fn pack_with_fields(f: impl Fn(&str) -> String) -> Result<RulePack, caseaudit_rules::PackError> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in builtin_files() {
        let p = dir.path().join(&path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        let text = if path == "fields.toml" {
            f(&text)
        } else {
            text
        };
        std::fs::write(p, text).unwrap_or_else(|e| panic!("{e}"));
    }
    RulePack::load_dir(dir.path())
}

#[test]
fn decision_number_aliases_imply_the_case_type() {
    let p = pack();
    let case_id = p.fields.get("case_id").expect("case_id");
    for a in ["行政许可决定书文号", "许可决定书文号"] {
        assert!(case_id.aliases.iter().any(|x| x == a), "{a}");
    }
    let implied = |alias: &str| {
        case_id
            .implies
            .iter()
            .find(|m| m.alias == alias)
            .map(|m| (m.field.as_str(), m.value.as_str()))
    };
    for a in ["行政处罚决定书文号", "处罚决定书文号", "处罚决定文书号"] {
        assert_eq!(implied(a), Some(("case_type", "行政处罚")), "{a}");
    }
    for a in ["行政许可决定书文号", "许可决定书文号"] {
        assert_eq!(implied(a), Some(("case_type", "行政许可")), "{a}");
    }
    assert_eq!(implied("决定书文号"), None);
}

#[test]
fn an_implication_is_checked_at_pack_load() {
    let with = |imp: &str| {
        pack_with_fields(|t| t.replacen("implies = [\n", &format!("implies = [\n  {imp},\n"), 1))
    };
    assert!(with(r#"{ alias = "案号", field = "case_type", value = "行政检查" }"#).is_ok());
    for (imp, says) in [
        (
            r#"{ alias = "案号", field = "case_type", value = "检查行政" }"#,
            "不在 `case_type` 的取值表",
        ),
        (
            r#"{ alias = "案号", field = "case_kind", value = "行政处罚" }"#,
            "不存在",
        ),
        (
            r#"{ alias = "不是别名", field = "case_type", value = "行政处罚" }"#,
            "不是该字段的别名",
        ),
        (
            r#"{ alias = "案号", field = "decision_date", value = "2022-01-01" }"#,
            "text、enum",
        ),
        (r#"{ alias = "案号", field = "case_type" }"#, "value"),
    ] {
        let err = with(imp).expect_err(imp);
        assert!(err.to_string().contains(says), "{imp}: {err}");
        assert!(err.to_string().contains("fields.toml"), "{err}");
    }
}

#[test]
fn platform_party_categories_are_in_the_vocabulary() {
    let p = pack();
    let f = p.fields.get("party_type").expect("party_type");
    let one = |w: &str| f.canonical(w).map(|v| v.to_vec());
    assert_eq!(one("个体工商户"), Some(vec!["自然人".to_string()]));
    assert_eq!(one("法人及非法人组织"), Some(vec!["法人".to_string()]));
    assert_eq!(one("非法人组织"), Some(vec!["其他组织".to_string()]));
    // Organisations: everything but 自然人 takes the organisation thresholds.
    for d in &p.derived {
        if d.text.contains("party_type") {
            assert!(d.text.contains("party_type = '自然人'"), "{}", d.name);
        }
    }
}

#[test]
fn a_calendar_file_adds_or_replaces_one_year() {
    let mut p = pack();
    let last = p
        .calendar_years
        .iter()
        .map(|y| y.year)
        .max()
        .expect("years");
    let next = last + 1;
    let n = p
        .add_calendar_text(
            "extra.toml",
            &format!("year = {next}\nnotice = \"测试通知\"\noff = [\"01-01..01-03\"]\nwork = [\"01-04\"]\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, next);
    let cal = p.calendar(p.profile("national").expect("national"));
    let jan1 = parse_iso(&format!("{next}-01-01")).expect("date");
    assert!(cal.covers(jan1));
    assert_eq!(cal.is_workday(jan1), Ok(false));
    // Replacing a year: 2022-03-01 becomes a holiday.
    let before = p.calendar_years.len();
    p.add_calendar_text(
        "2022.toml",
        "year = 2022\nnotice = \"测试\"\noff = [\"03-01\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.calendar_years.len(), before);
    let cal = p.calendar(p.profile("national").expect("national"));
    assert_eq!(cal.is_workday(d("2022-03-01")), Ok(false));
    assert_eq!(
        cal.is_workday(d("2022-01-31")),
        Ok(true),
        "2022's holidays replaced"
    );
    // A broken file is an error naming it.
    let err = p
        .add_calendar_text(
            "bad.toml",
            "year = 2030\nnotice = \"x\"\noff = [\"02-30\"]\n",
        )
        .expect_err("02-30");
    assert!(err.to_string().contains("bad.toml"), "{err}");
    assert_eq!(p.calendar_warning_days, 31);
    // A year past a gap: counts across the missing year would be wrong, so it is refused.
    assert!(p.check_calendar_years().is_ok());
    let far = next + 2;
    p.add_calendar_text("far.toml", &format!("year = {far}\nnotice = \"测试\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.calendar_gaps(), vec![next + 1]);
    let err = p.check_calendar_years().expect_err("gap");
    assert!(
        err.to_string().contains(&format!("{}.toml", next + 1)),
        "{err}"
    );
}

mod robust {
    use caseaudit_rules::expr::Ty;
    use caseaudit_rules::RulePack;

    /// The condition parser and checker return errors, never panic, on any text.
    #[test]
    fn the_condition_parser_never_panics() {
        let pack = RulePack::builtin().expect("pack");
        let pieces = [
            "WORKDAYS(",
            "decision_date",
            ",",
            "AS_OF",
            ")",
            " > ",
            "params.",
            "x",
            "'行政处罚'",
            " AND ",
            " OR ",
            "NOT ",
            "(",
            "CASE WHEN ",
            " THEN ",
            " ELSE ",
            " END",
            "COALESCE(",
            "HAS_ANY(",
            "penalty_kinds",
            "DATE '2022-13-45'",
            " IS NOT TRUE",
            " IN (",
            "LEN(",
            "officers",
            "1e309",
            "-",
            "*",
            "/",
            "NULL",
            "'",
            "\"",
            ";",
            "--",
            "DAYS(",
            "ALL_IN(",
            "revoked_date",
            "9999999999999999999999",
        ];
        let mut state = 0x1234_5678_u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            for want in [Ty::Bool, Ty::Number] {
                let _ = pack.parse_condition(&text, want);
            }
        }
    }
}

/// A pack copy with one more rule whose violation is `violation`; the load result.
fn pack_with_violation(violation: &str) -> Result<RulePack, caseaudit_rules::PackError> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in builtin_files() {
        let p = dir.path().join(&path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(p, text).unwrap_or_else(|e| panic!("{e}"));
    }
    let rule = format!(
        "id = \"PUB-901\"\ntitle = \"测试\"\nsystem = \"publication\"\nseverity = \"minor\"\n\
         deduction = 1\nrequires = [\"decision_date\"]\nviolation = \"\"\"\n{violation}\n\"\"\"\n\
         basis = \"测试\"\nrectification = \"测试\"\n"
    );
    std::fs::write(dir.path().join("three-systems/PUB-901.toml"), rule)
        .unwrap_or_else(|e| panic!("{e}"));
    RulePack::load_dir(dir.path())
}

#[test]
fn a_condition_too_long_or_too_deep_is_refused_naming_the_rule() {
    // 5,000 ANDs passed the check and overflowed the stack when audited.
    let long = vec!["decision_date IS NULL"; 5001].join(" AND ");
    let err = pack_with_violation(&long).expect_err("too long");
    let issue = err
        .issues()
        .iter()
        .find(|i| i.message.contains("条件过长"))
        .unwrap_or_else(|| panic!("{err}"))
        .clone();
    assert_eq!(issue.item.as_deref(), Some("PUB-901"), "{err}");
    // Within the token limit, a chain of 100 ANDs nests too deep.
    let deep = vec!["decision_date IS NULL"; 101].join(" AND ");
    let err = pack_with_violation(&deep).expect_err("too deep");
    assert!(
        err.issues()
            .iter()
            .any(|i| i.message.contains("条件嵌套过深") && i.item.as_deref() == Some("PUB-901")),
        "{err}"
    );
    // Brackets nested past the parser's own limit are an error too, not a crash.
    let brackets = format!(
        "{}decision_date IS NULL{}",
        "(".repeat(500),
        ")".repeat(500)
    );
    assert!(pack_with_violation(&brackets).is_err());
    // A condition of ordinary size loads.
    let fine = vec!["decision_date IS NULL"; 20].join(" AND ");
    assert!(pack_with_violation(&fine).is_ok());
    // Every built-in condition is well within the limits.
    let p = pack();
    for r in &p.rules {
        for e in r.applies.iter().chain(r.violation.iter()) {
            assert!(
                caseaudit_rules::expr::check::depth(e) <= 20,
                "{} nests deep",
                r.id
            );
        }
    }
}

#[test]
fn derived_fields_chained_past_the_expanded_depth_are_refused() {
    // Each derived field within the limits, but they are compiled inline: a chain of
    // 300 nests 302 deep once expanded.
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in builtin_files() {
        let p = dir.path().join(&path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let mut derived = std::fs::read_to_string(dir.path().join("derived.toml")).expect("read");
    derived.push_str(
        "\n[[derived]]\nname = \"chain0\"\ntype = \"bool\"\nlabel = \"链\"\nexpr = \"decision_date IS NULL\"\nbasis = \"测试\"\n",
    );
    for i in 1..300 {
        derived.push_str(&format!(
            "\n[[derived]]\nname = \"chain{i}\"\ntype = \"bool\"\nlabel = \"链\"\nexpr = \"chain{} AND decision_date IS NULL\"\nbasis = \"测试\"\n",
            i - 1
        ));
    }
    std::fs::write(dir.path().join("derived.toml"), derived).expect("write");
    let err = RulePack::load_dir(dir.path()).expect_err("too deep");
    assert!(
        err.issues()
            .iter()
            .any(|i| i.message.contains("展开后嵌套过深") && i.item.is_some()),
        "{err}"
    );
}

/// A file of the pack and how to change its text.
type Edit<'a> = (&'a str, &'a dyn Fn(&str) -> String);

/// The built-in pack written to a folder with the files named in `edits` edited; the
/// load result.
fn pack_edited(edits: &[Edit]) -> Result<RulePack, caseaudit_rules::PackError> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in builtin_files() {
        let p = dir.path().join(&path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        let text = match edits.iter().find(|(name, _)| *name == path) {
            Some((_, f)) => f(&text),
            None => text,
        };
        std::fs::write(p, text).unwrap_or_else(|e| panic!("{e}"));
    }
    RulePack::load_dir(dir.path())
}

/// PUB-001's file with `line` added after its first line.
fn pub001_with(line: &str) -> Result<RulePack, caseaudit_rules::PackError> {
    let line = line.to_string();
    pack_edited(&[("three-systems/PUB-001.toml", &move |t: &str| {
        t.replacen('\n', &format!("\n{line}\n"), 1)
    })])
}

#[test]
fn a_misspelt_status_is_refused_with_a_suggestion() {
    let err = pub001_with("status = \"activ\"").expect_err("typo");
    let issue = err
        .issues()
        .iter()
        .find(|i| i.message.contains("`activ`"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(issue.item.as_deref(), Some("PUB-001"), "{err}");
    assert!(issue.message.contains("规则状态"), "{err}");
    assert!(issue.message.contains("`active`"), "{err}");
    assert!(issue.message.contains("deprecated"), "{err}");
}

#[test]
fn a_deprecated_rule_loads_and_is_not_evaluated() {
    let p = pub001_with("status = \"deprecated\"").unwrap_or_else(|e| panic!("{e}"));
    let r = p.rule("PUB-001").expect("PUB-001");
    assert_eq!(r.status, caseaudit_rules::Status::Deprecated);
    assert!(!r.is_active());
    assert!(p
        .rules
        .iter()
        .filter(|r| r.id != "PUB-001")
        .all(|r| r.is_active()));
    let profile = p.profile("national").expect("national");
    let sql = caseaudit_rules::sql::pack_query(
        &p,
        &p.param_values(profile),
        &p.calendar(profile),
        d("2022-12-31"),
        caseaudit_rules::sql::Dialect::DuckDb,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!sql.contains("'PUB-001'"), "{sql}");
    assert!(sql.contains("'PUB-002'"), "{sql}");
    // The built-in pack's rules are all active.
    assert!(pack().rules.iter().all(|r| r.is_active()));
}

#[test]
fn a_rule_whose_id_prefix_and_system_disagree_is_refused() {
    let err = pack_edited(&[("three-systems/PUB-001.toml", &|t: &str| {
        t.replacen("system = \"publication\"", "system = \"recording\"", 1)
    })])
    .expect_err("PUB- rule in recording");
    let issue = err
        .issues()
        .iter()
        .find(|i| i.message.contains("前缀 `PUB`"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(issue.item.as_deref(), Some("PUB-001"), "{err}");
    assert!(issue.message.contains("`publication`"), "{err}");
    assert!(issue.message.contains("`recording`"), "{err}");
    // An unknown prefix is refused too, with the known ones.
    let err = pack_edited(&[("three-systems/PUB-001.toml", &|t: &str| {
        t.replacen("id = \"PUB-001\"", "id = \"PUX-001\"", 1)
    })])
    .expect_err("unknown prefix");
    assert!(
        err.issues()
            .iter()
            .any(|i| i.message.contains("`PUX`") && i.message.contains("`PUB`")),
        "{err}"
    );
    // The table covers every system, one prefix each.
    for s in System::ALL {
        assert_eq!(System::from_id_prefix(s.id_prefix()), Some(s));
    }
}

#[test]
fn a_message_may_use_only_the_rules_evidence() {
    // PUB-002 reads case_type, decision_date, publication_date, procedure and counts
    // WORKDAYS(decision_date, publication_date).
    let p = pack();
    let names = p.rule("PUB-002").expect("PUB-002").evidence_names();
    for n in [
        "decision_date",
        "publication_date",
        "workdays_decision_date_publication_date",
        "as_of",
        "params",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    let with_message = |m: &'static str| {
        pack_edited(&[("three-systems/PUB-002.toml", &move |t: &str| {
            let start = t.find("\nmessage = ").expect("message") + 1;
            let end = start + t[start..].find('\n').expect("end of line");
            format!("{}message = \"{m}\"{}", &t[..start], &t[end..])
        })])
    };
    assert!(with_message(
        "公示日期 {{ publication_date }}，{{ params.publication_workdays_permit_penalty }}"
    )
    .is_ok());
    let err = with_message("公示日期 {{ publicaton_date }}").expect_err("typo");
    let issue = err
        .issues()
        .iter()
        .find(|i| i.message.contains("`publicaton_date`"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(issue.item.as_deref(), Some("PUB-002"), "{err}");
    assert!(issue.message.contains("`publication_date`"), "{err}");
    // A field the rule does not read is not evidence, though the pack knows it.
    let err = with_message("{{ party_name }}").expect_err("not evidence");
    assert!(err.to_string().contains("`party_name`"), "{err}");
    let err = with_message("{{ params.publication_days }}").expect_err("param");
    assert!(
        err.to_string().contains("`params.publication_days`"),
        "{err}"
    );
}

#[test]
fn a_condition_error_points_at_line_and_column_in_the_rule_file() {
    // A one-line condition: the column counts from the start of the file's line.
    let err = pack_edited(&[("three-systems/PUB-001.toml", &|t: &str| {
        let start = t.find("\nviolation = ").expect("violation") + 1;
        let end = start + t[start..].find('\n').expect("end of line");
        format!(
            "{}violation = \"publication_date IS NULL AND decision_dat IS NOT NULL\"{}",
            &t[..start],
            &t[end..]
        )
    })]);
    let err = err.expect_err("unknown field");
    let issue = err
        .issues()
        .iter()
        .find(|i| i.message.contains("`decision_dat`"))
        .unwrap_or_else(|| panic!("{err}"));
    let file = builtin_files()
        .remove("three-systems/PUB-001.toml")
        .expect("PUB-001");
    let line = file
        .lines()
        .position(|l| l.starts_with("violation = "))
        .expect("violation line")
        + 1;
    // `violation = "` is 13 characters; `publication_date IS NULL AND ` 29 more.
    assert_eq!(issue.line, Some(line), "{err}");
    assert_eq!(issue.column, Some(13 + 29 + 1), "{err}");
    // A syntax error is placed at the token where parsing stopped.
    let err =
        pack_with_violation("decision_date IS NULL\nOR decision_date > )").expect_err("syntax");
    let issue = err
        .issues()
        .iter()
        .find(|i| i.message.contains("语法错误"))
        .unwrap_or_else(|| panic!("{err}"));
    // The violation starts on line 8 of the generated file; `)` is on line 9, column 20.
    assert_eq!((issue.line, issue.column), (Some(9), Some(20)), "{err}");
    assert!(issue.message.contains("`)`"), "{err}");
    assert!(!issue.message.contains("Line:"), "{err}");
}

#[test]
fn check_errors_are_typed_and_carry_their_place() {
    use caseaudit_rules::expr::{CheckError, Place, Ty};
    let p = pack();
    let errs = p
        .parse_condition("decision_date IS NULL\n  OR foo > 1", Ty::Bool)
        .expect_err("unknown field");
    match errs.as_slice() {
        [CheckError::UnknownField { name, span, .. }] => {
            assert_eq!(name, "foo");
            assert_eq!(span.start, Place { line: 2, column: 6 });
        }
        other => panic!("{other:?}"),
    }
    let errs = p
        .parse_condition("decision_date + 1", Ty::Bool)
        .expect_err("not a condition");
    assert!(
        matches!(
            errs.as_slice(),
            [CheckError::ResultType {
                found: Ty::Date,
                want: Ty::Bool
            }]
        ),
        "{errs:?}"
    );
    // A tokenizer error (an open quote) is placed where the tokenizer stopped.
    let errs = p
        .parse_condition("decision_date IS NULL\nOR case_type = '行政处罚", Ty::Bool)
        .expect_err("open quote");
    match errs.as_slice() {
        [e @ CheckError::Syntax { span, .. }] => {
            assert_eq!(span.start.line, 2, "{e}");
            assert!(e.to_string().starts_with("语法错误"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // The typed tree keeps where each part was written.
    let e = p
        .parse_condition(
            "decision_date IS NULL AND\n  publication_date IS NULL",
            Ty::Bool,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    let caseaudit_rules::expr::ExprKind::And(a, b) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(a.span.start, Place { line: 1, column: 1 });
    assert_eq!(b.span.start, Place { line: 2, column: 3 });
}
