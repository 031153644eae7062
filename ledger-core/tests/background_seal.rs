//! Background sealing: the state "full, not yet sealed" as every reader of
//! the folder meets it, recovery from each way a crash can leave it, and the
//! bounded backlog of a writer that outruns its sealer.
//!
//! The folders are made by a real writer whose sealer is held at a chosen
//! I/O step (the in-memory storage holds every operation of one kind), then
//! copied as a crash would leave them and, for the power-loss cases, edited
//! the way a lost write leaves the bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{kind, payload, small};
use ledger_core::segment::footer::FOOTER_LEN;
use ledger_core::segment::header::{encode_watermark, HEADER_LEN, WATERMARK_AT};
use ledger_core::storage::{CrashMode, IoOp, MemStorage, Storage};
use ledger_core::{
    verify, Durability, Entry, FindingKind, OpenError, OpenMode, Reader, Receipt, SchemaVersion,
    VerifyOptions, Writer, MAX_PENDING_SEALS,
};

fn append(w: &mut Writer, i: u64) -> Receipt {
    let p = payload(i);
    w.append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
        .unwrap()
}

fn names(st: &MemStorage) -> Vec<String> {
    let mut v = st.list().unwrap();
    v.sort();
    v
}

/// Every record of `st`, read with the chain checked.
fn records(st: &MemStorage) -> Vec<ledger_core::Record> {
    Reader::with_storage(Arc::new(st.clone()))
        .unwrap()
        .cursor()
        .unwrap()
        .verify_chain(true)
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What a crash leaves while segment 0 is full, not yet sealed: its
/// records and footer are durable (the sealer holds at its folder sync, step
/// 4), and `extra + 1` records were appended to segment 1 (the first of
/// them made the writer rotate). Returns the image of
/// a process crash at that moment, the receipts, and the footer's offset
/// in segment 0.
fn full_not_sealed(extra: u64) -> (MemStorage, Vec<Receipt>, usize) {
    let st = MemStorage::new();
    let opts = small(Durability::NoSync).preallocate(false);
    let mut w = Writer::open_storage(Arc::new(st.clone()), OpenMode::Create, opts).unwrap();
    st.hold(IoOp::SyncDir);
    let mut receipts = Vec::new();
    let mut i = 0;
    while w.sealed_segments() == 0 {
        receipts.push(append(&mut w, i));
        i += 1;
    }
    for _ in 0..extra {
        receipts.push(append(&mut w, i));
        i += 1;
    }
    while st.holding() == 0 {
        std::thread::yield_now();
    }
    let image = st.crash(CrashMode::ProcessCrash).unwrap();
    st.release();
    w.close().unwrap();
    let seg0 = image.file_bytes("0000000000.active").unwrap();
    let footer_at = u64::from_le_bytes(seg0[WATERMARK_AT..WATERMARK_AT + 8].try_into().unwrap());
    (image, receipts, footer_at as usize)
}

fn edit(st: &MemStorage, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = st.file_bytes(name).unwrap();
    f(&mut bytes);
    st.set_file_bytes(name, &bytes).unwrap();
}

fn reopen(st: &MemStorage) -> Result<Writer, OpenError> {
    Writer::open_storage(
        Arc::new(st.clone()),
        OpenMode::Open,
        small(Durability::NoSync),
    )
}

#[test]
fn a_full_segment_awaiting_its_seal_is_read_verified_and_sealed_on_open() {
    let (image, receipts, _) = full_not_sealed(10);
    let files = names(&image);
    assert!(files.contains(&"0000000000.active".to_owned()), "{files:?}");
    assert!(files.contains(&"0000000001.active".to_owned()), "{files:?}");
    // Readers go through it to the next segment.
    let got = records(&image);
    assert_eq!(got.len(), receipts.len());
    for (r, rc) in got.iter().zip(&receipts) {
        assert_eq!(r.chain_hash, rc.chain_hash);
    }
    // Verification calls it what it is: not damage.
    let v = verify(Arc::new(image.clone()), &VerifyOptions::default()).unwrap();
    assert!(v.is_intact(), "{:?}", v.findings);
    assert_eq!(v.records, receipts.len() as u64);
    let f = v
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::AwaitingSeal)
        .unwrap_or_else(|| panic!("{:?}", v.findings));
    assert_eq!(f.segment, "0000000000.active");
    assert_eq!(v.head.unwrap().seq, receipts.last().unwrap().seq);
    // Opening seals it and continues the next segment with every record.
    let w = reopen(&image).unwrap();
    let report = w.recovery_report().clone();
    assert_eq!(report.completed_seals.len(), 1, "{report:?}");
    assert!(
        report.cut.is_none() && report.discarded.is_empty(),
        "{report:?}"
    );
    assert_eq!(w.next_seq(), receipts.last().unwrap().seq.next());
    w.close().unwrap();
    assert_eq!(records(&image).len(), receipts.len());
    assert!(verify(Arc::new(image), &VerifyOptions::default())
        .unwrap()
        .is_intact());
}

