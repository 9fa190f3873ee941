//! Loading a rule pack: raw TOML (unknown keys rejected), then validated types.

use crate::calendar::{parse_iso, Calendar, CalendarYear};
use crate::error::{did_you_mean, nearest, PackError, PackIssue};
use crate::expr::{parse_condition, Case, CheckError, Expr, Scope, Ty, Val};
use crate::fields::{FieldSet, FieldType, RawFields};
use crate::params::{Param, ParamValues, Profile, RawParams};
use crate::rule::{Builtin, Example, Expect, Rule, RuleKind, Scoring, Severity, System};
use chrono::NaiveDate;
use include_dir::{include_dir, Dir};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use toml::Spanned;

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../rules");

/// A derived field: a named expression every rule may use.
#[derive(Debug, Clone)]
pub struct Derived {
    pub name: String,
    pub label: String,
    pub expr: Expr,
    pub text: String,
    pub basis: String,
}

/// A validated rule pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    pub name: String,
    pub version: String,
    pub description: String,
    /// `built-in` or the folder it was read from.
    pub source: String,
    pub fields: FieldSet,
    pub params: Vec<Param>,
    pub profiles: Vec<Profile>,
    pub calendar_years: Vec<CalendarYear>,
    pub overlays: BTreeMap<String, Vec<CalendarYear>>,
    pub derived: Vec<Derived>,
    pub derived_exprs: BTreeMap<String, Expr>,
    pub rules: Vec<Rule>,
    pub scoring: Scoring,
    /// Files under `templates/`, by path inside it.
    pub templates: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    notice: String,
    #[serde(default)]
    off: Vec<String>,
    #[serde(default)]
    work: Vec<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScoring {
    veto_score: f64,
    grade: Vec<RawGrade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    name: String,
    min: f64,
}

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
}

/// Collects issues while a pack is validated.
struct Issues(Vec<PackIssue>);

impl Issues {
    fn push(&mut self, file: &str, line: Option<usize>, item: Option<&str>, message: String) {
        self.0.push(PackIssue {
            file: file.to_string(),
            line,
            item: item.map(str::to_string),
            message,
        });
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where a string value's text starts: a multi-line string's first newline
/// is not part of it.
fn value_line(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let skip = ["\"\"\"\n", "'''\n", "\"\"\"\r\n", "'''\r\n"]
        .iter()
        .any(|p| rest.starts_with(p));
    line_at(text, offset) + usize::from(skip)
}

fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    issues: &mut Issues,
) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let line = e.span().map(|s| line_at(text, s.start));
            issues.push(file, line, None, e.message().trim().to_string());
            None
        }
    }
}

fn parse_month_days(year: i32, spec: &str) -> Result<Vec<NaiveDate>, String> {
    let one = |s: &str| -> Result<NaiveDate, String> {
        let (m, d) = s
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not MM-DD"))?;
        let (m, d): (u32, u32) = (
            m.parse().map_err(|_| format!("`{s}` is not MM-DD"))?,
            d.parse().map_err(|_| format!("`{s}` is not MM-DD"))?,
        );
        NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| format!("`{s}` is not a day of {year}"))
    };
    match spec.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if b < a {
                return Err(format!("range `{spec}` ends before it starts"));
            }
            Ok(a.iter_days().take_while(|d| *d <= b).collect())
        }
        None => Ok(vec![one(spec)?]),
    }
}

fn calendar_year(file: &str, text: &str, issues: &mut Issues) -> Option<CalendarYear> {
    let raw: RawYear = parse_toml(file, text, issues)?;
    let mut y = CalendarYear {
        year: raw.year,
        notice: raw.notice,
        off: Vec::new(),
        work: Vec::new(),
    };
    for (list, out) in [(&raw.off, &mut y.off), (&raw.work, &mut y.work)] {
        for s in list {
            match parse_month_days(raw.year, s) {
                Ok(mut d) => out.append(&mut d),
                Err(e) => issues.push(file, None, None, e),
            }
        }
    }
    Some(y)
}

/// Files of a pack: path inside the pack (with `/`) → text.
type Files = BTreeMap<String, String>;

/// The files of the built-in pack (path inside the pack → text), e.g. to copy it.
pub fn builtin_files() -> BTreeMap<String, String> {
    fn walk(dir: &Dir<'static>, out: &mut Files) {
        for f in dir.files() {
            if let Some(text) = f.contents_utf8() {
                out.insert(
                    f.path().to_string_lossy().replace('\\', "/"),
                    text.to_string(),
                );
            }
        }
        for d in dir.dirs() {
            walk(d, out);
        }
    }
    let mut files = Files::new();
    walk(&BUILTIN, &mut files);
    files
}

