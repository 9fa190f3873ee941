//! The workbench in a real headless Chromium, driven over the DevTools protocol (a small
//! client on a WebSocket): upload the sample ledgers through the page, see the header
//! mapping and the report, download the workbook and the notices zip and check them,
//! then pick two runs in the history for the follow-up view. A screenshot of each page
//! is kept in `target/tmp/serve-screenshots/`. `.ci/run` installs Debian's chromium;
//! set CASEAUDIT_SKIP_BROWSER=1 to skip this test on a machine without it.

use base64::Engine;
use caseaudit_serve::{router, AppState, Config};
use serde_json::{json, Value};
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn chromium() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
}

/// Kills the browser when the test ends, however it ends.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A DevTools protocol session on one page.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
    exceptions: Vec<String>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) = tungstenite::connect(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(120)));
        }
        Cdp {
            ws,
            next: 0,
            session: None,
            exceptions: Vec::new(),
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        loop {
            let m = self.ws.read().unwrap_or_else(|e| panic!("{method}: {e}"));
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("{e}"));
            if v["method"] == "Runtime.exceptionThrown" {
                self.exceptions
                    .push(v["params"]["exceptionDetails"].to_string());
            }
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Polls until `expr` is true (gives up after a generous bound; asserts no time).
    fn wait_for(&mut self, expr: &str, what: &str) {
        // A page being replaced may have no body yet: that is "not yet".
        let guarded = format!(
            "(() => {{ try {{ return ({expr}) === true; }} catch (e) {{ return false; }} }})()"
        );
        for _ in 0..1200 {
            if self.eval(&guarded) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let body = self.eval("document.body ? document.body.innerText : ''");
        panic!("timed out waiting for {what}; page text:\n{body}");
    }

    fn navigate(&mut self, url: &str, page: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for(
            &format!(
                "document.readyState === 'complete' && !!document.querySelector('main[data-page=\"{page}\"]')"
            ),
            page,
        );
    }

    fn screenshot(&mut self, path: &Path) {
        self.screenshot_with(
            path,
            json!({"format": "png", "captureBeyondViewport": false}),
        );
    }

    fn screenshot_with(&mut self, path: &Path, params: Value) {
        let r = self.call("Page.captureScreenshot", params);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            bytes.len() > 10_000,
            "{}: screenshot too small ({} bytes)",
            path.display(),
            bytes.len()
        );
    }

    fn set_files(&mut self, selector: &str, files: &[PathBuf]) {
        self.call("DOM.getDocument", json!({}));
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": format!("document.querySelector('{selector}')")}),
        );
        let object = r["result"]["objectId"]
            .as_str()
            .unwrap_or_else(|| panic!("no {selector}: {r}"))
            .to_string();
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({"files": files, "objectId": object}),
        );
    }
}

/// Waits for a finished download whose name satisfies `want`.
fn downloaded(dir: &Path, want: impl Fn(&str) -> bool) -> PathBuf {
    for _ in 0..1200 {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if want(&name) && !name.ends_with(".crdownload") {
                    return e.path();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("download did not arrive in {}", dir.display());
}

fn unzip_names(bytes: &[u8]) -> Vec<String> {
    let z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec()))
        .unwrap_or_else(|e| panic!("not a zip: {e}"));
    z.file_names()
        .map(|n| n.map(|c| c.to_string()).unwrap_or_default())
        .collect()
}

