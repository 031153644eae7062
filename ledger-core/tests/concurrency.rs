//! Readers while the writer appends and rotates: they never see a partial
//! record and never miss one.
//!
//! Every wait here (for a thread, a child process or a condition) has a
//! deadline, and a failing test stops the threads and processes it
//! started: a failure fails, it does not hang CI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use common::*;
use ledger_core::{Durability, Reader, SharedWriter, Writer};

const N: u64 = 3000;

/// Also the test named by the mmap module's SAFETY notes: readers map the
/// active segment while the writer seals (trims) it.
#[test]
fn concurrent_reader_sees_only_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let first = append_range(&mut w, 0, 1);
    let path = dir.path().to_owned();
    let deadline = deadline();
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = StopOnDrop(Arc::clone(&stop));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let path = path.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut c = Reader::open(&path)
                    .unwrap()
                    .cursor()
                    .unwrap()
                    .verify_chain(true);
                let mut got = Vec::new();
                while (got.len() as u64) < N && !stop.load(Ordering::Relaxed) {
                    assert!(
                        Instant::now() < deadline,
                        "the reader saw {} of {N} records by the deadline",
                        got.len()
                    );
                    match c.next_record().unwrap() {
                        Some(r) => {
                            assert_eq!(
                                r.payload,
                                payload(r.seq.get() - 1),
                                "partial or wrong record"
                            );
                            got.push((r.seq, r.chain_hash));
                        }
                        None => thread::yield_now(),
                    }
                }
                got
            })
        })
        .collect();
    let mut receipts = first;
    receipts.extend(append_only(&mut w, 1, N));
    assert!(w.sealed_segments() >= 10);
    for r in readers {
        let got = join_by(r, deadline, "a reader");
        let want: Vec<_> = receipts.iter().map(|r| (r.seq, r.chain_hash)).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn reader_survives_seal_of_the_segment_it_maps() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, 0, 5);
    let mut c = Reader::open(dir.path()).unwrap().cursor().unwrap();
    for _ in 0..5 {
        assert!(c.next_record().unwrap().is_some());
    }
    assert!(c.next_record().unwrap().is_none(), "at the tail");
    let active_before = c.segment_name().unwrap().to_owned();
    let _ = append_range(&mut w, 5, 200); // seals the mapped segment, trims it
    assert!(w.sealed_segments() >= 2);
    let rest: Vec<_> = c.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rest.len(), 195);
    assert_ne!(c.segment_name().unwrap(), active_before);
}

