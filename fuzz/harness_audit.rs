//! The bodies of the fuzz targets that read through the engine's whole path, polars
//! included: `parquet` and `memory`. cargo-fuzz builds them with the fuzz crate's `audit`
//! feature (fuzz/run.sh); the test suite replays their seeds and saved crash inputs
//! (`parquet` in tests/fuzz_replay.rs, `memory` in tests/fuzz_memory.rs, a test binary of
//! its own so that its allocation count sees no other test).
#![allow(dead_code)]

/// The other targets' bodies, and the pack they share.
#[path = "harness.rs"]
pub mod harness;

use caseaudit_engine::budget;
use caseaudit_engine::load::read_file;
use caseaudit_engine::{audit, prepare_inputs, AuditOptions};
use caseaudit_rules::calendar::parse_iso;
use harness::pack;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The targets replayed with the others (`memory` needs a binary of its own).
pub const TARGETS: &[(&str, harness::Target)] = &[("parquet", parquet)];

/// A file of this process's own scratch folder holding `data` as `ledger.<ext>`; the
/// folder is removed when the value is dropped.
pub struct Scratch {
    dir: PathBuf,
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(ext: &str, data: &[u8]) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "caseaudit-fuzz-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("{}: {e}", dir.display());
        }
        let path = dir.join(format!("ledger.{ext}"));
        if let Err(e) = std::fs::write(&path, data) {
            panic!("{}: {e}", path.display());
        }
        Scratch { dir, path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The parquet reader of the audit (`prepare::parquet_ledger`: polars, then every column
/// converted, DECIMAL and time-zone-aware timestamps included, and normalised in chunks)
/// on arbitrary bytes written as a .parquet file.
///
/// Checks: the file is either one error or ledgers; every row is accounted for (cases
/// plus rejected rows are the rows read, and the case table holds the cases); row
/// numbers increase; and the tools' reader (`load::read_file`, used by the annotated
/// copies) reads the same file, with every case row inside it.
pub fn parquet(data: &[u8]) {
    let file = Scratch::new("parquet", data);
    let prepared = prepare_inputs(pack(), std::slice::from_ref(&file.path), None, &|_| {});
    assert!(
        prepared.ledgers.is_empty() || prepared.errors.is_empty(),
        "a file both read and refused: {:?}",
        prepared.errors
    );
    assert!(
        prepared.ledgers.len() + prepared.errors.len() == 1,
        "one parquet file gave {} ledgers and {} errors",
        prepared.ledgers.len(),
        prepared.errors.len()
    );
    let Some(ledger) = prepared.ledgers.first() else {
        return;
    };
    let s = &ledger.summary;
    assert_eq!(s.cases + s.rejected, s.rows, "rows lost: {s:?}");
    assert_eq!(ledger.table.len() as u64, s.cases, "cases lost: {s:?}");
    assert!(
        ledger.table.row.windows(2).all(|w| w[0] < w[1]),
        "row numbers out of order"
    );
    let grid = match read_file(&file.path, "fuzz.parquet") {
        Ok(g) => g,
        Err(e) => panic!("the audit read the file, the tools' reader refused it: {e}"),
    };
    let last = grid
        .first()
        .and_then(|g| g.rows.last())
        .map_or(0, |(n, _)| *n);
    assert!(
        ledger.table.row.iter().all(|r| *r >= 2 && *r <= last),
        "case rows outside the file's {last} rows"
    );
}

/// The per-file limits the `memory` target runs under: small, so that a reader that
/// allocates what it has not counted exceeds them by far.
pub const MEMORY_CELLS: u64 = 200_000;
/// See [`MEMORY_CELLS`].
pub const MEMORY_BYTES: u64 = 16 << 20;
/// What a run may hold beyond its input, whatever the input: the pack's alias index,
/// polars' and rayon's start-up, the findings' tables.
pub const MEMORY_FIXED: u64 = 64 << 20;
/// Bytes a counted cell may cost at once: calamine's cell and our copy of it (32 bytes
/// each), the typed column and its text, with room to spare.
pub const MEMORY_PER_CELL: u64 = 160;
/// Bytes an input byte may cost at once: deflate expands a byte to at most 1,032, and
/// an inflated byte is held at most as text and once more as a string's header.
pub const MEMORY_PER_INPUT_BYTE: u64 = 1032 * 4;

/// The most bytes a whole run over one input of `len` bytes may hold at once under the
/// [`MEMORY_CELLS`] and [`MEMORY_BYTES`] limits: a fixed part, each counted cell, the
/// bytes counted as inflated or scanned, and what the input itself can expand to.
pub fn memory_allowed(len: usize) -> u64 {
    MEMORY_FIXED
        + MEMORY_PER_CELL * MEMORY_CELLS
        + MEMORY_BYTES
        + MEMORY_PER_INPUT_BYTE * len as u64
}

/// The formats of the `memory` target, by its selector byte.
pub const MEMORY_FORMATS: &[&str] = &["csv", "xlsx", "xls", "ods", "parquet"];

/// A whole run (read, map, normalise, evaluate every rule) over one ledger of any format,
/// under small per-file limits, measuring the peak of bytes held at once with the
/// process's counting allocator (`peak`).
///
/// Input: byte 0 chooses the format ([`MEMORY_FORMATS`], modulo their number); the rest
/// is the file. Checks: the run completes, and the peak of bytes held during it stays
/// within [`memory_allowed`] for the file's size: every reader spends from the file's
/// budget before allocating, so no input, however small, makes a run hold more.
pub fn memory(data: &[u8], peak: &peak_alloc::PeakAlloc) {
    let [format, rest @ ..] = data else {
        return;
    };
    static LIMITS: std::sync::Once = std::sync::Once::new();
    LIMITS.call_once(|| budget::set_file_limits(MEMORY_CELLS, MEMORY_BYTES));
    let pack = pack();
    let ext = MEMORY_FORMATS[usize::from(*format) % MEMORY_FORMATS.len()];
    let file = Scratch::new(ext, rest);
    let opts = AuditOptions {
        as_of: parse_iso("2022-12-31").unwrap_or_default(),
        profile: "national".into(),
        agency: None,
        published: Default::default(),
    };
    let (result, held) = measure(peak, || {
        audit(pack, std::slice::from_ref(&file.path), &opts).map(drop)
    });
    if let Err(e) = result {
        panic!("the run failed on a {ext} file: {e}");
    }
    check_held(held, rest.len(), ext);
}

/// Runs `f`, returning its result and the peak of bytes held at once during it beyond
/// what was held before (all threads: `peak` is the process's allocator).
pub fn measure<R>(peak: &peak_alloc::PeakAlloc, f: impl FnOnce() -> R) -> (R, u64) {
    let before = peak.current_usage() as u64;
    peak.reset_peak_usage();
    let r = f();
    let held = (peak.peak_usage() as u64).saturating_sub(before);
    (r, held)
}

/// Fails when a run over a `len`-byte `ext` file held more than [`memory_allowed`].
pub fn check_held(held: u64, len: usize, ext: &str) {
    let allowed = memory_allowed(len);
    assert!(
        held <= allowed,
        "a {len} byte {ext} file made the run hold {} MB at once, over the {} MB its size and the file limits allow",
        held >> 20,
        allowed >> 20
    );
}
