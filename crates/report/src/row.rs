//! One finding as a row of a table people open. findings.csv and the 问题清单 sheet of
//! findings.xlsx start with the same columns, projected here once; each adds its own
//! columns after them (the evidence; the basis and rectification).

use caseaudit_engine::Finding;
use std::borrow::Cow;

/// The columns every table of findings starts with, in order.
pub const FINDING_COLUMNS: [&str; 12] = [
    "文件",
    "工作表",
    "行号",
    "列",
    "案件编号",
    "执法单位",
    "规则编号",
    "制度",
    "严重程度",
    "问题",
    "说明",
    "扣分",
];

/// A cell of a finding row: text, or a number a spreadsheet should hold as a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Text (empty when the finding has no value there).
    Text(Cow<'a, str>),
    /// A whole number (the row, the deduction).
    Number(u32),
}

impl Cell<'_> {
    /// The cell as text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Number(n) => Cow::Owned(n.to_string()),
        }
    }
}

/// What the 列 column shows for a finding about a whole row; a finding about one cell
/// (DQ-003) always shows that cell's column letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowColumns {
    /// Nothing (findings.csv).
    Blank,
    /// The letters of the cells the finding points at, joined by 、 (findings.xlsx).
    Cells,
}

/// The cells of [`FINDING_COLUMNS`] for one finding.
pub fn finding_cells(f: &Finding, columns: RowColumns) -> [Cell<'_>; 12] {
    fn text(s: &str) -> Cell<'_> {
        Cell::Text(Cow::Borrowed(s))
    }
    fn opt(s: &Option<String>) -> Cell<'_> {
        text(s.as_deref().unwrap_or(""))
    }
    let column = match (&f.source.column, columns) {
        (Some(c), _) => text(c),
        (None, RowColumns::Blank) => text(""),
        (None, RowColumns::Cells) => Cell::Text(Cow::Owned(f.cells.join("、"))),
    };
    [
        text(&f.source.file),
        text(&f.source.sheet),
        Cell::Number(f.source.row),
        column,
        opt(&f.case_id),
        opt(&f.agency),
        text(&f.rule_id),
        text(f.system.label()),
        text(f.severity.label()),
        text(&f.title),
        text(&f.message),
        if f.veto {
            text("一票否决")
        } else {
            Cell::Number(f.deduction)
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::finding;
    use caseaudit_rules::{Severity, System};

    #[test]
    fn one_projection_with_the_row_columns_chosen() {
        let mut f = finding(
            "台账.xlsx",
            7,
            "A-1",
            "某局",
            "PUB-001",
            System::Publication,
            Severity::Major,
            &["A", "C"],
        );
        let texts = |f: &Finding, c: RowColumns| -> Vec<String> {
            finding_cells(f, c)
                .iter()
                .map(|c| c.text().into_owned())
                .collect()
        };
        let csv = texts(&f, RowColumns::Blank);
        let xlsx = texts(&f, RowColumns::Cells);
        assert_eq!(csv[3], "");
        assert_eq!(xlsx[3], "A、C");
        for i in (0..FINDING_COLUMNS.len()).filter(|i| *i != 3) {
            assert_eq!(csv[i], xlsx[i], "{}", FINDING_COLUMNS[i]);
        }
        assert_eq!(
            &csv[..3],
            &["台账.xlsx".to_string(), String::new(), "7".into()]
        );
        assert_eq!(&csv[7..9], &["行政执法公示".to_string(), "较重".into()]);
        assert_eq!(finding_cells(&f, RowColumns::Cells)[11], Cell::Number(5));
        f.veto = true;
        f.source.column = Some("B".into());
        let cells = finding_cells(&f, RowColumns::Cells);
        assert_eq!(cells[3].text(), "B");
        assert_eq!(finding_cells(&f, RowColumns::Blank)[3].text(), "B");
        assert_eq!(cells[11].text(), "一票否决");
    }
}
