//! Fuzz target `event_decode`: see `fuzz/README.md` and `ledger_fuzz::harness::event_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::harness::event_decode(data));
