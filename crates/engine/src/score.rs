//! Self-inspection scores (自查自评): per case and per agency.

use crate::model::CaseScore;
#[cfg(feature = "evaluate")]
use crate::model::{AgencyScore, Finding, InputSummary, Scores, Source, NO_AGENCY};
#[cfg(feature = "evaluate")]
use crate::table::CaseTable;
use caseaudit_rules::{RulePack, Scoring};
use serde::{Deserialize, Serialize};
#[cfg(feature = "evaluate")]
use serde_json::{Map, Value};
#[cfg(feature = "evaluate")]
use std::sync::Arc;

/// Case score: the veto score when any veto finding, else max(0, 100 − deductions).
pub fn case_score(pack: &RulePack, deductions: u32, veto: bool) -> f64 {
    score_of(&pack.scoring, deductions, veto)
}

fn score_of(scoring: &Scoring, deductions: u32, veto: bool) -> f64 {
    if veto {
        scoring.veto_score
    } else {
        (100.0 - deductions as f64).max(0.0)
    }
}

/// Every case's score, in table order. A run keeps only each case's tallies and makes
/// a [`CaseScore`] when one is read or written (a million cases would otherwise hold a
/// million sets of strings); a findings.json read back holds its rows.
#[derive(Clone)]
pub struct CaseScores(Repr);

#[derive(Clone)]
enum Repr {
    Rows(Vec<CaseScore>),
    #[cfg(feature = "evaluate")]
    Tallies(Arc<Tallies>),
}

/// What a run's case scores are made from.
#[cfg(feature = "evaluate")]
struct Tallies {
    table: Arc<CaseTable>,
    /// (file, sheet) of each input.
    inputs: Vec<(String, String)>,
    deductions: Vec<u32>,
    veto: Vec<bool>,
    findings: Vec<u32>,
    scoring: Scoring,
}

#[cfg(feature = "evaluate")]
impl Tallies {
    fn text(&self, field: &str, i: usize) -> Option<&str> {
        self.table.column(field).and_then(|c| c.text(i))
    }

    fn score(&self, i: usize) -> f64 {
        score_of(&self.scoring, self.deductions[i], self.veto[i])
    }

    fn case(&self, i: usize) -> CaseScore {
        let score = self.score(i);
        let (file, sheet) = self
            .inputs
            .get(self.table.input[i] as usize)
            .cloned()
            .unwrap_or_default();
        CaseScore {
            case_id: self.text("case_id", i).map(str::to_string),
            agency: self.text("agency", i).map(str::to_string),
            score,
            grade: self.scoring.grade(score).to_string(),
            veto: self.veto[i],
            deductions: self.deductions[i],
            findings: self.findings[i],
            source: Source {
                file,
                sheet,
                row: self.table.row[i],
                column: None,
            },
        }
    }
}

impl Default for CaseScores {
    fn default() -> Self {
        CaseScores(Repr::Rows(Vec::new()))
    }
}

impl From<Vec<CaseScore>> for CaseScores {
    fn from(rows: Vec<CaseScore>) -> Self {
        CaseScores(Repr::Rows(rows))
    }
}

impl CaseScores {
    /// Number of cases.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Rows(r) => r.len(),
            #[cfg(feature = "evaluate")]
            Repr::Tallies(t) => t.deductions.len(),
        }
    }

    /// Whether there are no cases.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of case `i`, made anew.
    pub fn get(&self, i: usize) -> Option<CaseScore> {
        match &self.0 {
            Repr::Rows(r) => r.get(i).cloned(),
            #[cfg(feature = "evaluate")]
            Repr::Tallies(t) => (i < t.deductions.len()).then(|| t.case(i)),
        }
    }

    /// Every case's score, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = CaseScore> + '_ {
        self.range(0..self.len())
    }

    /// The scores of cases `range` (clamped to the cases there are).
    pub fn range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl ExactSizeIterator<Item = CaseScore> + '_ {
        let n = self.len();
        (range.start.min(n)..range.end.min(n)).map(move |i| match &self.0 {
            Repr::Rows(r) => r[i].clone(),
            #[cfg(feature = "evaluate")]
            Repr::Tallies(t) => t.case(i),
        })
    }
}

