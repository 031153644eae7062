//! Two writers through a hard-linked copy of a ledger folder (`cp -al DIR
//! DIR2`, a writer on each) both got a receipt for the same sequence: the
//! lock was the `LOCK` file of each folder, and a copy made without it (or
//! with it replaced) has its own. The lock now also covers `LEDGER`, which
//! every hard-linked copy shares (`flock` locks the file itself): the second
//! writer is refused with the "another writer" error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use ledger_core::{Durability, OpenError, Writer, WriterOptions};

fn opts() -> WriterOptions {
    small(Durability::NoSync)
}

/// `cp -al from to`, leaving out the files named in `skip`.
fn hard_linked_copy(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if !skip.contains(&name.as_str()) {
            std::fs::hard_link(e.path(), to.join(&name)).unwrap();
        }
    }
}

#[track_caller]
fn assert_locked(r: Result<Writer, OpenError>) {
    match r {
        Err(e @ OpenError::Locked { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("another writer"), "{msg}");
            assert!(msg.contains("hard-linked copy"), "{msg}");
        }
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("a second writer opened the ledger"),
    }
}

#[test]
fn a_writer_through_a_hard_linked_copy_of_the_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, copy, copy2) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let mut w = Writer::create(&dir, opts()).unwrap();
    append_range(&mut w, 0, 20);
    // Copies made while the writer runs: with its LOCK file, and without
    // it (a copy whose LOCK is its own file, as when none existed or it was
    // removed).
    hard_linked_copy(&dir, &copy, &[]);
    hard_linked_copy(&dir, &copy2, &["LOCK"]);
    assert_locked(Writer::open(&copy, opts()));
    assert_locked(Writer::open(&copy2, opts()));
    // The first writer goes on alone: nothing was written through a copy.
    let receipts = append_range(&mut w, 20, 25);
    assert_eq!(receipts[0].seq.get(), 21);
    w.close().unwrap();
    // Once it is gone, a writer through a copy may open (it is the same
    // ledger) and continues the chain.
    let mut w2 = Writer::open(&copy2, opts()).unwrap();
    assert_eq!(w2.next_seq().get(), 26);
    assert_locked(Writer::open(&dir, opts()));
    append_range(&mut w2, 25, 26);
    w2.close().unwrap();
}

#[test]
fn a_new_ledger_locks_its_identity_file_as_soon_as_it_has_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, copy) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut w = Writer::create(&dir, opts()).unwrap();
    append_range(&mut w, 0, 3);
    hard_linked_copy(&dir, &copy, &["LOCK"]);
    assert_locked(Writer::open(&copy, opts()));
    w.close().unwrap();
}

#[test]
fn readers_take_no_lock_and_are_not_stopped_by_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let mut w = Writer::create(&dir, opts()).unwrap();
    append_range(&mut w, 0, 10);
    w.sync().unwrap();
    let records = chain_records(ledger_core::Reader::open(&dir).unwrap());
    assert_eq!(records.len(), 10);
    let report = ledger_core::verify_dir(&dir, &ledger_core::VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    w.close().unwrap();
}
