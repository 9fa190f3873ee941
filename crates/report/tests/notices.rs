//! Notices: one per agency, each listing every finding of its agency and no other's,
//! numbered in agency order; the docx holds the same text.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use caseaudit_engine::{audit, AuditOptions, AuditReport};
use caseaudit_report::notice::{build_notices, to_docx, write_notices, NoticeOptions, TEMPLATE};
use caseaudit_rules::calendar::parse_iso;
use caseaudit_rules::RulePack;
use std::path::PathBuf;

fn fixtures_report(pack: &RulePack) -> AuditReport {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ledgers");
    let opts = AuditOptions {
        as_of: parse_iso("2022-12-31").unwrap(),
        profile: "national".into(),
        agency: None,
        published: Default::default(),
    };
    audit(pack, &[dir], &opts).expect("audit").report
}

fn opts(dq: bool) -> NoticeOptions {
    NoticeOptions {
        issuer: "巴楚县司法局".into(),
        number_prefix: Some("巴司函〔2022〕".into()),
        issued: chrono::NaiveDate::from_ymd_opt(2023, 1, 10).unwrap(),
        deadline_days: 30,
        include_data_quality: dq,
    }
}

fn docx_text(bytes: &[u8]) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let mut f = z.by_name("word/document.xml").expect("document.xml");
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s).expect("read");
    s
}

#[test]
fn each_notice_lists_exactly_its_agencys_findings() {
    let pack = RulePack::builtin().expect("pack");
    let report = fixtures_report(&pack);
    let template = pack.templates.get(TEMPLATE).expect("template");
    let (notices, _) = build_notices(&report, template, &opts(false)).expect("notices");
    let agencies: Vec<&str> = notices.iter().map(|n| n.agency.as_str()).collect();
    assert_eq!(
        agencies,
        // In the order of run.inputs (the fixture files' order), then by name.
        vec![
            "巴楚县城市管理局",
            "巴楚县林业和草原局",
            "巴楚县卫生健康委员会",
            "巴楚县市场监督管理局",
            "巴楚县自然资源局",
            "巴楚县应急管理局",
            "巴楚县交通运输局",
            "巴楚县水利局"
        ]
    );
    let numbers: Vec<String> = notices.iter().map(|n| n.number.clone().unwrap()).collect();
    assert_eq!(
        numbers,
        (1..=8)
            .map(|i| format!("巴司函〔2022〕{i}号"))
            .collect::<Vec<_>>()
    );
    for n in &notices {
        let mine: Vec<_> = report
            .findings
            .iter()
            .filter(|f| {
                f.agency.as_deref() == Some(n.agency.as_str())
                    && f.system != caseaudit_rules::System::DataQuality
            })
            .collect();
        assert_eq!(n.findings, mine.len());
        for f in &mine {
            let id = f.case_id.as_deref().unwrap();
            assert!(
                n.markdown.contains(id),
                "{} misses {id} {}",
                n.agency,
                f.rule_id
            );
            assert!(
                n.markdown.contains(&format!("（{}，", f.rule_id)),
                "{} misses {}",
                n.agency,
                f.rule_id
            );
        }
        for other in report
            .findings
            .iter()
            .filter(|f| f.agency.as_deref() != Some(n.agency.as_str()))
        {
            if let Some(id) = &other.case_id {
                assert!(
                    !n.markdown.contains(id.as_str()),
                    "{} lists {id} of {:?}",
                    n.agency,
                    other.agency
                );
            }
        }
        assert!(
            n.markdown.contains("2023年2月9日前完成整改"),
            "deadline: {}",
            n.markdown
        );
        assert!(n.markdown.contains("书面报送巴楚县司法局"));
        let xml = docx_text(&to_docx(&n.markdown).expect("docx"));
        assert!(xml.contains(&n.agency) && xml.contains(n.number.as_deref().unwrap()));
        for f in &mine {
            assert!(xml.contains(f.case_id.as_deref().unwrap()));
        }
    }
}

