//! `SyncEveryAppend` makes each append durable with one flush of the device
//! (the header's watermark travels with the records, one flush behind), and
//! a power loss after any acknowledged append keeps every record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{append_range, chain_records, kind, payload, small};
use ledger_core::storage::{CrashMode, IoOp, MemStorage, Storage};
use ledger_core::{
    verify, Durability, Entry, OpenMode, Reader, Receipt, SchemaVersion, VerifyOptions, Writer,
    WriterOptions,
};

fn open(st: &MemStorage, opts: WriterOptions) -> Writer {
    Writer::open_storage(Arc::new(st.clone()), OpenMode::OpenOrCreate, opts).unwrap()
}

fn flushes(st: &MemStorage, from: usize) -> usize {
    st.step_log()[from..]
        .iter()
        .filter(|(op, _)| *op == IoOp::Flush)
        .count()
}

fn watermark(st: &MemStorage) -> usize {
    let name = st
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".active"))
        .unwrap();
    let b = st.file_bytes(&name).unwrap();
    u64::from_le_bytes(b[128..136].try_into().unwrap()) as usize
}

/// Every record of `receipts` is in `st`, byte for byte, and it verifies.
fn assert_holds(st: &MemStorage, receipts: &[Receipt]) {
    let records = chain_records(Reader::with_storage(Arc::new(st.clone())).unwrap());
    assert_eq!(records.len(), receipts.len(), "record count");
    for (r, rc) in records.iter().zip(receipts) {
        assert_eq!((r.seq, r.chain_hash), (rc.seq, rc.chain_hash));
        assert_eq!(r.payload, payload(r.seq.get() - 1));
    }
    let report = verify(Arc::new(st.clone()), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
}

#[test]
fn a_synced_append_is_one_flush_and_a_batch_is_one_flush() {
    let st = MemStorage::new();
    // Large segments: no rotation (a seal flushes on its own) in this test.
    let opts = small(Durability::SyncEveryAppend)
        .segment_size(1 << 20)
        .preallocate(false);
    let mut w = open(&st, opts);
    let mut receipts = Vec::new();
    for i in 0..50 {
        let before = st.step_log().len();
        receipts.extend(append_range(&mut w, i, i + 1));
        assert_eq!(flushes(&st, before), 1, "append {i}: one flush");
        assert_eq!(st.step_log().len() - before, 1, "append {i}: no other I/O");
    }
    let before = st.step_log().len();
    let p: Vec<Vec<u8>> = (50..60).map(payload).collect();
    let entries: Vec<Entry<'_>> = (50..60)
        .zip(&p)
        .map(|(i, p)| Entry::new(kind(i), SchemaVersion::new(1), p))
        .collect();
    receipts.extend(w.append_batch(&entries).unwrap());
    assert_eq!(flushes(&st, before), 1, "a batch: one flush");
    assert_eq!(w.sealed_segments(), 0, "no rotation");
    // The watermark on the medium lags one flush: it covers every record
    // but the batch, and an explicit sync catches it up.
    let power_loss = st.crash(CrashMode::PowerLoss).unwrap();
    let lagging = watermark(&power_loss);
    assert!(lagging > 4096, "the watermark moved");
    w.sync().unwrap();
    assert!(watermark(&st.crash(CrashMode::PowerLoss).unwrap()) > lagging);
    drop(w);
    assert_holds(&st, &receipts);
}

#[test]
fn a_power_loss_after_any_synced_append_keeps_every_acknowledged_record() {
    let st = MemStorage::new();
    // Small segments: the appends cross several rotations.
    let mut w = open(&st, small(Durability::SyncEveryAppend).preallocate(false));
    let mut receipts = Vec::new();
    for i in 0..150 {
        receipts.extend(append_range(&mut w, i, i + 1));
        if i % 7 != 0 {
            continue;
        }
        for mode in [
            CrashMode::PowerLoss,
            CrashMode::PowerLossTornPages { seed: i + 1 },
        ] {
            let image = st.crash(mode).unwrap();
            let reopened = open(&image, small(Durability::SyncEveryAppend));
            assert!(
                reopened.recovery_report().cut.is_none(),
                "{mode:?} after append {i}: nothing acknowledged is cut"
            );
            assert_eq!(reopened.next_seq().get(), i + 2, "{mode:?} after {i}");
            drop(reopened);
            assert_holds(&image, &receipts);
        }
    }
    assert!(w.sealed_segments() >= 2, "rotations were crossed");
}
