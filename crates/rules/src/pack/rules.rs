//! Rule files (`three-systems/`, `procedure/`, `data-quality/`): one rule a file.

use super::derived::DerivedSet;
use super::issues::{line_at, parse_toml, value_place, Issues};
use super::source::Files;
use crate::calendar::parse_iso;
use crate::error::{did_you_mean, nearest};
use crate::expr::check::expanded_depth_issue;
use crate::expr::{parse_condition, Case, Expr, Scope, Ty, Val};
use crate::fields::{Field, FieldSet, FieldType};
use crate::params::Profile;
use crate::rule::{
    Builtin, Example, Expect, PublishedWithoutDate, Rule, RuleKind, Severity, Status, System,
};
use serde::Deserialize;
use std::collections::BTreeSet;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    system: String,
    severity: String,
    #[serde(default)]
    deduction: u32,
    #[serde(default)]
    veto: bool,
    #[serde(default = "default_kind")]
    kind: RuleKind,
    #[serde(default)]
    builtin: Option<Builtin>,
    #[serde(default = "default_status")]
    status: String,
    #[serde(default)]
    published_without_date: Option<PublishedWithoutDate>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    partial: bool,
    applies: Option<Spanned<String>>,
    violation: Option<Spanned<String>>,
    message: Option<String>,
    basis: String,
    rectification: String,
    description: Option<String>,
    #[serde(default)]
    examples: Vec<Spanned<RawExample>>,
}

fn default_kind() -> RuleKind {
    RuleKind::Condition
}

fn default_status() -> String {
    "active".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    name: String,
    expect: Expect,
    as_of: String,
    profile: Option<String>,
    #[serde(default)]
    case: toml::Table,
    /// Publication records given with the case (publication builtins).
    #[serde(default)]
    published: Vec<toml::Table>,
    /// The records' coverage date (publication builtins).
    covered_until: Option<String>,
}

/// What a rule may name: the pack's parts loaded before the rules.
pub(crate) struct RuleContext<'a> {
    pub(crate) fields: &'a FieldSet,
    pub(crate) params: &'a BTreeSet<String>,
    pub(crate) derived: &'a DerivedSet,
    pub(crate) profiles: &'a [Profile],
}

/// One rule file being checked: where issues go.
struct At<'a> {
    path: &'a str,
    text: &'a str,
    id: &'a str,
}

impl At<'_> {
    fn push(&self, issues: &mut Issues, line: Option<usize>, message: String) {
        issues.push(self.path, line, Some(self.id), message);
    }
}

/// Whether a file of the pack is a rule file: a TOML file in a folder other than
/// `calendar/` and `templates/`.
fn is_rule_file(path: &str) -> bool {
    let top = path.split('/').next().unwrap_or("");
    path.contains('/') && top != "calendar" && top != "templates" && path.ends_with(".toml")
}

/// Every rule of the pack, sorted by id.
pub(crate) fn load_rules(files: &Files, cx: &RuleContext, issues: &mut Issues) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| is_rule_file(p)) {
        let Some(raw) = parse_toml::<RawRule>(path, text, issues) else {
            continue;
        };
        let id = raw.id.clone();
        let at = At {
            path,
            text,
            id: &id,
        };
        if rules.iter().any(|r| r.id == id) {
            at.push(issues, Some(1), format!("规则编号 `{id}` 重复使用"));
        }
        rules.push(load_rule(&at, raw, cx, issues));
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    rules
}

fn is_rule_id(id: &str) -> bool {
    let Some((prefix, num)) = id.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && num.len() == 3
        && num.chars().all(|c| c.is_ascii_digit())
}

