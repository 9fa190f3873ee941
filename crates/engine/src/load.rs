//! Reading ledger files into raw sheets: calamine for workbooks, the csv crate (after
//! UTF-8 / GB18030 detection with encoding_rs) for CSV, polars for parquet.

use crate::cell::{Cell, RawSheet};
pub use crate::model::ErrorKind;
use calamine::{Data, DataRef, Range, Reader};
use caseaudit_rules::calendar::to_day;
use std::path::{Path, PathBuf};

/// File extensions read as ledgers.
pub const LEDGER_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods", "csv", "parquet"];

/// Why a file could not be read: its class, and the reason in Chinese for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct LoadError {
    pub kind: ErrorKind,
    pub reason: String,
}

fn err(kind: ErrorKind, reason: impl Into<String>) -> LoadError {
    LoadError {
        kind,
        reason: reason.into(),
    }
}

/// An operating-system error opening a path, classified.
fn io_error(e: &std::io::Error) -> LoadError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => err(
            ErrorKind::PermissionDenied,
            "没有读取权限，请检查文件权限后重试",
        ),
        std::io::ErrorKind::NotFound => err(ErrorKind::NotFound, "文件不存在"),
        _ => err(ErrorKind::Unreadable, format!("无法打开：{e}")),
    }
}

/// One input path expanded: a ledger file to read, or an error about a path.
#[derive(Debug, Clone)]
pub enum InputFile {
    File(PathBuf),
    Error(PathBuf, LoadError),
}

fn is_ledger(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.starts_with("~$") || name.starts_with(".~") {
        return false;
    }
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .is_some_and(|e| LEDGER_EXTENSIONS.contains(&e.as_str()))
}

/// Whether a folder is one of caseaudit's own output folders.
fn is_output_dir(p: &Path) -> bool {
    p.join("findings.json").is_file() || p.join(".caseaudit-output").exists()
}

/// Expands inputs: folders are walked for ledger files (lock files and caseaudit's own
/// output folders skipped), in a stable order.
pub fn expand_inputs(inputs: &[PathBuf]) -> Vec<InputFile> {
    let mut out = Vec::new();
    for p in inputs {
        let meta = std::fs::metadata(p);
        match meta {
            Err(e) => {
                let error = if e.kind() == std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(p).is_ok()
                {
                    err(ErrorKind::DanglingLink, "链接指向的文件不存在")
                } else {
                    io_error(&e)
                };
                out.push(InputFile::Error(p.clone(), error));
            }
            Ok(m) if m.is_dir() && is_ledger(p) => out.push(InputFile::Error(
                p.clone(),
                err(ErrorKind::IsFolder, "是文件夹，不是台账文件"),
            )),
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                let walker = walkdir::WalkDir::new(p)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        !(e.file_type().is_dir() && e.depth() > 0 && is_output_dir(e.path()))
                    });
                for entry in walker {
                    match entry {
                        Ok(e) if e.file_type().is_file() && is_ledger(e.path()) => {
                            found.push(e.path().to_path_buf())
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone());
                            // Following links, a link to nothing is "not found"; a loop
                            // of links has no I/O error.
                            let error = match e.io_error().map(io_error) {
                                Some(le) if le.kind == ErrorKind::NotFound => {
                                    err(ErrorKind::DanglingLink, "链接指向的文件不存在")
                                }
                                Some(le) => le,
                                None => {
                                    err(ErrorKind::Unreadable, format!("无法读取文件夹内容：{e}"))
                                }
                            };
                            out.push(InputFile::Error(path, error));
                        }
                    }
                }
                if found.is_empty() {
                    out.push(InputFile::Error(
                        p.clone(),
                        err(
                            ErrorKind::EmptyFolder,
                            "文件夹中没有台账文件（xlsx、xls、ods、csv、parquet）",
                        ),
                    ));
                }
                out.extend(found.into_iter().map(InputFile::File));
            }
            Ok(_) => out.push(InputFile::File(p.clone())),
        }
    }
    out
}

