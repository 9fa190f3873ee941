//! report.html: one self-contained page. No network: the style and the script are
//! inline, the charts are SVG drawn here (so they show without script), and the
//! findings table is filtered and sorted by a small inline script over data embedded as
//! JSON. Ledger text is escaped in markup, JSON-escaped in the data, and reaches the DOM
//! only through `textContent`.

mod chart;

use crate::safe::html_escape as esc;
use crate::tally::{Tally, SEVERITIES};
use crate::write::{write_atomic, ReportError};
use caseaudit_engine::{AuditReport, Finding, Keyed};
use caseaudit_rules::Severity;
use chart::{bar_chart, Bar, BAR_COLOR, SEVERITY_COLORS};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// At most this many findings are embedded in the page (decisions.md).
pub const MAX_FINDINGS: usize = 10_000;
/// Agencies drawn in the chart; all of them have a section below it.
const CHART_AGENCIES: usize = 30;
/// Rules listed per agency.
const AGENCY_TOP_RULES: usize = 5;

const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/table.js");
/// Nothing may be fetched; only the inline style and script run.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// The columns of the findings table, in the order of the embedded rows.
const COLUMNS: [&str; 9] = [
    "执法单位",
    "案件编号",
    "规则",
    "制度",
    "严重程度",
    "问题",
    "说明",
    "扣分",
    "位置",
];
const GRADE_COLORS: [&str; 6] = [
    "#2e7d32", "#1565c0", "#f9a825", "#c62828", "#6a1b9a", "#546e7a",
];

/// JSON for a `<script type="application/json">`: no `<` (so nothing can close the
/// element or open a comment), `>` or `&` appears as written.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn deduction_text(f: &Finding) -> String {
    if f.veto {
        "一票否决".into()
    } else {
        f.deduction.to_string()
    }
}

fn location(f: &Finding) -> String {
    let mut s = f.source.file.clone();
    if !f.source.sheet.is_empty() {
        s.push_str(" · ");
        s.push_str(&f.source.sheet);
    }
    let _ = write!(s, " · 第{}行", f.source.row);
    if let Some(c) = &f.source.column {
        let _ = write!(s, " {c}列");
    }
    s
}

fn finding_row(f: &Finding) -> serde_json::Value {
    serde_json::json!([
        f.agency
            .clone()
            .unwrap_or_else(|| caseaudit_engine::NO_AGENCY.to_string()),
        f.case_id.clone().unwrap_or_default(),
        f.rule_id,
        f.system.label(),
        f.severity.label(),
        f.title,
        f.message,
        deduction_text(f),
        location(f),
    ])
}

fn score_text(s: Option<f64>) -> String {
    s.map(|m| format!("{m:.1}")).unwrap_or_else(|| "—".into())
}

fn head(h: &mut String) {
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>行政执法案卷评查报告</title>\
         <style>{STYLE}</style></head><body>"
    );
}

fn run_info(h: &mut String, report: &AuditReport) {
    let run = &report.run;
    let _ = write!(
        h,
        "<h1>行政执法案卷评查报告</h1><p class=\"run\" id=\"run-info\">评查日期 {}；参数配置 {}；规则包 {} {}（{}）；{} {}</p>",
        esc(&run.as_of),
        esc(&run.profile),
        esc(&run.pack.name),
        esc(&run.pack.version),
        esc(&run.pack.source),
        esc(&report.tool.name),
        esc(&report.tool.version)
    );
    let _ = write!(
        h,
        "<p class=\"run\">读取 {} 行，评查案件 {} 件，未作为案件的行 {} 行；台账 {} 个工作表，无法读取 {} 个。</p>",
        run.rows_read,
        run.cases_audited,
        run.rows_rejected,
        run.inputs.len(),
        run.errors.len()
    );
    if run.inputs.is_empty() {
        return;
    }
    h.push_str("<table id=\"inputs\"><thead><tr><th>文件</th><th>工作表</th><th class=\"num\">读取行数</th><th class=\"num\">案件数</th><th class=\"num\">未作为案件</th><th class=\"num\">未评查规则</th></tr></thead><tbody>");
    for i in &run.inputs {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&i.file),
            esc(&i.sheet),
            i.rows,
            i.cases,
            i.rejected,
            i.not_evaluated.len()
        );
    }
    h.push_str("</tbody></table>");
}

