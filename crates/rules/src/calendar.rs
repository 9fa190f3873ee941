//! The work-day calendar: China's public holidays and make-up working days, year by year.

use crate::pack::issues::{parse_toml, Issues};
use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Days since 1970-01-01, the representation of dates throughout caseaudit.
pub type Day = i32;

/// 1970-01-01 as a chrono date.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Converts a date to days since the epoch.
pub fn to_day(d: NaiveDate) -> Day {
    (d - epoch()).num_days() as Day
}

/// Converts days since the epoch to a date; days past chrono's range (about ±262,000
/// years, only from a damaged file) saturate instead of overflowing.
pub fn from_day(d: Day) -> NaiveDate {
    checked_from_day(d).unwrap_or(if d < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// Converts days since the epoch to a date, if chrono can represent it.
pub fn checked_from_day(d: Day) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::Duration::days(d as i64))
}

/// Formats days since the epoch as `YYYY-MM-DD`.
pub fn format_day(d: Day) -> String {
    let date = from_day(d);
    // Years of four digits written directly (chrono's format string is parsed anew on
    // every call, and evidence formats a date for nearly every finding); others, with
    // their sign, as chrono writes them.
    if (0..=9999).contains(&date.year()) {
        format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
    } else {
        date.format("%Y-%m-%d").to_string()
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_iso(s: &str) -> Option<Day> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .map(to_day)
}

/// One year's holiday arrangement as the pack states it.
#[derive(Debug, Clone)]
pub struct CalendarYear {
    /// The year, e.g. 2022.
    pub year: i32,
    /// The State Council notice the dates come from.
    pub notice: String,
    /// Holidays (days off, weekends included as written).
    pub off: Vec<NaiveDate>,
    /// Make-up working days (调休上班).
    pub work: Vec<NaiveDate>,
}

/// A date outside the years the calendar covers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("日期 {date} 超出工作日日历：{year} 年没有节假日安排文件（已有：{covered}）")]
pub struct OutsideCalendar {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Its year, which has no calendar file.
    pub year: i32,
    /// The years covered, comma-separated.
    pub covered: String,
}

/// Working days are Monday to Friday, minus holidays, plus make-up working days, in the
/// years that have a calendar file. Work-day counts use a prefix sum ("ordinal") per
/// day, so `workdays(a, b)` is one subtraction and vectorises over columns.
#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeMap<i32, String>,
    /// First day covered by `ordinal`.
    start: Day,
    /// For each day from `start`: the number of working days in `[start, day]`, or -1 for
    /// a day in a year without a calendar file.
    ordinal: Vec<i32>,
}

impl Calendar {
    /// Builds a calendar from year files and optional overlays (extra off/work days).
    pub fn new(years: &[CalendarYear], overlays: &[CalendarYear]) -> Calendar {
        let mut map = BTreeMap::new();
        for y in years {
            map.insert(y.year, y.notice.clone());
        }
        let (Some(&first), Some(&last)) = (map.keys().next(), map.keys().next_back()) else {
            return Calendar {
                years: map,
                start: 0,
                ordinal: Vec::new(),
            };
        };
        let start = to_day(NaiveDate::from_ymd_opt(first, 1, 1).unwrap_or_default());
        let end = to_day(NaiveDate::from_ymd_opt(last, 12, 31).unwrap_or_default());
        let mut off = std::collections::HashSet::new();
        let mut work = std::collections::HashSet::new();
        for y in years.iter().chain(overlays) {
            off.extend(y.off.iter().map(|d| to_day(*d)));
            work.extend(y.work.iter().map(|d| to_day(*d)));
        }
        let mut ordinal = Vec::with_capacity((end - start + 1) as usize);
        let mut count = 0i32;
        for day in start..=end {
            let date = from_day(day);
            if !map.contains_key(&date.year()) {
                ordinal.push(-1);
                continue;
            }
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let working = if work.contains(&day) {
                true
            } else if off.contains(&day) {
                false
            } else {
                !weekend
            };
            if working {
                count += 1;
            }
            ordinal.push(count);
        }
        Calendar {
            years: map,
            start,
            ordinal,
        }
    }

    /// The years covered, with their notices.
    pub fn years(&self) -> impl Iterator<Item = (i32, &str)> {
        self.years.iter().map(|(y, n)| (*y, n.as_str()))
    }

    /// Whether the calendar covers the year of `day`.
    pub fn covers(&self, day: Day) -> bool {
        self.ordinal_of(day).is_some()
    }

    fn covered_text(&self) -> String {
        let ys: Vec<String> = self.years.keys().map(|y| y.to_string()).collect();
        ys.join(", ")
    }

    /// The work-day ordinal of a day: working days from the calendar's start to the day
    /// inclusive. `None` outside the covered years.
    pub fn ordinal_of(&self, day: Day) -> Option<i32> {
        let i = day.checked_sub(self.start)?;
        if i < 0 {
            return None;
        }
        let v = *self.ordinal.get(i as usize)?;
        (v >= 0).then_some(v)
    }

