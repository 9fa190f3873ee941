//! Finding the header row(s) of a sheet and mapping headers to canonical fields.

use crate::cell::{column_letter, Cell, RawSheet};
use crate::model::{ColumnMapping, Implied};
use caseaudit_rules::fold;
use caseaudit_rules::{FieldSet, FieldType};
use std::collections::HashMap;

/// How many rows from the top are searched for the header.
pub(crate) const HEADER_SEARCH_ROWS: usize = 30;

/// Header text → (field index, priority): the canonical name first, then the aliases in
/// pack order, so that "the alias listed first wins".
pub struct AliasIndex {
    map: HashMap<String, (usize, usize)>,
    /// Aliases long enough to be recognised at the end of a longer header
    /// (`行政处罚决定日期` ends with `处罚决定日期`), longest first.
    suffixes: Vec<(String, usize)>,
}

/// Aliases shorter than this are matched exactly only (`听证`, `文号`).
const MIN_SUFFIX_CHARS: usize = 4;
/// Priority of a suffix match: below every exact alias.
const SUFFIX_PRIORITY: usize = 1000;

/// Folds header text for matching: NFKC, no white space, ASCII lowercase, no `*` marks.
pub fn fold_header(s: &str) -> String {
    fold(s).trim_matches('*').to_lowercase()
}

impl AliasIndex {
    /// Indexes the aliases of every field of the pack.
    pub fn new(fields: &FieldSet) -> AliasIndex {
        let mut map = HashMap::new();
        for (i, f) in fields.iter().enumerate() {
            map.entry(fold_header(&f.name)).or_insert((i, 0));
            for (p, a) in f.aliases.iter().enumerate() {
                map.entry(fold_header(a)).or_insert((i, p + 1));
            }
            map.entry(fold_header(&f.label))
                .or_insert((i, f.aliases.len() + 1));
        }
        let mut suffixes: Vec<(String, usize)> = map
            .iter()
            .filter(|(k, _)| k.chars().count() >= MIN_SUFFIX_CHARS && !k.is_ascii())
            .map(|(k, (f, _))| (k.clone(), *f))
            .collect();
        suffixes.sort_by(|a, b| {
            b.0.chars()
                .count()
                .cmp(&a.0.chars().count())
                .then(a.0.cmp(&b.0))
        });
        AliasIndex { map, suffixes }
    }

    /// Looks a header up; a trailing unit in parentheses (`罚款金额(元)`) may be dropped.
    pub fn lookup(&self, header: &str) -> Option<(usize, usize)> {
        self.lookup_key(header).map(|(f, p, _)| (f, p))
    }

    /// [`AliasIndex::lookup`], with the folded alias (or canonical name or label) that
    /// matched.
    pub fn lookup_key(&self, header: &str) -> Option<(usize, usize, String)> {
        let h = fold_header(header);
        if h.is_empty() {
            return None;
        }
        if let Some(m) = self.map.get(&h) {
            return Some((m.0, m.1, h));
        }
        let base = match h.rfind('(') {
            Some(open) if h.ends_with(')') && open > 0 => &h[..open],
            _ => h.as_str(),
        };
        if let Some(m) = self.map.get(base) {
            return Some((m.0, m.1, base.to_string()));
        }
        self.suffixes
            .iter()
            .find(|(a, _)| base.ends_with(a.as_str()) && base.len() > a.len())
            .map(|(a, f)| (*f, SUFFIX_PRIORITY, a.clone()))
    }
}

/// The header of a sheet and where its data starts.
#[derive(Debug, Clone)]
pub struct Header {
    /// Spreadsheet row numbers of the header row(s).
    pub rows: Vec<u32>,
    /// Index into `RawSheet::rows` of the first data row.
    pub data_start: usize,
    /// How each column was mapped.
    pub columns: Vec<ColumnMapping>,
    /// Field name → column index.
    pub fields: HashMap<String, usize>,
    /// Column index → scale factor for money columns (万元).
    pub scale: HashMap<usize, f64>,
    /// Values the matched aliases imply for fields the sheet lacks (行政处罚决定书文号 →
    /// case_type = 行政处罚); an explicit column always wins, so none of these fields is
    /// in `fields`.
    pub implied: Vec<Implied>,
}

impl Header {
    /// The value implied for an absent field, if any.
    pub fn implied_value(&self, field: &str) -> Option<&str> {
        self.implied
            .iter()
            .find(|m| m.field == field)
            .map(|m| m.value.as_str())
    }
}

