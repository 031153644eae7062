//! The tamper matrix: each rule of `docs/FORMAT.md`, "Verifying a ledger",
//! as a case that damages one field of a real ledger and states exactly what
//! verification must report: the head, the number of records walked, and
//! every finding's kind, file and offset. Two honest verifiers written from
//! the spec must agree with every row.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ledger_core::segment::footer::SegmentFooter;
use ledger_core::segment::names::SegmentName;
use ledger_core::segment::record::{parse_at, Slot};
use ledger_core::{verify_dir, FindingKind, VerifyOptions, VerifyReport};
use ledger_core::{ContentHash, Durability, Writer, WriterOptions};

/// One segment of the pristine ledger.
#[derive(Clone)]
struct Seg {
    name: String,
    bytes: Vec<u8>,
    /// (offset, sequence) of each record.
    records: Vec<(usize, u64)>,
    /// Offset after the last record.
    end: usize,
}

impl Seg {
    fn last(&self) -> u64 {
        self.records.last().unwrap().1
    }
    fn count(&self) -> u64 {
        self.records.len() as u64
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Sealed segments 0..3, then the active one.
    segs: Vec<Seg>,
}

fn read_seg(dir: &Path, name: &str) -> Seg {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    let mut records = Vec::new();
    let mut at = 4096;
    while let Ok(Slot::Record(r)) = parse_at(&bytes, at) {
        records.push((at, r.seq.get()));
        at += r.padded_len();
    }
    Seg {
        name: name.to_owned(),
        bytes,
        records,
        end: at,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ledger");
    let mut w = Writer::create(&root, small(Durability::NoSync)).unwrap();
    let mut i = 0;
    while w.sealed_segments() < 3 {
        append_range(&mut w, i, i + 1);
        i += 1;
    }
    append_range(&mut w, i, i + 6);
    w.close().unwrap();
    let mut segs: Vec<Seg> = sealed_files(&root)
        .iter()
        .map(|n| read_seg(&root, n))
        .collect();
    segs.push(read_seg(&root, &active_file(&root)));
    assert_eq!(segs.len(), 4);
    assert!(segs[3].count() >= 6);
    let wm = u64::from_le_bytes(segs[3].bytes[128..136].try_into().unwrap());
    assert_eq!(
        wm as usize, segs[3].end,
        "closing made every record durable"
    );
    Fixture {
        _dir: dir,
        root,
        segs,
    }
}

/// A finding as the matrix states it: kind, segment index (or `None` for
/// the identity file), offset.
type Expected = (FindingKind, Option<usize>, Option<u64>);

/// How a case changes a file's bytes.
type Change = Box<dyn Fn(&mut Vec<u8>, &Seg)>;

struct Case {
    what: &'static str,
    /// Which segment to change (`None`: the `LEDGER` file).
    target: Option<usize>,
    change: Change,
    /// Rename a changed sealed segment to its new content address (an
    /// insider who recomputes it), so only the structural finding remains.
    rename: bool,
    /// The head's sequence: a function of the pristine segments.
    head: fn(&[Seg]) -> Option<u64>,
    /// Records walked.
    records: fn(&[Seg]) -> u64,
    /// Every finding, in report order.
    findings: fn(&[Seg]) -> Vec<Expected>,
}

fn flip(at: usize) -> impl Fn(&mut Vec<u8>) {
    move |b: &mut Vec<u8>| b[at] ^= 0x10
}

fn fix_header_crc(b: &mut [u8]) {
    let crc = crc32fast::hash(&b[..96]);
    b[96..100].copy_from_slice(&crc.to_le_bytes());
}

fn fix_footer_crc(b: &mut [u8]) {
    let at = b.len() - 104;
    let crc = crc32fast::hash(&b[at..at + 88]);
    b[at + 88..at + 92].copy_from_slice(&crc.to_le_bytes());
}

fn all(s: &[Seg]) -> u64 {
    s.iter().map(Seg::count).sum()
}

/// Runs a case on a fresh copy of the fixture.
fn run(fx: &Fixture, case: &Case) -> (VerifyReport, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("copy");
    std::fs::create_dir(&root).unwrap();
    for e in std::fs::read_dir(&fx.root).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), root.join(e.file_name())).unwrap();
    }
    let mut names: Vec<String> = fx.segs.iter().map(|s| s.name.clone()).collect();
    match case.target {
        None => {
            let mut b = std::fs::read(root.join("LEDGER")).unwrap();
            (case.change)(&mut b, &fx.segs[0]);
            std::fs::write(root.join("LEDGER"), b).unwrap();
        }
        Some(i) => {
            let seg = &fx.segs[i];
            let mut b = seg.bytes.clone();
            (case.change)(&mut b, seg);
            std::fs::write(root.join(&seg.name), &b).unwrap();
            if case.rename {
                if let Some(SegmentName::Sealed(o, _)) = SegmentName::parse(&seg.name) {
                    let new = SegmentName::Sealed(o, ContentHash::of(&b)).to_string();
                    std::fs::rename(root.join(&seg.name), root.join(&new)).unwrap();
                    names[i] = new;
                }
            }
        }
    }
    let report = verify_dir(&root, &VerifyOptions::default()).unwrap();
    (report, names)
}

