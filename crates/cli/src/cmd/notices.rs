//! `caseaudit notices`: rectification notices from a findings.json.

use crate::args::NoticesArgs;
use anyhow::{anyhow, Result};
use caseaudit_report::notice::{
    build_notices, planned_paths, write_notices, write_register, NoticeOptions, TEMPLATE,
};
use caseaudit_rules::calendar::from_day;

const FORMATS: &[&str] = &["docx", "md", "html"];

pub fn run(a: NoticesArgs) -> Result<u8> {
    let mut formats = Vec::new();
    for f in &a.format {
        let f = f.trim().to_lowercase();
        if !FORMATS.contains(&f.as_str()) {
            return Err(anyhow!("未知的通知书格式 `{f}`（可选 docx、md、html）"));
        }
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    let report = super::read_report(&a.findings)?;
    super::warn_if_newer(&a.findings, &report);
    let pack = super::pack_from(&a.pack)?;
    let template = pack
        .templates
        .get(TEMPLATE)
        .ok_or_else(|| anyhow!("规则包缺少通知书模板 templates/{TEMPLATE}"))?;
    let issued = match &a.issued {
        Some(s) => super::parse_date("--issued", s)?,
        None => super::today_in_china(),
    };
    let opts = NoticeOptions {
        issuer: a.issuer.clone(),
        number_prefix: a.number_prefix.clone(),
        issued: from_day(issued),
        deadline_days: a.deadline_days,
        include_data_quality: a.include_data_quality,
    };
    let (notices, unaddressed) = build_notices(&report, template, &opts)?;
    for p in planned_paths(&notices, &a.out, &formats) {
        super::refuse_overwrite(&p, &[&a.findings])?;
    }
    caseaudit_report::outdir::prepare(&a.out)?;
    let mut written = write_notices(&notices, &a.out, &formats)?;
    written.push(write_register(&notices, &opts, &a.out)?);
    caseaudit_report::outdir::record(&a.out, &written)?;
    for n in &notices {
        crate::errln!(
            "{}  {}：{} 个问题",
            caseaudit_report::safe::terminal(&n.number.clone().unwrap_or_default()),
            caseaudit_report::safe::terminal(&n.agency),
            n.findings
        );
    }
    if unaddressed > 0 {
        crate::errln!("提示：{unaddressed} 个问题的案件没有执法单位，未能列入通知书（可在台账中补充执法单位或用 audit --agency 指定）");
    }
    crate::errln!(
        "已生成 {} 份通知书（{} 个文件）于 {}",
        notices.len(),
        written.len(),
        super::shown(&a.out)
    );
    Ok(0)
}
