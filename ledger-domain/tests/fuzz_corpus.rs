//! Replays the fuzz corpus (`fuzz/corpus/<target>/*`) through the bodies of
//! the fuzz targets, so CI exercises every target without cargo-fuzz or a
//! nightly compiler.
//!
//! The target bodies are not copied here: this file includes the very
//! files the fuzz targets run (`fuzz/src/harness.rs` and
//! `fuzz/src/index_harness.rs`), so the two cannot drift apart. It lives in
//! `ledger-domain` because the targets cover the engine, the index and the
//! trading domain's decoder, and this crate sees all three; `crate::ix`
//! stands for `ledger-index`, as it does in the fuzz crate.
//!
//! A new file in a corpus folder is replayed automatically; a folder with
//! no target here fails the test. The reproducers listed in
//! `fuzz/README.md` ("Findings") are in the corpus, so each one is replayed
//! on every run; a new reproducer goes there with its fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/harness.rs"]
mod harness;
#[path = "../../fuzz/src/index_harness.rs"]
mod index_harness;

/// What `index_harness` uses from `ledger-index`.
mod ix {
    pub(crate) use ledger_index::{file, Query, SegmentIndex};
}

type Target = fn(&[u8]);

/// Every fuzz target, by its corpus folder name.
const TARGETS: [(&str, Target); 8] = [
    ("segment_scan", harness::segment_scan),
    ("record_decode", harness::record_decode),
    ("event_decode", harness::event_decode),
    ("recovery", harness::recovery),
    ("index_file", index_harness::index_file),
    ("backup_manifest", harness::backup_manifest),
    ("backup_object", harness::backup_object),
    ("checkpoint", harness::checkpoint),
];

fn fuzz_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn corpus_root() -> PathBuf {
    fuzz_root().join("corpus")
}

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let dir = corpus_root().join(target);
    let files = files_of(&dir);
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(
            outcome.is_ok(),
            "fuzz target {target} panicked on {} (reproduce with `cargo fuzz run {target} {}`)",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn every_corpus_folder_has_a_target() {
    for entry in std::fs::read_dir(corpus_root()).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            let name = entry.file_name().into_string().unwrap();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz/corpus/{name} has no target in this test"
            );
            // Replayed here too, so a folder without a test of its own below
            // is still run.
            replay(&name);
        }
    }
}

#[test]
fn segment_scan_corpus() {
    replay("segment_scan");
}

#[test]
fn record_decode_corpus() {
    replay("record_decode");
}

#[test]
fn event_decode_corpus() {
    replay("event_decode");
}

#[test]
fn recovery_corpus() {
    replay("recovery");
}

#[test]
fn index_file_corpus() {
    replay("index_file");
}

#[test]
fn backup_manifest_corpus() {
    replay("backup_manifest");
}

#[test]
fn backup_object_corpus() {
    replay("backup_object");
}

#[test]
fn checkpoint_corpus() {
    replay("checkpoint");
}

/// The inputs that drive nothing still run every target's fast paths.
#[test]
fn empty_and_tiny_inputs() {
    for (_, run) in TARGETS {
        for input in [&[][..], &[0], &[0xff; 3], &[1, 0, 0, 0, 0, 0, 0, 0]] {
            run(input);
        }
    }
}
