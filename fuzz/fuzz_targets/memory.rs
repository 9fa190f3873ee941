#![no_main]

#[path = "../harness_audit.rs"]
mod harness_audit;

/// Counts the bytes the process holds, and their peak, for the target's check.
#[global_allocator]
static PEAK: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness_audit::memory(data, &PEAK));
