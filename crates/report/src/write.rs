//! Writing output files whole or not at all.

use std::io::Write;
use std::path::Path;

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("无法写入 `{file}`：{reason}")]
    Io {
        /// The file.
        file: String,
        /// Why (Chinese).
        reason: String,
    },
    /// An output could not be rendered.
    #[error("无法生成 `{file}`：{reason}")]
    Render {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
}

/// An I/O error's reason in Chinese for the common cases, with the system's text.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull => format!("磁盘已满（{e}）"),
        K::QuotaExceeded => format!("超出磁盘配额（{e}）"),
        K::BrokenPipe => format!("读取方已关闭管道（{e}）"),
        K::PermissionDenied => format!("没有写入权限（{e}）"),
        K::NotFound => format!("路径不存在（{e}）"),
        _ => e.to_string(),
    }
}

/// Temporary files are named `.caseaudit-PID-XXXXXX.tmp` beside their final path (PID
/// the writing process's id, so that a later run can tell an interrupted run's files).
pub const TEMP_PREFIX: &str = ".caseaudit-";
/// See [`TEMP_PREFIX`].
pub const TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so an
/// interrupted run never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Streams a file through `write` into a temporary file beside `path` (buffered), then
/// renames it over `path`: nothing of the file needs to be in memory at once.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
) -> Result<(), ReportError> {
    let io = |e: std::io::Error| ReportError::Io {
        file: path.display().to_string(),
        reason: io_reason(&e),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io)?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    // Outputs are documents for people: readable like any file the user creates.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
