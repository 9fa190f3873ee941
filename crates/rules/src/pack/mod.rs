//! Loading a rule pack: raw TOML (unknown keys rejected), then validated types. Each
//! kind of file has its own conversion (fields in `fields.rs`, parameters and profiles
//! in `params.rs`, the calendar in `calendar.rs`, the rest in this module's children),
//! all reporting to one issue collector so that a broken pack lists every problem.

mod derived;
pub(crate) mod issues;
mod rules;
mod scoring;
mod source;

pub use derived::Derived;
pub use source::builtin_files;

use crate::calendar::{calendar_year, load_calendar, Calendar, CalendarYear};
use crate::error::{nearest, PackError, PackIssue};
use crate::expr::{parse_condition, CheckError, Expr, Scope, Ty};
use crate::fields::{load_fields, FieldSet, RawFields};
use crate::params::{check_overlays, load_params, Param, ParamValues, Profile, RawParams};
use crate::rule::{Builtin, Rule, RuleKind, Scoring};
use issues::{parse_toml, Issues};
use rules::{load_rules, RuleContext};
use scoring::{load_scoring, RawScoring};
use serde::Deserialize;
use source::{dir_files, templates, Files};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A validated rule pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    /// The pack's name (`pack.toml`).
    pub name: String,
    /// The pack's version.
    pub version: String,
    /// What the pack is.
    pub description: String,
    /// `built-in` or the folder it was read from.
    pub source: String,
    /// The canonical fields.
    pub fields: FieldSet,
    /// The parameters.
    pub params: Vec<Param>,
    /// The profiles, `national` first when the pack does not define it.
    pub profiles: Vec<Profile>,
    /// The calendar years, in the pack and added with `--calendar`.
    pub calendar_years: Vec<CalendarYear>,
    /// Regional overlays by name (`calendar/overlays/NAME/`).
    pub overlays: BTreeMap<String, Vec<CalendarYear>>,
    /// The derived fields, in order.
    pub derived: Vec<Derived>,
    /// Each derived field's expression, by name.
    pub derived_exprs: BTreeMap<String, Expr>,
    /// The rules, sorted by id.
    pub rules: Vec<Rule>,
    /// Grade bands and the veto score.
    pub scoring: Scoring,
    /// Files under `templates/`, by path inside it.
    pub templates: BTreeMap<String, String>,
    /// A run whose as-of date falls within this many days of the end of the calendar's
    /// last year warns that the next year's file is missing (`pack.toml`).
    pub calendar_warning_days: u32,
}

