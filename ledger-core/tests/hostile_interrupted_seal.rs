//! An active segment that holds a complete, matching footer (a crash
//! interrupted its seal) and whose durable watermark is not valid: a crash
//! never leaves that (the watermark's 16 bytes lie in one sector, written
//! whole), so it is damage to the header, reported beside the interrupted
//! seal. The fuzz harness once asserted that an interrupted seal comes with
//! no damage at all, and failed on this input
//! (`fuzz/corpus/segment_scan/interrupted-seal-with-invalid-watermark`);
//! the walker is right (`docs/FORMAT.md`, "The walk of one segment"): the
//! footer matches the records, so it is not an invalid slot, and the invalid
//! watermark is one `header` finding. The open must refuse (completing the
//! seal would rewrite the watermark and erase the damage) and change
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ledger_core::segment::header::WATERMARK_AT;
use ledger_core::segment::walk::{walk_segment, Expect, Role, Stop};
use ledger_core::{verify_dir, Durability, FindingKind, OpenError, VerifyOptions, Writer};

/// A ledger whose only segment is an active segment 0 holding a whole
/// footer that matches its records: sealed segment 0 renamed back to
/// `0000000000.active` and the later segment removed, as a crash between
/// truncating the sealed file and renaming it leaves it.
fn interrupted_seal() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ledger");
    let mut w = Writer::create(&root, small(Durability::NoSync)).unwrap();
    append_range(&mut w, 0, 100);
    w.close().unwrap();
    let sealed = sealed_files(&root);
    assert!(!sealed.is_empty(), "segment 0 sealed");
    for name in sealed.iter().skip(1) {
        std::fs::remove_file(root.join(name)).unwrap();
    }
    std::fs::remove_file(root.join(active_file(&root))).unwrap();
    let active = root.join("0000000000.active");
    std::fs::rename(root.join(&sealed[0]), &active).unwrap();
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".idx") || name.ends_with(".prealloc") {
            std::fs::remove_file(root.join(name)).unwrap();
        }
    }
    (dir, root, active)
}

fn folder(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_honest_interrupted_seal_is_a_notice() {
    let (_dir, root, _) = interrupted_seal();
    let report = verify_dir(&root, &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::InterruptedSeal),
        "{:?}",
        report.findings
    );
}

#[test]
fn an_interrupted_seal_with_an_invalid_watermark_is_damage_and_the_open_changes_nothing() {
    let (_dir, root, active) = interrupted_seal();
    let mut bytes = std::fs::read(&active).unwrap();
    // The complement no longer matches: the watermark is not valid.
    bytes[WATERMARK_AT + 8] ^= 1;
    std::fs::write(&active, &bytes).unwrap();

    // The walker: the footer still ends the records (a seal), and the
    // watermark is one header finding, segment-wide.
    let expect = Expect {
        role: Role::Active,
        ordinal: None,
        ledger: None,
        check_chain: true,
    };
    let walk = walk_segment("0000000000.active", &bytes, &expect, |_, _| {});
    assert!(walk.watermark.is_err());
    assert!(
        matches!(walk.stop, Stop::InterruptedSeal { .. }),
        "{:?}",
        walk.stop
    );
    let damage: Vec<_> = walk
        .findings
        .iter()
        .filter(|f| f.kind.is_damage())
        .collect();
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(
        (damage[0].kind, damage[0].offset),
        (FindingKind::Header, Some(WATERMARK_AT as u64))
    );
    assert_eq!(walk.head_limit(), Some(0), "no record of it is vouched for");

    // Verification: damaged, the header named, no head in that segment.
    let report = verify_dir(&root, &VerifyOptions::default()).unwrap();
    assert!(!report.is_intact(), "{:?}", report.findings);
    let f = report.findings.iter().find(|f| f.kind.is_damage()).unwrap();
    assert_eq!(
        (f.kind, f.segment.as_str(), f.offset),
        (
            FindingKind::Header,
            "0000000000.active",
            Some(WATERMARK_AT as u64)
        ),
        "{f}"
    );
    assert!(report.head.is_none(), "{:?}", report.head);

    // The open refuses rather than complete the seal (which would rewrite
    // the watermark and hide the damage), and changes nothing.
    let before = folder(&root);
    let err = Writer::open(&root, small(Durability::NoSync))
        .map(|_| ())
        .unwrap_err();
    match &err {
        OpenError::Corrupt {
            segment, offset, ..
        } => {
            assert_eq!(segment, "0000000000.active", "{err}");
            assert_eq!(*offset, WATERMARK_AT as u64, "{err}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert!(err.to_string().contains("watermark"), "{err}");
    assert!(
        before == folder(&root),
        "the refused open changed the folder"
    );
}
