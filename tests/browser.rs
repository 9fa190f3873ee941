//! report.html in headless Chromium: it loads without console errors, the charts and
//! the findings table render, filtering works, no ledger text runs as script, and a
//! screenshot is taken. `.ci/run` installs Debian's chromium; set
//! CASEAUDIT_SKIP_BROWSER=1 to skip this test on a machine without it.

use super::{caseaudit, read_json, RunOk};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

fn chromium() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
}

fn run_chromium(bin: &str, profile: &Path, extra: &[String]) -> (String, String) {
    let out = Process::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .filter(|l| l.contains("Error") || l.contains("Uncaught") || l.contains(":ERROR:"))
        .collect()
}

#[test]
fn report_renders_filters_and_runs_no_ledger_script() {
    if std::env::var("CASEAUDIT_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("CASEAUDIT_SKIP_BROWSER=1: browser test skipped");
        return;
    }
    let bin = chromium().unwrap_or_else(|| {
        panic!("chromium not found: install Debian's chromium or set CASEAUDIT_SKIP_BROWSER=1")
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger = dir.path().join("hostile.csv");
    std::fs::write(
        &ledger,
        "案件编号,执法单位,当事人,执法类别,文字记录\n\
         X-1,\"<script>document.title='pwned'</script>局\",\"<img src=x onerror=\"\"document.title='pwned'\"\">\",行政检查,否\n\
         X-2,某局,张三,行政检查,否\n\
         Y-1,某局,李四,行政检查,是\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,html",
            "--out",
        ])
        .arg(&out)
        .arg(&ledger)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledgers"))
        .run_ok();
    let report = read_json(&out.join("findings.json"));
    let total = report["findings"].as_array().map(|a| a.len()).unwrap_or(0);
    let page = out.join("report.html");
    let url = format!("file://{}", page.display());

    // Loads, runs its script without console errors, renders rows and charts.
    let profile = dir.path().join("profile");
    let (dom, stderr) = run_chromium(bin, &profile, &["--dump-dom".into(), url.clone()]);
    assert!(
        console_errors(&stderr).is_empty(),
        "console errors:\n{stderr}"
    );
    assert!(
        dom.contains("<title>行政执法案卷评查报告</title>"),
        "the page title changed: a ledger script ran"
    );
    assert!(!dom.contains("pwned</title>"));
    assert_eq!(dom.matches("<figure class=\"chart\">").count(), 4);
    assert!(dom.contains("<rect"), "charts have bars");
    let rows = dom.matches("<tr><td>").count();
    assert!(rows >= total, "table rows {rows} < findings {total}");
    assert!(
        dom.contains(&format!("显示 {total} / {total} 条")),
        "filter count missing"
    );
    assert!(
        !dom.contains("<img src=\"x\""),
        "an <img> from the ledger became an element"
    );

    // Filtering: the hash sets the text filter.
    let (dom, _) = run_chromium(
        bin,
        &profile,
        &["--dump-dom".into(), format!("{url}#q=X-2")],
    );
    let shown = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["case_id"] == "X-2")
        .count();
    assert!(shown > 0);
    assert!(
        dom.contains(&format!("显示 {shown} / {total} 条")),
        "filtering did not narrow the table"
    );

    // The rectification notices (HTML) for the same findings: the hostile agency gets
    // a notice whose name and cells stay text.
    let notices = dir.path().join("notices");
    caseaudit()
        .args(["notices"])
        .arg(out.join("findings.json"))
        .args([
            "--issuer",
            "<script>document.title='pwned'</script>司法局",
            "--issued",
            "2023-01-10",
            "--format",
            "html",
            "--out",
        ])
        .arg(&notices)
        .run_ok();
    let pages: Vec<PathBuf> = std::fs::read_dir(&notices)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    assert!(!pages.is_empty(), "no HTML notices written");
    let mut hostile_seen = false;
    for page in &pages {
        assert!(
            page.starts_with(&notices),
            "{} escaped --out",
            page.display()
        );
        let (dom, stderr) = run_chromium(
            bin,
            &profile,
            &["--dump-dom".into(), format!("file://{}", page.display())],
        );
        assert!(
            dom.contains("<title>整改通知书</title>"),
            "{}: a script ran or the page failed: {stderr}",
            page.display()
        );
        assert!(!dom.contains("<img src=\"x\""), "{}", page.display());
        hostile_seen |= dom.contains("&lt;script&gt;");
    }
    assert!(hostile_seen, "the hostile names were not in any notice");

    // A screenshot for people to look at.
    let shot = dir.path().join("report.png");
    let (_, stderr) = run_chromium(
        bin,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".into(),
            url,
        ],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot missing or empty ({size} bytes): {stderr}"
    );
    if let Ok(keep) = std::env::var("CASEAUDIT_SCREENSHOT") {
        let _ = std::fs::copy(&shot, keep);
    }
}
