//! report.html: one self-contained page (no network; charts are inline SVG drawn here,
//! the findings table is filtered and sorted by a small inline script).

use crate::safe::html_escape as esc;
use crate::write::{write_atomic, ReportError};
use caseaudit_engine::{AuditReport, Finding};
use caseaudit_rules::{Severity, System};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// At most this many findings are embedded in the page (decisions.md).
pub const MAX_FINDINGS: usize = 10_000;

/// A horizontal bar chart as inline SVG.
fn bar_chart(title: &str, bars: &[(String, u64)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 26;
    let label_w = 220;
    let bar_w = 420;
    let h = row * bars.len().max(1) + 10;
    let mut s = format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption><svg role=\"img\" width=\"{}\" height=\"{h}\" viewBox=\"0 0 {} {h}\">",
        esc(title),
        label_w + bar_w + 60,
        label_w + bar_w + 60
    );
    if bars.is_empty() {
        s.push_str("<text x=\"0\" y=\"20\">无</text>");
    }
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = i * row + 4;
        let w = (*v as f64 / max as f64 * bar_w as f64).round() as usize;
        let short: String = label.chars().take(16).collect();
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{}</title>{}</text><rect x=\"{}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"#4472c4\"/><text x=\"{}\" y=\"{}\">{v}</text>",
            label_w - 6,
            y + 15,
            esc(label),
            esc(&short),
            label_w,
            row - 8,
            label_w + w + 4,
            y + 15
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn count_by<'a>(items: impl Iterator<Item = &'a str>) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for k in items {
        *m.entry(k.to_string()).or_insert(0) += 1;
    }
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn system_label(k: &str) -> String {
    System::from_key(k)
        .map(|s| s.label().to_string())
        .unwrap_or_else(|| k.to_string())
}

fn severity_label(k: &str) -> String {
    Severity::from_key(k)
        .map(|s| s.label().to_string())
        .unwrap_or_else(|| k.to_string())
}

/// JSON for embedding inside a script element: no `<` can close it.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn finding_row(f: &Finding) -> serde_json::Value {
    serde_json::json!([
        f.agency.clone().unwrap_or_default(),
        f.case_id.clone().unwrap_or_default(),
        f.rule_id,
        system_label(&f.system),
        severity_label(&f.severity),
        f.title,
        f.message,
        format!("{} {} 第{}行", f.source.file, f.source.sheet, f.source.row),
    ])
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px;color:#222}\
h1{font-size:24px}h2{font-size:20px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}\
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#ddebf7;cursor:pointer}.totals td{font-size:15px}.charts{display:flex;flex-wrap:wrap;gap:24px}\
figure.chart{margin:0}figcaption{font-weight:bold;margin-bottom:4px}svg text{font-size:12px}\
.filters{margin:8px 0;display:flex;gap:8px;flex-wrap:wrap}.note{color:#a00}section.agency{margin-bottom:24px}";

const SCRIPT: &str = r#"(function(){
var data=JSON.parse(document.getElementById('findings-data').textContent);
var tbody=document.querySelector('#findings-table tbody');
var ft=document.getElementById('filter-text'),fa=document.getElementById('filter-agency'),
fs=document.getElementById('filter-system'),fv=document.getElementById('filter-severity'),
count=document.getElementById('filter-count');
var sortCol=-1,asc=true;
function fill(sel,idx){var seen={};data.forEach(function(r){seen[r[idx]]=1;});
Object.keys(seen).sort().forEach(function(v){var o=document.createElement('option');o.value=v;o.textContent=v;sel.appendChild(o);});}
fill(fa,0);fill(fs,3);fill(fv,4);
var h=new URLSearchParams(location.hash.slice(1));
if(h.get('q')){ft.value=h.get('q');}if(h.get('agency')){fa.value=h.get('agency');}
if(h.get('system')){fs.value=h.get('system');}if(h.get('severity')){fv.value=h.get('severity');}
function render(){var q=ft.value.trim().toLowerCase();
var rows=data.filter(function(r){return (!fa.value||r[0]===fa.value)&&(!fs.value||r[3]===fs.value)&&(!fv.value||r[4]===fv.value)&&
(!q||r.join(' ').toLowerCase().indexOf(q)>=0);});
if(sortCol>=0){rows.sort(function(a,b){var x=a[sortCol],y=b[sortCol];return (x<y?-1:x>y?1:0)*(asc?1:-1);});}
while(tbody.firstChild){tbody.removeChild(tbody.firstChild);}
var frag=document.createDocumentFragment();
rows.forEach(function(r){var tr=document.createElement('tr');r.forEach(function(v){var td=document.createElement('td');td.textContent=v;tr.appendChild(td);});frag.appendChild(tr);});
tbody.appendChild(frag);count.textContent='显示 '+rows.length+' / '+data.length+' 条';}
[ft,fa,fs,fv].forEach(function(e){e.addEventListener('input',render);e.addEventListener('change',render);});
document.querySelectorAll('#findings-table th').forEach(function(th,i){th.addEventListener('click',function(){
if(sortCol===i){asc=!asc;}else{sortCol=i;asc=true;}render();});});
render();})();"#;

