//! Special files under a ledger file's name. A FIFO named like a segment
//! or like `LEDGER` made `verify`, `export` and `stats` wait for ever for a
//! writer of the pipe, and `inspect /dev/zero` never ended. Only regular
//! files are read: each command returns at once with an error naming the
//! file and what it is. Every run has a deadline (`common::PATIENCE`): a
//! hang fails the test instead of stalling it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A demo ledger with sealed segments.
fn ledger() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 1000);
    assert!(sealed_segments(&dir).len() >= 2);
    (tmp, dir)
}

fn active(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "active"))
        .expect("an active segment")
}

/// Replaces `file` with a FIFO of the same name.
fn fifo_for(file: &Path) {
    std::fs::remove_file(file).unwrap();
    mkfifo(file);
}

/// The run failed (not 0) and its output names `name` and `what`.
#[track_caller]
fn refused(run: &Run, name: &str, what: &str) {
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), name);
    assert_contains(&run.all(), what);
}

#[track_caller]
fn commands_refuse(dir: &Path, name: &str, what: &str) {
    for args in [
        &["verify"][..],
        &["export"][..],
        &["stats"][..],
        &["replay"][..],
    ] {
        let run = on(dir, args);
        refused(&run, name, what);
    }
}

#[test]
fn a_fifo_named_like_a_sealed_segment_is_refused_not_waited_on() {
    let (_tmp, dir) = ledger();
    let last = sealed_segments(&dir).pop().unwrap();
    fifo_for(&last);
    commands_refuse(&dir, &file_name(&last), "FIFO");
    refused(
        &bare(&["inspect", path_str(&last)]),
        &file_name(&last),
        "FIFO",
    );
    refused(&on(&dir, &["repair"]), &file_name(&last), "FIFO");
}

#[test]
fn a_fifo_named_like_the_active_segment_is_refused_not_waited_on() {
    let (_tmp, dir) = ledger();
    let active = active(&dir);
    fifo_for(&active);
    commands_refuse(&dir, &file_name(&active), "FIFO");
    refused(
        &bare(&["inspect", path_str(&active)]),
        &file_name(&active),
        "FIFO",
    );
    let events = dir.parent().unwrap().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"kind\":\"session_started\",\"data\":{\"session\":\"S9\"}}\n",
    )
    .unwrap();
    refused(
        &on(&dir, &["append", path_str(&events)]),
        &file_name(&active),
        "FIFO",
    );
}

#[test]
fn a_fifo_named_like_the_identity_file_is_refused_not_waited_on() {
    let (_tmp, dir) = ledger();
    fifo_for(&dir.join("LEDGER"));
    commands_refuse(&dir, "LEDGER", "FIFO");
}

#[test]
fn a_fifo_named_like_the_lock_file_stops_a_writer_not_hangs_it() {
    let (_tmp, dir) = ledger();
    fifo_for(&dir.join("LOCK"));
    let events = dir.parent().unwrap().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"kind\":\"session_started\",\"data\":{\"session\":\"S9\"}}\n",
    )
    .unwrap();
    refused(&on(&dir, &["append", path_str(&events)]), "LOCK", "FIFO");
    // Readers need no lock: the ledger still verifies.
    ok(on(&dir, &["verify"]));
}

#[test]
fn a_directory_named_like_a_segment_is_refused() {
    let (_tmp, dir) = ledger();
    let last = sealed_segments(&dir).pop().unwrap();
    std::fs::remove_file(&last).unwrap();
    std::fs::create_dir(&last).unwrap();
    commands_refuse(&dir, &file_name(&last), "directory");
}

#[test]
fn inspect_refuses_a_device_instead_of_reading_it_for_ever() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        refused(&bare(&["inspect", dev]), dev, "character device");
    }
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("0000000000.active");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    refused(
        &bare(&["inspect", path_str(&link)]),
        "0000000000.active",
        "character device",
    );
}

/// A (sparse) file named like a segment but larger than a segment may be
/// is refused before a byte of it is read or hashed.
#[test]
fn a_segment_larger_than_the_format_allows_is_refused_before_reading() {
    let (_tmp, dir) = ledger();
    let last = sealed_segments(&dir).pop().unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    f.set_len(ledger_core::MAX_SEGMENT_SIZE + 4096).unwrap();
    drop(f);
    let too_large = (ledger_core::MAX_SEGMENT_SIZE + 4096).to_string();
    for args in [&["verify"][..], &["export"][..], &["stats"][..]] {
        refused(&on(&dir, args), &file_name(&last), &too_large);
    }
    refused(
        &bare(&["inspect", path_str(&last)]),
        &file_name(&last),
        &too_large,
    );
}
