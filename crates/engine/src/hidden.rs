//! Hidden columns of an xlsx sheet, for `inspect` to mark (decisions.md: hidden rows and
//! columns are data; someone hid them, they are still the ledger). calamine does not
//! expose column visibility, so the sheet's `<cols>` element is read from the zip,
//! bounded: only the part of the sheet XML before `<sheetData` is read, at most
//! [`MAX_XML_BYTES`] of it.

use std::collections::HashMap;
use std::io::{Read, Seek};

/// The most bytes read from any one XML part.
const MAX_XML_BYTES: u64 = 1 << 20;
/// The most columns a `<col>` range may mark (Excel has 16,384).
const MAX_COLUMNS: u32 = 16_384;

fn read_part<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Option<String> {
    let f = zip.by_name(name).ok()?;
    let mut buf = Vec::new();
    f.take(MAX_XML_BYTES).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one tag's text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let end = tag[i..].find('"')?;
    Some(unescape(&tag[i..i + end]))
}

/// Every opening tag `<name …>` in `xml`, as its text.
fn tags<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(end) = after.find('>') else { break };
        if after.starts_with([' ', '/', '>', '\t', '\n', '\r']) {
            out.push(&after[..end]);
        }
        rest = &after[end..];
    }
    out
}

/// Zero-based indices of the hidden columns of `<cols>` in a sheet's XML.
fn hidden_in_sheet(xml: &str) -> Vec<usize> {
    let head = match xml.find("<sheetData") {
        Some(i) => &xml[..i],
        None => xml,
    };
    let mut out = Vec::new();
    for t in tags(head, "col") {
        let hidden = attr(t, "hidden").is_some_and(|v| v == "1" || v == "true");
        if !hidden {
            continue;
        }
        let (Some(min), Some(max)) = (
            attr(t, "min").and_then(|v| v.parse::<u32>().ok()),
            attr(t, "max").and_then(|v| v.parse::<u32>().ok()),
        ) else {
            continue;
        };
        if min == 0 || max < min {
            continue;
        }
        for c in min..=max.min(MAX_COLUMNS) {
            out.push((c - 1) as usize);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Each sheet of an xlsx workbook: (name, path of its part in the zip).
fn sheet_paths<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> Vec<(String, String)> {
    let (Some(book), Some(rels)) = (
        read_part(zip, "xl/workbook.xml"),
        read_part(zip, "xl/_rels/workbook.xml.rels"),
    ) else {
        return Vec::new();
    };
    let targets: HashMap<String, String> = tags(&rels, "Relationship")
        .into_iter()
        .filter_map(|t| Some((attr(t, "Id")?, attr(t, "Target")?)))
        .collect();
    tags(&book, "sheet")
        .into_iter()
        .filter_map(|t| {
            let (name, id) = (attr(t, "name")?, attr(t, "r:id")?);
            let target = targets.get(&id)?;
            let path = match target.strip_prefix('/') {
                Some(abs) => abs.to_string(),
                None => format!("xl/{target}"),
            };
            Some((name, path))
        })
        .collect()
}

/// Hidden columns per sheet name of an xlsx workbook; empty when the file is not one
/// or says nothing (never an error: visibility only annotates `inspect`).
pub fn hidden_columns<R: Read + Seek>(reader: R) -> HashMap<String, Vec<usize>> {
    let mut out = HashMap::new();
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return out;
    };
    for (name, path) in sheet_paths(&mut zip) {
        if let Some(xml) = read_part(&mut zip, &path) {
            let hidden = hidden_in_sheet(&xml);
            if !hidden.is_empty() {
                out.insert(name, hidden);
            }
        }
    }
    out
}

/// The most bytes of a sheet's `<mergeCells>` element read (a million areas).
const MAX_MERGE_BYTES: u64 = 64 << 20;

/// Merged areas per sheet name of an xlsx workbook. The `<mergeCells>` element follows
/// the sheet's data, so the part is inflated and searched for it as bytes: parsing the
/// whole sheet as XML a second time (calamine's way) would cost as much as reading it.
pub(crate) fn merged_areas<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
) -> HashMap<String, Vec<calamine::Dimensions>> {
    let mut out = HashMap::new();
    for (name, path) in sheet_paths(zip) {
        let Ok(part) = zip.by_name(&path) else {
            continue;
        };
        let Some(xml) = merge_cells_element(part) else {
            continue;
        };
        let areas: Vec<calamine::Dimensions> = tags(&xml, "mergeCell")
            .into_iter()
            .filter_map(|t| area(&attr(t, "ref")?))
            .collect();
        if !areas.is_empty() {
            out.insert(name, areas);
        }
    }
    out
}

/// The text from `<mergeCells` to the end of a part (bounded), if it has one.
fn merge_cells_element(mut part: impl Read) -> Option<String> {
    const TAG: &[u8] = b"<mergeCells";
    let finder = memchr::memmem::Finder::new(TAG);
    let mut buf = vec![0u8; 1 << 18];
    // Bytes kept from the previous read: a tag may straddle two.
    let mut kept = 0usize;
    loop {
        let n = part.read(&mut buf[kept..]).ok()?;
        if n == 0 {
            return None;
        }
        let filled = kept + n;
        if let Some(i) = finder.find(&buf[..filled]) {
            let mut rest = buf[i..filled].to_vec();
            part.take(MAX_MERGE_BYTES).read_to_end(&mut rest).ok()?;
            return Some(String::from_utf8_lossy(&rest).into_owned());
        }
        kept = (TAG.len() - 1).min(filled);
        buf.copy_within(filled - kept..filled, 0);
    }
}

/// An area `A1:C3` (or one cell `B2`), zero-based.
fn area(r: &str) -> Option<calamine::Dimensions> {
    let cell = |c: &str| -> Option<(u32, u32)> {
        let digits = c.find(|ch: char| ch.is_ascii_digit())?;
        let (letters, row) = c.split_at(digits);
        if letters.is_empty() || !letters.chars().all(|ch| ch.is_ascii_alphabetic()) {
            return None;
        }
        let row: u32 = row.parse().ok()?;
        let col = crate::header_col_index(&letters.to_ascii_uppercase());
        Some((row.checked_sub(1)?, u32::try_from(col).ok()?))
    };
    let (a, b) = r.split_once(':').unwrap_or((r, r));
    let (start, end) = (cell(a.trim())?, cell(b.trim())?);
    Some(calamine::Dimensions::new(start, end))
}

/// Marks the hidden columns of one sheet's column mappings.
pub fn mark(
    hidden: &HashMap<String, Vec<usize>>,
    sheet: &str,
    columns: &mut [crate::model::ColumnMapping],
) {
    let Some(h) = hidden.get(sheet) else { return };
    for c in columns {
        if h.binary_search(&crate::header_col_index(&c.column)).is_ok() {
            c.hidden = true;
        }
    }
}

/// The most bytes of an ODS `content.xml` scanned for column visibility: the columns of
/// each table come before its rows, so a sheet past this point is simply not marked.
const MAX_ODS_BYTES: u64 = 16 << 20;

/// Hidden columns per sheet name of an ODS workbook (`<table:table-column
/// table:visibility="collapse">`, with `table:number-columns-repeated`).
pub fn hidden_columns_ods<R: Read + Seek>(reader: R) -> HashMap<String, Vec<usize>> {
    let mut out = HashMap::new();
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return out;
    };
    let Some(xml) = zip.by_name("content.xml").ok().and_then(|f| {
        let mut buf = Vec::new();
        f.take(MAX_ODS_BYTES).read_to_end(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    }) else {
        return out;
    };
    let mut sheet: Option<String> = None;
    let mut col = 0u32;
    let mut hidden: Vec<usize> = Vec::new();
    let mut rest = xml.as_str();
    let mut flush = |sheet: &mut Option<String>, hidden: &mut Vec<usize>| {
        if let Some(name) = sheet.take() {
            if !hidden.is_empty() {
                out.insert(name, std::mem::take(hidden));
            }
        }
        hidden.clear();
    };
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let Some(end) = after.find('>') else { break };
        let tag = &after[..end];
        rest = &after[end..];
        let name = tag.split([' ', '/', '\t', '\n', '\r']).next().unwrap_or("");
        match name {
            "table:table" => {
                flush(&mut sheet, &mut hidden);
                sheet = attr(tag, "table:name");
                col = 0;
            }
            "table:table-column" if sheet.is_some() => {
                let n = attr(tag, "table:number-columns-repeated")
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(1)
                    .max(1);
                let end_col = col.saturating_add(n).min(MAX_COLUMNS);
                if attr(tag, "table:visibility").is_some_and(|v| v == "collapse") {
                    hidden.extend((col..end_col).map(|c| c as usize));
                }
                col = end_col;
            }
            "table:table-row" => flush(&mut sheet, &mut hidden),
            _ => {}
        }
    }
    flush(&mut sheet, &mut hidden);
    out
}

