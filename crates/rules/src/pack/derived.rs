//! `derived.toml`: named expressions over fields, usable by every rule.

use super::issues::{line_at, parse_toml, value_place, Issues};
use crate::expr::check::{expanded_depth, expanded_depth_issue};
use crate::expr::{parse_condition, Expr, Scope, Ty};
use crate::fields::FieldSet;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// A derived field: a named expression every rule may use.
#[derive(Debug, Clone)]
pub struct Derived {
    /// Its name, used in conditions.
    pub name: String,
    /// The Chinese label.
    pub label: String,
    /// The checked expression.
    pub expr: Expr,
    /// The expression as written.
    pub text: String,
    /// The legal basis.
    pub basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDerivedFile {
    #[serde(default)]
    derived: Vec<Spanned<RawDerived>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDerived {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    label: String,
    expr: Spanned<String>,
    #[serde(default)]
    basis: String,
}

/// The derived fields of a pack with what conditions need to know of them.
#[derive(Default)]
pub(crate) struct DerivedSet {
    pub(crate) derived: Vec<Derived>,
    pub(crate) types: BTreeMap<String, Ty>,
    pub(crate) exprs: BTreeMap<String, Expr>,
    /// Each derived field's depth with the derived fields it uses expanded.
    pub(crate) depths: BTreeMap<String, usize>,
}

fn ty_of(s: &str) -> Option<Ty> {
    Some(match s {
        "bool" => Ty::Bool,
        "number" => Ty::Number,
        "date" => Ty::Date,
        "text" => Ty::Text,
        _ => return None,
    })
}

/// The derived fields of `derived.toml`, in order: each may use the ones before it.
pub(crate) fn load_derived(
    text: Option<&String>,
    fields: &FieldSet,
    params: &BTreeSet<String>,
    issues: &mut Issues,
) -> DerivedSet {
    const FILE: &str = "derived.toml";
    let mut set = DerivedSet::default();
    let Some(text) = text else {
        return set;
    };
    let Some(rd) = parse_toml::<RawDerivedFile>(FILE, text, issues) else {
        return set;
    };
    for d in rd.derived {
        let line = line_at(text, d.span().start);
        let d = d.into_inner();
        let Some(ty) = ty_of(&d.ty) else {
            issues.push(
                FILE,
                Some(line),
                Some(&d.name),
                format!("未知类型 `{}`；可选：bool、number、date、text", d.ty),
            );
            continue;
        };
        if fields.get(&d.name).is_some() {
            issues.push(
                FILE,
                Some(line),
                Some(&d.name),
                "派生字段不能与字段同名".into(),
            );
            continue;
        }
        let scope = Scope {
            fields,
            derived: &set.types,
            params,
        };
        let start = value_place(text, d.expr.span().start);
        match parse_condition(d.expr.get_ref(), &scope, ty) {
            Ok(e) => {
                if let Some(m) = expanded_depth_issue(&e, &set.depths) {
                    issues.push(FILE, Some(start.line), Some(&d.name), m);
                    continue;
                }
                set.depths
                    .insert(d.name.clone(), expanded_depth(&e, &set.depths));
                set.types.insert(d.name.clone(), ty);
                set.exprs.insert(d.name.clone(), e.clone());
                set.derived.push(Derived {
                    name: d.name,
                    label: d.label,
                    expr: e,
                    text: d.expr.into_inner(),
                    basis: d.basis,
                });
            }
            Err(errs) => {
                for er in &errs {
                    issues.push_check(FILE, start, Some(&d.name), er);
                }
            }
        }
    }
    set
}
