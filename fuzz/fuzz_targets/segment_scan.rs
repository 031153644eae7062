//! Fuzz target `segment_scan`: see `fuzz/README.md` and `ledger_fuzz::harness::segment_scan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::harness::segment_scan(data));
