//! Reading ledger files into raw sheets: calamine for workbooks, the csv crate (after
//! UTF-8 / GB18030 detection with encoding_rs) for CSV, polars for parquet.

use crate::budget::{self, Budget};
use crate::cell::{Cell, RawSheet};
pub use crate::inputs::{discover_inputs, expand_inputs, InputFile};
pub use crate::model::ErrorKind;
use calamine::{Data, DataRef, Range, Reader};
use caseaudit_rules::calendar::to_day;
use std::path::Path;

/// File extensions read as ledgers.
pub const LEDGER_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods", "csv", "parquet"];

/// Why a file could not be read: its class, and the reason in Chinese for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct LoadError {
    /// The class of the error (`run.errors[].kind`).
    pub kind: ErrorKind,
    /// Why, for people (Chinese).
    pub reason: String,
}

pub(crate) fn err(kind: ErrorKind, reason: impl Into<String>) -> LoadError {
    LoadError {
        kind,
        reason: reason.into(),
    }
}

/// An operating-system error opening a path, classified.
pub(crate) fn io_error(e: &std::io::Error) -> LoadError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => err(
            ErrorKind::PermissionDenied,
            "没有读取权限，请检查文件权限后重试",
        ),
        std::io::ErrorKind::NotFound => err(ErrorKind::NotFound, "文件不存在"),
        _ => err(ErrorKind::Unreadable, format!("无法打开：{e}")),
    }
}

/// How a ledger file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A CSV text file (any of the encodings caseaudit reads).
    Csv,
    /// A parquet file.
    Parquet,
    /// A workbook (xlsx, xlsm, xls, ods).
    Workbook,
}

/// What kind of ledger a path is, or why it cannot be one.
pub fn kind_of(path: &Path) -> Result<FileKind, LoadError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let meta = std::fs::metadata(path).map_err(|e| io_error(&e))?;
    if meta.is_dir() {
        return Err(err(ErrorKind::IsFolder, "是文件夹，不是台账文件"));
    }
    if !meta.is_file() {
        // A FIFO, socket or device: never opened (opening a FIFO blocks).
        return Err(err(
            ErrorKind::Unreadable,
            "不是普通文件（可能是管道、套接字或设备）",
        ));
    }
    if meta.len() == 0 {
        return Err(err(ErrorKind::EmptyFile, "文件为空（0 字节）"));
    }
    match ext.as_str() {
        "csv" | "txt" => Ok(FileKind::Csv),
        "parquet" => Ok(FileKind::Parquet),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Ok(FileKind::Workbook),
        other => Err(err(
            ErrorKind::UnsupportedType,
            format!("不支持的文件类型 `.{other}`（支持 xlsx、xlsm、xls、ods、csv、parquet）"),
        )),
    }
}

/// Reads every sheet of a file as rows of cells (the audit itself reads CSV and
/// parquet straight into columns; this is for the annotated copies and the tools).
pub fn read_file(path: &Path, display: &str) -> Result<Vec<RawSheet>, LoadError> {
    match kind_of(path)? {
        FileKind::Csv => read_csv(path, display).map(|s| vec![s]),
        FileKind::Parquet => read_parquet(path, display).map(|s| vec![s]),
        FileKind::Workbook => read_workbook(path, display),
    }
}

/// A calamine value as a cell (taken by value: its text moves, it is not copied).
fn convert(d: Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s),
        Data::Float(f) => Cell::Number(f),
        Data::Int(i) => Cell::Number(i as f64),
        Data::Bool(b) => Cell::Bool(b),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(x) => Cell::Date(to_day(x.date())),
            None => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Runs a third-party parser so that a panic inside it (a bug in the library on a
/// damaged file) becomes an error about the file instead of ending the whole run. The
/// panic message is not printed: the caller reports the file.
pub(crate) fn guarded<T>(
    on_panic: ErrorKind,
    f: impl FnOnce() -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    use std::cell::Cell as Flag;
    use std::sync::atomic::{AtomicUsize, Ordering};
    thread_local! {
        static GUARDED: Flag<bool> = const { Flag::new(false) };
    }
    // Guarded calls running in any thread: a reader's panic in one of polars' own
    // threads (named `polars-N`) reaches the guarded caller through polars' thread
    // pool, and is no more to be printed than one in the caller's thread.
    static ACTIVE: AtomicUsize = AtomicUsize::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let polars_thread = ACTIVE.load(Ordering::SeqCst) > 0
                && std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("polars"));
            if !GUARDED.with(Flag::get) && !polars_thread {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    GUARDED.with(|g| g.set(was));
    result.unwrap_or_else(|_| {
        Err(err(
            on_panic,
            "文件内容异常，读取程序无法解析（文件可能已损坏），请用原软件打开后另存再试",
        ))
    })
}

/// What a file's first bytes (and, for a zip, its directory) say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// A zip (xlsx, xlsm, xlsb, ods): whether its directory can be read (a truncated
    /// zip loses it), and whether it holds a workbook part.
    Zip {
        opens: bool,
        workbook: bool,
    },
    /// An OLE compound file (xls, or an encrypted xlsx).
    Compound,
    Other,
}

/// Parts that make a zip a workbook: xlsx/xlsm, xlsb, ods.
const WORKBOOK_PARTS: &[&str] = &["xl/workbook.xml", "xl/workbook.bin", "content.xml"];

/// What a file is, from its first bytes and, for a zip, its directory, which is also
/// checked against the size limits (a decompression bomb is refused here, unread).
fn container<R: std::io::Read + std::io::Seek>(
    head: &[u8],
    reader: R,
) -> Result<Container, LoadError> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let Ok(mut z) = zip::ZipArchive::new(reader) else {
            return Ok(Container::Zip {
                opens: false,
                workbook: false,
            });
        };
        check_zip_size(&mut z)?;
        Ok(Container::Zip {
            opens: true,
            workbook: WORKBOOK_PARTS.iter().any(|p| z.index_for_name(p).is_some()),
        })
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Ok(Container::Compound)
    } else {
        Ok(Container::Other)
    }
}

fn workbook_error(e: calamine::Error, file: Container) -> LoadError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("password") || lower.contains("encrypt") {
        return err(
            ErrorKind::Encrypted,
            "工作簿已加密（设有密码），请去除密码后重新导出",
        );
    }
    match file {
        Container::Zip { opens: false, .. } => err(
            ErrorKind::Truncated,
            format!("工作簿不完整或已损坏（压缩包目录无法读取，可能是拷贝中断）。技术信息：{text}"),
        ),
        Container::Zip { workbook: true, .. } => err(
            ErrorKind::Truncated,
            format!("工作簿已损坏（内部内容有误）。技术信息：{text}"),
        ),
        Container::Zip { .. } => err(
            ErrorKind::NotAWorkbook,
            format!("是压缩包，但不是 Excel/WPS 工作簿。技术信息：{text}"),
        ),
        Container::Compound => err(
            ErrorKind::Truncated,
            format!("工作簿不完整或已损坏。技术信息：{text}"),
        ),
        Container::Other => err(
            ErrorKind::NotAWorkbook,
            format!("不是有效的工作簿（文件内容与扩展名不符）。技术信息：{text}"),
        ),
    }
}

/// The most a zip-based workbook (xlsx, xlsm, ods) may expand to, in all and per part,
/// as its directory declares. Larger ones are refused before they are read, so a small
/// file that expands to gigabytes (a decompression bomb) cannot exhaust memory.
pub const MAX_UNPACKED_TOTAL: u64 = 2 * 1024 * 1024 * 1024;
/// See [`MAX_UNPACKED_TOTAL`].
pub const MAX_UNPACKED_PART: u64 = 1024 * 1024 * 1024;
/// A part that expands more than this many times its packed size is refused too.
pub const MAX_RATIO: u64 = 250;

fn check_zip_size<R: std::io::Read + std::io::Seek>(
    z: &mut zip::ZipArchive<R>,
) -> Result<(), LoadError> {
    let mut total = 0u64;
    for i in 0..z.len() {
        let Ok(f) = z.by_index_raw(i) else { continue };
        let (size, packed) = (f.size(), f.compressed_size().max(1));
        total = total.saturating_add(size);
        let bomb =
            size > MAX_UNPACKED_PART || (size > 16 * 1024 * 1024 && size / packed > MAX_RATIO);
        if bomb || total > MAX_UNPACKED_TOTAL {
            return Err(err(ErrorKind::TooLarge, format!(
                "工作簿解压后过大（{} 解压为 {} MB，上限为每部分 {} MB、合计 {} MB），疑似压缩炸弹，已拒绝读取",
                f.name().map(|n| n.to_string()).unwrap_or_default(),
                size / (1024 * 1024),
                MAX_UNPACKED_PART / (1024 * 1024),
                MAX_UNPACKED_TOTAL / (1024 * 1024)
            )));
        }
    }
    Ok(())
}

