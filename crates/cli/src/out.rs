//! Writing to stdout without panicking: a reader that stops reading (`| head`) ends
//! the command quietly, a full disk is an error with a Chinese message.

use std::io::Write;

/// Writing to stdout failed.
#[derive(Debug)]
pub struct StdoutError(pub std::io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "无法写入标准输出：{}",
            caseaudit_report::write::io_reason(&self.0)
        )
    }
}

impl std::error::Error for StdoutError {}

impl StdoutError {
    /// Whether the reader closed the pipe: not an error for a command that prints.
    pub fn is_closed_pipe(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// Writes text to stdout and flushes it.
pub fn print(s: &str) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(s.as_bytes())
        .and_then(|()| o.flush())
        .map_err(|e| anyhow::Error::new(StdoutError(e)))
}

/// `print!` that returns the error (`?`) instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::print(&format!($($arg)*))?
    };
}

/// `println!` that returns the error (`?`) instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::print(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// `eprintln!` that never panics: a closed or full stderr loses the message, nothing
/// more (`caseaudit audit … 2>&1 | head`).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics; see [`errln!`].
#[macro_export]
macro_rules! errprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}
