//! Rectification notices (整改通知书): one per agency with findings, worded by the
//! pack's template (`templates/notice.md.j2`), written as Markdown, docx and HTML.

use crate::safe::{html_escape, markdown_escape, markdown_unescape, safe_file_stem};
use crate::write::{write_atomic, ReportError};
use caseaudit_engine::{AuditReport, Finding, Keyed};
use caseaudit_rules::System;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The template's name inside the pack's `templates/` folder.
pub const TEMPLATE: &str = "notice.md.j2";

/// How notices are issued.
#[derive(Debug, Clone)]
pub struct NoticeOptions {
    /// The issuing authority (发文机关), as it signs the notices.
    pub issuer: String,
    /// `巴司函〔2022〕` gives 巴司函〔2022〕1号, 2号, … in agency order.
    pub number_prefix: Option<String>,
    /// The date of issue.
    pub issued: NaiveDate,
    /// The deadline counts calendar days from `issued`.
    pub deadline_days: u32,
    /// Whether data-quality findings are listed too (and agencies with only those get a notice).
    pub include_data_quality: bool,
}

/// One agency's notice, rendered as Markdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The agency the notice is addressed to.
    pub agency: String,
    /// The document number, when a prefix was given.
    pub number: Option<String>,
    /// Findings the notice lists.
    pub findings: usize,
    /// The notice as Markdown (escaped).
    pub markdown: String,
}

/// The rectification deadline: `deadline_days` calendar days after `issued`.
fn deadline(opts: &NoticeOptions) -> Result<NaiveDate, ReportError> {
    opts.issued
        .checked_add_days(chrono::Days::new(u64::from(opts.deadline_days)))
        .ok_or_else(|| ReportError::Render {
            file: "整改通知书".into(),
            reason: "整改期限超出可表示的日期范围".into(),
        })
}

/// A date as official documents write it: 2022年3月5日.
pub fn chinese_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

const ORDINALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// Agencies in notice order: the order of `run.inputs` (first finding row within an
/// input), then the rest by name.
fn agency_order(report: &AuditReport, findings: &[&Finding]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for input in &report.run.inputs {
        for f in findings
            .iter()
            .filter(|f| f.source.file == input.file && f.source.sheet == input.sheet)
        {
            if let Some(a) = &f.agency {
                if !order.contains(a) {
                    order.push(a.clone());
                }
            }
        }
    }
    let mut rest: Vec<String> = findings
        .iter()
        .filter_map(|f| f.agency.clone())
        .filter(|a| !order.contains(a))
        .collect();
    rest.sort();
    rest.dedup();
    order.extend(rest);
    order
}