/// How a ledger file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Parquet,
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
    thread_local! {
        static GUARDED: Flag<bool> = const { Flag::new(false) };
    }
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Flag::get) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
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
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path).map_err(|e| io_error(&e))?;
    let n = std::io::Read::read(&mut file, &mut head).map_err(|e| io_error(&e))?;
    let kind = container(&head[..n], std::io::BufReader::new(file))?;
    guarded(ErrorKind::Truncated, || {
        let wb = calamine::open_workbook_auto(path).map_err(|e| workbook_error(e, kind))?;
        sheets_of(wb, display, kind)
    })
}

/// Reads every sheet of a workbook (xlsx, xlsm, xlsb, xls or ods) held in memory, with
/// the same limits as a workbook read from a file.
pub fn read_workbook_bytes(bytes: &[u8], display: &str) -> Result<Vec<RawSheet>, LoadError> {
    let kind = container(bytes, std::io::Cursor::new(bytes))?;
    guarded(ErrorKind::Truncated, || {
        let wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| workbook_error(e, kind))?;
        sheets_of(wb, display, kind)
    })
}

fn sheets_of<RS: std::io::Read + std::io::Seek>(
    mut wb: calamine::Sheets<RS>,
    display: &str,
    kind: Container,
) -> Result<Vec<RawSheet>, LoadError> {
    let names = wb.sheet_names().to_vec();
    let mut sheets = Vec::new();
    for name in names {
        let in_sheet = |e: calamine::Error| sheet_error(e, kind, &name);
        // Date-formatted cells are converted by calamine with the workbook's epoch;
        // plain numbers in date columns need to know it too (only xlsx says).
        let (r0, rows, merges, date1904) = match &mut wb {
            // xlsx and xlsb are read cell by cell (calamine's Range would allocate the
            // whole bounding box of the used cells, which a hostile file makes enormous).
            calamine::Sheets::Xlsx(x) => {
                let (r0, rows) = {
                    let mut reader = x
                        .worksheet_cells_reader(&name)
                        .map_err(|e| in_sheet(e.into()))?;
                    cell_rows(|| reader.next_cell(), in_sheet, &name)?
                };
                let merges = x.merge_cells_by_sheet_name(&name).unwrap_or_default();
                (r0, rows, merges, x.has_1904_epoch())
            }
            calamine::Sheets::Xlsb(x) => {
                let mut reader = x
                    .worksheet_cells_reader(&name)
                    .map_err(|e| in_sheet(e.into()))?;
                let (r0, rows) = cell_rows(|| reader.next_cell(), in_sheet, &name)?;
                (r0, rows, Vec::new(), false)
            }
            other => {
                let range: Range<Data> = other.worksheet_range(&name).map_err(in_sheet)?;
                let merges = match other {
                    calamine::Sheets::Xls(x) => {
                        x.merge_cells_by_sheet_name(&name).unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                let (r0, rows) = range_rows(&range, &name)?;
                (r0, rows, merges, false)
            }
        };
        sheets.push(finish_sheet(display, &name, r0, rows, &merges, date1904)?);
    }
    Ok(sheets)
}

/// The most cells (counted to the last used column of each row) one sheet may hold,
/// about 3 GB as read. A real ledger of a million cases and 60 columns is 60 million; a
/// sheet past this is refused rather than exhausting memory.
pub const MAX_SHEET_CELLS: u64 = 100_000_000;

fn too_many_cells(sheet: &str) -> LoadError {
    err(
        ErrorKind::TooLarge,
        format!(
            "工作表「{sheet}」的单元格范围过大（超过 {} 万个单元格），疑似异常文件，已拒绝读取",
            MAX_SHEET_CELLS / 10_000
        ),
    )
}

/// The 0-based index of a sheet's first row, and its rows from there on (spreadsheet
/// row number, cells).
type SheetRows = (u32, Vec<(u32, Vec<Cell>)>);

/// Rows of an xlsx or xlsb sheet from calamine's cell reader (`next` yields its
/// cells): (row index of the first row, rows of cells), rows without a used cell
/// included as empty so that rows stay contiguous.
fn cell_rows<'a, E: Into<calamine::Error>>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
    in_sheet: impl Fn(calamine::Error) -> LoadError,
    name: &str,
) -> Result<SheetRows, LoadError> {
    let mut cells: Vec<(u32, u32, Cell)> = Vec::new();
    while let Some(c) = next().map_err(|e| in_sheet(e.into()))? {
        if !matches!(c.get_value(), DataRef::Empty) {
            let (r, col) = c.get_position();
            cells.push((r, col, convert(Data::from(c.get_value().clone()))));
        }
    }
    sparse_rows(cells, name)
}

/// An error reading one sheet, named in the reason.
fn sheet_error(e: calamine::Error, file: Container, name: &str) -> LoadError {
    let mut le = workbook_error(e, file);
    le.reason = format!("工作表「{name}」：{}", le.reason);
    le
}

/// Rows from cells in any order, within [`MAX_SHEET_CELLS`].
fn sparse_rows(mut cells: Vec<(u32, u32, Cell)>, name: &str) -> Result<SheetRows, LoadError> {
    // Cells come in document order, which is row order in files Excel writes; sort
    // anyway (stable) so that hand-made files read the same.
    cells.sort_by_key(|c| (c.0, c.1));
    let Some(&(r0, _, _)) = cells.first() else {
        return Ok((0, Vec::new()));
    };
    // Count the cells the rows will hold before allocating any of them.
    let mut needed = 0u64;
    let mut row_at = u32::MAX;
    for (r, col, _) in cells.iter().rev() {
        if *r != row_at {
            row_at = *r;
            needed += u64::from(*col) + 1;
        }
    }
    if needed > MAX_SHEET_CELLS {
        return Err(too_many_cells(name));
    }
    let mut rows: Vec<(u32, Vec<Cell>)> = Vec::new();
    for (r, col, cell) in cells {
        let i = (r - r0) as usize;
        while rows.len() <= i {
            rows.push((r0 + rows.len() as u32 + 1, Vec::new()));
        }
        let row = &mut rows[i].1;
        let col = col as usize;
        if row.len() <= col {
            row.resize(col + 1, Cell::Empty);
        }
        row[col] = cell;
    }
    Ok((r0, rows))
}

/// Rows of a calamine range (xls, ods), with the same cell budget.
fn range_rows(range: &Range<Data>, name: &str) -> Result<SheetRows, LoadError> {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    if (range.height() as u64).saturating_mul(range.width() as u64 + c0 as u64) > MAX_SHEET_CELLS {
        return Err(too_many_cells(name));
    }
    let mut rows: Vec<(u32, Vec<Cell>)> = Vec::with_capacity(range.height());
    for (i, row) in range.rows().enumerate() {
        let mut cells: Vec<Cell> = Vec::with_capacity(row.len() + c0 as usize);
        cells.extend(std::iter::repeat_n(Cell::Empty, c0 as usize));
        cells.extend(row.iter().cloned().map(convert));
        rows.push((r0 + i as u32 + 1, cells));
    }
    Ok((r0, rows))
}

/// A sheet from its rows (row `r0` first, contiguous), with merged areas filled.
fn finish_sheet(
    file: &str,
    sheet: &str,
    r0: u32,
    mut rows: Vec<(u32, Vec<Cell>)>,
    merges: &[calamine::Dimensions],
    date1904: bool,
) -> Result<RawSheet, LoadError> {
    let used: u64 = rows.iter().map(|r| r.1.len() as u64).sum();
    let mut budget = MAX_SHEET_CELLS.saturating_sub(used);
    // A merged area's value fills the whole area (headers and data alike), within the
    // rows and columns the sheet uses: a hostile merge over 16,384 columns or a million
    // rows adds nothing.
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0) as u32;
    let last_row = r0.saturating_add(rows.len() as u32).saturating_sub(1);
    for m in merges {
        let (sr, sc) = m.start;
        let (er, ec) = (m.end.0.min(last_row), m.end.1.min(width.saturating_sub(1)));
        let Some(top) = sr.checked_sub(r0).and_then(|i| rows.get(i as usize)) else {
            continue;
        };
        let value = top.1.get(sc as usize).cloned().unwrap_or(Cell::Empty);
        if value.is_empty() {
            continue;
        }
        for r in sr..=er {
            let Some(row) = r.checked_sub(r0).and_then(|i| rows.get_mut(i as usize)) else {
                continue;
            };
            for c in sc..=ec {
                let c = c as usize;
                if row.1.len() <= c {
                    let grow = (c + 1 - row.1.len()) as u64;
                    budget = budget
                        .checked_sub(grow)
                        .ok_or_else(|| too_many_cells(sheet))?;
                    row.1.resize(c + 1, Cell::Empty);
                }
                if row.1[c].is_empty() {
                    row.1[c] = value.clone();
                }
            }
        }
    }
    Ok(RawSheet {
        file: file.to_string(),
        sheet: sheet.to_string(),
        rows,
        date1904,
    })
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

/// Line numbers counted so far: up to which byte, and how many line feeds before it.
#[derive(Default)]
struct LineCount {
    byte: usize,
    feeds: u32,
}

/// The text line a byte offset is on, as a text editor numbers it (lines end with LF,
/// CRLF or a lone CR, as the csv crate reads them). Counting resumes from the previous
/// call, so a pass over a file's records in order is linear.
fn line_at(bytes: &[u8], at: usize, counted: &mut LineCount) -> u32 {
    let at = at.min(bytes.len());
    if at < counted.byte {
        counted.byte = 0;
        counted.feeds = 0;
    }
    let span = &bytes[counted.byte..at];
    let feeds = span
        .iter()
        .enumerate()
        .filter(|(i, b)| match b {
            b'\n' => true,
            b'\r' => span.get(i + 1) != Some(&b'\n'),
            _ => false,
        })
        .count();
    counted.feeds = counted.feeds.saturating_add(feeds as u32);
    counted.byte = at;
    counted.feeds.saturating_add(1)
}

/// The text line a record's first field is on. The csv crate's own line count lags by
/// one after a CRLF line end (the LF is consumed with the next record) and does not
/// count lone CRs, so lines are counted here from the record's byte offset, skipping
/// the line ends in front of it.
fn record_line(bytes: &[u8], pos: Option<&csv::Position>, counted: &mut LineCount) -> u32 {
    let mut at = pos.map_or(0, |p| p.byte() as usize).min(bytes.len());
    while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
        at += 1;
    }
    line_at(bytes, at, counted)
}

