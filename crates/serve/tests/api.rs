//! The workbench's JSON API, in process (tower's `oneshot` on the router): the contract
//! of serve.md, the safety rules, and history across a restart.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use caseaudit_serve::{router, AppState, Config};
use http_body_util::BodyExt;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

const BOUNDARY: &str = "----caseaudit-test-boundary";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ledgers")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

fn config(data: &Path, token: Option<&str>, max: usize) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        data: data.to_path_buf(),
        token: token.map(String::from),
        max_upload_bytes: max,
        rules: None,
        workers: 2,
    }
}

fn open(data: &Path) -> Arc<AppState> {
    AppState::open(&config(data, None, 200 * 1024 * 1024)).unwrap_or_else(|e| panic!("{e}"))
}

/// A multipart body: (field, file name, bytes) parts; a `None` file name is a text field.
fn multipart(parts: &[(&str, Option<&str>, Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, file, bytes) in parts {
        b.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => b.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn upload_request(body: Vec<u8>) -> Request<Body> {
    Request::post("/api/runs")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

async fn send(state: &Arc<AppState>, req: Request<Body>) -> Reply {
    let resp = router(state.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(state: &Arc<AppState>, uri: &str) -> Reply {
    send(
        state,
        Request::get(uri)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
}

/// Uploads files (name, bytes) with the fixtures' as-of date; the new run's id.
async fn upload(state: &Arc<AppState>, files: &[(String, Vec<u8>)], as_of: &str) -> String {
    let mut parts: Vec<(&str, Option<&str>, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ("file", Some(n.as_str()), b.clone()))
        .collect();
    parts.push(("as_of", None, as_of.as_bytes().to_vec()));
    parts.push(("profile", None, b"national".to_vec()));
    let r = send(state, upload_request(multipart(&parts))).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let j = r.json();
    assert_eq!(j["status"], "queued");
    j["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {j}"))
        .to_string()
}

fn fixture_uploads() -> Vec<(String, Vec<u8>)> {
    fixture_files()
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (name, std::fs::read(&p).unwrap_or_else(|e| panic!("{e}")))
        })
        .collect()
}

/// Polls a run until it is done or failed (a run that never ends fails the test after
/// ten minutes; nothing asserts how long it took).
async fn finish(state: &Arc<AppState>, id: &str) -> Value {
    for _ in 0..6000 {
        let j = get(state, &format!("/api/runs/{id}")).await.json();
        let s = j["status"].as_str().unwrap_or("").to_string();
        assert!(
            ["queued", "running", "done", "failed"].contains(&s.as_str()),
            "{j}"
        );
        if s == "done" || s == "failed" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("run {id} did not finish");
}

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec()))
        .unwrap_or_else(|e| panic!("not a zip: {e}"));
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap_or_else(|e| panic!("{e}"));
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap_or_else(|e| panic!("{e}"));
            (f.name().map(|n| n.to_string()).unwrap_or_default(), b)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok_and_version() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = open(dir.path());
    let r = get(&state, "/api/health").await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    // The pages are Chinese and load their script from the binary.
    let page = get(&state, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("新建评查") && html.contains("/assets/app.js"));
    assert_eq!(get(&state, "/assets/app.js").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_runs_to_done_with_files_inspect_and_notices() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = open(dir.path());
    let uploads = fixture_uploads();
    assert!(uploads.len() >= 5);
    let id = upload(&state, &uploads, "2022-12-31").await;
    let run = finish(&state, &id).await;
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["progress"]["done"], run["progress"]["total"]);
    assert_eq!(run["as_of"], "2022-12-31");
    assert_eq!(run["profile"], "national");
    assert!(run["cases"].as_u64().unwrap_or(0) > 0, "{run}");
    assert!(run["findings"].as_u64().unwrap_or(0) > 0, "{run}");
    let names: Vec<&str> = run["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(names.contains(&"market-2022.xlsx"), "{names:?}");

    // Downloads: the four files and nothing else.
    let json = get(&state, &format!("/api/runs/{id}/files/findings.json")).await;
    assert_eq!(json.status, StatusCode::OK);
    let report = json.json();
    assert_eq!(report["run"]["as_of"], "2022-12-31");
    assert_eq!(
        report["findings"].as_array().map(|a| a.len() as u64),
        run["findings"].as_u64()
    );
    let xlsx = get(&state, &format!("/api/runs/{id}/files/findings.xlsx")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK"), "xlsx is a zip");
    assert!(unzip(&xlsx.body)
        .iter()
        .any(|(n, _)| n == "xl/workbook.xml"));
    let csv = get(&state, &format!("/api/runs/{id}/files/findings.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let html = get(&state, &format!("/api/runs/{id}/files/report.html")).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&html.body).contains("行政执法案卷评查报告"));
    assert!(html
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("sandbox")));

    // Inspect: the header mapping of each input, with the client's names and labels.
    let ins = get(&state, &format!("/api/runs/{id}/inspect")).await;
    assert_eq!(ins.status, StatusCode::OK);
    let ins = ins.json();
    let inputs = ins["inputs"].as_array().cloned().unwrap_or_default();
    assert!(!inputs.is_empty());
    let market = inputs
        .iter()
        .find(|i| i["name"] == "market-2022.xlsx")
        .unwrap_or_else(|| panic!("market-2022.xlsx not in {ins}"));
    assert!(market["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["field"] == "case_id"));
    assert!(ins["field_labels"]["case_id"].is_string(), "{ins}");

    // Notices: a zip of docx and md notices with the register.
    let body = serde_json::json!({
        "issuer": "某县司法局", "number_prefix": "某司函〔2023〕",
        "issued": "2023-01-10", "deadline_days": 30
    });
    let r = send(
        &state,
        Request::post(format!("/api/runs/{id}/notices"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/zip"[..])
    );
    let entries = unzip(&r.body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"整改通知书清单.csv"), "{names:?}");
    let docx: Vec<_> = entries
        .iter()
        .filter(|(n, _)| n.ends_with(".docx"))
        .collect();
    let md: Vec<_> = entries.iter().filter(|(n, _)| n.ends_with(".md")).collect();
    assert!(!docx.is_empty() && docx.len() == md.len(), "{names:?}");
    assert!(unzip(&docx[0].1)
        .iter()
        .any(|(n, _)| n == "word/document.xml"));
    let text = String::from_utf8_lossy(&md[0].1);
    assert!(
        text.contains("某县司法局") && text.contains("某司函〔2023〕1号"),
        "{text}"
    );
    let register = String::from_utf8_lossy(
        &entries
            .iter()
            .find(|(n, _)| n == "整改通知书清单.csv")
            .map(|(_, b)| b.clone())
            .unwrap_or_default(),
    )
    .to_string();
    assert_eq!(register.lines().count(), docx.len() + 1, "{register}");

    // A notices request without an issuer is a Chinese 400.
    let r = send(
        &state,
        Request::post(format!("/api/runs/{id}/notices"))
            .body(Body::from("{}"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("发文机关")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_is_the_follow_up_json_of_two_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = open(dir.path());
    let all = fixture_uploads();
    let old = upload(&state, &all, "2022-12-31").await;
    let some: Vec<_> = all
        .iter()
        .filter(|(n, _)| n.starts_with("market"))
        .cloned()
        .collect();
    let new = upload(&state, &some, "2023-06-30").await;
    assert_eq!(finish(&state, &old).await["status"], "done");
    assert_eq!(finish(&state, &new).await["status"], "done");
    let r = get(&state, &format!("/api/diff?old={old}&new={new}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["old_as_of"], "2022-12-31");
    assert_eq!(j["new_as_of"], "2023-06-30");
    assert!(j["agencies"].as_array().is_some_and(|a| !a.is_empty()));
    // The same JSON `caseaudit diff --format json` prints: the engine's follow-up.
    let read = |id: &str| -> caseaudit_engine::AuditReport {
        let p = dir.path().join("runs").join(id).join("out/findings.json");
        serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let want =
        serde_json::to_string_pretty(&caseaudit_engine::diff::follow_up(&read(&old), &read(&new)))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(String::from_utf8_lossy(&r.body), want);
    // Missing or unknown ids.
    assert_eq!(
        get(&state, &format!("/api/diff?old={old}")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(
            &state,
            &format!("/api/diff?old={old}&new=20990101-000000-00000000")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_limit_get_413_in_chinese() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::open(&config(dir.path(), None, 4096)).unwrap_or_else(|e| panic!("{e}"));
    let big = vec![b'a'; 10_000];
    let body = multipart(&[("file", Some("big.csv"), big)]);
    // With a Content-Length: refused before the body is read.
    let r = send(&state, upload_request(body.clone())).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "too_large");
    assert!(j["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("上限")));
    // Streamed without a length: refused while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let req = Request::post("/api/runs")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from_stream(futures_stream(chunks)))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = send(&state, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["kind"], "too_large");
    // Nothing was kept.
    assert_eq!(get(&state, "/api/runs").await.json(), serde_json::json!([]));
}

/// A stream of chunks without a length.
fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    struct S(std::collections::VecDeque<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for S {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.pop_front())
        }
    }
    S(chunks.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_for_api_and_pages() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::open(&config(dir.path(), Some("s3cret"), 1 << 20))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = get(&state, "/api/health").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["kind"], "unauthorized");
    let with = |uri: &str, auth: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, auth)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        send(&state, with("/api/health", "Bearer wrong"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&state, with("/api/health", "Bearer s3cret"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&state, with("/api/runs", "Bearer s3cret"))
            .await
            .status,
        StatusCode::OK
    );
    // Pages send people to the login page, which sets a strict HttpOnly cookie.
    let r = get(&state, "/").await;
    assert!(r.status.is_redirection());
    assert_eq!(
        r.headers.get(header::LOCATION).map(|v| v.as_bytes()),
        Some(&b"/login"[..])
    );
    let login = |token: &str| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let r = send(&state, login("nope")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let r = send(&state, login("s3cret")).await;
    assert!(r.status.is_redirection());
    let cookie = r
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or("").to_string();
    let r = send(
        &state,
        Request::get("/history")
            .header(header::COOKIE, pair.clone())
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &state,
        Request::get("/api/runs")
            .header(header::COOKIE, pair)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Uploads need it too.
    let body = multipart(&[("file", Some("a.csv"), b"x".to_vec())]);
    assert_eq!(
        send(&state, upload_request(body)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut c = config(dir.path(), None, 1024);
    c.bind = "0.0.0.0:8787".parse().unwrap_or_else(|e| panic!("{e}"));
    let e = caseaudit_serve::check(&c).err().map(|e| e.to_string());
    assert!(e.as_deref().is_some_and(|m| m.contains("令牌")), "{e:?}");
    c.token = Some("t".into());
    assert!(caseaudit_serve::check(&c).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_reaches_outside_the_data_folder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let state = open(&data);
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap_or_else(|e| panic!("{e}"));
    // A client file name is display text, never a path.
    let csv =
        std::fs::read(fixtures().join("canonical-2022.csv")).unwrap_or_else(|e| panic!("{e}"));
    let id = upload(
        &state,
        &[("../../../escape\u{202E}.csv".to_string(), csv)],
        "2022-12-31",
    )
    .await;
    let run = finish(&state, &id).await;
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["inputs"][0]["name"], "escape.csv");
    assert!(!dir.path().join("escape.csv").exists());
    assert!(!data.join("escape.csv").exists());
    let stored: Vec<String> = std::fs::read_dir(data.join("runs").join(&id).join("inputs"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(stored, vec!["ledger-1.csv".to_string()]);

    for uri in [
        format!("/api/runs/{id}/files/params.json"),
        format!("/api/runs/{id}/files/..%2Fparams.json"),
        format!("/api/runs/{id}/files/..%2F..%2F..%2Fsecret.txt"),
        "/api/runs/..%2F..%2F/files/findings.json".to_string(),
        "/api/runs/..%2F..%2Fsecret.txt".to_string(),
        "/api/runs/%2E%2E/inspect".to_string(),
        "/api/runs/../../secret.txt".to_string(),
        "/assets/..%2F..%2FCargo.toml".to_string(),
        "/api/diff?old=..%2F..&new=..".to_string(),
        "/runs/..%2F..%2Fsecret.txt".to_string(),
    ] {
        let r = get(&state, &uri).await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
            "{uri}: {}",
            r.status
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("secret"),
            "{uri} leaked"
        );
    }
    // Without a token only loopback host names are served (no DNS rebinding).
    let r = send(
        &state,
        Request::get("/api/health")
            .header(header::HOST, "evil.example:8787")
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Bad uploads are Chinese 400s.
    for (parts, needle) in [
        (vec![("as_of", None, b"2022-12-31".to_vec())], "台账文件"),
        (
            vec![("file", Some("virus.exe"), b"MZ".to_vec())],
            "不支持的文件类型",
        ),
        (
            vec![
                ("file", Some("a.csv"), b"x".to_vec()),
                ("as_of", None, b"2022-13-45".to_vec()),
            ],
            "不是有效日期",
        ),
        (
            vec![
                ("file", Some("a.csv"), b"x".to_vec()),
                ("profile", None, b"atlantis".to_vec()),
            ],
            "atlantis",
        ),
    ] {
        let r = send(&state, upload_request(multipart(&parts))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{needle}");
        let m = r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(m.contains(needle), "{m}");
    }
    assert_eq!(
        get(&state, "/api/runs")
            .await
            .json()
            .as_array()
            .map(|a| a.len()),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_error_fails_the_run_naming_the_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = open(dir.path());
    let id = upload(
        &state,
        &[(
            "坏台账.xlsx".to_string(),
            b"this is not a workbook".to_vec(),
        )],
        "2022-12-31",
    )
    .await;
    let run = finish(&state, &id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let errors = run["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{run}");
    assert_eq!(errors[0]["file"], "坏台账.xlsx");
    let m = errors[0]["message"].as_str().unwrap_or("");
    assert!(m.starts_with("错误：坏台账.xlsx"), "{m}");
    assert!(!m.contains("ledger-1"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = {
        let state = open(dir.path());
        let id = upload(&state, &fixture_uploads(), "2022-12-31").await;
        assert_eq!(finish(&state, &id).await["status"], "done");
        id
    };
    // A run left queued by a process that stopped is audited after the restart.
    let src = dir.path().join("runs").join(&id);
    let queued = "20000101-000000-0000abcd";
    let dst = dir.path().join("runs").join(queued);
    std::fs::create_dir_all(dst.join("inputs")).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(src.join("inputs"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        std::fs::copy(e.path(), dst.join("inputs").join(e.file_name()))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let params = std::fs::read_to_string(src.join("params.json"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace(&id, queued);
    std::fs::write(dst.join("params.json"), params).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dst.join("status.json"), r#"{"status": "running"}"#)
        .unwrap_or_else(|e| panic!("{e}"));

    let state = open(dir.path());
    let list = get(&state, "/api/runs").await.json();
    let list = list.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{list:?}");
    let first = list
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} lost"));
    assert_eq!(first["status"], "done");
    assert_eq!(first["as_of"], "2022-12-31");
    assert_eq!(first["profile"], "national");
    assert!(first["cases"].as_u64().unwrap_or(0) > 0);
    assert!(first["findings"].as_u64().unwrap_or(0) > 0);
    assert!(first["created"].is_string());
    assert!(first["inputs"].as_array().is_some_and(|a| a.len() >= 5));
    let r = get(&state, &format!("/api/runs/{id}/files/findings.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let again = finish(&state, queued).await;
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(again["findings"], first["findings"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_publication_records_are_checked_not_audited() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = open(dir.path());
    let read = |p: &str| std::fs::read(fixtures().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let parts: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("file", Some("market-2022.xlsx"), read("market-2022.xlsx")),
        (
            "published",
            Some("平台导出.xlsx"),
            read("../published/market-platform-2022.xlsx"),
        ),
        ("as_of", None, b"2022-12-31".to_vec()),
        ("profile", None, b"national".to_vec()),
    ];
    let r = send(&state, upload_request(multipart(&parts))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap_or_default().to_string();
    let run = finish(&state, &id).await;
    assert_eq!(run["status"], "done", "{run}");
    let report: Value = serde_json::from_slice(
        &get(&state, &format!("/api/runs/{id}/files/findings.json"))
            .await
            .body,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The records were passed as `--published`: one entry, and PUB-008/PUB-009 found.
    let published = report["run"]["published"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(published.len(), 1, "{}", report["run"]);
    assert_eq!(published[0]["rows"], 23);
    let count = |id: &str| {
        report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule_id"] == id)
            .count()
    };
    assert_eq!(count("PUB-008"), 3);
    assert_eq!(count("PUB-009"), 5);
    // Never a ledger: only the market workbook's two sheets are inputs.
    assert_eq!(report["run"]["inputs"].as_array().map(Vec::len), Some(2));
}
