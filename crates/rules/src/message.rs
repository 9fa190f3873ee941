//! Rendering rule message templates over a finding's evidence.

use crate::pack::RulePack;
use minijinja::Environment;

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

    /// Renders the message of `rule_id` over a finding's `evidence` (NULL values left
    /// out) merged with `shared` (what every finding of the run has: `as_of`, `params`,
    /// converted once with [`MessageRenderer::shared`]).
    pub fn render_evidence(
        &self,
        rule_id: &str,
        evidence: &serde_json::Map<String, serde_json::Value>,
        shared: &minijinja::Value,
        fallback: &str,
    ) -> String {
        let Ok(t) = self.env.get_template(rule_id) else {
            return fallback.to_string();
        };
        let present: minijinja::Value = evidence
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), minijinja::Value::from_serialize(v)))
            .collect();
        let ctx = minijinja::context! { ..present, ..shared.clone() };
        t.render(ctx).unwrap_or_else(|_| fallback.to_string())
    }

    /// The context every finding of a run shares, converted once.
    pub fn shared(context: &serde_json::Value) -> minijinja::Value {
        minijinja::Value::from_serialize(context)
    }
}