/// The hidden columns of each sheet of a BIFF (.xls) workbook: the COLINFO records
/// whose hidden flag is set, by sheet name (BOUNDSHEET). Read within the stream's own
/// length; a file that is not a readable workbook has none.
pub fn hidden_columns_xls<R: Read + Seek>(reader: R, file_len: u64) -> HashMap<String, Vec<usize>> {
    use crate::budget::{records, u16_at, u32_at};
    let mut out = HashMap::new();
    let Ok(mut cf) = cfb::CompoundFile::open(reader) else {
        return out;
    };
    let Some(name) = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|n| cf.is_stream(n))
    else {
        return out;
    };
    let Ok(s) = cf.open_stream(name) else {
        return out;
    };
    let mut stream = Vec::new();
    if s.take(file_len.saturating_add(4096))
        .read_to_end(&mut stream)
        .is_err()
    {
        return out;
    }
    // BOUNDSHEET (BIFF8): substream offset, visibility, type, then the name as a short
    // Unicode string (length, flags: bit 0 = two bytes a character).
    let mut sheets: Vec<(usize, String)> = Vec::new();
    for (typ, d) in records(&stream, 0) {
        match typ {
            0x0085 => {
                let (Some(pos), Some(&len), Some(&flags)) = (u32_at(d, 0), d.get(6), d.get(7))
                else {
                    continue;
                };
                let len = usize::from(len);
                let name = if flags & 1 == 1 {
                    let units: Vec<u16> = d
                        .get(8..8 + 2 * len)
                        .unwrap_or_default()
                        .chunks_exact(2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]]))
                        .collect();
                    String::from_utf16_lossy(&units)
                } else {
                    // Latin-1 (the compressed form).
                    d.get(8..8 + len)
                        .unwrap_or_default()
                        .iter()
                        .map(|&b| char::from(b))
                        .collect()
                };
                sheets.push((pos as usize, name));
            }
            0x000A => break,
            _ => {}
        }
    }
    for (pos, name) in sheets {
        let Some(sub) = stream.get(pos..) else {
            continue;
        };
        let mut hidden = Vec::new();
        for (typ, d) in records(sub, 0).skip(1) {
            match typ {
                // COLINFO: first and last column, width, format, options (bit 0 hidden).
                0x007D => {
                    if let (Some(first), Some(last), Some(opts)) =
                        (u16_at(d, 0), u16_at(d, 2), u16_at(d, 8))
                    {
                        if opts & 1 == 1 {
                            // BIFF8 has 256 columns.
                            hidden.extend(first as usize..=(last.min(255) as usize));
                        }
                    }
                }
                // The next substream's BOF or this one's EOF.
                0x0809 | 0x000A => break,
                _ => {}
            }
        }
        if !hidden.is_empty() {
            // COLINFO records may come in any order and overlap; `mark` binary-searches.
            hidden.sort_unstable();
            hidden.dedup();
            out.insert(name, hidden);
        }
    }
    out
}

