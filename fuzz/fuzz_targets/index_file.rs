//! Fuzz target `index_file`: see `fuzz/README.md` and `ledger_fuzz::index_harness::index_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::index_harness::index_file(data));
