//! Fuzz target `recovery`: see `fuzz/README.md` and `ledger_fuzz::harness::recovery`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::harness::recovery(data));