/// The hidden columns of a file, by its extension: xlsx and xlsm ([`hidden_columns`]),
/// xls ([`hidden_columns_xls`]) or ods ([`hidden_columns_ods`]); empty for other files.
pub fn hidden_columns_of(path: &std::path::Path) -> HashMap<String, Vec<usize>> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let Ok(f) = std::fs::File::open(path) else {
        return HashMap::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let r = std::io::BufReader::new(f);
    match ext.as_str() {
        "xlsx" | "xlsm" => hidden_columns(r),
        "xls" => hidden_columns_xls(r, len),
        "ods" => hidden_columns_ods(r),
        _ => HashMap::new(),
    }
}

#[cfg(test)]
mod tests {
    /// Gives its bytes three at a time, so that a tag straddles reads.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(3).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn merged_areas_are_found_after_the_data_in_any_reads() {
        let xml = r#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData><mergeCells count="2"><mergeCell ref="A1:C1"/><mergeCell ref="AB12"/></mergeCells></worksheet>"#;
        let text = super::merge_cells_element(Trickle(xml.as_bytes())).expect("found");
        let areas: Vec<calamine::Dimensions> = super::tags(&text, "mergeCell")
            .into_iter()
            .filter_map(|t| super::area(&super::attr(t, "ref")?))
            .collect();
        assert_eq!(
            areas,
            vec![
                calamine::Dimensions::new((0, 0), (0, 2)),
                calamine::Dimensions::new((11, 27), (11, 27))
            ]
        );
        assert!(
            super::merge_cells_element(Trickle(b"<worksheet><sheetData/></worksheet>")).is_none()
        );
        assert_eq!(super::area("A0:B2"), None);
        assert_eq!(super::area("1:2"), None);
    }

    use super::*;

    #[test]
    fn hidden_cols_are_read_before_the_sheet_data_only() {
        let xml = r#"<worksheet><cols><col min="1" max="1" width="5"/><col min="3" max="4" hidden="1" width="9"/><col min="6" max="6" hidden="true"/></cols><sheetData><row><c r="A1"><v>1</v></c></row></sheetData><cols><col min="9" max="9" hidden="1"/></cols></worksheet>"#;
        assert_eq!(hidden_in_sheet(xml), vec![2, 3, 5]);
        assert_eq!(
            hidden_in_sheet(r#"<col min="2" max="99999999" hidden="1"/>"#).len(),
            16_383
        );
        assert!(hidden_in_sheet(r#"<col min="0" max="2" hidden="1"/>"#).is_empty());
        assert!(hidden_in_sheet("<colx min=\"1\" max=\"1\" hidden=\"1\"/>").is_empty());
    }

    #[test]
    fn a_workbook_maps_sheet_names_to_their_hidden_columns() {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            let mut put = |name: &str, text: &str| {
                z.start_file(name, o).expect("start");
                z.write_all(text.as_bytes()).expect("write");
            };
            put(
                "xl/workbook.xml",
                r#"<workbook><sheets><sheet name="一季度 &amp; 二季度" sheetId="1" r:id="rId1"/><sheet name="填报说明" sheetId="2" r:id="rId2"/></sheets></workbook>"#,
            );
            put(
                "xl/_rels/workbook.xml.rels",
                r#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="/xl/worksheets/sheet2.xml"/></Relationships>"#,
            );
            put(
                "xl/worksheets/sheet1.xml",
                r#"<worksheet><cols><col min="5" max="5" hidden="1"/></cols><sheetData/></worksheet>"#,
            );
            put(
                "xl/worksheets/sheet2.xml",
                "<worksheet><sheetData/></worksheet>",
            );
            z.finish().expect("finish");
        }
        buf.set_position(0);
        let h = hidden_columns(buf);
        assert_eq!(h.get("一季度 & 二季度"), Some(&vec![4]));
        assert_eq!(h.get("填报说明"), None);
        assert!(hidden_columns(std::io::Cursor::new(b"not a zip".to_vec())).is_empty());
    }

    #[test]
    fn ods_collapsed_columns_are_hidden_with_their_repeats() {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            z.start_file("content.xml", o).expect("start");
            z.write_all(
                r#"<office:document-content><office:body><office:spreadsheet><table:table table:name="台账"><table:table-column table:number-columns-repeated="2"/><table:table-column table:visibility="collapse" table:number-columns-repeated="2"/><table:table-column/><table:table-row><table:table-cell/></table:table-row><table:table-column table:visibility="collapse"/></table:table><table:table table:name="说明"><table:table-column/><table:table-row/></table:table></office:spreadsheet></office:body></office:document-content>"#
                    .as_bytes(),
            )
            .expect("write");
            z.finish().expect("finish");
        }
        buf.set_position(0);
        let h = hidden_columns_ods(buf);
        assert_eq!(h.get("台账"), Some(&vec![2, 3]));
        assert_eq!(h.get("说明"), None);
    }
}
