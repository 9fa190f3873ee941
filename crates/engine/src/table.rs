//! The cases of a run as typed columns (one per canonical field), with provenance, and
//! their conversion to a polars DataFrame.

use crate::normalize::Typed;
use caseaudit_rules::expr::Val;
use caseaudit_rules::spelling::workday_column;
use caseaudit_rules::{Calendar, FieldSet, FieldType};
use polars::prelude::*;

/// Texts of one column. A column of few distinct texts (agencies, case types,
/// channels…) keeps each once and a four-byte code per case; any other stores its texts
/// end to end, one buffer and an end offset per value, so that a million cells are
/// three allocations, not a million.
#[derive(Debug, Clone)]
pub struct TextColumn(Texts);

#[derive(Debug, Clone)]
enum Texts {
    Plain(Plain),
    Dict(Dict),
}

impl Default for TextColumn {
    fn default() -> Self {
        TextColumn(Texts::Dict(Dict::default()))
    }
}

/// Texts end to end.
#[derive(Debug, Clone, Default)]
struct Plain {
    bytes: String,
    /// End of each value in `bytes` (its start is the previous end).
    ends: Ends,
    valid: Vec<bool>,
}

/// Distinct texts and a code per value ([`NULL_CODE`] for NULL).
#[derive(Debug, Clone, Default)]
struct Dict {
    values: Vec<String>,
    index: PlHashMap<String, u32>,
    codes: Vec<u32>,
}

const NULL_CODE: u32 = u32::MAX;

/// The most distinct texts a column keeps as a dictionary: past it the column is
/// stored end to end.
const DICT_MAX: usize = 4096;

/// Distinct texts past which a column whose values were almost all new leaves the
/// dictionary.
const DICT_EARLY: usize = 1024;

impl Plain {
    fn with_capacity(n: usize, bytes: usize) -> Plain {
        Plain {
            bytes: String::with_capacity(bytes),
            ends: Ends::with_capacity(n, bytes),
            valid: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, v: Option<&str>) {
        if let Some(t) = v {
            self.bytes.push_str(t);
        }
        self.ends.push(self.bytes.len());
        self.valid.push(v.is_some());
    }

    fn get(&self, i: usize) -> Option<&str> {
        if !*self.valid.get(i)? {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends.get(i - 1) };
        self.bytes.get(start..self.ends.get(i))
    }
}

impl Dict {
    fn get(&self, i: usize) -> Option<&str> {
        let c = *self.codes.get(i)?;
        (c != NULL_CODE).then(|| self.values[c as usize].as_str())
    }

    /// The code of a text, added if new and there is room.
    fn code(&mut self, t: &str) -> Option<u32> {
        if let Some(&c) = self.index.get(t) {
            return Some(c);
        }
        if self.values.len() >= DICT_MAX {
            return None;
        }
        let c = self.values.len() as u32;
        self.values.push(t.to_string());
        self.index.insert(t.to_string(), c);
        Some(c)
    }

    /// Whether a new text may join the dictionary: not when it is full, nor when nine
    /// in ten values so far were new (case numbers, names: every chunk of them would
    /// fill it before it gives up).
    fn room(&self) -> bool {
        let n = self.values.len();
        n < DICT_MAX && (n < DICT_EARLY || n * 10 <= self.codes.len() * 9)
    }

    /// The bytes its values take end to end.
    fn text_bytes(&self) -> usize {
        self.codes
            .iter()
            .filter(|&&c| c != NULL_CODE)
            .map(|&c| self.values[c as usize].len())
            .sum()
    }

    fn to_plain(&self, extra: usize) -> Plain {
        let mut p = Plain::with_capacity(self.codes.len() + extra, self.text_bytes() + extra * 8);
        for i in 0..self.codes.len() {
            p.push(self.get(i));
        }
        p
    }
}

/// End offsets of a column's texts: four bytes each while the column holds less than
/// 4 GiB of text (always, for ledgers), eight past that.
#[derive(Debug, Clone)]
enum Ends {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Default for Ends {
    fn default() -> Self {
        Ends::Narrow(Vec::new())
    }
}

impl Ends {
    fn with_capacity(n: usize, bytes: usize) -> Ends {
        if u32::try_from(bytes).is_ok() {
            Ends::Narrow(Vec::with_capacity(n))
        } else {
            Ends::Wide(Vec::with_capacity(n))
        }
    }

