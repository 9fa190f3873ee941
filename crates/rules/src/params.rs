//! Named parameters and the profiles that set them (`params.toml`).

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
    pub name: String,
    /// The national value; `None` when unset nationally.
    pub value: Option<f64>,
    pub meaning: String,
    pub source: String,
}

/// A profile: a named set of overrides (a province's thresholds).
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub source: String,
    pub values: BTreeMap<String, f64>,
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
