//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (cargo-fuzz) and by
//! the replay test in the main test suite (`tests/fuzz_replay.rs`), which runs every
//! seed and every saved crash input through the same checks on each CI run.
//!
//! Each function takes arbitrary bytes and must return normally; the assertions are
//! invariants beyond "no panic".
#![allow(dead_code)]

use caseaudit_engine::budget;
use caseaudit_engine::cell::{column_letter, Cell, RawSheet};
use caseaudit_engine::header::{detect, fold_header, AliasIndex};
use caseaudit_engine::hidden::{hidden_columns_ods, hidden_columns_xls};
use caseaudit_engine::load::{decode_text, parse_csv, read_workbook_bytes};
use caseaudit_engine::normalize::{normalize as normalize_cell, parse_date_text, Typed};
use caseaudit_rules::calendar::format_day;
use caseaudit_rules::expr::{field_ty, Case, EvalContext, Ty, Val};
use caseaudit_rules::RulePack;
use std::io::Write;
use std::sync::OnceLock;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("normalize", normalize),
    ("header", header),
    ("condition", condition),
    ("csv", csv),
    ("xlsx", xlsx),
    ("xls", xls),
    ("ods", ods),
    ("render", render),
];

/// The escaping functions of the report crate (text only, no dependencies), compiled
/// here directly so that the fuzz build stays free of polars.
#[path = "../crates/report/src/safe.rs"]
mod safe;

pub fn pack() -> &'static RulePack {
    static P: OnceLock<RulePack> = OnceLock::new();
    P.get_or_init(|| match RulePack::builtin() {
        Ok(p) => p,
        Err(e) => panic!("built-in pack: {e}"),
    })
}

fn index() -> &'static AliasIndex {
    static I: OnceLock<AliasIndex> = OnceLock::new();
    I.get_or_init(|| AliasIndex::new(&pack().fields))
}

/// Cell normalisers (date, boolean, money, list, enum, text) on arbitrary cells.
///
/// Input: byte 0 chooses the cell kind and the 1904 flag, byte 1 the header scale;
/// the rest is the cell's text (or, for numbers, eight bytes of an f64).
/// Checks beyond "no panic": a date read back from its ISO form is the same day,
/// money is finite, list items are never blank, and an Excel error cell is a finding.
pub fn normalize(data: &[u8]) {
    let [kind, scale, rest @ ..] = data else {
        return;
    };
    let date1904 = kind & 0x80 != 0;
    let scale = if scale & 1 == 0 { 1.0 } else { 10000.0 };
    let text = String::from_utf8_lossy(rest).into_owned();
    let cell = match kind & 0x07 {
        0..=2 => Cell::Text(text.clone()),
        3 => {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(rest) {
                *d = *s;
            }
            Cell::Number(f64::from_le_bytes(b))
        }
        4 => Cell::Bool(rest.first().is_some_and(|b| b & 1 == 1)),
        5 => {
            let mut b = [0u8; 4];
            for (d, s) in b.iter_mut().zip(rest) {
                *d = *s;
            }
            Cell::Date(i32::from_le_bytes(b))
        }
        6 => Cell::Error(text.clone()),
        _ => Cell::Empty,
    };
    let pack = pack();
    for field in pack.fields.iter() {
        let (value, problem) = normalize_cell(&cell, field, &pack.fields.words, scale, date1904);
        match &value {
            Typed::Date(d) => {
                let iso = format_day(*d);
                assert_eq!(
                    parse_date_text(&iso, false),
                    Some(*d),
                    "{cell:?} read as {iso}, which does not read back"
                );
            }
            Typed::Money(m) => assert!(m.is_finite(), "{cell:?} read as money {m}"),
            Typed::List(items) => {
                assert!(!items.is_empty());
                assert!(
                    items.iter().all(|i| !i.trim().is_empty()),
                    "{cell:?} gave a blank list item: {items:?}"
                );
            }
            Typed::Null | Typed::Text(_) | Typed::Bool(_) => {}
        }
        if let Cell::Error(_) = cell {
            if !cell.is_empty() {
                assert!(problem.is_some(), "an error cell must be a finding");
            }
        }
    }
    let _ = parse_date_text(&text, date1904);
}

