//! `caseaudit audit`.

use crate::args::{AuditArgs, SeverityArg};
use crate::{summary, EXIT_FINDINGS, EXIT_INPUT};
use anyhow::Result;
use caseaudit_engine::{AuditOptions, AuditReport};
use caseaudit_rules::Severity;
use std::io::IsTerminal;

fn severity(s: SeverityArg) -> Severity {
    match s {
        SeverityArg::Critical => Severity::Critical,
        SeverityArg::Major => Severity::Major,
        SeverityArg::Minor => Severity::Minor,
    }
}

/// Whether a finding at or above `level` exists.
pub fn fails(report: &AuditReport, level: Severity) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.severity.known().is_some_and(|s| s >= level))
}

pub fn run(a: AuditArgs) -> Result<u8> {
    let formats = caseaudit_report::run::parse_formats(&a.format)?;
    let pack = super::pack_from(&a.pack)?;
    let as_of = super::as_of(a.as_of.as_deref())?;
    let opts = AuditOptions {
        as_of,
        profile: a.profile.clone(),
        agency: a.agency.clone(),
        published: caseaudit_engine::PublishedOptions {
            files: a.published.clone(),
            until: a
                .published_until
                .as_deref()
                .map(|s| super::parse_date("--published-until", s))
                .transpose()?,
        },
    };
    let show_progress = !a.quiet && std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::hidden();
    if show_progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} 个文件 {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("读取台账");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    let on_progress = |p: caseaudit_engine::Progress| match p {
        caseaudit_engine::Progress::Files(n) => bar.set_length(n as u64),
        caseaudit_engine::Progress::FileRead => bar.inc(1),
        caseaudit_engine::Progress::Evaluating => bar.set_message("评查中"),
    };
    let result = caseaudit_engine::audit_with_progress(&pack, &a.inputs, &opts, &on_progress);
    bar.finish_and_clear();
    let audit = result?;
    let report = &audit.report;

    let write_started = std::time::Instant::now();
    caseaudit_report::run::write_outputs(&audit, &a.out, &formats)?;
    // CASEAUDIT_TIMINGS=1 prints where the time went (for profiling and BENCHMARKS.md).
    if std::env::var("CASEAUDIT_TIMINGS").is_ok_and(|v| v == "1") {
        for (phase, t) in &audit.timings {
            crate::errln!("timing: {phase}: {:.3} s", t.as_secs_f64());
        }
        crate::errln!(
            "timing: write outputs: {:.3} s",
            write_started.elapsed().as_secs_f64()
        );
    }
    if a.quiet {
        // One line a file error: without --quiet, the summary lists them.
        for e in &report.run.errors {
            crate::errln!("错误：{}", summary::error_line(e));
        }
    }
    if !a.quiet {
        crate::errprint!("{}", summary::render(report));
        crate::errln!("输出文件夹：{}", super::shown(&a.out));
    }
    let code = if audit.had_input_errors {
        EXIT_INPUT
    } else if a
        .fail_on
        .is_some_and(|level| fails(report, severity(level)))
    {
        EXIT_FINDINGS
    } else {
        0
    };
    // The process ends with this command: freeing a large audit's findings and columns
    // one allocation at a time would only delay the exit (about 0.2 s a million cases).
    std::mem::forget(audit);
    Ok(code)
}
