//! Where a pack's files come from: the pack built into the binary, or a folder.

use crate::error::PackError;
use include_dir::{include_dir, Dir};
use std::collections::BTreeMap;
use std::path::Path;

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../rules");

/// Files of a pack: path inside the pack (with `/`) → text.
pub(crate) type Files = BTreeMap<String, String>;

/// The files of the built-in pack (path inside the pack → text), e.g. to copy it.
pub fn builtin_files() -> BTreeMap<String, String> {
    fn walk(dir: &Dir<'static>, out: &mut Files) {
        for f in dir.files() {
            if let Some(text) = f.contents_utf8() {
                out.insert(
                    f.path().to_string_lossy().replace('\\', "/"),
                    text.to_string(),
                );
            }
        }
        for d in dir.dirs() {
            walk(d, out);
        }
    }
    let mut files = Files::new();
    walk(&BUILTIN, &mut files);
    files
}

/// The TOML files of a pack folder, and every file under its `templates/`.
pub(crate) fn dir_files(root: &Path) -> Result<Files, PackError> {
    fn walk(root: &Path, dir: &Path, out: &mut Files) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if p.extension().is_some_and(|e| e == "toml")
                || p.strip_prefix(root)
                    .is_ok_and(|r| r.starts_with("templates"))
            {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&p)?);
            }
        }
        Ok(())
    }
    let mut files = Files::new();
    walk(root, root, &mut files).map_err(|e| PackError::Io {
        path: root.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(files)
}

/// The files under `templates/`, by path inside it.
pub(crate) fn templates(files: &Files) -> BTreeMap<String, String> {
    files
        .iter()
        .filter_map(|(path, text)| {
            path.strip_prefix("templates/")
                .map(|rest| (rest.to_string(), text.clone()))
        })
        .collect()
}