fn dir_files(root: &Path) -> Result<Files, PackError> {
    fn walk(root: &Path, dir: &Path, out: &mut Files) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if p.extension().is_some_and(|e| e == "toml")
                || p.strip_prefix(root)
                    .is_ok_and(|r| r.starts_with("templates"))
            {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&p)?);
            }
        }
        Ok(())
    }
    let mut files = Files::new();
    walk(root, root, &mut files).map_err(|e| PackError::Io {
        path: root.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(files)
}

fn example_value(field: &crate::fields::Field, v: &toml::Value) -> Result<Val, String> {
    use toml::Value as T;
    let bad = || {
        format!(
            "`{}` is not a valid {} value for `{}`",
            v,
            field.ty.label(),
            field.name
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
            _ => return Err(format!("`{s}` is not a value of `{}`", field.name)),
        },
        (FieldType::List, T::Array(items)) => {
            let mut out = Vec::new();
            for it in items {
                let T::String(s) = it else { return Err(bad()) };
                if field.has_vocabulary() {
                    match field.canonical(s) {
                        Some(c) => out.extend(c.iter().cloned()),
                        None => return Err(format!("`{s}` is not a value of `{}`", field.name)),
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

fn ty_of(s: &str) -> Option<Ty> {
    Some(match s {
        "bool" => Ty::Bool,
        "number" => Ty::Number,
        "date" => Ty::Date,
        "text" => Ty::Text,
        _ => return None,
    })
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

impl RulePack {
    /// The pack built into the binary.
    pub fn builtin() -> Result<RulePack, PackError> {
        RulePack::from_files("built-in".into(), builtin_files())
    }

    /// A pack read from a folder.
    pub fn load_dir(path: &Path) -> Result<RulePack, PackError> {
        if !path.is_dir() {
            return Err(PackError::Io {
                path: path.display().to_string(),
                reason: "not a folder".into(),
            });
        }
        RulePack::from_files(path.display().to_string(), dir_files(path)?)
    }

    /// Parses and checks a condition against this pack's fields, parameters and derived
    /// fields (as a rule's condition is checked).
    pub fn parse_condition(&self, text: &str, want: Ty) -> Result<Expr, Vec<CheckError>> {
        let params: BTreeSet<String> = self.params.iter().map(|p| p.name.clone()).collect();
        let derived: BTreeMap<String, Ty> = self
            .derived
            .iter()
            .map(|d| (d.name.clone(), d.expr.ty))
            .collect();
        let scope = Scope {
            fields: &self.fields,
            derived: &derived,
            params: &params,
        };
        parse_condition(text, &scope, want)
    }

    /// The built-in pack, or the one in `dir` when given.
    pub fn load(dir: Option<&Path>) -> Result<RulePack, PackError> {
        match dir {
            Some(d) => RulePack::load_dir(d),
            None => RulePack::builtin(),
        }
    }

    fn from_files(source: String, files: Files) -> Result<RulePack, PackError> {
        let mut issues = Issues(Vec::new());
        let need = |name: &str, issues: &mut Issues| -> Option<String> {
            let t = files.get(name).cloned();
            if t.is_none() {
                issues.push(name, None, None, "missing from the pack".into());
            }
            t
        };
        let meta: Option<RawPack> =
            need("pack.toml", &mut issues).and_then(|t| parse_toml("pack.toml", &t, &mut issues));
        let raw_fields: Option<RawFields> = need("fields.toml", &mut issues)
            .and_then(|t| parse_toml("fields.toml", &t, &mut issues));
        let raw_params: Option<RawParams> = need("params.toml", &mut issues)
            .and_then(|t| parse_toml("params.toml", &t, &mut issues));
        let raw_scoring: Option<RawScoring> = need("scoring.toml", &mut issues)
            .and_then(|t| parse_toml("scoring.toml", &t, &mut issues));

        let Some(raw_fields) = raw_fields else {
            return Err(PackError::Invalid(issues.0));
        };
        let mut field_issues = Vec::new();
        let fields = FieldSet::from_raw(raw_fields, &mut field_issues);
        for m in field_issues {
            issues.push("fields.toml", None, None, m);
        }

        // Parameters and profiles.
        let mut params = Vec::new();
        let mut profiles = Vec::new();
        if let Some(rp) = raw_params {
            for p in rp.param {
                if params.iter().any(|x: &Param| x.name == p.name) {
                    issues.push(
                        "params.toml",
                        None,
                        Some(&p.name),
                        "parameter defined twice".into(),
                    );
                }
                params.push(Param {
                    name: p.name,
                    value: p.value,
                    meaning: p.meaning,
                    source: p.source,
                });
            }
            for pr in rp.profile {
                for k in pr.values.keys() {
                    if !params.iter().any(|p| &p.name == k) {
                        let hint = did_you_mean(nearest(k, params.iter().map(|p| p.name.as_str())));
                        issues.push(
                            "params.toml",
                            None,
                            Some(&pr.name),
                            format!("profile sets unknown parameter `{k}`{hint}"),
                        );
                    }
                }
                profiles.push(Profile {
                    name: pr.name,
                    title: pr.title,
                    source: pr.source,
                    values: pr.values,
                    calendar_overlays: pr.calendar_overlays,
                });
            }
            if !profiles.iter().any(|p| p.name == "national") {
                profiles.insert(
                    0,
                    Profile {
                        name: "national".into(),
                        title: "全国".into(),
                        source: String::new(),
                        values: BTreeMap::new(),
                        calendar_overlays: Vec::new(),
                    },
                );
            }
        }
        let param_names: BTreeSet<String> = params.iter().map(|p| p.name.clone()).collect();

        // Calendar and overlays.
        let mut calendar_years = Vec::new();
        let mut overlays: BTreeMap<String, Vec<CalendarYear>> = BTreeMap::new();
        let mut templates = BTreeMap::new();
        for (path, text) in &files {
            if let Some(rest) = path.strip_prefix("calendar/overlays/") {
                if let Some((name, _)) = rest.split_once('/') {
                    if let Some(y) = calendar_year(path, text, &mut issues) {
                        overlays.entry(name.to_string()).or_default().push(y);
                    }
                }
            } else if let Some(rest) = path.strip_prefix("calendar/") {
                if !rest.contains('/') && rest.ends_with(".toml") {
                    if let Some(y) = calendar_year(path, text, &mut issues) {
                        if rest.trim_end_matches(".toml") != y.year.to_string() {
                            issues.push(
                                path,
                                None,
                                None,
                                format!("file holds year {}, name it {}.toml", y.year, y.year),
                            );
                        }
                        calendar_years.push(y);
                    }
                }
            } else if let Some(rest) = path.strip_prefix("templates/") {
                templates.insert(rest.to_string(), text.clone());
            }
        }
        if calendar_years.is_empty() {
            issues.push(
                "calendar/",
                None,
                None,
                "the pack has no calendar year".into(),
            );
        }
        for p in &profiles {
            for o in &p.calendar_overlays {
                if !overlays.contains_key(o) {
                    issues.push(
                        "params.toml",
                        None,
                        Some(&p.name),
                        format!("calendar overlay `{o}` has no folder calendar/overlays/{o}/"),
                    );
                }
            }
        }

        // Derived fields, in order: each may use the ones before it.
        let mut derived = Vec::new();
        let mut derived_types: BTreeMap<String, Ty> = BTreeMap::new();
        let mut derived_exprs = BTreeMap::new();
        if let Some(text) = files.get("derived.toml") {
            if let Some(rd) = parse_toml::<RawDerivedFile>("derived.toml", text, &mut issues) {
                for d in rd.derived {
                    let line = line_at(text, d.span().start);
                    let d = d.into_inner();
                    let Some(ty) = ty_of(&d.ty) else {
                        issues.push(
                            "derived.toml",
                            Some(line),
                            Some(&d.name),
                            format!("unknown type `{}`; use bool, number, date or text", d.ty),
                        );
                        continue;
                    };
                    if fields.get(&d.name).is_some() {
                        issues.push(
                            "derived.toml",
                            Some(line),
                            Some(&d.name),
                            "a derived field cannot reuse a field's name".into(),
                        );
                        continue;
                    }
                    let scope = Scope {
                        fields: &fields,
                        derived: &derived_types,
                        params: &param_names,
                    };
                    let eline = value_line(text, d.expr.span().start);
                    match parse_condition(d.expr.get_ref(), &scope, ty) {
                        Ok(e) => {
                            derived_types.insert(d.name.clone(), ty);
                            derived_exprs.insert(d.name.clone(), e.clone());
                            derived.push(Derived {
                                name: d.name,
                                label: d.label,
                                expr: e,
                                text: d.expr.into_inner(),
                                basis: d.basis,
                            });
                        }
                        Err(errs) => {
                            for er in errs {
                                issues.push(
                                    "derived.toml",
                                    Some(eline + er.line.unwrap_or(1) - 1),
                                    Some(&d.name),
                                    er.message,
                                );
                            }
                        }
                    }
                }
            }
        }

        // Rules.
        let mut rules: Vec<Rule> = Vec::new();
        for (path, text) in &files {
            let top = path.split('/').next().unwrap_or("");
            if !path.contains('/')
                || top == "calendar"
                || top == "templates"
                || !path.ends_with(".toml")
            {
                continue;
            }
            let Some(raw) = parse_toml::<RawRule>(path, text, &mut issues) else {
                continue;
            };
            let id = raw.id.clone();
            let item = Some(id.as_str());
            if !is_rule_id(&id) {
                issues.push(
                    path,
                    Some(1),
                    item,
                    format!("rule id `{id}` must look like `PUB-001`"),
                );
            }
            let stem = path
                .rsplit('/')
                .next()
                .unwrap_or("")
                .trim_end_matches(".toml");
            if stem != id {
                issues.push(
                    path,
                    Some(1),
                    item,
                    format!("the file of rule `{id}` must be named {id}.toml"),
                );
            }
            if rules.iter().any(|r| r.id == id) {
                issues.push(path, Some(1), item, format!("rule id `{id}` is used twice"));
            }
            let system = System::from_key(&raw.system).unwrap_or_else(|| {
                let hint = did_you_mean(nearest(&raw.system, System::ALL.iter().map(|s| s.key())));
                issues.push(
                    path,
                    None,
                    item,
                    format!("unknown system `{}`{hint}", raw.system),
                );
                System::DataQuality
            });
            let severity = Severity::from_key(&raw.severity).unwrap_or_else(|| {
                let hint = did_you_mean(nearest(&raw.severity, ["critical", "major", "minor"]));
                issues.push(
                    path,
                    None,
                    item,
                    format!("unknown severity `{}`{hint}", raw.severity),
                );
                Severity::Minor
            });
            if raw.basis.trim().is_empty() {
                issues.push(path, None, item, "the rule has no legal basis".into());
            }
            if raw.rectification.trim().is_empty() {
                issues.push(
                    path,
                    None,
                    item,
                    "the rule has no rectification text".into(),
                );
            }
            let scope = Scope {
                fields: &fields,
                derived: &derived_types,
                params: &param_names,
            };
            let cond =
                |s: &Option<Spanned<String>>, issues: &mut Issues| -> Option<(Expr, String)> {
                    let s = s.as_ref()?;
                    let base = value_line(text, s.span().start);
                    match parse_condition(s.get_ref(), &scope, Ty::Bool) {
                        Ok(e) => Some((e, s.get_ref().clone())),
                        Err(errs) => {
                            for er in errs {
                                issues.push(
                                    path,
                                    Some(base + er.line.unwrap_or(1) - 1),
                                    item,
                                    er.message,
                                );
                            }
                            None
                        }
                    }
                };
            let applies = cond(&raw.applies, &mut issues);
            let violation = cond(&raw.violation, &mut issues);
            match raw.kind {
                RuleKind::Condition => {
                    if raw.violation.is_none() {
                        issues.push(
                            path,
                            None,
                            item,
                            "a condition rule needs `violation`".into(),
                        );
                    }
                }
                RuleKind::Builtin => {
                    if raw.violation.is_some() || raw.applies.is_some() {
                        issues.push(
                            path,
                            None,
                            item,
                            "a builtin rule has no `applies` or `violation`".into(),
                        );
                    }
                    if raw.builtin.is_none() {
                        issues.push(
                            path,
                            None,
                            item,
                            "a builtin rule names its mechanism: `builtin = \"duplicate_case_numbers\"` or `\"unreadable_cells\"`".into(),
                        );
                    }
                }
            }
            for r in &raw.requires {
                if fields.get(r).is_none() {
                    let hint = did_you_mean(nearest(r, fields.names()));
                    issues.push(
                        path,
                        None,
                        item,
                        format!("`requires` names unknown field `{r}`{hint}"),
                    );
                }
            }
            let mut examples = Vec::new();
            for ex in &raw.examples {
                let line = line_at(text, ex.span().start);
                let ex = ex.get_ref();
                let Some(as_of) = parse_iso(&ex.as_of) else {
                    issues.push(
                        path,
                        Some(line),
                        item,
                        format!(
                            "example `{}`: as_of `{}` is not YYYY-MM-DD",
                            ex.name, ex.as_of
                        ),
                    );
                    continue;
                };
                let profile = ex.profile.clone().unwrap_or_else(|| "national".into());
                if !profiles.iter().any(|p| p.name == profile) {
                    issues.push(
                        path,
                        Some(line),
                        item,
                        format!("example `{}`: unknown profile `{profile}`", ex.name),
                    );
                }
                let mut case = Case::new();
                for (k, v) in &ex.case {
                    match fields.get(k) {
                        None => {
                            let hint = did_you_mean(nearest(k, fields.names()));
                            issues.push(
                                path,
                                Some(line),
                                item,
                                format!("example `{}`: unknown field `{k}`{hint}", ex.name),
                            );
                        }
                        Some(f) => match example_value(f, v) {
                            Ok(val) => {
                                case.insert(k.clone(), val);
                            }
                            Err(m) => issues.push(
                                path,
                                Some(line),
                                item,
                                format!("example `{}`: {m}", ex.name),
                            ),
                        },
                    }
                }
                examples.push(Example {
                    name: ex.name.clone(),
                    expect: ex.expect,
                    as_of,
                    profile,
                    case,
                    line,
                });
            }
            let rule = Rule {
                id: id.clone(),
                title: raw.title,
                system,
                severity,
                deduction: raw.deduction,
                veto: raw.veto,
                kind: raw.kind,
                builtin: raw.builtin,
                status: raw.status,
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
                file: path.clone(),
                source_text: text.clone(),
            };
            if rule.kind == RuleKind::Condition && rule.violation.is_some() {
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
                    issues.push(
                        path,
                        None,
                        item,
                        format!(
                            "`requires` must list the fields named in `violation` and, outside COALESCE, in `applies`: [{}]",
                            want.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
            if let Some(m) = &rule.message {
                let env = minijinja::Environment::new();
                if let Err(e) = env.template_from_str(m) {
                    issues.push(path, None, item, format!("message template: {e}"));
                }
            }
            rules.push(rule);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));

        let scoring = match raw_scoring {
            Some(s) => {
                let mut grades: Vec<(String, f64)> =
                    s.grade.into_iter().map(|g| (g.name, g.min)).collect();
                grades.sort_by(|a, b| b.1.total_cmp(&a.1));
                Scoring {
                    veto_score: s.veto_score,
                    grades,
                }
            }
            None => Scoring {
                veto_score: 0.0,
                grades: Vec::new(),
            },
        };
        if !issues.0.is_empty() {
            return Err(PackError::Invalid(issues.0));
        }
        let meta = meta.unwrap_or(RawPack {
            name: String::new(),
            version: String::new(),
            description: String::new(),
        });
        Ok(RulePack {
            name: meta.name,
            version: meta.version,
            description: meta.description,
            source,
            fields,
            params,
            profiles,
            calendar_years,
            overlays,
            derived,
            derived_exprs,
            rules,
            scoring,
            templates,
        })
    }

    /// A profile by name, with a suggestion when it is unknown.
    pub fn profile(&self, name: &str) -> Result<&Profile, PackError> {
        self.profiles
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PackError::UnknownProfile {
                name: name.into(),
                suggestion: nearest(name, self.profiles.iter().map(|p| p.name.as_str())),
                known: self
                    .profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Parameter values in force under a profile.
    pub fn param_values(&self, profile: &Profile) -> ParamValues {
        ParamValues::resolve(&self.params, profile)
    }

    /// The work-day calendar under a profile (its overlays applied).
    pub fn calendar(&self, profile: &Profile) -> Calendar {
        let overlays: Vec<CalendarYear> = profile
            .calendar_overlays
            .iter()
            .filter_map(|o| self.overlays.get(o))
            .flatten()
            .cloned()
            .collect();
        Calendar::new(&self.calendar_years, &overlays)
    }

    /// A rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The active rule the engine computes with `mechanism`, if the pack has one.
    pub fn builtin_rule(&self, mechanism: Builtin) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.kind == RuleKind::Builtin && r.builtin == Some(mechanism) && r.status == "active"
        })
    }

    /// Rule ids close to `id`, for "did you mean".
    pub fn suggest_rule(&self, id: &str) -> Option<String> {
        nearest(id, self.rules.iter().map(|r| r.id.as_str()))
    }
}
