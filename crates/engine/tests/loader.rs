//! Loading messy workbooks and CSVs: title rows, merged two-row headers, 万元 columns,
//! mixed date forms, GBK, value problems as DQ-003, and accounting of every row.

use caseaudit_engine::{audit, AuditOptions, AuditReport};
use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::RulePack;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};

fn pack() -> RulePack {
    RulePack::builtin().unwrap_or_else(|e| panic!("{e}"))
}

fn run(paths: &[PathBuf], profile: &str) -> AuditReport {
    let opts = AuditOptions {
        as_of: parse_iso("2022-12-31").unwrap_or_default(),
        profile: profile.into(),
        agency: None,
        published: Default::default(),
    };
    audit(&pack(), paths, &opts)
        .unwrap_or_else(|e| panic!("{e}"))
        .report
}

fn rules_of(r: &AuditReport, case: &str) -> Vec<String> {
    let mut v: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.case_id.as_deref() == Some(case))
        .map(|f| f.rule_id.clone())
        .collect();
    v.sort();
    v
}

/// A workbook with two title rows, a two-row header with merged groups, a 万元 column,
/// dates in several forms, an unreadable date, an empty row and a 填报说明 sheet.
fn messy_workbook(path: &Path) {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("填报说明").unwrap_or_else(|e| panic!("{e}"));
    notes
        .write_string(0, 0, "请按要求填写台账，日期写作 2022-03-05。")
        .unwrap_or_else(|e| panic!("{e}"));
    let ws = wb.add_worksheet();
    ws.set_name("行政处罚").unwrap_or_else(|e| panic!("{e}"));
    let f = Format::new();
    let date_fmt = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let e = |r: Result<&mut rust_xlsxwriter::Worksheet, rust_xlsxwriter::XlsxError>| {
        r.unwrap_or_else(|e| panic!("{e}"));
    };
    e(ws.merge_range(0, 0, 0, 12, "某县市场监督管理局2022年行政处罚案件台账", &f));
    e(ws.write_string(1, 0, "填报单位：某县市场监督管理局"));
    // Header rows 3 and 4 (0-based 2 and 3).
    let single = [
        "序号",
        "案 件 编 号",
        "执法单位",
        "执法类别",
        "决定\n日期",
        "罚款金额（万元）",
        "执法人员",
        "执法证号",
        "出示执法证件",
        "文字记录",
    ];
    for (c, h) in single.iter().enumerate() {
        e(ws.merge_range(2, c as u16, 3, c as u16, h, &f));
    }
    e(ws.merge_range(2, 10, 2, 12, "法制审核", &f));
    e(ws.merge_range(2, 13, 3, 13, "公示日期", &f));
    for (c, h) in ["审核日期", "审核人员", "审核结果"].iter().enumerate() {
        e(ws.write_string(3, 10 + c as u16, *h));
    }
    let rows: Vec<[&str; 13]> = vec![
        [
            "1",
            "A-1",
            "某县市场监督管理局",
            "处罚",
            "2022/3/5",
            "0.05",
            "张三、李四",
            "001 002",
            "是",
            "√",
            "2022.3.1",
            "王五",
            "同意",
        ],
        [
            "2",
            "A-2",
            "某县市场监督管理局",
            "行政处罚",
            "DATE",
            "0.3",
            "张三，李四",
            "001,002",
            "√",
            "×",
            "",
            "",
            "",
        ],
        ["", "", "", "", "", "", "", "", "", "", "", "", ""],
        [
            "3",
            "A-3",
            "某县市场监督管理局",
            "处罚",
            "2022年13月1日",
            "",
            "张三",
            "001",
            "否",
            "有",
            "20220301",
            "王五",
            "原则同意",
        ],
    ];
    let mut r = 4u32;
    for row in &rows {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            if *v == "DATE" {
                let d = ExcelDateTime::from_ymd(2022, 3, 7).unwrap_or_else(|e| panic!("{e}"));
                e(ws.write_datetime_with_format(r, c as u16, d, &date_fmt));
            } else if c == 5 {
                e(ws.write_number(r, c as u16, v.parse::<f64>().unwrap_or_default()));
            } else {
                e(ws.write_string(r, c as u16, *v));
            }
        }
        r += 1;
    }
    wb.save(path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn messy_workbook_is_read_mapped_and_normalised() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.xlsx");
    messy_workbook(&path);
    let r = run(std::slice::from_ref(&path), "national");
    assert!(r.run.errors.is_empty(), "{:?}", r.run.errors);
    assert_eq!(r.run.inputs.len(), 1, "the 填报说明 sheet is skipped");
    let inp = &r.run.inputs[0];
    assert_eq!(inp.sheet, "行政处罚");
    assert_eq!(inp.header_rows, vec![3, 4]);
    assert_eq!(
        (inp.rows, inp.cases, inp.rejected, inp.empty_rows_skipped),
        (3, 3, 0, 1)
    );
    assert!(
        inp.notes.iter().any(|n| n.contains("填报说明")),
        "{:?}",
        inp.notes
    );
    let field_of = |h: &str| {
        inp.columns
            .iter()
            .find(|c| c.header.contains(h))
            .and_then(|c| c.field.clone())
    };
    assert_eq!(field_of("案 件 编 号").as_deref(), Some("case_id"));
    assert_eq!(field_of("决定").as_deref(), Some("decision_date"));
    assert_eq!(
        field_of("法制审核审核日期").as_deref(),
        Some("legal_review_date")
    );
    assert_eq!(
        field_of("法制审核审核人员").as_deref(),
        Some("legal_reviewer")
    );
    assert_eq!(field_of("序号"), None);
    let fine = inp
        .columns
        .iter()
        .find(|c| c.field.as_deref() == Some("fine_amount"));
    assert_eq!(fine.and_then(|c| c.scale), Some(10000.0));

    // unreadable date (DQ-003), reviewed with a result outside the vocabulary
    // (DQ-003 and LR-003 does not fire: no decision date), one officer (PUB-005),
    // credentials not shown (PUB-004).
    let a3 = rules_of(&r, "A-3");
    assert_eq!(a3.iter().filter(|x| *x == "DQ-003").count(), 2, "{a3:?}");
    assert!(
        a3.contains(&"PUB-005".to_string()) && a3.contains(&"PUB-004".to_string()),
        "{a3:?}"
    );
    let dq: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.case_id.as_deref() == Some("A-3") && f.rule_id == "DQ-003")
        .collect();
    let date_problem = dq
        .iter()
        .find(|f| f.evidence["field"] == "decision_date")
        .unwrap_or_else(|| panic!("{dq:?}"));
    assert_eq!(date_problem.evidence["raw"], "2022年13月1日");
    assert_eq!(date_problem.source.column.as_deref(), Some("E"));
    assert_eq!(date_problem.source.row, 8);
    // fine 0.05 万元 = 500 元, reviewed and passed; text record √ → no REC-001.
    let a1 = rules_of(&r, "A-1");
    assert!(!a1.contains(&"REC-001".to_string()), "{a1:?}");
    assert!(!a1.contains(&"DQ-003".to_string()), "{a1:?}");
    let a1_pub = r
        .findings
        .iter()
        .find(|f| f.case_id.as_deref() == Some("A-1") && f.rule_id == "PUB-001");
    let ev = &a1_pub
        .unwrap_or_else(|| panic!("A-1 was never published: PUB-001 expected, got {a1:?}"))
        .evidence;
    assert_eq!(ev["decision_date"], "2022-03-05");
    // the date cell formatted 年月日 reads as 2022-03-07; 文字记录 × → REC-001.
    let a2 = r
        .findings
        .iter()
        .find(|f| f.case_id.as_deref() == Some("A-2") && f.rule_id == "REC-001");
    assert!(a2.is_some());
    let a2p = r
        .findings
        .iter()
        .find(|f| f.case_id.as_deref() == Some("A-2") && f.rule_id == "PUB-001");
    assert_eq!(
        a2p.map(|f| f.evidence["decision_date"].clone()),
        Some("2022-03-07".into())
    );
    assert_eq!(a2p.map(|f| f.source.row), Some(6));
}