fn load_rule(at: &At, raw: RawRule, cx: &RuleContext, issues: &mut Issues) -> Rule {
    let id = at.id;
    if !is_rule_id(id) {
        at.push(issues, Some(1), format!("规则编号 `{id}` 应形如 `PUB-001`"));
    }
    let stem = at
        .path
        .rsplit('/')
        .next()
        .unwrap_or("")
        .trim_end_matches(".toml");
    if stem != id {
        at.push(
            issues,
            Some(1),
            format!("规则 `{id}` 的文件应命名为 {id}.toml"),
        );
    }
    let system = System::from_key(&raw.system).unwrap_or_else(|| {
        let hint = did_you_mean(nearest(&raw.system, System::ALL.iter().map(|s| s.key())));
        at.push(issues, None, format!("未知体系 `{}`{hint}", raw.system));
        System::DataQuality
    });
    check_id_prefix(at, &raw.system, system, issues);
    let status = Status::from_key(&raw.status).unwrap_or_else(|| {
        let known = Status::ALL.map(Status::key);
        let hint = did_you_mean(nearest(&raw.status, known));
        at.push(
            issues,
            None,
            format!(
                "未知的规则状态 `{}`{hint}；可选：{}",
                raw.status,
                known.join("、")
            ),
        );
        Status::Active
    });
    let severity = Severity::from_key(&raw.severity).unwrap_or_else(|| {
        let hint = did_you_mean(nearest(&raw.severity, ["critical", "major", "minor"]));
        at.push(
            issues,
            None,
            format!(
                "未知严重程度 `{}`{hint}；可选：critical、major、minor",
                raw.severity
            ),
        );
        Severity::Minor
    });
    if raw.basis.trim().is_empty() {
        at.push(issues, None, "规则缺少法律依据（basis）".into());
    }
    if raw.rectification.trim().is_empty() {
        at.push(issues, None, "规则缺少整改要求（rectification）".into());
    }
    let applies = condition(at, raw.applies.as_ref(), cx, issues);
    let violation = condition(at, raw.violation.as_ref(), cx, issues);
    check_kind(at, &raw, issues);
    for r in &raw.requires {
        if cx.fields.get(r).is_none() {
            let hint = did_you_mean(nearest(r, cx.fields.names()));
            at.push(issues, None, format!("`requires` 中有未知字段 `{r}`{hint}"));
        }
    }
    let examples = raw
        .examples
        .iter()
        .filter_map(|ex| example(at, ex, cx, issues))
        .collect();
    let rule = Rule {
        id: id.to_string(),
        title: raw.title,
        system,
        severity,
        deduction: raw.deduction,
        veto: raw.veto,
        kind: raw.kind,
        builtin: raw.builtin,
        status,
        published_without_date: raw.published_without_date,
        requires: raw.requires,
        partial: raw.partial,
        applies_text: applies.as_ref().map(|a| a.1.clone()),
        violation_text: violation.as_ref().map(|a| a.1.clone()),
        applies: applies.map(|a| a.0),
        violation: violation.map(|a| a.0),
        message: raw.message,
        basis: raw.basis,
        rectification: raw.rectification,
        description: raw.description,
        examples,
        file: at.path.to_string(),
        source_text: at.text.to_string(),
    };
    check_requires(at, &rule, issues);
    check_message(at, &rule, cx, issues);
    rule
}

/// The id's prefix names the rule's system (`PUB-…` is publication): the two must agree.
fn check_id_prefix(at: &At, written: &str, system: System, issues: &mut Issues) {
    let Some((prefix, _)) = at.id.split_once('-') else {
        return;
    };
    match System::from_id_prefix(prefix) {
        None => {
            let known: Vec<&str> = System::ALL.iter().map(|s| s.id_prefix()).collect();
            let hint = did_you_mean(nearest(prefix, known.iter().copied()));
            at.push(
                issues,
                Some(1),
                format!(
                    "规则编号 `{}` 的前缀 `{prefix}` 不对应任何体系{hint}；可选：{}",
                    at.id,
                    known.join("、")
                ),
            );
        }
        Some(s) if System::from_key(written).is_some() && s != system => at.push(
            issues,
            None,
            format!(
                "规则编号 `{}` 的前缀 `{prefix}` 属于 `{}`（{}），但 `system` 写的是 `{written}`",
                at.id,
                s.key(),
                s.label()
            ),
        ),
        Some(_) => {}
    }
}

/// A rule's `applies` or `violation`, parsed and checked; with its text.
fn condition(
    at: &At,
    s: Option<&Spanned<String>>,
    cx: &RuleContext,
    issues: &mut Issues,
) -> Option<(Expr, String)> {
    let s = s?;
    let start = value_place(at.text, s.span().start);
    let scope = Scope {
        fields: cx.fields,
        derived: &cx.derived.types,
        params: cx.params,
    };
    match parse_condition(s.get_ref(), &scope, Ty::Bool) {
        Ok(e) => match expanded_depth_issue(&e, &cx.derived.depths) {
            Some(m) => {
                at.push(issues, Some(start.line), m);
                None
            }
            None => Some((e, s.get_ref().clone())),
        },
        Err(errs) => {
            for er in &errs {
                issues.push_check(at.path, start, Some(at.id), er);
            }
            None
        }
    }
}

