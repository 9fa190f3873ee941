//! Turning raw cells into typed values of the canonical fields. A cell that cannot be
//! read is NULL plus a DQ-003 problem; nothing is dropped silently.

use crate::cell::Cell;
use caseaudit_rules::calendar::{epoch, to_day};
use caseaudit_rules::{fold, ValueWords};
use caseaudit_rules::{Day, Field};
use chrono::NaiveDate;
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// A typed value of one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// Empty, or a value that could not be read (reported as a problem).
    Null,
    /// Text.
    Text(String),
    /// A date.
    Date(Day),
    /// A boolean.
    Bool(bool),
    /// An amount of money in yuan.
    Money(f64),
    /// The items of a list.
    List(Vec<String>),
}

/// Why a cell could not be read (Chinese, for the DQ-003 message).
pub type Problem = String;

/// Serial numbers accepted as Excel dates: those that fall in 1990–2100.
fn serial_to_day(serial: f64, date1904: bool) -> Option<Day> {
    // Excel serials of 1990–2100 are about 32,874–73,415; anything far outside is not a
    // date (and must not overflow the arithmetic below).
    if !serial.is_finite() || !(0.0..1_000_000.0).contains(&serial) {
        return None;
    }
    let s = serial.floor() as i64 + if date1904 { 1462 } else { 0 };
    // 1900 system: serial 25569 is 1970-01-01 (valid after 1900-03-01).
    let day = s - 25569;
    let d = epoch() + chrono::Duration::days(day);
    use chrono::Datelike;
    (1990..=2100).contains(&d.year()).then_some(day as Day)
}

fn ymd(y: &str, m: &str, d: &str) -> Option<Day> {
    // Digits only: `-2022年3月5日` is not the year -2022 (found by the normalize fuzz
    // target), and `+3` is not a month.
    let digits = |t: &str| {
        let t = t.trim();
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (
        y.trim().parse().ok()?,
        m.trim().parse().ok()?,
        d.trim().parse().ok()?,
    );
    // Years a date can be written with (found by the fuzz target: `20022年3月5日`).
    if !(1..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d).map(to_day)
}

/// Parses every date form of schema.md: ISO, `2022/3/5`, `2022.3.5`, `2022年3月5日`,
/// `20220305`, any of these followed by a time, or an Excel serial number.
pub fn parse_date_text(text: &str, date1904: bool) -> Option<Day> {
    let s: std::borrow::Cow<str> = if caseaudit_rules::is_nfkc(text) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.nfkc().collect())
    };
    let s = s.trim().trim_end_matches(['.', '。']);
    if s.is_empty() {
        return None;
    }
    if s.contains('年') {
        let (y, rest) = s.split_once('年')?;
        let (m, rest) = rest.split_once('月')?;
        let d: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let after = rest[d.len()..].trim_start();
        if !(after.is_empty() || after.starts_with('日') || after.starts_with('号')) {
            return None;
        }
        return ymd(y, m, &d);
    }
    // Drop a time part: `2022-03-05 10:30`, `2022-03-05T10:30:00`.
    let date_part = s.split(|c: char| c.is_whitespace()).next().unwrap_or(s);
    let date_part = match date_part.find('T') {
        Some(i) if i >= 8 => &date_part[..i],
        _ => date_part,
    };
    if date_part.len() == 8 && date_part.chars().all(|c| c.is_ascii_digit()) {
        return ymd(&date_part[..4], &date_part[4..6], &date_part[6..]);
    }
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = date_part.split(sep).collect();
        if parts.len() == 3 && parts[0].len() == 4 {
            return ymd(parts[0], parts[1], parts[2]);
        }
    }
    if date_part == s {
        if let Ok(n) = s.parse::<f64>() {
            return number_to_day(n, date1904);
        }
    }
    None
}

fn number_to_day(n: f64, date1904: bool) -> Option<Day> {
    if n.fract() == 0.0 && (10_000_000.0..100_000_000.0).contains(&n) {
        let t = format!("{}", n as i64);
        return ymd(&t[..4], &t[4..6], &t[6..]);
    }
    serial_to_day(n, date1904)
}

/// Text without a trailing remark in parentheses: `是(已出示)` → `是`.
fn strip_remark(t: &str) -> &str {
    let t = t.trim();
    for (open, close) in [('(', ')'), ('（', '）')] {
        if t.ends_with(close) {
            if let Some(i) = t.find(open) {
                if i > 0 {
                    return t[..i].trim();
                }
            }
        }
    }
    t
}

fn parse_money(text: &str, words: &ValueWords, header_scale: f64) -> Option<f64> {
    let s: String = fold(text).replace([',', '¥', '￥', '(', ')'], "");
    let mut body = s.as_str();
    let mut factor = header_scale;
    for (suffix, f) in &words.money_units {
        if let Some(b) = body.strip_suffix(suffix.as_str()) {
            body = b;
            factor = *f;
            break;
        }
    }
    let v: f64 = body.parse().ok()?;
    v.is_finite().then_some(v * factor)
}

