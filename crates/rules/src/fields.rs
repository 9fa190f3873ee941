//! Canonical fields, their header aliases and value vocabularies (`fields.toml`).

use crate::pack::issues::Issues;
use serde::Deserialize;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// The type of a canonical field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text.
    Text,
    /// A date.
    Date,
    /// Yes or no.
    Bool,
    /// An amount of money in yuan.
    Money,
    /// One value of a closed vocabulary.
    Enum,
    /// Several items, optionally of a closed vocabulary.
    List,
}

impl FieldType {
    /// The Chinese name of the type, for messages people read.
    pub fn label(self) -> &'static str {
        match self {
            FieldType::Text => "文本",
            FieldType::Date => "日期",
            FieldType::Bool => "是/否",
            FieldType::Money => "金额",
            FieldType::Enum => "选项",
            FieldType::List => "列表",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFields {
    pub values: RawValues,
    #[serde(default)]
    pub field: Vec<RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawValues {
    pub true_words: Vec<String>,
    pub false_words: Vec<String>,
    pub list_separators: Vec<String>,
    pub money_units: Vec<RawUnit>,
    #[serde(default)]
    pub header_units: Vec<RawHeaderUnit>,
    /// Cell texts that mean "nothing recorded" (`/`, `无`, `未公示`): read as NULL.
    #[serde(default)]
    pub empty_words: Vec<String>,
    /// A row whose case-number cell or first non-empty cell is one of these (合计) is a
    /// totals row, not a case.
    #[serde(default)]
    pub totals_words: Vec<String>,
    /// A row whose case-number cell or first non-empty cell starts with one of these
    /// (填表人, 审核人：) is a sign-off or note row, not a case.
    #[serde(default)]
    pub signoff_words: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUnit {
    pub suffix: String,
    pub factor: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeaderUnit {
    pub marker: String,
    pub factor: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub vocabulary: Vec<RawTerm>,
    #[serde(default)]
    pub expansions: Vec<RawExpansion>,
    #[serde(default)]
    pub implies: Vec<RawImplies>,
}

/// `implies = [{ alias = "行政处罚决定书文号", field = "case_type", value = "行政处罚" }]`:
/// a sheet whose column for this field is headed by `alias` and that has no column for
/// `field` has `value` in `field` on every row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawImplies {
    pub alias: String,
    pub field: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTerm {
    pub value: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpansion {
    pub text: String,
    pub values: Vec<String>,
}

/// A value one header alias implies for another field the sheet lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implication {
    /// The alias as written in the pack.
    pub alias: String,
    /// The implied field's canonical name.
    pub field: String,
    /// Its canonical value.
    pub value: String,
}

/// A canonical field.
#[derive(Debug, Clone)]
pub struct Field {
    /// The canonical name (`[a-z_]+`).
    pub name: String,
    /// The Chinese label people read.
    pub label: String,
    /// The type of its values.
    pub ty: FieldType,
    /// Whether every ledger must have it (case_id, agency).
    pub required: bool,
    /// Header texts that map to it, first listed wins.
    pub aliases: Vec<String>,
    /// Canonical values in pack order (enums, and lists with a closed vocabulary).
    pub vocabulary: Vec<String>,
    /// Values some of its aliases imply for other fields (checked at pack load).
    pub implies: Vec<Implication>,
    /// Normalised synonym (and canonical value) → canonical values (one, or several for
    /// an expansion such as 查封扣押).
    lookup: HashMap<String, Vec<String>>,
}

impl Field {
    /// Whether the field has a closed vocabulary.
    pub fn has_vocabulary(&self) -> bool {
        !self.vocabulary.is_empty()
    }

    /// Maps one written value (or list item) to its canonical value(s), `None` when it is
    /// outside the vocabulary.
    pub fn canonical(&self, written: &str) -> Option<&[String]> {
        self.lookup.get(&fold(written)).map(|v| v.as_slice())
    }
}

/// Words and units that turn cell text into values.
#[derive(Debug, Clone)]
pub struct ValueWords {
    true_words: HashMap<String, ()>,
    false_words: HashMap<String, ()>,
    empty_words: HashMap<String, ()>,
    /// The most characters an empty word has.
    empty_word_chars: usize,
    /// The first character of each empty word (folded, lower case).
    empty_starts: Vec<char>,
    /// Characters that separate the items of a list cell.
    pub list_separators: Vec<char>,
    /// Per ASCII character: whether it separates list items (see
    /// [`ValueWords::is_list_separator`]).
    ascii_separators: [bool; 128],
    /// Whether a CJK ideograph is among the separators (none is in the built-in pack).
    ideograph_separators: bool,
    /// (suffix, factor), longest suffix first.
    pub money_units: Vec<(String, f64)>,
    /// Header markers that scale a money column (万元), with their factor.
    pub header_units: Vec<(String, f64)>,
    /// Totals words, folded (see [`fold`]).
    pub totals_words: Vec<String>,
    /// Sign-off and note prefixes, folded.
    pub signoff_words: Vec<String>,
}

impl ValueWords {
    /// Reads a boolean word; `None` when it is not one.
    pub fn boolean(&self, text: &str) -> Option<bool> {
        let k = fold(text).to_lowercase();
        if self.true_words.contains_key(&k) {
            Some(true)
        } else if self.false_words.contains_key(&k) {
            Some(false)
        } else {
            None
        }
    }

    /// Whether a character separates the items of a list cell: a listed separator, or
    /// any white space when a space is one.
    pub fn is_list_separator(&self, c: char) -> bool {
        match u8::try_from(c) {
            Ok(b) if b < 128 => self.ascii_separators[usize::from(b)],
            _ if is_ideograph(c) && !self.ideograph_separators => false,
            _ => {
                self.list_separators.contains(&c)
                    || c.is_whitespace() && self.list_separators.contains(&' ')
            }
        }
    }

    /// Whether a cell's text means "nothing recorded".
    pub fn is_empty_word(&self, text: &str) -> bool {
        // Folding removes whitespace and may compose combining marks, but never leaves
        // fewer characters than the others: a longer text is no empty word, and is
        // not folded (this runs on every text cell).
        // ASCII text (numbers, dates, codes) is NFKC already: it is no empty word unless
        // its first solid character, in lower case, begins one.
        if text.is_ascii() {
            match text.bytes().find(|b| !b.is_ascii_whitespace()) {
                Some(b)
                    if !self
                        .empty_starts
                        .contains(&char::from(b.to_ascii_lowercase())) =>
                {
                    return false
                }
                _ => {}
            }
        }
        let solid = text
            .chars()
            .filter(|c| is_solid(*c))
            .take(self.empty_word_chars + 1)
            .count();
        if solid > self.empty_word_chars {
            return false;
        }
        // A text already NFKC (almost every one) folds to itself without whitespace: it
        // is no empty word unless its first character begins one, and is not folded.
        let first = text.chars().find(|c| !c.is_whitespace());
        if let Some(first) = first.and_then(|c| c.to_lowercase().next()) {
            if !self.empty_starts.contains(&first) && is_nfkc(text) {
                return false;
            }
        }
        self.empty_words.contains_key(&fold(text).to_lowercase())
    }

    /// The factor a header implies for its money column (万元 → 10000), if any.
    pub fn header_factor(&self, header: &str) -> Option<f64> {
        self.header_units
            .iter()
            .find(|(m, _)| header.contains(m.as_str()))
            .map(|(_, f)| *f)
    }
}

/// Whether a character is neither white space nor a combining mark: folding (see
/// [`fold`]) never leaves a text fewer characters than it has of these. The common
/// ranges (ASCII and Latin-1 letters, CJK ideographs) skip the table lookup.
pub fn is_solid(c: char) -> bool {
    if c < '\u{300}' || is_ideograph(c) {
        return !c.is_whitespace();
    }
    !c.is_whitespace() && !unicode_normalization::char::is_combining_mark(c)
}

/// Whether a character is one of the common CJK ideographs (U+4E00–U+9FFF): no
/// decomposition, no combining mark, no white space.
fn is_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Whether a text is NFKC already, by a quick check: ASCII and the common CJK
/// ideographs (with the brackets of case numbers) are, without a table lookup; otherwise
/// the quick-check tables answer (a "maybe" counts as no).
pub fn is_nfkc(s: &str) -> bool {
    let plain = |c: char| c.is_ascii() || is_ideograph(c) || c == '〔' || c == '〕';
    s.chars().all(plain)
        || unicode_normalization::is_nfkc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
}

/// Text folded for matching: NFKC, trimmed, inner white space removed.
pub fn fold(s: &str) -> String {
    // Most ledger text is NFKC already (a quick table check says so): then folding is
    // only removing whitespace, without decomposing every character.
    if is_nfkc(s) {
        return s.chars().filter(|c| !c.is_whitespace()).collect();
    }
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// The key a case number is matched by (duplicates across rows, publication records):
/// trimmed, NFKC-folded, without whitespace, and with the bracket variants around the
/// year (〔〕［］[]【】()（）) written as 〔〕, so `巴市监罚[2022]21号` and `巴市监罚〔2022〕21号`
/// are one key. Outputs show the case number as read, never the key.
pub fn case_key(s: &str) -> String {
    case_key_ref(s).into_owned()
}

/// [`case_key`], borrowing the case number when it is its own key (almost always:
/// already NFKC, no whitespace, the year in 〔〕), so that keying a million cases
/// allocates only for the few written otherwise.
pub fn case_key_ref(s: &str) -> std::borrow::Cow<'_, str> {
    const OPEN: [char; 4] = ['〔', '[', '【', '('];
    const CLOSE: [char; 4] = ['〕', ']', '】', ')'];
    let plain = |c: char| !c.is_whitespace() && !OPEN[1..].contains(&c) && !CLOSE[1..].contains(&c);
    if s.chars().all(plain) && is_nfkc(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    // After NFKC, ［］ and （） are [] and ().
    let chars: Vec<char> = fold(s).chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let year = chars.get(i + 1..i + 5);
        if OPEN.contains(&c)
            && year.is_some_and(|y| y.iter().all(char::is_ascii_digit))
            && chars.get(i + 5).is_some_and(|e| CLOSE.contains(e))
        {
            out.push('〔');
            out.extend(&chars[i + 1..i + 5]);
            out.push('〕');
            i += 6;
            continue;
        }
        out.push(c);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// All canonical fields of a pack.
#[derive(Debug, Clone)]
pub struct FieldSet {
    fields: Vec<Field>,
    by_name: HashMap<String, usize>,
    /// How cell words read as values.
    pub words: ValueWords,
}

/// The fields of `fields.toml`, every problem reported to `issues`.
pub(crate) fn load_fields(raw: RawFields, issues: &mut Issues) -> FieldSet {
    let mut messages = Vec::new();
    let fields = FieldSet::from_raw(raw, &mut messages);
    for m in messages {
        issues.push("fields.toml", None, None, m);
    }
    fields
}

impl FieldSet {
    fn from_raw(raw: RawFields, issues: &mut Vec<String>) -> FieldSet {
        let mut fields = Vec::new();
        let mut by_name = HashMap::new();
        let mut implied: Vec<(usize, Vec<RawImplies>)> = Vec::new();
        for f in raw.field {
            if !f.name.chars().all(|c| c.is_ascii_lowercase() || c == '_') || f.name.is_empty() {
                issues.push(format!("字段名 `{}` 只能由小写字母和 `_` 组成", f.name));
            }
            if by_name.contains_key(&f.name) {
                issues.push(format!("字段 `{}` 定义了两次", f.name));
                continue;
            }
            if f.ty == FieldType::Enum && f.vocabulary.is_empty() {
                issues.push(format!("选项字段 `{}` 没有取值表（vocabulary）", f.name));
            }
            if !matches!(f.ty, FieldType::Enum | FieldType::List) && !f.vocabulary.is_empty() {
                issues.push(format!(
                    "字段 `{}` 的类型是{}，不能有取值表（vocabulary）",
                    f.name,
                    f.ty.label()
                ));
            }
            let mut lookup: HashMap<String, Vec<String>> = HashMap::new();
            let mut vocabulary = Vec::new();
            for t in &f.vocabulary {
                vocabulary.push(t.value.clone());
                lookup.insert(fold(&t.value), vec![t.value.clone()]);
            }
            for t in &f.vocabulary {
                for s in &t.synonyms {
                    lookup
                        .entry(fold(s))
                        .or_insert_with(|| vec![t.value.clone()]);
                }
            }
            for e in &f.expansions {
                if let Some(bad) = e.values.iter().find(|v| !vocabulary.contains(v)) {
                    issues.push(format!(
                        "字段 `{}`：展开项 `{}` 中的 `{bad}` 不在其取值表（vocabulary）中",
                        f.name, e.text
                    ));
                }
                lookup.insert(fold(&e.text), e.values.clone());
            }
            by_name.insert(f.name.clone(), fields.len());
            if !f.implies.is_empty() {
                implied.push((fields.len(), f.implies));
            }
            fields.push(Field {
                name: f.name,
                label: f.label,
                ty: f.ty,
                required: f.required,
                aliases: f.aliases,
                vocabulary,
                implies: Vec::new(),
                lookup,
            });
        }
        // Implications, once every field is known: the alias is one of the field's, the
        // implied field exists (another one, of text or enum type) and the value is in its
        // vocabulary.
        for (i, imps) in implied {
            for m in imps {
                let here = &fields[i];
                let problem = if !here.aliases.iter().any(|a| fold(a) == fold(&m.alias)) {
                    Some(format!("`{}` 不是该字段的别名（aliases）", m.alias))
                } else {
                    match by_name.get(&m.field).map(|&j| &fields[j]) {
                        None => Some(format!("字段 `{}` 不存在", m.field)),
                        Some(t) if t.name == here.name => {
                            Some("字段不能推定自身的取值".to_string())
                        }
                        Some(t) if !matches!(t.ty, FieldType::Enum | FieldType::Text) => Some(
                            format!("字段 `{}` 不是文本或选项（text、enum）类型", m.field),
                        ),
                        Some(t) if t.has_vocabulary() && !t.vocabulary.contains(&m.value) => Some(
                            format!("`{}` 不在 `{}` 的取值表（vocabulary）中", m.value, m.field),
                        ),
                        Some(_) if m.value.trim().is_empty() => Some("推定的取值为空".to_string()),
                        Some(_) => None,
                    }
                };
                match problem {
                    Some(p) => issues.push(format!(
                        "字段 `{}`：推定 {} = {}：{p}",
                        fields[i].name, m.field, m.value
                    )),
                    None => fields[i].implies.push(Implication {
                        alias: m.alias,
                        field: m.field,
                        value: m.value,
                    }),
                }
            }
        }
        let v = raw.values;
        let set = |ws: &[String]| -> HashMap<String, ()> {
            ws.iter().map(|w| (fold(w).to_lowercase(), ())).collect()
        };
        let mut seps = Vec::new();
        for s in &v.list_separators {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => seps.push(c),
                _ => issues.push(format!("列表分隔符 `{s}` 必须是单个字符")),
            }
        }
        let mut money_units: Vec<(String, f64)> = v
            .money_units
            .into_iter()
            .map(|u| (fold(&u.suffix), u.factor))
            .collect();
        money_units.sort_by_key(|(s, _)| std::cmp::Reverse(s.chars().count()));
        FieldSet {
            fields,
            by_name,
            words: ValueWords {
                true_words: set(&v.true_words),
                false_words: set(&v.false_words),
                empty_words: set(&v.empty_words),
                empty_word_chars: v
                    .empty_words
                    .iter()
                    .map(|w| fold(w).to_lowercase().chars().count())
                    .max()
                    .unwrap_or(0),
                empty_starts: {
                    let mut s: Vec<char> = v
                        .empty_words
                        .iter()
                        .filter_map(|w| fold(w).to_lowercase().chars().next())
                        .collect();
                    s.sort_unstable();
                    s.dedup();
                    s
                },
                ascii_separators: std::array::from_fn(|b| {
                    let c = char::from(b as u8);
                    seps.contains(&c) || c.is_whitespace() && seps.contains(&' ')
                }),
                ideograph_separators: seps.iter().any(|c| is_ideograph(*c)),
                list_separators: seps,
                money_units,
                header_units: v
                    .header_units
                    .into_iter()
                    .map(|u| (fold(&u.marker), u.factor))
                    .collect(),
                totals_words: v.totals_words.iter().map(|w| fold(w)).collect(),
                signoff_words: v.signoff_words.iter().map(|w| fold(w)).collect(),
            },
        }
    }

    /// Looks a field up by canonical name.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.by_name.get(name).map(|&i| &self.fields[i])
    }

    /// Every field in pack order.
    pub fn iter(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter()
    }

    /// Every canonical name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// The position of a field in pack order.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod key_tests {
    #[test]
    fn case_keys_fold_brackets_around_the_year_and_spaces() {
        use super::case_key;
        let k = case_key("巴市监罚〔2022〕21号");
        assert_eq!(case_key(" 巴市监罚[2022]21号 "), k);
        assert_eq!(case_key("巴市监罚［2022］21号"), k);
        assert_eq!(case_key("巴市监罚（2022）21 号"), k);
        assert_eq!(case_key("巴市监罚【2022】２１号"), k);
        assert_ne!(case_key("巴市监罚〔2022〕22号"), k);
        // Brackets around anything but a year stay as written.
        assert_eq!(case_key("罚(食)21号"), "罚(食)21号");
        assert_eq!(case_key("[2022"), "[2022");
    }

    #[test]
    fn list_separators_are_the_listed_characters_and_white_space() {
        let pack = crate::RulePack::builtin().expect("pack");
        let w = &pack.fields.words;
        let naive = |c: char| {
            w.list_separators.contains(&c) || c.is_whitespace() && w.list_separators.contains(&' ')
        };
        for c in "、，,；;/ \t\n\r\u{3000}\u{a0}张三李四0aA·-（）".chars() {
            assert_eq!(w.is_list_separator(c), naive(c), "{c:?}");
        }
        for c in (0u32..0x3100)
            .chain(0x4E00..0x4F00)
            .filter_map(char::from_u32)
        {
            assert_eq!(w.is_list_separator(c), naive(c), "{c:?}");
        }
        assert!(w.is_list_separator('、'));
        assert!(!w.is_list_separator('张'));
    }

    #[test]
    fn empty_words_are_known_however_written_and_other_texts_are_not() {
        let pack = crate::RulePack::builtin().expect("pack");
        let words = &pack.fields.words;
        assert!(!words.empty_words.is_empty());
        // Full-width forms of ASCII, as a Chinese keyboard writes them.
        let wide = |t: &str| -> String {
            t.chars()
                .map(|c| match c {
                    '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                    _ => c,
                })
                .collect()
        };
        for w in words.empty_words.keys() {
            for t in [
                w.clone(),
                format!(" {w}\u{3000}"),
                w.to_uppercase(),
                wide(w),
            ] {
                assert!(words.is_empty_word(&t), "{t:?} is an empty word");
            }
        }
        for t in ["李丽江", "巴楚县市场监督管理局", "N", "无锡市", "/2"] {
            assert!(!words.is_empty_word(t), "{t:?} is not an empty word");
        }
    }

    #[test]
    fn a_case_number_that_is_its_own_key_is_borrowed() {
        use super::{case_key_ref, fold};
        use std::borrow::Cow;
        assert!(matches!(
            case_key_ref("巴市监罚〔2022〕21号"),
            Cow::Borrowed(_)
        ));
        // Every other spelling takes the folding path and agrees with it.
        for s in [
            "巴市监罚[2022]21号",
            "巴市监罚〔2022〕２１号",
            "a b",
            "罚(食)21号",
            "〔2022]1号",
        ] {
            assert!(matches!(case_key_ref(s), Cow::Owned(_)), "{s}");
        }
        assert_eq!(case_key_ref("〔2022]1号"), "〔2022〕1号");
        assert_eq!(case_key_ref("a\u{3000}b"), fold("a b"));
    }
}
