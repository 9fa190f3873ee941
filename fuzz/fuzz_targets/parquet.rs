#![no_main]

#[path = "../harness_audit.rs"]
mod harness_audit;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness_audit::parquet(data));
