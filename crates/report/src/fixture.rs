//! A small report built by hand for the renderers' unit tests: two agencies, one of
//! them named like a script, a case number that looks like a formula, and a tiny CSV
//! ledger on disk for the annotated copy.

use caseaudit_engine::*;
use caseaudit_rules::{Severity, System};
use serde_json::Map;
use std::path::{Path, PathBuf};

pub(crate) const EVIL: &str = "<script>alert(1)</script>";
pub(crate) const FORMULA_CASE: &str = "=HYPERLINK(\"x\",\"点我\")";
pub(crate) const OTHER_AGENCY: &str = "巴楚县市场监督管理局";

/// Writes the ledger: header 案件编号,执法单位,决定日期 and two cases.
pub(crate) fn ledger(dir: &Path) -> PathBuf {
    let p = dir.join("ledger.csv");
    let text = format!(
        "案件编号,执法单位,决定日期\n\"{}\",{EVIL},2022-03-01\nB-2,{OTHER_AGENCY},2022-03-02\n",
        FORMULA_CASE.replace('"', "\"\"")
    );
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    file: &str,
    row: u32,
    case: &str,
    agency: &str,
    rule: &str,
    system: System,
    severity: Severity,
    cells: &[&str],
) -> Finding {
    Finding {
        case_id: Some(case.into()),
        agency: Some(agency.into()),
        rule_id: rule.into(),
        system: system.into(),
        severity: severity.into(),
        title: format!("{rule} 的问题"),
        message: format!("{case} 违反 {rule}"),
        evidence: Map::new(),
        deduction: 5,
        veto: false,
        source: Source {
            file: file.into(),
            sheet: String::new(),
            row,
            column: None,
        },
        cells: cells.iter().map(|s| s.to_string()).collect(),
    }
}

fn rule(id: &str, system: System, severity: Severity, evaluated: bool) -> RuleStatus {
    RuleStatus {
        id: id.into(),
        system: system.into(),
        severity: severity.into(),
        title: format!("{id} 的问题"),
        basis: format!("{id} 的依据"),
        rectification: format!("{id} 的整改要求"),
        deduction: 5,
        veto: id == "REC-001",
        evaluated,
        missing_fields: if evaluated {
            vec![]
        } else {
            vec!["archived_date".into()]
        },
        not_evaluable: 0,
        findings: 1,
    }
}

fn grades(pairs: &[(&str, u64)]) -> Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(g, n)| (g.to_string(), (*n).into()))
        .collect()
}

fn case(id: &str, agency: &str, score: f64, grade: &str, veto: bool, row: u32) -> CaseScore {
    CaseScore {
        case_id: Some(id.into()),
        agency: Some(agency.into()),
        score,
        grade: grade.into(),
        veto,
        deductions: 5,
        findings: 2,
        source: Source {
            file: "ledger.csv".into(),
            sheet: String::new(),
            row,
            column: None,
        },
    }
}

/// The report over `ledger` (a path written by [`ledger`]). Expected annotations:
/// C2 (two findings, one critical), A3 and C3; the DQ-003 finding has no cells.
pub(crate) fn report(ledger: &Path) -> AuditReport {
    let file = ledger.display().to_string();
    let mut veto = finding(
        &file,
        2,
        FORMULA_CASE,
        EVIL,
        "REC-001",
        System::Recording,
        Severity::Critical,
        &["C"],
    );
    veto.veto = true;
    let mut dq = finding(
        &file,
        3,
        "B-2",
        OTHER_AGENCY,
        "DQ-003",
        System::DataQuality,
        Severity::Minor,
        &[],
    );
    dq.source.column = Some("B".into());
    let mapping = |c: &str, h: &str, f: &str| ColumnMapping {
        column: c.into(),
        header: h.into(),
        field: Some(f.into()),
        note: None,
        scale: None,
        hidden: false,
    };
    let g = ["优秀", "良好", "合格", "不合格"];
    AuditReport {
        tool: ToolInfo {
            name: "caseaudit".into(),
            version: "0.1.0".into(),
        },
        run: RunInfo {
            as_of: "2022-12-31".into(),
            profile: "national".into(),
            pack: PackInfo {
                name: "three-systems".into(),
                version: "1".into(),
                source: "built-in".into(),
            },
            inputs: vec![InputSummary {
                file: file.clone(),
                sheet: String::new(),
                rows: 2,
                cases: 2,
                rejected: 0,
                empty_rows_skipped: 0,
                header_rows: vec![1],
                columns: vec![
                    mapping("A", "案件编号", "case_id"),
                    mapping("B", "执法单位", "agency"),
                    mapping("C", "决定日期", "decision_date"),
                ],
                missing_fields: vec!["archived_date".into()],
                not_evaluated: vec![NotEvaluated {
                    rule_id: "REC-004".into(),
                    missing_fields: vec!["archived_date".into()],
                }],
                notes: vec![],
                rejected_rows: Vec::new(),
                implied: Vec::new(),
            }],
            errors: vec![InputError {
                file: "broken.xlsx".into(),
                sheet: None,
                kind: caseaudit_engine::ErrorKind::EmptyFile,
                reason: "文件为空（0 字节）".into(),
            }],
            warnings: vec!["一条提示".into()],
            rows_read: 2,
            cases_audited: 2,
            rows_rejected: 0,
            published: Vec::new(),
            published_summary: None,
            field_labels: Default::default(),
            rules: vec![
                rule("PUB-001", System::Publication, Severity::Major, true),
                rule("PUB-002", System::Publication, Severity::Minor, true),
                rule("REC-001", System::Recording, Severity::Critical, true),
                rule("REC-004", System::Recording, Severity::Major, false),
                rule("DQ-003", System::DataQuality, Severity::Minor, true),
            ],
        },
        findings: vec![
            finding(
                &file,
                2,
                FORMULA_CASE,
                EVIL,
                "PUB-001",
                System::Publication,
                Severity::Major,
                &["C"],
            ),
            veto,
            finding(
                &file,
                3,
                "B-2",
                OTHER_AGENCY,
                "PUB-002",
                System::Publication,
                Severity::Minor,
                &["A", "C"],
            ),
            dq,
        ],
        scores: Scores {
            cases: vec![
                case(FORMULA_CASE, EVIL, 0.0, "不合格", true, 2),
                case("B-2", OTHER_AGENCY, 95.0, "优秀", false, 3),
            ]
            .into(),
            agencies: vec![
                AgencyScore {
                    agency: EVIL.into(),
                    cases: 1,
                    mean_score: 0.0,
                    grades: grades(&[(g[0], 0), (g[1], 0), (g[2], 0), (g[3], 1)]),
                    veto_cases: 1,
                    findings: 2,
                    findings_by_system: Map::new(),
                },
                AgencyScore {
                    agency: OTHER_AGENCY.into(),
                    cases: 1,
                    mean_score: 95.0,
                    grades: grades(&[(g[0], 1), (g[1], 0), (g[2], 0), (g[3], 0)]),
                    veto_cases: 0,
                    findings: 2,
                    findings_by_system: Map::new(),
                },
            ],
        },
    }
}