fn check(fx: &Fixture, case: &Case) {
    let (report, names) = run(fx, case);
    let got: Vec<(FindingKind, String, Option<u64>)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.segment.clone(), f.offset))
        .collect();
    let want: Vec<(FindingKind, String, Option<u64>)> = (case.findings)(&fx.segs)
        .into_iter()
        .map(|(k, s, o)| (k, s.map_or("LEDGER".to_owned(), |i| names[i].clone()), o))
        .collect();
    assert_eq!(got, want, "{}: findings\n{:#?}", case.what, report.findings);
    assert_eq!(
        report.head.map(|h| h.seq.get()),
        (case.head)(&fx.segs),
        "{}: head",
        case.what
    );
    assert_eq!(
        report.records,
        (case.records)(&fx.segs),
        "{}: records",
        case.what
    );
}

macro_rules! case {
    ($what:expr, $target:expr, $rename:expr, $change:expr, head: $head:expr, records: $records:expr, findings: $findings:expr) => {
        Case {
            what: $what,
            target: $target,
            change: Box::new($change),
            rename: $rename,
            head: $head,
            records: $records,
            findings: $findings,
        }
    };
}

/// Sealed segment 1: every header field flipped (the header CRC covers
/// bytes 0..96, so a flip there is a CRC failure unless the magic or the
/// version is checked first), and the reserved bytes: the header does not
/// decode, the segment is not walked, the head ends before it.
#[test]
fn a_damaged_sealed_header_ends_the_head_before_the_segment() {
    let fx = fixture();
    for (at, reported_at) in [
        (0, 0),     // magic
        (8, 8),     // format version
        (10, 96),   // header length
        (12, 96),   // flags
        (16, 96),   // ledger id
        (32, 96),   // ordinal
        (40, 96),   // first sequence
        (48, 96),   // previous chain hash
        (80, 96),   // created at
        (88, 96),   // capacity
        (96, 96),   // the CRC itself
        (100, 100), // reserved, after the CRC
        (200, 200), // reserved, after the watermark
    ] {
        let case = Case {
            what: "sealed header field",
            target: Some(1),
            change: Box::new(move |b, _| flip(at)(b)),
            rename: true,
            head: |s| Some(s[0].last()),
            records: |s| all(s) - s[1].count(),
            findings: |_| vec![],
        };
        let (report, names) = run(&fx, &case);
        let got: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.kind, f.segment.clone(), f.offset))
            .collect();
        assert_eq!(
            got,
            vec![(FindingKind::Header, names[1].clone(), Some(reported_at))],
            "header byte {at}"
        );
        assert_eq!(report.head.map(|h| h.seq.get()), (case.head)(&fx.segs));
        assert_eq!(report.records, (case.records)(&fx.segs), "header byte {at}");
    }
}

