//! The ledger beside the alternatives, in one run, doing the same work on
//! the same 200-byte events: stamp, hash-chain, store. The crate docs of
//! `ledger-benches` describe every group; `src/bin/compare.rs` runs the same
//! workloads once and prints the ratios.

// A benchmark has nobody to report an error to: it stops at the first one.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_main, BenchmarkGroup, Criterion, Throughput};
use ledger_benches::baselines::{
    chain_record, link, BatpakStore, Flush, JsonlJournal, SqliteChain, Synchronous, BATCH,
};
use ledger_benches::{
    entry, first_ledger, group_commit, pace, payload, timed, timed_in_room, BoxError, MmapCopy,
    Room, WarmLedger, BENCH_SEGMENT_SIZE, TYPICAL_PAYLOAD,
};
use ledger_core::{ChainHash, Durability, Entry, WriterOptions};

/// Events a database or journal takes before it is replaced (outside the
/// measured time), so that it does not grow without bound.
const ROOM: u64 = 1_000_000;
/// The same for the slow, synced modes.
const SYNCED_ROOM: u64 = 20_000;

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn group<'a>(c: &'a mut Criterion, name: &str, slow: bool) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    if slow {
        pace(
            &mut g,
            10,
            Duration::from_millis(500),
            Duration::from_secs(3),
        );
    } else {
        pace(&mut g, 20, Duration::from_secs(1), Duration::from_secs(3));
    }
    g
}

/// Benchmarks `id` in `g`: each iteration does `per_step` events with
/// `step`, in stores made by `make` and replaced when their room runs out.
fn bench_store<S: Room>(
    g: &mut Group<'_>,
    id: &str,
    per_step: u64,
    make: impl Fn() -> Result<S, BoxError> + Copy,
    mut step: impl FnMut(&mut S),
) {
    g.throughput(Throughput::Elements(per_step));
    // Created before criterion's warm-up, whose clock would count it.
    let mut store = first_ledger(make);
    g.bench_function(id, |b| {
        b.iter_custom(|n| {
            timed_in_room(&mut store, make, n, per_step, |s, k| {
                timed(|| {
                    for _ in 0..k {
                        step(s);
                    }
                })
            })
        })
    });
}

/// The physical limits: the bare chain hash over the ledger's record bytes,
/// and copying those bytes into a memory map.
fn limits(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let (rec, hashed) = chain_record(&p);
    let mut g = group(c, "limit", false);
    g.throughput(Throughput::Elements(1));
    g.bench_function("blake3_chain", |b| {
        let mut prev = ChainHash::from_bytes([1; 32]);
        b.iter(|| {
            prev = link(&prev, black_box(&rec[..hashed]));
            prev
        })
    });
    let mut map = MmapCopy::new(64 << 20).expect("baseline map");
    g.bench_function("mmap_copy", |b| b.iter(|| map.copy(black_box(&rec))));
    g.finish();
}

/// This ledger: single appends without sync and with group commit, and
/// batches of [`BATCH`], in a pre-faulted segment.
fn ledger(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let e = entry(&p);
    let batch: Vec<Entry<'_>> = (0..BATCH).map(|_| entry(&p)).collect();
    let options = |d: Durability| {
        WriterOptions::default()
            .durability(d)
            .segment_size(BENCH_SEGMENT_SIZE)
    };
    let mut g = group(c, "ledger", false);
    for (name, d) in [
        ("no_sync", Durability::NoSync),
        ("group_commit", group_commit()),
    ] {
        let make = move || WarmLedger::new(options(d), TYPICAL_PAYLOAD);
        bench_store(&mut g, name, 1, make, |l| {
            let _ = black_box(l.writer.append(&e).expect("append"));
        });
    }
    let make = move || WarmLedger::new(options(Durability::NoSync), TYPICAL_PAYLOAD);
    bench_store(
        &mut g,
        &format!("batch_{BATCH}/no_sync"),
        BATCH as u64,
        make,
        |l| {
            let _ = black_box(l.writer.append_batch(&batch).expect("append batch"));
        },
    );
    g.finish();
}

/// SQLite (WAL): a commit per event and a batch per transaction with
/// `synchronous=NORMAL`, and a commit per event with `synchronous=FULL`.
fn sqlite(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let mut g = group(c, "sqlite_wal/normal", false);
    let make = || SqliteChain::new(Synchronous::Normal, ROOM);
    bench_store(&mut g, "commit_per_event", 1, make, |db| {
        db.append(&p).expect("insert")
    });
    bench_store(
        &mut g,
        &format!("batch_{BATCH}"),
        BATCH as u64,
        make,
        |db| db.append_batch(&p, BATCH).expect("insert batch"),
    );
    g.finish();
    let mut g = group(c, "sqlite_wal/full", true);
    let make = || SqliteChain::new(Synchronous::Full, SYNCED_ROOM);
    bench_store(&mut g, "commit_per_event", 1, make, |db| {
        db.append(&p).expect("insert")
    });
    g.finish();
}

/// A JSON-lines journal with a SHA-256 chain, flushed per batch and per event.
fn jsonl(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let mut g = group(c, "jsonl_sha256", false);
    let make = || JsonlJournal::new(Flush::PerBatch, ROOM);
    bench_store(
        &mut g,
        &format!("flush_per_batch_{BATCH}"),
        BATCH as u64,
        make,
        |j| j.append_batch(&p, BATCH).expect("journal batch"),
    );
    let make = || JsonlJournal::new(Flush::PerEvent, ROOM);
    bench_store(&mut g, "flush_per_event", 1, make, |j| {
        j.append(&p).expect("journal line")
    });
    g.finish();
}

/// batpak: an append per event, and batches.
fn batpak(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let mut g = group(c, "batpak", true);
    let make = || BatpakStore::new(200_000);
    bench_store(&mut g, "append", 1, make, |s| s.append(&p).expect("append"));
    bench_store(&mut g, &format!("batch_{BATCH}"), BATCH as u64, make, |s| {
        s.append_batch(&p, BATCH).expect("append batch")
    });
    g.finish();
}

/// Runs every group of this file, cheapest first.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    limits(&mut c);
    ledger(&mut c);
    jsonl(&mut c);
    sqlite(&mut c);
    batpak(&mut c);
}

criterion_main!(benches);
