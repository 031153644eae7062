//! The bodies of the fuzz targets in `fuzz_targets/`.
//!
//! Every target is a function taking `&[u8]` that must never panic (except
//! on a broken invariant, which is the finding), never allocate without
//! bound and always terminate. `ledger-domain/tests/fuzz_corpus.rs` includes
//! these same files and replays `fuzz/corpus/<target>/` through them, so CI
//! runs them without cargo-fuzz; they therefore use only the public APIs of
//! `ledger-core` and `ledger-domain` and the crates those depend on, plus
//! `ledger-index` through the [`ix`] module (which the test defines the
//! same way). See `fuzz/README.md`.

pub mod harness;
pub mod index_harness;

/// What the index harness needs from `ledger-index`.
pub mod ix {
    pub use ledger_index::{file, Query, SegmentIndex};
}
