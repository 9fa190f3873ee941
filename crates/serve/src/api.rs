//! Routes: the JSON API (serve.md's table) and the pages that use it.

use crate::assets;
use crate::store::{clean_name, extension, Params, StoredFile, FILES};
use crate::{auth, worker, AppState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use caseaudit_engine::AuditReport;
use caseaudit_report::notice::{
    build_notices, write_notices, write_register, NoticeOptions, TEMPLATE,
};
use caseaudit_report::safe::html_escape;
use caseaudit_rules::calendar::{from_day, parse_iso};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

type Shared = Arc<AppState>;

/// The workbench's router over `state`.
pub fn router(state: Shared) -> Router {
    let limit = state.max_upload_bytes;
    Router::new()
        .route("/", get(page_new))
        .route("/runs/{id}", get(page_run))
        .route("/history", get(page_history))
        .route("/follow-up", get(page_follow_up))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/assets/{name}", get(asset))
        .route("/api/health", get(health))
        .route("/api/profiles", get(profiles))
        .route("/api/runs", get(list_runs).post(create_run))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/runs/{id}/inspect", get(inspect))
        .route("/api/runs/{id}/files/{name}", get(file))
        .route("/api/runs/{id}/notices", post(notices))
        .route("/api/diff", get(diff))
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(from_fn_with_state(state.clone(), too_large_in_chinese))
        .layer(from_fn_with_state(state.clone(), auth::guard))
        .layer(from_fn(security_headers))
        .layer(CatchPanicLayer::custom(panicked))
        .with_state(state)
}

/// A handler that panicked still answers, in Chinese, without the panic's text.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "服务内部错误，请重试；如仍出错，请将操作步骤反馈给维护者",
    )
}

/// `{"error": {"kind", "message"}}` with a status.
pub(crate) fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"kind": kind, "message": message}})),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn not_found_json(message: &str) -> Response {
    error_response(StatusCode::NOT_FOUND, "not_found", message)
}

fn internal(message: &str) -> Response {
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

fn too_large_message(limit: usize) -> String {
    format!(
        "上传内容超过大小上限 {} MB：请分批上传，或由启动工作台的人用 --max-upload-mb 调高上限",
        limit.div_ceil(1024 * 1024)
    )
}

/// Gives tower-http's plain 413 the API's Chinese JSON body.
async fn too_large_in_chinese(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &too_large_message(state.max_upload_bytes),
        );
    }
    resp
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        not_found_json("没有这个接口")
    } else {
        (
            StatusCode::NOT_FOUND,
            Html(html_page(
                "未找到",
                "<main><h1>页面不存在</h1><p><a href=\"/\">返回新建评查</a></p></main>",
                false,
            )),
        )
            .into_response()
    }
}

// ---------------------------------------------------------------- pages

/// A whole page: the navigation, `body`, and the script when `script`.
pub(crate) fn html_page(title: &str, body: &str, script: bool) -> String {
    let script = if script {
        "<script src=\"/assets/app.js\"></script>"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · 行政执法案卷评查工作台</title>\
         <link rel=\"stylesheet\" href=\"/assets/style.css\"></head><body>\
         <header class=\"top\"><span class=\"brand\">行政执法案卷评查工作台</span>\
         <nav><a href=\"/\">新建评查</a><a href=\"/history\">历史记录</a></nav></header>\
         {body}{script}</body></html>",
        html_escape(title)
    )
}

async fn page_new() -> Html<String> {
    Html(html_page("新建评查", assets::NEW_PAGE, true))
}

async fn page_run(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    if state.store.dir(&id).is_none() {
        return (
            StatusCode::NOT_FOUND,
            Html(html_page(
                "未找到",
                "<main><h1>没有这次评查</h1><p><a href=\"/history\">查看历史记录</a></p></main>",
                false,
            )),
        )
            .into_response();
    }
    Html(html_page("评查结果", assets::RUN_PAGE, true)).into_response()
}

async fn page_history() -> Html<String> {
    Html(html_page("历史记录", assets::HISTORY_PAGE, true))
}

async fn page_follow_up() -> Html<String> {
    Html(html_page("整改跟踪", assets::FOLLOW_UP_PAGE, true))
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, ctype) = match name.as_str() {
        "app.js" => (assets::APP_JS, "text/javascript; charset=utf-8"),
        "style.css" => (assets::STYLE_CSS, "text/css; charset=utf-8"),
        _ => return not_found_json("没有这个文件"),
    };
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}

// ---------------------------------------------------------------- API

async fn health() -> Response {
    axum::Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")})).into_response()
}

