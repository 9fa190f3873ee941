//! Input discovery: which files an audit reads. Folders are walked for ledger files;
//! lock files, caseaudit's own outputs (recorded in an output folder's marker), the
//! same file met twice, and links leading out of the folder given are skipped, each
//! skip but lock files with a note for the run.

use crate::load::{err, io_error, LoadError, LEDGER_EXTENSIONS};
use crate::model::ErrorKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One input path expanded: a ledger file to read, or an error about a path.
#[derive(Debug, Clone)]
pub enum InputFile {
    /// A ledger file to read.
    File(PathBuf),
    /// A path that cannot be read, and why.
    Error(PathBuf, LoadError),
}

/// The marker file of a caseaudit output folder.
pub const MARKER: &str = ".caseaudit-output";

/// Output files of earlier versions, whose marker was empty: taken as recorded when a
/// marker lists nothing.
pub const USUAL_OUTPUTS: &[&str] = &[
    "findings.json",
    "findings.csv",
    "findings.xlsx",
    "report.html",
    "cases.parquet",
    "整改通知书清单.csv",
];

/// What the marker of an output folder records: the files caseaudit wrote there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputMarker {
    /// The program that wrote the folder (`caseaudit 0.1.0`).
    pub tool: String,
    /// File names inside the folder.
    pub files: BTreeSet<String>,
}

/// The largest marker read: a marker lists a few file names.
const MAX_MARKER_BYTES: u64 = 1024 * 1024;

/// The files a folder's marker records as caseaudit's own, or `None` when the folder
/// has no marker. A marker that is not a regular file (a link, a FIFO) or not readable
/// as a list counts as recording the usual output names.
pub fn recorded_outputs(dir: &Path) -> Option<OutputMarker> {
    let path = dir.join(MARKER);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    let usual = || OutputMarker {
        tool: "caseaudit".into(),
        files: USUAL_OUTPUTS.iter().map(|s| s.to_string()).collect(),
    };
    if !meta.is_file() || meta.len() > MAX_MARKER_BYTES {
        return Some(usual());
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    match serde_json::from_str::<OutputMarker>(&text) {
        Ok(m) if !m.files.is_empty() => Some(m),
        _ => Some(usual()),
    }
}

pub(crate) fn is_ledger(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.starts_with("~$") || name.starts_with(".~") {
        return false;
    }
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .is_some_and(|e| LEDGER_EXTENSIONS.contains(&e.as_str()))
}

/// The error for a path that is neither a file nor a folder (a FIFO, socket, device).
fn not_regular() -> LoadError {
    err(
        ErrorKind::Unreadable,
        "不是普通文件（可能是管道、套接字或设备）",
    )
}

/// The identity of a file (device and inode), the same through links and spellings.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata, _path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata, path: &Path) -> Option<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    let canon = std::fs::canonicalize(path).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    canon.hash(&mut h);
    Some((0, h.finish()))
}

/// The identity of the file at `path` (through links and spellings), if it exists.
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    identity(&std::fs::metadata(path).ok()?, path)
}

/// Inputs found, and the notes about what was skipped.
struct Discovery {
    files: Vec<InputFile>,
    notes: Vec<String>,
    seen: HashMap<(u64, u64), PathBuf>,
    markers: HashMap<PathBuf, Option<BTreeSet<OsString>>>,
}