#[test]
fn shared_writer_from_several_threads_keeps_one_dense_chain() {
    let dir = tempfile::tempdir().unwrap();
    let w = SharedWriter::new(Writer::create(dir.path(), small(Durability::NoSync)).unwrap());
    let deadline = deadline();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let w = w.clone();
            thread::spawn(move || {
                (0..250u64)
                    .map(|i| {
                        let p = payload(t * 1000 + i);
                        w.append(&ledger_core::Entry::new(
                            kind(i),
                            ledger_core::SchemaVersion::new(1),
                            &p,
                        ))
                        .unwrap()
                        .seq
                        .get()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| join_by(h, deadline, "an appending thread"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    w.with(|w| w.sync()).unwrap();
    drop(w);
    let report = ledger_core::verify_dir(dir.path(), &Default::default()).unwrap();
    assert!(report.is_intact());
    assert_eq!(report.records, 1000);
}

/// Readers in other processes, following the tail while the writer appends
/// and rotates, read every record whole and in order, identical to the
/// writer's receipts (the commit protocol across processes).
#[test]
fn readers_in_other_processes_see_every_record_whole() {
    const CHILD: &str = "LEDGER_TEST_READER_DIR";
    if let Ok(dir) = std::env::var(CHILD) {
        use std::io::Write;
        let n: u64 = std::env::var("LEDGER_TEST_READER_N")
            .unwrap()
            .parse()
            .unwrap();
        let mut c = Reader::open(&dir)
            .unwrap()
            .cursor()
            .unwrap()
            .verify_chain(true);
        let mut out = std::io::stdout().lock();
        // The test harness has printed "test <name> ... " without a newline.
        writeln!(out).unwrap();
        let mut got = 0;
        let deadline = deadline();
        while got < n && Instant::now() < deadline {
            match c.next_record().unwrap() {
                Some(r) => {
                    assert_eq!(r.payload, payload(r.seq.get() - 1));
                    writeln!(out, "{} {}", r.seq, r.chain_hash).unwrap();
                    got += 1;
                }
                None => std::thread::sleep(std::time::Duration::from_micros(200)),
            }
        }
        out.flush().unwrap();
        return;
    }
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let mut receipts = append_range(&mut w, 0, 1);
    // Killed if this test fails before it has waited for them.
    let children: Vec<ChildGuard> = (0..2)
        .map(|_| {
            let child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "readers_in_other_processes_see_every_record_whole",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, dir.path())
                .env("LEDGER_TEST_READER_N", N.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            ChildGuard::new(child)
        })
        .collect();
    // Append in bursts, so the readers follow the tail across rotations
    // while the writer is still at work.
    let mut from = 1;
    while from < N {
        let to = (from + 100).min(N);
        receipts.extend(append_only(&mut w, from, to));
        from = to;
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    assert!(w.sealed_segments() >= 10);
    w.close().unwrap();
    let want: Vec<String> = receipts
        .iter()
        .map(|r| format!("{} {}", r.seq, r.chain_hash))
        .collect();
    // The children give up at their own deadline; this one is a little later.
    let deadline = deadline() + std::time::Duration::from_secs(10);
    for child in children {
        let out = child.wait_with_output_by(deadline);
        assert!(
            out.status.success(),
            "a reader process failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let got: Vec<String> = text
            .lines()
            .filter(|l| l.split(' ').count() == 2 && l.len() > 64)
            .map(str::to_owned)
            .collect();
        assert_eq!(got, want, "a reader process missed or altered records");
    }
}

/// Verification while the writer appends and seals: a seal renames the
/// active segment between verification's listing and its mapping, which must
/// not be reported as an unreadable segment (nor as anything but a torn
/// tail, an interrupted seal or a full segment awaiting the sealer thread:
/// the writer's record or seal in progress).
#[test]
fn verification_while_the_writer_rotates_reports_no_damage() {
    use ledger_core::{verify_dir, FindingKind, VerifyOptions};
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, 0, 50);
    let stop = Arc::new(AtomicBool::new(false));
    // Stops the writer however this test ends.
    let _stop = StopOnDrop(Arc::clone(&stop));
    let s2 = Arc::clone(&stop);
    let writer = thread::spawn(move || {
        let mut i = 50;
        while !s2.load(Ordering::Relaxed) {
            let _ = append_only(&mut w, i, i + 5);
            i += 5;
        }
        w.close().unwrap();
    });
    let deadline = deadline();
    let mut runs = 0;
    // At least 60 runs, and on until the writer has sealed a few segments
    // meanwhile (however fast or slow this machine is), but not past the
    // deadline, nor once the writer has stopped (it only stops by failing).
    while runs < 60 || sealed_files(dir.path()).len() < 5 {
        if writer.is_finished() {
            join_by(writer, deadline, "the writer");
            panic!("the writer thread stopped before it was asked to");
        }
        assert!(
            Instant::now() < deadline,
            "after {runs} verify runs the writer has sealed only {} segments",
            sealed_files(dir.path()).len()
        );
        let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
        for f in &report.findings {
            // The writer's record in progress (a torn tail) or its seal in
            // progress (an interrupted seal): notices, never damage.
            assert!(
                matches!(
                    f.kind,
                    FindingKind::TornTail
                        | FindingKind::InterruptedSeal
                        | FindingKind::AwaitingSeal
                ),
                "verify run {runs}: {f}"
            );
        }
        runs += 1;
    }
    stop.store(true, Ordering::Relaxed);
    join_by(writer, deadline, "the writer");
    assert!(
        sealed_files(dir.path()).len() >= 5,
        "the writer sealed while verify ran"
    );
    assert!(verify_dir(dir.path(), &VerifyOptions::default())
        .unwrap()
        .is_intact());
}

/// The map discipline as types: a map of the active segment lends no bytes
/// (the writer in this process writes them), its atomic copy holds every
/// record whose length word it holds whole, and a sealed segment's map lends
/// its bytes.
#[test]
fn a_live_map_lends_no_bytes_and_its_copy_holds_whole_records() {
    use ledger_core::segment::record::{parse_at, Slot};
    use ledger_core::storage::{FsStorage, Storage};
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), small(Durability::NoSync)).unwrap();
    let receipts = append_range(&mut w, 0, 120);
    let st = FsStorage::new(dir.path());
    let active = st.map_segment(&active_file(dir.path())).unwrap();
    assert!(!active.is_sealed());
    assert_eq!(active.bytes(0, 8), None, "a live map lends no bytes");
    let sealed = st.map_segment(&sealed_files(dir.path())[0]).unwrap();
    assert!(sealed.is_sealed());
    assert!(sealed.bytes(0, sealed.len()).is_some());
    // Copies taken while the writer appends hold only whole records.
    for next in 120..140 {
        let copy = active.snapshot();
        let mut at = 4096;
        while let Ok(Slot::Record(r)) = parse_at(&copy, at) {
            assert_eq!(r.payload, payload(r.seq.get() - 1), "a whole record");
            at += r.padded_len();
        }
        assert_eq!(
            u32::from_le_bytes(copy[at..at + 4].try_into().unwrap()) % 0xFFFF_FFFF,
            0
        );
        append_range(&mut w, next, next + 1);
    }
    drop(receipts);
}
