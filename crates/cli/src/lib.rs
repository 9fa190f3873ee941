//! The `caseaudit` command line: argument parsing, progress, the summary table and exit
//! codes. Everything else lives in the library crates (rules, engine, report).

pub mod args;
pub mod cmd;
pub mod out;
pub mod summary;

use clap::Parser;
use std::process::ExitCode;

/// Exit code for bad usage or unusable input.
pub const EXIT_INPUT: u8 = 2;
/// Exit code for findings at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;

/// An error as people read it: its message, then each cause in its chain that the
/// message does not already say, joined by `：` (a typed error keeps its cause for
/// programs; its message usually quotes the cause already).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push('：');
            text.push_str(&cause);
        }
    }
    text
}

/// Parses arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(EXIT_INPUT),
            };
        }
    };
    match cmd::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e)
            if e.downcast_ref::<out::StdoutError>()
                .is_some_and(out::StdoutError::is_closed_pipe) =>
        {
            // The reader stopped reading (`caseaudit rules list | head`): done, as
            // other Unix tools end.
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The message's own line breaks are kept; anything else from data that could
            // control the terminal is escaped.
            crate::errln!(
                "错误：{}",
                caseaudit_report::safe::terminal_lines(&error_text(&e))
            );
            ExitCode::from(EXIT_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[derive(Debug, thiserror::Error)]
    #[error("外层：{0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn error_text_says_each_cause_once_and_keeps_the_chain() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "找不到");
        // A context and its cause, joined as the messages were written before.
        let e = Err::<(), _>(io()).context("无法读取 `a.json`").unwrap_err();
        assert_eq!(error_text(&e), "无法读取 `a.json`：找不到");
        assert!(e.downcast_ref::<std::io::Error>().is_some());
        // A typed error that quotes its cause: the cause is not said twice.
        let e = anyhow::Error::from(Quoting(io()));
        assert_eq!(error_text(&e), "外层：找不到");
        assert_eq!(e.chain().count(), 2);
        // A pack error stays a pack error for programs.
        let e =
            cmd::load_pack(Some(std::path::Path::new("/nonexistent/caseaudit-pack"))).unwrap_err();
        assert!(e.downcast_ref::<caseaudit_rules::PackError>().is_some());
        assert_eq!(error_text(&e), e.to_string());
    }
}
