//! The output folder: its marker (`.caseaudit-output`, listing the files caseaudit
//! wrote, so that a later audit never reads them as ledgers) and the temporary files an
//! interrupted run left behind.

use crate::write::{io_reason, write_atomic, ReportError, TEMP_PREFIX, TEMP_SUFFIX};
use caseaudit_engine::inputs::{recorded_outputs, MARKER};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A temporary file older than this is left from an interrupted run: a running one
/// keeps writing to its temporary files, renaming them when done. A temporary file of
/// a process that no longer runs is stale at once.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

/// Whether the process that wrote a temporary file (its id in the name) has ended, as
/// far as this system can tell (Linux's /proc); `false` when unknown.
fn writer_ended(name: &str) -> bool {
    let Some(pid) = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|r| r.split_once('-'))
        .and_then(|(pid, _)| pid.parse::<u32>().ok())
    else {
        return false;
    };
    let proc = Path::new("/proc");
    pid != std::process::id() && proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

fn marker_error(dir: &Path, reason: String) -> ReportError {
    ReportError::Io {
        file: dir.join(MARKER).display().to_string(),
        reason,
    }
}

/// Prepares an output folder before anything is written: creates it, refuses a marker
/// that is a link (or anything but a regular file: it would be written through), and
/// removes the stale temporary files of earlier interrupted runs. Returns how many were
/// removed.
pub fn prepare(dir: &Path) -> Result<usize, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::Io {
        file: dir.display().to_string(),
        reason: io_reason(&e),
    })?;
    check_marker(dir)?;
    Ok(remove_stale_temps(dir, STALE_TEMP_AGE))
}

fn check_marker(dir: &Path) -> Result<(), ReportError> {
    match std::fs::symlink_metadata(dir.join(MARKER)) {
        Ok(m) if m.file_type().is_symlink() => Err(marker_error(
            dir,
            "标记文件是一个链接，为免写到链接指向的文件，拒绝写入；请删除该链接后重试".into(),
        )),
        Ok(m) if !m.is_file() => Err(marker_error(
            dir,
            "标记文件不是普通文件，拒绝写入；请删除后重试".into(),
        )),
        _ => Ok(()),
    }
}

/// Removes `.caseaudit-*.tmp` files in `dir` not modified for `age`; how many.
pub fn remove_stale_temps(dir: &Path, age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        // Only regular files (not links) of our naming, old enough.
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        let old = writer_ended(&name)
            || meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|d| d >= age);
        if meta.is_file() && old && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Records files written in `dir` in its marker, with those recorded before that still
/// exist. The marker is never written through a link.
pub fn record(dir: &Path, written: &[PathBuf]) -> Result<(), ReportError> {
    check_marker(dir)?;
    let mut marker = recorded_outputs(dir)
        .filter(|m| m.tool == "caseaudit")
        .unwrap_or_default();
    marker.tool = "caseaudit".into();
    marker.files.retain(|f| dir.join(f).exists());
    for p in written {
        if let Some(name) = p.file_name() {
            marker.files.insert(name.to_string_lossy().into_owned());
        }
    }
    let mut bytes =
        serde_json::to_vec_pretty(&marker).map_err(|e| marker_error(dir, e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(&dir.join(MARKER), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temps_go_and_fresh_ones_stay() {
        let dir = tempfile::tempdir().expect("tmp");
        let old = dir.path().join(".caseaudit-abc123.tmp");
        let fresh = dir.path().join(".caseaudit-def456.tmp");
        let other = dir.path().join("notes.tmp");
        for p in [&old, &fresh, &other] {
            std::fs::write(p, b"x").expect("write");
        }
        let f = std::fs::File::options()
            .write(true)
            .open(&old)
            .expect("open");
        f.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .expect("mtime");
        // A fresh one of a process that has ended goes too; this process's stays.
        let ended = dir.path().join(".caseaudit-4294967294-ghi789.tmp");
        let mine = dir
            .path()
            .join(format!(".caseaudit-{}-jkl012.tmp", std::process::id()));
        std::fs::write(&ended, b"x").expect("write");
        std::fs::write(&mine, b"x").expect("write");
        let linux = Path::new("/proc/self").exists();
        assert_eq!(
            prepare(dir.path()).expect("prepare"),
            1 + usize::from(linux)
        );
        assert!(!old.exists() && fresh.exists() && other.exists() && mine.exists());
        assert_eq!(ended.exists(), !linux);
    }

    #[test]
    fn the_marker_records_what_was_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("findings.json");
        std::fs::write(&a, b"{}").expect("write");
        record(dir.path(), std::slice::from_ref(&a)).expect("record");
        let b = dir.path().join("findings.csv");
        std::fs::write(&b, b"").expect("write");
        record(dir.path(), std::slice::from_ref(&b)).expect("record");
        let m = recorded_outputs(dir.path()).expect("marker");
        assert_eq!(
            m.files.into_iter().collect::<Vec<_>>(),
            ["findings.csv", "findings.json"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_marker_that_is_a_link_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, b"keep").expect("write");
        std::os::unix::fs::symlink(&victim, dir.path().join(MARKER)).expect("link");
        assert!(prepare(dir.path()).is_err());
        assert!(record(dir.path(), &[]).is_err());
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
    }
}
