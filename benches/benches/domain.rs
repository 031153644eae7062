//! The trading domain's whole-ledger work over a generated session:
//! rebuilding the projections, starting from a projection snapshot,
//! index queries beside full scans, and export-like streaming. The crate
//! docs of `ledger-benches` describe every group.

// A benchmark has nobody to report an error to: it stops at the first one.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ledger_benches::{pace, temp_dir, wait_for_preallocation};
use ledger_core::{Durability, Kind, Reader, Seq, WriterOptions};
use ledger_domain::{
    decode, replay, Event, EventHit, ReplayOptions, SnapshotKey, Symbol, TradeId, TradingKeys,
    TradingLedger,
};
use ledger_index::{LedgerIndex, Query};
use ledger_tools::sim::{Generator, DEMO_START};
use serde::Serialize;
use tempfile::TempDir;

/// Events of the generated ledger.
const EVENTS: u64 = 200_000;
/// Events after the projection snapshot.
const TAIL: u64 = 2_000;
/// The same in criterion's `--test` mode (every benchmark runs once), so
/// that the smoke run stays quick.
const TEST_EVENTS: u64 = 20_000;
const TEST_TAIL: u64 = 200;
/// Segment size of the generated ledger: small enough that most of it is in
/// sealed segments with index files.
const SEGMENT_SIZE: u64 = 4 << 20;
/// The same in `--test` mode.
const TEST_SEGMENT_SIZE: u64 = 256 << 10;

/// The key the fixture's snapshot is authenticated with (a benchmark's
/// process plays the one that wrote it).
fn snapshot_key() -> SnapshotKey {
    SnapshotKey::from_bytes([7; 32])
}

fn smoke() -> bool {
    std::env::args().any(|a| a == "--test")
}

fn options() -> WriterOptions {
    WriterOptions::default()
        .durability(Durability::NoSync)
        .segment_size(if smoke() {
            TEST_SEGMENT_SIZE
        } else {
            SEGMENT_SIZE
        })
}

/// The generated ledger, twice: with a projection snapshot taken `tail`
/// events before the end, and the same files without the snapshot.
struct Fixture {
    with_snapshot: TempDir,
    without_snapshot: TempDir,
    events: u64,
    tail: u64,
}

fn fixture() -> Fixture {
    let (events, tail) = if smoke() {
        (TEST_EVENTS, TEST_TAIL)
    } else {
        (EVENTS, TAIL)
    };
    let started = Instant::now();
    let dir = temp_dir().expect("temp dir");
    let mut ledger = TradingLedger::open_with_snapshots(dir.path(), options(), snapshot_key())
        .expect("create ledger");
    let mut events_in = Generator::new("bench", 7, DEMO_START);
    for (t, e) in events_in.by_ref().take((events - tail) as usize) {
        let _ = ledger.append_at(t, &e).expect("append generated event");
    }
    let snapshot = ledger.save_snapshot().expect("save snapshot");
    for (t, e) in events_in.take(tail as usize) {
        let _ = ledger.append_at(t, &e).expect("append generated event");
    }
    ledger.close().expect("close ledger");
    let copy = temp_dir().expect("temp dir");
    copy_without_snapshots(dir.path(), copy.path());
    eprintln!(
        "domain ledger: {events} generated events, snapshot {snapshot} {tail} events before the end, {} KiB segments; built in {:.1} s",
        options().segment_size >> 10,
        started.elapsed().as_secs_f64()
    );
    Fixture {
        with_snapshot: dir,
        without_snapshot: copy,
        events,
        tail,
    }
}

fn copy_without_snapshots(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("list ledger").flatten() {
        let name = e.file_name();
        if name.to_string_lossy().starts_with("snapshot-") {
            continue;
        }
        std::fs::copy(e.path(), to.join(&name)).expect("copy ledger file");
    }
}

