#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/) from the rule pack
and the fixture ledgers. Run from the repository root: python3 fuzz/make_seeds.py"""
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
print("seeds:", {d.name: len(list(d.iterdir())) for d in sorted(SEEDS.iterdir())})