    fn push(&mut self, end: usize) {
        match self {
            Ends::Narrow(v) => match u32::try_from(end) {
                Ok(e) => v.push(e),
                Err(_) => {
                    let mut wide: Vec<u64> = v.iter().map(|&e| u64::from(e)).collect();
                    wide.push(end as u64);
                    *self = Ends::Wide(wide);
                }
            },
            Ends::Wide(v) => v.push(end as u64),
        }
    }

    fn get(&self, i: usize) -> usize {
        match self {
            Ends::Narrow(v) => v[i] as usize,
            Ends::Wide(v) => v[i] as usize,
        }
    }

    fn len(&self) -> usize {
        match self {
            Ends::Narrow(v) => v.len(),
            Ends::Wide(v) => v.len(),
        }
    }
}

/// Separates a list's items inside a [`TextColumn`] (never inside an item: it is a
/// control character, and list items are trimmed text).
const ITEM_SEP: char = '\u{1f}';

impl TextColumn {
    /// An empty column with room for `n` values.
    pub fn with_capacity(n: usize) -> TextColumn {
        TextColumn(Texts::Dict(Dict {
            codes: Vec::with_capacity(n),
            ..Dict::default()
        }))
    }

    /// Appends a value (None for NULL).
    pub fn push(&mut self, v: Option<&str>) {
        match &mut self.0 {
            Texts::Plain(p) => p.push(v),
            Texts::Dict(d) => match v {
                None => d.codes.push(NULL_CODE),
                Some(t) => match d
                    .index
                    .get(t)
                    .copied()
                    .or_else(|| d.room().then(|| d.code(t))?)
                {
                    Some(c) => d.codes.push(c),
                    None => {
                        let mut p = d.to_plain(d.codes.capacity() - d.codes.len());
                        p.push(v);
                        self.0 = Texts::Plain(p);
                    }
                },
            },
        }
    }

    fn push_items(&mut self, items: Option<&[String]>) {
        match items {
            None => self.push(None),
            Some(items) => self.push_pieces(items.iter().map(String::as_str)),
        }
    }

    /// Appends a list value from its items (NULL when there are none), joined as
    /// stored without gathering them first.
    pub fn push_pieces<'a>(&mut self, items: impl Iterator<Item = &'a str>) {
        let mut items = items.peekable();
        let Some(first) = items.next() else {
            return self.push(None);
        };
        match &mut self.0 {
            Texts::Plain(p) => {
                push_item(first, &mut p.bytes);
                for it in items {
                    p.bytes.push(ITEM_SEP);
                    push_item(it, &mut p.bytes);
                }
                p.ends.push(p.bytes.len());
                p.valid.push(true);
            }
            Texts::Dict(_) if items.peek().is_none() && !first.contains(ITEM_SEP) => {
                self.push(Some(first))
            }
            Texts::Dict(_) => {
                let mut joined = String::new();
                push_item(first, &mut joined);
                for it in items {
                    joined.push(ITEM_SEP);
                    push_item(it, &mut joined);
                }
                self.push(Some(&joined));
            }
        }
    }

    /// Appends `t` if the column keeps it in its dictionary already, and says whether
    /// it did: a repeated text costs one lookup.
    pub fn push_known(&mut self, t: &str) -> bool {
        match &mut self.0 {
            Texts::Dict(d) => match d.index.get(t) {
                Some(&c) => {
                    d.codes.push(c);
                    true
                }
                None => false,
            },
            Texts::Plain(_) => false,
        }
    }

