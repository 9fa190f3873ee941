//! The run queue: each run waits for a permit (at most as many runs at once as there
//! are cores), then audits on a blocking thread with the CLI's own function.

use crate::store::{FileError, Params, Status, FORMATS};
use crate::{AppState, Live};
use caseaudit_engine::{AuditOptions, Progress};
use caseaudit_rules::calendar::parse_iso;
use std::path::PathBuf;
use std::sync::Arc;

fn set_live(state: &AppState, id: &str, f: impl FnOnce(&mut Live)) {
    if let Ok(mut m) = state.live.lock() {
        f(m.entry(id.to_string()).or_default());
    }
}

/// Queues a run.
pub(crate) fn enqueue(state: Arc<AppState>, id: String) {
    set_live(&state, &id, |l| l.status = "queued".into());
    tokio::spawn(async move {
        let permit = state.queue.clone().acquire_owned().await;
        set_live(&state, &id, |l| l.status = "running".into());
        if let Some(mut s) = state.store.status(&id) {
            s.status = "running".into();
            let _ = state.store.set_status(&id, &s);
        }
        let st = state.clone();
        let rid = id.clone();
        let outcome = tokio::task::spawn_blocking(move || run(&st, &rid)).await;
        let status = match outcome {
            Ok(s) => s,
            Err(_) => failed("错误：评查过程中出现内部错误，请将台账文件反馈给维护者".into()),
        };
        let _ = state.store.set_status(&id, &status);
        if let Ok(mut m) = state.live.lock() {
            m.remove(&id);
        }
        drop(permit);
    });
}

fn failed(message: String) -> Status {
    Status {
        status: "failed".into(),
        message: Some(message),
        finished: Some(crate::store::now_in_china()),
        ..Status::queued()
    }
}

/// The display name of an engine path (the run's own stored files).
pub(crate) fn display_name(params: &Params, dir: &std::path::Path, file: &str) -> String {
    for (folder, list) in [("inputs", &params.inputs), ("published", &params.published)] {
        for f in list {
            if dir.join(folder).join(&f.stored).display().to_string() == file {
                return f.name.clone();
            }
        }
    }
    file.rsplit(['/', '\\']).next().unwrap_or(file).to_string()
}

/// Audits one run, blocking; its final status.
fn run(state: &AppState, id: &str) -> Status {
    let (Some(dir), Some(params)) = (state.store.dir(id), state.store.params(id)) else {
        return failed("错误：评查记录不完整".into());
    };
    let Some(as_of) = parse_iso(&params.as_of) else {
        return failed(format!(
            "错误：`{}` 不是有效日期，请写成 YYYY-MM-DD",
            params.as_of
        ));
    };
    let inputs: Vec<PathBuf> = params
        .inputs
        .iter()
        .map(|f| dir.join("inputs").join(&f.stored))
        .collect();
    let opts = AuditOptions {
        as_of,
        profile: params.profile.clone(),
        agency: params.agency.clone(),
        // The run's publication records, as `--published` (a record file is evidence,
        // never a ledger).
        published: caseaudit_engine::PublishedOptions {
            files: params
                .published
                .iter()
                .map(|f| dir.join("published").join(&f.stored))
                .collect(),
            until: None,
        },
    };
    let formats: Vec<String> = FORMATS.iter().map(|s| s.to_string()).collect();
    let on_progress = |p: Progress| match p {
        Progress::Files(n) => set_live(state, id, |l| l.total = n as u64),
        Progress::FileRead => set_live(state, id, |l| l.done += 1),
        Progress::Evaluating => set_live(state, id, |l| l.done = l.total),
    };
    let result = caseaudit_report::run::audit_to_folder(
        &state.pack,
        &inputs,
        &opts,
        &dir.join("out"),
        &formats,
        &on_progress,
    );
    let audit = match result {
        Ok(a) => a,
        Err(e) => return failed(format!("错误：{e}")),
    };
    let report = &audit.report;
    let errors: Vec<FileError> = report
        .run
        .errors
        .iter()
        .map(|e| {
            let file = display_name(&params, &dir, &e.file);
            let sheet = e
                .sheet
                .as_ref()
                .map(|s| format!(" 「{s}」"))
                .unwrap_or_default();
            FileError {
                message: format!("错误：{file}{sheet}：{}", e.reason),
                file,
                sheet: e.sheet.clone(),
                kind: serde_json::to_value(e.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                reason: e.reason.clone(),
            }
        })
        .collect();
    let cases = report.run.cases_audited;
    let scores: Vec<f64> = report.scores.cases.iter().map(|c| c.score).collect();
    let mean_score = (!scores.is_empty())
        .then(|| (scores.iter().sum::<f64>() / scores.len() as f64 * 10.0).round() / 10.0);
    let nothing_read = audit.had_input_errors && report.run.inputs.is_empty();
    Status {
        status: if nothing_read { "failed" } else { "done" }.into(),
        message: nothing_read.then(|| "错误：没有可以读取的台账，见下列文件错误".to_string()),
        errors,
        cases: Some(cases),
        findings: Some(report.findings.len() as u64),
        mean_score,
        finished: Some(crate::store::now_in_china()),
    }
}