fn texts(row: &[Cell]) -> Vec<String> {
    row.iter().map(|c| c.display().trim().to_string()).collect()
}

/// Candidate header texts per column, best first, with the text shown to people.
fn single(row: &[Cell]) -> Vec<(String, Vec<String>)> {
    texts(row)
        .into_iter()
        .map(|t| (t.clone(), vec![t]))
        .collect()
}

fn double(upper: &[Cell], lower: &[Cell]) -> Vec<(String, Vec<String>)> {
    let u = texts(upper);
    let l = texts(lower);
    let n = u.len().max(l.len());
    let mut out = Vec::with_capacity(n);
    let mut group = String::new();
    let at = |v: &[String], c: usize| v.get(c).cloned().unwrap_or_default();
    for c in 0..n {
        let uc = at(&u, c);
        let lc = at(&l, c);
        // Without merge information, a group's text stands only over its first column:
        // carry it right while the lower row has sub-headers.
        let carried = uc.is_empty() && !group.is_empty();
        if !uc.is_empty() {
            group = if lc.is_empty() || uc == lc {
                String::new()
            } else {
                uc.clone()
            };
        }
        let up = if uc.is_empty() {
            group.clone()
        } else {
            uc.clone()
        };
        if lc.is_empty() || up == lc {
            out.push((up.clone(), vec![up]));
        } else if up.is_empty() {
            out.push((lc.clone(), vec![lc]));
        } else {
            // A group label (merged over several columns, so filled into each of them,
            // or carried right) never maps the cells under it on its own (decisions.md):
            // 证件号码 under 当事人 is not the party. An upper cell over one column only
            // may still name its field alone (罚款金额 over a unit line).
            let spans = carried
                || (c > 0 && at(&u, c - 1) == up && !at(&l, c - 1).is_empty())
                || (at(&u, c + 1) == up && !at(&l, c + 1).is_empty());
            let mut cands = vec![format!("{up}{lc}"), lc];
            if !spans {
                cands.push(up.clone());
            }
            out.push((cands[0].clone(), cands));
        }
    }
    out
}

fn resolve(index: &AliasIndex, cands: &[(String, Vec<String>)]) -> Vec<Option<(usize, usize)>> {
    cands
        .iter()
        .map(|(_, cs)| cs.iter().find_map(|c| index.lookup(c)))
        .collect()
}

fn score(matches: &[Option<(usize, usize)>]) -> (usize, bool) {
    let mut seen: Vec<usize> = matches.iter().flatten().map(|m| m.0).collect();
    seen.sort();
    seen.dedup();
    (seen.len(), seen.contains(&0))
}

fn acceptable(s: (usize, bool)) -> bool {
    s.0 >= 3 || (s.0 >= 2 && s.1)
}

/// Finds the header of a sheet; `None` when no row looks like a ledger header.
pub fn detect(sheet: &RawSheet, fields: &FieldSet, index: &AliasIndex) -> Option<Header> {
    let limit = sheet.rows.len().min(HEADER_SEARCH_ROWS);
    let mut best: Option<(usize, usize, bool)> = None; // (score, row index, two rows)
    let mut singles = Vec::with_capacity(limit);
    for r in 0..limit {
        let s = score(&resolve(index, &single(&sheet.rows[r].1)));
        singles.push(s.0);
        let mut here = (s, false);
        if r > 0 {
            // A two-row header: the upper row is itself header-like (not a title row)
            // and joining it to this row recognises more fields than it does alone.
            let d = score(&resolve(
                index,
                &double(&sheet.rows[r - 1].1, &sheet.rows[r].1),
            ));
            let upper = singles[r - 1];
            if acceptable(d) && d.0 >= s.0 && upper > 0 && d.0 > upper {
                here = (d, true);
            }
        }
        let (sc, two) = here;
        if acceptable(sc) && best.is_none_or(|b| sc.0 > b.0) {
            best = Some((sc.0, r, two));
        }
    }
    let (_, r, two) = best?;
    let cands = if two {
        double(&sheet.rows[r - 1].1, &sheet.rows[r].1)
    } else {
        single(&sheet.rows[r].1)
    };
    let matches = resolve(index, &cands);
    let all: Vec<_> = fields.iter().collect();
    // Decide which column wins each field: best alias priority, then leftmost.
    let mut winner: HashMap<usize, (usize, usize)> = HashMap::new();
    for (c, m) in matches.iter().enumerate() {
        if let Some((f, p)) = m {
            let e = winner.entry(*f).or_insert((c, *p));
            if *p < e.1 {
                *e = (c, *p);
            }
        }
    }
    let mut columns = Vec::new();
    let mut by_field = HashMap::new();
    let mut scale = HashMap::new();
    for (c, (shown, _)) in cands.iter().enumerate() {
        if shown.is_empty() && matches[c].is_none() {
            continue;
        }
        let mut mapping = ColumnMapping {
            column: column_letter(c),
            header: shown.clone(),
            field: None,
            note: None,
            scale: None,
            hidden: false,
        };
        if let Some((f, _)) = matches[c] {
            let field = all[f];
            let (wc, _) = winner[&f];
            if wc == c {
                mapping.field = Some(field.name.clone());
                by_field.insert(field.name.clone(), c);
                if field.ty == FieldType::Money {
                    if let Some(k) = fields.words.header_factor(&fold_header(shown)) {
                        mapping.scale = Some(k);
                        scale.insert(c, k);
                    }
                }
            } else {
                mapping.note = Some(format!(
                    "与第 {} 列同为「{}」，按别名优先顺序未采用",
                    column_letter(wc),
                    field.label
                ));
            }
        }
        columns.push(mapping);
    }
    let implied = implications(fields, index, &cands, &winner, &by_field);
    let mut rows = vec![sheet.rows[r].0];
    if two {
        rows.insert(0, sheet.rows[r - 1].0);
    }
    Some(Header {
        rows,
        data_start: r + 1,
        columns,
        fields: by_field,
        scale,
        implied,
    })
}