/// Header detection and alias matching on arbitrary grids.
///
/// Input: text; lines are rows, tabs separate cells. A cell that starts with `#` is an
/// Excel error value, `\x01` a number, `\x02` a date serial; the rest is text.
/// Checks: a detected header lies inside the sheet, its data start follows its rows,
/// and every mapped field is listed under its column letter.
pub fn header(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let rows: Vec<(u32, Vec<Cell>)> = text
        .split('\n')
        .take(200)
        .enumerate()
        .map(|(i, line)| {
            let cells = line
                .split('\t')
                .take(64)
                .map(|c| {
                    if let Some(n) = c.strip_prefix('\u{1}') {
                        n.parse().map(Cell::Number).unwrap_or(Cell::Empty)
                    } else if let Some(n) = c.strip_prefix('\u{2}') {
                        n.parse().map(Cell::Date).unwrap_or(Cell::Empty)
                    } else if c.starts_with('#') {
                        Cell::Error(c.to_string())
                    } else if c.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(c.to_string())
                    }
                })
                .collect();
            (i as u32 + 1, cells)
        })
        .collect();
    for (_, cells) in &rows {
        for c in cells {
            let t = c.display();
            let _ = fold_header(&t);
            let _ = index().lookup(&t);
        }
    }
    let sheet = RawSheet {
        file: "fuzz.xlsx".into(),
        sheet: "Sheet1".into(),
        rows,
        date1904: false,
    };
    let fields = &pack().fields;
    if let Some(h) = detect(&sheet, fields, index()) {
        assert!(!h.rows.is_empty());
        assert!(h.data_start <= sheet.rows.len());
        let last_header_row = *h.rows.iter().max().unwrap_or(&0);
        if let Some((first_data, _)) = sheet.rows.get(h.data_start) {
            assert!(
                *first_data > last_header_row,
                "data starts inside the header"
            );
        }
        for (field, col) in &h.fields {
            let letter = column_letter(*col);
            let mapped = h.columns.iter().find(|m| m.column == letter);
            assert!(
                mapped.is_some_and(|m| m.field.as_deref() == Some(field.as_str())),
                "{field} maps to column {letter}, which the header does not list as it"
            );
        }
    }
}

fn full_case(pack: &RulePack) -> Case {
    pack.fields
        .iter()
        .map(|f| {
            let v = match field_ty(f.ty) {
                Ty::Text => Val::Text("行政处罚".into()),
                Ty::Date => Val::Date(19_000),
                Ty::Bool => Val::Bool(true),
                Ty::Number => Val::Num(5000.0),
                Ty::List => Val::List(vec!["罚款".into(), "警告".into()]),
                _ => Val::Null,
            };
            (f.name.clone(), v)
        })
        .collect()
}

/// The condition language: parse and type-check arbitrary text against the built-in
/// pack's fields, parameters and derived fields; when it is accepted, evaluate and
/// explain it on an all-NULL case and on a case with every field filled.
/// Checks: a checked condition evaluates to its declared type (or NULL).
pub fn condition(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pack = pack();
    let Ok(expr) = pack.parse_condition(text, Ty::Bool) else {
        return;
    };
    let Ok(profile) = pack.profile("national") else {
        return;
    };
    let values = pack.param_values(profile);
    let calendar = pack.calendar(profile);
    let ctx = EvalContext {
        params: &values,
        calendar: &calendar,
        as_of: 19_357,
        derived: &pack.derived_exprs,
    };
    for case in [Case::new(), full_case(pack)] {
        let v = ctx.eval(&expr, &case);
        assert!(
            matches!(v, Val::Null | Val::Bool(_)),
            "condition `{text}` checked as a boolean but gave {v:?}"
        );
        let _ = ctx.explain(&expr, &case).render();
    }
}

/// The CSV loader: encoding detection (UTF-8 with or without BOM, UTF-16 with BOM,
/// GB18030/GBK), delimiter choice and record parsing on arbitrary bytes, then header
/// detection and normalising every mapped cell, as the audit does.
/// Checks: row numbers (the line each record starts on) strictly increase and stay
/// within the text's lines.
pub fn csv(data: &[u8]) {
    let Ok(text) = decode_text(data) else {
        return;
    };
    let Ok(sheet) = parse_csv(&text, "fuzz.csv") else {
        return;
    };
    for pair in sheet.rows.windows(2) {
        assert!(
            pair[0].0 < pair[1].0,
            "row numbers out of order: {} then {}",
            pair[0].0,
            pair[1].0
        );
    }
    // No row number past the text's last line (LF, CRLF and lone CR end lines).
    let lines =
        1 + text.matches('\n').count() + text.matches('\r').count() - text.matches("\r\n").count();
    if let Some((last, _)) = sheet.rows.last() {
        assert!(*last as usize <= lines, "row {last} of a {lines}-line text");
    }
    let pack = pack();
    let Some(h) = detect(&sheet, &pack.fields, index()) else {
        return;
    };
    for (_, cells) in &sheet.rows[h.data_start..] {
        for (name, col) in &h.fields {
            let (Some(field), Some(cell)) = (pack.fields.get(name), cells.get(*col)) else {
                continue;
            };
            let scale = h.scale.get(col).copied().unwrap_or(1.0);
            let _ = normalize_cell(cell, field, &pack.fields.words, scale, false);
        }
    }
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

fn workbook_xml(date1904: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr date1904="{}"/><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        u8::from(date1904)
    )
}

