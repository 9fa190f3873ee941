//! The `memory` fuzz target's seeds and saved inputs (fuzz/seeds/memory/,
//! fuzz/regressions/memory/) replayed through its check: a whole run over each, under
//! small per-file limits, holds no more bytes at once than the limits and the file's size
//! allow. A test binary of its own: the counting allocator sees the whole process, so no
//! other test may run beside it, and the lowered limits must not reach other tests.

#[path = "../fuzz/harness_audit.rs"]
mod harness_audit;

use std::path::Path;

#[global_allocator]
static PEAK: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

fn run_all(dir: &Path) -> (usize, Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, Vec::new());
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut failed = Vec::new();
    for p in &paths {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if let Err(e) = std::panic::catch_unwind(|| harness_audit::memory(&data, &PEAK)) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {why}", p.display()));
        }
    }
    (paths.len(), failed)
}

#[test]
fn every_memory_seed_and_saved_input_stays_within_its_limits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let (seeds, mut failed) = run_all(&root.join("seeds/memory"));
    assert!(seeds > 0, "fuzz target memory has no seeds");
    failed.extend(run_all(&root.join("regressions/memory")).1);
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The check can fail: bytes held in another thread, as a reader that trusted a
/// declared size would hold them (calamine's xls reader reserved a grid for a DIMENSIONS
/// record of 2³² rows), are counted and refused.
#[test]
fn a_run_holding_more_than_its_limits_fails_the_check() {
    let too_much = harness_audit::memory_allowed(4096) as usize + (1 << 20);
    let (_, held) = harness_audit::measure(&PEAK, || {
        std::thread::spawn(move || {
            let grid: Vec<u8> = Vec::with_capacity(too_much);
            std::hint::black_box(&grid);
        })
        .join()
        .is_ok()
    });
    assert!(held >= too_much as u64, "{held}");
    let failed = std::panic::catch_unwind(|| harness_audit::check_held(held, 4096, "xls"));
    assert!(failed.is_err());
    harness_audit::check_held(held / 4, 4096, "xls");
}
