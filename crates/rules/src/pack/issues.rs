//! The collector every part of the loader reports its problems to, and the helpers that
//! turn byte offsets in a file into lines.

use crate::error::PackIssue;

/// Collects issues while a pack is validated, so that every problem is reported at once.
pub(crate) struct Issues(pub(crate) Vec<PackIssue>);

impl Issues {
    pub(crate) fn new() -> Issues {
        Issues(Vec::new())
    }

    pub(crate) fn push(
        &mut self,
        file: &str,
        line: Option<usize>,
        item: Option<&str>,
        message: String,
    ) {
        self.0.push(PackIssue {
            file: file.to_string(),
            line,
            item: item.map(str::to_string),
            message,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where a string value's text starts: a multi-line string's first newline
/// is not part of it.
pub(crate) fn value_line(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let skip = ["\"\"\"\n", "'''\n", "\"\"\"\r\n", "'''\r\n"]
        .iter()
        .any(|p| rest.starts_with(p));
    line_at(text, offset) + usize::from(skip)
}

/// Parses one file of the pack, reporting a syntax or shape error as an issue.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    issues: &mut Issues,
) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let line = e.span().map(|s| line_at(text, s.start));
            issues.push(file, line, None, e.message().trim().to_string());
            None
        }
    }
}
