//! One budget per workbook file, spent before allocating: cells (including the empty
//! cells a far row or column index implies, repeated rows and columns, merged areas and
//! sheets that share one part), bytes inflated or scanned, and sheets. A file over
//! budget is `too_large`, refused before the memory or time is spent.
//!
//! Declared dimensions are never allocated from: calamine's xls and ods readers
//! allocate a dense grid for every sheet when the workbook is opened, so those files
//! are pre-scanned here (the BIFF records of an xls, the XML of an ods) and refused
//! before calamine sees them.

use crate::load::{err, LoadError};
use crate::model::ErrorKind;
use std::io::{Read, Seek};
use std::sync::atomic::{AtomicU64, Ordering};

/// The most cells one workbook file may cost, counted before allocating: every dense
/// grid a reader builds (calamine's for xls and ods, and ours), empty cells included,
/// plus the cells merged areas fill. About 1.6 GB at most as read. A real ledger of a
/// million cases and 40 columns is 40 million.
pub const MAX_FILE_CELLS: u64 = 50_000_000;
/// The most bytes one workbook file may make its readers inflate or scan, counting a
/// part again for every sheet that reads it.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The most sheets one workbook may hold.
pub const MAX_SHEETS: usize = 1000;

static CELL_LIMIT: AtomicU64 = AtomicU64::new(MAX_FILE_CELLS);
static BYTE_LIMIT: AtomicU64 = AtomicU64::new(MAX_FILE_BYTES);

/// Sets the per-file limits (cells, bytes) of every budget made after it in this
/// process; [`MAX_FILE_CELLS`] and [`MAX_FILE_BYTES`] unless set. For measuring memory
/// against the limits at a small scale (the fuzz target `memory`): with low limits, a
/// reader that allocates what it has not counted shows at once.
pub fn set_file_limits(cells: u64, bytes: u64) {
    CELL_LIMIT.store(cells, Ordering::Relaxed);
    BYTE_LIMIT.store(bytes, Ordering::Relaxed);
}

/// The per-file limits in force: (cells, bytes).
pub fn file_limits() -> (u64, u64) {
    (
        CELL_LIMIT.load(Ordering::Relaxed),
        BYTE_LIMIT.load(Ordering::Relaxed),
    )
}

/// What is left of a file's budget.
#[derive(Debug, Clone)]
pub struct Budget {
    cells: u64,
    bytes: u64,
}

impl Default for Budget {
    fn default() -> Self {
        let (cells, bytes) = file_limits();
        Budget { cells, bytes }
    }
}

fn too_large(reason: String) -> LoadError {
    err(ErrorKind::TooLarge, reason)
}

impl Budget {
    /// Spends `n` cells for `what` (a sheet, 合并单元格…), or refuses the file.
    pub fn cells(&mut self, n: u64, what: &str) -> Result<(), LoadError> {
        match self.cells.checked_sub(n) {
            Some(left) => {
                self.cells = left;
                Ok(())
            }
            None => Err(too_large(format!(
                "{what}的单元格范围过大（连同空单元格、重复行列和合并区域，全文件超过 {} 万个单元格），疑似异常文件，已拒绝读取",
                file_limits().0 / 10_000
            ))),
        }
    }

    /// Spends `n` bytes inflated or scanned for `what`, or refuses the file.
    pub fn bytes(&mut self, n: u64, what: &str) -> Result<(), LoadError> {
        match self.bytes.checked_sub(n) {
            Some(left) => {
                self.bytes = left;
                Ok(())
            }
            None => Err(too_large(format!(
                "{what}需要解压或扫描的数据过多（全文件超过 {} MB，多个工作表共用同一部分时重复计算），疑似异常文件，已拒绝读取",
                file_limits().1 / (1024 * 1024)
            ))),
        }
    }

    /// Refuses a workbook of more than [`MAX_SHEETS`] sheets.
    pub fn sheets(&self, n: usize) -> Result<(), LoadError> {
        if n > MAX_SHEETS {
            return Err(too_large(format!(
                "工作簿有 {n} 个工作表，超过上限 {MAX_SHEETS} 个，疑似异常文件，已拒绝读取"
            )));
        }
        Ok(())
    }
}

/// Cells of the bounding box of positions, as a dense grid of them costs.
#[derive(Debug, Clone, Copy, Default)]
struct BoundingBox {
    rows: Option<(u64, u64)>,
    cols: Option<(u64, u64)>,
}

impl BoundingBox {
    fn add(&mut self, r0: u64, r1: u64, c0: u64, c1: u64) {
        self.rows = Some(match self.rows {
            None => (r0, r1),
            Some((a, b)) => (a.min(r0), b.max(r1)),
        });
        self.cols = Some(match self.cols {
            None => (c0, c1),
            Some((a, b)) => (a.min(c0), b.max(c1)),
        });
    }

