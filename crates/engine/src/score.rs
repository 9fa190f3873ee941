//! Self-inspection scores (自查自评): per case and per agency.

use crate::model::{AgencyScore, CaseScore, Finding, Scores, Source, NO_AGENCY};
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

/// Scores every case of the table from its findings (each tagged with its table row).
pub fn score(pack: &RulePack, table: &CaseTable, findings: &[(usize, Finding)]) -> Scores {
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
                file: String::new(),
                sheet: String::new(),
                row: table.row[i],
                column: None,
            },
        });
    }
    // Per agency, in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut acc: HashMap<String, (u64, f64, Map<String, Value>, u64, u64, Map<String, Value>)> =
        HashMap::new();
    for c in &cases {
        let a = c.agency.clone().unwrap_or_else(|| NO_AGENCY.to_string());
        let e = acc.entry(a.clone()).or_insert_with(|| {
            order.push(a.clone());
            let mut grades = Map::new();
            for (g, _) in &pack.scoring.grades {
                grades.insert(g.clone(), 0.into());
            }
            (0, 0.0, grades, 0, 0, Map::new())
        });
        e.0 += 1;
        e.1 += c.score;
        let g = e.2.entry(c.grade.clone()).or_insert(0.into());
        *g = (g.as_u64().unwrap_or(0) + 1).into();
        if c.veto {
            e.3 += 1;
        }
    }
    for (i, f) in findings {
        let a = text("agency", *i).unwrap_or_else(|| NO_AGENCY.to_string());
        if let Some(e) = acc.get_mut(&a) {
            e.4 += 1;
            let s = e.5.entry(f.system.clone()).or_insert(0.into());
            *s = (s.as_u64().unwrap_or(0) + 1).into();
        }
    }
    let agencies = order
        .into_iter()
        .filter_map(|a| {
            let (cases, total, grades, vetoes, findings, by_system) = acc.remove(&a)?;
            Some(AgencyScore {
                agency: a,
                cases,
                mean_score: if cases > 0 {
                    ((total / cases as f64) * 10.0).round() / 10.0
                } else {
                    0.0
                },
                grades,
                veto_cases: vetoes,
                findings,
                findings_by_system: by_system,
            })
        })
        .collect();
    Scores { cases, agencies }
}
