//! A spreadsheet cell as read, before it has a type.

use caseaudit_rules::Day;

/// One raw cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text as written.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean cell.
    Bool(bool),
    /// A date-formatted cell, already converted (1900 or 1904 system).
    Date(Day),
    /// An Excel error value such as `#VALUE!`.
    Error(String),
}

impl Cell {
    /// Whether the cell holds nothing (empty, or text of only white space).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person would read it.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => caseaudit_rules::spelling::number(*n),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Cell::Date(d) => caseaudit_rules::calendar::format_day(*d),
            Cell::Error(e) => e.clone(),
        }
    }
}

/// Column letters as Excel shows them (0 → A, 26 → AA).
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A sheet as read: rows of cells with their 1-based row numbers.
#[derive(Debug, Clone)]
pub struct RawSheet {
    /// The ledger file.
    pub file: String,
    /// The sheet (empty for a CSV file).
    pub sheet: String,
    /// (row number as the spreadsheet shows it, cells)
    pub rows: Vec<(u32, Vec<Cell>)>,
    /// Whether numbers in date columns use the 1904 system.
    pub date1904: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }
}