async fn profiles(State(state): State<Shared>) -> Response {
    let list: Vec<Value> = state
        .pack
        .profiles
        .iter()
        .map(|p| json!({"name": p.name, "title": p.title}))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

/// The run's JSON for `GET /api/runs/{id}` and the history.
fn run_json(state: &AppState, id: &str, params: &Params) -> Value {
    let status = state
        .store
        .status(id)
        .unwrap_or_else(crate::store::Status::queued);
    let live = state.live.lock().ok().and_then(|m| m.get(id).cloned());
    let n = params.inputs.len() as u64;
    let (st, done, total) = match (&live, status.status.as_str()) {
        (Some(l), "queued" | "running") => (l.status.clone(), l.done, l.total.max(n)),
        (_, "done" | "failed") => (status.status.clone(), n, n),
        _ => (status.status.clone(), 0, n),
    };
    let files: Vec<&str> = match state.store.dir(id) {
        Some(d) if st == "done" => FILES
            .iter()
            .copied()
            .filter(|f| d.join("out").join(f).is_file())
            .collect(),
        _ => Vec::new(),
    };
    let names = |l: &[StoredFile]| -> Vec<Value> {
        l.iter()
            .map(|f| json!({"name": f.name, "stored": f.stored, "bytes": f.bytes}))
            .collect()
    };
    json!({
        "id": id,
        "created": params.created,
        "status": st,
        "progress": {"done": done, "total": total},
        "errors": status.errors,
        "message": status.message,
        "as_of": params.as_of,
        "profile": params.profile,
        "agency": params.agency,
        "inputs": names(&params.inputs),
        "published": names(&params.published),
        "notes": params.notes,
        "cases": status.cases,
        "findings": status.findings,
        "mean_score": status.mean_score,
        "finished": status.finished,
        "files": files,
    })
}

async fn list_runs(State(state): State<Shared>) -> Response {
    let list: Vec<Value> = state
        .store
        .ids()
        .iter()
        .filter_map(|id| Some(run_json(&state, id, &state.store.params(id)?)))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

async fn get_run(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.store.params(&id) {
        Some(p) => axum::Json(run_json(&state, &id, &p)).into_response(),
        None => not_found_json("没有这次评查"),
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: usize) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &too_large_message(limit),
        );
    }
    bad_request(&format!("上传内容无法读取：{}", e.body_text()))
}

fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

async fn create_run(State(state): State<Shared>, mut mp: Multipart) -> Response {
    let limit = state.max_upload_bytes;
    let staging = match state.store.stage() {
        Ok(s) => s,
        Err(e) => return internal(&format!("无法保存上传的文件：{e}")),
    };
    let mut as_of = String::new();
    let mut profile = String::new();
    let mut agency = String::new();
    let mut inputs: Vec<StoredFile> = Vec::new();
    let mut published: Vec<StoredFile> = Vec::new();
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return multipart_error(e, limit),
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" | "published" => {
                let raw_name = field.file_name().unwrap_or("").to_string();
                if raw_name.is_empty() {
                    // An empty file input sends a part without a file name.
                    if let Err(e) = field.bytes().await {
                        return multipart_error(e, limit);
                    }
                    continue;
                }
                let client = clean_name(&raw_name);
                let Some(ext) = extension(&client) else {
                    return bad_request(&format!(
                        "不支持的文件类型：{client}（可上传 xlsx、xlsm、xls、ods、csv、parquet）"
                    ));
                };
                let list = if name == "file" {
                    &mut inputs
                } else {
                    &mut published
                };
                let (stored, path) = staging.input_path(&name, list.len() + 1, &ext);
                let mut out = match tokio::fs::File::create(&path).await {
                    Ok(f) => f,
                    Err(e) => return internal(&format!("无法保存上传的文件 {client}：{e}")),
                };
                let mut bytes = 0u64;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            bytes += chunk.len() as u64;
                            if let Err(e) = out.write_all(&chunk).await {
                                return internal(&format!("无法保存上传的文件 {client}：{e}"));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return multipart_error(e, limit),
                    }
                }
                if let Err(e) = out.flush().await {
                    return internal(&format!("无法保存上传的文件 {client}：{e}"));
                }
                list.push(StoredFile {
                    stored,
                    name: client,
                    bytes,
                });
            }
            "as_of" | "profile" | "agency" => {
                let text = match field.text().await {
                    Ok(t) => clean_text(&t),
                    Err(e) => return multipart_error(e, limit),
                };
                match name.as_str() {
                    "as_of" => as_of = text,
                    "profile" => profile = text,
                    _ => agency = text,
                }
            }
            _ => {
                if let Err(e) = field.bytes().await {
                    return multipart_error(e, limit);
                }
            }
        }
    }
    if inputs.is_empty() {
        return bad_request("请至少选择一个台账文件（xlsx、xlsm、xls、ods、csv、parquet）");
    }
    let as_of = if as_of.is_empty() {
        caseaudit_report::run::today_in_china()
    } else {
        match parse_iso(&as_of) {
            Some(d) => d,
            None => {
                return bad_request(&format!(
                    "评查日期 `{as_of}` 不是有效日期，请写成 YYYY-MM-DD"
                ))
            }
        }
    };
    if profile.is_empty() {
        profile = "national".into();
    }
    if let Err(e) = state.pack.profile(&profile) {
        return bad_request(&e.to_string());
    }
    let notes = Vec::new();
    let id = staging.id.clone();
    let params = Params {
        id: id.clone(),
        created: crate::store::now_in_china(),
        as_of: from_day(as_of).format("%Y-%m-%d").to_string(),
        profile,
        agency: (!agency.is_empty()).then_some(agency),
        inputs,
        published,
        notes,
    };
    if let Err(e) = staging.commit(&params) {
        return internal(&format!("无法保存评查记录：{e}"));
    }
    worker::enqueue(state.clone(), id.clone());
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "status": "queued"})),
    )
        .into_response()
}

