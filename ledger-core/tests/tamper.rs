//! Tampering: any single flipped byte of a sealed segment is detected and
//! located; a rewrite that recomputes the whole chain is caught by a signed
//! checkpoint; so is a rollback below it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use ledger_core::generate_key;
use ledger_core::{verify_dir, FindingKind, VerifyOptions};
use ledger_core::{Checkpoint, Durability, Entry, MetaDefect, Reader, Writer};

fn build(dir: &Path, n: u64) -> Vec<ledger_core::Receipt> {
    let mut w = Writer::create(dir, small(Durability::NoSync)).unwrap();
    let r = append_range(&mut w, 0, n);
    w.close().unwrap();
    r
}

/// Offsets of the records in a sealed segment's bytes.
fn record_offsets(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut at = 4096;
    loop {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if len == u32::MAX {
            return v;
        }
        v.push((at, len as usize));
        at += (len as usize).next_multiple_of(8);
    }
}

#[test]
fn every_sampled_single_byte_flip_in_a_sealed_segment_is_detected_and_located() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 200);
    let sealed = sealed_files(dir.path());
    let name = &sealed[1];
    let path = dir.path().join(name);
    let original = std::fs::read(&path).unwrap();
    let records = record_offsets(&original);
    let footer = original.len() - 104;

    let mut positions: Vec<usize> = (0..160).collect(); // header fields, CRC, watermark
    positions.extend((160..4096).step_by(397)); // reserved zeros of the header page
    positions.extend((4096..footer).step_by(13)); // records and padding
    positions.extend(footer..original.len()); // every footer byte
    for &pos in &positions {
        let mut bytes = original.clone();
        bytes[pos] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
        assert!(!report.is_intact(), "flip at {pos} undetected");
        let mine: Vec<_> = report
            .findings
            .iter()
            .filter(|f| &f.segment == name)
            .collect();
        assert!(
            mine.iter().any(|f| f.kind == FindingKind::ContentAddress),
            "flip at {pos}: no content-address finding"
        );
        let located = mine.iter().any(|f| {
            let Some(off) = f.offset.map(|o| o as usize) else {
                return false;
            };
            match f.kind {
                FindingKind::Header => pos < 4096,
                FindingKind::Footer => pos >= footer,
                FindingKind::Crc | FindingKind::StrayBytes | FindingKind::ChainHash => records
                    .iter()
                    .any(|&(at, len)| at == off && pos >= at && pos < at + len.next_multiple_of(8)),
                _ => false,
            }
        });
        assert!(located, "flip at {pos} not located: {mine:?}");
    }
    std::fs::write(&path, &original).unwrap();
    assert!(verify_dir(dir.path(), &VerifyOptions::default())
        .unwrap()
        .is_intact());
}

#[test]
fn a_missing_middle_segment_and_a_broken_link_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 300);
    let sealed = sealed_files(dir.path());
    std::fs::remove_file(dir.path().join(&sealed[2])).unwrap();
    let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
    let kinds: Vec<_> = report.findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FindingKind::MissingSegment), "{kinds:?}");
    assert!(kinds.contains(&FindingKind::Link), "{kinds:?}");
    let missing = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::MissingSegment)
        .unwrap();
    assert_eq!(
        missing.segment, sealed[3],
        "named by the segment after the gap"
    );
}

/// What an attacker with write access does: rewrite one record and
/// recompute every later chain hash and content address.
fn rewrite_whole_chain(src: &Path, dst: &Path, changed_seq: u64) {
    std::fs::create_dir(dst).unwrap();
    std::fs::copy(src.join("LEDGER"), dst.join("LEDGER")).unwrap();
    let records: Vec<_> = Reader::open(src)
        .unwrap()
        .cursor()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut w = Writer::open(dst, small(Durability::NoSync)).unwrap();
    for r in &records {
        let mut p = r.payload.clone();
        if r.seq.get() == changed_seq {
            p[0] ^= 0xff;
        }
        let _ = w
            .append(&Entry::new(r.kind, r.version, &p).at(r.timestamp))
            .unwrap();
    }
    w.close().unwrap();
}

#[test]
fn a_whole_chain_rewrite_passes_the_chain_but_not_a_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let honest = root.path().join("honest");
    let receipts = build(&honest, 250);
    let key = generate_key().unwrap();
    let report = verify_dir(&honest, &VerifyOptions::default()).unwrap();
    let cp = Checkpoint::sign(report.ledger_id.unwrap(), &report.head.unwrap(), &key);
    assert_eq!(cp.chain_hash, receipts[249].chain_hash);
    let cp = Checkpoint::from_text(&cp.to_text()).unwrap();

    let with_cp = VerifyOptions {
        checkpoint: Some(cp.clone()),
        ..Default::default()
    };
    let ok = verify_dir(&honest, &with_cp).unwrap();
    assert!(ok.is_intact(), "{:?}", ok.findings);
    assert_eq!(ok.checkpoint_ok, Some(true));

    let forged = root.path().join("forged");
    rewrite_whole_chain(&honest, &forged, 17);
    let plain = verify_dir(&forged, &VerifyOptions::default()).unwrap();
    assert!(plain.is_intact(), "a recomputed chain is self-consistent");
    let caught = verify_dir(&forged, &with_cp).unwrap();
    assert!(!caught.is_intact());
    assert_eq!(caught.checkpoint_ok, Some(false));
    let f = caught
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Checkpoint)
        .unwrap();
    assert!(f.detail.contains("rewritten"), "{f}");
}