/// `replay` of the whole ledger: events folded per second.
fn rebuild(c: &mut Criterion, f: &Fixture) {
    let reader = Reader::open(f.with_snapshot.path()).expect("reader");
    let p = replay(&reader, &ReplayOptions::default()).expect("replay");
    assert!(!p.trades.is_empty());
    let mut g = c.benchmark_group("projection");
    g.throughput(Throughput::Elements(f.events));
    pace(&mut g, 10, Duration::from_secs(1), Duration::from_secs(4));
    g.bench_function("rebuild", |b| {
        b.iter(|| replay(&reader, &ReplayOptions::default()).expect("replay"))
    });
    g.finish();
}

/// `TradingLedger::open_with_snapshots`: from the snapshot (folding only
/// the tail), and `TradingLedger::open` (folding every event).
fn startup(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("projection/open");
    pace(&mut g, 10, Duration::from_secs(1), Duration::from_secs(4));
    for (id, dir, snapshot, folded) in [
        (
            format!("snapshot_tail_{}", f.tail),
            &f.with_snapshot,
            true,
            f.tail,
        ),
        (
            "no_snapshot".to_owned(),
            &f.without_snapshot,
            false,
            f.events,
        ),
    ] {
        let open = || {
            if snapshot {
                TradingLedger::open_with_snapshots(dir.path(), options(), snapshot_key())
            } else {
                TradingLedger::open(dir.path(), options())
            }
            .expect("open")
        };
        {
            let l = open();
            let report = l.open_report();
            assert_eq!(report.snapshot.is_some(), snapshot, "{report:?}");
            assert_eq!(report.folded, folded, "{report:?}");
        }
        wait_for_preallocation(Duration::from_secs(5));
        g.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter_custom(|n| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..n {
                    let start = Instant::now();
                    let l = open();
                    elapsed += start.elapsed();
                    // Closing (and the preallocation the open started) is
                    // not part of the open.
                    drop(black_box(l));
                    wait_for_preallocation(Duration::from_secs(5));
                }
                elapsed
            })
        });
    }
    g.finish();
}

/// Trades whose events together are about 1 % of the ledger, and the most
/// frequent symbol.
fn selections(reader: &Reader, events: u64) -> (Vec<TradeId>, Symbol) {
    // Trades in the order they first appear.
    let mut trades: Vec<TradeId> = Vec::new();
    let mut per_trade: HashMap<TradeId, u64> = HashMap::new();
    let mut per_symbol: HashMap<Symbol, u64> = HashMap::new();
    let mut cursor = reader.cursor().expect("cursor");
    while let Some(r) = cursor.next_ref().expect("read") {
        if r.kind.get() >= Kind::RESERVED_START {
            continue;
        }
        let e = decode(r.kind, r.version, r.payload).expect("decode");
        if let Some(t) = e.trade_id() {
            let n = per_trade.entry(t.clone()).or_default();
            if *n == 0 {
                trades.push(t.clone());
            }
            *n += 1;
        }
        if let Some(s) = e.symbol() {
            *per_symbol.entry(s.clone()).or_default() += 1;
        }
    }
    // Every k-th trade, so that the picks spread over the whole ledger,
    // with k such that they add up to about 1 % of the events.
    let target = events.div_ceil(100);
    let in_trades: u64 = per_trade.values().sum();
    let wanted = (trades.len() as u64 * target).div_ceil(in_trades.max(1));
    let k = (trades.len() as u64 / wanted.max(1)).max(1) as usize;
    let mut picked = Vec::new();
    let mut covered = 0;
    for t in trades.iter().step_by(k) {
        if covered >= target {
            break;
        }
        covered += per_trade.get(t).copied().unwrap_or(0);
        picked.push(t.clone());
    }
    let symbol = per_symbol
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(s, _)| s)
        .expect("a symbol");
    (picked, symbol)
}