/// Days before the end of the calendar's last year from which a run warns that the next
/// year's file is missing, when `pack.toml` does not say (`calendar_warning_days`). The
/// State Council's notice for the next year usually comes out in November or December.
pub const DEFAULT_CALENDAR_WARNING_DAYS: u32 = 31;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    calendar_warning_days: Option<u32>,
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
                reason: "不是文件夹".into(),
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
        let mut issues = Issues::new();
        let meta: Option<RawPack> = read(&files, "pack.toml", &mut issues);
        let raw_fields: Option<RawFields> = read(&files, "fields.toml", &mut issues);
        let raw_params: Option<RawParams> = read(&files, "params.toml", &mut issues);
        let raw_scoring: Option<RawScoring> = read(&files, "scoring.toml", &mut issues);
        let Some(raw_fields) = raw_fields else {
            return Err(PackError::Invalid(issues.0));
        };

        let fields = load_fields(raw_fields, &mut issues);
        let (params, profiles) = load_params(raw_params, &mut issues);
        let param_names: BTreeSet<String> = params.iter().map(|p| p.name.clone()).collect();
        let (calendar_years, overlays) = load_calendar(&files, &mut issues);
        check_overlays(&profiles, &overlays, &mut issues);
        let derived = derived::load_derived(
            files.get("derived.toml"),
            &fields,
            &param_names,
            &mut issues,
        );
        let rules = load_rules(
            &files,
            &RuleContext {
                fields: &fields,
                params: &param_names,
                derived: &derived,
                profiles: &profiles,
            },
            &mut issues,
        );
        let scoring = load_scoring(raw_scoring);
        if !issues.is_empty() {
            return Err(PackError::Invalid(issues.0));
        }
        let meta = meta.unwrap_or(RawPack {
            name: String::new(),
            version: String::new(),
            description: String::new(),
            calendar_warning_days: None,
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
            derived: derived.derived,
            derived_exprs: derived.exprs,
            rules,
            scoring,
            templates: templates(&files),
            calendar_warning_days: meta
                .calendar_warning_days
                .unwrap_or(DEFAULT_CALENDAR_WARNING_DAYS),
        })
    }

    /// Adds one calendar year from a file in the pack's calendar format (`--calendar
    /// FILE`), replacing the pack's file for that year if it has one. Returns the year.
    pub fn add_calendar_file(&mut self, path: &Path) -> Result<i32, PackError> {
        let text = std::fs::read_to_string(path).map_err(|e| PackError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.add_calendar_text(&path.display().to_string(), &text)
    }

    /// The years missing between the calendar's first and last year. Working days are
    /// counted through the years in between, so a gap would make every count across it
    /// wrong: [`RulePack::check_calendar_years`] refuses one.
    pub fn calendar_gaps(&self) -> Vec<i32> {
        let years: BTreeSet<i32> = self.calendar_years.iter().map(|y| y.year).collect();
        match (years.first(), years.last()) {
            (Some(&a), Some(&b)) => (a..=b).filter(|y| !years.contains(y)).collect(),
            _ => Vec::new(),
        }
    }

    /// An error naming the missing years when years were added (`--calendar`) past a gap.
    pub fn check_calendar_years(&self) -> Result<(), PackError> {
        let gaps = self.calendar_gaps();
        if gaps.is_empty() {
            return Ok(());
        }
        let ys: Vec<String> = gaps.iter().map(|y| y.to_string()).collect();
        Err(PackError::Invalid(vec![PackIssue {
            file: "calendar/".into(),
            line: None,
            column: None,
            item: None,
            message: format!(
                "节假日安排缺少 {} 年，跨越该年的工作日无法计算；请一并用 --calendar 添加 {}",
                ys.join(", "),
                ys.iter()
                    .map(|y| format!("{y}.toml"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }]))
    }

    /// [`RulePack::add_calendar_file`] on the file's text; `file` names it in errors.
    pub fn add_calendar_text(&mut self, file: &str, text: &str) -> Result<i32, PackError> {
        let mut issues = Issues::new();
        let year = calendar_year(file, text, &mut issues);
        if let Some(y) = &year {
            if !(1900..=2200).contains(&y.year) {
                issues.push(
                    file,
                    None,
                    None,
                    format!("{} 年不在 caseaudit 可用的年份范围（1900–2200）内", y.year),
                );
            }
        }
        match year {
            Some(y) if issues.0.is_empty() => {
                let n = y.year;
                self.calendar_years.retain(|x| x.year != n);
                self.calendar_years.push(y);
                self.calendar_years.sort_by_key(|x| x.year);
                Ok(n)
            }
            _ => Err(PackError::Invalid(issues.0)),
        }
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
                    .join("、"),
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
        self.rules
            .iter()
            .find(|r| r.kind == RuleKind::Builtin && r.builtin == Some(mechanism) && r.is_active())
    }

    /// Rule ids close to `id`, for "did you mean".
    pub fn suggest_rule(&self, id: &str) -> Option<String> {
        nearest(id, self.rules.iter().map(|r| r.id.as_str()))
    }
}

/// A file every pack has, parsed; an issue when it is missing or broken.
fn read<T: serde::de::DeserializeOwned>(
    files: &Files,
    name: &str,
    issues: &mut Issues,
) -> Option<T> {
    match files.get(name) {
        Some(text) => parse_toml(name, text, issues),
        None => {
            issues.push(name, None, None, "规则包缺少此文件".into());
            None
        }
    }
}
