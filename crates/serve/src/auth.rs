//! Who may ask. Without a token the workbench listens on loopback only and refuses
//! requests whose Host is not a loopback name (a web page elsewhere cannot reach it by
//! rebinding a domain to 127.0.0.1). With a token every request carries it: the API as
//! `Authorization: Bearer TOKEN`, the pages as the HttpOnly, SameSite=Strict cookie the
//! login page sets.

use crate::api::{error_response, html_page};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const COOKIE: &str = "caseaudit_token";

/// The cookie's value for a token (hex, so any token makes a valid cookie).
fn cookie_value(token: &str) -> String {
    token.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer_ok(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix("Bearer "))
        .any(|t| same(t.trim().as_bytes(), token.as_bytes()))
}

fn cookie_ok(headers: &HeaderMap, token: &str) -> bool {
    let want = cookie_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && same(v.as_bytes(), want.as_bytes()))
}

fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        // HTTP/1.0 clients without Host: the socket is loopback anyway.
        return true;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The middleware in front of every route.
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let api = path.starts_with("/api/");
    match &state.token {
        None => {
            if state.loopback_only && !loopback_host(req.headers()) {
                return error_response(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "仅接受本机地址（127.0.0.1 或 localhost）的访问",
                );
            }
        }
        Some(token) => {
            let open = path == "/login" || path == "/assets/style.css";
            let ok = bearer_ok(req.headers(), token) || cookie_ok(req.headers(), token);
            if !open && !ok {
                if api {
                    let mut r = error_response(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "需要访问令牌：请在请求头中加入 Authorization: Bearer 令牌",
                    );
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    return r;
                }
                return Redirect::to("/login").into_response();
            }
        }
    }
    next.run(req).await
}

fn login_page(error: Option<&str>) -> String {
    let msg = error
        .map(|e| {
            format!(
                "<p class=\"error\">{}</p>",
                caseaudit_report::safe::html_escape(e)
            )
        })
        .unwrap_or_default();
    html_page(
        "登录",
        &format!(
            "<main class=\"narrow\"><h1>登录评查工作台</h1>{msg}\
             <form method=\"post\" action=\"/login\">\
             <label>访问令牌 <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>\
             <button type=\"submit\">登录</button></form>\
             <p class=\"note\">令牌由启动工作台的人在启动时设置（--token 或 CASEAUDIT_TOKEN）。</p></main>"
        ),
        false,
    )
}

pub(crate) async fn login_form(State(state): State<Arc<AppState>>) -> Response {
    if state.token.is_none() {
        return Redirect::to("/").into_response();
    }
    axum::response::Html(login_page(None)).into_response()
}

pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(token) = &state.token else {
        return Redirect::to("/").into_response();
    };
    let given = form.get("token").map(String::as_str).unwrap_or("");
    if !same(given.trim().as_bytes(), token.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(login_page(Some("令牌不正确，请重新输入"))),
        )
            .into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        cookie_value(token)
    );
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_tokens() {
        let mut h = HeaderMap::new();
        for (host, ok) in [
            ("127.0.0.1:8787", true),
            ("localhost:8787", true),
            ("[::1]:8787", true),
            ("evil.example:8787", false),
            ("192.168.1.5", false),
        ] {
            h.insert(header::HOST, HeaderValue::from_static(host));
            assert_eq!(loopback_host(&h), ok, "{host}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={}", cookie_value("s e;cret")))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(cookie_ok(&h, "s e;cret"));
        assert!(!cookie_ok(&h, "secret"));
        assert!(!same(b"abc", b"abd"));
    }
}
