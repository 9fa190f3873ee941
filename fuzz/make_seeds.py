#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/) from the rule pack
and the fixture ledgers. Run from the repository root: python3 fuzz/make_seeds.py
(the xls, ods and parquet seeds need pip's xlwt, odfpy and duckdb)."""
import csv
import datetime
import hashlib
import io
import pathlib
import struct
import tomllib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


# normalize: byte 0 = kind (0-2 text, 3 f64, 4 bool, 5 day, 6 error; 0x80 = 1904),
# byte 1 = scale (odd: 万元), then the value.
TEXTS = [
    "2022-03-05", "2022/3/5", "2022.3.5", "2022年3月5日", "20220305", "2022-03-05 10:30:00",
    "２０２２－０３－０５", "2022年03月05日（补录）", "44625", "0000-00-00", "9999-12-31",
    "2022-02-30", "是", "否", "√", "×", "有", "无", "Y", "N", "TRUE", "已公示（2022-03-05）",
    "5000", "5,000.00元", "0.5万元", "￥1,234", "1.2e3", "-300", "罚款、警告",
    "罚款;没收违法所得", "警告，罚款", "张三 李四", "阿不都 · 热合曼、王五", "一般程序",
    "简易程序", "行政处罚", "行政许可", "/", "-", "无", "不适用", "  ", "#VALUE!",
]
for i, t in enumerate(TEXTS):
    put("normalize", bytes([i % 3, i % 2]) + t.encode())
for n in [44625.0, 1462.5, 0.0, 1.0, -1.0, 1e308, float("nan"), 73415.0, 2.5e-7]:
    put("normalize", bytes([3, 0]) + struct.pack("<d", n))
    put("normalize", bytes([3 | 0x80, 1]) + struct.pack("<d", n))
for d in [19000, 0, -719162, 2932896, 2**31 - 1]:
    put("normalize", bytes([5, 0]) + struct.pack("<i", d))
put("normalize", bytes([4, 0, 1]))
put("normalize", bytes([6, 0]) + b"#REF!")

# condition: every expression of the pack, and some broken ones.
for f in sorted((ROOT / "rules").rglob("*.toml")):
    doc = tomllib.loads(f.read_text(encoding="utf-8"))
    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ("applies", "violation", "expr", "when") and isinstance(x, str):
                    put("condition", x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc)
for t in ["WORKDAYS(filed_date, decision_date) > params.x", "((((((((((((1))))))))))))",
          "DATE '2022-13-45' < decision_date", "CASE WHEN 1 THEN 2 END",
          "HAS_ANY(penalty_kinds, '罚款') AND NOT major_decision IS NOT TRUE"]:
    put("condition", t)

# csv and header: the fixture CSVs, cut short, in several encodings and delimiters.
for name in ["canonical-2022.csv", "transport-2022-gbk.csv"]:
    raw = (ROOT / "fixtures" / "ledgers" / name).read_bytes()
    lines = raw.split(b"\n")
    head = b"\n".join(lines[:12]) + b"\n"
    put("csv", head)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("gb18030")
    put("csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    put("csv", text.encode("utf-16"))
    put("csv", text.encode("gb18030"))
    put("csv", text.replace(",", "\t").encode("utf-8"))
    put("csv", text.replace(",", ";").encode("utf-8"))
    put("header", "\n".join(l.replace(",", "\t") for l in text.splitlines()))
put("header", "某某局2022年执法案件台账\n\n序号\t案件名称\t案件类型\t当事人\t立案日期\t处罚决定日期\n1\t案\t行政处罚\t张三\t\x0244600\t\x0244650\n2\t#VALUE!\t\t\t\t")
put("header", "基本信息\t\t\t办理情况\t\n案号\t当事人\t案件类型\t立案\t决定\n1\t2\t3\t4\t5")

# xlsx: whole workbooks (mode 0) and the parts of one (mode 1).
for name in ["market-2022.xlsx", "health-2022-missing.xlsx", "urban-2022.ods"]:
    raw = (ROOT / "fixtures" / "ledgers" / name).read_bytes()
    put("xlsx", b"\x00" + raw)
    if name.endswith(".xlsx"):
        z = zipfile.ZipFile(io.BytesIO(raw))
        names = z.namelist()
        sheet = next(n for n in names if n.startswith("xl/worksheets/sheet"))
        parts = [z.read(sheet)]
        if "xl/sharedStrings.xml" in names:
            parts.append(z.read("xl/sharedStrings.xml"))
            if "xl/styles.xml" in names:
                parts.append(z.read("xl/styles.xml"))
        put("xlsx", b"\x01" + b"\n--PART--\n".join(parts))
        put("xlsx", b"\x03" + b"\n--PART--\n".join(parts))
put("xlsx", b"\x01" + "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><dimension ref=\"A1:C3\"/><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>案件名称</t></is></c><c r=\"B1\" t=\"inlineStr\"><is><t>案件类型</t></is></c><c r=\"C1\" t=\"inlineStr\"><is><t>立案日期</t></is></c></row><row r=\"2\"><c r=\"A2\" t=\"e\"><v>#VALUE!</v></c><c r=\"B2\"><f>1+1</f><v>2</v></c><c r=\"C2\" s=\"1\"><v>44625</v></c></row></sheetData><mergeCells count=\"1\"><mergeCell ref=\"A2:A3\"/></mergeCells></worksheet>".encode())

# A small ledger (the canonical fixture's first rows) for the xls, ods and parquet seeds.
with open(ROOT / "fixtures" / "ledgers" / "canonical-2022.csv", encoding="utf-8-sig") as f:
    LEDGER = list(csv.reader(f))[:6]
LEDGER[2][10] = "壹万元"  # an unreadable money cell (DQ-003)
LEDGER[3][0] = LEDGER[1][0]  # a repeated case number (DQ-002)
FIXTURE_XLS = [ROOT / "fixtures" / "ledgers" / "forestry-2022.xls", ROOT / "tests" / "data" / "hidden-column.xls"]


def xls_book(date_cells):
    """An xlwt workbook of the ledger: a title row merged across, a hidden column, dates
    as date cells or text, numbers as numbers, and a second sheet of notes."""
    import xlwt
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("台账")
    ws.write_merge(0, 0, 0, 5, "2022年行政执法案件台账")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(LEDGER):
        for c, v in enumerate(row):
            if r and date_cells and len(v) == 10 and v[4:5] == "-":
                ws.write(r + 1, c, datetime.datetime.strptime(v, "%Y-%m-%d"), date_style)
            elif r and v.isdigit() and len(v) < 9:
                ws.write(r + 1, c, int(v))
            elif v:
                ws.write(r + 1, c, v)
    ws.col(5).hidden = True
    ws2 = wb.add_sheet("说明")
    ws2.write(0, 0, "填表说明")
    return wb


def xls_seeds():
    for dates in (True, False):
        wb = xls_book(dates)
        buf = io.BytesIO()
        wb.save(buf)
        put("xls", b"\x00" + buf.getvalue())
        put("xls", b"\x01" + wb.get_biff_data())
    for p in FIXTURE_XLS:
        put("xls", b"\x00" + p.read_bytes())


ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)


def ods_cell(v):
    if not v:
        return "<table:table-cell/>"
    if len(v) == 10 and v[4:5] == "-":
        return f'<table:table-cell office:value-type="date" office:date-value="{v}"><text:p>{v}</text:p></table:table-cell>'
    if v.isdigit() and len(v) < 9:
        return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'


def ods_content():
    """content.xml of the ledger: a hidden column, a repeated empty row, repeated empty
    cells, a merged title, and a second table."""
    rows = ['<table:table-row><table:table-cell table:number-columns-spanned="6" office:value-type="string"><text:p>2022年行政执法案件台账</text:p></table:table-cell><table:covered-table-cell table:number-columns-repeated="5"/></table:table-row>']
    for i, row in enumerate(LEDGER):
        rows.append("<table:table-row>" + "".join(ods_cell(v) for v in row) + '<table:table-cell table:number-columns-repeated="3"/></table:table-row>')
        if i == 2:
            rows.append('<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="40"/></table:table-row>')
    cols = '<table:table-column table:number-columns-repeated="5"/><table:table-column table:visibility="collapse"/><table:table-column table:number-columns-repeated="30"/>'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}><office:body><office:spreadsheet>'
        f'<table:table table:name="台账">{cols}{"".join(rows)}</table:table>'
        '<table:table table:name="说明"><table:table-row><table:table-cell office:value-type="string"><text:p>填表说明</text:p></table:table-cell></table:table-row></table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    ).encode()


