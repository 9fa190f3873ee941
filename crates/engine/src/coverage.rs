//! Warnings about the work-day calendar's years as the as-of date needs them
//! (decisions.md, rulings of 2026-12): an as-of outside the calendar is not an error; the
//! rules that count working days up to it are not evaluable for the cases concerned and
//! one warning says which year file to add and how (`--calendar FILE`).

use caseaudit_rules::calendar::{format_day, from_day, to_day};
use caseaudit_rules::{Calendar, Day, RuleKind, RulePack};
use chrono::{Datelike, NaiveDate};

/// The title of the State Council's holiday notice for a year, to copy the dates from.
pub fn notice_title(year: i32) -> String {
    format!("国务院办公厅关于{year}年部分节假日安排的通知")
}

/// Ids of the active rules that count working days to or from the as-of date.
pub fn as_of_workday_rules(pack: &RulePack) -> Vec<String> {
    pack.rules
        .iter()
        .filter(|r| r.kind == RuleKind::Condition && r.is_active())
        .filter(|r| {
            r.applies
                .iter()
                .chain(r.violation.iter())
                .any(|e| e.workdays_use_as_of())
        })
        .map(|r| r.id.clone())
        .collect()
}

/// The warnings the as-of date calls for: its year outside the calendar, or the
/// calendar's last year nearly over with the next year's file absent.
pub fn as_of_warnings(pack: &RulePack, calendar: &Calendar, as_of: Day) -> Vec<String> {
    let date = from_day(as_of);
    let year = date.year();
    let mut out = Vec::new();
    if !calendar.covers(as_of) {
        let rules = as_of_workday_rules(pack);
        out.push(format!(
            "评查日期 {} 所在的 {year} 年不在工作日历内：按工作日计算至评查日期的规则（{}）对需要该年日期的案件无法判断。\
             请按《{}》写出 {year}.toml（格式与规则包 calendar/ 中各年份文件相同），并用 --calendar {year}.toml 加入",
            format_day(as_of),
            rules.join("、"),
            notice_title(year)
        ));
        return out;
    }
    let last = calendar.years().map(|(y, _)| y).max();
    let next_jan1 = NaiveDate::from_ymd_opt(year + 1, 1, 1).map(to_day);
    if last == Some(year) {
        if let Some(next) = next_jan1 {
            let left = next - as_of;
            if left <= pack.calendar_warning_days as Day && !calendar.covers(next) {
                out.push(format!(
                    "评查日期 {} 已近 {year} 年末，工作日历还没有 {} 年：《{}》发布后，请按其写出 {}.toml 并用 --calendar 加入（或放入规则包 calendar/ 文件夹）",
                    format_day(as_of),
                    year + 1,
                    notice_title(year + 1),
                    year + 1
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseaudit_rules::calendar::parse_iso;

    fn day(s: &str) -> Day {
        parse_iso(s).expect("date")
    }

    #[test]
    fn an_as_of_outside_the_calendar_names_the_year_the_rules_the_file_and_the_option() {
        let pack = RulePack::builtin().expect("pack");
        let cal = pack.calendar(pack.profile("national").expect("national"));
        let last = cal.years().map(|(y, _)| y).max().expect("years");
        let outside = day(&format!("{}-03-01", last + 1));
        let w = as_of_warnings(&pack, &cal, outside);
        assert_eq!(w.len(), 1, "{w:?}");
        let y = (last + 1).to_string();
        assert!(w[0].contains(&format!("{y} 年不在工作日历内")), "{}", w[0]);
        assert!(w[0].contains(&format!("--calendar {y}.toml")), "{}", w[0]);
        assert!(w[0].contains(&notice_title(last + 1)), "{}", w[0]);
        for id in ["PUB-001", "PUB-003", "PUB-007", "PRO-002"] {
            assert!(w[0].contains(id), "{id}: {}", w[0]);
        }
        // PUB-002 counts between two case dates only.
        assert!(!w[0].contains("PUB-002"), "{}", w[0]);
    }

    #[test]
    fn the_end_of_the_last_year_warns_when_the_next_file_is_absent() {
        let mut pack = RulePack::builtin().expect("pack");
        let cal = pack.calendar(pack.profile("national").expect("national"));
        let last = cal.years().map(|(y, _)| y).max().expect("years");
        let near = day(&format!("{last}-12-15"));
        let w = as_of_warnings(&pack, &cal, near);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains(&format!("{}.toml", last + 1)), "{}", w[0]);
        assert!(as_of_warnings(&pack, &cal, day(&format!("{last}-11-01"))).is_empty());
        assert!(as_of_warnings(&pack, &cal, day(&format!("{}-12-15", last - 1))).is_empty());
        // With the next year added (--calendar), nothing to say.
        let next = last + 1;
        pack.add_calendar_text(
            "next.toml",
            &format!("year = {next}\nnotice = \"test\"\noff = [\"01-01\"]\nwork = []\n"),
        )
        .expect("add");
        let cal = pack.calendar(pack.profile("national").expect("national"));
        assert!(as_of_warnings(&pack, &cal, near).is_empty());
        // The warning distance is the pack's.
        let mut p = RulePack::builtin().expect("pack");
        p.calendar_warning_days = 10;
        let c = p.calendar(p.profile("national").expect("national"));
        assert!(as_of_warnings(&p, &c, near).is_empty());
        assert_eq!(
            as_of_warnings(&p, &c, day(&format!("{last}-12-25"))).len(),
            1
        );
    }
}
