//! `caseaudit serve`: the workbench in the browser (crates/serve).

use crate::args::ServeArgs;
use anyhow::Result;

pub fn run(a: ServeArgs) -> Result<u8> {
    let token = a.token.clone().or_else(|| {
        std::env::var("CASEAUDIT_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
    });
    let config = caseaudit_serve::Config {
        bind: a.bind,
        data: a.data.clone(),
        token,
        max_upload_bytes: usize::try_from(a.max_upload_mb.saturating_mul(1024 * 1024))
            .unwrap_or(usize::MAX),
        rules: a.pack.rules.clone(),
        workers: caseaudit_serve::cores(),
    };
    caseaudit_serve::serve(config)?;
    Ok(0)
}
