//! One module per subcommand.

pub mod audit;
pub mod diff;
pub mod generate;
pub mod inspect;
pub mod notices;
pub mod rules;
pub mod serve;

use crate::args::{Cli, Command};
use anyhow::{anyhow, Result};
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

/// Loads the built-in pack or the one in `dir`.
pub fn load_pack(dir: Option<&Path>) -> Result<RulePack> {
    RulePack::load(dir).map_err(|e| anyhow!("{e}"))
}

/// Today's date in China (UTC+8).
pub fn today_in_china() -> Day {
    caseaudit_report::run::today_in_china()
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