/// The values implied by the aliases that won their fields, for fields no column maps.
fn implications(
    fields: &FieldSet,
    index: &AliasIndex,
    cands: &[(String, Vec<String>)],
    winner: &HashMap<usize, (usize, usize)>,
    by_field: &HashMap<String, usize>,
) -> Vec<Implied> {
    let mut out: Vec<Implied> = Vec::new();
    for (fi, f) in fields.iter().enumerate() {
        if f.implies.is_empty() {
            continue;
        }
        let Some(&(c, _)) = winner.get(&fi) else {
            continue;
        };
        let Some((shown, cs)) = cands.get(c) else {
            continue;
        };
        let Some(key) = cs
            .iter()
            .find_map(|x| index.lookup_key(x).filter(|m| m.0 == fi).map(|m| m.2))
        else {
            continue;
        };
        for m in &f.implies {
            if fold_header(&m.alias) != key
                || by_field.contains_key(&m.field)
                || out.iter().any(|o| o.field == m.field)
            {
                continue;
            }
            let target = fields.get(&m.field).map(|t| t.label.as_str()).unwrap_or("");
            out.push(Implied {
                field: m.field.clone(),
                value: m.value.clone(),
                because: format!(
                    "「{}」取自「{}」列，且台账没有「{target}」列，全部案件的「{target}」按「{}」处理",
                    f.label,
                    shown.replace(['\r', '\n'], " "),
                    m.value
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseaudit_rules::RulePack;

    #[test]
    fn aliases_exact_folded_with_units_and_suffixes() {
        let pack = RulePack::builtin().expect("pack");
        let idx = AliasIndex::new(&pack.fields);
        let field = |h: &str| {
            idx.lookup(h)
                .map(|(f, _)| pack.fields.iter().nth(f).expect("f").name.clone())
        };
        assert_eq!(field("案件编号").as_deref(), Some("case_id"));
        assert_eq!(field(" 案 件\n编号 ").as_deref(), Some("case_id"));
        assert_eq!(field("decision_date").as_deref(), Some("decision_date"));
        assert_eq!(field("DECISION_DATE").as_deref(), Some("decision_date"));
        assert_eq!(field("罚款金额（万元）").as_deref(), Some("fine_amount"));
        assert_eq!(field("立案日期(yyyy-mm-dd)").as_deref(), Some("filed_date"));
        assert_eq!(field("*案件编号").as_deref(), Some("case_id"));
        assert_eq!(field("行政处罚决定日期").as_deref(), Some("decision_date"));
        assert_eq!(
            field("撤回公示日期").as_deref(),
            Some("publication_withdrawn_date")
        );
        assert_eq!(field("是否申请听证"), None, "short aliases are exact only");
        assert_eq!(field("序号"), None);
        let exact = idx.lookup("决定日期").expect("exact").1;
        let suffix = idx.lookup("行政处罚决定日期").expect("suffix").1;
        assert!(exact < suffix);
    }

    fn text_row(cells: &[&str]) -> Vec<Cell> {
        cells
            .iter()
            .map(|t| {
                if t.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(t.to_string())
                }
            })
            .collect()
    }

    /// The field each column of a two-row header maps to.
    fn mapped(upper: &[&str], lower: &[&str]) -> Vec<Option<String>> {
        let pack = RulePack::builtin().expect("pack");
        let idx = AliasIndex::new(&pack.fields);
        let sheet = RawSheet {
            file: "t.xlsx".into(),
            sheet: "s".into(),
            rows: vec![
                (1, text_row(upper)),
                (2, text_row(lower)),
                (3, text_row(&["巴市监罚〔2022〕1号"])),
            ],
            date1904: false,
        };
        let h = detect(&sheet, &pack.fields, &idx).expect("header");
        assert_eq!(h.rows, vec![1, 2]);
        h.columns.iter().map(|c| c.field.clone()).collect()
    }

    fn detect_one(header: &[&str]) -> Header {
        let pack = RulePack::builtin().expect("pack");
        let idx = AliasIndex::new(&pack.fields);
        let sheet = RawSheet {
            file: "t.csv".into(),
            sheet: "t".into(),
            rows: vec![(1, text_row(header)), (2, text_row(&["x"]))],
            date1904: false,
        };
        detect(&sheet, &pack.fields, &idx).expect("header")
    }

    #[test]
    fn a_decision_number_alias_implies_the_case_type_when_no_column_says_it() {
        for (h, want) in [
            ("行政处罚决定书文号", "行政处罚"),
            ("处罚决定书文号", "行政处罚"),
            ("处罚决定文书号", "行政处罚"),
            ("行政许可决定书文号", "行政许可"),
            ("许可决定书文号", "行政许可"),
        ] {
            let header = detect_one(&[h, "行政相对人名称", "处罚机关", "决定日期"]);
            assert_eq!(header.fields.get("case_id"), Some(&0), "{h}");
            assert_eq!(header.implied_value("case_type"), Some(want), "{h}");
            let m = &header.implied[0];
            assert_eq!(m.field, "case_type");
            assert!(m.because.contains(h), "{}", m.because);
            assert!(m.because.contains("执法类别"), "{}", m.because);
        }
        // An explicit case-type column always wins.
        let header = detect_one(&["行政处罚决定书文号", "执法类别", "处罚机关", "决定日期"]);
        assert!(header.implied.is_empty());
        // Other case-number aliases imply nothing.
        for h in ["案件编号", "决定书文号", "文号"] {
            let header = detect_one(&[h, "当事人", "处罚机关", "决定日期"]);
            assert!(header.implied.is_empty(), "{h}");
        }
        // The alias that won the field decides: 案件编号 listed first beats 行政处罚决定书文号.
        let header = detect_one(&["行政处罚决定书文号", "案件编号", "处罚机关", "决定日期"]);
        assert_eq!(header.fields.get("case_id"), Some(&1));
        assert!(header.implied.is_empty());
    }

    #[test]
    fn a_merged_group_label_alone_never_maps_the_cells_under_it() {
        // 当事人 merged over three columns: the loader fills it into each.
        let got = mapped(
            &["案件编号", "当事人", "当事人", "当事人", "决定日期"],
            &["案件编号", "名称", "类型", "证件号码", "决定日期"],
        );
        let want = [
            Some("case_id"),
            Some("party_name"),
            Some("party_type"),
            None,
            Some("decision_date"),
        ];
        assert_eq!(got, want.map(|w| w.map(String::from)).to_vec());
    }

    #[test]
    fn a_group_carried_right_without_merge_information_maps_no_cell_alone() {
        // A CSV or an unmerged sheet: the group's text stands over its first column only.
        let got = mapped(
            &["案件编号", "当事人", "", "", "决定日期"],
            &["", "名称", "类型", "证件号码", ""],
        );
        assert_eq!(got[1].as_deref(), Some("party_name"));
        assert_eq!(got[2].as_deref(), Some("party_type"));
        assert_eq!(got[3], None);
        // Sub-headers that are aliases on their own still map (法制审核 + 审核日期).
        let got = mapped(
            &["案件编号", "法制审核", "法制审核", "决定日期"],
            &["案件编号", "审核日期", "审核结果", "决定日期"],
        );
        assert_eq!(got[1].as_deref(), Some("legal_review_date"));
        assert_eq!(got[2].as_deref(), Some("legal_review_result"));
    }
}
