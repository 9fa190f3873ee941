//! The cases of a run as typed columns (one per canonical field), with provenance, and
//! their conversion to a polars DataFrame.

use crate::normalize::Typed;
use caseaudit_rules::expr::Val;
use caseaudit_rules::spelling::workday_column;
use caseaudit_rules::{Calendar, FieldSet, FieldType};
use polars::prelude::*;

/// Texts of one column stored end to end: one buffer and an end offset per value, so
/// that a million cells are three allocations, not a million.
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    bytes: String,
    /// End of each value in `bytes` (its start is the previous end).
    ends: Vec<u64>,
    valid: Vec<bool>,
}

/// Separates a list's items inside a [`TextColumn`] (never inside an item: it is a
/// control character, and list items are trimmed text).
const ITEM_SEP: char = '\u{1f}';

impl TextColumn {
    /// An empty column with room for `n` values.
    pub fn with_capacity(n: usize) -> TextColumn {
        TextColumn {
            bytes: String::with_capacity(n * 8),
            ends: Vec::with_capacity(n),
            valid: Vec::with_capacity(n),
        }
    }

    /// Appends a value (None for NULL).
    pub fn push(&mut self, v: Option<&str>) {
        if let Some(t) = v {
            self.bytes.push_str(t);
        }
        self.ends.push(self.bytes.len() as u64);
        self.valid.push(v.is_some());
    }

    fn push_items(&mut self, items: Option<&[String]>) {
        if let Some(items) = items {
            for (k, it) in items.iter().enumerate() {
                if k > 0 {
                    self.bytes.push(ITEM_SEP);
                }
                // An item holding the separator (impossible from the normaliser) keeps
                // the list well formed.
                if it.contains(ITEM_SEP) {
                    self.bytes.push_str(&it.replace(ITEM_SEP, " "));
                } else {
                    self.bytes.push_str(it);
                }
            }
        }
        self.ends.push(self.bytes.len() as u64);
        self.valid.push(items.is_some());
    }

