#![warn(unreachable_pub, missing_docs)]

//! Renders an audit ([`caseaudit_engine::AuditReport`]) into the files people open:
//! findings.json, findings.csv, and the other formats. It computes nothing about cases;
//! the engine has decided every finding and score.

pub mod csv_out;
#[cfg(test)]
mod fixture;
pub mod follow_up;
pub mod html;
pub mod notice;
pub mod outdir;
pub mod row;
pub mod run;
pub mod safe;
pub mod tally;
pub mod write;
pub mod xlsx;

pub use write::{write_atomic, ReportError};

use caseaudit_engine::AuditReport;
use std::path::Path;

/// Cases up to which findings.json is pretty-printed; larger runs are written compact
/// (the same JSON, without indentation, which would add a third to its size).
pub const PRETTY_JSON_CASES: usize = 100_000;

/// Writes findings.json, streamed to disk as it is serialised.
pub fn write_json(report: &AuditReport, out_dir: &Path) -> Result<std::path::PathBuf, ReportError> {
    let path = out_dir.join("findings.json");
    let pretty = report.scores.cases.len() <= PRETTY_JSON_CASES;
    write::write_atomic_with(&path, |w| {
        if pretty {
            serde_json::to_writer_pretty(&mut *w, report).map_err(std::io::Error::other)?;
        } else {
            write_compact(report, &mut *w, JSON_BATCH)?;
        }
        w.write_all(b"\n")
    })?;
    Ok(path)
}

/// Findings or case scores serialised at once, in parallel parts, before they are
/// written in order (a few tens of MB).
const JSON_BATCH: usize = 1 << 16;

/// The report as compact JSON, exactly as `serde_json::to_writer` writes it, with the
/// long arrays (findings, case scores) serialised on the thread pool `batch` elements
/// at a time.
fn write_compact(
    report: &AuditReport,
    w: &mut dyn std::io::Write,
    batch: usize,
) -> std::io::Result<()> {
    w.write_all(b"{\"tool\":")?;
    json(w, &report.tool)?;
    w.write_all(b",\"run\":")?;
    json(w, &report.run)?;
    w.write_all(b",\"findings\":")?;
    write_array(w, report.findings.len(), batch, |i, out| {
        serde_json::to_writer(out, &report.findings[i])
    })?;
    w.write_all(b",\"scores\":{\"cases\":")?;
    let cases = &report.scores.cases;
    write_array(w, cases.len(), batch, |i, out| {
        serde_json::to_writer(out, &cases.get(i))
    })?;
    w.write_all(b",\"agencies\":")?;
    json(w, &report.scores.agencies)?;
    w.write_all(b"}}")
}

/// A JSON array of `n` elements, `item(i)` serialising element `i`.
fn write_array(
    w: &mut dyn std::io::Write,
    n: usize,
    batch: usize,
    item: impl Fn(usize, &mut Vec<u8>) -> serde_json::Result<()> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    let part = (batch / 16).max(1);
    w.write_all(b"[")?;
    for from in (0..n).step_by(batch.max(1)) {
        let to = (from + batch).min(n);
        let parts: Vec<serde_json::Result<Vec<u8>>> = (from..to)
            .step_by(part)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|p| {
                let mut out = Vec::new();
                for i in p..(p + part).min(to) {
                    if i > 0 {
                        out.push(b',');
                    }
                    item(i, &mut out)?;
                }
                Ok(out)
            })
            .collect();
        for p in parts {
            w.write_all(&p.map_err(std::io::Error::other)?)?;
        }
    }
    w.write_all(b"]")
}

/// One value as compact JSON.
fn json<T: serde::Serialize>(w: &mut dyn std::io::Write, v: &T) -> std::io::Result<()> {
    serde_json::to_writer(w, v).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_in_parallel_batches_is_serde_json_byte_for_byte() {
        let dir = tempfile::tempdir().expect("dir");
        let mut report = fixture::report(&fixture::ledger(dir.path()));
        // Enough findings and cases to cross several batches and parts.
        let more: Vec<_> = (0..7).flat_map(|_| report.findings.clone()).collect();
        report.findings.extend(more);
        let cases: Vec<_> = (0..9).flat_map(|_| report.scores.cases.iter()).collect();
        report.scores.cases = cases.into();
        let expected = serde_json::to_vec(&report).expect("json");
        for batch in [1, 2, 3, 17, 1 << 16] {
            let mut got = Vec::new();
            write_compact(&report, &mut got, batch).expect("write");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected),
                "batch {batch}"
            );
        }
    }
}