fn read_workbook(path: &Path, display: &str) -> Result<Vec<RawSheet>, LoadError> {
    let mut sheets = Gathered::new(display);
    workbook_events(path, display, &mut |e| sheets.add(e))?;
    Ok(sheets.0)
}

/// Every sheet of a workbook file, read in order and handed to `emit` as its rows are
/// read (see [`SheetEvent`]).
pub(crate) fn workbook_events(
    path: &Path,
    display: &str,
    emit: &mut dyn FnMut(SheetEvent),
) -> Result<(), LoadError> {
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path).map_err(|e| io_error(&e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let n = std::io::Read::read(&mut file, &mut head).map_err(|e| io_error(&e))?;
    let kind = container(&head[..n], std::io::BufReader::new(file))?;
    let mut budget = Budget::default();
    let parts = {
        let file = std::fs::File::open(path).map_err(|e| io_error(&e))?;
        guarded(ErrorKind::Truncated, || {
            prescan(std::io::BufReader::new(file), kind, len, &mut budget)
        })?
    };
    guarded(ErrorKind::Truncated, || {
        let wb = calamine::open_workbook_auto(path).map_err(|e| workbook_error(e, kind))?;
        sheets_of(wb, display, kind, &mut budget, parts, emit)
    })
}

/// Reads every sheet of a workbook (xlsx, xlsm, xlsb, xls or ods) held in memory, with
/// the same limits as a workbook read from a file.
pub fn read_workbook_bytes(bytes: &[u8], display: &str) -> Result<Vec<RawSheet>, LoadError> {
    let kind = container(bytes, std::io::Cursor::new(bytes))?;
    let mut budget = Budget::default();
    let parts = guarded(ErrorKind::Truncated, || {
        prescan(
            std::io::Cursor::new(bytes),
            kind,
            bytes.len() as u64,
            &mut budget,
        )
    })?;
    let mut sheets = Gathered::new(display);
    guarded(ErrorKind::Truncated, || {
        let wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| workbook_error(e, kind))?;
        sheets_of(wb, display, kind, &mut budget, parts, &mut |e| {
            sheets.add(e)
        })
    })?;
    Ok(sheets.0)
}

/// What reading a workbook hands out, sheet by sheet in order: a sheet's start, then
/// its rows in batches as they are read (xlsx), or the whole sheet at once.
pub(crate) enum SheetEvent {
    /// A sheet begins.
    Start {
        /// Its name.
        name: String,
        /// Whether numbers in its date columns use the 1904 system.
        date1904: bool,
    },
    /// Its next rows, merged areas filled.
    Rows(RowBatch),
    /// The whole sheet (other formats, and an xlsx sheet whose cells are out of order:
    /// rows handed out for it before are void).
    Whole(RawSheet),
}

/// One cell of a [`RowBatch`]; a text is a range of the batch's text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot {
    Empty,
    Text(u32, u32),
    Number(f64),
    Bool(bool),
    Date(caseaudit_rules::Day),
    Error(u32, u32),
}

/// A merged area by its corners (first row and column, last row and column).
type AreaKey = ((u32, u32), (u32, u32));

/// Rows read from a sheet at once (spreadsheet row number, cells), their texts end to
/// end in one buffer: a string per cell would be an allocation per cell on the reader
/// thread, freed on another.
#[derive(Debug, Default)]
pub(crate) struct RowBatch {
    pub(crate) rows: Vec<(u32, Vec<Slot>)>,
    text: String,
    /// Merged areas' values already in `text`, by area: a value filling many rows is
    /// stored once a batch, not once a row.
    filled: std::collections::HashMap<AreaKey, Slot>,
}

impl RowBatch {
    /// Appends `t` to the buffer: where it lies.
    fn push_text(&mut self, t: &str) -> (u32, u32) {
        let start = self.text.len() as u32;
        self.text.push_str(t);
        (start, self.text.len() as u32)
    }

    fn text_slot(&mut self, t: &str) -> Slot {
        let (a, b) = self.push_text(t);
        Slot::Text(a, b)
    }

    fn error_slot(&mut self, e: &str) -> Slot {
        let (a, b) = self.push_text(e);
        Slot::Error(a, b)
    }

    /// A calamine value as a slot (the reading of [`convert`], without the copy).
    fn slot(&mut self, d: &DataRef) -> Slot {
        match d {
            DataRef::Empty => Slot::Empty,
            DataRef::SharedString(t) => self.text_slot(t),
            DataRef::String(t) | DataRef::DateTimeIso(t) | DataRef::DurationIso(t) => {
                self.text_slot(t)
            }
            DataRef::Float(f) => Slot::Number(*f),
            DataRef::Int(i) => Slot::Number(*i as f64),
            DataRef::Bool(b) => Slot::Bool(*b),
            DataRef::DateTime(dt) => match dt.as_datetime() {
                Some(x) => Slot::Date(to_day(x.date())),
                None => Slot::Number(dt.as_f64()),
            },
            DataRef::Error(e) => self.error_slot(&e.to_string()),
        }
    }

    /// An owned cell's value as a slot of this batch.
    fn value_slot(&mut self, value: &Cell) -> Slot {
        match value {
            Cell::Empty => Slot::Empty,
            Cell::Text(t) => self.text_slot(t),
            Cell::Number(n) => Slot::Number(*n),
            Cell::Bool(b) => Slot::Bool(*b),
            Cell::Date(d) => Slot::Date(*d),
            Cell::Error(e) => self.error_slot(e),
        }
    }

    /// The text of a range of the buffer.
    pub(crate) fn text(&self, a: u32, b: u32) -> &str {
        self.text.get(a as usize..b as usize).unwrap_or_default()
    }

    /// A slot as an owned cell.
    pub(crate) fn cell(&self, slot: Slot) -> Cell {
        match slot {
            Slot::Empty => Cell::Empty,
            Slot::Text(a, b) => Cell::Text(self.text(a, b).to_string()),
            Slot::Number(n) => Cell::Number(n),
            Slot::Bool(b) => Cell::Bool(b),
            Slot::Date(d) => Cell::Date(d),
            Slot::Error(a, b) => Cell::Error(self.text(a, b).to_string()),
        }
    }

    fn is_empty_slot(&self, slot: Slot) -> bool {
        match slot {
            Slot::Empty => true,
            Slot::Text(a, b) => self.text(a, b).trim().is_empty(),
            _ => false,
        }
    }

    /// The rows as owned cells.
    pub(crate) fn into_cells(self) -> Vec<(u32, Vec<Cell>)> {
        self.rows
            .iter()
            .map(|(n, row)| (*n, row.iter().map(|&s| self.cell(s)).collect()))
            .collect()
    }
}

/// Rows whose merged areas [`MergeFill`] fills.
trait FillRows {
    fn count(&self) -> usize;
    /// The spreadsheet row number of row `i`.
    fn number(&self, i: usize) -> u32;
    /// Cell `c` of row `i`, if it holds anything.
    fn value(&self, i: usize, c: usize) -> Option<Cell>;
    /// Sets the empty cells of row `i` in `area`'s columns (widening it) to `value`,
    /// the area's value.
    fn fill(&mut self, i: usize, area: &calamine::Dimensions, value: &Cell);
}

impl FillRows for [(u32, Vec<Cell>)] {
    fn count(&self) -> usize {
        self.len()
    }
    fn number(&self, i: usize) -> u32 {
        self[i].0
    }
    fn value(&self, i: usize, c: usize) -> Option<Cell> {
        self[i].1.get(c).filter(|v| !v.is_empty()).cloned()
    }
    fn fill(&mut self, i: usize, area: &calamine::Dimensions, value: &Cell) {
        let (from, to) = (area.start.1 as usize, area.end.1 as usize);
        let cells = &mut self[i].1;
        if cells.len() <= to {
            cells.resize(to + 1, Cell::Empty);
        }
        for cell in &mut cells[from..=to] {
            if cell.is_empty() {
                *cell = value.clone();
            }
        }
    }
}

