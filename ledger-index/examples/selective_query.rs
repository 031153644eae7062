//! Index against full scan on a large ledger:
//! `cargo run --release -p ledger-index --example selective_query -- [EVENTS] [DIR]`
//! (default 10 million events in a temporary folder; pass DIR to keep and
//! reuse the ledger). Prints the time of a query selecting about 1 % of
//! the events through the index and by a full scan, and of lookups by
//! sequence.

use std::time::Instant;

use ledger_core::{Durability, Seq, WriterOptions};
use ledger_domain::{EventKind, TradingKeys, TradingLedger};
use ledger_index::{LedgerIndex, Query};
use ledger_tools::sim::{Generator, DEMO_START};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(2)
        .map_or(tmp.path().to_owned(), Into::into);
    let opts = WriterOptions::default().durability(Durability::NoSync);
    let mut l = TradingLedger::open(&dir, opts)?;
    let have = l.writer().head().map_or(0, |h| h.seq.get());
    if have < n {
        let t = Instant::now();
        for (ts, e) in Generator::new("gen", 7, DEMO_START)
            .skip(have as usize)
            .take((n - have) as usize)
        {
            let _ = l.append_at(ts, &e)?;
        }
        println!(
            "appended {} events in {:.1} s",
            n - have,
            t.elapsed().as_secs_f64()
        );
    }
    l.close()?;

    let t = Instant::now();
    let ix = LedgerIndex::open(&dir, TradingKeys)?;
    let built = ix.build_all()?;
    println!(
        "opened the index and built/loaded {} segment indexes in {:.2} s",
        built.len(),
        t.elapsed().as_secs_f64()
    );

    // About 1 %: one of the 24 symbols' position snapshots.
    let q = Query::all()
        .kind(EventKind::PositionSnapshot)
        .key(TradingKeys::SYMBOL, "AAPL");
    let t = Instant::now();
    let hits = ix.query(&q)?.count();
    let via_index = t.elapsed();
    let t = Instant::now();
    let scanned = ix.scan(&q)?.len();
    let via_scan = t.elapsed();
    assert_eq!(hits, scanned);
    println!(
        "query selecting {hits} of {n} events ({:.2} %): index {:.1} ms, full scan {:.1} ms: {:.0}x faster",
        hits as f64 * 100.0 / n as f64,
        via_index.as_secs_f64() * 1e3,
        via_scan.as_secs_f64() * 1e3,
        via_scan.as_secs_f64() / via_index.as_secs_f64()
    );
    let probes = 10_000u64;
    let t = Instant::now();
    for i in 0..probes {
        let seq = Seq::new(1 + (i * 7_919_993) % n);
        assert!(ix.get(seq)?.is_some());
    }
    println!(
        "lookup by sequence: {:.1} µs each (over {probes} lookups)",
        t.elapsed().as_secs_f64() * 1e6 / probes as f64
    );
    Ok(())
}
