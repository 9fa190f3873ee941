//! Errors of loading and checking a rule pack.

use std::fmt;

/// One problem in a rule pack, located as precisely as the pack allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackIssue {
    /// Path of the file inside the pack, e.g. `three-systems/PUB-001.toml`.
    pub file: String,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters) in that line, when known: where in a rule file a
    /// condition's problem is.
    pub column: Option<usize>,
    /// The rule (or derived field, parameter) the problem belongs to.
    pub item: Option<String>,
    /// What is wrong, one line, lowercase, user values in backticks.
    pub message: String,
}

impl fmt::Display for PackIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(item) = &self.item {
            write!(f, " [{item}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a pack, reported together.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PackError {
    /// The pack has problems; every one is listed.
    #[error("{}", render_issues(.0))]
    Invalid(Vec<PackIssue>),
    /// The pack's folder or a file in it cannot be read.
    #[error("无法读取规则包 `{path}`：{reason}")]
    Io {
        /// The folder or file.
        path: String,
        /// Why, as the system says.
        reason: String,
    },
    /// A profile name the pack does not have.
    #[error("未知的参数配置 `{name}`{}；可选：{known}", .suggestion.as_ref().map(|s| format!("，是否想写 `{s}`？")).unwrap_or_default())]
    UnknownProfile {
        /// The name as given.
        name: String,
        /// The known profile closest to it, if any.
        suggestion: Option<String>,
        /// The known profiles, joined with `、`.
        known: String,
    },
}

fn suggestion_suffix(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("，是否想写 `{s}`？"))
        .unwrap_or_default()
}

fn render_issues(issues: &[PackIssue]) -> String {
    let mut out = format!("规则包有 {} 处错误：", issues.len());
    for i in issues {
        out.push_str("\n  ");
        out.push_str(&i.to_string());
    }
    out
}

impl PackError {
    /// The individual issues (empty for I/O and profile errors).
    pub fn issues(&self) -> &[PackIssue] {
        match self {
            PackError::Invalid(v) => v,
            _ => &[],
        }
    }
}

/// The known name closest to `name`, when it is close enough to be a likely typo.
pub fn nearest<'a, I: IntoIterator<Item = &'a str>>(name: &str, known: I) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = strsim::levenshtein(name, k);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    let (d, k) = best?;
    let limit = (name.chars().count() / 3).max(2);
    (d <= limit).then(|| k.to_string())
}

/// "did you mean" suffix for a message.
pub(crate) fn did_you_mean(s: Option<String>) -> String {
    suggestion_suffix(&s)
}