    /// The first day of the ordinal table and the table itself (−1 marks uncovered days),
    /// for vectorised look-ups.
    pub fn ordinal_table(&self) -> (Day, &[i32]) {
        (self.start, &self.ordinal)
    }

    fn outside(&self, day: Day) -> OutsideCalendar {
        let date = from_day(day);
        OutsideCalendar {
            date: date.format("%Y-%m-%d").to_string(),
            year: date.year(),
            covered: self.covered_text(),
        }
    }

    /// Working days d with a < d ≤ b (negative when b < a).
    pub fn workdays(&self, a: Day, b: Day) -> Result<i32, OutsideCalendar> {
        let oa = self.ordinal_of(a).ok_or_else(|| self.outside(a))?;
        let ob = self.ordinal_of(b).ok_or_else(|| self.outside(b))?;
        Ok(ob - oa)
    }

    /// Whether a day is a working day.
    pub fn is_workday(&self, day: Day) -> Result<bool, OutsideCalendar> {
        let today = self.ordinal_of(day).ok_or_else(|| self.outside(day))?;
        let before = self.ordinal_of(day - 1).unwrap_or(0);
        Ok(today > before)
    }

    /// b − a in calendar days.
    pub fn days(a: Day, b: Day) -> i32 {
        b - a
    }
}

/// A calendar file as written.
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

/// The days of `MM-DD` or `MM-DD..MM-DD` in `year`.
fn parse_month_days(year: i32, spec: &str) -> Result<Vec<NaiveDate>, String> {
    let one = |s: &str| -> Result<NaiveDate, String> {
        let (m, d) = s
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("`{s}` 不是 MM-DD 格式"))?;
        let (m, d): (u32, u32) = (
            m.parse().map_err(|_| format!("`{s}` 不是 MM-DD 格式"))?,
            d.parse().map_err(|_| format!("`{s}` 不是 MM-DD 格式"))?,
        );
        NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| format!("`{s}` 不是 {year} 年的日期"))
    };
    match spec.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if b < a {
                return Err(format!("日期范围 `{spec}` 的结束早于开始"));
            }
            Ok(a.iter_days().take_while(|d| *d <= b).collect())
        }
        None => Ok(vec![one(spec)?]),
    }
}

/// One calendar file (`calendar/YYYY.toml`, an overlay's year, or `--calendar FILE`).
pub(crate) fn calendar_year(file: &str, text: &str, issues: &mut Issues) -> Option<CalendarYear> {
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

/// The calendar years of a pack and its regional overlays (by overlay name), from the
/// files under `calendar/`.
pub(crate) fn load_calendar(
    files: &BTreeMap<String, String>,
    issues: &mut Issues,
) -> (Vec<CalendarYear>, BTreeMap<String, Vec<CalendarYear>>) {
    let mut years = Vec::new();
    let mut overlays: BTreeMap<String, Vec<CalendarYear>> = BTreeMap::new();
    for (path, text) in files {
        if let Some(rest) = path.strip_prefix("calendar/overlays/") {
            if let Some((name, _)) = rest.split_once('/') {
                if let Some(y) = calendar_year(path, text, issues) {
                    overlays.entry(name.to_string()).or_default().push(y);
                }
            }
        } else if let Some(rest) = path.strip_prefix("calendar/") {
            if !rest.contains('/') && rest.ends_with(".toml") {
                if let Some(y) = calendar_year(path, text, issues) {
                    if rest.trim_end_matches(".toml") != y.year.to_string() {
                        issues.push(
                            path,
                            None,
                            None,
                            format!("文件中是 {} 年，应命名为 {}.toml", y.year, y.year),
                        );
                    }
                    years.push(y);
                }
            }
        }
    }
    if years.is_empty() {
        issues.push(
            "calendar/",
            None,
            None,
            "规则包没有任何年份的节假日安排（calendar/YYYY.toml）".into(),
        );
    }
    (years, overlays)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_day_writes_what_chrono_writes() {
        let chrono_way = |d: Day| from_day(d).format("%Y-%m-%d").to_string();
        let year_0 = to_day(NaiveDate::from_ymd_opt(0, 1, 1).expect("date"));
        let year_9999 = to_day(NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"));
        let mut days: Vec<Day> = (-800_000..3_000_000).step_by(997).collect();
        days.extend([
            0,
            -1,
            1,
            19_358,
            year_0 - 1,
            year_0,
            year_9999,
            year_9999 + 1,
        ]);
        days.extend([Day::MIN, Day::MAX]);
        for d in days {
            assert_eq!(format_day(d), chrono_way(d), "day {d}");
        }
        assert_eq!(format_day(19_358), "2023-01-01");
    }
}