#[test]
fn gbk_csv_with_title_row_and_units() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = "某县交通运输局行政处罚信息公示\n行政处罚决定书文号,处罚机关,执法类别,处罚类别,罚款金额,处罚决定日期,公示日期,当事人类型,适用程序\n交罚〔2022〕1号,某县交通运输局,处罚,罚款,\"5,000元\",2022年3月1日,2022-03-02,个人,简易程序\n交罚〔2022〕2号,某县交通运输局,处罚,罚款,０.５万元,20220301,2022-03-02,法人,普通程序\n";
    let (bytes, _, _) = encoding_rs::GBK.encode(text);
    let path = dir.path().join("gbk.csv");
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let r = run(std::slice::from_ref(&path), "national");
    assert!(r.run.errors.is_empty(), "{:?}", r.run.errors);
    assert_eq!(r.run.inputs[0].header_rows, vec![2]);
    assert_eq!(r.run.inputs[0].cases, 2);
    // Case 1: simple procedure, 5000 yuan to an individual > 200 → PRO-003.
    let c1 = rules_of(&r, "交罚〔2022〕1号");
    assert!(c1.contains(&"PRO-003".to_string()), "{c1:?}");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule_id == "PRO-003")
        .unwrap_or_else(|| panic!("no PRO-003"));
    assert_eq!(f.evidence["fine_amount"], 5000);
    assert_eq!(f.agency.as_deref(), Some("某县交通运输局"));
    // Case 2: full-width 0.5万元 reads as 5000; general procedure; no PRO-003.
    let c2 = rules_of(&r, "交罚〔2022〕2号");
    assert!(
        !c2.contains(&"PRO-003".to_string()) && !c2.contains(&"DQ-003".to_string()),
        "{c2:?}"
    );
}