#[test]
fn a_full_segment_whose_footer_was_lost_is_sealed_when_the_next_segment_links() {
    let (image, receipts, footer_at) = full_not_sealed(10);
    // A power loss that kept every record but not the footer, nor the
    // raised watermark.
    edit(&image, "0000000000.active", |b| {
        b[footer_at..footer_at + FOOTER_LEN].fill(0);
        b[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(HEADER_LEN as u64));
    });
    let w = reopen(&image).unwrap();
    let report = w.recovery_report().clone();
    assert_eq!(report.completed_seals.len(), 1, "{report:?}");
    assert!(report.discarded.is_empty(), "{report:?}");
    w.close().unwrap();
    assert_eq!(records(&image).len(), receipts.len());
}

#[test]
fn a_torn_full_segment_cuts_its_tail_and_saves_the_next_segment_whole() {
    let (image, receipts, footer_at) = full_not_sealed(10);
    // Records in segment 0.
    let before = receipts.len() - 11;
    // The last record of segment 0 and its footer never reached the disk;
    // segment 1's header and records did (written back by the kernel), but
    // its watermark promises nothing.
    let seg0 = image.file_bytes("0000000000.active").unwrap();
    let mut at = HEADER_LEN;
    let mut last = at;
    while at < footer_at {
        last = at;
        let len = u32::from_le_bytes(seg0[at..at + 4].try_into().unwrap()) as usize;
        at += len.div_ceil(8) * 8;
    }
    edit(&image, "0000000000.active", |b| {
        b[last..footer_at + FOOTER_LEN].fill(0);
        b[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(HEADER_LEN as u64));
    });
    let w = reopen(&image).unwrap();
    let report = w.recovery_report().clone();
    assert!(report.completed_seals.is_empty(), "{report:?}");
    assert_eq!(report.discarded.len(), 1, "{report:?}");
    let d = &report.discarded[0];
    assert_eq!(d.segment, "0000000001.active");
    assert_eq!(d.valid_looking_records, 11, "{d:?}");
    assert!(
        image.file_bytes(&d.saved_to).is_some(),
        "saved to {}",
        d.saved_to
    );
    assert!(!names(&image).contains(&"0000000001.active".to_owned()));
    assert_eq!(w.next_seq().get() as usize, before);
    w.close().unwrap();
    // Segment 0's records but its last remain; segment 1's are in the cut file.
    assert_eq!(records(&image).len(), before - 1);
}

