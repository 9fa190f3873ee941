//! The prepare stage: one input read, its header mapped onto the pack's fields and its
//! cells normalised into typed columns: a [`Ledger`].
//!
//! Rows go into columns in chunks, normalised in parallel. A CSV is cut into blocks of
//! whole records that the thread pool parses and normalises (no grid of owned cells is
//! ever built); parquet
//! columns are read where they lie; workbook sheets, which calamine hands over as rows
//! of cells, are cut into the same chunks.

use crate::cell::{column_letter, Cell, RawSheet};
use crate::header::{detect, AliasIndex, Header, HEADER_SEARCH_ROWS};
use crate::load::{self, ErrorKind, LoadError};
use crate::model::{InputSummary, NotEvaluated, RejectedRow};
use crate::normalize::{normalize, normalize_str, push_free_list, text_value, Problem, Typed};
use crate::table::{CaseTable, ColumnData};
use caseaudit_rules::{fold, is_solid, ValueWords};
use caseaudit_rules::{Day, Field, FieldType, RuleKind, RulePack};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// Rows normalised together: small enough to spread over cores and keep few records
/// in flight, large enough that a chunk's bookkeeping (and its memo of repeated texts)
/// is negligible.
const CHUNK_ROWS: usize = 65_536;
/// Bytes of a CSV parsed and normalised as one chunk (about 25,000 records of a
/// typical ledger): blocks in flight stay a few tens of MB.
const CSV_BLOCK_BYTES: usize = 8 << 20;
/// The most record bytes gathered to look for a CSV's header in.
const HEAD_BYTES: usize = 64 << 20;

/// A cell that could not be read (a DQ-003 finding to be).
#[derive(Debug, Clone)]
pub(crate) struct CellProblem {
    /// Index of the case in its ledger's table.
    pub row_index: usize,
    pub field: String,
    pub column: usize,
    pub header: String,
    pub raw: String,
    pub problem: String,
}

/// One input sheet, mapped and normalised: what the evaluate stage takes.
pub struct Ledger {
    /// Accounting and mapping of the sheet.
    pub summary: InputSummary,
    /// Its cases.
    pub table: CaseTable,
    pub(crate) problems: Vec<CellProblem>,
    /// Field → column letter, for the cells a finding points at.
    pub columns: HashMap<String, String>,
    /// Whether the sheet has an agency column (or `--agency` filled it).
    pub has_agency: bool,
}

