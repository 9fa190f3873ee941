//! The cases of a run as typed columns (one per canonical field), with provenance, and
//! their conversion to a polars DataFrame.

use crate::normalize::Typed;
use caseaudit_rules::expr::Val;
use caseaudit_rules::{Calendar, FieldSet, FieldType};
use polars::prelude::*;

/// The values of one canonical field over all cases.
#[derive(Debug, Clone)]
pub enum ColumnData {
    Text(Vec<Option<String>>),
    Date(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
    Money(Vec<Option<f64>>),
    List(Vec<Option<Vec<String>>>),
}

impl ColumnData {
    pub fn new(ty: FieldType, cap: usize) -> ColumnData {
        match ty {
            FieldType::Text | FieldType::Enum => ColumnData::Text(Vec::with_capacity(cap)),
            FieldType::Date => ColumnData::Date(Vec::with_capacity(cap)),
            FieldType::Bool => ColumnData::Bool(Vec::with_capacity(cap)),
            FieldType::Money => ColumnData::Money(Vec::with_capacity(cap)),
            FieldType::List => ColumnData::List(Vec::with_capacity(cap)),
        }
    }

    /// Appends a value (NULL when its type does not fit, which normalisation prevents).
    pub fn push(&mut self, v: Typed) {
        match (self, v) {
            (ColumnData::Text(c), Typed::Text(s)) => c.push(Some(s)),
            (ColumnData::Date(c), Typed::Date(d)) => c.push(Some(d)),
            (ColumnData::Bool(c), Typed::Bool(b)) => c.push(Some(b)),
            (ColumnData::Money(c), Typed::Money(m)) => c.push(Some(m)),
            (ColumnData::List(c), Typed::List(l)) => c.push(Some(l)),
            (ColumnData::Text(c), _) => c.push(None),
            (ColumnData::Date(c), _) => c.push(None),
            (ColumnData::Bool(c), _) => c.push(None),
            (ColumnData::Money(c), _) => c.push(None),
            (ColumnData::List(c), _) => c.push(None),
        }
    }

    pub fn append(&mut self, other: ColumnData) {
        match (self, other) {
            (ColumnData::Text(a), ColumnData::Text(b)) => a.extend(b),
            (ColumnData::Date(a), ColumnData::Date(b)) => a.extend(b),
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.extend(b),
            (ColumnData::Money(a), ColumnData::Money(b)) => a.extend(b),
            (ColumnData::List(a), ColumnData::List(b)) => a.extend(b),
            _ => {}
        }
    }

