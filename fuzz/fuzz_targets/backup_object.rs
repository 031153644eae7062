//! Fuzz target `backup_object`: see `fuzz/README.md` and `ledger_fuzz::harness::backup_object`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::harness::backup_object(data));
