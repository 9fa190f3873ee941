//! Running the rule examples with the reference evaluator.

use crate::expr::EvalContext;
use crate::pack::RulePack;
use crate::publication;
use crate::rule::{Builtin, Expect, Rule};

/// The outcome of one example.
#[derive(Debug, Clone)]
pub struct ExampleOutcome {
    /// The rule.
    pub rule_id: String,
    /// The example's name.
    pub name: String,
    /// Whether it should fire.
    pub expect: Expect,
    /// Whether the rule fired.
    pub fired: bool,
    /// Whether it did what the example expects.
    pub passed: bool,
    /// Why the rule's condition came out as it did.
    pub explanation: String,
    /// The rule's file in the pack.
    pub file: String,
    /// The example's line in that file.
    pub line: usize,
}

/// Runs one rule's examples.
pub fn run_rule_examples(pack: &RulePack, rule: &Rule) -> Vec<ExampleOutcome> {
    let mut out = Vec::new();
    for ex in &rule.examples {
        let Ok(profile) = pack.profile(&ex.profile) else {
            continue;
        };
        let params = pack.param_values(profile);
        let calendar = pack.calendar(profile);
        let ctx = EvalContext {
            params: &params,
            calendar: &calendar,
            as_of: ex.as_of,
            derived: &pack.derived_exprs,
        };
        // PUB-008's scope counts to the records' coverage date (at most the as-of).
        let scope_ctx = EvalContext {
            as_of: ex.covered_until.map_or(ex.as_of, |c| c.min(ex.as_of)),
            ..ctx
        };
        let scope = if rule.builtin == Some(Builtin::PublicationMissing) {
            &scope_ctx
        } else {
            &ctx
        };
        let applies = rule
            .applies
            .as_ref()
            .map(|a| scope.eval(a, &ex.case).is_true())
            .unwrap_or(true);
        let key = publication::key_of(&ex.case);
        let matching = || {
            ex.published
                .iter()
                .filter(|r| key.is_some() && publication::key_of(r) == key)
        };
        let violated = match rule.builtin {
            Some(Builtin::PublicationMissing) => {
                publication::missing(&ex.case, matching().next().is_some())
            }
            Some(Builtin::PublicationMismatch) => {
                publication::disagreement(&ex.case, matching()).is_some()
            }
            _ => rule
                .violation
                .as_ref()
                .map(|v| ctx.eval(v, &ex.case).is_true())
                .unwrap_or(false),
        };
        let fired = applies && violated;
        let mut explanation = String::new();
        if let Some(a) = &rule.applies {
            explanation.push_str("适用条件（applies）：\n");
            explanation.push_str(&scope.explain(a, &ex.case).render());
        }
        if let Some(v) = &rule.violation {
            explanation.push_str("违规条件（violation）：\n");
            explanation.push_str(&ctx.explain(v, &ex.case).render());
        }
        if rule.builtin.is_some_and(Builtin::needs_records) {
            explanation.push_str(&format!(
                "publication records with the same case number: {}\n",
                matching().count()
            ));
        }
        out.push(ExampleOutcome {
            rule_id: rule.id.clone(),
            name: ex.name.clone(),
            expect: ex.expect,
            fired,
            passed: fired == (ex.expect == Expect::Fire),
            explanation,
            file: rule.file.clone(),
            line: ex.line,
        });
    }
    out
}

/// Runs every example of the pack.
pub fn run_examples(pack: &RulePack) -> Vec<ExampleOutcome> {
    pack.rules
        .iter()
        .flat_map(|r| run_rule_examples(pack, r))
        .collect()
}
