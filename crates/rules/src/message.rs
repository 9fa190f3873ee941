//! Rendering rule message templates over a finding's evidence.

use crate::pack::RulePack;
use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Environment, Template};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A finding's evidence, as JSON.
pub type Evidence = serde_json::Map<String, serde_json::Value>;

/// Holds every rule's message template compiled once.
pub struct MessageRenderer {
    env: Environment<'static>,
}

impl MessageRenderer {
    /// Compiles every rule's message template of `pack`.
    pub fn new(pack: &RulePack) -> MessageRenderer {
        let mut env = Environment::new();
        for r in &pack.rules {
            if let Some(m) = &r.message {
                // Templates were checked when the pack loaded; a template that still
                // fails simply falls back to the rule title at render time.
                let _ = env.add_template_owned(r.id.clone(), m.clone());
            }
        }
        MessageRenderer { env }
    }

    /// The message of `rule_id`, looked up once for all of the rule's findings;
    /// `fallback` (the rule's title) stands where it has none or it fails.
    pub fn message<'a>(&'a self, rule_id: &str, fallback: &'a str) -> Message<'a> {
        Message {
            template: self.env.get_template(rule_id).ok(),
            fallback,
        }
    }

    /// The context every finding of a run shares, converted once.
    pub fn shared(context: &serde_json::Value) -> Value {
        Value::from_serialize(context)
    }
}

/// One rule's message template (see [`MessageRenderer::message`]).
pub struct Message<'a> {
    template: Option<Template<'a, 'a>>,
    fallback: &'a str,
}

impl Message<'_> {
    /// Renders the message over a finding's `evidence` (NULL values left out) merged
    /// with `shared` (what every finding of the run has: `as_of`, `params`, converted
    /// once with [`MessageRenderer::shared`]); the evidence wins where both have a key.
    /// The evidence is lent to the template and given back.
    pub fn render(&self, evidence: &mut Evidence, shared: &Value) -> String {
        let Some(t) = &self.template else {
            return self.fallback.to_string();
        };
        // Values are converted as the template reads them, not all beforehand.
        let context = Arc::new(FindingContext {
            evidence: std::mem::take(evidence),
            shared: shared.clone(),
        });
        let rendered = t.render(Value::from_dyn_object(Arc::clone(&context)));
        *evidence = match Arc::try_unwrap(context) {
            Ok(c) => c.evidence,
            Err(c) => c.evidence.clone(),
        };
        rendered.unwrap_or_else(|_| self.fallback.to_string())
    }
}

/// A template's variables: a finding's evidence over the run's shared context.
#[derive(Debug)]
struct FindingContext {
    evidence: Evidence,
    shared: Value,
}

impl FindingContext {
    fn evidence(&self, key: &str) -> Option<Value> {
        self.evidence
            .get(key)
            .filter(|v| !v.is_null())
            .map(Value::from_serialize)
    }
}

impl Object for FindingContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.evidence(key)
            .or_else(|| self.shared.get_attr(key).ok().filter(|v| !v.is_undefined()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: BTreeSet<Value> = self
            .evidence
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| Value::from(k.as_str()))
            .collect();
        if let Ok(shared) = self.shared.try_iter() {
            keys.extend(shared);
        }
        Enumerator::Iter(Box::new(keys.into_iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn renderer(template: &str) -> MessageRenderer {
        let mut env = Environment::new();
        env.add_template_owned("R", template.to_string())
            .expect("template");
        MessageRenderer { env }
    }

    /// What rendering gave before the lazy context: the evidence (NULLs left out) and
    /// the shared context merged by minijinja's `context!`.
    fn merged(template: &str, evidence: &Evidence, shared: &Value) -> String {
        let mut env = Environment::new();
        env.add_template_owned("R", template.to_string())
            .expect("template");
        let present: Value = evidence
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), Value::from_serialize(v)))
            .collect();
        let ctx = minijinja::context! { ..present, ..shared.clone() };
        env.get_template("R")
            .expect("template")
            .render(ctx)
            .expect("render")
    }

    #[test]
    fn evidence_over_shared_as_context_merges_them() {
        let shared = MessageRenderer::shared(&json!({
            "as_of": "2022-12-31",
            "params": {"days": 7},
            "workdays": 99,
        }));
        let evidence = json!({
            "decision_date": "2022-03-01",
            "publication_date": null,
            "workdays": 14,
            "fine_amount": 2000.5,
            "officers": ["张三", "李四"],
        });
        let evidence = evidence.as_object().expect("map").clone();
        let templates = [
            "决定 {{ decision_date }}，公示 {{ publication_date or \"—\" }}，{{ workdays }} 个工作日（{{ params.days }}），评查 {{ as_of }}",
            "{% if publication_date is defined %}有{% else %}无{% endif %}{% if fine_amount is defined and fine_amount is not none %}罚款 {{ fine_amount }} 元{% endif %}",
            "{{ officers|join('、') }} {{ missing or '未填写' }} {{ officers|length }}",
        ];
        for t in templates {
            let r = renderer(t);
            let mut given = evidence.clone();
            let got = r.message("R", "标题").render(&mut given, &shared);
            assert_eq!(got, merged(t, &evidence, &shared), "{t}");
            assert_eq!(given, evidence, "the evidence is given back whole");
        }
        // No template, or one that fails: the fallback.
        let r = renderer("{{ \"文字\" + 1 }}");
        let mut given = evidence.clone();
        assert_eq!(r.message("R", "标题").render(&mut given, &shared), "标题");
        assert_eq!(
            r.message("X", "另一标题").render(&mut given, &shared),
            "另一标题"
        );
        assert_eq!(given, evidence);
    }
}