#[test]
fn the_tamper_matrix() {
    let fx = fixture();
    let cases = [
        case!("sealed header magic, not renamed", Some(1), false, |b, _| flip(0)(b),
            head: |s| Some(s[0].last()), records: |s| all(s) - s[1].count(),
            findings: |_| vec![(FindingKind::ContentAddress, Some(1), None), (FindingKind::Header, Some(1), Some(0))]),
        case!("sealed watermark value", Some(1), true, |b, _| flip(128)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |_| vec![(FindingKind::Header, Some(1), Some(128))]),
        case!("sealed watermark complement", Some(1), true, |b, _| flip(136)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |_| vec![(FindingKind::Header, Some(1), Some(128))]),
        case!("sealed watermark valid but not the footer offset", Some(1), true, |b, _| {
                let w = u64::from_le_bytes(b[128..136].try_into().unwrap()) - 8;
                b[128..136].copy_from_slice(&w.to_le_bytes());
                b[136..144].copy_from_slice(&(!w).to_le_bytes());
            },
            head: |s| Some(s[0].last()), records: all,
            findings: |_| vec![(FindingKind::Header, Some(1), Some(128))]),
        case!("sealed ordinal, CRC recomputed", Some(1), true, |b, _| { b[32] ^= 0x10; fix_header_crc(b) },
            head: |s| Some(s[0].last()), records: all,
            findings: |_| vec![(FindingKind::Header, Some(1), Some(32))]),
        case!("sealed ledger id, CRC recomputed", Some(1), true, |b, _| { b[16] ^= 0x10; fix_header_crc(b) },
            head: |s| Some(s[0].last()), records: all,
            findings: |_| vec![(FindingKind::ForeignSegment, Some(1), Some(16))]),
        case!("sealed previous hash, CRC recomputed", Some(1), true, |b, _| { b[48] ^= 0x10; fix_header_crc(b) },
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Link, Some(1), Some(40)), (FindingKind::ChainHash, Some(1), Some(s[1].records[0].0 as u64))]),
        case!("sealed first sequence, CRC recomputed", Some(1), true, |b, _| { b[40] ^= 0x01; fix_header_crc(b) },
        head: |s| Some(s[0].last()), records: all,
        findings: |s| vec![
            (FindingKind::Link, Some(1), Some(40)),
            (FindingKind::SequenceGap, Some(1), Some(s[1].records[0].0 as u64)),
            (FindingKind::Footer, Some(1), Some(s[1].end as u64)),
        ]),
        case!("sealed capacity, CRC recomputed (not covered by anything: informational)", Some(1), true, |b, _| { b[88] ^= 0x10; fix_header_crc(b) },
            head: |s| Some(s[3].last()), records: all,
            findings: |_| vec![]),
        case!("footer marker", Some(1), true, |b, s| flip(s.end)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer count", Some(1), true, |b, s| flip(s.end + 8)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer first sequence", Some(1), true, |b, s| flip(s.end + 16)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer last sequence", Some(1), true, |b, s| flip(s.end + 24)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer first time", Some(1), true, |b, s| flip(s.end + 32)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer last time", Some(1), true, |b, s| flip(s.end + 40)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer last chain hash", Some(1), true, |b, s| flip(s.end + 48)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer offset field", Some(1), true, |b, s| flip(s.end + 80)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer CRC", Some(1), true, |b, s| flip(s.end + 88)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer zero word", Some(1), true, |b, s| flip(s.end + 92)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer trailing magic", Some(1), true, |b, s| flip(s.end + 100)(b),
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("footer count, CRC recomputed", Some(1), true, |b, s| { b[s.end + 8] ^= 0x01; fix_footer_crc(b) },
            head: |s| Some(s[0].last()), records: all,
            findings: |s| vec![(FindingKind::Footer, Some(1), Some(s[1].end as u64))]),
        case!("sealed length word: one finding, the next record intact", Some(1), true, |b, s| {
                let at = s.records[3].0;
                b[at] = b[at].wrapping_add(8);
            },
            head: |s| Some(s[1].records[2].1), records: |s| all(s) - 1,
            findings: |s| vec![(FindingKind::Crc, Some(1), Some(s[1].records[3].0 as u64))]),
        case!("sealed record payload byte", Some(1), true, |b, s| flip(s.records[5].0 + 30)(b),
            head: |s| Some(s[1].records[4].1), records: |s| all(s) - 1,
            findings: |s| vec![(FindingKind::Crc, Some(1), Some(s[1].records[5].0 as u64))]),
        case!("active header magic", Some(3), false, |b, _| flip(0)(b),
            head: |s| Some(s[2].last()), records: |s| all(s) - s[3].count(),
            findings: |_| vec![(FindingKind::Header, Some(3), Some(0))]),
        case!("active first sequence", Some(3), false, |b, _| flip(40)(b),
            head: |s| Some(s[2].last()), records: |s| all(s) - s[3].count(),
            findings: |_| vec![(FindingKind::Header, Some(3), Some(96))]),
        case!("active reserved byte", Some(3), false, |b, _| flip(300)(b),
            head: |s| Some(s[2].last()), records: |s| all(s) - s[3].count(),
            findings: |_| vec![(FindingKind::Header, Some(3), Some(300))]),
        case!("active watermark value: ignored, no truncation claimed", Some(3), false, |b, _| flip(130)(b),
            head: |s| Some(s[2].last()), records: all,
            findings: |_| vec![(FindingKind::Header, Some(3), Some(128))]),
        case!("active watermark complement", Some(3), false, |b, _| flip(140)(b),
            head: |s| Some(s[2].last()), records: all,
            findings: |_| vec![(FindingKind::Header, Some(3), Some(128))]),
        case!("active length word below the watermark", Some(3), false, |b, s| {
                let at = s.records[2].0;
                b[at] = b[at].wrapping_add(8);
            },
            head: |s| Some(s[3].records[1].1), records: |s| all(s) - 1,
            findings: |s| vec![(FindingKind::Crc, Some(3), Some(s[3].records[2].0 as u64))]),
        case!("active record zeroed below the watermark", Some(3), false, |b, s| {
                let (at, next) = (s.records[1].0, s.records[2].0);
                b[at..next].fill(0);
            },
            head: |s| Some(s[3].records[0].1), records: |s| all(s) - 1,
            findings: |s| vec![(FindingKind::Truncated, Some(3), Some(s[3].records[1].0 as u64))]),
        case!("active file cut before the watermark", Some(3), false, |b, s| b.truncate(s.records[2].0),
            head: |s| Some(s[3].records[1].1), records: |s| all(s) - s[3].count() + 2,
            findings: |s| vec![(FindingKind::Truncated, Some(3), Some(s[3].records[2].0 as u64))]),
        case!("stray bytes after the end: a torn tail at the first empty slot", Some(3), false, |b, s| b[s.end + 100] = 0xAB,
            head: |s| Some(s[3].last()), records: all,
            findings: |s| vec![(FindingKind::TornTail, Some(3), Some(s[3].end as u64))]),
        case!("a partial record after the end", Some(3), false, |b, s| {
                b[s.end..s.end + 4].copy_from_slice(&200u32.to_le_bytes());
                b[s.end + 8] = 7;
            },
            head: |s| Some(s[3].last()), records: all,
            findings: |s| vec![(FindingKind::TornTail, Some(3), Some(s[3].end as u64))]),
        case!("an interrupted seal", Some(3), false, |b, s| {
                let first = parse_at(b, s.records[0].0).map(|x| match x { Slot::Record(r) => r, _ => unreachable!() }).unwrap();
                let last = parse_at(b, s.records[s.records.len() - 1].0).map(|x| match x { Slot::Record(r) => r, _ => unreachable!() }).unwrap();
                let f = SegmentFooter {
                    count: s.count(),
                    first_seq: first.seq,
                    last_seq: last.seq,
                    first_ts: first.timestamp,
                    last_ts: last.timestamp,
                    last_hash: last.chain_hash,
                    offset: s.end as u64,
                };
                b[s.end..s.end + 104].copy_from_slice(&f.encode());
            },
            head: |s| Some(s[3].last()), records: all,
            findings: |s| vec![(FindingKind::InterruptedSeal, Some(3), Some(s[3].end as u64))]),
        case!("a damaged LEDGER file: no head", None, false, |b, _| flip(20)(b),
            head: |_| None, records: all,
            findings: |_| vec![(FindingKind::Meta, None, None)]),
    ];
    for case in &cases {
        check(&fx, case);
    }
}