/// Builds every notice. Findings without an agency cannot be addressed and are
/// counted in the second value.
pub fn build_notices(
    report: &AuditReport,
    template: &str,
    opts: &NoticeOptions,
) -> Result<(Vec<Notice>, usize), ReportError> {
    let render_err = |e: minijinja::Error| ReportError::Render {
        file: format!("templates/{TEMPLATE}"),
        reason: e.to_string(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template_owned(TEMPLATE, template.to_string())
        .map_err(render_err)?;
    let tpl = env.get_template(TEMPLATE).map_err(render_err)?;
    // A rule's wording comes from the findings.json's own `run.rules`, so a finding of
    // a rule this version does not know (a newer pack) is still rendered.
    let rules: BTreeMap<&str, &caseaudit_engine::RuleStatus> = report
        .run
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let relevant: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| opts.include_data_quality || f.system != System::DataQuality)
        .collect();
    let unaddressed = relevant.iter().filter(|f| f.agency.is_none()).count();
    let deadline = deadline(opts)?;
    let mut notices = Vec::new();
    for (k, agency) in agency_order(report, &relevant).into_iter().enumerate() {
        let mine: Vec<&Finding> = relevant
            .iter()
            .copied()
            .filter(|f| f.agency.as_deref() == Some(agency.as_str()))
            .collect();
        // The systems this version knows, in their order, then any other a newer
        // version wrote.
        let mut keys: Vec<(Keyed<System>, String)> = System::ALL
            .into_iter()
            .map(|s| (s.into(), s.label().to_string()))
            .collect();
        for f in &mine {
            if !keys.iter().any(|(k, _)| *k == f.system) {
                keys.push((f.system.clone(), format!("其他问题（{}）", f.system.key())));
            }
        }
        let mut systems = Vec::new();
        for (key, label) in keys {
            let in_system: Vec<&Finding> =
                mine.iter().copied().filter(|f| f.system == key).collect();
            if in_system.is_empty() {
                continue;
            }
            // Rules in catalog order, each with its distinct case numbers.
            let mut by_rule: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for f in &in_system {
                let id = f
                    .case_id
                    .clone()
                    .unwrap_or_else(|| format!("第{}行（无案件编号）", f.source.row));
                let cases = by_rule.entry(f.rule_id.as_str()).or_default();
                if !cases.contains(&id) {
                    cases.push(id);
                }
            }
            let rules_json: Vec<Value> = by_rule
                .into_iter()
                .map(|(id, cases)| {
                    let f = in_system.iter().find(|f| f.rule_id == id);
                    let meta = rules.get(id).copied();
                    let title = meta
                        .map(|r| r.title.clone())
                        .filter(|t| !t.is_empty())
                        .or_else(|| f.map(|f| f.title.clone()))
                        .unwrap_or_default();
                    let severity = meta
                        .map(|r| &r.severity)
                        .or_else(|| f.map(|f| &f.severity))
                        .map(|s| s.label())
                        .unwrap_or("");
                    let (basis, rect) = meta
                        .map(|r| (r.basis.as_str(), r.rectification.as_str()))
                        .unwrap_or(("", ""));
                    json!({
                        "id": id,
                        "title": title,
                        "severity": severity,
                        "count": cases.len(),
                        "cases": cases,
                        "basis": basis,
                        "rectification": rect,
                    })
                })
                .collect();
            systems.push(json!({
                "ordinal": ORDINALS.get(systems.len()).copied().unwrap_or(""),
                "label": label,
                "count": in_system.len(),
                "rules": rules_json,
            }));
        }
        let number = opts
            .number_prefix
            .as_ref()
            .map(|p| format!("{p}{}号", k + 1));
        let case_count = report
            .scores
            .agencies
            .iter()
            .find(|a| a.agency == agency)
            .map(|a| a.cases)
            .unwrap_or(0);
        let ctx = json!({
            "issuer": opts.issuer,
            "number": number,
            "title": "行政执法案卷评查整改通知书",
            "agency": agency,
            "as_of": report.run.as_of,
            "issued": chinese_date(opts.issued),
            "deadline": chinese_date(deadline),
            "deadline_days": opts.deadline_days,
            "case_count": case_count,
            "finding_count": mine.len(),
            "systems": systems,
        });
        let markdown = tpl.render(escaped(ctx)).map_err(render_err)?;
        notices.push(Notice {
            agency,
            number,
            findings: mine.len(),
            markdown: tidy(&markdown),
        });
    }
    Ok((notices, unaddressed))
}

/// The template's values with every text escaped for Markdown: agency names, case
/// numbers, titles and the basis come from a findings.json anyone may have written.
fn escaped(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(markdown_escape(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(escaped).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, escaped(v))).collect()),
        other => other,
    }
}

/// Collapses runs of blank lines left by template tags.
fn tidy(s: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in s.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim_start().to_string()
}

/// A line of a notice and how it is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Title,
    Heading,
    Subheading,
    Center,
    Right,
    Body,
}

fn lines(md: &str) -> Vec<(Kind, &str)> {
    md.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if let Some(t) = l.strip_prefix("### ") {
                (Kind::Subheading, t)
            } else if let Some(t) = l.strip_prefix("## ") {
                (Kind::Heading, t)
            } else if let Some(t) = l.strip_prefix("# ") {
                (Kind::Title, t)
            } else if let Some(t) = l.strip_prefix("<!--center-->") {
                (Kind::Center, t)
            } else if let Some(t) = l.strip_prefix("<!--right-->") {
                (Kind::Right, t)
            } else {
                (Kind::Body, l)
            }
        })
        .collect()
}

