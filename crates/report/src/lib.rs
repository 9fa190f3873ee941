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
        let style = if pretty {
            Style::Pretty
        } else {
            Style::Compact
        };
        write_report(report, &mut *w, JSON_BATCH, style)?;
        w.write_all(b"\n")
    })?;
    Ok(path)
}

/// Findings or case scores serialised at once, in parallel parts, before they are
/// written in order (a few tens of MB).
const JSON_BATCH: usize = 1 << 16;

/// How findings.json is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// As `serde_json::to_writer` writes it.
    Compact,
    /// As `serde_json::to_writer_pretty` writes it (two spaces a level).
    Pretty,
}

impl Style {
    /// A line break and the indentation of nesting level `depth` (nothing, compact).
    fn line(self, out: &mut dyn std::io::Write, depth: usize) -> std::io::Result<()> {
        if self == Style::Pretty {
            out.write_all(b"\n")?;
            for _ in 0..depth {
                out.write_all(b"  ")?;
            }
        }
        Ok(())
    }

    /// An object key at nesting level `depth`, and its colon.
    fn key(self, out: &mut dyn std::io::Write, key: &str, depth: usize) -> std::io::Result<()> {
        self.line(out, depth)?;
        write!(out, "\"{key}\":")?;
        if self == Style::Pretty {
            out.write_all(b" ")?;
        }
        Ok(())
    }

    /// One value at nesting level `depth`.
    fn value<T: serde::Serialize + ?Sized>(
        self,
        out: &mut Vec<u8>,
        v: &T,
        depth: usize,
    ) -> serde_json::Result<()> {
        match self {
            Style::Compact => serde_json::to_writer(out, v),
            Style::Pretty => {
                // Serialised at the top level, then each line indented to its level
                // (JSON text has no line break inside a string).
                let text = serde_json::to_vec_pretty(v)?;
                for (k, line) in text.split(|&b| b == b'\n').enumerate() {
                    if k > 0 {
                        out.push(b'\n');
                        out.extend(std::iter::repeat_n(b' ', 2 * depth));
                    }
                    out.extend_from_slice(line);
                }
                Ok(())
            }
        }
    }

    /// One value at nesting level `depth`, written to `w`.
    fn write<T: serde::Serialize + ?Sized>(
        self,
        w: &mut dyn std::io::Write,
        v: &T,
        depth: usize,
    ) -> std::io::Result<()> {
        let mut out = Vec::new();
        self.value(&mut out, v, depth)
            .map_err(std::io::Error::other)?;
        w.write_all(&out)
    }
}

/// The report as JSON, exactly as serde_json writes it in `style`, with the long arrays
/// (findings, case scores) serialised on the thread pool `batch` elements at a time.
fn write_report(
    report: &AuditReport,
    w: &mut dyn std::io::Write,
    batch: usize,
    style: Style,
) -> std::io::Result<()> {
    w.write_all(b"{")?;
    style.key(w, "tool", 1)?;
    style.write(w, &report.tool, 1)?;
    w.write_all(b",")?;
    style.key(w, "run", 1)?;
    style.write(w, &report.run, 1)?;
    w.write_all(b",")?;
    style.key(w, "findings", 1)?;
    write_array(w, report.findings.len(), batch, style, 1, |i, out| {
        style.value(out, &report.findings[i], 2)
    })?;
    w.write_all(b",")?;
    style.key(w, "scores", 1)?;
    w.write_all(b"{")?;
    style.key(w, "cases", 2)?;
    let cases = &report.scores.cases;
    write_array(w, cases.len(), batch, style, 2, |i, out| {
        style.value(out, &cases.get(i), 3)
    })?;
    w.write_all(b",")?;
    style.key(w, "agencies", 2)?;
    style.write(w, &report.scores.agencies, 2)?;
    style.line(w, 1)?;
    w.write_all(b"}")?;
    style.line(w, 0)?;
    w.write_all(b"}")
}

/// A JSON array of `n` elements at nesting level `depth`, `item(i)` serialising element
/// `i` (a level below).
fn write_array(
    w: &mut dyn std::io::Write,
    n: usize,
    batch: usize,
    style: Style,
    depth: usize,
    item: impl Fn(usize, &mut Vec<u8>) -> serde_json::Result<()> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    if n == 0 {
        return w.write_all(b"[]");
    }
    let batch = batch.max(1);
    let part = (batch / 16).max(1);
    // Elements `from..` (one batch), serialised in parts on the thread pool, into the
    // buffers of a batch written before (fresh memory costs a page fault a page).
    let serialise = |from: usize, mut spare: Vec<Vec<u8>>| -> std::io::Result<Vec<Vec<u8>>> {
        let to = (from + batch).min(n);
        let starts: Vec<usize> = (from..to).step_by(part).collect();
        spare.resize_with(starts.len(), Vec::new);
        starts
            .into_par_iter()
            .zip(spare)
            .map(|(p, mut out)| {
                out.clear();
                for i in p..(p + part).min(to) {
                    if i > 0 {
                        out.push(b',');
                    }
                    style.line(&mut out, depth + 1)?;
                    item(i, &mut out).map_err(std::io::Error::other)?;
                }
                Ok(out)
            })
            .collect()
    };
    w.write_all(b"[")?;
    // Each batch is written while the next one is serialised.
    let mut ready = serialise(0, Vec::new())?;
    let mut spare = Vec::new();
    let mut from = 0;
    loop {
        from += batch;
        let next = std::thread::scope(|s| -> std::io::Result<Option<Vec<Vec<u8>>>> {
            let buffers = std::mem::take(&mut spare);
            let next = (from < n).then(|| s.spawn(|| serialise(from, buffers)));
            for p in &ready {
                w.write_all(p)?;
            }
            match next.map(|h| h.join()) {
                None => Ok(None),
                Some(Ok(parts)) => parts.map(Some),
                Some(Err(_)) => Err(std::io::Error::other("findings.json 序列化失败")),
            }
        })?;
        match next {
            Some(parts) => spare = std::mem::replace(&mut ready, parts),
            None => break,
        }
    }
    style.line(w, depth)?;
    w.write_all(b"]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_parallel_batches_is_serde_json_byte_for_byte() {
        let dir = tempfile::tempdir().expect("dir");
        let mut report = fixture::report(&fixture::ledger(dir.path()));
        // Enough findings and cases to cross several batches and parts.
        let more: Vec<_> = (0..7).flat_map(|_| report.findings.clone()).collect();
        report.findings.extend(more);
        let cases: Vec<_> = (0..9).flat_map(|_| report.scores.cases.iter()).collect();
        report.scores.cases = cases.into();
        for style in [Style::Compact, Style::Pretty] {
            let expected = match style {
                Style::Compact => serde_json::to_vec(&report),
                Style::Pretty => serde_json::to_vec_pretty(&report),
            }
            .expect("json");
            for batch in [1, 2, 3, 17, 1 << 16] {
                let mut got = Vec::new();
                write_report(&report, &mut got, batch, style).expect("write");
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected),
                    "{style:?}, batch {batch}"
                );
            }
        }
        // Empty arrays are written as serde_json writes them.
        report.findings.clear();
        report.scores.cases = Vec::new().into();
        for style in [Style::Compact, Style::Pretty] {
            let expected = match style {
                Style::Compact => serde_json::to_vec(&report),
                Style::Pretty => serde_json::to_vec_pretty(&report),
            }
            .expect("json");
            let mut got = Vec::new();
            write_report(&report, &mut got, 4, style).expect("write");
            assert_eq!(got, expected, "{style:?}, empty");
        }
    }
}