fn totals(h: &mut String, report: &AuditReport, t: &Tally) {
    let all = &t.total;
    let _ = write!(
        h,
        "<h2>总体情况</h2><div class=\"cards\"><div class=\"card\">评查案件<b>{}</b></div><div class=\"card\">问题<b>{}</b></div>",
        report.run.cases_audited,
        report.findings.len()
    );
    for (k, s) in SEVERITIES.iter().enumerate() {
        let _ = write!(
            h,
            "<div class=\"card {}\">{}<b>{}</b></div>",
            s.key(),
            s.label(),
            all.by_severity[k]
        );
    }
    let _ = write!(
        h,
        "<div class=\"card\">一票否决案件<b>{}</b></div><div class=\"card\">平均分<b>{}</b></div></div>",
        all.veto_cases,
        score_text(all.mean_score)
    );
    h.push_str("<table class=\"totals\" id=\"totals\"><tr><th>评查案件</th><th>问题</th>");
    for s in SEVERITIES {
        let _ = write!(h, "<th>{}</th>", s.label());
    }
    h.push_str("<th>一票否决案件</th><th>平均分</th></tr>");
    let _ = write!(
        h,
        "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        report.run.cases_audited,
        report.findings.len()
    );
    for n in all.by_severity {
        let _ = write!(h, "<td class=\"num\">{n}</td>");
    }
    let _ = write!(
        h,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>",
        all.veto_cases,
        score_text(all.mean_score)
    );
}

fn severity_bar(label: String, counts: &[u64; 3]) -> Bar {
    Bar {
        label,
        segments: counts.iter().copied().zip(SEVERITY_COLORS).collect(),
    }
}

fn charts(h: &mut String, report: &AuditReport, t: &Tally) {
    let legend: Vec<(&str, &str)> = SEVERITIES
        .iter()
        .map(|s| s.label())
        .zip(SEVERITY_COLORS)
        .collect();
    let by_system: Vec<Bar> = t
        .systems
        .iter()
        .zip(&t.total.by_system_severity)
        .enumerate()
        .filter(|(i, (_, c))| *i < caseaudit_rules::System::ALL.len() || c.iter().sum::<u64>() > 0)
        .map(|(_, (k, c))| severity_bar(k.label().to_string(), c))
        .collect();
    let mut agencies: Vec<&crate::tally::AgencyTally> = t.agencies.iter().collect();
    agencies.sort_by_key(|a| std::cmp::Reverse(a.findings));
    let more = agencies.len().saturating_sub(CHART_AGENCIES);
    let by_agency: Vec<Bar> = agencies
        .iter()
        .take(CHART_AGENCIES)
        .map(|a| severity_bar(a.name.clone(), &a.by_severity))
        .collect();
    let grades: Vec<Bar> = t
        .grades
        .iter()
        .zip(&t.total.grades)
        .enumerate()
        .map(|(i, (g, n))| Bar::single(g.clone(), *n, GRADE_COLORS[i % GRADE_COLORS.len()]))
        .collect();
    let rules: HashMap<&str, (&str, &Keyed<Severity>)> = report
        .run
        .rules
        .iter()
        .map(|r| (r.id.as_str(), (r.title.as_str(), &r.severity)))
        .collect();
    let top: Vec<Bar> = t
        .total
        .rules
        .iter()
        .take(10)
        .map(|(id, n)| {
            let (title, sev) = match rules.get(id.as_str()) {
                Some((title, sev)) => (*title, Some(*sev)),
                None => ("", None),
            };
            let color = sev
                .and_then(crate::tally::severity_index)
                .map(|k| SEVERITY_COLORS[k])
                .unwrap_or(BAR_COLOR);
            Bar::single(format!("{id} {title}"), *n, color)
        })
        .collect();
    h.push_str("<h2>图表</h2><div class=\"charts\">");
    h.push_str(&bar_chart(
        "chart-system",
        "按制度统计问题",
        &by_system,
        &legend,
    ));
    let title = if more > 0 {
        format!("按执法单位统计问题（问题最多的 {CHART_AGENCIES} 个单位，其余 {more} 个见下文）")
    } else {
        "按执法单位统计问题".to_string()
    };
    h.push_str(&bar_chart("chart-agency", &title, &by_agency, &legend));
    h.push_str(&bar_chart("chart-grade", "案件评分等级分布", &grades, &[]));
    h.push_str(&bar_chart(
        "chart-rules",
        "最常见的问题（前 10 条规则）",
        &top,
        &legend,
    ));
    h.push_str("</div>");
}

fn options(h: &mut String, id: &str, all: &str, values: &[String]) {
    let _ = write!(h, "<select id=\"{id}\"><option value=\"\">{all}</option>");
    for v in values {
        let _ = write!(h, "<option value=\"{0}\">{0}</option>", esc(v));
    }
    h.push_str("</select>");
}