#[test]
fn a_torn_full_segment_before_a_promising_watermark_is_damage_and_changes_nothing() {
    let (image, _, footer_at) = full_not_sealed(10);
    edit(&image, "0000000000.active", |b| {
        b[footer_at - 8..footer_at + FOOTER_LEN].fill(0);
        b[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(HEADER_LEN as u64));
    });
    // Segment 1 claims durable records although segment 0 has no footer.
    let seg1 = image.file_bytes("0000000001.active").unwrap();
    let end = HEADER_LEN + 64;
    assert!(seg1.len() > end);
    edit(&image, "0000000001.active", |b| {
        b[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(end as u64));
    });
    let before: Vec<(String, Vec<u8>)> = names(&image)
        .into_iter()
        .map(|n| {
            let b = image.file_bytes(&n).unwrap();
            (n, b)
        })
        .collect();
    let err = reopen(&image).unwrap_err();
    match &err {
        OpenError::Corrupt { segment, .. } => assert_eq!(segment, "0000000000.active", "{err}"),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("0000000001.active"), "{err}");
    let after: Vec<(String, Vec<u8>)> = names(&image)
        .into_iter()
        .filter(|n| n != "LOCK")
        .map(|n| {
            let b = image.file_bytes(&n).unwrap();
            (n, b)
        })
        .collect();
    let before: Vec<_> = before.into_iter().filter(|(n, _)| n != "LOCK").collect();
    assert_eq!(before, after, "a refused recovery changed the folder");
}

#[test]
fn a_next_segment_whose_header_never_became_durable_is_saved_and_removed() {
    let (image, receipts, _) = full_not_sealed(0);
    edit(&image, "0000000001.active", |b| b[..HEADER_LEN].fill(0));
    let w = reopen(&image).unwrap();
    let report = w.recovery_report().clone();
    assert_eq!(report.discarded.len(), 1, "{report:?}");
    assert_eq!(report.completed_seals.len(), 1, "{report:?}");
    assert!(report.started_segment, "{report:?}");
    w.close().unwrap();
    // Segment 1's one record was never durable: it is in the cut file.
    assert_eq!(records(&image).len(), receipts.len() - 1);
}

/// A writer that outruns its sealer waits at a rotation once
/// [`MAX_PENDING_SEALS`] full segments are queued (one more being named,
/// one more made durable and waiting for the namer), and loses nothing.
#[test]
fn a_writer_that_outruns_the_sealer_waits_at_the_bound() {
    let st = MemStorage::new();
    let opts = small(Durability::NoSync).preallocate(false);
    let mut w = Writer::open_storage(Arc::new(st.clone()), OpenMode::Create, opts).unwrap();
    let handle = w.durability_handle();
    // The sealer stops at its first trim; the writer goes on.
    st.hold(IoOp::Truncate);
    let writer = std::thread::spawn(move || {
        let mut receipts = Vec::new();
        let mut i = 0;
        while w.sealed_segments() < MAX_PENDING_SEALS as u64 + 4 {
            receipts.push(append(&mut w, i));
            i += 1;
        }
        (w, receipts)
    });
    // Wait (for state, not time) until the sealer holds the first job and
    // the writer is blocked with the backlog full behind it.
    let full_backlog = MAX_PENDING_SEALS as u64 + 3;
    let status = loop {
        let s = handle.sealer_status();
        if s.writer_waiting && s.pending == full_backlog && st.holding() == 1 {
            break s;
        }
        std::thread::yield_now();
    };
    assert_eq!(status.sealed, 0);
    // Folder state meanwhile: the full segments are still `.active`.
    let full = names(&st).iter().filter(|n| n.ends_with(".active")).count();
    assert_eq!(full, MAX_PENDING_SEALS + 4, "{:?}", names(&st));
    st.release();
    let (w, receipts) = writer.join().unwrap();
    w.wait_sealed().unwrap();
    let status = handle.sealer_status();
    assert!(status.backlog_waits >= 1, "{status:?}");
    assert_eq!(status.pending, 0);
    w.close().unwrap();
    let got = records(&st);
    assert_eq!(got.len(), receipts.len());
    assert!(verify(Arc::new(st), &VerifyOptions::default())
        .unwrap()
        .is_intact());
}