#[test]
fn duplicates_are_found_across_inputs_within_an_agency() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(
        &a,
        "案件编号,执法单位,文字记录\nX-1,局甲,是\n X-1 ,局乙,是\nX-2,局甲,是\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&b, "案件编号,执法单位,文字记录\nX－1,局甲,是\n,局甲,是\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&[a, b], "national");
    let dq2: Vec<(String, u32)> = r
        .findings
        .iter()
        .filter(|f| f.rule_id == "DQ-002")
        .map(|f| (f.source.file.clone(), f.source.row))
        .collect();
    assert_eq!(dq2.len(), 2, "{dq2:?}");
    assert!(r
        .findings
        .iter()
        .any(|f| f.rule_id == "DQ-001" && f.case_id.is_none()));
    assert_eq!(r.run.cases_audited, 5);
}

#[test]
fn sheets_without_a_header_are_a_file_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("x.csv");
    std::fs::write(&p, "姓名,年龄\n张三,30\n").unwrap_or_else(|e| panic!("{e}"));
    let r = run(&[p], "national");
    assert_eq!(r.run.errors.len(), 1);
    assert!(
        r.run.errors[0].reason.contains("表头"),
        "{:?}",
        r.run.errors
    );
}

#[test]
fn parquet_with_typed_columns() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("cases.parquet");
    let d = |s: &str| parse_iso(s).unwrap_or_default();
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("case_id".into(), ["P-1", "P-2"]),
            Column::new("agency".into(), ["某局", "某局"]),
            Column::new("case_type".into(), ["行政处罚", "行政处罚"]),
            Column::new("decision_date".into(), [d("2022-03-01"), d("2022-03-01")])
                .cast(&DataType::Date)
                .unwrap_or_else(|e| panic!("{e}")),
            Column::new("publication_date".into(), [Some(d("2022-03-11")), None])
                .cast(&DataType::Date)
                .unwrap_or_else(|e| panic!("{e}")),
            Column::new("text_record".into(), [true, false]),
            Column::new("fine_amount".into(), [5000.0, 200.0]),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    ParquetWriter::new(file)
        .finish(&mut df)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&[path], "national");
    assert!(r.run.errors.is_empty(), "{:?}", r.run.errors);
    assert_eq!(r.run.cases_audited, 2);
    assert_eq!(rules_of(&r, "P-1"), vec!["PUB-002"]);
    assert_eq!(rules_of(&r, "P-2"), vec!["PUB-001", "REC-001"]);
}