/// The torn tail `verify` reports is where recovery cuts, to the byte.
#[test]
fn verify_reports_the_offset_recovery_cuts() {
    let fx = fixture();
    let seg = &fx.segs[3];
    for garbage_at in [seg.end, seg.end + 8, seg.end + 100, seg.bytes.len() - 1] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("l");
        std::fs::create_dir(&root).unwrap();
        for e in std::fs::read_dir(&fx.root).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), root.join(e.file_name())).unwrap();
        }
        let mut b = seg.bytes.clone();
        b[garbage_at] = 0x5A;
        std::fs::write(root.join(&seg.name), &b).unwrap();
        let report = verify_dir(&root, &VerifyOptions::default()).unwrap();
        let torn = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::TornTail)
            .expect("a torn tail");
        assert_eq!(torn.offset, Some(seg.end as u64), "garbage at {garbage_at}");
        assert!(report.is_intact());
        let w = Writer::open(&root, WriterOptions::default()).unwrap();
        let cut = w.recovery_report().cut.clone().expect("a cut");
        assert_eq!(cut.offset, seg.end as u64, "garbage at {garbage_at}");
    }
}

/// A missing `LEDGER` file is "not a ledger" (an error: exit 2 in the
/// command line); a damaged one is a finding (damage: exit 1).
#[test]
fn a_missing_identity_file_is_not_a_ledger() {
    let fx = fixture();
    std::fs::remove_file(fx.root.join("LEDGER")).unwrap();
    let err = verify_dir(&fx.root, &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(err, ledger_core::VerifyError::NotALedger { .. }),
        "{err}"
    );
}

/// Only the last segment may be active: a sealed segment after the active
/// one is a `missing_segment` finding on it, and the head stops before it.
#[test]
fn a_sealed_segment_after_the_active_one_is_a_finding() {
    let fx = fixture();
    let active = &fx.segs[3];
    let sealed_copy = &fx.segs[2];
    let name = SegmentName::Sealed(
        ledger_core::SegmentOrdinal::new(4),
        ContentHash::of(&sealed_copy.bytes),
    )
    .to_string();
    std::fs::write(fx.root.join(&name), &sealed_copy.bytes).unwrap();
    let report = verify_dir(&fx.root, &VerifyOptions::default()).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::MissingSegment && f.segment == name),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.head.map(|h| h.seq.get()), Some(active.last()));
    assert!(!report.is_intact());
}