/// Renders the page.
pub fn render_html(report: &AuditReport) -> String {
    let run = &report.run;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>行政执法案卷评查报告</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>行政执法案卷评查报告</h1><p>评查日期 {}；参数配置 {}；规则包 {} {}</p>",
        esc(&run.as_of),
        esc(&run.profile),
        esc(&run.pack.name),
        esc(&run.pack.version)
    );
    let vetoes = report.scores.cases.iter().filter(|c| c.veto).count();
    let mean = if report.scores.cases.is_empty() {
        0.0
    } else {
        report.scores.cases.iter().map(|c| c.score).sum::<f64>() / report.scores.cases.len() as f64
    };
    let sev = |k: &str| report.findings.iter().filter(|f| f.severity == k).count();
    let _ = write!(
        h,
        "<h2>总体情况</h2><table class=\"totals\" id=\"totals\"><tr><th>评查案件</th><th>读取行数</th><th>问题</th><th>严重</th><th>较重</th><th>一般</th><th>一票否决案件</th><th>平均分</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{vetoes}</td><td>{mean:.1}</td></tr></table>",
        run.cases_audited,
        run.rows_read,
        report.findings.len(),
        sev("critical"),
        sev("major"),
        sev("minor")
    );
    // Charts.
    let by_system: Vec<(String, u64)> = System::ALL
        .iter()
        .map(|s| {
            (
                s.label().to_string(),
                report
                    .findings
                    .iter()
                    .filter(|f| f.system == s.key())
                    .count() as u64,
            )
        })
        .collect();
    let by_agency: Vec<(String, u64)> = report
        .scores
        .agencies
        .iter()
        .map(|a| (a.agency.clone(), a.findings))
        .collect();
    let grades = count_by(report.scores.cases.iter().map(|c| c.grade.as_str()));
    let titles: BTreeMap<&str, &str> = run
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.title.as_str()))
        .collect();
    let mut top = count_by(report.findings.iter().map(|f| f.rule_id.as_str()));
    top.truncate(10);
    let top: Vec<(String, u64)> = top
        .into_iter()
        .map(|(id, n)| {
            (
                format!("{id} {}", titles.get(id.as_str()).copied().unwrap_or("")),
                n,
            )
        })
        .collect();
    h.push_str("<h2>图表</h2><div class=\"charts\">");
    h.push_str(&bar_chart("按制度统计问题", &by_system));
    h.push_str(&bar_chart("按执法单位统计问题", &by_agency));
    h.push_str(&bar_chart("案件评分等级分布", &grades));
    h.push_str(&bar_chart("最常见的问题（前 10 条规则）", &top));
    h.push_str("</div>");

    // Agencies.
    h.push_str("<h2>各执法单位</h2>");
    for a in &report.scores.agencies {
        let _ = write!(
            h,
            "<section class=\"agency\"><h3>{}</h3><p>案件 {} 件，平均分 {:.1}，一票否决 {} 件，问题 {} 个</p><table><tr>",
            esc(&a.agency),
            a.cases,
            a.mean_score,
            a.veto_cases,
            a.findings
        );
        for (g, _) in &a.grades {
            let _ = write!(h, "<th>{}</th>", esc(g));
        }
        for s in System::ALL {
            let _ = write!(h, "<th>{}</th>", esc(s.label()));
        }
        h.push_str("</tr><tr>");
        for n in a.grades.values() {
            let _ = write!(h, "<td>{}</td>", n.as_u64().unwrap_or(0));
        }
        for s in System::ALL {
            let n = a
                .findings_by_system
                .get(s.key())
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            let _ = write!(h, "<td>{n}</td>");
        }
        h.push_str("</tr></table>");
        let mut rules = count_by(
            report
                .findings
                .iter()
                .filter(|f| f.agency.as_deref().unwrap_or(caseaudit_engine::NO_AGENCY) == a.agency)
                .map(|f| f.rule_id.as_str()),
        );
        rules.truncate(5);
        if !rules.is_empty() {
            h.push_str("<p>主要问题：");
            let items: Vec<String> = rules
                .iter()
                .map(|(id, n)| {
                    format!(
                        "{} {}（{}）",
                        esc(id),
                        esc(titles.get(id.as_str()).copied().unwrap_or("")),
                        n
                    )
                })
                .collect();
            h.push_str(&items.join("；"));
            h.push_str("</p>");
        }
        h.push_str("</section>");
    }

    // Findings table.
    let shown = report.findings.len().min(MAX_FINDINGS);
    let rows: Vec<serde_json::Value> = report
        .findings
        .iter()
        .take(shown)
        .map(finding_row)
        .collect();
    h.push_str("<h2>问题清单</h2>");
    if report.findings.len() > shown {
        let _ = write!(
            h,
            "<p class=\"note\">共 {} 个问题，本页列出前 {shown} 个；全部问题见同一文件夹中的 findings.json 和 findings.xlsx。</p>",
            report.findings.len()
        );
    }
    h.push_str("<div class=\"filters\"><input id=\"filter-text\" type=\"search\" placeholder=\"搜索案件编号、问题…\"><select id=\"filter-agency\"><option value=\"\">全部执法单位</option></select><select id=\"filter-system\"><option value=\"\">全部制度</option></select><select id=\"filter-severity\"><option value=\"\">全部严重程度</option></select><span id=\"filter-count\"></span></div>");
    h.push_str("<table id=\"findings-table\"><thead><tr><th>执法单位</th><th>案件编号</th><th>规则</th><th>制度</th><th>严重程度</th><th>问题</th><th>说明</th><th>位置</th></tr></thead><tbody></tbody></table>");
    let _ = write!(
        h,
        "<script type=\"application/json\" id=\"findings-data\">{}</script>",
        script_json(&serde_json::Value::Array(rows))
    );

    // Not evaluated, errors.
    let mut ne = String::new();
    for i in &run.inputs {
        for n in &i.not_evaluated {
            let _ = write!(
                ne,
                "<li>{} {}：{}（缺少 {}）</li>",
                esc(&i.file),
                esc(&i.sheet),
                esc(&n.rule_id),
                esc(&n.missing_fields.join("、"))
            );
        }
    }
    if !ne.is_empty() {
        let _ = write!(h, "<h2>未评查的规则</h2><ul id=\"not-evaluated\">{ne}</ul>");
    }
    if !run.errors.is_empty() {
        h.push_str("<h2>无法读取的文件</h2><ul id=\"errors\">");
        for e in &run.errors {
            let _ = write!(h, "<li>{}：{}</li>", esc(&e.file), esc(&e.reason));
        }
        h.push_str("</ul>");
    }
    let _ = write!(h, "<script>{SCRIPT}</script></body></html>");
    h
}

/// Writes report.html into `out_dir`.
pub fn write_html(report: &AuditReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let path = out_dir.join("report.html");
    write_atomic(&path, render_html(report).as_bytes())?;
    Ok(path)
}