    /// The value of row `i` for the reference evaluator and evidence.
    pub fn val(&self, i: usize) -> Val {
        match self {
            ColumnData::Text(c) => c[i].clone().map(Val::Text),
            ColumnData::Date(c) => c[i].map(Val::Date),
            ColumnData::Bool(c) => c[i].map(Val::Bool),
            ColumnData::Money(c) => c[i].map(Val::Num),
            ColumnData::List(c) => c[i].clone().map(Val::List),
        }
        .unwrap_or(Val::Null)
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnData::Text(c) => c.len(),
            ColumnData::Date(c) => c.len(),
            ColumnData::Bool(c) => c.len(),
            ColumnData::Money(c) => c.len(),
            ColumnData::List(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A test on a list cell, materialised as a boolean column (HAS_ANY, ALL_IN).
pub type ListTest = Box<dyn Fn(Option<&Vec<String>>) -> bool + Sync>;

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

/// Prefix of the helper columns the engine adds.
pub const WORKDAY_PREFIX: &str = "__wd__";
pub const OUTSIDE_PREFIX: &str = "__oc__";
pub const LEN_PREFIX: &str = "__len__";

impl CaseTable {
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

    pub fn len(&self) -> usize {
        self.row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }

    pub fn append(&mut self, other: CaseTable) {
        for ((_, a), (_, b)) in self.columns.iter_mut().zip(other.columns) {
            a.append(b);
        }
        self.input.extend(other.input);
        self.row.extend(other.row);
    }

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

    /// Builds the DataFrame the evaluator runs on: one column per field, plus for each
    /// date field its work-day ordinal and an "outside the calendar" flag, and for each
    /// list its length. `list_predicates` adds one boolean column per list predicate.
    pub fn to_dataframe(
        &self,
        calendar: &Calendar,
        list_predicates: &[ListPredicate],
    ) -> PolarsResult<DataFrame> {
        let (start, table) = calendar.ordinal_table();
        let ordinal = |d: i32| -> Option<i32> {
            let i = d.checked_sub(start)?;
            if i < 0 {
                return None;
            }
            table.get(i as usize).copied().filter(|v| *v >= 0)
        };
        let mut cols: Vec<Column> = Vec::new();
        for (name, data) in &self.columns {
            let n: PlSmallStr = name.as_str().into();
            match data {
                ColumnData::Text(v) => cols.push(Column::new(n, v)),
                ColumnData::Bool(v) => cols.push(Column::new(n, v)),
                ColumnData::Money(v) => cols.push(Column::new(n, v)),
                ColumnData::Date(v) => {
                    cols.push(Column::new(n, v).cast(&DataType::Date)?);
                    let ords: Vec<Option<i32>> = v.iter().map(|d| d.and_then(ordinal)).collect();
                    let outside: Vec<bool> = v
                        .iter()
                        .zip(&ords)
                        .map(|(d, o)| d.is_some() && o.is_none())
                        .collect();
                    cols.push(Column::new(format!("{WORKDAY_PREFIX}{name}").into(), ords));
                    cols.push(Column::new(
                        format!("{OUTSIDE_PREFIX}{name}").into(),
                        outside,
                    ));
                }
                ColumnData::List(v) => {
                    let joined: Vec<Option<String>> =
                        v.iter().map(|l| l.as_ref().map(|l| l.join("、"))).collect();
                    let lens: Vec<Option<i32>> = v
                        .iter()
                        .map(|l| l.as_ref().map(|l| l.len() as i32))
                        .collect();
                    cols.push(Column::new(n, joined));
                    cols.push(Column::new(format!("{LEN_PREFIX}{name}").into(), lens));
                    for (col, field, pred) in list_predicates {
                        if field == name {
                            let vals: Vec<bool> = v.iter().map(|l| pred(l.as_ref())).collect();
                            cols.push(Column::new(col.as_str().into(), vals));
                        }
                    }
                }
            }
        }
        DataFrame::new(self.len(), cols)
    }
}

impl CaseTable {
    /// The canonical cases as a DataFrame: one column per field (lists joined with `、`),
    /// and where each came from (`__file`, `__sheet`, `__row`).
    pub fn to_canonical_dataframe(
        &self,
        inputs: &[crate::model::InputSummary],
    ) -> PolarsResult<DataFrame> {
        let mut cols: Vec<Column> = Vec::new();
        for (name, data) in &self.columns {
            let n: PlSmallStr = name.as_str().into();
            cols.push(match data {
                ColumnData::Text(v) => Column::new(n, v),
                ColumnData::Bool(v) => Column::new(n, v),
                ColumnData::Money(v) => Column::new(n, v),
                ColumnData::Date(v) => Column::new(n, v).cast(&DataType::Date)?,
                ColumnData::List(v) => {
                    let joined: Vec<Option<String>> =
                        v.iter().map(|l| l.as_ref().map(|l| l.join("、"))).collect();
                    Column::new(n, joined)
                }
            });
        }
        let at = |i: &u32| inputs.get(*i as usize);
        let files: Vec<String> = self
            .input
            .iter()
            .map(|i| at(i).map(|x| x.file.clone()).unwrap_or_default())
            .collect();
        let sheets: Vec<String> = self
            .input
            .iter()
            .map(|i| at(i).map(|x| x.sheet.clone()).unwrap_or_default())
            .collect();
        cols.push(Column::new("__file".into(), files));
        cols.push(Column::new("__sheet".into(), sheets));
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