    fn cells(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => (r1 - r0 + 1).saturating_mul(c1 - c0 + 1),
            _ => 0,
        }
    }
}

pub(crate) fn u16_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 2)
        .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
}

pub(crate) fn u32_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 4)
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

/// BIFF records from `pos`: (type, data).
pub(crate) fn records(stream: &[u8], mut pos: usize) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let head = stream.get(pos..pos + 4)?;
        let typ = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let data = stream.get(pos + 4..pos + 4 + len)?;
        pos += 4 + len;
        Some((typ, data))
    })
}

/// The cells calamine's DIMENSIONS reservation costs, computed as calamine computes it
/// (its u32 arithmetic wraps on an inverted range, so such a record costs the most).
fn dimensions_cells(d: &[u8]) -> u64 {
    let (rf, rl, cf, cl) = match d.len() {
        10 => (u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), u16_at(d, 6)),
        14 | 16 => (u32_at(d, 0), u32_at(d, 4), u16_at(d, 8), u16_at(d, 10)),
        _ => return 0,
    };
    let (Some(rf), Some(rl), Some(mut cf), Some(cl)) = (rf, rl, cf, cl) else {
        return 0;
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    if rl < 1 || cl < 1 {
        return 1;
    }
    let rows = if rl > rf {
        rl - rf
    } else {
        u64::from(u32::MAX)
    };
    let cols = if cl > cf {
        cl - cf
    } else {
        u64::from(u32::MAX)
    };
    rows.saturating_mul(cols)
}

/// A compound file whose workbook stream the prescan cannot read. calamine's own reader
/// of compound files is more lenient (it ignores the header's byte order, version and
/// mini-stream cutoff, and the directory's tree), so it may still open such a file; but
/// then nothing would have counted what it allocates, and the file is refused instead.
fn unscannable(what: impl std::fmt::Display) -> LoadError {
    err(
        ErrorKind::Truncated,
        format!(
            "工作簿不完整或已损坏（复合文档结构无法完整读取，无法在读取前核算其大小，为安全起见未读取），请用 Excel 或 WPS 打开后另存为 .xlsx 再试。技术信息：{what}"
        ),
    )
}

/// Spends from `budget` what calamine's xls reader allocates for every sheet when the
/// workbook opens: the DIMENSIONS reservation and the dense ranges of the cells' and
/// formulas' bounding boxes (and the copy `worksheet_range` returns), sheet by sheet as
/// the workbook lists them (several may point at one substream).
///
/// A compound file without a workbook stream (an encrypted xlsx, another document) is
/// left to calamine to judge; one whose structure or workbook stream cannot be read here
/// is refused ([`unscannable`]), never handed to calamine uncounted.
pub fn prescan_xls<R: Read + Seek>(
    reader: R,
    file_len: u64,
    budget: &mut Budget,
) -> Result<(), LoadError> {
    let mut cf = cfb::CompoundFile::open(reader).map_err(unscannable)?;
    let name = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|n| cf.is_stream(n));
    let Some(name) = name else {
        return Ok(());
    };
    let s = cf.open_stream(name).map_err(unscannable)?;
    // A stream is at most as long as the file that holds it.
    let mut stream = Vec::new();
    s.take(file_len.saturating_add(4096))
        .read_to_end(&mut stream)
        .map_err(unscannable)?;
    budget.bytes(stream.len() as u64, "工作簿")?;
    let mut sheets = Vec::new();
    for (typ, data) in records(&stream, 0) {
        match typ {
            // FILEPASS with an encryption type: encrypted, calamine says so (cell
            // records are not readable). Without one, calamine reads on, and so do we.
            0x002F if u16_at(data, 0).is_some_and(|t| t != 0) => return Ok(()),
            // BOUNDSHEET: where a sheet's substream starts.
            0x0085 => {
                if let Some(pos) = u32_at(data, 0) {
                    sheets.push(pos as usize);
                }
            }
            0x000A => break,
            _ => {}
        }
    }
    budget.sheets(sheets.len())?;
    for pos in sheets {
        let Some(sub) = stream.get(pos..) else {
            continue;
        };
        let mut dims = 0u64;
        let mut cells = BoundingBox::default();
        let mut formulas = BoundingBox::default();
        let mut seen_bof = false;
        let mut depth = 0usize;
        let mut scanned = 0u64;
        for (typ, d) in records(sub, 0) {
            scanned += 4 + d.len() as u64;
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let at = |d: &[u8]| Some((u16_at(d, 0)?, u16_at(d, 2)?));
            match typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x0200 => dims = dims.saturating_add(dimensions_cells(d)),
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                    if let Some((r, c)) = at(d) {
                        cells.add(r, r, c, c);
                    }
                }
                // MULRK: a row, its first column and (last two bytes) its last column.
                0x00BD => {
                    if let (Some((r, c0)), Some(c1)) = (at(d), u16_at(d, d.len().saturating_sub(2)))
                    {
                        cells.add(r, r, c0.min(c1), c0.max(c1));
                    }
                }
                0x0006 => {
                    if let Some((r, c)) = at(d) {
                        cells.add(r, r, c, c);
                        formulas.add(r, r, c, c);
                    }
                }
                0x000A => break,
                _ => {}
            }
        }
        budget.bytes(scanned, "工作簿")?;
        // The reservation, the cells' range and its copy, the formulas' range.
        let cost = dims
            .saturating_add(cells.cells().saturating_mul(2))
            .saturating_add(formulas.cells());
        budget.cells(cost, "工作簿")?;
    }
    Ok(())
}

