//! Fuzz target `backup_manifest`: see `fuzz/README.md` and `ledger_fuzz::harness::backup_manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ledger_fuzz::harness::backup_manifest(data));