/// One cell as a reader holds it, borrowed where it can be.
#[derive(Debug, Clone, Copy)]
enum CellView<'a> {
    Cell(&'a Cell),
    Str(&'a str),
    Number(f64),
    Bool(bool),
    Date(Day),
    Error(&'a str),
}

impl<'a> CellView<'a> {
    fn is_empty(self) -> bool {
        match self {
            CellView::Cell(c) => c.is_empty(),
            CellView::Str(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// Its text, for cells that are text.
    fn text(self) -> Option<&'a str> {
        match self {
            CellView::Cell(Cell::Text(t)) => Some(t),
            CellView::Str(s) => Some(s),
            _ => None,
        }
    }

    fn owned(self) -> Cow<'a, Cell> {
        match self {
            CellView::Cell(c) => Cow::Borrowed(c),
            CellView::Str(s) => Cow::Owned(Cell::Text(s.to_string())),
            CellView::Number(n) => Cow::Owned(Cell::Number(n)),
            CellView::Bool(b) => Cow::Owned(Cell::Bool(b)),
            CellView::Date(d) => Cow::Owned(Cell::Date(d)),
            CellView::Error(e) => Cow::Owned(Cell::Error(e.to_string())),
        }
    }

    /// The cell as a person reads it.
    fn display(self) -> Cow<'a, str> {
        match self {
            CellView::Str(s) => Cow::Borrowed(s),
            CellView::Cell(Cell::Text(t)) => Cow::Borrowed(t),
            other => Cow::Owned(other.owned().display()),
        }
    }

    fn normalize(self, f: &Field, words: &ValueWords, scale: f64, d1904: bool) -> Norm {
        match self.text() {
            Some(t) => normalize_str(t, f, words, scale, d1904),
            None => normalize(&self.owned(), f, words, scale, d1904),
        }
    }
}

type Norm = (Typed, Option<Problem>);

/// Rows below a header, however a reader holds them.
trait Rows: Sync {
    fn len(&self) -> usize;
    /// The row number a person sees.
    fn number(&self, i: usize) -> u32;
    fn width(&self, i: usize) -> usize;
    fn cell(&self, i: usize, c: usize) -> Option<CellView<'_>>;
}

/// Rows of cells (workbooks).
impl Rows for [(u32, Vec<Cell>)] {
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn number(&self, i: usize) -> u32 {
        self[i].0
    }
    fn width(&self, i: usize) -> usize {
        self[i].1.len()
    }
    fn cell(&self, i: usize, c: usize) -> Option<CellView<'_>> {
        self[i].1.get(c).map(CellView::Cell)
    }
}

/// CSV records with their row numbers, their texts end to end; the first `skip` are
/// not data (the header).
#[derive(Default)]
struct Records {
    rows: Vec<u32>,
    text: String,
    /// End of each field in `text`.
    field_ends: Vec<u32>,
    /// End of each record in `field_ends`.
    record_ends: Vec<u32>,
    skip: usize,
}

impl Records {
    /// Empties the records, keeping their buffers for the next block.
    fn clear(&mut self) {
        self.rows.clear();
        self.text.clear();
        self.field_ends.clear();
        self.record_ends.clear();
        self.skip = 0;
    }

    /// Appends every record of a block. The block's text is checked as UTF-8 once, as
    /// a whole (each field on its own is far slower); only a block that fails is read
    /// again record by record, for the line to report.
    fn read(&mut self, block: &load::CsvBlock) -> Result<(), LoadError> {
        let (rows, fields, records) = (
            self.rows.len(),
            self.field_ends.len(),
            self.record_ends.len(),
        );
        let mut text = std::mem::take(&mut self.text).into_bytes();
        let text_len = text.len();
        text.reserve(block.bytes.len());
        let mut record = csv::ByteRecord::new();
        let mut read = block.records();
        while let Some(row) = read.next_into(&mut record) {
            self.rows.push(row?);
            for f in record.iter() {
                text.extend_from_slice(f);
                self.field_ends.push(text.len() as u32);
            }
            self.record_ends.push(self.field_ends.len() as u32);
        }
        match String::from_utf8(text) {
            Ok(text)
                if self.field_ends[fields..]
                    .iter()
                    .all(|&e| text.is_char_boundary(e as usize)) =>
            {
                self.text = text;
                Ok(())
            }
            Ok(text) => {
                self.read_checked(block, text.into_bytes(), text_len, (rows, fields, records))
            }
            Err(e) => self.read_checked(block, e.into_bytes(), text_len, (rows, fields, records)),
        }
    }

    /// [`Records::read`] for a block that is not UTF-8 throughout: checked record by
    /// record, so that the error names the first line that is not.
    fn read_checked(
        &mut self,
        block: &load::CsvBlock,
        mut text: Vec<u8>,
        text_len: usize,
        (rows, fields, records): (usize, usize, usize),
    ) -> Result<(), LoadError> {
        text.truncate(text_len);
        self.text = String::from_utf8(text).unwrap_or_default();
        self.rows.truncate(rows);
        self.field_ends.truncate(fields);
        self.record_ends.truncate(records);
        let mut record = csv::StringRecord::new();
        let mut read = block.records();
        while let Some(row) = read.next_into(&mut record) {
            self.rows.push(row?);
            for f in record.iter() {
                self.text.push_str(f);
                self.field_ends.push(self.text.len() as u32);
            }
            self.record_ends.push(self.field_ends.len() as u32);
        }
        Ok(())
    }

    /// The fields of record `i` (counting the skipped ones).
    fn record(&self, i: usize) -> impl Iterator<Item = &str> {
        let first = if i == 0 {
            0
        } else {
            self.record_ends[i - 1] as usize
        };
        (first..self.record_ends[i] as usize).map(|f| self.field(f))
    }

    fn field(&self, f: usize) -> &str {
        let start = if f == 0 {
            0
        } else {
            self.field_ends[f - 1] as usize
        };
        &self.text[start..self.field_ends[f] as usize]
    }
}

impl Rows for Records {
    fn len(&self) -> usize {
        self.rows.len() - self.skip
    }
    fn number(&self, i: usize) -> u32 {
        self.rows[i + self.skip]
    }
    fn width(&self, i: usize) -> usize {
        let i = i + self.skip;
        let first = if i == 0 { 0 } else { self.record_ends[i - 1] };
        (self.record_ends[i] - first) as usize
    }
    fn cell(&self, i: usize, c: usize) -> Option<CellView<'_>> {
        let i = i + self.skip;
        let first = if i == 0 {
            0
        } else {
            self.record_ends[i - 1] as usize
        };
        let f = first + c;
        (f < self.record_ends[i] as usize).then(|| CellView::Str(self.field(f)))
    }
}

impl Rows for load::RowBatch {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn number(&self, i: usize) -> u32 {
        self.rows[i].0
    }
    fn width(&self, i: usize) -> usize {
        self.rows[i].1.len()
    }
    fn cell(&self, i: usize, c: usize) -> Option<CellView<'_>> {
        use load::Slot;
        Some(match *self.rows[i].1.get(c)? {
            Slot::Empty => CellView::Cell(&Cell::Empty),
            Slot::Text(a, b) => CellView::Str(self.text(a, b)),
            Slot::Number(n) => CellView::Number(n),
            Slot::Bool(b) => CellView::Bool(b),
            Slot::Date(d) => CellView::Date(d),
            Slot::Error(a, b) => CellView::Error(self.text(a, b)),
        })
    }
}

