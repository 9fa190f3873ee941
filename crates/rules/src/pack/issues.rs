//! The collector every part of the loader reports its problems to, and the helpers that
//! turn byte offsets in a file into lines and columns.

use crate::error::PackIssue;
use crate::expr::{CheckError, Place};

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
            column: None,
            item: item.map(str::to_string),
            message,
        });
    }

    /// A condition's problem, placed in the file from the place of the condition's text
    /// (`start`) and the problem's place within that text.
    pub(crate) fn push_check(
        &mut self,
        file: &str,
        start: Place,
        item: Option<&str>,
        error: &CheckError,
    ) {
        let (line, column) = match error.span().place() {
            Some(p) if p.line == 1 => (start.line, Some(start.column + p.column.saturating_sub(1))),
            Some(p) => (start.line + p.line - 1, Some(p.column)),
            None => (start.line, None),
        };
        self.0.push(PackIssue {
            file: file.to_string(),
            line: Some(line),
            column,
            item: item.map(str::to_string),
            message: error.to_string(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .unwrap_or(text)
        .matches('\n')
        .count()
        + 1
}

/// The openings of a multi-line string whose first line break TOML drops.
const OPEN_WITH_BREAK: [&str; 4] = ["\"\"\"\n", "'''\n", "\"\"\"\r\n", "'''\r\n"];

/// Where a string value's text starts in the file, given the offset of its opening
/// quote: after the quote, or on the next line when a multi-line string opens with a
/// line break. Columns count characters; an escape sequence earlier on the same line
/// would shift them (conditions have none).
pub(crate) fn value_place(text: &str, offset: usize) -> Place {
    let rest = text.get(offset..).unwrap_or("");
    let line = line_at(text, offset);
    if OPEN_WITH_BREAK.iter().any(|p| rest.starts_with(p)) {
        return Place {
            line: line + 1,
            column: 1,
        };
    }
    let quote = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        3
    } else {
        1
    };
    let line_start = text
        .get(..offset)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let before = text.get(line_start..offset).unwrap_or("").chars().count();
    Place {
        line,
        column: before + quote + 1,
    }
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
            issues.push(
                file,
                line,
                None,
                format!("TOML 格式错误：{}", e.message().trim()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_values_text_starts_after_its_quote_or_on_the_next_line() {
        let text = "id = \"X\"\nviolation = \"a IS NULL\"\napplies = \"\"\"\nb IS NULL\"\"\"\nx = '''c'''\n";
        let at = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
        assert_eq!(
            value_place(text, at("\"a IS")),
            Place {
                line: 2,
                column: 14
            }
        );
        // A multi-line string opening with a line break starts on the next line.
        assert_eq!(
            value_place(text, at("\"\"\"\nb")),
            Place { line: 4, column: 1 }
        );
        assert_eq!(value_place(text, at("'''c")), Place { line: 5, column: 8 });
        // Columns count characters, not bytes.
        let text = "标题 = \"x\"";
        assert_eq!(
            value_place(text, text.find('"').unwrap_or(0)),
            Place { line: 1, column: 7 }
        );
    }
}