def pack_ods(content):
    """A minimal .ods around content.xml, as fuzz/harness.rs packs it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def ods_seeds():
    fixture = (ROOT / "fixtures" / "ledgers" / "urban-2022.ods").read_bytes()
    put("ods", b"\x00" + fixture)
    put("ods", b"\x01" + zipfile.ZipFile(io.BytesIO(fixture)).read("content.xml"))
    content = ods_content()
    put("ods", b"\x01" + content)
    put("ods", b"\x00" + pack_ods(content))


def parquet_files():
    """Small parquet files as DuckDB writes them: text columns; typed columns (DECIMAL
    money, DATE, time-zone-aware TIMESTAMP, BOOLEAN, BIGINT); row groups of 2; and each
    compression codec."""
    import duckdb
    import tempfile
    con = duckdb.connect()
    names = LEDGER[0]
    rows = LEDGER[1:]
    values = ", ".join(
        "(" + ", ".join("NULL" if not v else "'" + v.replace("'", "''") + "'" for v in row) + ")"
        for row in rows
    )
    con.sql(f"CREATE TABLE t AS SELECT * FROM (VALUES {values}) v({', '.join(names)})")
    typed = (
        "SELECT case_id, agency, case_type, "
        "TRY_CAST(fine_amount AS DECIMAL(12,2)) AS fine_amount, "
        "CAST(decision_date AS DATE) AS decision_date, "
        "CAST(publication_date AS TIMESTAMPTZ) AS publication_date, "
        "credentials_shown = 'true' AS credentials_shown, "
        "CAST(row_number() OVER () AS BIGINT) AS 序号 FROM t"
    )
    out = []
    with tempfile.TemporaryDirectory() as d:
        for i, (query, opts) in enumerate([
            ("SELECT * FROM t", "COMPRESSION snappy"),
            (typed, "COMPRESSION zstd"),
            (typed, "COMPRESSION uncompressed, ROW_GROUP_SIZE 2"),
            ("SELECT * FROM t", "COMPRESSION gzip, ROW_GROUP_SIZE 2"),
        ]):
            p = f"{d}/{i}.parquet"
            con.sql(f"COPY ({query}) TO '{p}' (FORMAT parquet, {opts})")
            out.append(pathlib.Path(p).read_bytes())
    return out


def memory_seeds(parquets):
    """Byte 0 chooses the format (csv, xlsx, xls, ods, parquet), as harness_audit.rs."""
    head = b"\n".join((ROOT / "fixtures" / "ledgers" / "canonical-2022.csv").read_bytes().split(b"\n")[:8]) + b"\n"
    put("memory", b"\x00" + head)
    put("memory", b"\x00" + head.replace(b"\n", b"\r\n"))
    put("memory", b"\x01" + (ROOT / "fixtures" / "ledgers" / "health-2022-missing.xlsx").read_bytes())
    buf = io.BytesIO()
    xls_book(True).save(buf)
    put("memory", b"\x02" + buf.getvalue())
    put("memory", b"\x03" + pack_ods(ods_content()))
    for p in parquets[:2]:
        put("memory", b"\x04" + p)


xls_seeds()
ods_seeds()
PARQUETS = parquet_files()
for p in PARQUETS:
    put("parquet", p)
memory_seeds(PARQUETS)
print("seeds:", {d.name: len(list(d.iterdir())) for d in sorted(SEEDS.iterdir())})