impl FillRows for RowBatch {
    fn count(&self) -> usize {
        self.rows.len()
    }
    fn number(&self, i: usize) -> u32 {
        self.rows[i].0
    }
    fn value(&self, i: usize, c: usize) -> Option<Cell> {
        let slot = *self.rows[i].1.get(c)?;
        (!self.is_empty_slot(slot)).then(|| self.cell(slot))
    }
    fn fill(&mut self, i: usize, area: &calamine::Dimensions, value: &Cell) {
        let (from, to) = (area.start.1 as usize, area.end.1 as usize);
        let slot = match self.filled.get(&(area.start, area.end)) {
            Some(&slot) => slot,
            None => {
                let slot = self.value_slot(value);
                self.filled.insert((area.start, area.end), slot);
                slot
            }
        };
        let mut row = std::mem::take(&mut self.rows[i].1);
        if row.len() <= to {
            row.resize(to + 1, Slot::Empty);
        }
        for cell in &mut row[from..=to] {
            if self.is_empty_slot(*cell) {
                *cell = slot;
            }
        }
        self.rows[i].1 = row;
    }
}

/// Sheets gathered whole from [`SheetEvent`]s.
struct Gathered(Vec<RawSheet>, String);

impl Gathered {
    fn new(display: &str) -> Gathered {
        Gathered(Vec::new(), display.to_string())
    }

    fn add(&mut self, e: SheetEvent) {
        match e {
            SheetEvent::Start { name, date1904 } => self.0.push(RawSheet {
                file: self.1.clone(),
                sheet: name,
                rows: Vec::new(),
                date1904,
            }),
            SheetEvent::Rows(rows) => {
                if let Some(s) = self.0.last_mut() {
                    s.rows.extend(rows.into_cells());
                }
            }
            SheetEvent::Whole(sheet) => {
                if let Some(s) = self.0.last_mut() {
                    *s = sheet;
                }
            }
        }
    }
}

/// The worksheet parts of a zip workbook: how many, the largest's inflated size, and
/// each xlsx sheet's merged areas.
#[derive(Debug, Clone, Default)]
struct SheetParts {
    count: usize,
    largest: u64,
    merges: std::collections::HashMap<String, Vec<calamine::Dimensions>>,
}

/// What calamine would allocate or read, spent from the file's budget before calamine
/// opens the file: an xls's and an ods's dense grids (both readers build every sheet's
/// grid on opening), and for an xlsx its worksheet parts (several sheets may read one).
fn prescan<R: std::io::Read + std::io::Seek>(
    reader: R,
    kind: Container,
    len: u64,
    budget: &mut Budget,
) -> Result<SheetParts, LoadError> {
    match kind {
        Container::Compound => {
            budget::prescan_xls(reader, len, budget)?;
            Ok(SheetParts::default())
        }
        Container::Zip { opens: true, .. } => {
            let Ok(mut z) = zip::ZipArchive::new(reader) else {
                return Ok(SheetParts::default());
            };
            let mut parts = SheetParts::default();
            let mut shared_strings = Vec::new();
            for i in 0..z.len() {
                let Ok(f) = z.by_index_raw(i) else { continue };
                let name = f.name().map(|n| n.to_lowercase()).unwrap_or_default();
                // Worksheets, chart sheets, dialog and macro sheets: the parts sheets read.
                let sheet_part = [
                    "xl/worksheets/",
                    "xl/chartsheets/",
                    "xl/dialogsheets/",
                    "xl/macrosheets/",
                ]
                .iter()
                .any(|d| name.starts_with(d));
                if sheet_part && !name.contains("_rels") {
                    parts.count += 1;
                    parts.largest = parts.largest.max(f.size());
                }
                if name.ends_with("sharedstrings.xml") {
                    shared_strings.push(i);
                }
            }
            for i in shared_strings {
                if let Ok(f) = z.by_index(i) {
                    // The declaration is at the start of the part.
                    let head = std::io::Read::take(f, 64 * 1024);
                    budget::prescan_shared_strings(std::io::BufReader::new(head), budget)?;
                }
            }
            let is_xlsx = z.index_for_name("xl/workbook.xml").is_some()
                || z.index_for_name("xl/workbook.bin").is_some();
            parts.merges = crate::hidden::merged_areas(&mut z);
            if !is_xlsx {
                if let Ok(content) = z.by_name("content.xml") {
                    budget.bytes(content.size(), "工作簿")?;
                    let limited = std::io::Read::take(content, MAX_UNPACKED_PART);
                    budget::prescan_ods(std::io::BufReader::new(limited), budget)?;
                }
            }
            Ok(parts)
        }
        _ => Ok(SheetParts::default()),
    }
}

fn sheets_of<RS: std::io::Read + std::io::Seek>(
    mut wb: calamine::Sheets<RS>,
    display: &str,
    kind: Container,
    budget: &mut Budget,
    parts: SheetParts,
    emit: &mut dyn FnMut(SheetEvent),
) -> Result<(), LoadError> {
    let names = wb.sheet_names().to_vec();
    budget.sheets(names.len())?;
    // More sheets than worksheet parts: some share one, each reading it again; every
    // sheet is charged the largest part (the bytes are counted per read).
    let shared = names.len() > parts.count && parts.count > 0;
    for name in names {
        if shared {
            budget.bytes(parts.largest, &format!("工作表「{name}」"))?;
        }
        let in_sheet = |e: calamine::Error| sheet_error(e, kind, &name);
        // Date-formatted cells are converted by calamine with the workbook's epoch;
        // plain numbers in date columns need to know it too (only xlsx says).
        let (rows, merges, date1904) = match &mut wb {
            // xlsx and xlsb are read cell by cell (calamine's Range would allocate the
            // whole bounding box of the used cells, which a hostile file makes enormous).
            // An xlsx sheet's rows are handed out as they are read, its merged areas
            // known beforehand.
            calamine::Sheets::Xlsx(x) => {
                let date1904 = x.has_1904_epoch();
                emit(SheetEvent::Start {
                    name: name.clone(),
                    date1904,
                });
                let merges = parts.merges.get(&name).cloned().unwrap_or_default();
                let before = budget.clone();
                let in_order = {
                    let mut reader = x
                        .worksheet_cells_reader(&name)
                        .map_err(|e| in_sheet(e.into()))?;
                    stream_rows(
                        || reader.next_cell(),
                        &in_sheet,
                        &name,
                        budget,
                        merges.clone(),
                        emit,
                    )?
                };
                if in_order {
                    continue;
                }
                // Cells out of order (a hand-made file): the sheet is read again whole.
                *budget = before;
                let rows = {
                    let mut reader = x
                        .worksheet_cells_reader(&name)
                        .map_err(|e| in_sheet(e.into()))?;
                    cell_rows(|| reader.next_cell(), in_sheet, &name, budget)?
                };
                (rows, merges, date1904)
            }
            calamine::Sheets::Xlsb(x) => {
                emit(SheetEvent::Start {
                    name: name.clone(),
                    date1904: false,
                });
                let mut reader = x
                    .worksheet_cells_reader(&name)
                    .map_err(|e| in_sheet(e.into()))?;
                let rows = cell_rows(|| reader.next_cell(), in_sheet, &name, budget)?;
                (rows, Vec::new(), false)
            }
            other => {
                emit(SheetEvent::Start {
                    name: name.clone(),
                    date1904: false,
                });
                let range: Range<Data> = other.worksheet_range(&name).map_err(in_sheet)?;
                let merges = match other {
                    calamine::Sheets::Xls(x) => {
                        x.merge_cells_by_sheet_name(&name).unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                let rows = range_rows(&range, &name, budget)?;
                (rows, merges, false)
            }
        };
        emit(SheetEvent::Whole(finish_sheet(
            display, &name, rows, merges, date1904, budget,
        )?));
    }
    Ok(())
}

/// Rows handed out at once, past the first batch (which holds the header).
const STREAM_BATCH_ROWS: usize = 8192;

/// Rows of an xlsx sheet from calamine's cell reader (`next` yields its cells), handed
/// out in batches as they are read, each batch's merged areas filled within the columns
/// used so far, every row and cell spent from the budget before it is made. Returns
/// false, having stopped, at a cell that comes before one already read (files Excel
/// and other programs write never do): the caller reads that sheet whole.
fn stream_rows<'a, E: Into<calamine::Error>>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
    in_sheet: &impl Fn(calamine::Error) -> LoadError,
    name: &str,
    budget: &mut Budget,
    merges: Vec<calamine::Dimensions>,
    emit: &mut dyn FnMut(SheetEvent),
) -> Result<bool, LoadError> {
    let what = format!("工作表「{name}」");
    let mut fill = MergeFill::new(merges, name);
    let mut batch = RowBatch::default();
    let mut first_batch = true;
    let mut width = 0usize;
    let mut last: Option<(u32, u32)> = None;
    let mut hand_out = |batch: &mut RowBatch,
                        width: usize,
                        first_batch: &mut bool,
                        budget: &mut Budget|
     -> Result<(), LoadError> {
        fill.fill(batch, width as u32, budget)?;
        emit(SheetEvent::Rows(std::mem::take(batch)));
        *first_batch = false;
        Ok(())
    };
    while let Some(c) = next().map_err(|e| in_sheet(e.into()))? {
        if matches!(c.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, col) = c.get_position();
        // A new row: the rows above it (empty ones between) are complete.
        let gap = match last {
            Some((lr, lc)) if r < lr || (r == lr && col <= lc) => return Ok(false),
            Some((lr, _)) if r == lr => None,
            Some((lr, _)) => Some(r - lr - 1),
            // The rows above the first used one count as empty rows.
            None => {
                budget.cells(u64::from(r), &what)?;
                Some(0)
            }
        };
        if let Some(gap) = gap {
            // Empty rows cost one cell each; a row with cells, its width (below).
            budget.cells(u64::from(gap), &what)?;
            let limit = if first_batch {
                crate::header::HEADER_SEARCH_ROWS
            } else {
                STREAM_BATCH_ROWS
            };
            for k in (0..gap).rev() {
                if batch.rows.len() >= limit {
                    hand_out(&mut batch, width, &mut first_batch, budget)?;
                }
                batch.rows.push((r - k, Vec::new()));
            }
            if batch.rows.len() >= limit {
                hand_out(&mut batch, width, &mut first_batch, budget)?;
            }
            // Rows are about as wide as those before: room for that many cells.
            batch
                .rows
                .push((r.saturating_add(1), Vec::with_capacity(width)));
        }
        last = Some((r, col));
        let slot = batch.slot(c.get_value());
        let Some((_, row)) = batch.rows.last_mut() else {
            continue;
        };
        let col = col as usize;
        if row.len() <= col {
            budget.cells((col + 1 - row.len()) as u64, &what)?;
            row.resize(col + 1, Slot::Empty);
        }
        width = width.max(row.len());
        row[col] = slot;
    }
    if !batch.rows.is_empty() {
        hand_out(&mut batch, width, &mut first_batch, budget)?;
    }
    Ok(true)
}

/// A sheet's rows from its first used one on (spreadsheet row number, cells).
type SheetRows = Vec<(u32, Vec<Cell>)>;

/// Rows of an xlsx or xlsb sheet from calamine's cell reader (`next` yields its
/// cells), read whole: rows without a used cell included as empty so that rows stay
/// contiguous.
fn cell_rows<'a, E: Into<calamine::Error>>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
    in_sheet: impl Fn(calamine::Error) -> LoadError,
    name: &str,
    budget: &mut Budget,
) -> Result<SheetRows, LoadError> {
    let mut cells: Vec<(u32, u32, Cell)> = Vec::new();
    while let Some(c) = next().map_err(|e| in_sheet(e.into()))? {
        if !matches!(c.get_value(), DataRef::Empty) {
            let (r, col) = c.get_position();
            cells.push((r, col, convert(Data::from(c.get_value().clone()))));
        }
    }
    sparse_rows(cells, name, budget)
}

