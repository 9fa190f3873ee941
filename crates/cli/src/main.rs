use std::process::ExitCode;

fn main() -> ExitCode {
    caseaudit::run()
}
