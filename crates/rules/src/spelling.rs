//! How values are spelled as text wherever caseaudit writes them for a machine to read
//! back: a condition printed in its own language, the `rules sql` query, the engine's
//! evaluation frame and cases.parquet. One spelling each, so that they cannot drift.

use crate::calendar::{format_day, Day};

/// Separator of the items of a list value written as text: the `cases` table of
/// `rules sql` and cases.parquet join lists with it and the query splits on it; a list
/// in evidence is written with it.
pub const LIST_SEPARATOR: &str = "、";

/// Prefix of the column holding a date field's work-day ordinal (its position in the
/// work-day calendar), which `WORKDAYS(a, b)` subtracts.
pub const WORKDAY_PREFIX: &str = "__wd__";

/// The name of the work-day ordinal column of a date field (`__wd__filing_date`).
pub fn workday_column(field: &str) -> String {
    format!("{WORKDAY_PREFIX}{field}")
}

/// A text literal in single quotes, a quote inside doubled (`'it''s'`): the condition
/// language and SQL spell text alike.
pub fn text_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A date literal (`DATE '2022-03-05'`): the condition language and SQL spell dates
/// alike.
pub fn date_literal(d: Day) -> String {
    format!("DATE '{}'", format_day(d))
}

/// A number as people and SQL write it: a whole number without a decimal point
/// (`200`, not `200.0`), any other the shortest text that reads back the same.
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(text_literal("it's"), "'it''s'");
        assert_eq!(text_literal(""), "''");
        assert_eq!(number(200.0), "200");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1e20), "100000000000000000000");
        let day = crate::calendar::parse_iso("2022-03-05").unwrap_or_else(|| panic!("date"));
        assert_eq!(date_literal(day), "DATE '2022-03-05'");
        assert_eq!(workday_column("filing_date"), "__wd__filing_date");
    }
}
