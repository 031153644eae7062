//! Whole-ledger work: full verification (one thread and all cores, beside
//! the large-buffer blake3 rate), reading every record with a cursor, and
//! opening a writer on a small and on a large ledger. The crate docs of
//! `ledger-benches` describe every group.

// A benchmark has nobody to report an error to: it stops at the first one.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ledger_benches::{
    build_ledger, pace, records_per_segment, temp_dir, wait_for_preallocation, TYPICAL_PAYLOAD,
};
use ledger_core::{verify_dir, VerifyOptions};
use ledger_core::{Reader, Writer, WriterOptions};
use tempfile::TempDir;

/// Records of the verified ledger (about; rounded to whole segments).
const VERIFY_RECORDS: u64 = 200_000;
/// Segments of the verified ledger: 6 sealed and a full active one.
const VERIFY_SEGMENTS: u64 = 7;
/// Segment size of the ledgers that are opened.
const OPEN_SEGMENT_SIZE: u64 = 4 << 20;
/// Records in the active segment of the ledgers that are opened.
const OPEN_ACTIVE_RECORDS: u64 = 10_000;

/// The ledger verification and reading run over: ~200,000 records of 200
/// bytes in 7 segments sized so that the last (active) one is full too, so
/// that `VerifyReport::bytes` is nearly all record bytes (it counts an active
/// segment's whole preallocated file).
fn verify_ledger() -> (TempDir, u64) {
    let per_segment = VERIFY_RECORDS.div_ceil(VERIFY_SEGMENTS);
    let bytes = 4096 + 104 + per_segment * ledger_benches::record_size(TYPICAL_PAYLOAD) as u64;
    let segment_size = bytes.div_ceil(4096) * 4096;
    let records = VERIFY_SEGMENTS * records_per_segment(segment_size, TYPICAL_PAYLOAD);
    let dir = temp_dir().expect("temp dir");
    build_ledger(dir.path(), segment_size, TYPICAL_PAYLOAD, records).expect("build ledger");
    (dir, records)
}

fn segment_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("list ledger")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg" || x == "active"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read(p).expect("read segment"))
        .collect()
}

fn verification(c: &mut Criterion) {
    let (dir, records) = verify_ledger();
    let report = verify_dir(dir.path(), &VerifyOptions::default()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.records, records);
    eprintln!(
        "verify ledger: {} records in {} segments, {} bytes",
        report.records, report.segments, report.bytes
    );

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Bytes(report.bytes));
    pace(&mut g, 10, Duration::from_secs(1), Duration::from_secs(4));
    for (name, threads) in [("1_thread", Some(1)), ("all_cores", None)] {
        let opts = VerifyOptions {
            threads,
            ..VerifyOptions::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = verify_dir(dir.path(), &opts).expect("verify");
                assert_eq!(r.records, records);
                r
            })
        });
    }
    let files = segment_files(dir.path());
    let total: u64 = files.iter().map(|f| f.len() as u64).sum();
    g.throughput(Throughput::Bytes(total));
    g.bench_function("blake3_baseline", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|f| blake3::hash(black_box(f)))
                .collect::<Vec<_>>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Elements(records));
    pace(&mut g, 10, Duration::from_secs(1), Duration::from_secs(3));
    g.bench_function("cursor_next_ref", |b| {
        b.iter(|| {
            let reader = Reader::open(dir.path()).expect("reader");
            let mut cursor = reader.cursor().expect("cursor");
            let mut n = 0u64;
            let mut bytes = 0usize;
            while let Some(r) = cursor.next_ref().expect("next record") {
                n += 1;
                bytes += r.payload.len();
            }
            assert_eq!(n, records);
            bytes
        })
    });
    g.finish();
}

/// A closed ledger of `sealed` full sealed segments and an active segment
/// of [`OPEN_ACTIVE_RECORDS`] records.
fn open_ledger(sealed: u64) -> TempDir {
    let dir = temp_dir().expect("temp dir");
    let records =
        sealed * records_per_segment(OPEN_SEGMENT_SIZE, TYPICAL_PAYLOAD) + OPEN_ACTIVE_RECORDS;
    build_ledger(dir.path(), OPEN_SEGMENT_SIZE, TYPICAL_PAYLOAD, records).expect("build ledger");
    dir
}

fn open(c: &mut Criterion) {
    let mut g = c.benchmark_group("open");
    pace(&mut g, 20, Duration::from_secs(1), Duration::from_secs(3));
    for sealed in [0u64, 1, 64] {
        let dir = open_ledger(sealed);
        let opts = WriterOptions::default().segment_size(OPEN_SEGMENT_SIZE);
        {
            let w = Writer::open(dir.path(), opts.clone()).expect("open");
            assert_eq!(w.sealed_segments(), sealed);
        }
        g.bench_function(BenchmarkId::new("segments", sealed + 1), |b| {
            b.iter_custom(|n| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..n {
                    let start = Instant::now();
                    let w = Writer::open(dir.path(), opts.clone()).expect("open");
                    elapsed += start.elapsed();
                    // Closing (and the background preallocation the open
                    // started) is not part of the open.
                    drop(black_box(w));
                    wait_for_preallocation(Duration::from_secs(5));
                }
                elapsed
            })
        });
    }
    g.finish();
}

/// Runs every group of this file.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    verification(&mut c);
    open(&mut c);
}

criterion_main!(benches);