/// How one sheet's columns become fields: fixed once its header is known.
struct Plan<'a> {
    fields: Vec<&'a Field>,
    words: &'a ValueWords,
    /// Per field: the column it is read from.
    col_of: Vec<Option<usize>>,
    /// Per field: the money scale of its header (万元), else 1.
    scale: Vec<f64>,
    /// Per field: its header as shown in messages.
    shown: Vec<String>,
    /// The header's columns and folded texts (to recognise a header repeated below).
    header_cols: Vec<usize>,
    header_texts: Vec<String>,
    agency: Option<&'a str>,
    date1904: bool,
    /// Per field: the value its header implies when the sheet lacks it.
    implied: Vec<Option<String>>,
    case_col: Option<usize>,
    /// The first characters (folded) of the totals and sign-off words: a row whose
    /// cells start otherwise is a case without further checks.
    non_case_starts: Vec<char>,
}

/// Distinct values a field's memo holds before it is judged: past them, a memo holding
/// more than one value per two rows is dropped.
const MEMO_FLOOR: usize = 1024;

/// Whether a field's values are memoised per chunk (texts and free lists are stored as
/// written, which costs less than a lookup).
fn memoised(f: &Field) -> bool {
    match f.ty {
        FieldType::Text => false,
        FieldType::List => f.has_vocabulary(),
        _ => true,
    }
}

/// One chunk of rows, normalised.
struct Chunk {
    columns: Vec<ColumnData>,
    rows: Vec<u32>,
    problems: Vec<CellProblem>,
    empty: u64,
    rejected: u64,
    rejected_rows: Vec<RejectedRow>,
    notes: Vec<String>,
}

/// The first character of a text after removing spaces and folding (NFKC).
fn first_folded(t: &str) -> Option<char> {
    use unicode_normalization::UnicodeNormalization;
    let c = t.chars().find(|c| !c.is_whitespace())?;
    std::iter::once(c).nfkc().next()
}

impl<'a> Plan<'a> {
    fn new(pack: &'a RulePack, header: &Header, agency: Option<&'a str>, date1904: bool) -> Self {
        let fields: Vec<&Field> = pack.fields.iter().collect();
        let col_of: Vec<Option<usize>> = fields
            .iter()
            .map(|f| header.fields.get(&f.name).copied())
            .collect();
        let scale = col_of
            .iter()
            .map(|c| c.and_then(|c| header.scale.get(&c).copied()).unwrap_or(1.0))
            .collect();
        let shown = fields
            .iter()
            .map(|f| {
                header
                    .columns
                    .iter()
                    .find(|m| m.field.as_deref() == Some(f.name.as_str()))
                    .map(|m| m.header.replace(['\r', '\n'], " "))
                    .unwrap_or_default()
            })
            .collect();
        Plan {
            fields,
            words: &pack.fields.words,
            col_of,
            scale,
            shown,
            header_cols: header
                .columns
                .iter()
                .map(|c| crate::header_col_index(&c.column))
                .collect(),
            header_texts: header.columns.iter().map(|c| fold(&c.header)).collect(),
            agency,
            date1904,
            implied: pack
                .fields
                .iter()
                .map(|f| header.implied_value(&f.name).map(str::to_string))
                .collect(),
            case_col: header.fields.get("case_id").copied(),
            non_case_starts: {
                let words = &pack.fields.words;
                let mut v: Vec<char> = words
                    .totals_words
                    .iter()
                    .chain(&words.signoff_words)
                    .filter_map(|w| first_folded(w))
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            },
        }
    }

    /// Why a row is not a case (a totals, sign-off or note row), if it is not.
    fn non_case<R: Rows + ?Sized>(&self, rows: &R, i: usize) -> Option<String> {
        let could = |t: &str| first_folded(t).is_some_and(|c| self.non_case_starts.contains(&c));
        let case = self
            .case_col
            .and_then(|c| rows.cell(i, c))
            .map(CellView::display)
            .unwrap_or_default();
        if !case.trim().is_empty() && !could(&case) {
            return None;
        }
        let first = (0..rows.width(i))
            .filter_map(|c| rows.cell(i, c))
            .find(|v| !v.is_empty())
            .map(CellView::display)
            .unwrap_or_default();
        if !could(&case) && !could(&first) {
            return None;
        }
        crate::rows::non_case_row(&case, &first, self.words)
    }

