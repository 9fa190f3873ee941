//! Rows below the header that are not cases: totals (合计), sign-off (填表人：…) and
//! note (注：…) rows (decisions.md, "Totals, signature and note rows are not cases").
//! The words are data in the pack's `fields.toml` (`totals_words`, `signoff_words`).

use crate::cell::Cell;
use caseaudit_rules::{fold, ValueWords};

/// At most this many characters of the row's text are quoted in a reason.
const QUOTE_CHARS: usize = 20;

fn quoted(text: &str) -> String {
    if text.chars().count() > QUOTE_CHARS {
        format!("{}…", text.chars().take(QUOTE_CHARS).collect::<String>())
    } else {
        text.to_string()
    }
}

/// What kind of non-case text a folded cell holds, as a reason people read.
fn classify(folded: &str, shown: &str, words: &ValueWords) -> Option<String> {
    if folded.is_empty() {
        return None;
    }
    if words.totals_words.iter().any(|w| w == folded) {
        return Some(format!("合计行（「{}」），不是案件", quoted(shown)));
    }
    if words
        .signoff_words
        .iter()
        .any(|w| !w.is_empty() && folded.starts_with(w.as_str()))
    {
        return Some(format!("签字或说明行（「{}」），不是案件", quoted(shown)));
    }
    None
}

/// Whether a row is not a case, and why (Chinese, for `run.inputs[].rejected_rows`).
///
/// `case_cell` is the text of the row's case-number cell (empty when the sheet has no
/// case-number column or the cell is empty) and `first_cell` the text of its first
/// non-empty cell. Spaces are removed (and full-width forms folded) before comparing.
/// A row is not a case when its case-number cell, or else (the case-number cell being
/// empty: the row holds no case number) its first non-empty cell, is a totals word or
/// starts with a sign-off word. A 合计 merged across 序号 and 案件编号 fills both cells
/// and is caught by the first test.
pub fn non_case_row(case_cell: &str, first_cell: &str, words: &ValueWords) -> Option<String> {
    let case = fold(case_cell);
    if let Some(reason) = classify(&case, case_cell.trim(), words) {
        return Some(reason);
    }
    if !case.is_empty() {
        return None;
    }
    classify(&fold(first_cell), first_cell.trim(), words)
}

/// [`non_case_row`] on a row of cells; `case_col` is the case-number column, if any.
pub fn non_case_cells(
    cells: &[Cell],
    case_col: Option<usize>,
    words: &ValueWords,
) -> Option<String> {
    let case = case_col
        .and_then(|c| cells.get(c))
        .map(Cell::display)
        .unwrap_or_default();
    let first = cells
        .iter()
        .find(|c| !c.is_empty())
        .map(Cell::display)
        .unwrap_or_default();
    non_case_row(&case, &first, words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseaudit_rules::RulePack;

    fn words() -> ValueWords {
        RulePack::builtin().expect("pack").fields.words
    }

    #[test]
    fn totals_rows_are_not_cases() {
        let w = words();
        // 合计 merged across 序号 and 案件编号: both cells hold it.
        assert!(non_case_row("合计", "合计", &w).is_some());
        // 合计 in 序号 only, the case-number cell empty.
        assert!(non_case_row("", "合 计", &w).is_some());
        assert!(non_case_row("", "本页小计", &w).is_some());
        assert!(non_case_row(" 总 计 ", "1", &w).is_some());
        let r = non_case_row("", "合计", &w).expect("totals");
        assert!(r.contains("合计行"), "{r}");
        // Not a totals word: a case with DQ-001, or an ordinary case.
        assert_eq!(non_case_row("", "合计罚款", &w), None);
        assert_eq!(non_case_row("", "12", &w), None);
        // The row holds a case number: a case, whatever its first cell says.
        assert_eq!(non_case_row("巴市监罚〔2022〕1号", "合计", &w), None);
    }

    #[test]
    fn signoff_and_note_rows_are_not_cases() {
        let w = words();
        for t in [
            "填表人：张三    审核人：李四",
            "填 报 人:王五",
            "制表人",
            "审核人：李四",
            "负责人:王五",
            "填报说明：1. 本表按季度填报",
            "注：金额单位为元",
            "说明：无",
        ] {
            let r = non_case_row("", t, &w).unwrap_or_else(|| panic!("{t}"));
            assert!(r.contains("签字或说明行"), "{r}");
        }
        // 审核人 needs its colon: a reviewer's name column is data.
        assert_eq!(non_case_row("", "审核人员张三", &w), None);
        assert_eq!(non_case_row("", "注册资本", &w), None);
        assert_eq!(
            non_case_row("巴市监罚〔2022〕1号", "填表人：张三", &w),
            None
        );
        assert!(non_case_row("填表人：张三", "1", &w).is_some());
    }

    #[test]
    fn cells_give_the_case_number_and_the_first_non_empty_cell() {
        let w = words();
        let row = vec![
            Cell::Empty,
            Cell::Text("合计".into()),
            Cell::Empty,
            Cell::Number(12000.0),
        ];
        assert!(non_case_cells(&row, Some(2), &w).is_some());
        assert!(non_case_cells(&row, None, &w).is_some());
        let case = vec![
            Cell::Number(1.0),
            Cell::Text("合计".into()),
            Cell::Text("巴市监罚〔2022〕1号".into()),
        ];
        assert_eq!(non_case_cells(&case, Some(2), &w), None);
        assert_eq!(non_case_cells(&[Cell::Number(3.0)], Some(2), &w), None);
    }
}