#[test]
fn workbench_uploads_reports_downloads_and_follows_up() {
    if std::env::var("CASEAUDIT_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("CASEAUDIT_SKIP_BROWSER=1: browser test skipped");
        return;
    }
    let bin = chromium().unwrap_or_else(|| {
        panic!("chromium not found: install Debian's chromium or set CASEAUDIT_SKIP_BROWSER=1")
    });
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-screenshots");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));

    // The workbench on a free loopback port.
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let data = tmp.path().join("data");
    let addr = {
        let _guard = rt.enter();
        let state = AppState::open(&Config {
            bind: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
            data: data.clone(),
            token: None,
            max_upload_bytes: 200 * 1024 * 1024,
            rules: None,
            workers: 2,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        rt.spawn(async move { axum::serve(listener, router(state)).await });
        addr
    };
    let base = format!("http://{addr}");

    // Chromium with its DevTools endpoint on a free port.
    let profile = tmp.path().join("profile");
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap_or_else(|e| panic!("{e}"));
    let _browser = Browser(
        Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1280,1800",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}")),
    );
    let port_file = profile.join("DevToolsActivePort");
    let mut endpoint = None;
    for _ in 0..240 {
        if let Ok(t) = std::fs::read_to_string(&port_file) {
            let mut lines = t.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                endpoint = Some(format!("ws://127.0.0.1:{port}{path}"));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let endpoint = endpoint.unwrap_or_else(|| panic!("chromium did not start its DevTools"));
    let mut cdp = Cdp::connect(&endpoint);
    cdp.call(
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": downloads.display().to_string()}),
    );
    let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}));
    let session = cdp.call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    cdp.session = session["sessionId"].as_str().map(String::from);
    cdp.call("Page.enable", json!({}));
    cdp.call("Runtime.enable", json!({}));
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 1800, "deviceScaleFactor": 1, "mobile": false}),
    );

    // New audit: every sample ledger through the file input.
    let ledgers: Vec<PathBuf> = {
        // Chromium reads files chosen by absolute paths without `..`.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/ledgers")
            .canonicalize()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    cdp.navigate(&format!("{base}/"), "new");
    assert!(cdp
        .eval("/^\\d{4}-\\d{2}-\\d{2}$/.test(document.getElementById('as_of').value)")
        .as_bool()
        .unwrap_or(false));
    cdp.set_files("#files", &ledgers);
    cdp.eval("document.getElementById('as_of').value = '2022-12-31'");
    cdp.wait_for(
        &format!(
            "document.querySelectorAll('#chosen li').length === {}",
            ledgers.len()
        ),
        "the chosen files list",
    );
    cdp.screenshot(&shots.join("new.png"));
    cdp.eval("document.getElementById('submit').click()");

    // The run page: header mapping, then the report.
    cdp.wait_for(
        "location.pathname.startsWith('/runs/') && document.body.dataset.ready === '1'",
        "the run to finish",
    );
    let first = cdp
        .eval("location.pathname.split('/').pop()")
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(
        cdp.eval("document.getElementById('status').dataset.status"),
        json!("done")
    );
    cdp.wait_for(
        "document.getElementById('mapping').textContent.includes('market-2022.xlsx')",
        "the header mapping",
    );
    let mapping = cdp.eval("document.getElementById('mapping').textContent");
    assert!(
        mapping.as_str().is_some_and(|t| t.contains("标准字段")),
        "{mapping}"
    );
    cdp.wait_for(
        "document.body.dataset.report === '1'",
        "the report in its frame",
    );
    cdp.screenshot(&shots.join("run.png"));
    // A smaller one of the top of the page, for the README (docs/workbench.png).
    cdp.screenshot_with(
        &shots.join("run-small.png"),
        json!({"format": "png", "clip": {"x": 0, "y": 0, "width": 1280, "height": 1000, "scale": 0.6}}),
    );

    // Downloads: the workbook is the run's own file.
    cdp.eval("document.getElementById('dl-xlsx').click()");
    let xlsx = downloaded(&downloads, |n| n.ends_with(".xlsx"));
    let got = std::fs::read(&xlsx).unwrap_or_else(|e| panic!("{e}"));
    let want = std::fs::read(data.join("runs").join(&first).join("out/findings.xlsx"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, want, "the downloaded workbook differs from the run's");
    let book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(got))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(calamine::Reader::sheet_names(&book).len() >= 3);

    // Notices: the form returns a zip of docx and md notices with the register.
    cdp.eval("document.getElementById('issuer').value = '某县司法局'");
    cdp.eval("document.getElementById('number_prefix').value = '某司函〔2023〕'");
    cdp.eval("document.getElementById('issued').value = '2023-01-10'");
    cdp.eval("document.getElementById('notices-submit').click()");
    let zip_path = downloaded(&downloads, |n| n.ends_with(".zip"));
    let mut bytes = Vec::new();
    std::fs::File::open(&zip_path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .unwrap_or_else(|e| panic!("{e}"));
    let names = unzip_names(&bytes);
    assert!(names.iter().any(|n| n == "整改通知书清单.csv"), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".docx")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".md")), "{names:?}");

    // A second run (one ledger and a hostile one, a later date) for the follow-up.
    let hostile = tmp
        .path()
        .join("<img src=x onerror=document.title='pwned'>.csv");
    std::fs::write(
        &hostile,
        "案件编号,执法单位,当事人,执法类别,文字记录\n\
         X-1,\"<img src=x onerror=document.title='pwned'>局\",张三,行政检查,否\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    cdp.navigate(&format!("{base}/"), "new");
    let mut second: Vec<PathBuf> = ledgers
        .iter()
        .filter(|p| p.to_string_lossy().contains("market"))
        .cloned()
        .collect();
    second.push(hostile);
    cdp.set_files("#files", &second);
    cdp.eval("document.getElementById('as_of').value = '2023-06-30'");
    cdp.eval("document.getElementById('submit').click()");
    cdp.wait_for(
        &format!(
            "location.pathname.startsWith('/runs/') && !location.pathname.endsWith('{first}') && document.body.dataset.ready === '1'"
        ),
        "the second run to finish",
    );

    // Names and values from the client stay text.
    cdp.wait_for(
        "document.getElementById('mapping').textContent.includes('onerror')",
        "the hostile ledger in the mapping",
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('img').length"),
        json!(0)
    );
    assert!(cdp
        .eval("document.getElementById('params').textContent.includes(\"<img src=x\")")
        .as_bool()
        .unwrap_or(false));

    // History: both runs; pick them for the follow-up.
    cdp.navigate(&format!("{base}/history"), "history");
    cdp.wait_for(
        "document.querySelectorAll('#runs input[type=checkbox]:not([disabled])').length === 2",
        "two finished runs in the history",
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('img').length"),
        json!(0)
    );
    cdp.screenshot(&shots.join("history.png"));
    cdp.eval("document.querySelectorAll('#runs input[type=checkbox]').forEach((b) => b.click())");
    cdp.eval("document.getElementById('compare').click()");
    cdp.wait_for(
        "location.pathname === '/follow-up' && document.body.dataset.ready === '1'",
        "the follow-up view",
    );
    let dates = cdp.eval("document.getElementById('dates').textContent");
    assert!(
        dates
            .as_str()
            .is_some_and(|t| t.contains("2022-12-31") && t.contains("2023-06-30")),
        "{dates}"
    );
    let rows = cdp.eval("document.querySelectorAll('#diff tr').length");
    assert!(rows.as_u64().unwrap_or(0) >= 2, "{rows}");
    assert_eq!(
        cdp.eval("document.querySelectorAll('img').length"),
        json!(0)
    );
    assert!(!cdp
        .eval("document.title")
        .as_str()
        .unwrap_or("")
        .contains("pwned"));
    cdp.screenshot(&shots.join("follow-up.png"));

    assert!(
        cdp.exceptions.is_empty(),
        "script errors in the pages: {:?}",
        cdp.exceptions
    );
    eprintln!("screenshots in {}", shots.display());
}