/// An error reading one sheet, named in the reason.
fn sheet_error(e: calamine::Error, file: Container, name: &str) -> LoadError {
    let mut le = workbook_error(e, file);
    le.reason = format!("工作表「{name}」：{}", le.reason);
    le
}

/// Rows from cells in any order, spent from the file's budget before allocating: the
/// rows from the top of the sheet to the last used one, each to its last used column.
fn sparse_rows(
    mut cells: Vec<(u32, u32, Cell)>,
    name: &str,
    budget: &mut Budget,
) -> Result<SheetRows, LoadError> {
    // Cells come in document order, which is row order in files Excel writes; sort
    // anyway (stable) so that hand-made files read the same.
    if !cells.is_sorted_by_key(|c| (c.0, c.1)) {
        cells.sort_by_key(|c| (c.0, c.1));
    }
    let Some(&(r0, _, _)) = cells.first() else {
        return Ok(Vec::new());
    };
    // Count the cells the rows will hold before allocating any of them: each row's
    // last cell is the last of its run (sorted).
    let last_of_rows = cells
        .iter()
        .zip(cells.iter().skip(1).map(Some).chain(std::iter::once(None)))
        .filter(|(c, next)| next.is_none_or(|n| n.0 != c.0))
        .map(|(c, _)| (c.0, c.1));
    budget.cells(
        budget::sparse_cost(last_of_rows),
        &format!("工作表「{name}」"),
    )?;
    let mut rows: Vec<(u32, Vec<Cell>)> = Vec::new();
    for (r, col, cell) in cells {
        let i = (r - r0) as usize;
        while rows.len() <= i {
            rows.push((
                r0.saturating_add(rows.len() as u32).saturating_add(1),
                Vec::new(),
            ));
        }
        let row = &mut rows[i].1;
        let col = col as usize;
        if row.len() <= col {
            row.resize(col + 1, Cell::Empty);
        }
        row[col] = cell;
    }
    Ok(rows)
}

/// Rows of a calamine range (xls, ods), spent from the same budget.
fn range_rows(
    range: &Range<Data>,
    name: &str,
    budget: &mut Budget,
) -> Result<SheetRows, LoadError> {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    budget.cells(
        (range.height() as u64).saturating_mul(range.width() as u64 + u64::from(c0)),
        &format!("工作表「{name}」"),
    )?;
    let mut rows: Vec<(u32, Vec<Cell>)> = Vec::with_capacity(range.height());
    for (i, row) in range.rows().enumerate() {
        let mut cells: Vec<Cell> = Vec::with_capacity(row.len() + c0 as usize);
        cells.extend(std::iter::repeat_n(Cell::Empty, c0 as usize));
        cells.extend(row.iter().cloned().map(convert));
        rows.push((r0.saturating_add(i as u32).saturating_add(1), cells));
    }
    Ok(rows)
}

/// A sheet from its rows (contiguous), with merged areas filled.
fn finish_sheet(
    file: &str,
    sheet: &str,
    mut rows: Vec<(u32, Vec<Cell>)>,
    merges: Vec<calamine::Dimensions>,
    date1904: bool,
    budget: &mut Budget,
) -> Result<RawSheet, LoadError> {
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0) as u32;
    MergeFill::new(merges, sheet).fill(&mut rows[..], width, budget)?;
    Ok(RawSheet {
        file: file.to_string(),
        sheet: sheet.to_string(),
        rows,
        date1904,
    })
}

/// A sheet's merged areas, filled with their top-left value (headers and data alike)
/// row by row, within the rows the sheet has and the columns it uses: a hostile merge
/// over 16,384 columns or a million rows adds nothing. The same area listed many
/// times is filled once; every row of an area is spent from the budget before it is
/// filled.
struct MergeFill {
    /// Areas by their first row, not yet reached.
    areas: Vec<calamine::Dimensions>,
    next: usize,
    /// Areas over the current row, with their top-left value once read.
    active: Vec<(calamine::Dimensions, Option<Cell>)>,
    what: String,
}

impl MergeFill {
    fn new(mut areas: Vec<calamine::Dimensions>, sheet: &str) -> MergeFill {
        areas.sort_by_key(|m| (m.start, m.end));
        areas.dedup_by_key(|m| (m.start, m.end));
        MergeFill {
            areas,
            next: 0,
            active: Vec::new(),
            what: format!("工作表「{sheet}」的合并单元格"),
        }
    }

    /// Fills `rows` (in order, each after those filled before), within `width`
    /// columns.
    fn fill<R: FillRows + ?Sized>(
        &mut self,
        rows: &mut R,
        width: u32,
        budget: &mut Budget,
    ) -> Result<(), LoadError> {
        if self.areas.is_empty() {
            return Ok(());
        }
        for i in 0..rows.count() {
            let r = rows.number(i).saturating_sub(1);
            while let Some(m) = self.areas.get(self.next).filter(|m| m.start.0 <= r) {
                self.active.push((*m, None));
                self.next += 1;
            }
            self.active.retain(|(m, _)| m.end.0 >= r);
            for (m, top) in &mut self.active {
                let (sc, ec) = (m.start.1, m.end.1.min(width.saturating_sub(1)));
                if width == 0 || ec < sc {
                    continue;
                }
                budget.cells(u64::from(ec - sc + 1), &self.what)?;
                if m.start.0 == r {
                    *top = rows.value(i, sc as usize);
                }
                if let Some(value) = top {
                    // A sheet read whole holds a copy of the value in every cell of
                    // the area: its text is spent from the budget as such.
                    if let Cell::Text(t) | Cell::Error(t) = value {
                        budget.bytes(t.len() as u64 * u64::from(ec - sc + 1), &self.what)?;
                    }
                    let within = calamine::Dimensions {
                        start: m.start,
                        end: (m.end.0, ec),
                    };
                    rows.fill(i, &within, value);
                }
            }
        }
        Ok(())
    }
}

