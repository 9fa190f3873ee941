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

    /// Renders the message of `rule_id` over `context` (an object of evidence values).
    /// Falls back to `fallback` when the rule has no message or rendering fails.
    pub fn render(&self, rule_id: &str, context: &serde_json::Value, fallback: &str) -> String {
        match self.env.get_template(rule_id) {
            Ok(t) => t.render(context).unwrap_or_else(|_| fallback.to_string()),
            Err(_) => fallback.to_string(),
        }
    }
}