    /// The value of row `i` (None for NULL).
    pub fn get(&self, i: usize) -> Option<&str> {
        match &self.0 {
            Texts::Plain(p) => p.get(i),
            Texts::Dict(d) => d.get(i),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.0 {
            Texts::Plain(p) => p.ends.len(),
            Texts::Dict(d) => d.codes.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The columns `parts` end to end, each allocation made once at its final size
    /// (growing by appends would hold the old and the new buffer at once): a dictionary
    /// when the parts' texts together are few enough, else end to end.
    fn concat(parts: Vec<TextColumn>) -> TextColumn {
        let n: usize = parts.iter().map(TextColumn::len).sum();
        let dicts: Option<Vec<&Dict>> = parts
            .iter()
            .map(|p| match &p.0 {
                Texts::Dict(d) => Some(d),
                Texts::Plain(_) => None,
            })
            .collect();
        if let Some(dicts) = dicts {
            let mut out = Dict {
                codes: Vec::with_capacity(n),
                ..Dict::default()
            };
            let fits = dicts.iter().all(|d| {
                let map: Option<Vec<u32>> = d.values.iter().map(|v| out.code(v)).collect();
                match map {
                    Some(map) => {
                        out.codes.extend(d.codes.iter().map(|&c| {
                            if c == NULL_CODE {
                                NULL_CODE
                            } else {
                                map[c as usize]
                            }
                        }));
                        true
                    }
                    None => false,
                }
            });
            if fits {
                return TextColumn(Texts::Dict(out));
            }
        }
        let bytes: usize = parts
            .iter()
            .map(|p| match &p.0 {
                Texts::Plain(p) => p.bytes.len(),
                Texts::Dict(d) => d.text_bytes(),
            })
            .sum();
        let mut out = Plain::with_capacity(n, bytes);
        for p in parts {
            match p.0 {
                Texts::Plain(p) => {
                    let base = out.bytes.len();
                    out.bytes.push_str(&p.bytes);
                    for k in 0..p.ends.len() {
                        out.ends.push(base + p.ends.get(k));
                    }
                    out.valid.extend(p.valid);
                }
                Texts::Dict(d) => {
                    for i in 0..d.codes.len() {
                        out.push(d.get(i));
                    }
                }
            }
        }
        TextColumn(Texts::Plain(out))
    }

    /// List values `range` as a polars text column, items joined with the separator the
    /// SQL backends split on ([`LIST_SEPARATOR`](caseaudit_rules::spelling::LIST_SEPARATOR)).
    fn joined_series(
        &self,
        name: PlSmallStr,
        range: std::ops::Range<usize>,
    ) -> PolarsResult<Column> {
        let sep = caseaudit_rules::spelling::LIST_SEPARATOR;
        let mut joined = String::new();
        self.polars(name, range, |out, stored| {
            joined.clear();
            for (k, item) in list_items(stored).enumerate() {
                if k > 0 {
                    joined.push_str(sep);
                }
                joined.push_str(item);
            }
            out.append_value(&joined);
        })
    }

    /// Values `range` as a polars column.
    fn series(&self, name: PlSmallStr, range: std::ops::Range<usize>) -> PolarsResult<Column> {
        self.polars(name, range, |out, t| out.append_value(t))
    }

    /// Values `range`, each as `append` writes it, as a polars text column. A
    /// dictionary's texts are written once and picked by code (polars' texts are views
    /// into shared buffers, so picking copies no text).
    fn polars(
        &self,
        name: PlSmallStr,
        range: std::ops::Range<usize>,
        mut append: impl FnMut(&mut StringChunkedBuilder, &str),
    ) -> PolarsResult<Column> {
        let ca = match &self.0 {
            Texts::Dict(d) => {
                let mut values = StringChunkedBuilder::new(name.clone(), d.values.len());
                for v in &d.values {
                    append(&mut values, v);
                }
                let codes: IdxCa = d.codes[range]
                    .iter()
                    .map(|&c| (c != NULL_CODE).then_some(c as IdxSize))
                    .collect();
                values.finish().take(&codes)?
            }
            Texts::Plain(p) => {
                let mut out = StringChunkedBuilder::new(name.clone(), range.len());
                for i in range {
                    match p.get(i) {
                        Some(t) => append(&mut out, t),
                        None => out.append_null(),
                    }
                }
                out.finish()
            }
        };
        Ok(Column::new(name, ca.into_series()))
    }
}

/// Writes one list item to `out`. An item holding the separator (impossible from the
/// normaliser) keeps the list well formed.
fn push_item(it: &str, out: &mut String) {
    if it.contains(ITEM_SEP) {
        out.push_str(&it.replace(ITEM_SEP, " "));
    } else {
        out.push_str(it);
    }
}

/// The items of a list value as stored.
pub fn list_items(stored: &str) -> impl Iterator<Item = &str> {
    stored.split(ITEM_SEP)
}

/// A fixed-size value with one of its values set aside for NULL, so that a column of
/// them needs no separate validity (`Option<i32>` takes eight bytes, `Option<f64>`
/// sixteen).
pub trait Slot: Copy {
    /// The value that stands for NULL.
    const NULL: Self;
    /// Whether a stored value is NULL.
    fn is_null(self) -> bool;
}

impl Slot for i32 {
    /// No date of a ledger is 2³¹ days before 1970.
    const NULL: i32 = i32::MIN;
    fn is_null(self) -> bool {
        self == i32::MIN
    }
}

impl Slot for f64 {
    /// A normalised amount is never NaN.
    const NULL: f64 = f64::NAN;
    fn is_null(self) -> bool {
        self.is_nan()
    }
}

/// A column of [`Slot`] values.
#[derive(Debug, Clone, Default)]
pub struct Slots<T>(Vec<T>);

impl<T: Slot> Slots<T> {
    /// An empty column with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        Slots(Vec::with_capacity(n))
    }

    /// Appends a value (None for NULL).
    pub fn push(&mut self, v: Option<T>) {
        self.0.push(v.unwrap_or(T::NULL));
    }

    /// The value of row `i` (None for NULL or past the end).
    pub fn get(&self, i: usize) -> Option<T> {
        self.0.get(i).copied().filter(|v| !v.is_null())
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Values `range`, NULL as None.
    pub fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = Option<T>> + '_ {
        self.0[range].iter().map(|v| (!v.is_null()).then_some(*v))
    }

    /// Values `range` as a polars column.
    fn column(&self, name: PlSmallStr, range: std::ops::Range<usize>) -> Column
    where
        T: polars::prelude::NumericNative,
        T::PolarsType: polars::prelude::PolarsNumericType<Native = T>,
    {
        let ca: ChunkedArray<T::PolarsType> =
            ChunkedArray::from_iter_options(name, self.range(range));
        Column::new(ca.name().clone(), ca.into_series())
    }

    fn concat(parts: Vec<Slots<T>>) -> Slots<T> {
        let mut out = Vec::with_capacity(parts.iter().map(Slots::len).sum());
        for p in parts {
            out.extend(p.0);
        }
        Slots(out)
    }
}

/// The values of one canonical field over all cases.
#[derive(Debug, Clone)]
pub enum ColumnData {
    /// Text values.
    Text(TextColumn),
    /// Dates, as days since 1970-01-01.
    Date(Slots<i32>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
    /// Amounts of money in yuan.
    Money(Slots<f64>),
    /// Each list's items, in one text per case.
    List(TextColumn),
}

impl ColumnData {
    /// An empty column of a field type, with room for `cap` values.
    pub fn new(ty: FieldType, cap: usize) -> ColumnData {
        match ty {
            FieldType::Text | FieldType::Enum => ColumnData::Text(TextColumn::with_capacity(cap)),
            FieldType::Date => ColumnData::Date(Slots::with_capacity(cap)),
            FieldType::Bool => ColumnData::Bool(Vec::with_capacity(cap)),
            FieldType::Money => ColumnData::Money(Slots::with_capacity(cap)),
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

    /// The columns `parts` (all of one type) end to end, allocated once.
    pub fn concat(ty: FieldType, parts: Vec<ColumnData>) -> ColumnData {
        fn flat<T>(parts: Vec<Vec<T>>) -> Vec<T> {
            let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
            for p in parts {
                out.extend(p);
            }
            out
        }
        let texts = |parts: Vec<ColumnData>| {
            TextColumn::concat(
                parts
                    .into_iter()
                    .filter_map(|p| match p {
                        ColumnData::Text(t) | ColumnData::List(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
            )
        };
        macro_rules! of {
            ($v:ident) => {
                parts
                    .into_iter()
                    .filter_map(|p| match p {
                        ColumnData::$v(v) => Some(v),
                        _ => None,
                    })
                    .collect()
            };
        }
        match ColumnData::new(ty, 0) {
            ColumnData::Text(_) => ColumnData::Text(texts(parts)),
            ColumnData::List(_) => ColumnData::List(texts(parts)),
            ColumnData::Date(_) => ColumnData::Date(Slots::concat(of!(Date))),
            ColumnData::Bool(_) => ColumnData::Bool(flat(of!(Bool))),
            ColumnData::Money(_) => ColumnData::Money(Slots::concat(of!(Money))),
        }
    }

    /// The value of row `i` for the reference evaluator and evidence.
    pub fn val(&self, i: usize) -> Val {
        match self {
            ColumnData::Text(c) => c.get(i).map(|s| Val::Text(s.to_string())),
            ColumnData::Date(c) => c.get(i).map(Val::Date),
            ColumnData::Bool(c) => c[i].map(Val::Bool),
            ColumnData::Money(c) => c.get(i).map(Val::Num),
            ColumnData::List(c) => c
                .get(i)
                .map(|s| Val::List(list_items(s).map(str::to_string).collect())),
        }
        .unwrap_or(Val::Null)
    }

    /// The value of row `i` as evidence JSON (what `self.val(i).to_json()` gives, without
    /// copying a text twice).
    pub fn json(&self, i: usize) -> serde_json::Value {
        match self {
            ColumnData::Text(c) => c.get(i).map_or(serde_json::Value::Null, |s| {
                serde_json::Value::String(s.to_string())
            }),
            _ => self.val(i).to_json(),
        }
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
/// The column of cases.parquet holding each party name folded (`rules sql`'s PUB-009).
pub const PARTY_KEY: &str = "party_key";

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

    /// The tables end to end, field by field: each part is freed as it is copied, so
    /// that the cases are never held twice (one table is moved, not copied).
    pub fn concat(fields: &FieldSet, mut tables: Vec<CaseTable>) -> CaseTable {
        if tables.len() == 1 {
            return tables.pop().unwrap_or_else(|| CaseTable::empty(fields));
        }
        use rayon::prelude::*;
        let mut out = CaseTable::empty(fields);
        let types: Vec<FieldType> = fields.iter().map(|f| f.ty).collect();
        // Field by field, the fields in parallel (a text column re-codes every part
        // into one dictionary).
        let parts: Vec<Vec<ColumnData>> = (0..out.columns.len())
            .map(|fi| {
                tables
                    .iter_mut()
                    .map(|t| std::mem::replace(&mut t.columns[fi].1, ColumnData::new(types[fi], 0)))
                    .collect()
            })
            .collect();
        out.columns
            .par_iter_mut()
            .zip(parts)
            .enumerate()
            .for_each(|(fi, ((_, column), parts))| {
                *column = ColumnData::concat(types[fi], parts);
            });
        for t in tables {
            out.input.extend(t.input);
            out.row.extend(t.row);
        }
        out
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
    /// per field of `fields` (sorted), plus for each date field its work-day ordinal and an "outside the
    /// calendar" flag, and for each list its length. `list_predicates` adds one boolean
    /// column per list predicate.
    pub fn to_dataframe(
        &self,
        calendar: &Calendar,
        list_predicates: &[ListPredicate],
        fields: &[String],
        range: std::ops::Range<usize>,
    ) -> PolarsResult<DataFrame> {
        use rayon::prelude::*;
        // Each field's columns are built on their own, the fields in parallel.
        let per_field: Vec<PolarsResult<Vec<Column>>> = self
            .columns
            .par_iter()
            .filter(|(name, _)| fields.binary_search(name).is_ok())
            .map(|(name, data)| frame_columns(name, data, calendar, list_predicates, range.clone()))
            .collect();
        let mut cols: Vec<Column> = Vec::new();
        for c in per_field {
            cols.extend(c?);
        }
        DataFrame::new(range.len(), cols)
    }
}

/// The frame columns of one field over the rows in `range` (see
/// [`CaseTable::to_dataframe`]).
fn frame_columns(
    name: &str,
    data: &ColumnData,
    calendar: &Calendar,
    list_predicates: &[ListPredicate],
    range: std::ops::Range<usize>,
) -> PolarsResult<Vec<Column>> {
    let mut cols = Vec::new();
    let n: PlSmallStr = name.into();
    match data {
        ColumnData::Text(v) => cols.push(v.series(n, range.clone())?),
        ColumnData::Bool(v) => cols.push(Column::new(n, &v[range.clone()])),
        ColumnData::Money(v) => cols.push(v.column(n, range.clone())),
        ColumnData::Date(v) => {
            cols.push(v.column(n, range.clone()).cast(&DataType::Date)?);
            let ords: Vec<Option<i32>> = v
                .range(range.clone())
                .map(|d| d.and_then(|d| calendar.ordinal_of(d)))
                .collect();
            let outside: Vec<bool> = v
                .range(range.clone())
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
            cols.push(v.joined_series(n, range.clone())?);
            cols.push(Column::new(format!("{LEN_PREFIX}{name}").into(), lens));
            for (col, field, pred) in list_predicates {
                if field == name {
                    let vals: Vec<bool> = range.clone().map(|i| pred(v.get(i))).collect();
                    cols.push(Column::new(col.as_str().into(), vals));
                }
            }
        }
    }
    Ok(cols)
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
            let n: PlSmallStr = name.into();
            cols.push(match data {
                ColumnData::Text(v) => v.series(n, all.clone())?,
                ColumnData::Bool(v) => Column::new(n, v),
                ColumnData::Money(v) => v.column(n, all.clone()),
                ColumnData::Date(v) => v.column(n, all.clone()).cast(&DataType::Date)?,
                ColumnData::List(v) => v.joined_series(n, all.clone())?,
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
        let keyed = |field: &str, key: fn(&str) -> String| -> StringChunked {
            match self.column(field) {
                Some(c) => all.clone().map(|i| c.text(i).map(key)).collect(),
                None => all.clone().map(|_| None::<String>).collect(),
            }
        };
        cols.push(Column::new(
            CASE_KEY.into(),
            keyed("case_id", caseaudit_rules::case_key).into_series(),
        ));
        // The party name as PUB-009 compares it (NFKC, no whitespace), for the same reason.
        cols.push(Column::new(
            PARTY_KEY.into(),
            keyed("party_name", caseaudit_rules::fold).into_series(),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_widen_past_four_gib_of_text() {
        let mut e = Ends::with_capacity(2, 0);
        e.push(3);
        e.push(u32::MAX as usize);
        assert!(matches!(e, Ends::Narrow(_)));
        e.push(u32::MAX as usize + 7);
        assert!(matches!(e, Ends::Wide(_)));
        let got: Vec<usize> = (0..e.len()).map(|i| e.get(i)).collect();
        assert_eq!(got, vec![3, u32::MAX as usize, u32::MAX as usize + 7]);
    }

    #[test]
    fn text_columns_join_end_to_end() {
        let mut a = TextColumn::with_capacity(2);
        a.push(Some("甲"));
        a.push(None);
        let mut b = TextColumn::with_capacity(2);
        b.push(Some(""));
        b.push(Some("乙丙"));
        let c = TextColumn::concat(vec![a, TextColumn::default(), b]);
        let got: Vec<Option<&str>> = (0..c.len()).map(|i| c.get(i)).collect();
        assert_eq!(got, vec![Some("甲"), None, Some(""), Some("乙丙")]);
        assert!(matches!(c.0, Texts::Dict(_)));
    }

    /// A column of `n` texts, `distinct` of them different, with a NULL every 7th.
    fn column(n: usize, distinct: usize, tag: &str) -> (TextColumn, Vec<Option<String>>) {
        let mut c = TextColumn::with_capacity(n);
        let mut expected = Vec::new();
        for i in 0..n {
            let v = (i % 7 != 3).then(|| format!("{tag}{}", i % distinct));
            c.push(v.as_deref());
            expected.push(v);
        }
        (c, expected)
    }

    /// A column of `distinct` texts, each `times` in a row.
    fn repeated(distinct: usize, times: usize, tag: &str) -> (TextColumn, Vec<Option<String>>) {
        let mut c = TextColumn::with_capacity(distinct * times);
        let mut expected = Vec::new();
        for i in 0..distinct * times {
            let v = Some(format!("{tag}{}", i / times));
            c.push(v.as_deref());
            expected.push(v);
        }
        (c, expected)
    }

    #[test]
    fn texts_mostly_new_leave_the_dictionary_early() {
        // Case numbers, names: every text new. The column stops keeping a dictionary
        // long before it is full.
        let (c, expected) = repeated(DICT_EARLY * 2, 1, "号");
        assert!(matches!(c.0, Texts::Plain(_)));
        let got: Vec<Option<String>> = (0..c.len()).map(|i| c.get(i).map(str::to_string)).collect();
        assert_eq!(got, expected);
        // Texts that repeat keep it, however many.
        let (c, _) = repeated(DICT_MAX, 3, "单位");
        assert!(matches!(c.0, Texts::Dict(_)));
    }

    #[test]
    fn many_distinct_texts_leave_the_dictionary_and_read_the_same() {
        let (few, mut expected) = column(10_000, 30, "单位");
        assert!(matches!(few.0, Texts::Dict(_)));
        let (many, e) = column(2 * DICT_MAX, 2 * DICT_MAX, "号");
        assert!(matches!(many.0, Texts::Plain(_)));
        expected.extend(e);
        // Dictionaries that are few each but many together join end to end.
        let (a, e) = repeated(3000, 3, "甲");
        expected.extend(e);
        let (b, e) = repeated(3000, 3, "乙");
        expected.extend(e);
        assert!(matches!((&a.0, &b.0), (Texts::Dict(_), Texts::Dict(_))));
        let c = TextColumn::concat(vec![few, many, a, b]);
        assert!(matches!(c.0, Texts::Plain(_)));
        let got: Vec<Option<String>> = (0..c.len()).map(|i| c.get(i).map(str::to_string)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn cases_parquet_carries_the_keys_sql_compares() {
        let pack = caseaudit_rules::RulePack::builtin().expect("pack");
        let mut t = CaseTable::empty(&pack.fields);
        for (name, c) in &mut t.columns {
            let v = match name.as_str() {
                "case_id" => Some("巴市监罚[2022]21号"),
                "party_name" => Some(" Ａ 公司"),
                _ => None,
            };
            *c = ColumnData::new(pack.fields.get(name).expect("field").ty, 1);
            c.push(v.map_or(Typed::Null, |v| Typed::Text(v.into())));
        }
        t.row = vec![2];
        t.input = vec![0];
        let df = t.to_canonical_dataframe(&[]).expect("frame");
        let text = |c: &str| {
            df.column(c)
                .expect("column")
                .str()
                .expect("text")
                .get(0)
                .map(str::to_string)
        };
        assert_eq!(text(CASE_KEY).as_deref(), Some("巴市监罚〔2022〕21号"));
        assert_eq!(text(PARTY_KEY).as_deref(), Some("A公司"));
    }
}
