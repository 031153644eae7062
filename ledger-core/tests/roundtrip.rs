//! Round trips over many segments, reopening and continuing the chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use ledger_core::storage::MemStorage;
use ledger_core::{verify, verify_dir, VerifyOptions};
use ledger_core::{
    AppendError, Durability, Entry, Kind, OpenError, OpenMode, Reader, SchemaVersion, Seq,
    Timestamp, Writer,
};

#[test]
fn round_trip_over_many_segments_reopen_and_continue() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let mut receipts = append_range(&mut w, 0, 600);
    assert!(
        w.sealed_segments() >= 5,
        "only {} sealed",
        w.sealed_segments()
    );
    w.close().unwrap();
    assert!(sealed_files(dir.path()).len() >= 5);

    let mut w = Writer::open(dir.path(), small(Durability::NoSync)).unwrap();
    assert!(w.recovery_report().is_clean(), "{:?}", w.recovery_report());
    assert_eq!(w.next_seq(), Seq::new(601));
    assert_eq!(
        w.head().unwrap().chain_hash,
        receipts.last().unwrap().chain_hash
    );
    receipts.extend(append_range(&mut w, 600, 900));
    w.close().unwrap();

    let records = chain_records(Reader::open(dir.path()).unwrap());
    assert_eq!(records.len(), 900);
    for (i, (r, rc)) in records.iter().zip(&receipts).enumerate() {
        assert_eq!(r.seq, rc.seq);
        assert_eq!(r.chain_hash, rc.chain_hash);
        assert_eq!(r.payload, payload(i as u64));
        assert_eq!(r.kind, kind(i as u64));
        assert_eq!(r.timestamp, rc.timestamp);
    }
    let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.records, 900);
    assert_eq!(report.head.unwrap().chain_hash, receipts[899].chain_hash);
}

#[test]
fn cursor_starts_at_any_sequence_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let receipts = append_range(&mut w, 0, 400);
    w.close().unwrap();
    let reader = Reader::open(dir.path()).unwrap();
    for start in [1u64, 2, 57, 58, 59, 199, 200, 399, 400] {
        let mut c = reader.cursor_from(Seq::new(start)).unwrap();
        let r = c.next_record().unwrap().unwrap();
        assert_eq!(r.seq, Seq::new(start));
        assert_eq!(r.chain_hash, receipts[start as usize - 1].chain_hash);
        assert_eq!(c.by_ref().count() as u64, 400 - start);
    }
    let mut past = reader.cursor_from(Seq::new(401)).unwrap();
    assert!(past.next_record().unwrap().is_none());
}

#[test]
fn in_memory_backend_round_trips_like_files() {
    let storage = Arc::new(MemStorage::new());
    let mut w =
        Writer::open_storage(storage.clone(), OpenMode::Create, small(Durability::NoSync)).unwrap();
    let receipts = append_range(&mut w, 0, 300);
    w.close().unwrap();
    let records: Vec<_> = Reader::with_storage(storage.clone())
        .unwrap()
        .cursor()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), 300);
    assert_eq!(records[299].chain_hash, receipts[299].chain_hash);
    assert!(verify(storage, &VerifyOptions::default())
        .unwrap()
        .is_intact());
}

#[test]
fn batch_append_is_checked_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::SyncEveryAppend)).unwrap();
    let t = Timestamp::from_nanos(1_000);
    let ok = w
        .append_batch(&[
            Entry::new(Kind::new(1), SchemaVersion::new(1), b"a").at(t),
            Entry::new(Kind::new(1), SchemaVersion::new(1), b"b").at(t),
        ])
        .unwrap();
    assert_eq!(ok.len(), 2);
    let err = w
        .append_batch(&[
            Entry::new(Kind::new(1), SchemaVersion::new(1), b"c").at(Timestamp::from_nanos(2_000)),
            Entry::new(Kind::new(1), SchemaVersion::new(1), b"d").at(Timestamp::from_nanos(1_500)),
        ])
        .unwrap_err();
    assert!(
        matches!(err, AppendError::TimeWentBackwards { seq, .. } if seq == Seq::new(4)),
        "{err}"
    );
    assert_eq!(w.next_seq(), Seq::new(3), "a refused batch appends nothing");

    let big = vec![0u8; w.max_payload() + 1];
    let err = w
        .append(&Entry::new(Kind::new(1), SchemaVersion::new(1), &big))
        .unwrap_err();
    assert!(matches!(err, AppendError::RecordTooLarge { .. }), "{err}");
    let fits = vec![7u8; w.max_payload()];
    let _ = w
        .append(&Entry::new(Kind::new(1), SchemaVersion::new(1), &fits))
        .unwrap();
    let err = w
        .append(&Entry::new(Kind::new(1), SchemaVersion::new(1), b"x").at(Timestamp::from_nanos(5)))
        .unwrap_err();
    assert!(
        matches!(err, AppendError::TimeWentBackwards { .. }),
        "{err}"
    );
    w.close().unwrap();
    assert!(verify_dir(dir.path(), &VerifyOptions::default())
        .unwrap()
        .is_intact());
}