/// Uyghur and other transliterated names are written with a middle dot
/// (阿不都·热合曼), sometimes with spaces around it: keep such a name whole so that a
/// space-separated list does not split it.
fn join_name_dots(t: &str) -> Cow<'_, str> {
    const DOTS: [char; 5] = ['·', '•', '・', '‧', '∙'];
    if !t.contains(DOTS) {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        if DOTS.contains(&c) {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
        } else if c == ' ' && out.chars().last().is_some_and(|l| DOTS.contains(&l)) {
            continue;
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The items of a list cell as written (see [`join_name_dots`]): split at the list
/// separators, trimmed, empty ones left out.
fn written_items<'t>(t: &'t str, words: &'t ValueWords) -> impl Iterator<Item = &'t str> {
    t.split(|c: char| words.is_list_separator(c))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Reads a text cell of a list field without a vocabulary straight into its column:
/// its items are kept as written, so nothing is gathered or copied on the way.
#[cfg(feature = "evaluate")]
pub fn push_free_list(t: &str, words: &ValueWords, column: &mut crate::table::TextColumn) {
    if t.trim().is_empty() || words.is_empty_word(t) {
        return column.push(None);
    }
    let t = join_name_dots(t.trim());
    column.push_pieces(written_items(&t, words));
}

/// Reads one cell as a field's type. Returns the value and, when the cell could not be
/// read (or holds a value outside the vocabulary), the problem.
pub fn normalize(
    cell: &Cell,
    field: &Field,
    words: &ValueWords,
    header_scale: f64,
    date1904: bool,
) -> (Typed, Option<Problem>) {
    use caseaudit_rules::FieldType as F;
    let unreadable = |what: &str| (Typed::Null, Some(format!("无法识别为{what}")));
    match cell {
        Cell::Text(t) => normalize_str(t, field, words, header_scale, date1904),
        Cell::Empty => (Typed::Null, None),
        Cell::Error(e) => (Typed::Null, Some(format!("单元格为错误值 {e}"))),
        // Typed cells (numbers, booleans, dates) read as text where the field is text.
        _ if matches!(field.ty, F::Text | F::Enum | F::List) => {
            normalize_str(&cell.display(), field, words, header_scale, date1904)
        }
        _ => match field.ty {
            F::Date => {
                let d = match cell {
                    // A date cell beyond the years a date can be written in (a damaged
                    // file, a parquet column of nonsense) is unreadable.
                    Cell::Date(d) => caseaudit_rules::calendar::checked_from_day(*d)
                        .filter(|x| (1..=9999).contains(&chrono::Datelike::year(x)))
                        .map(|_| *d),
                    Cell::Number(n) => number_to_day(*n, date1904),
                    _ => None,
                };
                match d {
                    Some(d) => (Typed::Date(d), None),
                    None => unreadable("日期"),
                }
            }
            F::Bool => match cell {
                Cell::Bool(b) => (Typed::Bool(*b), None),
                Cell::Number(n) if *n == 1.0 => (Typed::Bool(true), None),
                Cell::Number(n) if *n == 0.0 => (Typed::Bool(false), None),
                _ => unreadable("是/否"),
            },
            F::Money => match cell {
                Cell::Number(n) if (n * header_scale).is_finite() => {
                    (Typed::Money(n * header_scale), None)
                }
                _ => unreadable("金额"),
            },
            F::Text | F::Enum | F::List => (Typed::Null, None),
        },
    }
}

/// The value of a text cell in a text field: trimmed, or none when the cell is empty or
/// holds a "nothing recorded" word. Borrowed: the column stores it without a copy.
pub fn text_value<'t>(t: &'t str, words: &ValueWords) -> Option<&'t str> {
    let v = t.trim();
    (!v.is_empty() && !words.is_empty_word(t)).then_some(v)
}

/// Reads one text cell as a field's type (what [`normalize`] does for `Cell::Text`,
/// without needing an owned cell: the CSV reader hands over its record's text).
pub fn normalize_str(
    t: &str,
    field: &Field,
    words: &ValueWords,
    header_scale: f64,
    date1904: bool,
) -> (Typed, Option<Problem>) {
    use caseaudit_rules::FieldType as F;
    if t.trim().is_empty() {
        return (Typed::Null, None);
    }
    let unreadable = |what: &str| (Typed::Null, Some(format!("无法识别为{what}")));
    // "Nothing recorded" placeholders read as NULL, except where they are a boolean word
    // (无 is "no" in a 是否 column).
    let is_bool_word = field.ty == F::Bool && words.boolean(t).is_some();
    if !is_bool_word && words.is_empty_word(t) {
        return (Typed::Null, None);
    }
    match field.ty {
        F::Text => (
            text_value(t, words).map_or(Typed::Null, |v| Typed::Text(v.to_string())),
            None,
        ),
        F::Date => match parse_date_text(t, date1904) {
            Some(d) => (Typed::Date(d), None),
            None => unreadable("日期"),
        },
        F::Bool => match words.boolean(t).or_else(|| words.boolean(strip_remark(t))) {
            Some(b) => (Typed::Bool(b), None),
            None => unreadable("是/否"),
        },
        F::Money => match parse_money(t, words, header_scale).filter(|v| v.is_finite()) {
            Some(v) => (Typed::Money(v), None),
            None => unreadable("金额"),
        },
        F::Enum => {
            let t = t.trim();
            match field
                .canonical(t)
                .or_else(|| field.canonical(strip_remark(t)))
            {
                Some([c]) => (Typed::Text(c.clone()), None),
                _ => {
                    let problem = format!("「{t}」不在「{}」的可选值中", field.label);
                    (Typed::Text(t.to_string()), Some(problem))
                }
            }
        }
        F::List => {
            let t = join_name_dots(t.trim());
            let mut items: Vec<String> = Vec::new();
            let mut unknown: Vec<String> = Vec::new();
            for item in written_items(&t, words) {
                if field.has_vocabulary() {
                    match field.canonical(item) {
                        Some(vals) => {
                            for v in vals {
                                if !items.contains(v) {
                                    items.push(v.clone());
                                }
                            }
                        }
                        None => {
                            unknown.push(item.to_string());
                            items.push(item.to_string());
                        }
                    }
                } else {
                    items.push(item.to_string());
                }
            }
            if items.is_empty() {
                return (Typed::Null, None);
            }
            let problem = (!unknown.is_empty()).then(|| {
                format!(
                    "「{}」不在「{}」的可选值中",
                    unknown.join("、"),
                    field.label
                )
            });
            (Typed::List(items), problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseaudit_rules::calendar::parse_iso;

    fn d(s: &str) -> Option<Day> {
        parse_iso(s)
    }

    #[test]
    fn signs_are_not_part_of_a_date() {
        // Found by the normalize fuzz target.
        assert_eq!(parse_date_text("-2022年3月5日", false), None);
        assert_eq!(parse_date_text("2022年+3月5日", false), None);
        assert_eq!(parse_date_text("+202-3-5", false), None);
        assert_eq!(parse_date_text("20022年03月05日", false), None);
        assert!(parse_date_text("2022年3月5日", false).is_some());
    }

    #[test]
    fn date_forms() {
        let want = d("2022-03-05");
        for t in [
            "2022-03-05",
            "2022/3/5",
            "2022.3.5",
            "2022年3月5日",
            "20220305",
            "2022-03-05 10:30",
            "2022/03/05 10:30:00",
            "2022-03-05T10:30:00",
            " ２０２２年３月５日 ",
            "2022年03月05日 9时",
            "44625",
            "2022.3.5.",
            "2022-3-5",
        ] {
            assert_eq!(parse_date_text(t, false), want, "{t}");
        }
        assert_eq!(number_to_day(44625.0, false), want);
        assert_eq!(number_to_day(20220305.0, false), want);
        assert_eq!(number_to_day(44625.0 - 1462.0, true), want);
    }

    #[test]
    fn a_line_break_in_a_list_cell_separates_items() {
        let pack = caseaudit_rules::RulePack::builtin().expect("pack");
        let w = &pack.fields.words;
        let officers = pack.fields.get("officers").expect("officers");
        let measures = pack.fields.get("measures").expect("measures");
        let list = |f, t: &str| normalize(&Cell::Text(t.into()), f, w, 1.0, false);
        assert_eq!(
            list(officers, "张三\n李四\r\n阿不都·热合曼"),
            (
                Typed::List(vec!["张三".into(), "李四".into(), "阿不都·热合曼".into()]),
                None
            )
        );
        assert_eq!(
            list(measures, "查封\n扣押"),
            (Typed::List(vec!["查封".into(), "扣押".into()]), None)
        );
        // The separators are the pack's: a line break is one of them, not only as white space.
        assert!(w.list_separators.contains(&'\n'));
    }

    #[test]
    fn names_with_middle_dots_stay_whole() {
        assert_eq!(
            join_name_dots("阿不都 · 热合曼 买买提"),
            "阿不都·热合曼 买买提"
        );
        assert_eq!(join_name_dots("古丽•艾力、张三"), "古丽•艾力、张三");
        assert_eq!(join_name_dots("张三 李四"), "张三 李四");
    }

    #[test]
    fn bad_dates() {
        for t in [
            "2022年13月1日",
            "待定",
            "0000-00-00",
            "2022-02-30",
            "7236.74",
            "12",
            "2022年3月",
        ] {
            assert_eq!(parse_date_text(t, false), None, "{t}");
        }
        assert_eq!(parse_date_text("9999-12-31", false), d("9999-12-31"));
        // Found by the property test: huge or negative serials overflowed.
        for n in [1e19, -1e19, f64::MAX, -1.0, 9.3e18] {
            assert_eq!(number_to_day(n, true), None, "{n}");
            assert_eq!(number_to_day(n, false), None, "{n}");
        }
    }
}