    /// A header repeated inside the data (multi-page exports) is not a case. The first
    /// column is compared first so that ordinary rows cost one comparison.
    fn repeats_header<R: Rows + ?Sized>(&self, rows: &R, i: usize) -> bool {
        let same = |c: usize, folded: &str| {
            let cell = rows.cell(i, c).map(CellView::display).unwrap_or_default();
            // The folded text is never shorter than the cell's solid characters.
            let solid = cell.chars().filter(|c| is_solid(*c)).count();
            solid <= folded.chars().count() && fold(&cell) == folded
        };
        match (self.header_cols.first(), self.header_texts.first()) {
            (Some(&c), Some(t)) if same(c, t) => self
                .header_cols
                .iter()
                .zip(&self.header_texts)
                .all(|(&c, t)| same(c, t)),
            _ => false,
        }
    }

    fn chunk<R: Rows + ?Sized>(&self, rows: &R) -> Chunk {
        let mut kept = Vec::with_capacity(rows.len());
        let mut empty = 0u64;
        let mut rejected = 0u64;
        let mut rejected_rows = Vec::new();
        let mut notes = Vec::new();
        for i in 0..rows.len() {
            if (0..rows.width(i)).all(|c| rows.cell(i, c).is_none_or(CellView::is_empty)) {
                empty += 1;
                continue;
            }
            // Totals, sign-off and note rows are not cases.
            if let Some(reason) = self.non_case(rows, i) {
                rejected += 1;
                rejected_rows.push(RejectedRow {
                    row: rows.number(i),
                    reason,
                });
                continue;
            }
            if self.repeats_header(rows, i) {
                rejected += 1;
                notes.push(format!("第 {} 行是重复的表头，未作为案件", rows.number(i)));
                rejected_rows.push(RejectedRow {
                    row: rows.number(i),
                    reason: "重复的表头，不是案件".into(),
                });
                continue;
            }
            kept.push(i);
        }
        let mut columns: Vec<ColumnData> = self
            .fields
            .iter()
            .map(|f| ColumnData::new(f.ty, kept.len()))
            .collect();
        let mut problems = Vec::new();
        // An absent field is filled by --agency or by the value its header implies;
        // otherwise NULL.
        let fills: Vec<Typed> = self
            .fields
            .iter()
            .enumerate()
            .map(|(fi, f)| {
                let fill = if f.name == "agency" {
                    self.agency
                } else {
                    self.implied[fi].as_deref()
                };
                fill.map_or(Typed::Null, |a| Typed::Text(a.to_string()))
            })
            .collect();
        // Repeated texts (the same dates, words and options recur all over a ledger)
        // are read once per chunk and field. Texts and free lists are stored as they
        // are; a field whose values hardly repeat (amounts, say) stops being memoised.
        let mut memos: Vec<Option<polars::prelude::PlHashMap<&str, Norm>>> = self
            .fields
            .iter()
            .map(|f| memoised(f).then(Default::default))
            .collect();
        // Row by row, each row's cells in turn: a record is read once while it is in
        // the cache.
        for (k, &i) in kept.iter().enumerate() {
            for (fi, f) in self.fields.iter().enumerate() {
                let data = &mut columns[fi];
                let Some(c) = self.col_of[fi] else {
                    data.push_ref(&fills[fi]);
                    continue;
                };
                let Some(view) = rows.cell(i, c) else {
                    data.push_ref(&Typed::Null);
                    continue;
                };
                let text = view.text();
                match (text, &mut *data) {
                    // Text: stored as it is (trimmed), without an owned copy; a text the
                    // column holds already is one lookup.
                    (Some(t), ColumnData::Text(col)) if f.ty == FieldType::Text => {
                        if !col.push_known(t) {
                            col.push(text_value(t, self.words));
                        }
                        continue;
                    }
                    (Some(t), ColumnData::List(col)) if !f.has_vocabulary() => {
                        push_free_list(t, self.words, col);
                        continue;
                    }
                    _ => {}
                }
                if memos[fi]
                    .as_ref()
                    .is_some_and(|m| m.len() > MEMO_FLOOR && m.len() > k / 2)
                {
                    memos[fi] = None;
                }
                let fresh;
                let (v, problem) = match (text, &mut memos[fi]) {
                    (Some(t), Some(memo)) => memo.entry(t).or_insert_with(|| {
                        view.normalize(f, self.words, self.scale[fi], self.date1904)
                    }),
                    _ => {
                        fresh = view.normalize(f, self.words, self.scale[fi], self.date1904);
                        &fresh
                    }
                };
                if let Some(p) = problem {
                    problems.push(CellProblem {
                        row_index: k,
                        field: f.name.clone(),
                        column: c,
                        header: self.shown[fi].clone(),
                        raw: view.display().into_owned(),
                        problem: p.clone(),
                    });
                }
                data.push_ref(v);
            }
        }
        problems.sort_by_key(|p| (p.row_index, p.column));
        Chunk {
            columns,
            rows: kept.iter().map(|&i| rows.number(i)).collect(),
            problems,
            empty,
            rejected,
            rejected_rows,
            notes,
        }
    }
}