/// Decodes CSV bytes, taking them: UTF-8 text is kept as it is, not copied.
pub fn decode_text_owned(mut bytes: Vec<u8>) -> Result<String, LoadError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => decode_text(e.as_bytes()),
    }
}

/// Decodes CSV bytes: UTF-8 (BOM stripped) or else GB18030 (which covers GBK).
pub fn decode_text(bytes: &[u8]) -> Result<String, LoadError> {
    // Excel's "Unicode text" export is UTF-16 with a byte-order mark.
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        if enc != encoding_rs::UTF_8 {
            let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
            if had_errors {
                return Err(err(
                    ErrorKind::Undecodable,
                    "文件编码无法识别：UTF-16 内容有误",
                ));
            }
            return Ok(text.into_owned());
        }
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if had_errors {
                Err(err(
                    ErrorKind::Undecodable,
                    "文件编码无法识别：既不是 UTF-8 也不是 GB18030/GBK",
                ))
            } else {
                Ok(text.into_owned())
            }
        }
    }
}

/// The quote state of CSV bytes as the csv crate reads them: a quote opens a field
/// only at the field's start, and a doubled quote inside a quoted field is a quote.
#[derive(Debug, Clone, Copy)]
struct Quotes {
    delimiter: u8,
    /// The byte before the next one scanned.
    prev: u8,
    /// Inside a quoted field; `pending` when its last byte was a quote that may be the
    /// first of an escaped pair.
    open: bool,
    pending: bool,
    pending_at: u64,
}

/// What [`Quotes::scan`] reports.
#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
enum QuoteEvent {
    /// A quoted field opened.
    Opened,
    /// A line-end byte at `at` (`\r` or `\n`; `crlf` for the `\n` of a CRLF), inside a
    /// quoted field or not.
    Break {
        at: u64,
        byte: u8,
        crlf: bool,
        quoted: bool,
    },
}

impl Quotes {
    fn new(delimiter: u8) -> Quotes {
        Quotes {
            delimiter,
            prev: b'\n',
            open: false,
            pending: false,
            pending_at: 0,
        }
    }

    /// Scans `buf`, which starts at byte `base` of the file, reporting quotes that open
    /// a field and every line-end byte.
    fn scan(&mut self, buf: &[u8], base: u64, mut on: impl FnMut(QuoteEvent)) {
        for i in memchr::memchr3_iter(b'"', b'\n', b'\r', buf) {
            let b = buf[i];
            let at = base + i as u64;
            let before = if i == 0 { self.prev } else { buf[i - 1] };
            if self.pending {
                // The quote before closed the field unless this is its escaped twin
                // right after it.
                self.pending = false;
                if b == b'"' && at == self.pending_at + 1 {
                    continue;
                }
                self.open = false;
            }
            match b {
                b'\r' | b'\n' => on(QuoteEvent::Break {
                    at,
                    byte: b,
                    crlf: b == b'\n' && before == b'\r',
                    quoted: self.open,
                }),
                _ if self.open => {
                    self.pending = true;
                    self.pending_at = at;
                }
                _ => {
                    // A quote opens a field only at its start.
                    if before == self.delimiter || before == b'\n' || before == b'\r' {
                        self.open = true;
                        on(QuoteEvent::Opened);
                    }
                }
            }
        }
        let end = base + buf.len() as u64;
        // A pending quote followed by any other byte closed its field.
        if self.pending && self.pending_at + 1 < end {
            self.pending = false;
            self.open = false;
        }
        if let Some(&b) = buf.last() {
            self.prev = b;
        }
    }

    /// A quote still open at the end of the file.
    fn unclosed(&self) -> bool {
        self.open && !self.pending
    }
}

/// A reader that watches the bytes the csv crate reads: where each line ends (so that
/// records get the row numbers people see) and whether a quote is still open (which the
/// csv crate accepts silently at the end of a file, swallowing every later record).
struct Tracked<R> {
    inner: R,
    /// Bytes read so far.
    pos: u64,
    /// Line ends (first byte, byte after) not yet passed by a record.
    ends: std::collections::VecDeque<(u64, u64)>,
    /// Line ends seen so far.
    lines: u64,
    quotes: Quotes,
    /// The line the open quote is on.
    opened_line: u64,
    /// Where the record being read began (set by the consumer after each record).
    record_start: u64,
}

impl<R: std::io::Read> Tracked<R> {
    fn new(inner: R, delimiter: u8) -> Self {
        Tracked {
            inner,
            pos: 0,
            ends: std::collections::VecDeque::new(),
            lines: 0,
            quotes: Quotes::new(delimiter),
            opened_line: 0,
            record_start: 0,
        }
    }

    fn watch(&mut self, buf: &[u8]) {
        let mut quotes = self.quotes;
        quotes.scan(buf, self.pos, |e| match e {
            QuoteEvent::Opened => self.opened_line = self.lines + 1,
            QuoteEvent::Break { at, crlf, .. } => match self.ends.back_mut() {
                Some(e) if crlf && e.1 == at => e.1 = at + 1,
                _ if crlf => {}
                _ => {
                    self.ends.push_back((at, at + 1));
                    self.lines += 1;
                }
            },
        });
        self.quotes = quotes;
        self.pos += buf.len() as u64;
    }

    /// The text line a record starting at byte `at` is on: line ends before it are
    /// passed, and line ends at its start (the csv crate may report a record as
    /// starting at the LF of the CRLF before it) are skipped.
    fn line_of(&mut self, mut at: u64, passed: &mut u64) -> u64 {
        while let Some(&(start, end)) = self.ends.front() {
            if start < at {
                *passed += 1;
                // A CRLF whose LF the record is said to start at.
                at = at.max(end);
            } else if start == at {
                *passed += 1;
                at = end;
            } else {
                break;
            }
            self.ends.pop_front();
        }
        *passed + 1
    }
}

impl<R: std::io::Read> std::io::Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // One record may not grow past MAX_CSV_RECORD_BYTES (a file of one endless
        // line, or a quote never closed, must not be read into memory whole).
        if self.pos.saturating_sub(self.record_start) > MAX_CSV_RECORD_BYTES {
            return Err(std::io::Error::other(RECORD_TOO_LARGE));
        }
        let n = self.inner.read(buf)?;
        self.watch(&buf[..n]);
        Ok(n)
    }
}

/// The most bytes one CSV record may hold (Excel holds 32,767 characters a cell).
pub const MAX_CSV_RECORD_BYTES: u64 = 64 * 1024 * 1024;
/// The most records one CSV may hold: the cases of a province's year several times
/// over; more would not fit in memory as cases.
pub const MAX_CSV_RECORDS: u64 = 20_000_000;
const RECORD_TOO_LARGE: &str = "caseaudit: CSV record too large";

/// A CSV with more records than [`MAX_CSV_RECORDS`].
fn too_many_records() -> LoadError {
    err(
        ErrorKind::TooLarge,
        format!(
            "CSV 文件的记录超过 {} 万条，请按单位或月份拆分后评查",
            MAX_CSV_RECORDS / 10_000
        ),
    )
}

/// A record starting on `line` that grows past [`MAX_CSV_RECORD_BYTES`].
fn record_too_large(line: u64) -> LoadError {
    err(
        ErrorKind::TooLarge,
        format!(
            "第 {line} 行起的一条记录超过 {} MB（引号未闭合或缺少换行），疑似异常文件，已拒绝读取",
            MAX_CSV_RECORD_BYTES / (1024 * 1024)
        ),
    )
}

/// Line breaks inside a record's fields (quoted cells holding several lines).
fn inner_breaks(record: &csv::ByteRecord) -> u32 {
    let all = record.as_slice();
    // Almost every record has none: one fast scan says so.
    if memchr::memchr2(b'\n', b'\r', all).is_none() {
        return 0;
    }
    record
        .iter()
        .map(|b| {
            memchr::memchr2_iter(b'\n', b'\r', b)
                .filter(|&i| b[i] == b'\n' || b.get(i + 1) != Some(&b'\n'))
                .count() as u32
        })
        .sum()
}

