//! `scoring.toml`: grade bands and the veto score.

use crate::rule::Scoring;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScoring {
    veto_score: f64,
    grade: Vec<RawGrade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    name: String,
    min: f64,
}

/// The scoring of a pack, grades highest first; nothing when the file was unreadable
/// (the pack is refused then anyway).
pub(crate) fn load_scoring(raw: Option<RawScoring>) -> Scoring {
    match raw {
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
    }
}