/// A condition rule has a violation; a builtin rule has none and names its mechanism.
fn check_kind(at: &At, raw: &RawRule, issues: &mut Issues) {
    match raw.kind {
        RuleKind::Condition => {
            if raw.violation.is_none() {
                at.push(issues, None, "条件规则须有 `violation`".into());
            }
            if raw.builtin.is_some() {
                at.push(
                    issues,
                    None,
                    "`builtin` 只用于内置规则（kind = \"builtin\"）".into(),
                );
            }
        }
        RuleKind::Builtin => {
            // A builtin's mechanism is in the engine; only PUB-008's has a per-case
            // scope written in the pack.
            let scoped = raw.builtin == Some(Builtin::PublicationMissing);
            if raw.violation.is_some() || (raw.applies.is_some() && !scoped) {
                at.push(
                    issues,
                    None,
                    "内置规则（kind = \"builtin\"）不写 `violation`；只有 `builtin = \"publication_missing\"` 可写 `applies`（其适用范围）".into(),
                );
            }
            if raw.builtin.is_none() {
                let known: Vec<String> = Builtin::ALL
                    .iter()
                    .map(|b| format!("\"{}\"", b.key()))
                    .collect();
                at.push(
                    issues,
                    None,
                    format!(
                        "内置规则须写明其机制：`builtin = …`，可选：{}",
                        known.join("、")
                    ),
                );
            }
        }
    }
    let publication = raw.builtin.is_some_and(Builtin::needs_records);
    for ex in &raw.examples {
        let ex = ex.get_ref();
        if !publication && (!ex.published.is_empty() || ex.covered_until.is_some()) {
            at.push(
                issues,
                None,
                format!(
                    "示例 `{}`：`published` 和 `covered_until` 只用于公示记录比对规则",
                    ex.name
                ),
            );
        }
    }
    if raw.kind == RuleKind::Builtin && !publication && !raw.examples.is_empty() {
        at.push(
            issues,
            None,
            "该内置规则不能写示例（其机制不是逐案判断）".into(),
        );
    }
}

