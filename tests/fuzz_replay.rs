//! Every seed and every saved crash input of the fuzz targets (fuzz/seeds/<target>/ and
//! fuzz/regressions/<target>/) replayed through the targets' own checks, so that a fixed
//! crash stays fixed without running cargo-fuzz. The `memory` target, which counts the
//! process's allocations, is replayed in a test binary of its own (tests/fuzz_memory.rs).

#[path = "../fuzz/harness_audit.rs"]
pub mod harness_audit;

pub use harness_audit::harness;
use std::path::Path;

/// Runs `run` on every file of `dir`: (how many, the paths whose run panicked).
fn replay(dir: &Path, run: harness::Target) -> (usize, Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, Vec::new());
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut failed = Vec::new();
    for p in &paths {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(p.display().to_string());
        }
    }
    (paths.len(), failed)
}

#[test]
fn every_seed_and_saved_crash_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failed = Vec::new();
    for (name, run) in harness::TARGETS.iter().chain(harness_audit::TARGETS) {
        let (seeds, f) = replay(&root.join("seeds").join(name), *run);
        assert!(seeds > 0, "fuzz target {name} has no seeds");
        failed.extend(f);
        failed.extend(replay(&root.join("regressions").join(name), *run).1);
    }
    assert!(
        failed.is_empty(),
        "inputs that fail their fuzz target: {failed:#?}"
    );
}