/// The notice as a Word document in official-document style (仿宋 三号 body,
/// 小标宋 二号 title, 黑体/楷体 headings).
pub fn to_docx(md: &str) -> Result<Vec<u8>, String> {
    use docx_rs::{AlignmentType, Docx, Paragraph, Run, RunFonts};
    let font = |name: &str| RunFonts::new().east_asia(name).ascii(name).hi_ansi(name);
    let mut doc = Docx::new();
    for (kind, text) in lines(md) {
        let (face, size, align, indent, bold) = match kind {
            Kind::Title => ("方正小标宋简体", 44, AlignmentType::Center, false, false),
            Kind::Heading => ("黑体", 32, AlignmentType::Left, true, false),
            Kind::Subheading => ("楷体_GB2312", 32, AlignmentType::Left, true, true),
            Kind::Center => ("仿宋_GB2312", 32, AlignmentType::Center, false, false),
            Kind::Right => ("仿宋_GB2312", 32, AlignmentType::Right, false, false),
            Kind::Body => (
                "仿宋_GB2312",
                32,
                AlignmentType::Both,
                !text.ends_with('：') || text.len() > 120,
                false,
            ),
        };
        let mut run = Run::new()
            .add_text(markdown_unescape(text))
            .size(size)
            .fonts(font(face));
        if bold {
            run = run.bold();
        }
        let mut p = Paragraph::new().add_run(run).align(align);
        if indent {
            p = p.indent(
                None,
                Some(docx_rs::SpecialIndentType::FirstLine(640)),
                None,
                None,
            );
        }
        doc = doc.add_paragraph(p);
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

/// The notice as a standalone HTML page; every value is escaped.
pub fn to_html(md: &str) -> String {
    let mut h = String::from("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>整改通知书</title><style>body{font-family:'FangSong','仿宋',serif;font-size:16pt;max-width:800px;margin:40px auto;line-height:1.8}h1{text-align:center;font-size:22pt}h2{font-size:16pt;font-family:'SimHei','黑体',sans-serif}h3{font-size:16pt}.center{text-align:center}.right{text-align:right}p.body{text-indent:2em}</style></head><body>");
    for (kind, text) in lines(md) {
        let t = html_escape(&markdown_unescape(text));
        let el = match kind {
            Kind::Title => format!("<h1>{t}</h1>"),
            Kind::Heading => format!("<h2>{t}</h2>"),
            Kind::Subheading => format!("<h3>{t}</h3>"),
            Kind::Center => format!("<p class=\"center\">{t}</p>"),
            Kind::Right => format!("<p class=\"right\">{t}</p>"),
            Kind::Body => format!("<p class=\"body\">{t}</p>"),
        };
        h.push_str(&el);
    }
    h.push_str("</body></html>");
    h
}

/// The register's file name inside the output folder.
pub const REGISTER: &str = "整改通知书清单.csv";

/// A notice's file name without extension: its order and the agency's name.
fn notice_stem(k: usize, n: &Notice) -> String {
    format!("{:02}-{}-整改通知书", k + 1, safe_file_stem(&n.agency))
}

/// Every file `write_notices` and `write_register` would write, so that a caller can
/// check them first (never over the command's input).
pub fn planned_paths(notices: &[Notice], out_dir: &Path, formats: &[String]) -> Vec<PathBuf> {
    let mut paths = vec![out_dir.join(REGISTER)];
    for (k, n) in notices.iter().enumerate() {
        let stem = notice_stem(k, n);
        for f in formats
            .iter()
            .filter(|f| ["md", "html", "docx"].contains(&f.as_str()))
        {
            paths.push(out_dir.join(format!("{stem}.{f}")));
        }
    }
    paths
}

/// Writes each notice in each format; file names start with the notice's order and are
/// built from the agency name so that they stay inside `out_dir`.
pub fn write_notices(
    notices: &[Notice],
    out_dir: &Path,
    formats: &[String],
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for (k, n) in notices.iter().enumerate() {
        let stem = notice_stem(k, n);
        for f in formats {
            let path = out_dir.join(format!("{stem}.{f}"));
            let bytes = match f.as_str() {
                "md" => n.markdown.clone().into_bytes(),
                "html" => to_html(&n.markdown).into_bytes(),
                "docx" => to_docx(&n.markdown).map_err(|reason| ReportError::Render {
                    file: path.display().to_string(),
                    reason,
                })?,
                _ => continue,
            };
            write_atomic(&path, &bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes the register of the notices issued (发文登记): number, agency, findings and
/// deadline, one row a notice, formula-safe.
pub fn write_register(
    notices: &[Notice],
    opts: &NoticeOptions,
    out_dir: &Path,
) -> Result<PathBuf, ReportError> {
    let path = out_dir.join(REGISTER);
    let deadline = chinese_date(deadline(opts)?);
    let mut buf = Vec::from(&b"\xEF\xBB\xBF"[..]);
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        let err = |e: csv::Error| ReportError::Render {
            file: path.display().to_string(),
            reason: e.to_string(),
        };
        w.write_record(["序号", "文号", "执法单位", "问题数", "发文日期", "整改期限"])
            .map_err(err)?;
        for (k, n) in notices.iter().enumerate() {
            let row = [
                (k + 1).to_string(),
                n.number.clone().unwrap_or_default(),
                n.agency.clone(),
                n.findings.to_string(),
                chinese_date(opts.issued),
                deadline.clone(),
            ];
            w.write_record(
                row.iter()
                    .map(|c| crate::safe::neutralise_formula(c).into_owned()),
            )
            .map_err(err)?;
        }
        w.flush().map_err(|e| ReportError::Io {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    write_atomic(&path, &buf)?;
    Ok(path)
}