#[test]
fn placeholders_and_remarks_are_read_not_reported() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("l.csv");
    std::fs::write(
        &p,
        "案件编号,执法单位,执法类别,决定日期,公示日期,出示执法证件,罚款金额,文字记录,强制措施,执法人员,执法证号\n\
         Z-1,某局,行政处罚,2022-03-01,未公示,是（已出示）,5000（元）,无,/,张三、李四,1、2\n\
         Z-2,某局,行政检查（日常）,2022-03-01,—,√,-,有,无,张三、李四,1、2\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&[p], "national");
    let dq: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule_id == "DQ-003")
        .map(|f| f.message.clone())
        .collect();
    assert!(dq.is_empty(), "{dq:?}");
    assert_eq!(rules_of(&r, "Z-1"), vec!["PUB-001", "REC-001"]);
    assert_eq!(rules_of(&r, "Z-2"), vec!["PUB-003"]);
}

#[test]
fn utf16_tab_and_semicolon_csv() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = "案件编号\t执法单位\t执法类别\t文字记录\nU-1\t某局\t行政检查\t否\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let a = dir.path().join("unicode.txt");
    std::fs::write(&a, bytes).unwrap_or_else(|e| panic!("{e}"));
    let b = dir.path().join("semi.csv");
    std::fs::write(
        &b,
        "案件编号;执法单位;执法类别;文字记录\nS-1;某局;行政检查;否\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&[a, b], "national");
    assert!(r.run.errors.is_empty(), "{:?}", r.run.errors);
    assert_eq!(rules_of(&r, "U-1"), vec!["REC-001"]);
    assert_eq!(rules_of(&r, "S-1"), vec!["REC-001"]);
}

/// A parquet file written in row groups of two rows is read as the same data in one row
/// group: the same cases, and the same findings at the same rows and cells. (A thousand
/// rows: polars' writer takes about a tenth of a second a row group in a debug build.)
#[test]
fn parquet_in_row_groups_of_two_reads_as_one_row_group() {
    use caseaudit_generate::{generate, write_parquet, GenerateOptions, Style};
    use polars::prelude::*;
    let pack = pack();
    let profile = pack.profile("national").unwrap_or_else(|e| panic!("{e}"));
    let opts = GenerateOptions {
        cases: 1000,
        seed: 7,
        violation_rate: 0.3,
        as_of: parse_iso("2022-12-31").unwrap_or_default(),
    };
    let batch = generate(
        &pack,
        &pack.param_values(profile),
        &pack.calendar(profile),
        &opts,
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let one = dir.path().join("one.parquet");
    let file = std::fs::File::create(&one).unwrap_or_else(|e| panic!("{e}"));
    write_parquet(&pack, &batch, Style::Ledger, file).unwrap_or_else(|e| panic!("{e}"));
    // The same frame, written again in row groups of two.
    let open = |p: &Path| std::fs::File::open(p).unwrap_or_else(|e| panic!("{e}"));
    let mut df = ParquetReader::new(open(&one))
        .finish()
        .unwrap_or_else(|e| panic!("{e}"));
    let pairs = dir.path().join("pairs.parquet");
    let file = std::fs::File::create(&pairs).unwrap_or_else(|e| panic!("{e}"));
    ParquetWriter::new(file)
        .with_row_group_size(Some(2))
        .finish(&mut df)
        .unwrap_or_else(|e| panic!("{e}"));
    let groups = |p: &Path| {
        ParquetReader::new(open(p))
            .get_metadata()
            .unwrap_or_else(|e| panic!("{e}"))
            .row_groups
            .len()
    };
    assert_eq!(groups(&one), 1);
    assert_eq!(groups(&pairs), 500);
    let findings = |r: &AuditReport| {
        let mut v: Vec<_> = r
            .findings
            .iter()
            .map(|f| {
                (
                    f.source.row,
                    f.case_id.clone(),
                    f.rule_id.clone(),
                    f.source.column.clone(),
                    f.message.clone(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let a = run(&[one], "national");
    let b = run(&[pairs], "national");
    assert!(a.run.errors.is_empty() && b.run.errors.is_empty());
    assert_eq!(a.run.cases_audited, 1000);
    assert_eq!(b.run.cases_audited, 1000);
    let (fa, fb) = (findings(&a), findings(&b));
    assert!(fa.len() > 100, "{} findings", fa.len());
    assert_eq!(fa, fb);
}
