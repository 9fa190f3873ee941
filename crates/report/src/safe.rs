//! Making ledger text safe where people see it: one escaping function per target
//! (spreadsheet cells, HTML, Markdown, the terminal, file names), all here.

use std::borrow::Cow;

/// Whether a character is a Unicode format character (category Cf: bidi overrides and
/// isolates, zero-width characters, the byte-order mark, invisible operators, tags) or a
/// line or paragraph separator. Such characters change how text around them is shown.
pub fn is_format_char(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x2028..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
}

/// Whether a character may control a terminal or a renderer: C0 and C1 control
/// characters (line breaks and tabs included), DEL, and format characters.
pub fn is_hidden_control(c: char) -> bool {
    c.is_control() || is_format_char(c)
}

/// Text for a terminal: every control or format character is shown escaped (`\n`,
/// `\u{1b}`, `\u{202e}`), so data cannot move the cursor, recolour the screen, reorder
/// what is shown or start a line of its own. A backslash stays as it is.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_hidden_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

/// Text of several lines for a terminal: the line breaks are kept (they are the
/// message's own), every other control or format character is escaped.
pub fn terminal_lines(s: &str) -> String {
    s.split('\n')
        .map(|l| terminal(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON text for a terminal: control and format characters inside its strings written
/// as `\uXXXX` escapes (serde_json leaves C1 controls and bidi overrides as they are).
/// The JSON means the same.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_hidden_control) {
        return json.into();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // Outside strings, JSON holds only its own whitespace (line breaks, spaces).
        if is_hidden_control(c) && !matches!(c, '\n' | '\r' | '\t') {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", u));
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// ASCII punctuation a Markdown renderer may interpret, escaped with a backslash.
const MARKDOWN_SPECIAL: &[char] = &['\\', '`', '*', '_', '[', ']', '#', '|', '~', '!'];

/// Text for Markdown: characters Markdown would interpret are backslash-escaped, those
/// HTML would interpret (`<`, `>`, `&`, so `<!--` too) become entities, a leading list
/// or heading marker is escaped, line breaks and other control characters become
/// spaces and format characters are removed. [`markdown_unescape`] reverses it.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // What has been written so far, for markers that count only at a line's start:
    // nothing but spaces (`-`, `+`, `=` would start a list, a heading underline), or
    // spaces then digits (`1.` or `1)` would start a numbered list).
    let mut only_spaces = true;
    let mut digits = false;
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if MARKDOWN_SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if only_spaces => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if digits => {
                out.push('\\');
                out.push(c);
            }
            c if is_format_char(c) => continue,
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
        let last = out.chars().last().unwrap_or(' ');
        digits = (only_spaces || digits) && last.is_ascii_digit();
        only_spaces = only_spaces && last == ' ';
    }
    out
}

/// The text a Markdown line shows: backslash escapes of ASCII punctuation and the
/// entities `&lt;` `&gt;` `&amp;` undone (for the docx and HTML made from a notice).
pub fn markdown_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            if let Some(n) = rest[1..].chars().next().filter(char::is_ascii_punctuation) {
                out.push(n);
                rest = &rest[1 + n.len_utf8()..];
                continue;
            }
        } else if c == '&' {
            if let Some((entity, ch)) = [("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')]
                .into_iter()
                .find(|(e, _)| rest.starts_with(e))
            {
                out.push(ch);
                rest = &rest[entity.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

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
/// separators, `..` and reserved characters replaced, control and format characters
/// removed, Windows device names avoided, length capped.
pub fn safe_file_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .filter(|c| !is_hidden_control(*c))
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
    fn terminal_text_cannot_control_the_terminal() {
        let hostile = "局\u{1b}[2J\u{202e}gpj.exe\n错误：伪造\u{9b}\u{200b}\u{7f}";
        let shown = terminal(hostile);
        assert!(!shown.chars().any(is_hidden_control), "{shown}");
        assert!(!shown.contains('\n'));
        assert_eq!(
            shown,
            "局\\u{1b}[2J\\u{202e}gpj.exe\\n错误：伪造\\u{9b}\\u{200b}\\u{7f}"
        );
        assert!(matches!(terminal("巴楚县市场监督管理局"), Cow::Borrowed(_)));
        assert_eq!(terminal_lines("a\u{1b}\nb\r\n"), "a\\u{1b}\nb\n");
    }

    #[test]
    fn markdown_is_escaped_and_reversible() {
        let hostile = "<!--x--> <script>&amp; `c` *b* _i_ [l](u) # h | t ~s~ ![i]\\";
        let md = markdown_escape(hostile);
        for bad in ["<", ">", "<!--"] {
            assert!(!md.contains(bad), "{md}");
        }
        for c in ['`', '*', '_', '[', ']', '#', '|'] {
            assert!(
                md.match_indices(c).all(|(i, _)| md[..i].ends_with('\\')),
                "{c} unescaped in {md}"
            );
        }
        assert_eq!(markdown_unescape(&md), hostile);
        assert_eq!(markdown_escape("- a\n# b\u{202e}"), "\\- a \\# b");
        // Markers that start a list only at a line's start.
        assert_eq!(markdown_escape("  - a"), "  \\- a");
        assert_eq!(markdown_escape("12. 某局 3.5"), "12\\. 某局 3.5");
        assert_eq!(markdown_escape("\u{200b}+x"), "\\+x");
        assert_eq!(
            markdown_escape("巴市监罚〔2022〕15号"),
            "巴市监罚〔2022〕15号"
        );
    }

    #[test]
    fn file_names_lose_control_and_format_characters() {
        assert_eq!(
            safe_file_stem("某局\u{202e}xcod.exe\n\u{200b}"),
            "某局xcod.exe"
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