/// Spends from `budget` what calamine's ods reader allocates when the workbook opens:
/// for each table, the dense grid over its non-empty cells, with repeated rows and
/// columns expanded (and the copy `worksheet_range` returns). `content` is the
/// document's content.xml.
pub fn prescan_ods<R: std::io::BufRead>(content: R, budget: &mut Budget) -> Result<(), LoadError> {
    use quick_xml::events::{BytesStart, Event};
    let repeats = |e: &BytesStart, key: &str| -> u64 {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| a.value.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let has_value = |e: &BytesStart| {
        e.attributes()
            .flatten()
            .any(|a| a.key.as_ref() == "office:value-type")
    };
    let mut reader = quick_xml::Reader::from_reader(content);
    let mut buf = Vec::new();
    let mut tables = 0usize;
    let mut grid = BoundingBox::default();
    let mut row = 0u64;
    let mut row_reps = 1u64;
    let mut in_row = false;
    let mut col = 0u64;
    // The first and last non-empty column of the current row.
    let mut used: Option<(u64, u64)> = None;
    loop {
        let ev = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            // Damaged XML: calamine says so.
            Err(_) => return Ok(()),
        };
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            match e.name().as_ref() {
                "table:table" if !empty => {
                    tables += 1;
                    budget.sheets(tables)?;
                    grid = BoundingBox::default();
                    row = 0;
                }
                "table:table-row" => {
                    let reps = repeats(e, "table:number-rows-repeated");
                    if empty {
                        row = row.saturating_add(reps);
                    } else {
                        in_row = true;
                        row_reps = reps;
                        col = 0;
                        used = None;
                    }
                }
                "table:table-cell" | "table:covered-table-cell" if in_row => {
                    let reps = repeats(e, "table:number-columns-repeated");
                    // A cell with a value or content (a self-closing cell without a
                    // value type is empty).
                    if !empty || has_value(e) {
                        let last = col.saturating_add(reps - 1);
                        used = Some(match used {
                            None => (col, last),
                            Some((a, _)) => (a, last),
                        });
                    }
                    col = col.saturating_add(reps);
                }
                _ => {}
            }
        }
        match &ev {
            Event::End(e) if e.name().as_ref() == "table:table-row" && in_row => {
                if let Some((c0, c1)) = used {
                    let last = row.saturating_add(row_reps - 1);
                    grid.add(row, last, c0, c1);
                    // Checked as the rows come, so a huge table is refused early.
                    if grid.cells().saturating_mul(2) > budget.cells {
                        budget.cells(grid.cells().saturating_mul(2), "工作簿")?;
                    }
                }
                row = row.saturating_add(row_reps);
                in_row = false;
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                budget.cells(grid.cells().saturating_mul(2), "工作簿")?;
                grid = BoundingBox::default();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

/// Spends from `budget` the shared strings calamine's xlsx reader reserves room for
/// when the workbook opens: the `uniqueCount` its shared-string table declares (a
/// hostile file declares billions in a few bytes). `part` is that table's XML.
pub fn prescan_shared_strings<R: std::io::BufRead>(
    part: R,
    budget: &mut Budget,
) -> Result<(), LoadError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(part);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                if e.local_name().as_ref() != "sst" {
                    return Ok(());
                }
                let declared = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == "uniqueCount")
                    .and_then(|a| a.value.trim().parse::<u64>().ok());
                if let Some(n) = declared {
                    budget.cells(n, "共享字符串表")?;
                }
                return Ok(());
            }
            Ok(Event::Eof) | Err(_) => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// Spends from `budget` what a parquet reader allocates, as the file's metadata declares
/// it before anything is read: for each row group (rows, columns, bytes the column
/// chunks inflate to), its cells and its bytes. A few kilobytes of parquet can declare
/// tens of millions of rows of one repeated value, which the reader then materialises.
pub fn prescan_parquet(
    row_groups: impl Iterator<Item = (u64, u64, u64)>,
    budget: &mut Budget,
) -> Result<(), LoadError> {
    for (rows, columns, bytes) in row_groups {
        budget.cells(rows.saturating_mul(columns.max(1)), "parquet 文件")?;
        budget.bytes(bytes, "parquet 文件")?;
    }
    Ok(())
}

/// The cells an xlsx or xlsb sheet's rows cost as read: every row from the top of the
/// sheet to its last used row (an empty row costs one), each up to its last used column.
/// `rows` holds (row index, last used column) for each row with a used cell.
pub fn sparse_cost(rows: impl Iterator<Item = (u32, u32)>) -> u64 {
    let mut last_row = None::<u32>;
    let mut with_cells = 0u64;
    let mut widths = 0u64;
    for (r, c) in rows {
        last_row = Some(last_row.map_or(r, |l| l.max(r)));
        with_cells += 1;
        widths = widths.saturating_add(u64::from(c) + 1);
    }
    match last_row {
        None => 0,
        Some(l) => (u64::from(l) + 1)
            .saturating_sub(with_cells)
            .saturating_add(widths),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_cost_what_calamine_reserves() {
        // rwMic 0, rwMac 2^32-1, colMic 0, colMac 256: 2^32-1 rows of 256 columns.
        let mut d = Vec::new();
        d.extend(0u32.to_le_bytes());
        d.extend(u32::MAX.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(256u16.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        assert_eq!(dimensions_cells(&d), (u64::from(u32::MAX)) * 256);
        // An inverted range wraps in calamine: the most.
        let mut inv = Vec::new();
        inv.extend(10u32.to_le_bytes());
        inv.extend(5u32.to_le_bytes());
        inv.extend(0u16.to_le_bytes());
        inv.extend(2u16.to_le_bytes());
        inv.extend(0u16.to_le_bytes());
        assert!(dimensions_cells(&inv) > MAX_FILE_CELLS);
    }

    #[test]
    fn ods_repeated_rows_are_counted_before_reading() {
        let row = |reps: u64| {
            format!(
                "<table:table-row table:number-rows-repeated=\"{reps}\"><table:table-cell office:value-type=\"string\"><text:p>x</text:p></table:table-cell><table:table-cell table:number-columns-repeated=\"40\" office:value-type=\"float\" office:value=\"1\"/><table:table-cell table:number-columns-repeated=\"1000\"/></table:table-row>"
            )
        };
        let doc = |reps| {
            format!(
                "<office:document-content><office:body><office:spreadsheet><table:table table:name=\"a\">{}{}<table:table-row table:number-rows-repeated=\"1048000\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>",
                row(1),
                row(reps)
            )
        };
        let mut b = Budget::default();
        assert!(prescan_ods(doc(1000).as_bytes(), &mut b).is_ok());
        let mut b = Budget::default();
        let e = prescan_ods(doc(1_000_000).as_bytes(), &mut b).expect_err("too large");
        assert_eq!(e.kind, ErrorKind::TooLarge);
    }

    #[test]
    fn a_part_never_inflates_past_its_declared_size() {
        // The zip directory's declared sizes are checked against the limits before
        // anything is read (load.rs). That is enough only because the zip crate stops
        // a part at its declared size: pinned here.
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("xl/worksheets/sheet1.xml", opts)
            .unwrap_or_else(|e| panic!("{e}"));
        z.write_all(&vec![b' '; 4 * 1024 * 1024])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
        // 4 MB of spaces, packed; the local header and the directory then claim 100 bytes.
        let declared = (4u32 * 1024 * 1024).to_le_bytes();
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(4).position(|w| w == declared) {
            bytes[at + i..at + i + 4].copy_from_slice(&100u32.to_le_bytes());
            at += i + 4;
        }
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(z.by_index_raw(0).map(|f| f.size()).ok(), Some(100));
        let mut f = z.by_index(0).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        assert!(f.read_to_end(&mut out).is_err());
        assert!(out.len() <= 4096, "{}", out.len());
    }

    #[test]
    fn parquet_row_groups_are_charged_as_declared() {
        let mut b = Budget::default();
        assert!(prescan_parquet([(1_000_000, 40, 1 << 20)].into_iter(), &mut b).is_ok());
        let mut b = Budget::default();
        let e = prescan_parquet([(26_000_000, 3, 1 << 20)].into_iter(), &mut b)
            .expect_err("too many cells");
        assert_eq!(e.kind, ErrorKind::TooLarge);
        let mut b = Budget::default();
        let e = prescan_parquet([(2, 3, u64::MAX / 2)].into_iter(), &mut b)
            .expect_err("too many bytes");
        assert_eq!(e.kind, ErrorKind::TooLarge);
    }

    #[test]
    fn a_far_row_costs_the_rows_above_it() {
        assert_eq!(sparse_cost([(0, 2), (2, 0)].into_iter()), 3 + 1 + 1);
        assert!(sparse_cost([(u32::MAX - 1, 0)].into_iter()) > MAX_FILE_CELLS);
    }
}