/// Chunks gathered in order into one ledger.
struct Gather {
    /// Each chunk's columns, joined once all are in.
    parts: Vec<Vec<ColumnData>>,
    rows: Vec<u32>,
    problems: Vec<CellProblem>,
    empty: u64,
    rejected: u64,
    rejected_rows: Vec<RejectedRow>,
    notes: Vec<String>,
}

impl Gather {
    fn new() -> Gather {
        Gather {
            parts: Vec::new(),
            rows: Vec::new(),
            problems: Vec::new(),
            empty: 0,
            rejected: 0,
            rejected_rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn add(&mut self, c: Chunk) {
        let offset = self.rows.len();
        self.problems.extend(c.problems.into_iter().map(|mut p| {
            p.row_index += offset;
            p
        }));
        self.parts.push(c.columns);
        self.rows.extend(c.rows);
        self.empty += c.empty;
        self.rejected += c.rejected;
        self.rejected_rows.extend(c.rejected_rows);
        self.notes.extend(c.notes);
    }

    /// The chunks' columns joined field by field ([`CaseTable::concat`]).
    fn table(&mut self, pack: &RulePack) -> CaseTable {
        let tables = std::mem::take(&mut self.parts)
            .into_iter()
            .map(|columns| CaseTable {
                columns: pack
                    .fields
                    .iter()
                    .map(|f| f.name.clone())
                    .zip(columns)
                    .collect(),
                input: Vec::new(),
                row: Vec::new(),
            })
            .collect();
        let mut table = CaseTable::concat(&pack.fields, tables);
        table.input = vec![0; self.rows.len()];
        table.row = std::mem::take(&mut self.rows);
        table
    }

    fn finish(
        mut self,
        pack: &RulePack,
        header: &Header,
        file: &str,
        sheet: &str,
        agency: Option<&str>,
    ) -> Ledger {
        let fields = &pack.fields;
        let mut notes = std::mem::take(&mut self.notes);
        // A field with a value its header implies is not missing.
        let missing: Vec<String> = fields
            .iter()
            .filter(|f| {
                !header.fields.contains_key(&f.name) && header.implied_value(&f.name).is_none()
            })
            .map(|f| f.name.clone())
            .collect();
        let mut not_evaluated = Vec::new();
        for r in &pack.rules {
            if r.kind != RuleKind::Condition || !r.is_active() {
                continue;
            }
            let absent: Vec<String> = r
                .requires
                .iter()
                .filter(|f| missing.contains(f))
                .cloned()
                .collect();
            if !absent.is_empty() {
                not_evaluated.push(NotEvaluated {
                    rule_id: r.id.clone(),
                    missing_fields: absent,
                });
            }
        }
        let has_agency = header.fields.contains_key("agency");
        if !has_agency && agency.is_none() {
            notes.push(
                "台账没有执法单位列，案件的执法单位记为「未注明执法单位」（可用 --agency 指定）"
                    .into(),
            );
        }
        let columns = header
            .fields
            .iter()
            .map(|(f, c)| (f.clone(), column_letter(*c)))
            .collect();
        let table = self.table(pack);
        let cases = table.len() as u64;
        Ledger {
            summary: InputSummary {
                file: file.to_string(),
                sheet: sheet.to_string(),
                rows: cases + self.rejected,
                cases,
                rejected: self.rejected,
                empty_rows_skipped: self.empty,
                header_rows: header.rows.clone(),
                columns: header.columns.clone(),
                missing_fields: missing,
                not_evaluated,
                notes,
                rejected_rows: self.rejected_rows,
                implied: header.implied.clone(),
            },
            table,
            problems: self.problems,
            columns,
            has_agency,
        }
    }
}

/// Maps and normalises one workbook sheet whose header was found.
pub(crate) fn sheet_ledger(
    sheet: &RawSheet,
    header: &Header,
    pack: &RulePack,
    agency: Option<&str>,
) -> Ledger {
    let plan = Plan::new(pack, header, agency, sheet.date1904);
    let data = &sheet.rows[header.data_start.min(sheet.rows.len())..];
    let chunks: Vec<Chunk> = data
        .par_chunks(CHUNK_ROWS)
        .map(|rows| plan.chunk(rows))
        .collect();
    let mut all = Gather::new();
    for c in chunks {
        all.add(c);
    }
    all.finish(pack, header, &sheet.file, &sheet.sheet, agency)
}

/// A workbook's ledgers, one per sheet with a header, and the sheets without one.
#[derive(Default)]
pub(crate) struct Workbook {
    pub ledgers: Vec<Ledger>,
    /// Sheets skipped for want of a header, and whether any of them holds anything.
    pub skipped: Vec<String>,
    pub has_content: bool,
}

impl Workbook {
    /// A sheet read whole: its ledger, or skipped for want of a header.
    fn add_whole(
        &mut self,
        sheet: RawSheet,
        pack: &RulePack,
        index: &AliasIndex,
        agency: Option<&str>,
    ) {
        match detect(&sheet, &pack.fields, index) {
            Some(header) => self
                .ledgers
                .push(sheet_ledger(&sheet, &header, pack, agency)),
            None => {
                self.has_content |= sheet.rows.iter().any(|r| !r.1.iter().all(Cell::is_empty));
                self.skipped.push(sheet.sheet);
            }
        }
    }
}

/// Reads a workbook's sheets into ledgers while they are read: a reader thread hands
/// out each sheet's rows in batches (xlsx), the header is found on its first rows, and
/// the thread pool normalises later batches while the reader goes on. A sheet handed
/// out whole (other formats, cells out of order) is normalised once it is in.
pub(crate) fn workbook_ledgers(
    path: &Path,
    display: &str,
    pack: &RulePack,
    index: &AliasIndex,
    agency: Option<&str>,
) -> Result<Workbook, LoadError> {
    use load::SheetEvent;
    let (tx, rx) = std::sync::mpsc::sync_channel::<SheetEvent>(2);
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            load::workbook_events(path, display, &mut |e| {
                // A closed channel means the reading side has stopped: nothing to do.
                let _ = tx.send(e);
            })
        });
        let mut book = Workbook::default();
        let mut events = rx.into_iter().peekable();
        while let Some(event) = events.next() {
            let SheetEvent::Start { name, date1904 } = event else {
                continue;
            };
            let mut sheet = RawSheet {
                file: display.to_string(),
                sheet: name,
                rows: Vec::new(),
                date1904,
            };
            let mut rest =
                std::iter::from_fn(|| events.next_if(|e| !matches!(e, SheetEvent::Start { .. })));
            let mut whole = None;
            while sheet.rows.len() < HEADER_SEARCH_ROWS && whole.is_none() {
                match rest.next() {
                    Some(SheetEvent::Rows(rows)) => sheet.rows.extend(rows.into_cells()),
                    Some(SheetEvent::Whole(w)) => whole = Some(w),
                    _ => break,
                }
            }
            let header = match whole {
                Some(_) => None,
                None => detect(&sheet, &pack.fields, index),
            };
            let Some(header) = header else {
                // Read the sheet to its end: it may be handed out whole yet, or have
                // content below its first rows.
                for e in rest {
                    match e {
                        SheetEvent::Rows(rows) => sheet.rows.extend(rows.into_cells()),
                        SheetEvent::Whole(w) => whole = Some(w),
                        SheetEvent::Start { .. } => {}
                    }
                }
                book.add_whole(whole.unwrap_or(sheet), pack, index, agency);
                continue;
            };
            let plan = Plan::new(pack, &header, agency, sheet.date1904);
            let first = plan.chunk(&sheet.rows[header.data_start.min(sheet.rows.len())..]);
            let parts: Vec<(usize, Result<Chunk, RawSheet>)> = rest
                .enumerate()
                .par_bridge()
                .filter_map(|(n, e)| match e {
                    SheetEvent::Rows(rows) => Some((n, Ok(plan.chunk(&rows)))),
                    SheetEvent::Whole(w) => Some((n, Err(w))),
                    SheetEvent::Start { .. } => None,
                })
                .collect();
            let mut chunks = Vec::with_capacity(parts.len());
            for (n, part) in parts {
                match part {
                    Ok(c) => chunks.push((n, c)),
                    Err(w) => whole = Some(w),
                }
            }
            if let Some(w) = whole {
                // Rows handed out before the whole sheet are void.
                book.add_whole(w, pack, index, agency);
                continue;
            }
            chunks.sort_by_key(|(n, _)| *n);
            let mut all = Gather::new();
            all.add(first);
            for (_, c) in chunks {
                all.add(c);
            }
            book.ledgers
                .push(all.finish(pack, &header, &sheet.file, &sheet.sheet, agency));
        }
        match reader.join() {
            Ok(done) => done.map(|()| book),
            Err(_) => Err(LoadError {
                kind: ErrorKind::Truncated,
                reason: "工作簿内容异常，无法解析".into(),
            }),
        }
    })
}