impl Discovery {
    /// Whether the file is one caseaudit wrote (recorded in its folder's marker).
    fn is_own_output(&mut self, path: &Path) -> bool {
        let Some(name) = path.file_name() else {
            return false;
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let recorded = self.markers.entry(key).or_insert_with(|| {
            recorded_outputs(dir).map(|m| m.files.into_iter().map(OsString::from).collect())
        });
        recorded.as_ref().is_some_and(|r| r.contains(name))
    }

    /// Adds a regular file (metadata already read, links followed) unless it is an
    /// output of caseaudit or was met before. Returns whether it is a ledger (added, or
    /// met before).
    fn add(&mut self, path: &Path, meta: &std::fs::Metadata) -> bool {
        if self.is_own_output(path) {
            self.notes.push(format!(
                "已跳过 caseaudit 自己生成的文件 {}（记录在所在文件夹的 {MARKER} 中）",
                path.display()
            ));
            return false;
        }
        if let Some(id) = identity(meta, path) {
            if let Some(first) = self.seen.get(&id) {
                self.notes.push(format!(
                    "{} 与 {} 是同一个文件，只读取一次",
                    path.display(),
                    first.display()
                ));
                return true;
            }
            self.seen.insert(id, path.to_path_buf());
        }
        self.files.push(InputFile::File(path.to_path_buf()));
        true
    }

    fn walk(&mut self, root: &Path) {
        let canon_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let mut found = 0usize;
        // Links are not followed by the walk: each is looked at on its own below.
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .follow_root_links(true)
            .sort_by_file_name();
        for entry in walker {
            let e = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.to_path_buf());
                    let error = match e.io_error().map(io_error) {
                        Some(le) => le,
                        None => err(ErrorKind::Unreadable, format!("无法读取文件夹内容：{e}")),
                    };
                    self.files.push(InputFile::Error(path, error));
                    continue;
                }
            };
            let path = e.path();
            if e.path_is_symlink() && e.depth() > 0 {
                let Ok(meta) = std::fs::metadata(path) else {
                    if is_ledger(path) {
                        self.files.push(InputFile::Error(
                            path.to_path_buf(),
                            err(ErrorKind::DanglingLink, "链接指向的文件不存在"),
                        ));
                    }
                    continue;
                };
                // Links to folders and to ledger files matter; others are not read.
                if !meta.is_dir() && !is_ledger(path) {
                    continue;
                }
                let target = std::fs::canonicalize(path).unwrap_or_default();
                if !target.starts_with(&canon_root) {
                    self.notes.push(format!(
                        "已跳过链接 {}：它指向所给文件夹 {} 之外（{}）",
                        path.display(),
                        root.display(),
                        target.display()
                    ));
                    continue;
                }
                if meta.is_dir() {
                    // Its files lie inside the folder and are walked there.
                    continue;
                }
                if !meta.is_file() {
                    self.files
                        .push(InputFile::Error(path.to_path_buf(), not_regular()));
                    found += 1;
                    continue;
                }
                found += usize::from(self.add(path, &meta));
                continue;
            }
            if e.file_type().is_dir() || !is_ledger(path) {
                continue;
            }
            match e.metadata() {
                Ok(meta) if meta.is_file() => found += usize::from(self.add(path, &meta)),
                Ok(_) => {
                    self.files
                        .push(InputFile::Error(path.to_path_buf(), not_regular()));
                    found += 1;
                }
                Err(e) => {
                    let error = e
                        .io_error()
                        .map(io_error)
                        .unwrap_or_else(|| err(ErrorKind::Unreadable, e.to_string()));
                    self.files.push(InputFile::Error(path.to_path_buf(), error));
                    found += 1;
                }
            }
        }
        if found == 0 {
            self.files.push(InputFile::Error(
                root.to_path_buf(),
                err(
                    ErrorKind::EmptyFolder,
                    "文件夹中没有台账文件（xlsx、xls、ods、csv、parquet）",
                ),
            ));
        }
    }
}

/// Expands inputs: folders are walked for ledger files in a stable order; returns the
/// files to read and notes for the run about what was skipped (caseaudit's own outputs,
/// the same file met twice, links leading out of the folder given).
pub fn discover_inputs(inputs: &[PathBuf]) -> (Vec<InputFile>, Vec<String>) {
    let mut d = Discovery {
        files: Vec::new(),
        notes: Vec::new(),
        seen: HashMap::new(),
        markers: HashMap::new(),
    };
    let mut given: HashSet<&Path> = HashSet::new();
    for p in inputs {
        match std::fs::metadata(p) {
            Err(e) => {
                let error = if e.kind() == std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(p).is_ok()
                {
                    err(ErrorKind::DanglingLink, "链接指向的文件不存在")
                } else {
                    io_error(&e)
                };
                d.files.push(InputFile::Error(p.clone(), error));
            }
            Ok(m) if m.is_dir() && is_ledger(p) => d.files.push(InputFile::Error(
                p.clone(),
                err(ErrorKind::IsFolder, "是文件夹，不是台账文件"),
            )),
            Ok(m) if m.is_dir() => {
                if given.insert(p.as_path()) {
                    d.walk(p);
                }
            }
            Ok(m) if m.is_file() => {
                d.add(p, &m);
            }
            Ok(_) => d.files.push(InputFile::Error(p.clone(), not_regular())),
        }
    }
    (d.files, d.notes)
}

/// Expands inputs as [`discover_inputs`] does, without the notes.
pub fn expand_inputs(inputs: &[PathBuf]) -> Vec<InputFile> {
    discover_inputs(inputs).0
}