/// The widest record read (Excel's column limit): a wider one is a hostile or broken file.
pub const MAX_CSV_FIELDS: usize = 16_384;

/// The delimiter of a CSV: the one of `,` tab `;` that its first lines use most.
fn csv_delimiter(head: &[u8]) -> u8 {
    let text = String::from_utf8_lossy(head);
    let first: String = text.lines().take(5).collect::<Vec<_>>().join("\n");
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| (first.matches(*d as char).count(), *d == b','))
        .unwrap_or(b',')
}

/// The records of a CSV in order, each with the row number a spreadsheet program shows
/// for it: every record is one row (a quoted cell holding line breaks does not shift
/// later rows) and a blank line is an empty row. Records are read as the file is
/// read: a CSV of any size streams through.
pub struct CsvRecords<R: std::io::Read> {
    reader: csv::Reader<Tracked<R>>,
    /// Line ends passed so far.
    passed: u64,
    /// Line breaks inside the records read so far.
    shift: u64,
    records: u64,
    done: bool,
    /// Rows and text lines before the first byte read (a block cut from a file).
    row_base: u64,
    line_base: u64,
}

/// Where a CSV record is read to: a [`csv::StringRecord`] (each field checked as
/// UTF-8) or a [`csv::ByteRecord`] (bytes, checked by the caller).
pub trait RecordBuf {
    /// Reads the next record into `self`; false at the end.
    fn read_from<R: std::io::Read>(&mut self, reader: &mut csv::Reader<R>) -> csv::Result<bool>;
    /// The record as bytes.
    fn bytes(&self) -> &csv::ByteRecord;
}

impl RecordBuf for csv::StringRecord {
    fn read_from<R: std::io::Read>(&mut self, reader: &mut csv::Reader<R>) -> csv::Result<bool> {
        reader.read_record(self)
    }
    fn bytes(&self) -> &csv::ByteRecord {
        self.as_byte_record()
    }
}

impl RecordBuf for csv::ByteRecord {
    fn read_from<R: std::io::Read>(&mut self, reader: &mut csv::Reader<R>) -> csv::Result<bool> {
        reader.read_byte_record(self)
    }
    fn bytes(&self) -> &csv::ByteRecord {
        self
    }
}

/// A CSV's bytes, as UTF-8, from wherever they come.
pub type CsvSource = Box<dyn std::io::Read + Send>;

impl<'t> CsvRecords<&'t [u8]> {
    /// Records of a text already in memory.
    pub fn from_text(text: &'t str) -> Self {
        CsvRecords::new(text.as_bytes(), csv_delimiter(text.as_bytes()))
    }
}

impl<R: std::io::Read> CsvRecords<R> {
    /// Records of UTF-8 bytes read from `source`.
    pub fn new(source: R, delimiter: u8) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_reader(Tracked::new(source, delimiter));
        CsvRecords {
            reader,
            passed: 0,
            shift: 0,
            records: 0,
            done: false,
            row_base: 0,
            line_base: 0,
        }
    }

    /// Reads the next record into `record` and returns its row number; `None` at the
    /// end. A quote still open at the end of the file, a record wider than Excel's
    /// columns, or bytes that are not UTF-8 is an error about the whole file.
    pub fn next_into<B: RecordBuf>(&mut self, record: &mut B) -> Option<Result<u32, LoadError>> {
        if self.done {
            return None;
        }
        let fail = |me: &mut Self, e: LoadError| {
            me.done = true;
            Some(Err(e))
        };
        match record.read_from(&mut self.reader) {
            Ok(false) => {
                self.done = true;
                let t = self.reader.get_ref();
                if t.quotes.unclosed() {
                    let line = t.opened_line + self.line_base;
                    return Some(Err(err(
                        ErrorKind::MalformedCsv,
                        format!(
                            "第 {line} 行的引号（\"）直到文件末尾都没有闭合，此后的内容无法按行分开；请检查该行后另存再试"
                        ),
                    )));
                }
                None
            }
            Ok(true) => {
                let record = record.bytes();
                let start = record.position().map_or(0, csv::Position::byte);
                let tracked = self.reader.get_mut();
                tracked.record_start = tracked.pos;
                let line = tracked.line_of(start, &mut self.passed);
                self.records += 1;
                if self.records > MAX_CSV_RECORDS {
                    return fail(self, too_many_records());
                }
                let row = u32::try_from(line.saturating_sub(self.shift) + self.row_base)
                    .unwrap_or(u32::MAX);
                self.shift = self.shift.saturating_add(u64::from(inner_breaks(record)));
                if record.len() > MAX_CSV_FIELDS {
                    let n = record.len();
                    return fail(
                        self,
                        err(
                            ErrorKind::TooLarge,
                            format!("第 {row} 行有 {n} 列，超过上限 {MAX_CSV_FIELDS} 列"),
                        ),
                    );
                }
                Some(Ok(row))
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                let line = e.position().map_or(0, csv::Position::line) + self.line_base;
                fail(
                    self,
                    err(
                        ErrorKind::Undecodable,
                        format!(
                            "文件编码无法识别：约第 {line} 行不是 UTF-8（文件开头是 UTF-8）。技术信息：{e}"
                        ),
                    ),
                )
            }
            Err(e) => {
                let t = self.reader.get_ref();
                if let csv::ErrorKind::Io(io) = e.kind() {
                    if io.to_string() == RECORD_TOO_LARGE {
                        let line = t.lines.saturating_sub(t.ends.len() as u64) + 1 + self.line_base;
                        return fail(self, record_too_large(line));
                    }
                    return fail(self, io_error(io));
                }
                let line = e.position().map(|p| p.line()).unwrap_or(0) + self.line_base;
                fail(
                    self,
                    err(
                        ErrorKind::MalformedCsv,
                        format!("第 {line} 行无法解析：{e}"),
                    ),
                )
            }
        }
    }
}

/// Reads a CSV whose bytes are already in memory into rows of cells (for the fuzz
/// targets and tests; the audit reads CSV records straight into columns).
pub fn parse_csv(text: &str, file: &str) -> Result<RawSheet, LoadError> {
    csv_rows(CsvRecords::from_text(text), file)
}

/// Every record as a row of text cells.
fn csv_rows<R: std::io::Read>(
    mut records: CsvRecords<R>,
    file: &str,
) -> Result<RawSheet, LoadError> {
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while let Some(row) = records.next_into(&mut record) {
        rows.push((
            row?,
            record.iter().map(|s| Cell::Text(s.to_string())).collect(),
        ));
    }
    Ok(RawSheet {
        file: file.to_string(),
        sheet: String::new(),
        rows,
        date1904: false,
    })
}

/// The largest CSV decoded in memory (one in GB18030/GBK or UTF-16): larger ones are
/// refused, to be saved as UTF-8 (streamed, of any size) or split.
pub const MAX_CSV_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Bytes looked at to tell a CSV's encoding and delimiter.
const SNIFF_BYTES: usize = 1 << 16;

/// Opens a CSV file for streaming, record by record (see [`csv_source`]).
pub fn open_csv(path: &Path) -> Result<CsvRecords<CsvSource>, LoadError> {
    let (source, delimiter) = csv_source(path)?;
    Ok(CsvRecords::new(source, delimiter))
}

