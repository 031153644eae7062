//! An insider lowers the active segment's durable watermark over records
//! that were durable, then damages the first of them, hoping that
//! verification calls it a torn tail and the next open cuts every durable
//! record after it. Whole records after an invalid one are what a crash
//! cannot leave unless lost sectors (zeros) account for every record in
//! between (`docs/FORMAT.md`, "Torn tail or damage"): each edit below is
//! damage, the open refuses naming the segment, offset and sequence and the
//! way out, and not a byte changes. An honest torn tail is still cut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ledger_core::segment::walk::SECTOR;
use ledger_core::{verify_dir, Durability, FindingKind, OpenError, Seq, VerifyOptions};
use ledger_core::{Writer, WriterOptions};

/// Records in the test ledger: all in its active segment.
const RECORDS: u64 = 80;
/// How many durable records the attack tries to cut (as in the report).
const CUT: usize = 41;

struct Ledger {
    _dir: tempfile::TempDir,
    root: PathBuf,
    active: PathBuf,
    bytes: Vec<u8>,
    /// (offset, length word) of every record.
    records: Vec<(usize, usize)>,
}

fn opts() -> WriterOptions {
    WriterOptions::default()
        .segment_size(1 << 20)
        .durability(Durability::NoSync)
}

fn ledger() -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ledger");
    let mut w = Writer::create(&root, opts()).unwrap();
    append_range(&mut w, 0, RECORDS);
    w.close().unwrap();
    assert!(sealed_files(&root).is_empty(), "one active segment");
    let active = root.join(active_file(&root));
    let bytes = std::fs::read(&active).unwrap();
    let mut records = Vec::new();
    let mut at = 4096;
    loop {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        records.push((at, len));
        at += len.next_multiple_of(8);
    }
    assert_eq!(records.len() as u64, RECORDS);
    assert_eq!(watermark(&bytes), at, "all records durable");
    Ledger {
        _dir: dir,
        root,
        active,
        bytes,
        records,
    }
}

fn watermark(b: &[u8]) -> usize {
    u64::from_le_bytes(b[128..136].try_into().unwrap()) as usize
}

fn set_watermark(b: &mut [u8], to: usize) {
    b[128..136].copy_from_slice(&(to as u64).to_le_bytes());
    b[136..144].copy_from_slice(&(!(to as u64)).to_le_bytes());
}

