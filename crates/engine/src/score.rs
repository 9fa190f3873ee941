//! Self-inspection scores (自查自评): per case and per agency.

use crate::model::{AgencyScore, CaseScore, Finding, InputSummary, Scores, Source, NO_AGENCY};
use crate::table::CaseTable;
use caseaudit_rules::expr::Val;
use caseaudit_rules::RulePack;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Case score: the veto score when any veto finding, else max(0, 100 − deductions).
pub fn case_score(pack: &RulePack, deductions: u32, veto: bool) -> f64 {
    if veto {
        pack.scoring.veto_score
    } else {
        (100.0 - deductions as f64).max(0.0)
    }
}

/// Scores every case of the table from its findings (each tagged with its table row);
/// `inputs` names the file and sheet of each input index.
pub fn score(
    pack: &RulePack,
    table: &CaseTable,
    findings: &[(usize, Finding)],
    inputs: &[InputSummary],
) -> Scores {
    let n = table.len();
    let mut ded = vec![0u32; n];
    let mut veto = vec![false; n];
    let mut count = vec![0u32; n];
    for (i, f) in findings {
        ded[*i] += f.deduction;
        veto[*i] |= f.veto;
        count[*i] += 1;
    }
    let text = |field: &str, i: usize| match table.val(field, i) {
        Val::Text(s) => Some(s),
        _ => None,
    };
    let mut cases = Vec::with_capacity(n);
    for i in 0..n {
        let s = case_score(pack, ded[i], veto[i]);
        cases.push(CaseScore {
            case_id: text("case_id", i),
            agency: text("agency", i),
            score: s,
            grade: pack.scoring.grade(s).to_string(),
            veto: veto[i],
            deductions: ded[i],
            findings: count[i],
            source: Source {
                file: inputs
                    .get(table.input[i] as usize)
                    .map(|x| x.file.clone())
                    .unwrap_or_default(),
                sheet: inputs
                    .get(table.input[i] as usize)
                    .map(|x| x.sheet.clone())
                    .unwrap_or_default(),
                row: table.row[i],
                column: None,
            },
        });
    }
    // Per agency, in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut acc: HashMap<String, AgencyScore> = HashMap::new();
    let mut totals: HashMap<String, f64> = HashMap::new();
    for c in &cases {
        let a = c.agency.clone().unwrap_or_else(|| NO_AGENCY.to_string());
        let e = acc.entry(a.clone()).or_insert_with(|| {
            order.push(a.clone());
            let mut grades = Map::new();
            for (g, _) in &pack.scoring.grades {
                grades.insert(g.clone(), 0.into());
            }
            AgencyScore {
                agency: a.clone(),
                cases: 0,
                mean_score: 0.0,
                grades,
                veto_cases: 0,
                findings: 0,
                findings_by_system: Map::new(),
            }
        });
        e.cases += 1;
        *totals.entry(a).or_insert(0.0) += c.score;
        bump(&mut e.grades, &c.grade);
        if c.veto {
            e.veto_cases += 1;
        }
    }
    for (i, f) in findings {
        let a = text("agency", *i).unwrap_or_else(|| NO_AGENCY.to_string());
        if let Some(e) = acc.get_mut(&a) {
            e.findings += 1;
            bump(&mut e.findings_by_system, f.system.key());
        }
    }
    let agencies = order
        .into_iter()
        .filter_map(|a| {
            let mut s = acc.remove(&a)?;
            let total = totals.get(&a).copied().unwrap_or(0.0);
            if s.cases > 0 {
                s.mean_score = ((total / s.cases as f64) * 10.0).round() / 10.0;
            }
            Some(s)
        })
        .collect();
    Scores { cases, agencies }
}

fn bump(map: &mut Map<String, Value>, key: &str) {
    let v = map.entry(key.to_string()).or_insert(0.into());
    *v = (v.as_u64().unwrap_or(0) + 1).into();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Typed;
    use crate::table::ColumnData;
    use caseaudit_rules::{Severity, System};

    fn pack() -> RulePack {
        RulePack::builtin().expect("pack")
    }

    #[test]
    fn veto_floor_and_grade_boundaries() {
        let p = pack();
        assert_eq!(case_score(&p, 0, true), 0.0);
        assert_eq!(case_score(&p, 3, true), 0.0);
        assert_eq!(case_score(&p, 130, false), 0.0);
        assert_eq!(case_score(&p, 100, false), 0.0);
        let grade = |d: u32| p.scoring.grade(case_score(&p, d, false)).to_string();
        assert_eq!(grade(0), "优秀");
        assert_eq!(grade(10), "优秀"); // 90
        assert_eq!(grade(11), "良好"); // 89
        assert_eq!(grade(20), "良好"); // 80
        assert_eq!(grade(21), "合格"); // 79
        assert_eq!(grade(40), "合格"); // 60
        assert_eq!(grade(41), "不合格"); // 59
        assert_eq!(p.scoring.grade(case_score(&p, 0, true)), "不合格");
    }

    fn finding(rule: &str, deduction: u32, veto: bool, system: System) -> Finding {
        Finding {
            case_id: None,
            agency: None,
            rule_id: rule.into(),
            system: system.into(),
            severity: Severity::Major.into(),
            title: String::new(),
            message: String::new(),
            evidence: Map::new(),
            deduction,
            veto,
            source: Source {
                file: String::new(),
                sheet: String::new(),
                row: 0,
                column: None,
            },
            cells: vec![],
        }
    }

    #[test]
    fn cases_and_agencies_are_scored_from_their_findings() {
        let p = pack();
        let mut t = CaseTable::empty(&p.fields);
        let agency = p.fields.index_of("agency").expect("agency");
        let mut col = ColumnData::new(caseaudit_rules::FieldType::Text, 4);
        for a in ["甲", "甲", "乙", ""] {
            col.push(if a.is_empty() {
                Typed::Null
            } else {
                Typed::Text(a.into())
            });
        }
        t.columns[agency].1 = col;
        for (i, c) in t.columns.iter_mut().enumerate() {
            if i != agency {
                c.1 = ColumnData::new(p.fields.iter().nth(i).expect("f").ty, 4);
                for _ in 0..4 {
                    c.1.push(Typed::Null);
                }
            }
        }
        t.row = vec![2, 3, 4, 5];
        t.input = vec![0; 4];
        let findings = vec![
            (0, finding("PUB-001", 5, false, System::Publication)),
            (0, finding("REC-001", 5, false, System::Recording)),
            (1, finding("LR-001", 0, true, System::LegalReview)),
            (2, finding("PRO-003", 60, false, System::Procedure)),
            (2, finding("REC-002", 50, false, System::Recording)),
        ];
        let s = score(&p, &t, &findings, &[]);
        let scores: Vec<f64> = s.cases.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![90.0, 0.0, 0.0, 100.0]);
        assert_eq!(s.cases[1].grade, "不合格");
        assert!(s.cases[1].veto);
        let a: Vec<(&str, u64, f64, u64, u64)> = s
            .agencies
            .iter()
            .map(|a| {
                (
                    a.agency.as_str(),
                    a.cases,
                    a.mean_score,
                    a.veto_cases,
                    a.findings,
                )
            })
            .collect();
        assert_eq!(
            a,
            vec![
                ("甲", 2, 45.0, 1, 3),
                ("乙", 1, 0.0, 0, 2),
                (NO_AGENCY, 1, 100.0, 0, 0)
            ]
        );
        assert_eq!(
            s.agencies[0].findings_by_system.get("recording"),
            Some(&1.into())
        );
        assert_eq!(s.agencies[0].grades.get("优秀"), Some(&1.into()));
    }
}
