//! `ledger repair --truncate-after` rebuilds the cut segment as an active
//! segment. It filled the rebuilt file with zeros up to the capacity the
//! segment's header claims, which anyone who edits the header (its CRC
//! recomputed) can set to anything: a forged capacity of 1 TiB made repair
//! try to allocate 1 TiB (or make a sparse file the writer then refuses to
//! map). The rebuilt file is now never longer than the file it replaces,
//! and a capacity beyond the largest segment the format allows is refused
//! with an error naming the segment, before anything is changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use ledger_core::segment::header::{SegmentHeader, WATERMARK_AT};
use ledger_core::MAX_SEGMENT_SIZE;
use ledger_core::{Durability, Entry, Kind, SchemaVersion, Writer, WriterOptions};

/// A demo ledger (64 KiB segments) whose active segment's third record
/// has a flipped byte (damage below the watermark) and whose header claims
/// `capacity` (CRC recomputed); the active segment's path and length.
fn damaged(capacity: u64) -> (tempfile::TempDir, PathBuf, PathBuf, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 1000);
    let active = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "active"))
        .unwrap();
    let mut bytes = fs::read(&active).unwrap();
    let len = bytes.len() as u64;
    // The third record of the segment.
    let mut at = 4096;
    for _ in 0..2 {
        let word = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        assert!(word > 0, "the active segment holds three records");
        at += word.next_multiple_of(8);
    }
    assert_ne!(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()), 0);
    bytes[at + 30] ^= 1;
    let mut header = SegmentHeader::decode(&bytes).unwrap();
    header.capacity = capacity;
    bytes[..WATERMARK_AT].copy_from_slice(&header.encode()[..WATERMARK_AT]);
    fs::write(&active, &bytes).unwrap();
    (tmp, dir, active, len)
}

fn head(dir: &Path) -> u64 {
    let run = on(dir, &["verify", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    json(&run)["head"]["seq"].as_u64().unwrap()
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = files_under(dir)
        .into_iter()
        .map(|p| {
            let b = fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_forged_capacity_beyond_the_format_is_refused_and_nothing_changes() {
    let forged = 1u64 << 40;
    assert!(forged > MAX_SEGMENT_SIZE);
    let (_tmp, dir, active, _) = damaged(forged);
    let head = head(&dir);
    let name = file_name(&active);
    let before = snapshot(&dir);

    // The report says a cut is not possible, and why.
    let run = on(&dir, &["repair"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "is not possible");
    assert_contains(&run.stdout, &name);
    assert_contains(&run.stdout, &format!("capacity of {forged} bytes"));

    // The cut is refused before anything is made or moved.
    let run = on(&dir, &["repair", "--truncate-after", &head.to_string()]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &name);
    assert_contains(&run.stderr, &format!("capacity of {forged} bytes"));
    assert_eq!(snapshot(&dir), before, "the refused repair changed nothing");
    assert!(
        !fs::read_dir(&dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("repair-")),
        "no repair folder was made"
    );
}

#[test]
fn a_forged_capacity_within_the_format_rebuilds_no_larger_than_the_file() {
    // Larger than the file (64 KiB), within what a segment may be.
    let forged = 3u64 << 30;
    assert!(forged <= MAX_SEGMENT_SIZE);
    let (_tmp, dir, active, len) = damaged(forged);
    let head = head(&dir);
    let run = ok(on(&dir, &["repair", "--truncate-after", &head.to_string()]));
    assert_contains(&run.stdout, ": intact");
    let rebuilt = fs::metadata(&active).unwrap();
    assert!(rebuilt.is_file());
    assert_eq!(rebuilt.len(), len, "the rebuilt segment is the file's size");

    // The writer opens it and appends past it: the short segment is sealed
    // when full, and the next one has the writer's size.
    let opts = WriterOptions::default()
        .segment_size(64 << 10)
        .durability(Durability::NoSync);
    let mut w = Writer::open(&dir, opts).unwrap();
    assert_eq!(w.next_seq().get(), head + 1);
    let sealed_before = w.sealed_segments();
    let payload = vec![7u8; 1000];
    for _ in 0..200 {
        let _receipt = w
            .append(&Entry::new(Kind::new(1), SchemaVersion::new(1), &payload))
            .unwrap();
    }
    assert!(w.sealed_segments() > sealed_before, "the segment rotated");
    w.close().unwrap();
    let run = ok(on(&dir, &["verify"]));
    assert_contains(&run.stdout, "intact");
}
