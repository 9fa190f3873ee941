//! Making ledger text safe in files people open.

/// Neutralises text that a spreadsheet would run as a formula (OWASP CSV injection):
/// a leading = + - @ tab or carriage return gets a leading `'`.
pub fn neutralise_formula(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A file name built from an agency name that stays inside the output folder: path
/// separators, `..`, control and reserved characters replaced, Windows device names
/// avoided, length capped.
pub fn safe_file_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim().trim_matches('.').to_string();
    while s.contains("..") {
        s = s.replace("..", "_");
    }
    if s.is_empty() {
        s = "未命名".into();
    }
    let upper = s.to_ascii_uppercase();
    let base = upper.split('.').next().unwrap_or("");
    const RESERVED: &[&str] = &[
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if RESERVED.contains(&base) {
        s = format!("_{s}");
    }
    // Keep names well under common 255-byte limits, cutting on a character boundary.
    let mut out = String::new();
    for c in s.chars() {
        if out.len() + c.len_utf8() > 150 {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise_formula(s).starts_with('\''), "{s}");
        }
        assert_eq!(
            neutralise_formula("巴市监罚〔2022〕15号"),
            "巴市监罚〔2022〕15号"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(
            html_escape("<img src=x onerror=\"a\">"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;"
        );
    }

    #[test]
    fn file_names_stay_inside() {
        for n in ["../../etc", "a/b", "CON", "con.txt", "..", "", "a\\..\\b"] {
            let s = safe_file_stem(n);
            assert!(
                !s.contains('/') && !s.contains('\\') && !s.contains(".."),
                "{n} -> {s}"
            );
            assert!(!s.is_empty());
            assert_ne!(s.to_ascii_uppercase(), "CON");
        }
        assert!(safe_file_stem(&"局".repeat(300)).len() <= 150);
    }
}