/// A CSV file's bytes as UTF-8, and its delimiter: UTF-8 (with or without BOM) is
/// read as it is, in blocks; GB18030/GBK and UTF-16 are decoded whole first (within
/// [`MAX_CSV_BYTES`]).
fn csv_source(path: &Path) -> Result<(CsvSource, u8), LoadError> {
    use std::io::Read;
    let size = std::fs::metadata(path).map_err(|e| io_error(&e))?.len();
    let mut file = std::fs::File::open(path).map_err(|e| io_error(&e))?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(&e))?;
    let utf16 = encoding_rs::Encoding::for_bom(&head).is_some_and(|(e, _)| e != encoding_rs::UTF_8);
    let utf8 = !utf16
        && match std::str::from_utf8(&head) {
            Ok(_) => true,
            // A character cut by the end of the sample is still UTF-8.
            Err(e) => e.error_len().is_none() && head.len() == SNIFF_BYTES,
        };
    if utf8 {
        if head.starts_with(b"\xEF\xBB\xBF") {
            head.drain(..3);
        }
        let delimiter = csv_delimiter(&head);
        // Unbuffered: the block cutter reads a megabyte at a time straight into its
        // block (a buffer in between would copy every byte once more), and the csv
        // crate's reader buffers for itself.
        let source: CsvSource = Box::new(std::io::Cursor::new(head).chain(file));
        return Ok((source, delimiter));
    }
    if size > MAX_CSV_BYTES {
        return Err(err(
            ErrorKind::TooLarge,
            format!(
                "非 UTF-8 编码的 CSV 文件过大（{} MB，上限 {} MB），请另存为 UTF-8 编码或拆分后评查",
                size / (1024 * 1024),
                MAX_CSV_BYTES / (1024 * 1024)
            ),
        ));
    }
    file.read_to_end(&mut head).map_err(|e| io_error(&e))?;
    let text = decode_text_owned(head)?;
    let delimiter = csv_delimiter(text.as_bytes());
    Ok((Box::new(std::io::Cursor::new(text.into_bytes())), delimiter))
}

/// Bytes of a CSV read at a time while cutting blocks.
#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
const READ_BYTES: usize = 1 << 20;

/// A run of whole records cut from a CSV, with the rows and text lines before it.
#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
pub(crate) struct CsvBlock {
    pub bytes: Vec<u8>,
    rows_before: u64,
    lines_before: u64,
    delimiter: u8,
}

#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
impl CsvBlock {
    /// The block's records, numbered as in the whole file.
    pub(crate) fn records(&self) -> CsvRecords<&[u8]> {
        let mut r = CsvRecords::new(&self.bytes[..], self.delimiter);
        r.row_base = self.rows_before;
        r.line_base = self.lines_before;
        r
    }
}

/// A CSV cut into blocks of whole records (at line ends outside quotes) of about
/// `block` bytes, so that they can be parsed in parallel: each block knows how many
/// rows come before it, so its records get the row numbers of the whole file.
#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
pub(crate) struct CsvBlocks {
    source: CsvSource,
    quotes: Quotes,
    block: usize,
    /// Bytes read and not yet given out, from the start of the next block.
    carry: Vec<u8>,
    /// Rows (line ends outside quotes) and text lines before `carry`.
    rows: u64,
    lines: u64,
    /// Rows and lines in `carry`, and the last place it can be cut (the byte after a
    /// line end outside quotes) with the rows and lines before that.
    carry_rows: u64,
    carry_lines: u64,
    cut: Option<(usize, u64, u64)>,
    /// Bytes given out before `carry`.
    offset: u64,
    eof: bool,
    failed: bool,
    /// Buffers of blocks given out and parsed, for the blocks to come.
    spare: Vec<Vec<u8>>,
}

/// Parsed blocks' buffers kept for reuse.
#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
const SPARE_BLOCKS: usize = 4;

#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
impl CsvBlocks {
    fn new(source: CsvSource, delimiter: u8, block: usize) -> CsvBlocks {
        CsvBlocks {
            source,
            quotes: Quotes::new(delimiter),
            block,
            carry: Vec::with_capacity(block + READ_BYTES),
            rows: 0,
            lines: 0,
            carry_rows: 0,
            carry_lines: 0,
            cut: None,
            offset: 0,
            eof: false,
            failed: false,
            spare: Vec::new(),
        }
    }

    /// Reads more of the file into `carry`, noting its line ends.
    fn fill(&mut self) -> Result<(), LoadError> {
        use std::io::Read;
        let len = self.carry.len();
        // Read into the spare capacity (not zeroed first, as a resize would).
        let want = READ_BYTES.min(self.block).max(1) as u64;
        let n = match (&mut self.source).take(want).read_to_end(&mut self.carry) {
            Ok(n) => n,
            Err(e) => {
                self.carry.truncate(len);
                return Err(io_error(&e));
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(());
        }
        let (mut rows, mut lines, mut cut) = (self.carry_rows, self.carry_lines, self.cut);
        let mut quotes = self.quotes;
        let (offset, carry) = (self.offset, &self.carry);
        quotes.scan(&carry[len..], offset + len as u64, |e| {
            if let QuoteEvent::Break {
                at,
                byte,
                crlf,
                quoted,
            } = e
            {
                // A CRLF is one line end (its LF is inside quotes when its CR is).
                if !crlf {
                    lines += 1;
                    rows += u64::from(!quoted);
                }
                // A block may end after a line end outside quotes: after its LF, or
                // after a CR that no LF follows.
                let after = (at - offset) as usize + 1;
                let lone_cr = byte == b'\r' && carry.get(after).is_some_and(|&b| b != b'\n');
                if !quoted && (byte == b'\n' || lone_cr) {
                    cut = Some((after, rows, lines));
                }
            }
        });
        self.quotes = quotes;
        (self.carry_rows, self.carry_lines, self.cut) = (rows, lines, cut);
        Ok(())
    }

    /// Takes back a block's bytes once they are parsed, for a later block.
    pub(crate) fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < SPARE_BLOCKS {
            self.spare.push(bytes);
        }
    }

    /// Gives out `carry` up to `end` (with `rows` rows and `lines` lines before it).
    fn give(&mut self, end: usize, rows: u64, lines: u64) -> CsvBlock {
        // The rest goes into a recycled buffer when there is one.
        let mut rest = self.spare.pop().unwrap_or_default();
        rest.clear();
        rest.reserve(self.block + READ_BYTES);
        rest.extend_from_slice(&self.carry[end..]);
        self.carry.truncate(end);
        let bytes = std::mem::replace(&mut self.carry, rest);
        let block = CsvBlock {
            bytes,
            rows_before: self.rows,
            lines_before: self.lines,
            delimiter: self.quotes.delimiter,
        };
        self.offset += end as u64;
        self.rows += rows;
        self.lines += lines;
        self.carry_rows -= rows;
        self.carry_lines -= lines;
        self.cut = None;
        block
    }

    fn next_block(&mut self) -> Result<Option<CsvBlock>, LoadError> {
        loop {
            if self.rows + self.carry_rows > MAX_CSV_RECORDS {
                return Err(too_many_records());
            }
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let (rows, lines) = (self.carry_rows, self.carry_lines);
                return Ok(Some(self.give(self.carry.len(), rows, lines)));
            }
            // The first block is one read (about a megabyte): it holds the header, and
            // is read before the blocks after it are parsed in parallel.
            let block = if self.offset == 0 {
                self.block.min(READ_BYTES)
            } else {
                self.block
            };
            if self.carry.len() >= block {
                if let Some((end, rows, lines)) = self.cut {
                    return Ok(Some(self.give(end, rows, lines)));
                }
            }
            // One record may not grow past MAX_CSV_RECORD_BYTES (a file of one endless
            // line, or a quote never closed, must not be read into memory whole).
            let open = self.carry.len() - self.cut.map_or(0, |c| c.0);
            if open as u64 > MAX_CSV_RECORD_BYTES {
                let line = self.lines + self.cut.map_or(0, |c| c.2) + 1;
                return Err(record_too_large(line));
            }
            self.fill()?;
        }
    }
}

impl Iterator for CsvBlocks {
    type Item = Result<CsvBlock, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.next_block().transpose();
        self.failed = matches!(r, Some(Err(_)));
        r
    }
}

/// Opens a CSV file to be read in blocks of whole records of about `block` bytes.
#[cfg_attr(not(feature = "evaluate"), allow(dead_code))]
pub(crate) fn csv_blocks(path: &Path, block: usize) -> Result<CsvBlocks, LoadError> {
    let (source, delimiter) = csv_source(path)?;
    Ok(CsvBlocks::new(source, delimiter, block))
}

fn read_csv(path: &Path, display: &str) -> Result<RawSheet, LoadError> {
    csv_rows(open_csv(path)?, display)
}

/// Reads a parquet file into a DataFrame (a panic inside the reader is a file error).
#[cfg(feature = "evaluate")]
pub fn read_parquet_frame(path: &Path) -> Result<polars::prelude::DataFrame, LoadError> {
    use polars::prelude::*;
    guarded(ErrorKind::InvalidParquet, || {
        let file = std::fs::File::open(path).map_err(|e| io_error(&e))?;
        let invalid = |e: PolarsError| {
            err(
                ErrorKind::InvalidParquet,
                format!("不是有效的 parquet 文件。技术信息：{e}"),
            )
        };
        let mut reader = ParquetReader::new(file);
        // What the metadata declares is spent from the file's budget before reading.
        let meta = reader.get_metadata().map_err(invalid)?;
        budget::prescan_parquet(
            meta.row_groups.iter().map(|g| {
                let bytes = g.parquet_columns().iter();
                (
                    g.num_rows() as u64,
                    g.n_columns() as u64,
                    bytes.map(|c| c.uncompressed_size().max(0) as u64).sum(),
                )
            }),
            &mut Budget::default(),
        )?;
        reader.finish().map_err(invalid)
    })
}