#[test]
fn a_rollback_below_a_checkpoint_and_a_forged_signature_are_reported() {
    let root = tempfile::tempdir().unwrap();
    let early = root.path().join("early");
    build(&early, 100);
    // The same ledger, grown further: copy, then append more.
    let later = root.path().join("later");
    std::fs::create_dir(&later).unwrap();
    for e in std::fs::read_dir(&early).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), later.join(e.file_name())).unwrap();
    }
    let mut w = Writer::open(&later, small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, 100, 180);
    let head = w.head().unwrap();
    let id = w.ledger_id();
    w.close().unwrap();
    let key = generate_key().unwrap();
    let cp = Checkpoint::sign(id, &head, &key);
    let opts = VerifyOptions {
        checkpoint: Some(cp.clone()),
        ..Default::default()
    };
    assert!(verify_dir(&later, &opts).unwrap().is_intact());
    // The early copy is a valid ledger, but rolled back below the checkpoint.
    let rolled = verify_dir(&early, &opts).unwrap();
    assert!(!rolled.is_intact());
    let f = rolled
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Checkpoint)
        .unwrap();
    assert!(f.detail.contains("does not hold"), "{f}");

    let mut forged = cp;
    forged.seq = ledger_core::Seq::new(50);
    let report = verify_dir(
        &later,
        &VerifyOptions {
            checkpoint: Some(forged),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::Checkpoint && f.detail.contains("signature")));
}

#[test]
fn after_damage_the_head_is_the_last_record_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = build(dir.path(), 300);
    let sealed = sealed_files(dir.path());
    let path = dir.path().join(&sealed[1]);
    let mut bytes = std::fs::read(&path).unwrap();
    let records = record_offsets(&bytes);
    let (at, _) = records[3];
    bytes[at + 30] ^= 0x01; // inside the fourth record's payload
    std::fs::write(&path, &bytes).unwrap();
    // The content address no longer holds: none of the segment's records
    // is vouched for, the head is the last record of segment 0.
    let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
    let first_of_segment = record_offsets(&bytes)[0];
    let first_seq = u64::from_le_bytes(bytes[first_of_segment.0 + 8..][..8].try_into().unwrap());
    assert_eq!(report.head.unwrap().seq.get(), first_seq - 1);
    // Renamed to its new content address (an insider recomputing it): the
    // head is the last record before the damaged one.
    let renamed = format!(
        "{}-{}.seg",
        &sealed[1][..10],
        ledger_core::ContentHash::of(&bytes).to_hex()
    );
    std::fs::rename(&path, dir.path().join(renamed)).unwrap();
    let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
    let crc = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Crc)
        .expect("a CRC finding");
    let bad_seq = crc.seq.unwrap();
    let head = report.head.unwrap();
    assert_eq!(head.seq.get(), bad_seq.get() - 1);
    assert_eq!(
        head.chain_hash,
        receipts[head.seq.get() as usize - 1].chain_hash
    );
    // The damaged record is the one finding: the record after it is intact.
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
}

#[test]
fn a_checkpoint_must_be_signed_by_the_trusted_key() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 50);
    let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
    let forger = generate_key().unwrap();
    let auditor = generate_key().unwrap();
    let cp = Checkpoint::sign(report.ledger_id.unwrap(), &report.head.unwrap(), &forger);
    let self_consistent = VerifyOptions {
        checkpoint: Some(cp.clone()),
        ..Default::default()
    };
    assert!(verify_dir(dir.path(), &self_consistent)
        .unwrap()
        .is_intact());
    let trusted = VerifyOptions {
        checkpoint: Some(cp),
        trusted_key: Some(auditor.verifying_key()),
        ..Default::default()
    };
    let r = verify_dir(dir.path(), &trusted).unwrap();
    assert!(!r.is_intact());
    assert!(r.findings.iter().any(|f| f.detail.contains("another key")));
}

#[test]
fn durable_records_zeroed_in_the_active_segment_are_damage() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 30); // closed: everything is durable
    let path = dir.path().join(active_file(dir.path()));
    let mut bytes = std::fs::read(&path).unwrap();
    let records = record_offsets_active(&bytes);
    let (at, _) = *records.last().unwrap();
    bytes[at..].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.is_intact());
    let f = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Truncated)
        .expect("a truncation finding");
    assert_eq!(f.offset, Some(at as u64));
    // Opening refuses too, and changes nothing.
    let err = Writer::open(dir.path(), small(Durability::NoSync)).unwrap_err();
    assert!(
        matches!(err, ledger_core::OpenError::Corrupt { .. }),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

/// Offsets of the records in an active segment's bytes.
fn record_offsets_active(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut at = 4096;
    loop {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if len == 0 {
            return v;
        }
        v.push((at, len as usize));
        at += (len as usize).next_multiple_of(8);
    }
}

#[test]
fn a_damaged_identity_file_is_refused_naming_the_defect() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3);
    let meta = dir.path().join("LEDGER");
    let mut bytes = std::fs::read(&meta).unwrap();
    bytes[20] ^= 1; // in the ledger id, behind the CRC
    std::fs::write(&meta, &bytes).unwrap();
    let err = Writer::open(dir.path(), small(Durability::NoSync)).unwrap_err();
    assert!(
        matches!(
            &err,
            ledger_core::OpenError::BadMeta {
                defect: MetaDefect::Crc { .. },
                path,
            } if path.ends_with("LEDGER")
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("CRC mismatch at offset 40"),
        "{err}"
    );
    let source = std::error::Error::source(&err).expect("the defect as the source");
    assert!(source.downcast_ref::<MetaDefect>().is_some());
}