pub fn pack_xlsx(parts: &[&[u8]], date1904: bool) -> Option<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let empty: &[u8] = b"";
    let mut files: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        (
            "xl/worksheets/sheet1.xml",
            parts.first().copied().unwrap_or(empty),
        ),
    ];
    if let Some(s) = parts.get(1) {
        files.push(("xl/sharedStrings.xml", s));
    }
    if let Some(s) = parts.get(2) {
        files.push(("xl/styles.xml", s));
    }
    let wb = workbook_xml(date1904);
    files.push(("xl/workbook.xml", wb.as_bytes()));
    for (name, body) in files {
        zip.start_file(name, opts).ok()?;
        zip.write_all(body).ok()?;
    }
    zip.finish().ok().map(|c| c.into_inner())
}

pub fn split_parts(data: &[u8]) -> Vec<&[u8]> {
    const SEP: &[u8] = b"\n--PART--\n";
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEP.len()).position(|w| w == SEP) {
        parts.push(&rest[..i]);
        rest = &rest[i + SEP.len()..];
    }
    parts.push(rest);
    parts
}

/// The workbook loader (calamine plus caseaudit's merge fill, size limits and cell
/// conversion) on mutated workbooks, then header detection on every sheet.
///
/// Input byte 0 chooses the mode:
/// - even: the rest is a whole file (xlsx, xls, xlsb or ods), mutated byte by byte;
/// - odd: the rest is the parts of an xlsx separated by `\n--PART--\n` (sheet XML,
///   shared strings, styles), packed into a valid zip, so that mutations reach the XML
///   parsers rather than stopping at the zip's checksums. Bit 1 sets the 1904 flag.
pub fn xlsx(data: &[u8]) {
    let [mode, rest @ ..] = data else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match pack_xlsx(&split_parts(rest), mode & 2 != 0) {
            Some(b) => b,
            None => return,
        }
    };
    if let Ok(sheets) = read_workbook_bytes(&bytes, "fuzz.xlsx") {
        check_sheets(&sheets);
    }
}

/// What every workbook reader must give: rows in order, no more cells than a file's
/// budget allows (the budget is spent before reading, so what was read fits in it), and
/// a sheet that header detection can take.
pub fn check_sheets(sheets: &[RawSheet]) {
    let mut cells = 0u64;
    for sheet in sheets {
        for pair in sheet.rows.windows(2) {
            assert!(pair[0].0 < pair[1].0, "row numbers out of order");
        }
        cells += sheet
            .rows
            .iter()
            .map(|(_, c)| c.len().max(1) as u64)
            .sum::<u64>();
        let _ = detect(sheet, &pack().fields, index());
    }
    let (limit, _) = budget::file_limits();
    assert!(
        cells <= limit,
        "{cells} cells read from one file, over its budget of {limit}"
    );
}

/// What the hidden-column readers must give: per sheet, columns in order and distinct
/// (`hidden::mark` binary-searches them), within Excel's 16,384.
fn check_hidden(hidden: &std::collections::HashMap<String, Vec<usize>>) {
    for (sheet, cols) in hidden {
        assert!(
            cols.windows(2).all(|w| w[0] < w[1]),
            "hidden columns of {sheet:?} not sorted and distinct: {cols:?}"
        );
        assert!(cols.iter().all(|c| *c < 16_384), "{sheet:?}: {cols:?}");
    }
}

/// A BIFF workbook stream packed as the `Workbook` stream of a compound file, as an .xls
/// holds it.
pub fn pack_xls(stream: &[u8]) -> Option<Vec<u8>> {
    let mut cf = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).ok()?;
    {
        let mut s = cf.create_stream("/Workbook").ok()?;
        s.write_all(stream).ok()?;
    }
    cf.flush().ok()?;
    Some(cf.into_inner().into_inner())
}

