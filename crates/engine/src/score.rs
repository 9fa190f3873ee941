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
            bump(&mut e.findings_by_system, &f.system);
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
