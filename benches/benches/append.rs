//! Append throughput of the writer, each mode beside the bare work it
//! consists of (chain hash alone, copying into a memory map). The crate docs
//! of `ledger-benches` describe every group.

// A benchmark has nobody to report an error to: it stops at the first one.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use ledger_benches::baselines::chain_record;
use ledger_benches::{
    durability_name, entry, first_ledger, group_commit, pace, payload, record_size, timed,
    timed_in_room, BoxError, MmapCopy, WarmLedger, BENCH_SEGMENT_SIZE, PAYLOAD_SIZES,
    ROTATION_SEGMENT_SIZE, TYPICAL_PAYLOAD,
};
use ledger_core::segment::record::{self, NewRecord};
use ledger_core::{
    ChainHash, Durability, Entry, Kind, SchemaVersion, Seq, Timestamp, WriterOptions,
};

fn options(d: Durability, segment_size: u64) -> WriterOptions {
    WriterOptions::default()
        .durability(d)
        .segment_size(segment_size)
}

/// The pace of the writer benchmarks: few samples when every append syncs.
fn pace_writer(g: &mut BenchmarkGroup<'_, WallTime>, d: Durability) {
    if d == Durability::SyncEveryAppend {
        pace(g, 10, Duration::from_millis(500), Duration::from_secs(3));
    } else {
        pace(g, 30, Duration::from_secs(1), Duration::from_secs(3));
    }
}

/// One `Writer::append` per iteration, in a pre-faulted segment.
fn single_appends(c: &mut Criterion) {
    for (d, sizes) in [
        (Durability::NoSync, &PAYLOAD_SIZES[..]),
        (group_commit(), &PAYLOAD_SIZES[..]),
        (Durability::SyncEveryAppend, &[TYPICAL_PAYLOAD][..]),
    ] {
        let mut g = c.benchmark_group(format!("append/{}", durability_name(d)));
        g.throughput(Throughput::Elements(1));
        pace_writer(&mut g, d);
        for &size in sizes {
            let p = payload(size);
            let e = entry(&p);
            let make = || WarmLedger::new(options(d, BENCH_SEGMENT_SIZE), size);
            // Created before criterion's warm-up, whose clock would count it.
            let mut ledger = first_ledger(make);
            g.bench_function(BenchmarkId::from_parameter(format!("{size}B")), |b| {
                b.iter_custom(|n| {
                    timed_in_room(&mut ledger, make, n, 1, |l, k| {
                        timed(|| {
                            for _ in 0..k {
                                let _ = black_box(l.writer.append(&e).expect("append"));
                            }
                        })
                    })
                })
            });
        }
        g.finish();
    }
}

/// The same, in the first segment of a new ledger: the engine pre-faults
/// the segments after the first, not the first, so these appends take the
/// page faults of fresh pages.
fn fresh_segment(c: &mut Criterion) {
    let mut g = c.benchmark_group("append/no_sync_fresh_segment");
    g.throughput(Throughput::Elements(1));
    pace_writer(&mut g, Durability::NoSync);
    let p = payload(TYPICAL_PAYLOAD);
    let e = entry(&p);
    let make = || {
        WarmLedger::fresh(
            options(Durability::NoSync, BENCH_SEGMENT_SIZE),
            TYPICAL_PAYLOAD,
        )
    };
    // Created before criterion's warm-up, whose clock would count it.
    let mut ledger = first_ledger(make);
    g.bench_function(BenchmarkId::from_parameter("200B"), |b| {
        b.iter_custom(|n| {
            timed_in_room(&mut ledger, make, n, 1, |l, k| {
                timed(|| {
                    for _ in 0..k {
                        let _ = black_box(l.writer.append(&e).expect("append"));
                    }
                })
            })
        })
    });
    g.finish();
}

/// `Writer::append_batch` of 100 records.
fn batches(c: &mut Criterion) {
    const BATCH: usize = 100;
    let p = payload(TYPICAL_PAYLOAD);
    let entries: Vec<Entry<'_>> = (0..BATCH).map(|_| entry(&p)).collect();
    let mut g = c.benchmark_group("append_batch");
    g.throughput(Throughput::Elements(BATCH as u64));
    for d in [Durability::NoSync, Durability::SyncEveryAppend] {
        pace_writer(&mut g, d);
        let make = || WarmLedger::new(options(d, BENCH_SEGMENT_SIZE), TYPICAL_PAYLOAD);
        let id = BenchmarkId::new(durability_name(d), format!("{BATCH}x{TYPICAL_PAYLOAD}B"));
        // Created before criterion's warm-up, whose clock would count it.
        let mut ledger = first_ledger(make);
        g.bench_function(id, |b| {
            b.iter_custom(|n| {
                timed_in_room(&mut ledger, make, n, BATCH as u64, |l, k| {
                    timed(|| {
                        for _ in 0..k {
                            let _ =
                                black_box(l.writer.append_batch(&entries).expect("append batch"));
                        }
                    })
                })
            })
        });
    }
    g.finish();
}

