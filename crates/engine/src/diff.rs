//! Rectification follow-up: findings of an earlier audit matched with a later one by
//! (agency, case id, rule id).

use crate::model::{AuditReport, NO_AGENCY};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A finding's identity across audits.
pub type Key = (String, String, String);

/// What became of the findings of one agency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgencyDiff {
    /// The agency (or the label for findings without one).
    pub agency: String,
    /// Distinct findings of the old audit.
    pub old: u64,
    /// Old findings whose case was audited again, the rule ran, and it did not fire.
    pub resolved: u64,
    /// Old findings that fire again.
    pub persisting: u64,
    /// Findings of the new audit that the old one did not have.
    pub new: u64,
    /// Old findings whose case is absent from the new audit, or whose rule did not run.
    pub unknown: u64,
    /// resolved / old.
    pub rectification_rate: Option<f64>,
    /// The resolved findings.
    pub resolved_items: Vec<DiffItem>,
    /// The persisting findings.
    pub persisting_items: Vec<DiffItem>,
    /// The new findings.
    pub new_items: Vec<DiffItem>,
    /// The findings whose outcome is unknown.
    pub unknown_items: Vec<DiffItem>,
}

/// One finding in a follow-up: its case, its rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffItem {
    /// The case number (a finding without one is not followed up).
    pub case_id: String,
    /// The rule.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
}

/// Something the two audits measured against differently: the parameter profile, the
/// as-of year, the rule pack's version, or whether publication records were checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDifference {
    /// `profile`, `as_of_year`, `pack_version` or `published_records`.
    pub what: String,
    /// Its value in the old audit.
    pub old: String,
    /// Its value in the new audit.
    pub new: String,
}

/// How two audits differ in what they were measured against.
pub fn run_differences(old: &AuditReport, new: &AuditReport) -> Vec<RunDifference> {
    let year = |as_of: &str| as_of.split('-').next().unwrap_or("").to_string();
    // Publication records change PUB-001 and add PUB-008/PUB-009 (decisions.md).
    let records = |r: &AuditReport| match &r.run.published_summary {
        Some(s) => format!("比对 {} 条公示记录", s.records),
        None => "未比对公示记录".to_string(),
    };
    let checked = |r: &AuditReport| r.run.published_summary.is_some();
    [
        ("profile", old.run.profile.clone(), new.run.profile.clone()),
        ("as_of_year", year(&old.run.as_of), year(&new.run.as_of)),
        (
            "pack_version",
            format!("{} {}", old.run.pack.name, old.run.pack.version),
            format!("{} {}", new.run.pack.name, new.run.pack.version),
        ),
        (
            "published_records",
            records(old),
            if checked(old) == checked(new) {
                records(old)
            } else {
                records(new)
            },
        ),
    ]
    .into_iter()
    .filter(|(_, o, n)| o != n)
    .map(|(what, old, new)| RunDifference {
        what: what.into(),
        old,
        new,
    })
    .collect()
}

impl FollowUp {
    /// One line for people when the runs differ in profile, as-of year or pack
    /// version: the comparison then mixes changes of the ledgers with changes of the
    /// measure.
    pub fn differences_note(&self) -> Option<String> {
        if self.run_differences.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .run_differences
            .iter()
            .map(|d| {
                let label = match d.what.as_str() {
                    "profile" => "参数配置",
                    "as_of_year" => "评查年度",
                    "pack_version" => "规则包版本",
                    "published_records" => "公示记录比对",
                    other => other,
                };
                format!("{label}不同（原 {}，复查 {}）", d.old, d.new)
            })
            .collect();
        Some(format!(
            "注意：两次评查的{}，整改结果中可能混有评查标准变化的影响",
            parts.join("、")
        ))
    }
}

/// The follow-up of two audits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The audit date of the old audit.
    pub old_as_of: String,
    /// The audit date of the new audit.
    pub new_as_of: String,
    /// How the two runs differ in profile, as-of year or pack version (empty when
    /// they were measured alike).
    #[serde(default)]
    pub run_differences: Vec<RunDifference>,
    /// One per agency.
    pub agencies: Vec<AgencyDiff>,
    /// All agencies together.
    pub totals: AgencyDiff,
}

fn agency(a: &Option<String>) -> String {
    a.clone().unwrap_or_else(|| NO_AGENCY.to_string())
}

fn keys(r: &AuditReport) -> BTreeMap<Key, String> {
    r.findings
        .iter()
        .filter_map(|f| {
            let case = f.case_id.as_ref()?;
            Some((
                (
                    agency(&f.agency),
                    case.trim().to_string(),
                    f.rule_id.clone(),
                ),
                f.title.clone(),
            ))
        })
        .collect()
}

