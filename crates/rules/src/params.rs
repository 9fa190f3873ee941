//! Named parameters and the profiles that set them (`params.toml`).

use crate::error::{did_you_mean, nearest};
use crate::pack::issues::Issues;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParams {
    #[serde(default)]
    pub param: Vec<RawParam>,
    #[serde(default)]
    pub profile: Vec<RawProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParam {
    pub name: String,
    pub value: Option<f64>,
    pub meaning: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub values: BTreeMap<String, f64>,
    #[serde(default)]
    pub calendar_overlays: Vec<String>,
}

/// A parameter of the pack.
#[derive(Debug, Clone)]
pub struct Param {
    /// Its name, used as `params.NAME`.
    pub name: String,
    /// The national value; `None` when unset nationally.
    pub value: Option<f64>,
    /// What it means, in Chinese.
    pub meaning: String,
    /// Where its value comes from.
    pub source: String,
}

/// A profile: a named set of overrides (a province's thresholds).
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name (`--profile NAME`).
    pub name: String,
    /// The Chinese title (a province's name).
    pub title: String,
    /// Where its values come from.
    pub source: String,
    /// The parameters it sets.
    pub values: BTreeMap<String, f64>,
    /// The regional calendar overlays it turns on.
    pub calendar_overlays: Vec<String>,
}

/// Parameter values in force for one profile. An unset parameter is absent (NULL).
#[derive(Debug, Clone, Default)]
pub struct ParamValues {
    values: BTreeMap<String, Option<f64>>,
}

impl ParamValues {
    pub(crate) fn resolve(params: &[Param], profile: &Profile) -> ParamValues {
        let mut values: BTreeMap<String, Option<f64>> =
            params.iter().map(|p| (p.name.clone(), p.value)).collect();
        for (k, v) in &profile.values {
            values.insert(k.clone(), Some(*v));
        }
        ParamValues { values }
    }

    /// The value of a parameter, `None` when unset (or unknown).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied().flatten()
    }

    /// Every parameter and its value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<f64>)> {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// The parameters and profiles of `params.toml`; the profile `national` is added when
/// the file does not define it.
pub(crate) fn load_params(
    raw: Option<RawParams>,
    issues: &mut Issues,
) -> (Vec<Param>, Vec<Profile>) {
    let mut params: Vec<Param> = Vec::new();
    let mut profiles = Vec::new();
    let Some(rp) = raw else {
        return (params, profiles);
    };
    for p in rp.param {
        if params.iter().any(|x| x.name == p.name) {
            issues.push("params.toml", None, Some(&p.name), "参数定义了两次".into());
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
                    format!("参数配置设置了未知参数 `{k}`{hint}"),
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
    (params, profiles)
}

/// Every calendar overlay a profile names must have its folder.
pub(crate) fn check_overlays<T>(
    profiles: &[Profile],
    overlays: &BTreeMap<String, T>,
    issues: &mut Issues,
) {
    for p in profiles {
        for o in &p.calendar_overlays {
            if !overlays.contains_key(o) {
                issues.push(
                    "params.toml",
                    None,
                    Some(&p.name),
                    format!("地方节假日 `{o}` 没有对应的文件夹 calendar/overlays/{o}/"),
                );
            }
        }
    }
}
