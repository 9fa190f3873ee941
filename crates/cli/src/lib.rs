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
                caseaudit_report::safe::terminal_lines(&format!("{e:#}"))
            );
            ExitCode::from(EXIT_INPUT)
        }
    }
}