/// Why a file yields no ledger: nothing in it, or no sheet with a recognisable header.
pub(crate) fn no_header(has_content: bool) -> LoadError {
    if has_content {
        LoadError {
            kind: ErrorKind::NoHeader,
            reason: "没有找到可识别的台账表头（至少需要识别出案件编号等 2–3 个字段）".into(),
        }
    } else {
        LoadError {
            kind: ErrorKind::NoContent,
            reason: "文件没有内容".into(),
        }
    }
}

/// Reads a CSV straight into a ledger: the header is found among the first records,
/// then a reader thread cuts the rest into blocks of whole records that the thread pool
/// parses and normalises.
pub(crate) fn csv_ledger(
    path: &Path,
    display: &str,
    pack: &RulePack,
    index: &AliasIndex,
    agency: Option<&str>,
) -> Result<Ledger, LoadError> {
    let mut blocks = load::csv_blocks(path, CSV_BLOCK_BYTES)?;
    let mut head = Records::default();
    while head.rows.len() < HEADER_SEARCH_ROWS && head.text.len() < HEAD_BYTES {
        match blocks.next() {
            None => break,
            Some(block) => head.read(&block?)?,
        }
    }
    let grid = RawSheet {
        file: display.to_string(),
        sheet: String::new(),
        rows: (0..head.rows.len().min(HEADER_SEARCH_ROWS))
            .map(|i| {
                let cells = head.record(i).map(|s| Cell::Text(s.to_string())).collect();
                (head.rows[i], cells)
            })
            .collect(),
        date1904: false,
    };
    let Some(header) = detect(&grid, &pack.fields, index) else {
        let blank = |r: &Records| r.text.trim().is_empty();
        let mut has_content = !blank(&head);
        while !has_content {
            let Some(block) = blocks.next() else { break };
            let mut more = Records::default();
            more.read(&block?)?;
            has_content = !blank(&more);
        }
        return Err(no_header(has_content));
    };
    drop(grid);
    let plan = Plan::new(pack, &header, agency, false);
    head.skip = header.data_start.min(head.rows.len());
    let first = plan.chunk(&head);
    drop(head);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, load::CsvBlock)>(2);
    // A block's bytes, once parsed, go back to the reader for a later block, and each
    // worker parses into the same records buffers block after block: fresh memory
    // costs a page fault a page, and these are tens of megabytes a block.
    let (back, returned) = std::sync::mpsc::channel::<Vec<u8>>();
    let (mut chunks, cut) = std::thread::scope(|s| {
        let reader = s.spawn(move || -> Result<(), LoadError> {
            for n in 0.. {
                for bytes in returned.try_iter() {
                    blocks.recycle(bytes);
                }
                let Some(block) = blocks.next() else { break };
                if tx.send((n, block?)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let chunks: Vec<(usize, Result<Chunk, LoadError>)> = rx
            .into_iter()
            .par_bridge()
            .map_init(Records::default, |records, (n, block)| {
                records.clear();
                let chunk = records.read(&block).map(|()| {
                    let _ = back.send(block.bytes);
                    plan.chunk(records)
                });
                (n, chunk)
            })
            .collect();
        let cut = reader.join().unwrap_or_else(|_| {
            Err(LoadError {
                kind: ErrorKind::MalformedCsv,
                reason: "CSV 内容异常，无法解析".into(),
            })
        });
        (chunks, cut)
    });
    chunks.sort_by_key(|(n, _)| *n);
    let mut all = Gather::new();
    all.add(first);
    for (_, c) in chunks {
        // The first error in the file is the one reported.
        all.add(c?);
    }
    cut?;
    Ok(all.finish(pack, &header, display, "", agency))
}

/// A parquet column, as the normaliser reads it.
enum ParquetColumn {
    Text(polars::prelude::StringChunked),
    Number(polars::prelude::Float64Chunked),
    Bool(polars::prelude::BooleanChunked),
    Date(polars::prelude::Int32Chunked),
}

impl ParquetColumn {
    /// Reads a column of any type parquet writers use: DECIMAL and integers as numbers,
    /// dates and timestamps (with or without a time zone) as dates, the rest as text.
    fn new(c: &polars::prelude::Column) -> Result<ParquetColumn, String> {
        use polars::prelude::DataType as D;
        let s = c.as_materialized_series().rechunk();
        let e = |e: polars::prelude::PolarsError| e.to_string();
        Ok(match s.dtype() {
            D::String => ParquetColumn::Text(s.str().map_err(e)?.clone()),
            D::Boolean => ParquetColumn::Bool(s.bool().map_err(e)?.clone()),
            D::Date => ParquetColumn::Date(s.date().map_err(e)?.physical().clone()),
            D::Datetime(unit, tz) => {
                // A timestamp with a time zone is stored as UTC (DuckDB, Spark and pandas
                // write it so): its date is the date in China (UTC+8), as the ledger
                // meant it. A timestamp without one is a local time already.
                let per_second: i64 = match unit {
                    polars::prelude::TimeUnit::Nanoseconds => 1_000_000_000,
                    polars::prelude::TimeUnit::Microseconds => 1_000_000,
                    polars::prelude::TimeUnit::Milliseconds => 1_000,
                };
                let shift = if tz.is_some() {
                    8 * 3600 * per_second
                } else {
                    0
                };
                let per_day = 86_400 * per_second;
                let raw = s.cast(&D::Int64).map_err(e)?;
                let days: polars::prelude::Int32Chunked = raw
                    .i64()
                    .map_err(e)?
                    .downcast_iter()
                    .flat_map(|a| a.iter())
                    .map(|v| {
                        v.copied()
                            .and_then(|t| t.checked_add(shift))
                            .and_then(|t| i32::try_from(t.div_euclid(per_day)).ok())
                    })
                    .collect();
                ParquetColumn::Date(days)
            }
            t if t.is_primitive_numeric() || t.is_decimal() => {
                let f = s.cast(&D::Float64).map_err(e)?;
                ParquetColumn::Number(f.f64().map_err(e)?.clone())
            }
            _ => {
                let t = s.cast(&D::String).map_err(e)?;
                ParquetColumn::Text(t.str().map_err(e)?.clone())
            }
        })
    }

    fn get(&self, i: usize) -> Option<CellView<'_>> {
        match self {
            ParquetColumn::Text(c) => c.get(i).map(CellView::Str),
            ParquetColumn::Number(c) => c.get(i).map(CellView::Number),
            ParquetColumn::Bool(c) => c.get(i).map(CellView::Bool),
            ParquetColumn::Date(c) => c.get(i).map(CellView::Date),
        }
    }
}

/// Rows `from..from + len` of a parquet file's columns.
struct ParquetRows<'a> {
    columns: &'a [ParquetColumn],
    from: usize,
    len: usize,
}

impl Rows for ParquetRows<'_> {
    fn len(&self) -> usize {
        self.len
    }
    fn number(&self, i: usize) -> u32 {
        // Row 1 is the column names.
        u32::try_from(self.from + i + 2).unwrap_or(u32::MAX)
    }
    fn width(&self, _i: usize) -> usize {
        self.columns.len()
    }
    fn cell(&self, i: usize, c: usize) -> Option<CellView<'_>> {
        self.columns.get(c)?.get(self.from + i)
    }
}