#[cfg(not(feature = "evaluate"))]
fn read_parquet(_path: &Path, _display: &str) -> Result<RawSheet, LoadError> {
    Err(err(
        ErrorKind::UnsupportedType,
        "此版本未包含 parquet 读取功能",
    ))
}

/// A parquet file as rows of cells (row 1 its column names).
#[cfg(feature = "evaluate")]
fn read_parquet(path: &Path, display: &str) -> Result<RawSheet, LoadError> {
    use polars::prelude::*;
    let df = read_parquet_frame(path)?;
    guarded(ErrorKind::InvalidParquet, || {
        let mut rows: Vec<(u32, Vec<Cell>)> = Vec::with_capacity(df.height() + 1);
        rows.push((
            1,
            df.get_column_names()
                .iter()
                .map(|n| Cell::Text(n.to_string()))
                .collect(),
        ));
        let columns: Vec<Series> = df
            .columns()
            .iter()
            .map(|c| c.as_materialized_series().rechunk())
            .collect();
        for i in 0..df.height() {
            let mut cells = Vec::with_capacity(columns.len());
            for c in &columns {
                let v = c
                    .get(i)
                    .map_err(|e| err(ErrorKind::InvalidParquet, e.to_string()))?;
                cells.push(match v {
                    AnyValue::Null => Cell::Empty,
                    AnyValue::Boolean(b) => Cell::Bool(b),
                    AnyValue::String(s) => Cell::Text(s.to_string()),
                    AnyValue::StringOwned(s) => Cell::Text(s.to_string()),
                    AnyValue::Date(d) => Cell::Date(d),
                    other => match other.extract::<f64>() {
                        Some(f) if other.is_primitive_numeric() => Cell::Number(f),
                        _ => Cell::Text(other.to_string()),
                    },
                });
            }
            rows.push((u32::try_from(i + 2).unwrap_or(u32::MAX), cells));
        }
        Ok(RawSheet {
            file: display.to_string(),
            sheet: String::new(),
            rows,
            date1904: false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_cell_reads_as_a_cell_read_whole() {
        // The reader thread keeps texts in its batch's buffer (`RowBatch::slot`); a
        // sheet read whole converts calamine's values with `convert`: the same cells.
        let dt =
            calamine::ExcelDateTime::new(44_927.5, calamine::ExcelDateTimeType::DateTime, false);
        let values = [
            DataRef::Empty,
            DataRef::SharedString("巴市监罚〔2022〕1号"),
            DataRef::String("行政检查".into()),
            DataRef::Float(1.5),
            DataRef::Int(-3),
            DataRef::Bool(true),
            DataRef::DateTime(dt),
            DataRef::DateTimeIso("2022-01-01T00:00:00".into()),
            DataRef::DurationIso("PT1H".into()),
            DataRef::Error(calamine::CellErrorType::Value),
        ];
        let mut batch = RowBatch::default();
        for v in values {
            let slot = batch.slot(&v);
            assert_eq!(batch.cell(slot), convert(Data::from(v.clone())), "{v:?}");
        }
    }

    fn lines(text: &str) -> Vec<u32> {
        match parse_csv(text, "t.csv") {
            Ok(s) => s.rows.iter().map(|r| r.0).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn csv_row_numbers_are_the_lines_people_see() {
        // Found by the csv fuzz target: with CRLF line ends (Excel's CSV export) the csv
        // crate numbers the second record as line 1.
        assert_eq!(lines("a,b\r\nc,d\r\ne,f\r\n"), [1, 2, 3]);
        assert_eq!(lines("a,b\nc,d\ne,f"), [1, 2, 3]);
        // Blank lines are skipped but still counted.
        assert_eq!(lines("a,b\r\n\r\n\r\nc,d\r\n"), [1, 4]);
        // A quoted cell with a line break is one row, as a spreadsheet shows it.
        assert_eq!(lines("a,b\n\"x\ny\",z\nq,r\n"), [1, 2, 3]);
        assert_eq!(lines("a,b\r\n\"x\r\ny\r\nz\",w\r\n\r\nq,r\r\n"), [1, 2, 4]);
        assert_eq!(lines("\n\na,b\n"), [3]);
        // Lone CRs end lines too (found by the fuzz target: two records on "line 12").
        assert_eq!(lines("a,b\rc,d\r\re,f"), [1, 2, 4]);
        assert_eq!(lines("a,b\r\nc,d\re,f\n"), [1, 2, 3]);
    }

    #[test]
    fn a_quote_open_at_the_end_is_a_file_error() {
        let e = parse_csv("a,b\n1,2\n3,\"x\n4,5\n6,7\n", "t.csv").map(|_| ());
        match e {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::MalformedCsv);
                assert!(e.reason.contains("第 3 行"), "{}", e.reason);
            }
            Ok(()) => panic!("an unclosed quote was accepted"),
        }
        // Closed quotes, escaped quotes and quotes inside a field are fine.
        assert_eq!(lines("a,b\n\"x\"\"y\",z\nq,r\"\n"), [1, 2, 3]);
    }

    #[test]
    fn a_record_wider_than_excel_is_too_large() {
        let wide = format!("a,b\n{}\n", ",".repeat(MAX_CSV_FIELDS + 1));
        let e = parse_csv(&wide, "t.csv").map(|_| ());
        assert_eq!(e.map_err(|e| e.kind), Err(ErrorKind::TooLarge));
    }

    /// Every (row, fields) of a CSV read whole.
    fn whole(text: &str) -> Vec<(u32, Vec<String>)> {
        let mut r = CsvRecords::from_text(text);
        let mut rec = csv::StringRecord::new();
        let mut out = Vec::new();
        while let Some(row) = r.next_into(&mut rec) {
            out.push((row.expect("row"), rec.iter().map(str::to_string).collect()));
        }
        out
    }

    #[test]
    fn blocks_of_any_size_read_as_the_whole_file() {
        let text = "编号,名称\r\n1,\"两行\r\n的\"\"名称\"\"\"\r\n\r\n2,b\n3,\"c\nd\ne\"\r4,\"x\"y\n\n5,末行";
        let expected = whole(text);
        assert_eq!(expected.len(), 6);
        assert_eq!(expected.last().map(|r| r.0), Some(8));
        for block in [1, 2, 3, 5, 7, 16, 64, 1 << 20] {
            let source: CsvSource = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
            let mut got = Vec::new();
            let mut cuts = 0;
            for b in CsvBlocks::new(source, b',', block) {
                let b = b.expect("block");
                cuts += 1;
                let mut r = b.records();
                let mut rec = csv::StringRecord::new();
                while let Some(row) = r.next_into(&mut rec) {
                    got.push((row.expect("row"), rec.iter().map(str::to_string).collect()));
                }
            }
            assert_eq!(got, expected, "blocks of {block} bytes");
            if block < 8 {
                assert!(cuts > 4, "blocks of {block} bytes: {cuts} blocks");
            }
        }
    }

    #[test]
    fn a_quote_open_at_the_end_names_its_line_in_any_block() {
        let text = "编号,名称\n1,a\n2,b\n3,\"never closed\n4,d\n";
        for block in [2, 1 << 20] {
            let source: CsvSource = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
            let errors: Vec<LoadError> = CsvBlocks::new(source, b',', block)
                .filter_map(|b| {
                    let b = b.expect("block");
                    let mut r = b.records();
                    let mut rec = csv::StringRecord::new();
                    std::iter::from_fn(|| r.next_into(&mut rec)).find_map(Result::err)
                })
                .collect();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].reason.contains("第 4 行的引号"),
                "{}",
                errors[0].reason
            );
        }
    }

    #[test]
    fn a_panic_inside_a_parser_is_a_file_error() {
        let r: Result<(), LoadError> = guarded(ErrorKind::Truncated, || panic!("library bug"));
        assert_eq!(r.map_err(|e| e.kind), Err(ErrorKind::Truncated));
        // The guard is left behind: a value comes back as it was.
        assert_eq!(guarded(ErrorKind::Truncated, || Ok(7)), Ok(7));
    }
}
