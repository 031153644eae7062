//! Fuzz target `checkpoint`: see `fuzz/README.md` and `ledger_fuzz::harness::checkpoint`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::harness::checkpoint(data));