/// `LedgerIndex::query` beside `LedgerIndex::scan` (the same query by
/// reading every record), and `LedgerIndex::get`.
fn index(c: &mut Criterion, f: &Fixture) {
    let dir = f.with_snapshot.path();
    let ix = LedgerIndex::open(dir, TradingKeys).expect("index");
    let built = ix.build_all().expect("build index files");
    let reader = Reader::open(dir).expect("reader");
    let (trades, symbol) = selections(&reader, f.events);
    let by_trades = trades
        .iter()
        .fold(Query::all(), |q, t| q.key(TradingKeys::TRADE, t.as_str()));
    let by_symbol = Query::all().key(TradingKeys::SYMBOL, symbol.as_str());
    let mut g = c.benchmark_group("index");
    pace(&mut g, 10, Duration::from_secs(1), Duration::from_secs(3));
    for (name, q) in [("trades_1pct", &by_trades), ("one_symbol", &by_symbol)] {
        let hits = ix.query(q).expect("query").count() as u64;
        assert_eq!(hits, ix.scan(q).expect("scan").len() as u64);
        eprintln!(
            "index query {name}: {hits} of {} events ({:.2} %), {} sealed segments indexed",
            f.events,
            hits as f64 * 100.0 / f.events as f64,
            built.len()
        );
        g.throughput(Throughput::Elements(hits));
        g.bench_function(BenchmarkId::new("query", name), |b| {
            b.iter(|| {
                ix.query(q)
                    .expect("query")
                    .map(|h| EventHit::decode(&h.expect("hit")).expect("decode").seq)
                    .last()
            })
        });
        g.bench_function(BenchmarkId::new("scan", name), |b| {
            b.iter(|| ix.scan(q).expect("scan").len())
        });
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("get/random_seq", |b| {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seq = Seq::new(1 + x % f.events);
            ix.get(seq).expect("get").expect("record")
        })
    });
    g.finish();
    eprintln!("symbol of the one_symbol query: {symbol:?}");
}

/// One exported line.
#[derive(Serialize)]
struct ExportLine<'a> {
    seq: u64,
    time: i64,
    chain_hash: String,
    event: &'a Event,
}

fn export_line(out: &mut impl Write, h: &EventHit) -> io::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &ExportLine {
            seq: h.seq.get(),
            time: h.time.as_nanos(),
            chain_hash: h.chain_hash.to_hex(),
            event: &h.event,
        },
    )?;
    out.write_all(b"\n")
}

/// Every event as a JSON line into `io::sink()`: through the index's
/// streaming query, and straight from a cursor (decode each record).
fn export(c: &mut Criterion, f: &Fixture) {
    let dir = f.with_snapshot.path();
    let ix = LedgerIndex::open(dir, TradingKeys).expect("index");
    let reader = Reader::open(dir).expect("reader");
    let mut g = c.benchmark_group("export/json_lines");
    g.throughput(Throughput::Elements(f.events));
    pace(&mut g, 10, Duration::from_secs(1), Duration::from_secs(4));
    g.bench_function("query_all", |b| {
        b.iter(|| {
            let mut out = BufWriter::new(io::sink());
            let mut n = 0u64;
            for h in ix.query(&Query::all()).expect("query") {
                let hit = EventHit::decode(&h.expect("hit")).expect("decode");
                export_line(&mut out, &hit).expect("write");
                n += 1;
            }
            out.flush().expect("flush");
            assert_eq!(n, f.events);
        })
    });
    g.bench_function("cursor", |b| {
        b.iter(|| {
            let mut out = BufWriter::new(io::sink());
            let mut cursor = reader.cursor().expect("cursor");
            while let Some(r) = cursor.next_ref().expect("read") {
                if r.kind.get() >= Kind::RESERVED_START {
                    continue;
                }
                let hit = EventHit {
                    seq: r.seq,
                    time: r.timestamp,
                    chain_hash: r.chain_hash,
                    event: decode(r.kind, r.version, r.payload).expect("decode"),
                };
                export_line(&mut out, &hit).expect("write");
            }
            out.flush().expect("flush");
        })
    });
    g.finish();
}

/// Builds the ledger once, then runs every group of this file.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    let f = fixture();
    rebuild(&mut c, &f);
    startup(&mut c, &f);
    index(&mut c, &f);
    export(&mut c, &f);
}

criterion_main!(benches);
