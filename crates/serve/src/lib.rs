//! `caseaudit serve`: the workbench in the browser. A local web application (axum on
//! tokio) with Chinese pages and a JSON API over the same engine as the command line:
//! upload ledgers, see how their headers map, run the audit, read the report, download
//! the outputs and the rectification notices, and follow up between two runs.
//!
//! It is not a second audit: a run calls [`caseaudit_report::run::audit_to_folder`], the
//! function `caseaudit audit` uses, so a run's findings.json is the CLI's, byte for byte
//! (paths aside). Runs live in folders under `--data` (see [`store`]), so history
//! survives a restart.

mod api;
mod assets;
mod auth;
pub mod store;
mod worker;

use caseaudit_rules::RulePack;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use api::router;

/// How the workbench is started.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Folder that holds every run.
    pub data: PathBuf,
    /// Access token; required unless `bind` is a loopback address.
    pub token: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_upload_bytes: usize,
    /// A rule pack folder (default: the pack built into the binary).
    pub rules: Option<PathBuf>,
    /// Runs audited at once (default: the number of cores).
    pub workers: usize,
}

/// Why the workbench cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

/// Checks the options: a non-loopback address needs a token.
pub fn check(config: &Config) -> Result<(), ServeError> {
    if let Some(t) = &config.token {
        if t.trim().is_empty() {
            return Err(ServeError::Usage("访问令牌不能为空".into()));
        }
    }
    if !config.bind.ip().is_loopback() && config.token.is_none() {
        return Err(ServeError::Usage(format!(
            "拒绝在非本机地址 {} 上启动：其他计算机可以访问该地址，请用 --token 或环境变量 CASEAUDIT_TOKEN 设置访问令牌",
            config.bind
        )));
    }
    if config.max_upload_bytes == 0 {
        return Err(ServeError::Usage("上传大小上限必须大于 0".into()));
    }
    Ok(())
}

/// Progress of a run that is queued or running (kept in memory only).
#[derive(Debug, Clone, Default)]
pub(crate) struct Live {
    pub status: String,
    pub done: u64,
    pub total: u64,
}

/// What every request handler shares.
pub struct AppState {
    pub(crate) store: store::Store,
    pub(crate) token: Option<String>,
    pub(crate) loopback_only: bool,
    pub(crate) pack: Arc<RulePack>,
    pub(crate) queue: Arc<tokio::sync::Semaphore>,
    pub(crate) live: Mutex<HashMap<String, Live>>,
    pub(crate) max_upload_bytes: usize,
}

impl AppState {
    /// Loads the pack, opens the data folder and re-queues the runs a previous process
    /// left unfinished. Must be called inside a tokio runtime.
    pub fn open(config: &Config) -> Result<Arc<AppState>, ServeError> {
        check(config)?;
        let pack = RulePack::load(config.rules.as_deref())
            .map_err(|e| ServeError::Usage(e.to_string()))?;
        let store = store::Store::open(&config.data).map_err(ServeError::Io)?;
        let state = Arc::new(AppState {
            store,
            token: config.token.clone(),
            loopback_only: config.token.is_none(),
            pack: Arc::new(pack),
            queue: Arc::new(tokio::sync::Semaphore::new(config.workers.max(1))),
            live: Mutex::new(HashMap::new()),
            max_upload_bytes: config.max_upload_bytes,
        });
        for id in state.store.unfinished() {
            worker::enqueue(state.clone(), id);
        }
        Ok(state)
    }
}

/// The number of cores, for the default number of runs at once.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Starts the workbench and serves until Ctrl-C.
pub fn serve(config: Config) -> Result<(), ServeError> {
    check(&config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("无法启动服务：{e}")))?;
    rt.block_on(async move {
        let state = AppState::open(&config)?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| ServeError::Io(format!("无法监听 {}：{e}", config.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Io(e.to_string()))?;
        // A closed stdout (a script that read the address and went away) must not stop
        // the server: these lines are written without panicking on a broken pipe.
        let mut text = format!("caseaudit 工作台已启动，请在浏览器中打开 http://{addr}/\n");
        if config.token.is_some() {
            text.push_str(
                "已启用访问令牌：打开页面后输入令牌登录；API 请求需带 Authorization: Bearer 令牌\n",
            );
        }
        text.push_str(&format!(
            "评查记录保存在 {}；按 Ctrl-C 停止\n",
            config.data.display()
        ));
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| ServeError::Io(format!("服务出错：{e}")))
    })
}
