//! One module per subcommand.

pub mod audit;
pub mod diff;
pub mod generate;
pub mod inspect;
pub mod notices;
pub mod rules;
pub mod serve;

use crate::args::{Cli, Command, PackArgs};
use anyhow::{anyhow, Context, Result};
use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::{Day, RulePack};
use std::path::Path;

pub fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Audit(a) => audit::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Notices(a) => notices::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Serve(a) => serve::run(a),
    }
}

/// A path as a terminal shows it: control and format characters escaped.
pub fn shown(p: &Path) -> String {
    caseaudit_report::safe::terminal(&p.display().to_string()).into_owned()
}

/// Loads the built-in pack or the one in `dir`.
pub fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    Ok(RulePack::load(dir)?)
}

/// The pack `--rules` names (or the built-in one) with the years of every `--calendar
/// FILE` added or replaced.
pub fn pack_with_calendars(p: &PackArgs) -> Result<RulePack, caseaudit_rules::PackError> {
    let mut pack = RulePack::load(p.rules.as_deref())?;
    for f in &p.calendar {
        pack.add_calendar_file(f)?;
    }
    if !p.calendar.is_empty() {
        pack.check_calendar_years()?;
    }
    Ok(pack)
}

/// [`pack_with_calendars`], its error for people.
pub fn pack_from(p: &PackArgs) -> Result<RulePack> {
    Ok(pack_with_calendars(p)?)
}

/// Today's date in China (UTC+8).
pub fn today_in_china() -> Day {
    caseaudit_report::run::today_in_china()
}

/// The years a date given in an option may fall in: date arithmetic (deadlines, the
/// calendar) stays far from the ends of the date type.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// Parses the date of option `option` (`--as-of`): YYYY-MM-DD within [`DATE_YEARS`].
pub fn parse_date(option: &str, s: &str) -> Result<Day> {
    let shown = caseaudit_report::safe::terminal(s);
    let day = parse_iso(s)
        .ok_or_else(|| anyhow!("`{option} {shown}` 不是有效日期，请写成 YYYY-MM-DD"))?;
    let year = chrono::Datelike::year(&caseaudit_rules::calendar::from_day(day));
    if !DATE_YEARS.contains(&year) {
        return Err(anyhow!(
            "`{option} {shown}` 超出可用的日期范围（{}—{} 年）",
            DATE_YEARS.start(),
            DATE_YEARS.end()
        ));
    }
    Ok(day)
}

/// Parses `--as-of`, or today in China.
pub fn as_of(arg: Option<&str>) -> Result<Day> {
    match arg {
        None => Ok(today_in_china()),
        Some(s) => parse_date("--as-of", s),
    }
}

/// Whether two paths name one file (the same file through links or two spellings).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Refuses to write `target` when it is one of the command's inputs.
pub fn refuse_overwrite(target: &Path, inputs: &[&Path]) -> Result<()> {
    for i in inputs {
        if same_file(target, i) {
            return Err(anyhow!(
                "输出文件 `{}` 就是输入文件 `{}`，拒绝覆盖；请用 --out 指定其他文件",
                shown(target),
                shown(i)
            ));
        }
    }
    Ok(())
}

/// Warns when a findings.json was written by a newer caseaudit than this one: fields
/// it added are not understood here.
pub fn warn_if_newer(path: &Path, report: &caseaudit_engine::AuditReport) {
    let parse = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let mine = env!("CARGO_PKG_VERSION");
    if parse(&report.tool.version) > parse(mine) {
        crate::errln!(
            "提示：`{}` 由较新版本的 caseaudit（{}）生成，本程序为 {mine}，其中新增的内容可能无法识别",
            shown(path),
            caseaudit_report::safe::terminal(&report.tool.version)
        );
    }
}

/// Reads a findings.json written by `audit`.
pub fn read_report(path: &Path) -> Result<caseaudit_engine::AuditReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("无法读取 `{}`", shown(path)))?;
    serde_json::from_str(&text)
        .with_context(|| format!("`{}` 不是 caseaudit 生成的 findings.json", shown(path)))
}