fn findings_table(h: &mut String, report: &AuditReport, t: &Tally) {
    let total = report.findings.len();
    let shown = total.min(MAX_FINDINGS);
    let embedded = &report.findings[..shown];
    h.push_str("<h2 id=\"findings\">问题清单</h2>");
    if total > shown {
        let _ = write!(
            h,
            "<p class=\"note\" id=\"findings-cut\">共 {total} 个问题，本页只列出前 {shown} 个（上面的统计包括全部问题）；全部问题见同一文件夹中的 findings.json、findings.xlsx 或 findings.csv（按 --format 输出的格式）。</p>"
        );
    }
    // The selects offer what the embedded rows hold, in the order of the tables above.
    let present = |pick: &dyn Fn(&Finding) -> String, order: Vec<String>| -> Vec<String> {
        let have: std::collections::HashSet<String> = embedded.iter().map(pick).collect();
        order.into_iter().filter(|v| have.contains(v)).collect()
    };
    let agencies = present(
        &|f| {
            f.agency
                .clone()
                .unwrap_or_else(|| caseaudit_engine::NO_AGENCY.into())
        },
        t.agencies.iter().map(|a| a.name.clone()).collect(),
    );
    let systems = present(
        &|f| f.system.label().to_string(),
        t.systems.iter().map(|k| k.label().to_string()).collect(),
    );
    let severities = present(
        &|f| f.severity.label().to_string(),
        SEVERITIES.iter().map(|s| s.label().to_string()).collect(),
    );
    h.push_str("<div class=\"filters\"><input id=\"filter-text\" type=\"search\" placeholder=\"搜索案件编号、单位、问题…\" aria-label=\"搜索\">");
    options(h, "filter-agency", "全部执法单位", &agencies);
    options(h, "filter-system", "全部制度", &systems);
    options(h, "filter-severity", "全部严重程度", &severities);
    h.push_str("<span id=\"filter-count\"></span></div>");
    h.push_str("<table id=\"findings-table\"><thead><tr>");
    for c in COLUMNS {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr></thead><tbody></tbody></table>");
    h.push_str("<noscript><p class=\"note\">问题清单需要启用脚本才能显示；也可打开 findings.xlsx 或 findings.csv。</p></noscript>");
    let rows: Vec<serde_json::Value> = embedded.iter().map(finding_row).collect();
    let _ = write!(
        h,
        "<script type=\"application/json\" id=\"findings-data\">{}</script>",
        script_json(&serde_json::Value::Array(rows))
    );
    let meta = serde_json::json!({
        "columns": {"agency": 0, "system": 3, "severity": 4},
        "severity_order": SEVERITIES.iter().map(|s| s.label()).collect::<Vec<_>>(),
    });
    let _ = write!(
        h,
        "<script type=\"application/json\" id=\"findings-meta\">{}</script>",
        script_json(&meta)
    );
}

fn agency_sections(h: &mut String, report: &AuditReport, t: &Tally) {
    let titles: HashMap<&str, &str> = report
        .run
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.title.as_str()))
        .collect();
    h.push_str("<h2 id=\"agencies\">各执法单位</h2>");
    if t.agencies.is_empty() {
        h.push_str("<p>无</p>");
    }
    for a in &t.agencies {
        let _ = write!(
            h,
            "<section class=\"agency\"><h3>{}</h3><p>案件 {} 件，平均分 {}，一票否决 {} 件，问题 {} 个（",
            esc(&a.name),
            a.cases,
            score_text(a.mean_score),
            a.veto_cases,
            a.findings
        );
        let sev: Vec<String> = SEVERITIES
            .iter()
            .zip(a.by_severity)
            .map(|(s, n)| format!("{} {n}", s.label()))
            .collect();
        h.push_str(&sev.join("，"));
        h.push_str("）</p><table><tr>");
        for g in &t.grades {
            let _ = write!(h, "<th>{}</th>", esc(g));
        }
        for k in &t.systems {
            let _ = write!(h, "<th>{}</th>", esc(k.label()));
        }
        h.push_str("</tr><tr>");
        for n in a.grades.iter().chain(&a.by_system) {
            let _ = write!(h, "<td class=\"num\">{n}</td>");
        }
        h.push_str("</tr></table>");
        if !a.rules.is_empty() {
            h.push_str("<p>主要问题：</p><ol class=\"top-rules\">");
            for (id, n) in a.rules.iter().take(AGENCY_TOP_RULES) {
                let _ = write!(
                    h,
                    "<li>{} {}（{n} 个）</li>",
                    esc(id),
                    esc(titles.get(id.as_str()).copied().unwrap_or(""))
                );
            }
            h.push_str("</ol>");
        }
        h.push_str("</section>");
    }
}