/// The inputs' stored paths and display names.
fn input_paths(
    state: &AppState,
    id: &str,
) -> Option<(std::path::PathBuf, Params, Vec<std::path::PathBuf>)> {
    let dir = state.store.dir(id)?;
    let params = state.store.params(id)?;
    let paths = params
        .inputs
        .iter()
        .map(|f| dir.join("inputs").join(&f.stored))
        .collect();
    Some((dir, params, paths))
}

async fn inspect(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let Some((dir, params, paths)) = input_paths(&state, &id) else {
        return not_found_json("没有这次评查");
    };
    let cached = dir.join("inspect.json");
    if let Ok(bytes) = tokio::fs::read(&cached).await {
        return json_bytes(bytes);
    }
    let st = state.clone();
    let job = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let inspection = caseaudit_report::run::inspect(&st.pack, &paths, &params.profile)
            .map_err(|e| format!("错误：{e}"))?;
        let mut run = serde_json::to_value(&inspection).map_err(|e| e.to_string())?;
        let mut labels = serde_json::Map::new();
        if let Some(inputs) = run.get_mut("inputs").and_then(Value::as_array_mut) {
            for inp in inputs.iter_mut() {
                let file = inp.get("file").and_then(Value::as_str).unwrap_or("");
                let name = worker::display_name(&params, &dir, file);
                for c in inp
                    .get("columns")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(f) = c.get("field").and_then(Value::as_str) {
                        if let Some(d) = st.pack.fields.get(f) {
                            labels.insert(f.to_string(), json!(d.label));
                        }
                    }
                }
                for f in inp
                    .get("missing_fields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if let Some(d) = st.pack.fields.get(f) {
                        labels.insert(f.to_string(), json!(d.label));
                    }
                }
                if let Some(o) = inp.as_object_mut() {
                    o.insert("name".into(), json!(name));
                }
            }
        }
        if let Some(errors) = run.get_mut("errors").and_then(Value::as_array_mut) {
            for e in errors.iter_mut() {
                let file = e.get("file").and_then(Value::as_str).unwrap_or("");
                let name = worker::display_name(&params, &dir, file);
                if let Some(o) = e.as_object_mut() {
                    o.insert("name".into(), json!(name));
                }
            }
        }
        if let Some(o) = run.as_object_mut() {
            o.insert("field_labels".into(), Value::Object(labels));
        }
        let bytes = serde_json::to_vec_pretty(&run).map_err(|e| e.to_string())?;
        let _ = caseaudit_report::write_atomic(&dir.join("inspect.json"), &bytes);
        Ok(bytes)
    })
    .await;
    match job {
        Ok(Ok(bytes)) => json_bytes(bytes),
        Ok(Err(e)) => bad_request(&e),
        Err(_) => internal("读取表头时出现内部错误"),
    }
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

