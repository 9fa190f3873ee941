//! Publication records against a ledger (decisions.md, "Publication records"): the
//! comparison PUB-009 makes and the test PUB-008 makes, one case at a time. The engine
//! runs them over a whole run; `rules test` runs them on the rules' examples; `rules sql`
//! writes the same logic as SQL.

use crate::expr::{Case, Val};
use crate::fields::{case_key, fold};

/// The fields a record is compared on, in the order findings name them.
pub const COMPARED: [&str; 3] = ["decision_date", "fine_amount", "party_name"];

/// Two fine amounts differ when they are half a fen (0.005 yuan) or more apart: a
/// difference of one fen or more (rules.md, PUB-009) without the noise of converting
/// 万元 to yuan in floating point.
pub const MONEY_TOLERANCE: f64 = 0.005;

/// One field on which a record and the ledger differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The canonical field name.
    pub field: &'static str,
    /// The ledger's value.
    pub ledger: Val,
    /// The record's value.
    pub published: Val,
}

fn value<'a>(case: &'a Case, field: &str) -> &'a Val {
    case.get(field).unwrap_or(&Val::Null)
}

/// Whether two values held on both sides differ (a NULL on either side never does).
fn differ(field: &str, a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => false,
        (Val::Num(x), Val::Num(y)) => (x - y).abs() >= MONEY_TOLERANCE,
        (Val::Text(x), Val::Text(y)) if field == "party_name" => fold(x) != fold(y),
        (x, y) => x != y,
    }
}

/// The fields on which `record` and the ledger's `case` both hold a value and differ.
pub fn differences(case: &Case, record: &Case) -> Vec<Difference> {
    COMPARED
        .iter()
        .filter_map(|&f| {
            let (a, b) = (value(case, f), value(record, f));
            differ(f, a, b).then(|| Difference {
                field: f,
                ledger: a.clone(),
                published: b.clone(),
            })
        })
        .collect()
}

/// PUB-009 on one case and the records that match it: `None` when there is no record
/// or one agrees on every compared field; otherwise the record that differs least
/// (the first of equals) and its differences.
pub fn disagreement<'r>(
    case: &Case,
    records: impl IntoIterator<Item = &'r Case>,
) -> Option<(usize, Vec<Difference>)> {
    let mut best: Option<(usize, Vec<Difference>)> = None;
    for (i, r) in records.into_iter().enumerate() {
        let d = differences(case, r);
        if d.is_empty() {
            return None;
        }
        if best.as_ref().is_none_or(|(_, b)| d.len() < b.len()) {
            best = Some((i, d));
        }
    }
    best
}

/// The matching key of a case or record: its case number's [`case_key`], none when it
/// has no case number (such a case is never matched).
pub fn key_of(case: &Case) -> Option<String> {
    match value(case, "case_id") {
        Val::Text(s) if !s.trim().is_empty() => Some(case_key(s)),
        _ => None,
    }
}

/// PUB-008's violation on a case its `applies` covers: the ledger records a
/// publication date, the case has a case number, and no record has that number.
pub fn missing(case: &Case, has_record: bool) -> bool {
    !has_record && !value(case, "publication_date").is_null() && key_of(case).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(pairs: &[(&str, Val)]) -> Case {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn records_agree_within_half_a_fen_and_after_folding_names() {
        let ledger = case(&[
            ("fine_amount", Val::Num(500.0)),
            ("party_name", Val::Text("巴楚县百佳超市".into())),
            ("decision_date", Val::Date(100)),
        ]);
        // 0.05 万元 scaled to yuan in floating point is 500.00000000000006.
        let scaled = case(&[
            ("fine_amount", Val::Num(0.05 * 10000.0)),
            ("party_name", Val::Text("巴楚县　百佳超市 ".into())),
        ]);
        assert!(differences(&ledger, &scaled).is_empty());
        let one_fen = case(&[("fine_amount", Val::Num(500.01))]);
        assert_eq!(differences(&ledger, &one_fen).len(), 1);
        let other_day = case(&[("decision_date", Val::Date(101))]);
        assert_eq!(differences(&ledger, &other_day)[0].field, "decision_date");
    }

    #[test]
    fn one_agreeing_record_is_enough_and_the_closest_is_named() {
        let ledger = case(&[
            ("fine_amount", Val::Num(500.0)),
            ("decision_date", Val::Date(100)),
        ]);
        let both = case(&[
            ("fine_amount", Val::Num(600.0)),
            ("decision_date", Val::Date(101)),
        ]);
        let one = case(&[("fine_amount", Val::Num(600.0))]);
        let same = case(&[("decision_date", Val::Date(100))]);
        assert_eq!(disagreement(&ledger, [&both, &one]).map(|d| d.0), Some(1));
        assert_eq!(disagreement(&ledger, [&both, &same]), None);
        assert_eq!(disagreement(&ledger, []), None);
    }

    #[test]
    fn a_case_without_a_number_is_never_missing() {
        let published = case(&[("publication_date", Val::Date(1))]);
        assert!(!missing(&published, false));
        let mut numbered = published.clone();
        numbered.insert("case_id".into(), Val::Text("罚〔2022〕1号".into()));
        assert!(missing(&numbered, false));
        assert!(!missing(&numbered, true));
    }
}