/// The publication records given (`--published`) and what they showed.
fn publication(h: &mut String, report: &AuditReport) {
    let run = &report.run;
    let Some(s) = &run.published_summary else {
        return;
    };
    h.push_str("<h2 id=\"published\">公示记录比对</h2>");
    let covered: Vec<String> = s
        .covered
        .iter()
        .map(|(kind, day)| format!("{}决定至 {}", esc(kind), esc(day)))
        .collect();
    let covered = if covered.is_empty() {
        "无（记录没有可识别的日期，未检查漏公示）".to_string()
    } else {
        covered.join("；")
    };
    let _ = write!(
        h,
        "<p>公示平台导出记录 {} 条，覆盖：{covered}。与台账案件编号相符的案件 {} 件；台账记载已公示但平台无此决定（PUB-008）{} 件；公示信息与台账不一致（PUB-009）{} 件；台账未填公示日期但公示平台已有记录 {} 件（视为已公示、公示日期不详，不计未公示，公示是否超期无法判断）。</p>",
        s.records,
        s.cases_matched,
        s.cases_missing,
        s.cases_disagreeing,
        s.published_without_ledger_date
    );
    h.push_str("<table id=\"published-records\"><thead><tr><th>文件</th><th>工作表</th><th>类别</th><th class=\"num\">记录数</th><th>覆盖截止日期</th><th class=\"num\">与台账相符</th><th class=\"num\">台账中无此编号</th><th class=\"num\">无法识别的单元格</th></tr></thead><tbody>");
    for p in &run.published {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&p.file),
            esc(&p.sheet),
            esc(p.kind.as_deref().unwrap_or("未注明")),
            p.rows,
            esc(p.covered_until.as_deref().unwrap_or("—")),
            p.matched,
            p.unmatched,
            p.unreadable_cells
        );
    }
    h.push_str("</tbody></table>");
}

fn notes(h: &mut String, report: &AuditReport) {
    let run = &report.run;
    let mut ne = String::new();
    for i in &run.inputs {
        for n in &i.not_evaluated {
            let _ = write!(
                ne,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.file),
                esc(&i.sheet),
                esc(&n.rule_id),
                esc(&run.missing_text(&n.missing_fields))
            );
        }
    }
    h.push_str("<h2 id=\"not-evaluated\">未评查的规则</h2>");
    if ne.is_empty() {
        h.push_str("<p>每条规则都已在全部台账上评查。</p>");
    } else {
        let _ = write!(
            h,
            "<p>台账缺少规则所需的列时，该规则在该台账上未评查（不计为问题，也不计为通过）。</p><table><thead><tr><th>文件</th><th>工作表</th><th>规则</th><th>缺少字段</th></tr></thead><tbody>{ne}</tbody></table>"
        );
    }
    let undecided: Vec<String> = run
        .rules
        .iter()
        .filter(|r| r.not_evaluable > 0)
        .map(|r| format!("{}（{} 件）", esc(&r.id), r.not_evaluable))
        .collect();
    if !undecided.is_empty() {
        let _ = write!(
            h,
            "<p>日期超出工作日历年份、无法判断的案件：{}</p>",
            undecided.join("；")
        );
    }
    if !run.errors.is_empty() {
        h.push_str("<h2 id=\"errors\">无法读取的文件</h2><ul>");
        for e in &run.errors {
            let sheet = e
                .sheet
                .as_deref()
                .map(|s| format!(" 工作表「{}」", esc(s)))
                .unwrap_or_default();
            let _ = write!(h, "<li>{}{sheet}：{}</li>", esc(&e.file), esc(&e.reason));
        }
        h.push_str("</ul>");
    }
    if !run.warnings.is_empty() {
        h.push_str("<h2 id=\"warnings\">提示</h2><ul>");
        for w in &run.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>");
    }
}

/// Renders the page.
pub fn render_html(report: &AuditReport) -> String {
    let t = Tally::new(report);
    let mut h = String::with_capacity(64 * 1024 + report.findings.len().min(MAX_FINDINGS) * 400);
    head(&mut h);
    run_info(&mut h, report);
    totals(&mut h, report, &t);
    charts(&mut h, report, &t);
    findings_table(&mut h, report, &t);
    agency_sections(&mut h, report, &t);
    publication(&mut h, report);
    notes(&mut h, report);
    let _ = write!(h, "<script>{SCRIPT}</script></body></html>");
    h
}

