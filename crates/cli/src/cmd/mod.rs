//! One module per subcommand.

pub mod audit;
pub mod diff;
pub mod generate;
pub mod inspect;
pub mod notices;
pub mod rules;

use crate::args::{Cli, Command, PackArgs};
use anyhow::{anyhow, Result};
use caseaudit_rules::calendar::{parse_iso, to_day};
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
    }
}

/// Loads the built-in pack or the one in `dir`.
pub fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    RulePack::load(dir).map_err(|e| anyhow!("{e}"))
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
    pack_with_calendars(p).map_err(|e| anyhow!("{e}"))
}

/// Today's date in China (UTC+8).
pub fn today_in_china() -> Day {
    let now = chrono::Utc::now() + chrono::Duration::hours(8);
    to_day(now.date_naive())
}

/// Parses `--as-of`, or today in China.
pub fn as_of(arg: Option<&str>) -> Result<Day> {
    match arg {
        None => Ok(today_in_china()),
        Some(s) => {
            parse_iso(s).ok_or_else(|| anyhow!("`--as-of {s}` 不是有效日期，请写成 YYYY-MM-DD"))
        }
    }
}

/// Reads a findings.json written by `audit`.
pub fn read_report(path: &Path) -> Result<caseaudit_engine::AuditReport> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow!("无法读取 `{}`：{e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "`{}` 不是 caseaudit 生成的 findings.json：{e}",
            path.display()
        )
    })
}
