//! The one count of a run that everything people read shows (findings.xlsx, report.html,
//! the terminal summary of `caseaudit audit`): findings per agency, system, severity and
//! rule, taken in one pass over the findings, beside the engine's scores. Nothing here
//! decides a finding or a score; it only adds up what the report holds. (The engine's
//! own per-agency counts in findings.json's `scores.agencies` are made where it scores.)

use caseaudit_engine::{AuditReport, Keyed, NO_AGENCY};
use caseaudit_rules::{Severity, System};
use std::collections::HashMap;

/// Severities from the most serious down, the order tables and selects use.
pub const SEVERITIES: [Severity; 3] = [Severity::Critical, Severity::Major, Severity::Minor];

/// One agency: its scores as the engine gave them and its findings counted.
#[derive(Debug, Clone, Default)]
pub struct AgencyTally {
    /// The agency (or 合计 for the total).
    pub name: String,
    /// Cases audited.
    pub cases: u64,
    /// Mean case score, when it has cases.
    pub mean_score: Option<f64>,
    /// Cases with a veto finding.
    pub veto_cases: u64,
    /// Case count per grade, in [`Tally::grades`] order.
    pub grades: Vec<u64>,
    /// Findings in all.
    pub findings: u64,
    /// Findings per system, in [`Tally::systems`] order.
    pub by_system: Vec<u64>,
    /// Findings per severity, in [`SEVERITIES`] order.
    pub by_severity: [u64; 3],
    /// Findings per system and severity (rows in [`Tally::systems`] order).
    pub by_system_severity: Vec<[u64; 3]>,
    /// (rule id, findings), most frequent first.
    pub rules: Vec<(String, u64)>,
}

/// The whole run counted.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Grade names in the pack's order (as the engine's maps hold them).
    pub grades: Vec<String>,
    /// Systems: the five known ones, then any other a finding names.
    pub systems: Vec<Keyed<System>>,
    /// One per agency: those the scores name, in their order, then any other a finding names.
    pub agencies: Vec<AgencyTally>,
    /// All agencies together.
    pub total: AgencyTally,
}

impl Tally {
    /// Counts a report.
    pub fn new(report: &AuditReport) -> Tally {
        let mut grades: Vec<String> = Vec::new();
        for a in &report.scores.agencies {
            for g in a.grades.keys() {
                if !grades.contains(g) {
                    grades.push(g.clone());
                }
            }
        }
        for c in &report.scores.cases {
            if !grades.contains(&c.grade) {
                grades.push(c.grade.clone());
            }
        }
        let mut systems: Vec<Keyed<System>> = System::ALL.into_iter().map(Keyed::from).collect();
        for f in &report.findings {
            if !systems.contains(&f.system) {
                systems.push(f.system.clone());
            }
        }
        let blank = |name: &str| AgencyTally {
            name: name.to_string(),
            grades: vec![0; grades.len()],
            by_system: vec![0; systems.len()],
            by_system_severity: vec![[0; 3]; systems.len()],
            ..AgencyTally::default()
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut agencies: Vec<AgencyTally> = Vec::new();
        for a in &report.scores.agencies {
            let mut t = blank(&a.agency);
            t.cases = a.cases;
            t.mean_score = (a.cases > 0).then_some(a.mean_score);
            t.veto_cases = a.veto_cases;
            for (i, g) in grades.iter().enumerate() {
                t.grades[i] = a.grades.get(g).and_then(|v| v.as_u64()).unwrap_or(0);
            }
            index.insert(a.agency.clone(), agencies.len());
            agencies.push(t);
        }
        let mut rules: Vec<HashMap<&str, u64>> = vec![HashMap::new(); agencies.len()];
        let mut all_rules: HashMap<&str, u64> = HashMap::new();
        let mut total = blank("合计");
        for f in &report.findings {
            let name = f.agency.as_deref().unwrap_or(NO_AGENCY);
            let i = match index.get(name) {
                Some(i) => *i,
                None => {
                    index.insert(name.to_string(), agencies.len());
                    agencies.push(blank(name));
                    rules.push(HashMap::new());
                    agencies.len() - 1
                }
            };
            let sys = systems.iter().position(|s| *s == f.system).unwrap_or(0);
            let sev = severity_index(&f.severity);
            for t in [&mut agencies[i], &mut total] {
                t.findings += 1;
                t.by_system[sys] += 1;
                if let Some(k) = sev {
                    t.by_severity[k] += 1;
                    t.by_system_severity[sys][k] += 1;
                }
            }
            *rules[i].entry(f.rule_id.as_str()).or_insert(0) += 1;
            *all_rules.entry(f.rule_id.as_str()).or_insert(0) += 1;
        }
        for (t, r) in agencies.iter_mut().zip(rules) {
            t.rules = ranked(r);
        }
        total.rules = ranked(all_rules);
        for a in &agencies {
            total.cases += a.cases;
            total.veto_cases += a.veto_cases;
            for (k, n) in a.grades.iter().enumerate() {
                total.grades[k] += n;
            }
        }
        // The run's mean is over cases, not a mean of agency means.
        let cases = &report.scores.cases;
        total.mean_score = if !cases.is_empty() {
            let mean = cases.iter().map(|c| c.score).sum::<f64>() / cases.len() as f64;
            Some((mean * 10.0).round() / 10.0)
        } else if total.cases > 0 {
            let sum: f64 = agencies
                .iter()
                .filter_map(|a| a.mean_score.map(|m| m * a.cases as f64))
                .sum();
            Some((sum / total.cases as f64 * 10.0).round() / 10.0)
        } else {
            None
        };
        if !cases.is_empty() {
            total.veto_cases = cases.iter().filter(|c| c.veto).count() as u64;
            total.cases = cases.len() as u64;
        }
        Tally {
            grades,
            systems,
            agencies,
            total,
        }
    }
}

/// Index into [`SEVERITIES`] (none for a severity this version does not know).
pub fn severity_index(severity: &Keyed<Severity>) -> Option<usize> {
    let s = severity.known()?;
    SEVERITIES.iter().position(|x| *x == s)
}

fn ranked(m: HashMap<&str, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}