#[test]
fn open_modes_and_folder_errors_are_clear() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("missing");
    let err = Writer::open(&missing, small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::NoSuchFolder { .. }), "{err}");
    assert!(err.to_string().contains("missing"));
    assert!(!missing.exists(), "opening must not create the folder");

    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = Writer::open(&empty, small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::NotALedger { .. }), "{err}");
    assert!(err.to_string().contains("empty"), "{err}");
    assert_eq!(
        std::fs::read_dir(&empty).unwrap().count(),
        0,
        "nothing written"
    );

    let foreign = root.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"hello").unwrap();
    let err = Writer::open(&foreign, small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::NotALedger { .. }), "{err}");
    let err = Writer::create(&foreign, small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::FolderNotEmpty { .. }), "{err}");
    let err = Writer::open_or_create(&foreign, small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::FolderNotEmpty { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(&foreign).unwrap().count(),
        1,
        "nothing written"
    );

    let w = Writer::open_or_create(&missing, small(Durability::NoSync)).unwrap();
    drop(w);
    let err = Writer::create(&missing, small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::AlreadyExists { .. }), "{err}");
    assert!(Reader::open(&foreign).is_err());

    // A crash while creating left only the lock file: creating again works.
    let interrupted = root.path().join("interrupted");
    std::fs::create_dir(&interrupted).unwrap();
    std::fs::write(interrupted.join("LOCK"), b"").unwrap();
    std::fs::write(interrupted.join("LEDGER.tmp"), b"partial").unwrap();
    drop(Writer::open_or_create(&interrupted, small(Durability::NoSync)).unwrap());
    assert!(interrupted.join("LEDGER").exists());
}

/// The lock is a `flock` on the open `LOCK` file. A child process forked
/// by another test thread inherits every open descriptor until it execs,
/// and with it the lock of a writer this thread just dropped; the two
/// lock tests therefore do not run at the same time.
static LOCK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_second_writer_in_the_same_process_is_refused() {
    let _serial = LOCK_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let err = Writer::open(dir.path(), small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("LOCK"), "{err}");
    drop(w);
    Writer::open(dir.path(), small(Durability::NoSync)).unwrap();
}

#[test]
fn a_second_writer_in_another_process_is_refused() {
    if let Ok(dir) = std::env::var("LEDGER_TEST_HOLD_LOCK") {
        // Child: hold the writer until the parent closes our stdin.
        let _w = Writer::open(&dir, small(Durability::NoSync)).unwrap();
        println!("holding");
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
        return;
    }
    use std::process::{Command, Stdio};
    let _serial = LOCK_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    drop(Writer::create(dir.path(), small(Durability::NoSync)).unwrap());
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_second_writer_in_another_process_is_refused",
            "--nocapture",
        ])
        .env("LEDGER_TEST_HOLD_LOCK", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed if this test fails before the child is done.
    let mut child = ChildGuard::new(child);
    let deadline = deadline();
    let lines = line_channel(child.child().stdout.take().unwrap());
    loop {
        let line = next_line_by(&lines, deadline).expect("the child ended early");
        if line.contains("holding") {
            break;
        }
    }
    let err = Writer::open(dir.path(), small(Durability::NoSync)).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
    drop(child.child().stdin.take());
    assert!(child.wait_with_output_by(deadline).status.success());
    Writer::open(dir.path(), small(Durability::NoSync)).unwrap();
}