/// Line breaks inside a record's fields (quoted cells holding several lines).
fn inner_breaks(record: &csv::StringRecord) -> u32 {
    record
        .iter()
        .map(|f| {
            let b = f.as_bytes();
            b.iter()
                .enumerate()
                .filter(|(i, c)| match c {
                    b'\n' => true,
                    b'\r' => b.get(i + 1) != Some(&b'\n'),
                    _ => false,
                })
                .count() as u32
        })
        .sum()
}

/// Where a quote opened that is still open at the end of the text, scanning from
/// `start` (the last record's first byte) with the csv crate's quoting rules: a quote
/// opens a field only at its start, and `""` inside a quoted field is a quote.
fn unclosed_quote(bytes: &[u8], start: usize, delimiter: u8) -> Option<usize> {
    let mut field_start = true;
    let mut open: Option<usize> = None;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if open.is_some() {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                open = None;
            }
        } else if b == delimiter || b == b'\n' || b == b'\r' {
            field_start = true;
            i += 1;
            continue;
        } else if field_start && b == b'"' {
            open = Some(i);
        }
        field_start = false;
        i += 1;
    }
    open
}

/// The widest record read (Excel's column limit): a wider one is a hostile or broken file.
pub const MAX_CSV_FIELDS: usize = 16_384;