/// Writes report.html into `out_dir`.
pub fn write_html(report: &AuditReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let path = out_dir.join("report.html");
    write_atomic(&path, render_html(report).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use crate::fixture::{self, EVIL, FORMULA_CASE};

    fn page() -> (tempfile::TempDir, AuditReport, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = fixture::report(&fixture::ledger(dir.path()));
        let path = write_html(&report, dir.path()).expect("html");
        assert_eq!(path, dir.path().join("report.html"));
        let page = std::fs::read_to_string(path).expect("read");
        (dir, report, page)
    }

    fn data(page: &str) -> serde_json::Value {
        let open = "<script type=\"application/json\" id=\"findings-data\">";
        let start = page.find(open).expect("data") + open.len();
        let end = start + page[start..].find("</script>").expect("end");
        serde_json::from_str(&page[start..end]).expect("findings JSON parses")
    }

    #[test]
    fn html_escapes_ledger_text() {
        let (_dir, _, page) = page();
        assert!(!page.contains("<script>alert"), "unescaped script");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The agency has a section and an option in the agency filter, both escaped.
        assert!(page.contains("<h3>&lt;script&gt;alert(1)&lt;/script&gt;</h3>"));
        assert!(page.contains("<option value=\"&lt;script&gt;alert(1)&lt;/script&gt;\">"));
    }

    #[test]
    fn html_is_self_contained() {
        let (_dir, _, page) = page();
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains(" src="), "nothing is loaded from elsewhere");
        assert!(!page.contains("stylesheet"));
        assert!(page.contains("Content-Security-Policy"));
        assert!(page.contains("<title>行政执法案卷评查报告</title>"));
    }

    #[test]
    fn html_embeds_the_findings_as_json() {
        let (_dir, report, page) = page();
        let rows = data(&page);
        let rows = rows.as_array().expect("array");
        assert_eq!(rows.len(), report.findings.len());
        assert_eq!(rows[0][0], EVIL);
        assert_eq!(rows[0][1], FORMULA_CASE);
        assert_eq!(rows[1][7], "一票否决");
        assert_eq!(rows[1][4], "严重");
        assert!(page.contains("id=\"findings-meta\""));
    }

    #[test]
    fn html_has_the_hooks_tests_and_readers_use() {
        let (_dir, _, page) = page();
        for id in [
            "findings-table",
            "filter-text",
            "filter-agency",
            "filter-system",
            "filter-severity",
            "filter-count",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(page.matches("<figure class=\"chart\">").count(), 4);
        assert_eq!(
            page.matches("<figure class=\"chart\"><figcaption>").count(),
            4
        );
        assert_eq!(page.matches("<svg ").count(), 4);
        assert!(page.contains("<rect"));
        assert_eq!(page.matches("<section class=\"agency\">").count(), 2);
        // Not evaluated per input, file errors and warnings are shown.
        assert!(page.contains("REC-004") && page.contains("archived_date"));
        assert!(page.contains("broken.xlsx") && page.contains("一条提示"));
        // Totals: 4 findings, 1 veto case, mean of 0 and 95.
        assert!(page.contains("问题<b>4</b>") && page.contains("一票否决案件<b>1</b>"));
        assert!(page.contains("平均分<b>47.5</b>"));
    }

    #[test]
    fn html_data_cannot_close_its_script() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut report = fixture::report(&dir.path().join("none.csv"));
        report.findings[0].message = "</script><!-- <script>alert(2)</script>".into();
        let page = render_html(&report);
        assert!(!page.contains("</script><!--") && !page.contains("alert(2)</script>"));
        assert_eq!(data(&page)[0][6], "</script><!-- <script>alert(2)</script>");
    }

    #[test]
    fn html_embeds_at_most_the_limit_and_says_where_the_rest_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut report = fixture::report(&dir.path().join("none.csv"));
        let f = report.findings[0].clone();
        report.findings = vec![f; MAX_FINDINGS + 5];
        let page = render_html(&report);
        assert_eq!(data(&page).as_array().map(Vec::len), Some(MAX_FINDINGS));
        assert!(page.contains("id=\"findings-cut\""));
        assert!(page.contains("findings.json") && page.contains("findings.xlsx"));
        // The aggregates count every finding.
        assert!(page.contains(&format!("问题<b>{}</b>", MAX_FINDINGS + 5)));
    }
}