fn folder(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Writes `edited` as the active segment, then asserts that verification
/// reports damage of `kind` at `offset` (sequence `seq`) and that opening
/// for appends refuses, naming it, without changing a byte.
#[track_caller]
fn assert_refused(l: &Ledger, edited: &[u8], kind: FindingKind, offset: usize, seq: u64) {
    std::fs::write(&l.active, edited).unwrap();
    let before = folder(&l.root);
    let report = verify_dir(&l.root, &VerifyOptions::default()).unwrap();
    assert!(!report.is_intact(), "{:?}", report.findings);
    let f = report
        .findings
        .iter()
        .find(|f| f.kind.is_damage())
        .expect("a damage finding");
    assert_eq!(
        (f.kind, f.offset, f.seq),
        (kind, Some(offset as u64), Some(Seq::new(seq))),
        "{f}"
    );
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::TornTail),
        "{:?}",
        report.findings
    );
    let err = Writer::open(&l.root, opts()).map(|_| ()).unwrap_err();
    match &err {
        OpenError::Corrupt {
            segment,
            offset: o,
            seq: s,
            ..
        } => {
            assert_eq!(segment, &file_name(&l.active));
            assert_eq!((*o, *s), (offset as u64, Some(Seq::new(seq))), "{err}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&file_name(&l.active)), "{msg}");
    assert!(msg.contains(&format!("offset {offset}")), "{msg}");
    assert!(msg.contains(&format!("sequence {seq}")), "{msg}");
    if kind != FindingKind::ChainHash && kind != FindingKind::SequenceGap {
        assert!(msg.contains("ledger repair"), "{msg}");
    }
    assert!(
        before == folder(&l.root),
        "the refused open changed the folder"
    );
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_owned()
}

/// The report's attack: the watermark lowered to a durable record, one
/// byte of it flipped. Before the fix: "intact, 1 torn tail", and the next
/// open cut 41 durable records.
#[test]
fn a_lowered_watermark_and_one_flipped_byte_is_damage_and_nothing_is_cut() {
    let l = ledger();
    let k = l.records.len() - CUT;
    let (at, _) = l.records[k];
    let mut b = l.bytes.clone();
    set_watermark(&mut b, at);
    b[at + 30] ^= 1;
    assert_refused(&l, &b, FindingKind::Crc, at, k as u64 + 1);
    // Put back, the ledger opens with every record.
    std::fs::write(&l.active, &l.bytes).unwrap();
    let w = Writer::open(&l.root, opts()).unwrap();
    assert_eq!(w.next_seq(), Seq::new(RECORDS + 1));
    assert!(w.recovery_report().is_clean());
}

/// Other ways to make the first record past a lowered watermark invalid.
#[test]
fn other_edits_past_a_lowered_watermark_are_damage_too() {
    let l = ledger();
    // A record whose sector also holds the start of the next one (a record
    // ending in the next sector may have lost its length word to a crash).
    let k = (l.records.len() - CUT..l.records.len() - 1)
        .find(|&k| l.records[k + 1].0 < (l.records[k].0 / SECTOR + 1) * SECTOR)
        .unwrap();
    let (at, len) = l.records[k];
    let seq = k as u64 + 1;
    let lowered = |b: &mut Vec<u8>| set_watermark(b, at);

    // Its length word changed.
    let mut b = l.bytes.clone();
    lowered(&mut b);
    b[at] = b[at].wrapping_add(8);
    assert_refused(&l, &b, FindingKind::Crc, at, seq);

    // Its length word zeroed: an empty slot with whole records after it
    // in the same sector.
    let mut b = l.bytes.clone();
    lowered(&mut b);
    b[at..at + 4].fill(0);
    assert_refused(&l, &b, FindingKind::Truncated, at, seq);

    // The whole record zeroed.
    let mut b = l.bytes.clone();
    lowered(&mut b);
    b[at..at + len.next_multiple_of(8)].fill(0);
    assert_refused(&l, &b, FindingKind::Truncated, at, seq);

    // Its CRC recomputed after the edit: a whole record that does not link.
    let mut b = l.bytes.clone();
    lowered(&mut b);
    b[at + 30] ^= 1;
    let crc = crc32fast::hash(&b[at..at + len - 4]);
    b[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
    assert_refused(&l, &b, FindingKind::ChainHash, at, seq);

    // Its CRC zeroed, as a lost write would leave it in a sector that
    // holds the next record's start too.
    let mut b = l.bytes.clone();
    lowered(&mut b);
    b[at + 30] ^= 1;
    b[at + len - 4..at + len].fill(0);
    assert_refused(&l, &b, FindingKind::Crc, at, seq);

    // An earlier record of the same padded size copied over it.
    let (src, src_len) = *l.records[..k]
        .iter()
        .rev()
        .find(|(_, n)| n.next_multiple_of(8) == len.next_multiple_of(8))
        .expect("an earlier record of the same padded size");
    let mut b = l.bytes.clone();
    lowered(&mut b);
    b.copy_within(src..src + src_len, at);
    b[at + src_len..at + len.next_multiple_of(8)].fill(0);
    let copied = u64::from_le_bytes(l.bytes[src + 8..src + 16].try_into().unwrap());
    assert!(copied < seq);
    assert_refused(&l, &b, FindingKind::SequenceGap, at, copied);
}

/// A crash in the middle of an append (the last record partly written,
/// past the watermark) is still a torn tail: verification calls it one,
/// and the next open cuts it and keeps the rest.
#[test]
fn an_honest_torn_tail_is_still_cut() {
    let l = ledger();
    let (at, len) = *l.records.last().unwrap();
    for torn_from in [4, 8, 30, len / 2, len - 4] {
        let mut b = l.bytes.clone();
        set_watermark(&mut b, at);
        b[at + torn_from..at + len].fill(0);
        std::fs::write(&l.active, &b).unwrap();
        let report = verify_dir(&l.root, &VerifyOptions::default()).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        let torn = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::TornTail)
            .expect("a torn tail");
        assert_eq!(torn.offset, Some(at as u64));
        let w = Writer::open(&l.root, opts()).unwrap();
        let cut = w.recovery_report().cut.clone().expect("a cut");
        assert_eq!((cut.offset, cut.seq), (at as u64, Seq::new(RECORDS)));
        assert_eq!(w.next_seq(), Seq::new(RECORDS));
        drop(w);
        for name in folder(&l.root).iter().map(|(n, _)| n.clone()) {
            if name.starts_with("cut-") {
                std::fs::remove_file(l.root.join(name)).unwrap();
            }
        }
    }
}

/// A power loss that wrote a later sector of the records in flight but
/// not an earlier one: zeros from a record to the end of its sector, whole
/// records after it. That is a torn tail; the whole records are cut with
/// it, saved, and counted.
#[test]
fn whole_records_after_a_lost_sector_are_still_a_torn_tail() {
    let l = ledger();
    let k = l.records.len() - CUT;
    let (at, _) = l.records[k];
    let lost_to = (at / SECTOR + 1) * SECTOR;
    let after: Vec<_> = l.records.iter().filter(|(o, _)| *o >= lost_to).collect();
    assert!(!after.is_empty());
    let mut b = l.bytes.clone();
    set_watermark(&mut b, at);
    b[at..lost_to].fill(0);
    std::fs::write(&l.active, &b).unwrap();
    let report = verify_dir(&l.root, &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    let w = Writer::open(&l.root, opts()).unwrap();
    let cut = w.recovery_report().cut.clone().expect("a cut");
    assert_eq!((cut.offset, cut.seq), (at as u64, Seq::new(k as u64 + 1)));
    assert_eq!(cut.valid_looking_records, after.len() as u64);
    let saved = std::fs::read(l.root.join(&cut.saved_to)).unwrap();
    assert_eq!(saved.len() as u64, cut.bytes);
}