impl<'a> IntoIterator for &'a CaseScores {
    type Item = CaseScore;
    type IntoIter = Box<dyn ExactSizeIterator<Item = CaseScore> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::fmt::Debug for CaseScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for CaseScores {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for CaseScores {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for CaseScores {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<CaseScore>::deserialize(d).map(CaseScores::from)
    }
}

#[cfg(feature = "evaluate")]
/// Scores every case of the table from its findings (each tagged with its table row);
/// `inputs` names the file and sheet of each input index.
pub fn score(
    pack: &RulePack,
    table: &Arc<CaseTable>,
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
    let tallies = Tallies {
        table: Arc::clone(table),
        inputs: inputs
            .iter()
            .map(|x| (x.file.clone(), x.sheet.clone()))
            .collect(),
        deductions: ded,
        veto,
        findings: count,
        scoring: pack.scoring.clone(),
    };
    // Per agency, in order of first appearance.
    struct Acc {
        cases: u64,
        total: f64,
        grades: Vec<u64>,
        veto_cases: u64,
        findings: u64,
        by_system: Map<String, Value>,
    }
    let agencies = table.column("agency");
    let agency_of = |i: usize| agencies.and_then(|c| c.text(i)).unwrap_or(NO_AGENCY);
    let mut order: Vec<&str> = Vec::new();
    let mut acc: polars::prelude::PlHashMap<&str, Acc> = Default::default();
    let grades = &pack.scoring.grades;
    for i in 0..n {
        let a = agency_of(i);
        let e = acc.entry(a).or_insert_with(|| {
            order.push(a);
            Acc {
                cases: 0,
                total: 0.0,
                grades: vec![0; grades.len()],
                veto_cases: 0,
                findings: 0,
                by_system: Map::new(),
            }
        });
        let s = tallies.score(i);
        e.cases += 1;
        e.total += s;
        let g = pack.scoring.grade(s);
        if let Some(k) = grades.iter().position(|(name, _)| name == g) {
            e.grades[k] += 1;
        }
        if tallies.veto[i] {
            e.veto_cases += 1;
        }
    }
    for (i, f) in findings {
        if let Some(e) = acc.get_mut(agency_of(*i)) {
            e.findings += 1;
            bump(&mut e.by_system, f.system.key());
        }
    }
    let agencies = order
        .into_iter()
        .filter_map(|a| {
            let e = acc.remove(a)?;
            let mean_score = if e.cases > 0 {
                ((e.total / e.cases as f64) * 10.0).round() / 10.0
            } else {
                0.0
            };
            Some(AgencyScore {
                agency: a.to_string(),
                cases: e.cases,
                mean_score,
                grades: grades
                    .iter()
                    .zip(&e.grades)
                    .map(|((g, _), c)| (g.clone(), Value::from(*c)))
                    .collect(),
                veto_cases: e.veto_cases,
                findings: e.findings,
                findings_by_system: e.by_system,
            })
        })
        .collect();
    Scores {
        cases: CaseScores(Repr::Tallies(Arc::new(tallies))),
        agencies,
    }
}

#[cfg(feature = "evaluate")]
fn bump(map: &mut Map<String, Value>, key: &str) {
    let v = map.entry(key.to_string()).or_insert(0.into());
    *v = (v.as_u64().unwrap_or(0) + 1).into();
}

#[cfg(test)]
#[cfg(feature = "evaluate")]
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
        let s = score(&p, &Arc::new(t), &findings, &[]);
        let scores: Vec<f64> = s.cases.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![90.0, 0.0, 0.0, 100.0]);
        let second = s.cases.get(1).expect("second case");
        assert_eq!(second.grade, "不合格");
        assert!(second.veto);
        // Read back from JSON, the same scores.
        let back: CaseScores =
            serde_json::from_str(&serde_json::to_string(&s.cases).expect("json")).expect("back");
        assert_eq!(back, s.cases);
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