async fn file(State(state): State<Shared>, Path((id, name)): Path<(String, String)>) -> Response {
    let Some(name) = FILES.iter().copied().find(|f| *f == name) else {
        return not_found_json("只能下载 findings.json、findings.xlsx、findings.csv、report.html");
    };
    let Some(dir) = state.store.dir(&id) else {
        return not_found_json("没有这次评查");
    };
    let Ok(bytes) = tokio::fs::read(dir.join("out").join(name)).await else {
        return not_found_json("文件还没有生成：评查尚未完成或已失败");
    };
    let ctype = match name {
        "findings.json" => "application/json; charset=utf-8",
        "findings.xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "findings.csv" => "text/csv; charset=utf-8",
        _ => "text/html; charset=utf-8",
    };
    let mut resp = ([(header::CONTENT_TYPE, ctype)], bytes).into_response();
    let h = resp.headers_mut();
    if name == "report.html" {
        // The report is self-contained: its own inline script and style, nothing else,
        // in a sandbox without the workbench's origin.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 img-src data:; frame-ancestors 'self'; sandbox allow-scripts",
            ),
        );
    } else if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// An API error kept small until it becomes a response.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn bad_request(message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_request",
            message,
        }
    }

    fn not_found(message: String) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message,
        }
    }

    fn internal(message: String) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, self.kind, &self.message)
    }
}

fn read_report(state: &AppState, id: &str) -> Result<AuditReport, ApiError> {
    let Some(dir) = state.store.dir(id) else {
        return Err(ApiError::not_found(format!("没有这次评查：{id}")));
    };
    let bytes = std::fs::read(dir.join("out").join("findings.json"))
        .map_err(|_| ApiError::bad_request(format!("评查 {id} 尚未完成，没有 findings.json")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("findings.json 无法读取：{e}")))
}

async fn notices(State(state): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("请求内容应为 JSON 对象：{\"issuer\", \"number_prefix\", \"issued\", \"deadline_days\"}"),
    };
    let text = |k: &str| {
        req.get(k)
            .and_then(Value::as_str)
            .map(clean_text)
            .filter(|s| !s.is_empty())
    };
    let Some(issuer) = text("issuer") else {
        return bad_request("请填写发文机关（issuer）");
    };
    let issued = match text("issued") {
        None => caseaudit_report::run::today_in_china(),
        Some(s) => match parse_iso(&s) {
            Some(d) => d,
            None => return bad_request(&format!("发文日期 `{s}` 不是有效日期，请写成 YYYY-MM-DD")),
        },
    };
    let deadline_days = match req.get("deadline_days") {
        None | Some(Value::Null) => 30,
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(n @ 1..=3650) => n as u32,
            _ => return bad_request("整改期限（deadline_days）应为 1 到 3650 之间的天数"),
        },
    };
    let opts = NoticeOptions {
        issuer,
        number_prefix: text("number_prefix"),
        issued: from_day(issued),
        deadline_days,
        include_data_quality: req
            .get("include_data_quality")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    let st = state.clone();
    let rid = id.clone();
    let job = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let report = read_report(&st, &rid)?;
        let template = st.pack.templates.get(TEMPLATE).ok_or_else(|| {
            ApiError::internal(format!("规则包缺少通知书模板 templates/{TEMPLATE}"))
        })?;
        let (list, _unaddressed) = build_notices(&report, template, &opts)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let tmp = tempfile::tempdir().map_err(|e| ApiError::internal(e.to_string()))?;
        let formats = vec!["docx".to_string(), "md".to_string()];
        write_notices(&list, tmp.path(), &formats)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        write_register(&list, &opts, tmp.path()).map_err(|e| ApiError::internal(e.to_string()))?;
        zip_folder(tmp.path()).map_err(|e| ApiError::internal(format!("无法打包通知书：{e}")))
    })
    .await;
    match job {
        Ok(Ok(bytes)) => {
            let mut resp = ([(header::CONTENT_TYPE, "application/zip")], bytes).into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("attachment; filename=\"notices-{id}.zip\""))
            {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Ok(Err(r)) => r.into_response(),
        Err(_) => internal("生成通知书时出现内部错误"),
    }
}

/// The files of a folder (not its subfolders), sorted, as a zip.
fn zip_folder(dir: &std::path::Path) -> Result<Vec<u8>, String> {
    let mut names: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, path) in names {
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    let cursor = zip.finish().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

async fn diff(State(state): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(old), Some(new)) = (q.get("old"), q.get("new")) else {
        return bad_request("请指定要比较的两次评查：/api/diff?old=编号&new=编号");
    };
    let st = state.clone();
    let (old, new) = (old.clone(), new.clone());
    let job = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let o = read_report(&st, &old)?;
        let n = read_report(&st, &new)?;
        let f = caseaudit_engine::diff::follow_up(&o, &n);
        serde_json::to_string_pretty(&f)
            .map(String::into_bytes)
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await;
    match job {
        Ok(Ok(bytes)) => json_bytes(bytes),
        Ok(Err(r)) => r.into_response(),
        Err(_) => internal("比较时出现内部错误"),
    }
}