/// `SharedWriter::append` from several threads; the measured time is the
/// wall time from the moment all threads are ready until the last one is
/// done, so the figure is total appends per second.
fn shared_writer(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let mut g = c.benchmark_group("shared_writer/no_sync_200B");
    g.throughput(Throughput::Elements(1));
    pace(&mut g, 20, Duration::from_secs(1), Duration::from_secs(3));
    for threads in [1u64, 2, 4] {
        let make = || {
            WarmLedger::new(
                options(Durability::NoSync, BENCH_SEGMENT_SIZE),
                TYPICAL_PAYLOAD,
            )
            .map(WarmLedger::into_shared)
        };
        // Created before criterion's warm-up, whose clock would count it.
        let mut ledger = first_ledger(make);
        g.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter_custom(|n| {
                timed_in_room(&mut ledger, make, n, 1, |l, k| {
                    let barrier = Barrier::new(threads as usize + 1);
                    let mut start = Instant::now();
                    std::thread::scope(|s| {
                        for t in 0..threads {
                            let (shared, barrier, p) = (&l.shared, &barrier, &p);
                            let mine = k / threads + u64::from(t < k % threads);
                            s.spawn(move || {
                                let e = entry(p);
                                barrier.wait();
                                for _ in 0..mine {
                                    let _ = black_box(shared.append(&e).expect("append"));
                                }
                            });
                        }
                        barrier.wait();
                        start = Instant::now();
                    });
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

/// Appends with 4 MiB segments: sealing and rotation included.
fn rotation(c: &mut Criterion) {
    let p = payload(TYPICAL_PAYLOAD);
    let e = entry(&p);
    let mut g = c.benchmark_group("append_rotation/no_sync_4MiB");
    g.throughput(Throughput::Elements(1));
    pace(&mut g, 20, Duration::from_secs(1), Duration::from_secs(4));
    // One ledger of up to 64 segments (256 MiB), then a new one.
    let segments_per_ledger = 64;
    let make = || -> Result<WarmLedger, BoxError> {
        let mut l = WarmLedger::new(
            options(Durability::NoSync, ROTATION_SEGMENT_SIZE),
            TYPICAL_PAYLOAD,
        )?;
        l.room = segments_per_ledger * ROTATION_SEGMENT_SIZE / record_size(TYPICAL_PAYLOAD) as u64;
        Ok(l)
    };
    // Created before criterion's warm-up, whose clock would count it.
    let mut ledger = first_ledger(make);
    g.bench_function(BenchmarkId::from_parameter("200B"), |b| {
        b.iter_custom(|n| {
            timed_in_room(&mut ledger, make, n, 1, |l, k| {
                timed(|| {
                    for _ in 0..k {
                        let _ = black_box(l.writer.append(&e).expect("append"));
                    }
                })
            })
        })
    });
    g.finish();
}

/// What an append cannot avoid: the chain hash over the record's bytes, and
/// storing the bytes.
fn baselines(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for size in PAYLOAD_SIZES {
        let (rec, hashed) = chain_record(&payload(size));
        g.bench_function(BenchmarkId::new("chain_link", format!("{size}B")), |b| {
            let mut prev = ChainHash::from_bytes([1; 32]);
            b.iter(|| {
                prev = ledger_core::chain::link(&prev, black_box(&rec[..hashed]));
                prev
            })
        });
        g.bench_function(BenchmarkId::new("encode_record", format!("{size}B")), |b| {
            let p = payload(size);
            let mut out = Vec::with_capacity(2048);
            let mut prev = ChainHash::from_bytes([1; 32]);
            let mut seq = Seq::new(1);
            b.iter(|| {
                prev = record::encode_into(
                    &mut out,
                    &NewRecord {
                        seq,
                        timestamp: Timestamp::now(),
                        kind: Kind::new(1),
                        version: SchemaVersion::new(1),
                        payload: black_box(&p),
                    },
                    &prev,
                );
                seq = seq.next();
                prev
            })
        });
        g.bench_function(BenchmarkId::new("mmap_copy", format!("{size}B")), |b| {
            let mut map = MmapCopy::new(64 << 20).expect("baseline map");
            b.iter(|| map.copy(black_box(&rec)))
        });
    }
    g.finish();
}

/// Runs every group of this file, cheapest first.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    baselines(&mut c);
    single_appends(&mut c);
    fresh_segment(&mut c);
    batches(&mut c);
    shared_writer(&mut c);
    rotation(&mut c);
}

criterion_main!(benches);
