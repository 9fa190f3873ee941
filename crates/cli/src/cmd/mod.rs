//! One module per subcommand.

pub mod audit;
pub mod inspect;
pub mod rules;

use crate::args::{Cli, Command};
use anyhow::{anyhow, Result};
use caseaudit_rules::calendar::{parse_iso, to_day};
use caseaudit_rules::{Day, RulePack};
use std::path::Path;

pub fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Audit(a) => audit::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Rules(a) => rules::run(a),
    }
}

/// Loads the built-in pack or the one in `dir`.
pub fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    RulePack::load(dir).map_err(|e| anyhow!("{e}"))
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