/// The delimiter of a CSV: the one of `,` tab `;` that its first lines use most.
fn csv_delimiter(text: &str) -> u8 {
    let first: String = text.lines().take(5).collect::<Vec<_>>().join("\n");
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| (first.matches(*d as char).count(), *d == b','))
        .unwrap_or(b',')
}

/// The records of a CSV in order, each with the row number a spreadsheet program shows
/// for it: every record is one row (a quoted cell holding line breaks does not shift
/// later rows) and a blank line is an empty row.
pub struct CsvRecords<'t> {
    text: &'t str,
    reader: csv::Reader<&'t [u8]>,
    delimiter: u8,
    counted: LineCount,
    /// Line breaks inside the records read so far.
    shift: u32,
    last_start: usize,
    cells: u64,
    done: bool,
}

impl<'t> CsvRecords<'t> {
    pub fn new(text: &'t str) -> CsvRecords<'t> {
        let delimiter = csv_delimiter(text);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        CsvRecords {
            text,
            reader,
            delimiter,
            counted: LineCount::default(),
            shift: 0,
            last_start: 0,
            cells: 0,
            done: false,
        }
    }

    /// Reads the next record into `record` and returns its row number; `None` at the
    /// end. A quote still open at the end of the file, a record wider than Excel's
    /// columns, or more cells than a sheet may hold is an error about the whole file.
    pub fn next_into(&mut self, record: &mut csv::StringRecord) -> Option<Result<u32, LoadError>> {
        if self.done {
            return None;
        }
        let bytes = self.text.as_bytes();
        match self.reader.read_record(record) {
            Ok(false) => {
                self.done = true;
                let open = unclosed_quote(bytes, self.last_start, self.delimiter)?;
                let line = line_at(bytes, open, &mut LineCount::default());
                Some(Err(err(
                    ErrorKind::MalformedCsv,
                    format!(
                        "第 {line} 行的引号（\"）直到文件末尾都没有闭合，此后的内容无法按行分开；请检查该行后另存再试"
                    ),
                )))
            }
            Ok(true) => {
                let start = record.position().map_or(0, |p| p.byte() as usize);
                self.last_start = start;
                let line = record_line(bytes, record.position(), &mut self.counted);
                let row = line.saturating_sub(self.shift);
                self.shift = self.shift.saturating_add(inner_breaks(record));
                self.cells = self.cells.saturating_add(record.len() as u64);
                if record.len() > MAX_CSV_FIELDS {
                    self.done = true;
                    return Some(Err(err(
                        ErrorKind::TooLarge,
                        format!(
                            "第 {row} 行有 {} 列，超过上限 {MAX_CSV_FIELDS} 列",
                            record.len()
                        ),
                    )));
                }
                if self.cells > MAX_SHEET_CELLS {
                    self.done = true;
                    return Some(Err(err(
                        ErrorKind::TooLarge,
                        format!(
                            "单元格数量过多（超过 {} 万个），疑似异常文件，已拒绝读取",
                            MAX_SHEET_CELLS / 10_000
                        ),
                    )));
                }
                Some(Ok(row))
            }
            Err(e) => {
                self.done = true;
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Some(Err(err(
                    ErrorKind::MalformedCsv,
                    format!("第 {line} 行无法解析：{e}"),
                )))
            }
        }
    }
}

/// Reads a CSV whose bytes are already in memory into rows of cells (for the fuzz
/// targets and tests; the audit reads CSV records straight into columns).
pub fn parse_csv(text: &str, file: &str) -> Result<RawSheet, LoadError> {
    let mut records = CsvRecords::new(text);
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

/// The largest CSV read (it is decoded in memory): larger ones are refused, to be split
/// or given as parquet.
pub const MAX_CSV_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A CSV file's text, decoded, within the size limit.
pub fn read_csv_text(path: &Path) -> Result<String, LoadError> {
    let size = std::fs::metadata(path).map_err(|e| io_error(&e))?.len();
    if size > MAX_CSV_BYTES {
        return Err(err(
            ErrorKind::TooLarge,
            format!(
                "CSV 文件过大（{} MB，上限 {} MB），请按单位或月份拆分后评查",
                size / (1024 * 1024),
                MAX_CSV_BYTES / (1024 * 1024)
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| io_error(&e))?;
    decode_text_owned(bytes)
}

fn read_csv(path: &Path, display: &str) -> Result<RawSheet, LoadError> {
    parse_csv(&read_csv_text(path)?, display)
}

/// Reads a parquet file into a DataFrame (a panic inside the reader is a file error).
#[cfg(feature = "evaluate")]
pub fn read_parquet_frame(path: &Path) -> Result<polars::prelude::DataFrame, LoadError> {
    use polars::prelude::*;
    guarded(ErrorKind::InvalidParquet, || {
        let file = std::fs::File::open(path).map_err(|e| io_error(&e))?;
        ParquetReader::new(file).finish().map_err(|e| {
            err(
                ErrorKind::InvalidParquet,
                format!("不是有效的 parquet 文件。技术信息：{e}"),
            )
        })
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

    #[test]
    fn a_panic_inside_a_parser_is_a_file_error() {
        let r: Result<(), LoadError> = guarded(ErrorKind::Truncated, || panic!("library bug"));
        assert_eq!(r.map_err(|e| e.kind), Err(ErrorKind::Truncated));
        // The guard is left behind: a value comes back as it was.
        assert_eq!(guarded(ErrorKind::Truncated, || Ok(7)), Ok(7));
    }
}