/// `requires` lists exactly the fields the principle makes required.
fn check_requires(at: &At, rule: &Rule, issues: &mut Issues) {
    if rule.kind != RuleKind::Condition || rule.violation.is_none() {
        return;
    }
    let principle = rule.principle_requires();
    let mut want: Vec<&String> = if rule.partial {
        Vec::new()
    } else {
        principle.iter().collect()
    };
    want.sort();
    let mut have: Vec<&String> = rule.requires.iter().collect();
    have.sort();
    if want != have {
        at.push(
            issues,
            None,
            format!(
                "`requires` 应列出 `violation` 中直接使用的字段，以及 `applies` 中 COALESCE 之外直接使用的字段：[{}]",
                want.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
    }
}

/// The message template compiles, and every variable it uses is one of the rule's
/// evidence names (an unknown one would render as empty text), every `params.NAME` a
/// parameter of the pack. A builtin rule's message is fixed text written by the engine.
fn check_message(at: &At, rule: &Rule, cx: &RuleContext, issues: &mut Issues) {
    let Some(m) = &rule.message else {
        return;
    };
    let env = minijinja::Environment::new();
    let template = match env.template_from_str(m) {
        Ok(t) => t,
        Err(e) => {
            at.push(issues, None, format!("消息模板有语法错误：{e}"));
            return;
        }
    };
    if rule.kind != RuleKind::Condition {
        return;
    }
    let names = rule.evidence_names();
    let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    used.sort();
    for var in used {
        let mut parts = var.splitn(3, '.');
        let root = parts.next().unwrap_or_default();
        if root == "params" {
            if let Some(p) = parts.next() {
                if !cx.params.contains(p) {
                    let hint = did_you_mean(nearest(p, cx.params.iter().map(|s| s.as_str())));
                    at.push(
                        issues,
                        None,
                        format!("消息模板用到未知参数 `params.{p}`{hint}"),
                    );
                }
            }
        } else if !names.iter().any(|n| n == root) {
            let hint = did_you_mean(nearest(root, names.iter().map(|s| s.as_str())));
            at.push(
                issues,
                None,
                format!(
                    "消息模板用到 `{root}`，它不是本规则的证据（会显示为空）{hint}；可用：{}",
                    names.join("、")
                ),
            );
        }
    }
}

/// One example of a rule; `None` when it cannot be run at all.
fn example(
    at: &At,
    ex: &Spanned<RawExample>,
    cx: &RuleContext,
    issues: &mut Issues,
) -> Option<Example> {
    let line = line_at(at.text, ex.span().start);
    let ex = ex.get_ref();
    let Some(as_of) = parse_iso(&ex.as_of) else {
        at.push(
            issues,
            Some(line),
            format!(
                "示例 `{}`：as_of `{}` 不是 YYYY-MM-DD 格式",
                ex.name, ex.as_of
            ),
        );
        return None;
    };
    let profile = ex.profile.clone().unwrap_or_else(|| "national".into());
    if !cx.profiles.iter().any(|p| p.name == profile) {
        at.push(
            issues,
            Some(line),
            format!("示例 `{}`：未知的参数配置 `{profile}`", ex.name),
        );
    }
    let case = example_case(at, &ex.name, line, &ex.case, cx, issues);
    let published = ex
        .published
        .iter()
        .map(|r| example_case(at, &ex.name, line, r, cx, issues))
        .collect();
    let covered_until = match &ex.covered_until {
        None => None,
        Some(s) => match parse_iso(s) {
            Some(d) => Some(d),
            None => {
                at.push(
                    issues,
                    Some(line),
                    format!(
                        "示例 `{}`：covered_until `{s}` 不是 YYYY-MM-DD 格式",
                        ex.name
                    ),
                );
                return None;
            }
        },
    };
    Some(Example {
        name: ex.name.clone(),
        expect: ex.expect,
        as_of,
        profile,
        case,
        published,
        covered_until,
        line,
    })
}

/// The values of an example's case (or publication record), field by field.
fn example_case(
    at: &At,
    ex_name: &str,
    line: usize,
    table: &toml::Table,
    cx: &RuleContext,
    issues: &mut Issues,
) -> Case {
    let mut case = Case::new();
    for (k, v) in table {
        match cx.fields.get(k) {
            None => {
                let hint = did_you_mean(nearest(k, cx.fields.names()));
                at.push(
                    issues,
                    Some(line),
                    format!("示例 `{ex_name}`：未知字段 `{k}`{hint}"),
                );
            }
            Some(f) => match example_value(f, v) {
                Ok(val) => {
                    case.insert(k.clone(), val);
                }
                Err(m) => at.push(issues, Some(line), format!("示例 `{ex_name}`：{m}")),
            },
        }
    }
    case
}

/// An example's value for a field, as the engine would read it from a ledger.
fn example_value(field: &Field, v: &toml::Value) -> Result<Val, String> {
    use toml::Value as T;
    let bad = || {
        format!(
            "`{}` 不是字段 `{}` 的有效{}值",
            v,
            field.name,
            field.ty.label()
        )
    };
    Ok(match (field.ty, v) {
        (FieldType::Date, T::String(s)) => Val::Date(parse_iso(s).ok_or_else(bad)?),
        (FieldType::Bool, T::Boolean(b)) => Val::Bool(*b),
        (FieldType::Money, T::Integer(i)) => Val::Num(*i as f64),
        (FieldType::Money, T::Float(f)) => Val::Num(*f),
        (FieldType::Text, T::String(s)) => Val::Text(s.clone()),
        (FieldType::Enum, T::String(s)) => match field.canonical(s) {
            Some([c]) => Val::Text(c.clone()),
            _ => return Err(format!("`{s}` 不是 `{}` 的取值", field.name)),
        },
        (FieldType::List, T::Array(items)) => {
            let mut out = Vec::new();
            for it in items {
                let T::String(s) = it else { return Err(bad()) };
                if field.has_vocabulary() {
                    match field.canonical(s) {
                        Some(c) => out.extend(c.iter().cloned()),
                        None => return Err(format!("`{s}` 不是 `{}` 的取值", field.name)),
                    }
                } else {
                    out.push(s.clone());
                }
            }
            Val::List(out)
        }
        _ => return Err(bad()),
    })
}