/// The agency's tally, created (and its order recorded) on first use.
fn slot<'a>(
    per: &'a mut BTreeMap<String, AgencyDiff>,
    order: &mut Vec<String>,
    a: &str,
) -> &'a mut AgencyDiff {
    if !per.contains_key(a) {
        order.push(a.to_string());
    }
    per.entry(a.to_string()).or_insert_with(|| AgencyDiff {
        agency: a.to_string(),
        ..Default::default()
    })
}

/// Compares two audits (decisions.md: a finding is resolved only when its case is in
/// NEW and the rule was evaluated for it and did not fire).
pub fn follow_up(old: &AuditReport, new: &AuditReport) -> FollowUp {
    let old_keys = keys(old);
    let new_keys = keys(new);
    // Case → the input it came from in NEW.
    let mut new_cases: HashMap<(String, String), (String, String)> = HashMap::new();
    for c in &new.scores.cases {
        if let Some(id) = &c.case_id {
            new_cases
                .entry((agency(&c.agency), id.trim().to_string()))
                .or_insert((c.source.file.clone(), c.source.sheet.clone()));
        }
    }
    let mut skipped: HashSet<(String, String, String)> = HashSet::new();
    for i in &new.run.inputs {
        for n in &i.not_evaluated {
            skipped.insert((i.file.clone(), i.sheet.clone(), n.rule_id.clone()));
        }
    }
    let ran: BTreeSet<&str> = new
        .run
        .rules
        .iter()
        .filter(|r| r.evaluated)
        .map(|r| r.id.as_str())
        .collect();
    let mut per: BTreeMap<String, AgencyDiff> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    // Agencies in the order the audits list them.
    for f in old.findings.iter().chain(&new.findings) {
        if f.case_id.is_some() {
            slot(&mut per, &mut order, &agency(&f.agency));
        }
    }
    for ((a, case, rule), title) in &old_keys {
        let item = DiffItem {
            case_id: case.clone(),
            rule_id: rule.clone(),
            title: title.clone(),
        };
        let d = slot(&mut per, &mut order, a);
        d.old += 1;
        if new_keys.contains_key(&(a.clone(), case.clone(), rule.clone())) {
            d.persisting += 1;
            d.persisting_items.push(item);
            continue;
        }
        let evaluated = match new_cases.get(&(a.clone(), case.clone())) {
            Some((file, sheet)) => {
                ran.contains(rule.as_str())
                    && !skipped.contains(&(file.clone(), sheet.clone(), rule.clone()))
            }
            None => false,
        };
        if evaluated {
            d.resolved += 1;
            d.resolved_items.push(item);
        } else {
            d.unknown += 1;
            d.unknown_items.push(item);
        }
    }
    for ((a, case, rule), title) in &new_keys {
        if old_keys.contains_key(&(a.clone(), case.clone(), rule.clone())) {
            continue;
        }
        let d = slot(&mut per, &mut order, a);
        d.new += 1;
        d.new_items.push(DiffItem {
            case_id: case.clone(),
            rule_id: rule.clone(),
            title: title.clone(),
        });
    }
    let mut totals = AgencyDiff {
        agency: "合计".into(),
        ..Default::default()
    };
    let mut agencies = Vec::new();
    for a in order {
        if let Some(mut d) = per.remove(&a) {
            d.rectification_rate = (d.old > 0).then(|| d.resolved as f64 / d.old as f64);
            totals.old += d.old;
            totals.resolved += d.resolved;
            totals.persisting += d.persisting;
            totals.new += d.new;
            totals.unknown += d.unknown;
            agencies.push(d);
        }
    }
    totals.rectification_rate =
        (totals.old > 0).then(|| totals.resolved as f64 / totals.old as f64);
    FollowUp {
        old_as_of: old.run.as_of.clone(),
        new_as_of: new.run.as_of.clone(),
        run_differences: run_differences(old, new),
        agencies,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use serde_json::Map;

    fn finding(agency: &str, case: &str, rule: &str, file: &str) -> Finding {
        Finding {
            case_id: Some(case.into()),
            agency: Some(agency.into()),
            rule_id: rule.into(),
            system: caseaudit_rules::System::Publication.into(),
            severity: caseaudit_rules::Severity::Major.into(),
            title: rule.into(),
            message: String::new(),
            evidence: Map::new(),
            deduction: 1,
            veto: false,
            source: Source {
                file: file.into(),
                sheet: String::new(),
                row: 2,
                column: None,
            },
            cells: vec![],
        }
    }

    fn case(agency: &str, id: &str, file: &str) -> CaseScore {
        CaseScore {
            case_id: Some(id.into()),
            agency: Some(agency.into()),
            score: 100.0,
            grade: "优秀".into(),
            veto: false,
            deductions: 0,
            findings: 0,
            source: Source {
                file: file.into(),
                sheet: String::new(),
                row: 2,
                column: None,
            },
        }
    }

    fn report(
        findings: Vec<Finding>,
        cases: Vec<CaseScore>,
        not_evaluated: Vec<&str>,
    ) -> AuditReport {
        AuditReport {
            tool: ToolInfo {
                name: "caseaudit".into(),
                version: "0".into(),
            },
            run: RunInfo {
                as_of: "2022-12-31".into(),
                profile: "national".into(),
                pack: PackInfo {
                    name: String::new(),
                    version: String::new(),
                    source: String::new(),
                },
                inputs: vec![InputSummary {
                    file: "new.xlsx".into(),
                    sheet: String::new(),
                    rows: 0,
                    cases: 0,
                    rejected: 0,
                    empty_rows_skipped: 0,
                    header_rows: vec![],
                    columns: vec![],
                    missing_fields: vec![],
                    not_evaluated: not_evaluated
                        .into_iter()
                        .map(|r| NotEvaluated {
                            rule_id: r.into(),
                            missing_fields: vec!["x".into()],
                        })
                        .collect(),
                    notes: vec![],
                    rejected_rows: Vec::new(),
                    implied: Vec::new(),
                }],
                errors: vec![],
                warnings: vec![],
                rows_read: 0,
                cases_audited: 0,
                rows_rejected: 0,
                published: Vec::new(),
                published_summary: None,
                field_labels: Default::default(),
                rules: ["PUB-001", "PUB-002", "REC-001", "REC-004"]
                    .iter()
                    .map(|id| RuleStatus {
                        id: id.to_string(),
                        system: caseaudit_rules::System::Publication.into(),
                        severity: caseaudit_rules::Severity::Major.into(),
                        title: String::new(),
                        basis: String::new(),
                        rectification: String::new(),
                        deduction: 0,
                        veto: false,
                        evaluated: true,
                        missing_fields: vec![],
                        not_evaluable: 0,
                        findings: 0,
                    })
                    .collect(),
            },
            findings,
            scores: Scores {
                cases: cases.into(),
                agencies: vec![],
            },
        }
    }

    #[test]
    fn runs_with_and_without_publication_records_differ() {
        let old = report(vec![], vec![], vec![]);
        let mut new = report(vec![], vec![], vec![]);
        assert!(run_differences(&old, &new).is_empty());
        new.run.published_summary = Some(PublishedSummary {
            records: 23,
            ..Default::default()
        });
        let d = run_differences(&old, &new);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].what, "published_records");
        assert_eq!(d[0].new, "比对 23 条公示记录");
        // Two runs that both checked records (however many) do not differ.
        let mut old = new.clone();
        if let Some(s) = &mut old.run.published_summary {
            s.records = 5;
        }
        assert!(run_differences(&old, &new).is_empty());
    }

    #[test]
    fn resolved_persisting_new_and_unknown() {
        let old = report(
            vec![
                finding("甲", "A-1", "PUB-001", "old.xlsx"), // fixed
                finding("甲", "A-1", "REC-001", "old.xlsx"), // still there
                finding("甲", "A-2", "PUB-001", "old.xlsx"), // case gone: unknown
                finding("甲", "A-3", "REC-004", "old.xlsx"), // rule not run on new: unknown
                finding("甲", "A-3", "REC-004", "old.xlsx"), // duplicate counts once
                finding("乙", "B-1", "PUB-002", "old.xlsx"), // fixed
            ],
            vec![],
            vec![],
        );
        let new = report(
            vec![
                finding("甲", "A-1", "REC-001", "new.xlsx"),
                finding("乙", "B-9", "PUB-001", "new.xlsx"),
            ],
            vec![
                case("甲", "A-1", "new.xlsx"),
                case("甲", "A-3", "new.xlsx"),
                case("乙", "B-1", "new.xlsx"),
                case("乙", "B-9", "new.xlsx"),
            ],
            vec!["REC-004"],
        );
        let f = follow_up(&old, &new);
        let t: Vec<(&str, u64, u64, u64, u64, u64)> = f
            .agencies
            .iter()
            .map(|d| {
                (
                    d.agency.as_str(),
                    d.old,
                    d.resolved,
                    d.persisting,
                    d.new,
                    d.unknown,
                )
            })
            .collect();
        assert_eq!(t, vec![("甲", 4, 1, 1, 0, 2), ("乙", 1, 1, 0, 1, 0)]);
        assert_eq!(f.agencies[0].rectification_rate, Some(0.25));
        assert_eq!(f.agencies[1].rectification_rate, Some(1.0));
        assert_eq!(f.totals.old, 5);
        assert_eq!(f.totals.resolved, 2);
        assert_eq!(f.agencies[0].resolved_items[0].rule_id, "PUB-001");
        assert_eq!(f.agencies[1].new_items[0].case_id, "B-9");
    }
}