#[test]
fn data_quality_only_agencies_get_no_notice_unless_asked() {
    let pack = RulePack::builtin().expect("pack");
    let mut report = fixtures_report(&pack);
    // Keep only data-quality findings for one agency.
    report.findings.retain(|f| {
        f.agency.as_deref() != Some("巴楚县交通运输局")
            || f.system == caseaudit_rules::System::DataQuality
    });
    let template = pack.templates.get(TEMPLATE).expect("template");
    let (without, _) = build_notices(&report, template, &opts(false)).expect("notices");
    assert!(!without.iter().any(|n| n.agency == "巴楚县交通运输局"));
    let (with, _) = build_notices(&report, template, &opts(true)).expect("notices");
    let t = with
        .iter()
        .find(|n| n.agency == "巴楚县交通运输局")
        .expect("notice");
    assert!(t.markdown.contains("DQ-"));
}

#[test]
fn notice_files_stay_inside_the_output_folder() {
    let pack = RulePack::builtin().expect("pack");
    let mut report = fixtures_report(&pack);
    for f in report.findings.iter_mut() {
        f.agency = Some("../../etc/<script>alert(1)</script>".into());
    }
    let template = pack.templates.get(TEMPLATE).expect("template");
    let (notices, _) = build_notices(&report, template, &opts(false)).expect("notices");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let files =
        write_notices(&notices, &out, &["md".into(), "html".into(), "docx".into()]).expect("write");
    assert_eq!(files.len(), 3);
    for f in &files {
        assert_eq!(f.parent(), Some(out.as_path()), "{}", f.display());
    }
    let html = std::fs::read_to_string(
        files
            .iter()
            .find(|f| f.extension().unwrap() == "html")
            .unwrap(),
    )
    .unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;"));
}

#[test]
fn markdown_notices_escape_what_markdown_or_html_would_interpret() {
    let pack = RulePack::builtin().expect("pack");
    let mut report = fixtures_report(&pack);
    let hostile = "<!--x--># 局*一*_二_`三`[四](http://x)|五&lt;\n## 伪造\u{202e}";
    for f in report.findings.iter_mut() {
        f.agency = Some(hostile.into());
        f.case_id = Some("<img src=x onerror=alert(1)>".into());
    }
    let template = pack.templates.get(TEMPLATE).expect("template");
    let (notices, _) = build_notices(&report, template, &opts(false)).expect("notices");
    let md = &notices[0].markdown;
    assert!(!md.contains("<!--x"), "{md}");
    assert!(!md.contains("<img"), "{md}");
    assert!(!md.contains("\u{202e}"));
    // No line of data became a heading or a comment: the template's own headings only.
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with('#')).collect();
    assert!(headings.iter().all(|h| !h.contains("伪造")), "{headings:?}");
    for c in ['*', '_', '`', '[', ']', '|'] {
        assert!(
            md.match_indices(c).all(|(i, _)| md[..i].ends_with('\\')),
            "{c} unescaped: {md}"
        );
    }
    // The docx and HTML show the text as written (the newline as a space).
    let xml = docx_text(&to_docx(md).expect("docx"));
    assert!(
        xml.contains("局*一*_二_`三`[四](http://x)|五&amp;lt; ## 伪造"),
        "{xml}"
    );
    let html = caseaudit_report::notice::to_html(md);
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"));
}

#[test]
fn notice_file_names_drop_bidi_overrides_and_zero_width_characters() {
    let pack = RulePack::builtin().expect("pack");
    let mut report = fixtures_report(&pack);
    for f in report.findings.iter_mut() {
        f.agency = Some("某局\u{202e}xcod.exe\u{200b}\u{2066}".into());
    }
    let template = pack.templates.get(TEMPLATE).expect("template");
    let (notices, _) = build_notices(&report, template, &opts(false)).expect("notices");
    let dir = tempfile::tempdir().expect("tmp");
    let files = write_notices(&notices, dir.path(), &["md".into()]).expect("write");
    assert!(!files.is_empty());
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        assert!(name.contains("某局"), "{name}");
        assert!(
            !name.contains(['\u{202e}', '\u{200b}', '\u{2066}']),
            "{name:?}"
        );
    }
}
