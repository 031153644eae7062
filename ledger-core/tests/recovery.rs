//! Recovery: torn tails, damage before the durable watermark, power loss
//! under each durability mode, failed flushes and interrupted seals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ledger_core::storage::{CrashMode, MemStorage, Storage};
use ledger_core::{verify, VerifyOptions};
use ledger_core::{AppendError, Durability, OpenMode, Reader, Receipt, Seq, Writer, WriterOptions};

fn opts(d: Durability) -> WriterOptions {
    small(d).preallocate(false)
}

fn create(st: &MemStorage, d: Durability) -> Writer {
    Writer::open_storage(Arc::new(st.clone()), OpenMode::Create, opts(d)).unwrap()
}

fn reopen(st: &MemStorage) -> Result<Writer, ledger_core::OpenError> {
    Writer::open_storage(
        Arc::new(st.clone()),
        OpenMode::Open,
        opts(Durability::NoSync),
    )
}

fn active_name(st: &MemStorage) -> String {
    st.list()
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".active"))
        .unwrap()
}

fn watermark(bytes: &[u8]) -> usize {
    u64::from_le_bytes(bytes[128..136].try_into().unwrap()) as usize
}

fn record_len(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// Asserts the ledger holds exactly the records of `receipts` (as a prefix
/// of length `n`) and verifies.
fn assert_holds(st: &MemStorage, receipts: &[Receipt], n: usize) {
    let records = chain_records(Reader::with_storage(Arc::new(st.clone())).unwrap());
    assert_eq!(records.len(), n, "record count");
    for (r, rc) in records.iter().zip(receipts) {
        assert_eq!((r.seq, r.chain_hash), (rc.seq, rc.chain_hash));
        assert_eq!(r.payload, payload(r.seq.get() - 1));
    }
    let report = verify(Arc::new(st.clone()), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
}

/// Ten durable records, then an eleventh that is not yet durable.
fn ten_durable_one_not() -> (MemStorage, Vec<Receipt>) {
    let st = MemStorage::new();
    let mut w = create(&st, Durability::NoSync);
    let mut receipts = append_range(&mut w, 0, 10);
    w.sync().unwrap();
    receipts.extend(append_range(&mut w, 10, 11));
    let crashed = st.crash(CrashMode::ProcessCrash).unwrap();
    drop(w);
    (crashed, receipts)
}

#[test]
fn torn_last_record_at_every_byte_offset_recovers_to_the_previous_record() {
    let (base, receipts) = ten_durable_one_not();
    let name = active_name(&base);
    let bytes = base.file_bytes(&name).unwrap();
    let at = watermark(&bytes);
    let len = record_len(&bytes, at);
    assert!(len > 60);
    for cut in 0..len {
        let st = base.crash(CrashMode::ProcessCrash).unwrap();
        let mut b = bytes.clone();
        b[at + cut..at + len].fill(0);
        st.set_file_bytes(&name, &b).unwrap();
        let w = reopen(&st).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let report = w.recovery_report().clone();
        assert_eq!(w.next_seq(), Seq::new(11), "cut {cut}");
        assert_eq!(w.head().unwrap().chain_hash, receipts[9].chain_hash);
        match &report.cut {
            Some(c) => {
                assert_eq!(c.seq, Seq::new(11), "cut {cut}");
                assert_eq!(c.offset, at as u64);
                assert!(c.bytes > 0 && c.bytes <= cut as u64);
                assert_eq!(
                    st.file_bytes(&c.saved_to).unwrap(),
                    b[at..at + c.bytes as usize]
                );
            }
            None => assert!(
                b[at..at + 4] == [0; 4],
                "cut {cut}: a torn record was not reported"
            ),
        }
        drop(w);
        assert_holds(&st, &receipts, 10);
    }
    // The whole record present: nothing is cut.
    let st = base.crash(CrashMode::ProcessCrash).unwrap();
    let w = reopen(&st).unwrap();
    assert!(w.recovery_report().is_clean());
    assert_eq!(w.next_seq(), Seq::new(12));
    drop(w);
    assert_holds(&st, &receipts, 11);
}

#[test]
fn garbage_after_the_last_record_is_cut_and_reported() {
    let (base, receipts) = ten_durable_one_not();
    let name = active_name(&base);
    let mut bytes = base.file_bytes(&name).unwrap();
    let at = watermark(&bytes);
    let end = at + record_len(&bytes, at).next_multiple_of(8);
    for (i, b) in bytes[end..end + 300].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(13) | 1;
    }
    base.set_file_bytes(&name, &bytes).unwrap();
    let w = reopen(&base).unwrap();
    let cut = w.recovery_report().cut.clone().expect("a cut");
    assert_eq!(cut.offset, end as u64);
    assert_eq!(cut.seq, Seq::new(12));
    assert_eq!(cut.bytes, 300);
    assert_eq!(cut.valid_looking_records, 0);
    assert_eq!(w.next_seq(), Seq::new(12));
    drop(w);
    assert_holds(&base, &receipts, 11);
    // A second open finds nothing more to cut.
    assert!(reopen(&base).unwrap().recovery_report().is_clean());
}

#[test]
fn damage_before_the_durable_watermark_is_an_error_and_changes_nothing() {
    let (base, _) = ten_durable_one_not();
    let name = active_name(&base);
    let mut bytes = base.file_bytes(&name).unwrap();
    // Record 5: walk the records from the header.
    let mut at = 4096;
    for _ in 0..4 {
        at += record_len(&bytes, at).next_multiple_of(8);
    }
    bytes[at + 30] ^= 0x20;
    base.set_file_bytes(&name, &bytes).unwrap();
    let err = reopen(&base).unwrap_err();
    match &err {
        ledger_core::OpenError::Corrupt {
            segment,
            offset,
            seq,
            ..
        } => {
            assert_eq!(segment, &name);
            assert_eq!(*offset, at as u64);
            assert_eq!(*seq, Some(Seq::new(5)));
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(base.file_bytes(&name).unwrap(), bytes, "nothing changed");
    assert!(!base.list().unwrap().iter().any(|n| n.starts_with("cut-")));
}

#[test]
fn valid_looking_records_after_a_lost_page_are_cut_and_counted() {
    let st = MemStorage::new();
    let mut w = create(&st, Durability::NoSync);
    let mut receipts = append_range(&mut w, 0, 10);
    w.sync().unwrap();
    receipts.extend(append_range(&mut w, 10, 40));
    let crashed = st.crash(CrashMode::ProcessCrash).unwrap();
    drop(w);
    let name = active_name(&crashed);
    let mut bytes = crashed.file_bytes(&name).unwrap();
    let at = watermark(&bytes);
    // A power loss wrote back a later page but not the one holding record
    // 11: from record 11 to that page's end, the file holds zeros.
    let page_end = (at / 4096 + 1) * 4096;
    let mut after = 0;
    let mut o = at;
    while record_len(&bytes, o) != 0 {
        after += u64::from(o >= page_end);
        o += record_len(&bytes, o).next_multiple_of(8);
    }
    assert!(after > 0, "no record starts after the lost page");
    bytes[at..page_end].fill(0);
    crashed.set_file_bytes(&name, &bytes).unwrap();
    let w = reopen(&crashed).unwrap();
    let cut = w.recovery_report().cut.clone().expect("a cut");
    assert_eq!(cut.seq, Seq::new(11));
    assert_eq!(cut.valid_looking_records, after);
    assert!(cut.reason.contains("stray"), "{}", cut.reason);
    drop(w);
    assert_holds(&crashed, &receipts, 10);
}

#[test]
fn power_loss_with_sync_every_append_loses_nothing() {
    let st = MemStorage::new();
    let mut w = create(&st, Durability::SyncEveryAppend);
    let receipts = append_range(&mut w, 0, 150);
    assert!(w.sealed_segments() >= 1);
    let lost = st.crash(CrashMode::PowerLoss).unwrap();
    drop(w);
    let w = reopen(&lost).unwrap();
    assert_eq!(w.next_seq(), Seq::new(151));
    drop(w);
    assert_holds(&lost, &receipts, 150);
}

#[test]
fn power_loss_with_group_commit_keeps_everything_a_waiter_saw_durable() {
    let st = MemStorage::new();
    let mut w = create(
        &st,
        Durability::GroupCommit {
            interval: Duration::from_millis(1),
        },
    );
    let mut receipts = append_range(&mut w, 0, 200);
    // `Writer::wait_durable` is this wait; waited for on a thread so that a
    // group-commit thread that never flushes fails the test, not hangs it.
    let handle = w.durability_handle();
    let seq = receipts[199].seq;
    let waiter = std::thread::spawn(move || handle.wait(seq));
    join_by(waiter, deadline(), "waiting for durability").unwrap();
    let handle = w.durability_handle();
    assert!(handle.durable_seq().unwrap() >= Seq::new(200));
    receipts.extend(append_range(&mut w, 200, 210));
    let lost = st.crash(CrashMode::PowerLoss).unwrap();
    drop(w);
    let w = reopen(&lost).unwrap();
    let n = w.next_seq().get() as usize - 1;
    assert!(n >= 200, "only {n} records survived");
    drop(w);
    assert_holds(&lost, &receipts, n);
}

#[test]
fn power_loss_with_torn_pages_recovers_a_valid_prefix() {
    let mut lossy = 0;
    for seed in 1..=12u64 {
        let st = MemStorage::new();
        let mut w = create(&st, Durability::NoSync);
        let mut receipts = append_range(&mut w, 0, 100);
        w.sync().unwrap();
        receipts.extend(append_range(&mut w, 100, 400));
        let lost = st.crash(CrashMode::PowerLossTornPages { seed }).unwrap();
        drop(w);
        let w = reopen(&lost).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let n = w.next_seq().get() as usize - 1;
        assert!(n >= 100, "seed {seed}: only {n} records survived");
        lossy += usize::from(n < 400);
        drop(w);
        assert_holds(&lost, &receipts, n);
    }
    assert!(
        lossy > 0,
        "no seed lost anything: the scenario tests nothing"
    );
}

#[test]
fn a_failed_flush_poisons_the_writer_and_reopening_recovers() {
    let st = MemStorage::new();
    let mut w = create(&st, Durability::SyncEveryAppend);
    let receipts = append_range(&mut w, 0, 5);
    st.fail_flushes_after(0);
    let p = payload(5);
    let entry = ledger_core::Entry::new(kind(5), ledger_core::SchemaVersion::new(1), &p);
    let err = w.append(&entry).unwrap_err();
    assert!(matches!(err, AppendError::Poisoned { .. }), "{err}");
    assert!(err.to_string().contains("injected"), "{err}");
    st.clear_faults();
    // Never retried as if nothing happened: the writer stays stopped.
    let err = w.append(&entry).unwrap_err();
    assert!(matches!(err, AppendError::Poisoned { .. }), "{err}");
    assert!(matches!(w.sync(), Err(AppendError::Poisoned { .. })));
    let lost = st.crash(CrashMode::PowerLoss).unwrap();
    drop(w);
    let w = reopen(&lost).unwrap();
    assert_eq!(
        w.next_seq(),
        Seq::new(6),
        "the unflushed record is gone, the rest is there"
    );
    drop(w);
    assert_holds(&lost, &receipts, 5);
}

#[test]
fn an_interrupted_seal_is_completed_on_open() {
    let st = MemStorage::new();
    let mut w = create(&st, Durability::NoSync);
    let mut receipts = Vec::new();
    st.fail_flushes_after(0);
    let mut i = 0;
    let err = loop {
        // 16 KiB segments seal every ~70 records: the first seal fails.
        assert!(i < 10_000, "no append failed after {i} records");
        let p = payload(i);
        match w.append(&ledger_core::Entry::new(
            kind(i),
            ledger_core::SchemaVersion::new(1),
            &p,
        )) {
            Ok(r) => receipts.push(r),
            Err(e) => break e,
        }
        i += 1;
    };
    assert!(matches!(err, AppendError::Poisoned { .. }), "{err}");
    let crashed = st.crash(CrashMode::ProcessCrash).unwrap();
    drop(w);
    let w = reopen(&crashed).unwrap();
    let report = w.recovery_report().clone();
    // The sealer failed on the first full segment; the writer may have
    // filled more before it saw the failure: every one is sealed now.
    assert!(!report.completed_seals.is_empty(), "{report:?}");
    // The writer started the next segment before handing the full one to
    // the sealer: recovery continues it.
    assert!(!report.started_segment, "{report:?}");
    assert_eq!(w.next_seq().get() as usize, receipts.len() + 1);
    assert_eq!(w.sealed_segments(), report.completed_seals.len() as u64);
    drop(w);
    assert_holds(&crashed, &receipts, receipts.len());
}

#[test]
fn a_missing_segment_or_a_wrong_content_address_refuses_to_open() {
    let st = MemStorage::new();
    let mut w = create(&st, Durability::NoSync);
    let _ = append_range(&mut w, 0, 300);
    drop(w);
    let sealed = mem_sealed(&st);
    assert!(sealed.len() >= 3);

    let gap = st.crash(CrashMode::ProcessCrash).unwrap();
    gap.remove(&sealed[1]).unwrap();
    let err = reopen(&gap).unwrap_err();
    assert!(
        matches!(err, ledger_core::OpenError::MissingSegment { ordinal, .. } if ordinal.get() == 1),
        "{err}"
    );

    let bad = st.crash(CrashMode::ProcessCrash).unwrap();
    let last = sealed.last().unwrap();
    let mut bytes = bad.file_bytes(last).unwrap();
    bytes[5000] ^= 1;
    bad.set_file_bytes(last, &bytes).unwrap();
    let err = reopen(&bad).unwrap_err();
    assert!(
        matches!(err, ledger_core::OpenError::ContentAddress { ref segment, .. } if segment == last),
        "{err}"
    );
    assert_eq!(bad.file_bytes(last).unwrap(), bytes, "nothing changed");
}

/// An active segment cut short by something outside the ledger is given
/// just room for its footer; when it holds no record and the next record
/// does not fit, it is replaced by a full-size segment, never sealed empty.
#[test]
fn a_short_empty_active_segment_is_replaced_not_sealed_empty() {
    let st = MemStorage::new();
    create(&st, Durability::NoSync).close().unwrap();
    let name = active_name(&st);
    let bytes = st.file_bytes(&name).unwrap();
    st.set_file_bytes(&name, &bytes[..4096]).unwrap();
    let mut w = reopen(&st).unwrap();
    assert_eq!(
        st.file_bytes(&name).unwrap().len(),
        8192,
        "room for the footer"
    );
    // A reader following the tail, attached to the short file.
    let reader = Reader::with_storage(Arc::new(st.clone())).unwrap();
    let mut tail = reader.cursor().unwrap();
    assert!(tail.next_record().unwrap().is_none());
    let big = vec![7u8; 5000];
    let r = w
        .append(&ledger_core::Entry::new(
            kind(0),
            ledger_core::SchemaVersion::new(1),
            &big,
        ))
        .unwrap();
    assert_eq!(r.seq, Seq::new(1));
    assert_eq!(w.sealed_segments(), 0, "nothing was sealed");
    assert_eq!(
        st.file_bytes(&name).unwrap().len(),
        16 << 10,
        "full size again"
    );
    // The reader notices the replacement and reads the record.
    let rec = tail
        .next_record()
        .unwrap()
        .expect("the reader follows the new file");
    assert_eq!((rec.seq, rec.chain_hash), (r.seq, r.chain_hash));
    w.close().unwrap();
    let w = reopen(&st).unwrap();
    assert_eq!(w.next_seq(), Seq::new(2));
    drop(w);
    let report = verify(Arc::new(st.clone()), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
}