/// The .xls (BIFF) reader: caseaudit's prescan of the records (`budget::prescan_xls`,
/// spent before calamine allocates its grids), calamine's reader and merge fill, and
/// the hidden-column reader (COLINFO).
///
/// Input byte 0 chooses the mode:
/// - even: the rest is a whole .xls file, mutated byte by byte;
/// - odd: the rest is the BIFF `Workbook` stream, packed into a valid compound file, so
///   that mutations reach the records rather than the container.
///
/// Checks: as [`check_sheets`]; hidden columns sorted, distinct and in range.
pub fn xls(data: &[u8]) {
    let [mode, rest @ ..] = data else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match pack_xls(rest) {
            Some(b) => b,
            None => return,
        }
    };
    if let Ok(sheets) = read_workbook_bytes(&bytes, "fuzz.xls") {
        check_sheets(&sheets);
    }
    check_hidden(&hidden_columns_xls(
        std::io::Cursor::new(&bytes),
        bytes.len() as u64,
    ));
}

const ODS_MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;

/// An ODS `content.xml` packed into a minimal valid .ods (mimetype first, stored).
pub fn pack_ods(content: &[u8]) -> Option<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let files: [(&str, &[u8]); 3] = [
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", ODS_MANIFEST.as_bytes()),
        ("content.xml", content),
    ];
    for (name, body) in files {
        zip.start_file(name, opts).ok()?;
        zip.write_all(body).ok()?;
    }
    zip.finish().ok().map(|c| c.into_inner())
}

/// The .ods reader: caseaudit's prescan of `content.xml` (`budget::prescan_ods`:
/// repeated rows and columns counted before calamine expands them), calamine's reader,
/// and the hidden-column reader.
///
/// Input byte 0 chooses the mode:
/// - even: the rest is a whole .ods file, mutated byte by byte;
/// - odd: the rest is `content.xml`, packed into a valid .ods, so that mutations reach
///   the XML readers rather than the zip's checksums.
///
/// Checks: as [`check_sheets`]; hidden columns sorted, distinct and in range.
pub fn ods(data: &[u8]) {
    let [mode, rest @ ..] = data else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match pack_ods(rest) {
            Some(b) => b,
            None => return,
        }
    };
    if let Ok(sheets) = read_workbook_bytes(&bytes, "fuzz.ods") {
        check_sheets(&sheets);
    }
    check_hidden(&hidden_columns_ods(std::io::Cursor::new(&bytes)));
}

/// The escapers for people's screens and documents (terminal, Markdown, HTML, file
/// names) on arbitrary text.
///
/// Checks beyond "no panic": terminal text holds no control or format character (and a
/// line break never survives); Markdown holds no `<` or `>`, no unescaped `` ` * _ [ ] #
/// | ``, no line break, and unescapes to the text as written (controls as spaces, format
/// characters dropped); HTML holds none of `< > " '` and no `&` but as an entity; a file
/// stem is never empty, holds no separator, `..` or control or format character, and is
/// at most 150 bytes; text without such characters is left as it is.
pub fn render(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    let t = safe::terminal(s);
    assert!(!t.chars().any(safe::is_hidden_control), "terminal: {t:?}");
    if !s.chars().any(safe::is_hidden_control) {
        assert_eq!(t, s);
    }
    let lines = safe::terminal_lines(s);
    assert!(
        !lines
            .chars()
            .any(|c| c != '\n' && safe::is_hidden_control(c)),
        "terminal lines: {lines:?}"
    );
    assert_eq!(lines.matches('\n').count(), s.matches('\n').count());

    let md = safe::markdown_escape(s);
    assert!(!md.contains(['<', '>', '\n', '\r']), "markdown: {md:?}");
    let bytes = md.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        assert!(
            !b"`*_[]#|".contains(&bytes[i]),
            "markdown: unescaped {:?} in {md:?}",
            bytes[i] as char
        );
        i += 1;
    }
    let shown: String = s
        .chars()
        .filter(|c| !safe::is_format_char(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    assert_eq!(safe::markdown_unescape(&md), shown, "markdown round trip");

    let html = safe::html_escape(s);
    assert!(!html.contains(['<', '>', '"', '\'']), "html: {html:?}");
    for (at, _) in html.match_indices('&') {
        let rest = &html[at..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| rest.starts_with(e)),
            "html: {html:?}"
        );
    }

    let stem = safe::safe_file_stem(s);
    assert!(!stem.is_empty() && stem.len() <= 150, "stem: {stem:?}");
    assert!(
        !stem.contains(['/', '\\'])
            && !stem.contains("..")
            && !stem.chars().any(safe::is_hidden_control),
        "stem: {stem:?}"
    );

    let json = safe::json_for_terminal(s);
    assert!(
        !json
            .chars()
            .any(|c| !matches!(c, '\n' | '\r' | '\t') && safe::is_hidden_control(c)),
        "json: {json:?}"
    );
}
