//! Special files where `ledger backup` reads or locks: a FIFO named like a
//! segment of the ledger being backed up, like the store's lock file, or
//! like an object of the store. A FIFO opened for reading waits for a
//! writer (and one opened for writing for a reader) for ever; the backup
//! code reads segments through the storage's regular-file reader (bounded
//! by the largest segment) and opens everything without blocking, so each
//! command fails at once, naming the file and what it is, and writes no
//! manifest. Every run has a deadline (`common::PATIENCE`): a hang fails the
//! test instead of stalling it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Replaces `file` with a FIFO of the same name.
fn fifo_for(file: &Path) {
    std::fs::remove_file(file).unwrap();
    mkfifo(file);
}

/// A demo ledger with sealed segments, and where its store goes.
fn ledger() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 1000);
    assert!(sealed_segments(&dir).len() >= 2);
    let store = tmp.path().join("store");
    (tmp, dir, store)
}

fn manifests(store: &Path) -> usize {
    std::fs::read_dir(store.join("manifests"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The run failed (not 0) and its output names `name` and `what`.
#[track_caller]
fn refused(run: &Run, name: &str, what: &str) {
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), name);
    assert_contains(&run.all(), what);
}

#[test]
fn a_fifo_named_like_a_sealed_segment_fails_backup_create_at_once() {
    let (_tmp, dir, store) = ledger();
    let first = sealed_segments(&dir).remove(0);
    fifo_for(&first);
    let run = on(&dir, &["backup", "create", "--to", path_str(&store)]);
    refused(&run, &file_name(&first), "FIFO");
    assert_eq!(manifests(&store), 0, "no backup was recorded");
}

#[test]
fn a_fifo_named_like_the_active_segment_fails_backup_create_at_once() {
    let (_tmp, dir, store) = ledger();
    let active = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "active"))
        .unwrap();
    fifo_for(&active);
    let run = on(&dir, &["backup", "create", "--to", path_str(&store)]);
    refused(&run, &file_name(&active), "FIFO");
    assert_eq!(manifests(&store), 0, "no backup was recorded");
}

#[test]
fn a_fifo_as_the_store_lock_file_is_refused_not_waited_on() {
    let (_tmp, dir, store) = ledger();
    ok(on(&dir, &["backup", "create", "--to", path_str(&store)]));
    let lock = store.join("LOCK");
    if lock.exists() {
        std::fs::remove_file(&lock).unwrap();
    }
    mkfifo(&lock);
    let run = on(&dir, &["backup", "create", "--to", path_str(&store)]);
    refused(&run, path_str(&lock), "FIFO");
    assert_eq!(manifests(&store), 1, "no second backup was recorded");
    let run = bare(&[
        "backup",
        "prune",
        "--in",
        path_str(&store),
        "--keep-last",
        "1",
    ]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), "FIFO");
}

#[test]
fn a_fifo_named_like_an_object_fails_backup_verify_at_once() {
    let (_tmp, dir, store) = ledger();
    ok(on(&dir, &["backup", "create", "--to", path_str(&store)]));
    let object = files_under(&store.join("objects"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "zst"))
        .unwrap();
    fifo_for(&object);
    let run = bare(&["backup", "verify", "--in", path_str(&store)]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), &file_name(&object));
    // A new backup writes the object anew (the FIFO is not read).
    let run = on(&dir, &["backup", "create", "--to", path_str(&store)]);
    ok(run);
    assert!(std::fs::symlink_metadata(&object).unwrap().is_file());
    ok(bare(&["backup", "verify", "--in", path_str(&store)]));
}

/// A manifest (re-hashed: anyone can) whose active segment claims a
/// capacity of 1 TiB: `backup restore` allocated the restored file to it
/// (capped only at 16 GiB, four times the largest segment, so the restored
/// ledger could not even be opened). A size or capacity beyond the largest
/// segment is now a defect of the manifest: verify and restore refuse it,
/// naming the field, and nothing is restored.
#[test]
fn a_manifest_claiming_a_capacity_beyond_any_segment_is_refused() {
    let (tmp, dir, store) = ledger();
    ok(on(&dir, &["backup", "create", "--to", path_str(&store)]));
    let path = std::fs::read_dir(store.join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "manifest"))
        .unwrap();
    let (mut m, _) = ledger_core::Manifest::from_file(&std::fs::read(&path).unwrap()).unwrap();
    let active = m
        .segments
        .iter_mut()
        .find(|s| s.capacity.is_some())
        .expect("an active segment");
    active.capacity = Some(1 << 40);
    std::fs::write(&path, m.to_file().unwrap().0).unwrap();

    let run = bare(&["backup", "verify", "--in", path_str(&store)]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), "capacity");
    assert_contains(&run.all(), &file_name(&path));
    let target = tmp.path().join("restored");
    let run = bare(&[
        "backup",
        "restore",
        "--from",
        path_str(&store),
        "--to",
        path_str(&target),
    ]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), "capacity");
    assert!(!target.exists(), "nothing was restored");
}
