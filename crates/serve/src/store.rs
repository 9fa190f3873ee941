//! Runs on disk. `DATA/runs/ID/` holds one run:
//!
//! ```text
//! params.json   what was asked (as-of, profile, agency, the inputs' display names)
//! status.json   queued | running | done | failed, counts, errors
//! inputs/       the ledgers as uploaded, under generated names (ledger-1.xlsx, …)
//! published/    publication records as uploaded (the audit's `--published`)
//! out/          findings.json, findings.xlsx, findings.csv, report.html
//! inspect.json  the header mapping, once asked for
//! ```
//!
//! A client's file name is display text only, never part of a path. Run ids are made
//! here and checked on every request, so no request names a path outside `DATA`.

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

/// The ledger formats accepted for upload (as `audit` reads them).
pub const EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xls", "ods", "csv", "parquet"];

/// The output files a run offers for download.
pub const FILES: &[&str] = &[
    "findings.json",
    "findings.xlsx",
    "findings.csv",
    "report.html",
];

/// The output formats a run writes.
pub const FORMATS: &[&str] = &["json", "csv", "xlsx", "html"];

/// One uploaded file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredFile {
    /// The generated name in the run's folder.
    pub stored: String,
    /// The client's file name, cleaned, for display only.
    pub name: String,
    pub bytes: u64,
}

/// What a run was asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    pub id: String,
    pub created: String,
    pub as_of: String,
    pub profile: String,
    pub agency: Option<String>,
    pub inputs: Vec<StoredFile>,
    #[serde(default)]
    pub published: Vec<StoredFile>,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A file error of a run, with the file's display name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileError {
    pub file: String,
    pub sheet: Option<String>,
    pub kind: String,
    pub reason: String,
    /// The line `caseaudit audit` prints for it.
    pub message: String,
}

/// Where a run stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub errors: Vec<FileError>,
    #[serde(default)]
    pub cases: Option<u64>,
    #[serde(default)]
    pub findings: Option<u64>,
    #[serde(default)]
    pub mean_score: Option<f64>,
    #[serde(default)]
    pub finished: Option<String>,
}

impl Status {
    pub fn queued() -> Status {
        Status {
            status: "queued".into(),
            message: None,
            errors: Vec::new(),
            cases: None,
            findings: None,
            mean_score: None,
            finished: None,
        }
    }
}

/// The runs folder.
#[derive(Debug, Clone)]
pub struct Store {
    runs: PathBuf,
}

/// Now in China (UTC+8), as text.
pub fn now_in_china() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Whether `id` has the shape of a run id this module makes.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && id.as_bytes()[0].is_ascii_digit()
}

/// A client's file name made safe to show: the last path component, without control
/// or formatting characters, at most 120 characters.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(*c as u32,
                    0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF | 0xFFF9..=0xFFFB)
        })
        .take(120)
        .collect();
    let t = cleaned.trim().to_string();
    if t.is_empty() || t == "." || t == ".." {
        "未命名文件".into()
    } else {
        t
    }
}

/// The accepted extension of a client's file name, lower-cased.
pub fn extension(name: &str) -> Option<String> {
    let ext = name.rsplit_once('.')?.1.to_lowercase();
    EXTENSIONS.contains(&ext.as_str()).then_some(ext)
}

fn random_suffix() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() & 0xffff_ffff) as u32
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    caseaudit_report::write_atomic(path, &bytes).map_err(|e| e.to_string())
}

/// A run being uploaded: a hidden folder renamed into place when complete.
#[derive(Debug)]
pub struct Staging {
    pub id: String,
    pub dir: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staging {
    /// Where the upload number `n` (from 1) is written.
    pub fn input_path(&self, kind: &str, n: usize, ext: &str) -> (String, PathBuf) {
        let stem = if kind == "published" {
            "published"
        } else {
            "ledger"
        };
        let name = format!("{stem}-{n}.{ext}");
        let folder = if kind == "published" {
            "published"
        } else {
            "inputs"
        };
        (name.clone(), self.dir.join(folder).join(name))
    }

    /// Writes params and a queued status, and moves the folder into place.
    pub fn commit(mut self, params: &Params) -> Result<(), String> {
        write_json(&self.dir.join("params.json"), params)?;
        write_json(&self.dir.join("status.json"), &Status::queued())?;
        std::fs::rename(&self.dir, &self.target).map_err(|e| e.to_string())?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Store {
    /// Opens (creates) `DATA/runs` and removes the leftovers of interrupted uploads.
    pub fn open(data: &Path) -> Result<Store, String> {
        let runs = data.join("runs");
        std::fs::create_dir_all(&runs)
            .map_err(|e| format!("无法创建数据文件夹 `{}`：{e}", runs.display()))?;
        if let Ok(rd) = std::fs::read_dir(&runs) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(".staging-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(Store { runs })
    }

    /// A new run's staging folder under a fresh id.
    pub fn stage(&self) -> Result<Staging, String> {
        let stamp = (chrono::Utc::now() + chrono::Duration::hours(8))
            .format("%Y%m%d-%H%M%S")
            .to_string();
        for _ in 0..16 {
            let id = format!("{stamp}-{:08x}", random_suffix());
            let target = self.runs.join(&id);
            let dir = self.runs.join(format!(".staging-{id}"));
            if target.exists() || dir.exists() {
                continue;
            }
            std::fs::create_dir_all(dir.join("inputs")).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(dir.join("published")).map_err(|e| e.to_string())?;
            return Ok(Staging {
                id,
                dir,
                target,
                done: false,
            });
        }
        Err("无法生成评查编号".into())
    }

    /// The folder of an existing run; `None` for anything that is not one.
    pub fn dir(&self, id: &str) -> Option<PathBuf> {
        if !valid_id(id) {
            return None;
        }
        let d = self.runs.join(id);
        d.join("params.json").is_file().then_some(d)
    }

    pub fn params(&self, id: &str) -> Option<Params> {
        read_json(&self.dir(id)?.join("params.json"))
    }

    pub fn status(&self, id: &str) -> Option<Status> {
        read_json(&self.dir(id)?.join("status.json"))
    }

    pub fn set_status(&self, id: &str, status: &Status) -> Result<(), String> {
        let dir = self.dir(id).ok_or("评查记录不存在")?;
        write_json(&dir.join("status.json"), status)
    }

    /// Every run id, newest first.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.runs)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| self.dir(n).is_some())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids.reverse();
        ids
    }

    /// Runs left queued or running by a previous process, oldest first.
    pub fn unfinished(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .ids()
            .into_iter()
            .filter(|id| {
                self.status(id)
                    .is_some_and(|s| s.status == "queued" || s.status == "running")
            })
            .collect();
        ids.reverse();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_checked() {
        assert!(valid_id("20261201-103000-0a1b2c3d"));
        for bad in ["", "..", "../etc", "a/b", ".staging-1", "x", "1/..", "1\\2"] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert_eq!(clean_name("C:\\Users\\x\\台账.xlsx"), "台账.xlsx");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{202E}b\u{0007}.csv"), "ab.csv");
        assert_eq!(clean_name(".."), "未命名文件");
        assert_eq!(extension("a.XLSX").as_deref(), Some("xlsx"));
        assert_eq!(extension("a.exe"), None);
        assert_eq!(extension("noext"), None);
    }
}