    /// The value of row `i` (None for NULL).
    pub fn get(&self, i: usize) -> Option<&str> {
        if !*self.valid.get(i)? {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.bytes.get(start..self.ends[i] as usize)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends every value of `other`.
    pub fn append(&mut self, other: TextColumn) {
        let base = self.bytes.len() as u64;
        if self.bytes.is_empty() {
            self.bytes = other.bytes;
        } else {
            self.bytes.push_str(&other.bytes);
        }
        self.ends.extend(other.ends.iter().map(|e| e + base));
        self.valid.extend(other.valid);
    }

    /// List values `range` as a polars text column, items joined with the separator the
    /// SQL backends split on ([`LIST_SEPARATOR`](caseaudit_rules::spelling::LIST_SEPARATOR)).
    fn joined_series(&self, name: PlSmallStr, range: std::ops::Range<usize>) -> Column {
        let sep = caseaudit_rules::spelling::LIST_SEPARATOR;
        let ca: StringChunked = range
            .map(|i| {
                self.get(i)
                    .map(|l| list_items(l).collect::<Vec<_>>().join(sep))
            })
            .collect();
        Column::new(name, ca.into_series())
    }

    /// Values `range` as a polars column.
    fn series(&self, name: PlSmallStr, range: std::ops::Range<usize>) -> Column {
        let ca: StringChunked = range.map(|i| self.get(i)).collect();
        Column::new(name, ca.into_series())
    }
}

/// The items of a list value as stored.
pub fn list_items(stored: &str) -> impl Iterator<Item = &str> {
    stored.split(ITEM_SEP)
}

/// The values of one canonical field over all cases.
#[derive(Debug, Clone)]
pub enum ColumnData {
    /// Text values.
    Text(TextColumn),
    /// Dates, as days since 1970-01-01.
    Date(Vec<Option<i32>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
    /// Amounts of money in yuan.
    Money(Vec<Option<f64>>),
    /// Each list's items, in one text per case.
    List(TextColumn),
}

impl ColumnData {
    /// An empty column of a field type, with room for `cap` values.
    pub fn new(ty: FieldType, cap: usize) -> ColumnData {
        match ty {
            FieldType::Text | FieldType::Enum => ColumnData::Text(TextColumn::with_capacity(cap)),
            FieldType::Date => ColumnData::Date(Vec::with_capacity(cap)),
            FieldType::Bool => ColumnData::Bool(Vec::with_capacity(cap)),
            FieldType::Money => ColumnData::Money(Vec::with_capacity(cap)),
            FieldType::List => ColumnData::List(TextColumn::with_capacity(cap)),
        }
    }

    /// Appends a value (NULL when its type does not fit, which normalisation prevents).
    pub fn push(&mut self, v: Typed) {
        self.push_ref(&v);
    }

    /// Appends a value without taking it (see [`ColumnData::push`]).
    pub fn push_ref(&mut self, v: &Typed) {
        match (self, v) {
            (ColumnData::Text(c), Typed::Text(s)) => c.push(Some(s)),
            (ColumnData::Date(c), Typed::Date(d)) => c.push(Some(*d)),
            (ColumnData::Bool(c), Typed::Bool(b)) => c.push(Some(*b)),
            (ColumnData::Money(c), Typed::Money(m)) => c.push(Some(*m)),
            (ColumnData::List(c), Typed::List(l)) => c.push_items(Some(l)),
            (ColumnData::Text(c), _) => c.push(None),
            (ColumnData::Date(c), _) => c.push(None),
            (ColumnData::Bool(c), _) => c.push(None),
            (ColumnData::Money(c), _) => c.push(None),
            (ColumnData::List(c), _) => c.push_items(None),
        }
    }

    /// Appends every value of `other` (of the same type).
    pub fn append(&mut self, other: ColumnData) {
        match (self, other) {
            (ColumnData::Text(a), ColumnData::Text(b)) => a.append(b),
            (ColumnData::Date(a), ColumnData::Date(b)) => a.extend(b),
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.extend(b),
            (ColumnData::Money(a), ColumnData::Money(b)) => a.extend(b),
            (ColumnData::List(a), ColumnData::List(b)) => a.append(b),
            _ => {}
        }
    }

    /// The value of row `i` for the reference evaluator and evidence.
    pub fn val(&self, i: usize) -> Val {
        match self {
            ColumnData::Text(c) => c.get(i).map(|s| Val::Text(s.to_string())),
            ColumnData::Date(c) => c[i].map(Val::Date),
            ColumnData::Bool(c) => c[i].map(Val::Bool),
            ColumnData::Money(c) => c[i].map(Val::Num),
            ColumnData::List(c) => c
                .get(i)
                .map(|s| Val::List(list_items(s).map(str::to_string).collect())),
        }
        .unwrap_or(Val::Null)
    }

    /// The text of row `i` of a text column, borrowed (None for other types and NULL).
    pub fn text(&self, i: usize) -> Option<&str> {
        match self {
            ColumnData::Text(c) => c.get(i),
            _ => None,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Text(c) => c.len(),
            ColumnData::Date(c) => c.len(),
            ColumnData::Bool(c) => c.len(),
            ColumnData::Money(c) => c.len(),
            ColumnData::List(c) => c.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A test on a list cell, materialised as a boolean column (HAS_ANY, ALL_IN).
/// It is given the list's items (see [`list_items`]), or None for NULL.
pub type ListTest = Box<dyn Fn(Option<&str>) -> bool + Sync>;

/// A list predicate column: (column name, list field, test).
pub type ListPredicate = (String, String, ListTest);

/// Every case of a run: canonical columns in pack order, and where each row came from.
#[derive(Debug, Clone)]
pub struct CaseTable {
    /// (field name, values), in the pack's field order.
    pub columns: Vec<(String, ColumnData)>,
    /// Index into the run's inputs.
    pub input: Vec<u32>,
    /// Spreadsheet row number.
    pub row: Vec<u32>,
}

/// Prefix of the column flagging the values of a date field outside the work-day
/// calendar (the ordinal columns are named by
/// [`workday_column`](caseaudit_rules::spelling::workday_column)).
pub const OUTSIDE_PREFIX: &str = "__oc__";
/// Prefix of the column holding the item count of a list field (`LEN`).
pub const LEN_PREFIX: &str = "__len__";
/// The column of cases.parquet holding each case number's key (`rules sql`'s DQ-002).
pub const CASE_KEY: &str = "case_key";

impl CaseTable {
    /// A table with every field of the pack and no case.
    pub fn empty(fields: &FieldSet) -> CaseTable {
        CaseTable {
            columns: fields
                .iter()
                .map(|f| (f.name.clone(), ColumnData::new(f.ty, 0)))
                .collect(),
            input: Vec::new(),
            row: Vec::new(),
        }
    }

    /// Number of cases.
    pub fn len(&self) -> usize {
        self.row.len()
    }

    /// Whether the table has no case.
    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }

    /// Appends the cases of `other` (a table of the same pack).
    pub fn append(&mut self, other: CaseTable) {
        for ((_, a), (_, b)) in self.columns.iter_mut().zip(other.columns) {
            a.append(b);
        }
        self.input.extend(other.input);
        self.row.extend(other.row);
    }

    /// The values of a field, if the pack has it.
    pub fn column(&self, name: &str) -> Option<&ColumnData> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The value of a field in row `i` (NULL for an unknown field).
    pub fn val(&self, field: &str, i: usize) -> Val {
        self.column(field).map(|c| c.val(i)).unwrap_or(Val::Null)
    }

    /// A row as a case for the reference evaluator.
    pub fn case(&self, i: usize) -> caseaudit_rules::expr::Case {
        self.columns
            .iter()
            .map(|(n, c)| (n.clone(), c.val(i)))
            .filter(|(_, v)| !v.is_null())
            .collect()
    }

    /// Builds the DataFrame the evaluator runs on, for the rows in `range`: one column
    /// per field, plus for each date field its work-day ordinal and an "outside the
    /// calendar" flag, and for each list its length. `list_predicates` adds one boolean
    /// column per list predicate.
    pub fn to_dataframe(
        &self,
        calendar: &Calendar,
        list_predicates: &[ListPredicate],
        range: std::ops::Range<usize>,
    ) -> PolarsResult<DataFrame> {
        let mut cols: Vec<Column> = Vec::new();
        for (name, data) in &self.columns {
            let n: PlSmallStr = name.as_str().into();
            match data {
                ColumnData::Text(v) => cols.push(v.series(n, range.clone())),
                ColumnData::Bool(v) => cols.push(Column::new(n, &v[range.clone()])),
                ColumnData::Money(v) => cols.push(Column::new(n, &v[range.clone()])),
                ColumnData::Date(v) => {
                    let v = &v[range.clone()];
                    cols.push(Column::new(n, v).cast(&DataType::Date)?);
                    let ords: Vec<Option<i32>> = v
                        .iter()
                        .map(|d| d.and_then(|d| calendar.ordinal_of(d)))
                        .collect();
                    let outside: Vec<bool> = v
                        .iter()
                        .zip(&ords)
                        .map(|(d, o)| d.is_some() && o.is_none())
                        .collect();
                    cols.push(Column::new(workday_column(name).into(), ords));
                    cols.push(Column::new(
                        format!("{OUTSIDE_PREFIX}{name}").into(),
                        outside,
                    ));
                }
                ColumnData::List(v) => {
                    let lens: Vec<Option<i32>> = range
                        .clone()
                        .map(|i| v.get(i).map(|l| list_items(l).count() as i32))
                        .collect();
                    cols.push(v.joined_series(n, range.clone()));
                    cols.push(Column::new(format!("{LEN_PREFIX}{name}").into(), lens));
                    for (col, field, pred) in list_predicates {
                        if field == name {
                            let vals: Vec<bool> = range.clone().map(|i| pred(v.get(i))).collect();
                            cols.push(Column::new(col.as_str().into(), vals));
                        }
                    }
                }
            }
        }
        DataFrame::new(range.len(), cols)
    }
}

impl CaseTable {
    /// The canonical cases as a DataFrame: one column per field (lists joined with `、`),
    /// and where each came from (`__file`, `__sheet`, `__row`).
    pub fn to_canonical_dataframe(
        &self,
        inputs: &[crate::model::InputSummary],
    ) -> PolarsResult<DataFrame> {
        let all = 0..self.len();
        let mut cols: Vec<Column> = Vec::new();
        for (name, data) in &self.columns {
            let n: PlSmallStr = name.as_str().into();
            cols.push(match data {
                ColumnData::Text(v) => v.series(n, all.clone()),
                ColumnData::Bool(v) => Column::new(n, v),
                ColumnData::Money(v) => Column::new(n, v),
                ColumnData::Date(v) => Column::new(n, v).cast(&DataType::Date)?,
                ColumnData::List(v) => v.joined_series(n, all.clone()),
            });
        }
        let at = |i: &u32| inputs.get(*i as usize);
        let files: StringChunked = self
            .input
            .iter()
            .map(|i| Some(at(i).map(|x| x.file.as_str()).unwrap_or_default()))
            .collect();
        let sheets: StringChunked = self
            .input
            .iter()
            .map(|i| Some(at(i).map(|x| x.sheet.as_str()).unwrap_or_default()))
            .collect();
        // The key DQ-002 compares (trimmed, NFKC, brackets around the year folded): SQL
        // engines have no NFKC, so `rules sql` reads it from here.
        let keys: StringChunked = match self.column("case_id") {
            Some(ids) => all
                .clone()
                .map(|i| ids.text(i).map(caseaudit_rules::case_key))
                .collect(),
            None => all.clone().map(|_| None::<String>).collect(),
        };
        cols.push(Column::new(CASE_KEY.into(), keys.into_series()));
        cols.push(Column::new("__file".into(), files.into_series()));
        cols.push(Column::new("__sheet".into(), sheets.into_series()));
        cols.push(Column::new("__row".into(), self.row.clone()));
        DataFrame::new(self.len(), cols)
    }

    /// Writes the canonical cases as parquet.
    pub fn write_parquet(
        &self,
        inputs: &[crate::model::InputSummary],
        out: &mut impl std::io::Write,
    ) -> PolarsResult<()> {
        let mut df = self.to_canonical_dataframe(inputs)?;
        ParquetWriter::new(out).finish(&mut df)?;
        Ok(())
    }
}