/// Reads a parquet file column by column into a ledger (its column names are the header).
pub(crate) fn parquet_ledger(
    path: &Path,
    display: &str,
    pack: &RulePack,
    index: &AliasIndex,
    agency: Option<&str>,
) -> Result<Ledger, LoadError> {
    let invalid = |e: String| LoadError {
        kind: ErrorKind::InvalidParquet,
        reason: format!("不是有效的 parquet 文件。技术信息：{e}"),
    };
    let df = load::read_parquet_frame(path)?;
    let columns: Vec<ParquetColumn> = load::guarded(ErrorKind::InvalidParquet, || {
        df.columns()
            .iter()
            .map(ParquetColumn::new)
            .collect::<Result<_, _>>()
            .map_err(invalid)
    })?;
    let height = df.height();
    let names: Vec<Cell> = df
        .get_column_names()
        .iter()
        .map(|n| Cell::Text(n.to_string()))
        .collect();
    drop(df);
    let head_len = height.min(HEADER_SEARCH_ROWS - 1);
    let head = ParquetRows {
        columns: &columns,
        from: 0,
        len: head_len,
    };
    let mut rows = vec![(1u32, names)];
    for i in 0..head_len {
        let cells = (0..columns.len())
            .map(|c| {
                head.cell(i, c)
                    .map_or(Cell::Empty, |v| v.owned().into_owned())
            })
            .collect();
        rows.push((head.number(i), cells));
    }
    let grid = RawSheet {
        file: display.to_string(),
        sheet: String::new(),
        rows,
        date1904: false,
    };
    let Some(header) = detect(&grid, &pack.fields, index) else {
        return Err(no_header(height > 0 || !columns.is_empty()));
    };
    drop(grid);
    let plan = Plan::new(pack, &header, agency, false);
    // Grid row 0 is the names, so data row k of the grid is parquet row k - 1.
    let start = header.data_start.saturating_sub(1).min(height);
    let starts: Vec<usize> = (start..height).step_by(CHUNK_ROWS).collect();
    let chunks: Vec<Chunk> = load::guarded(ErrorKind::InvalidParquet, || {
        Ok(starts
            .par_iter()
            .map(|&from| {
                plan.chunk(&ParquetRows {
                    columns: &columns,
                    from,
                    len: CHUNK_ROWS.min(height - from),
                })
            })
            .collect())
    })?;
    let mut all = Gather::new();
    for c in chunks {
        all.add(c);
    }
    Ok(all.finish(pack, &header, display, "", agency))
}
