//! Measures what rebuilding the projections costs, step by step:
//! `cargo run --release -p ledger-domain --example rebuild -- [EVENTS]`.
//! (The criterion bench `projection` in `benches/` is the reference figure.)
//!
//! Each round prints, in millions of events per second: the bare scan of
//! the records; the scan with owned decoding ([`decode`]) and with borrowed
//! views ([`decode_view`]); the fold alone (events decoded beforehand, kept
//! in memory, folded with [`Projections::apply_ref`]); and the whole
//! rebuild, sequential (one core) and with decoding threads (every core),
//! which must give the same views. A second argument sets the rounds (3);
//! with `FOLD_ONLY=1` in the environment only the fold alone is timed (to
//! profile it).

use std::time::Instant;

use ledger_core::{Durability, Reader, WriterOptions};
use ledger_domain::{
    decode, decode_view, replay_with, Decoding, Projections, ReplayOptions, TradingLedger,
};
use ledger_tools::sim::{Generator, DEMO_START};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    let fold_only = std::env::var_os("FOLD_ONLY").is_some();
    let dir = tempfile::tempdir()?;
    let opts = WriterOptions::default().durability(Durability::NoSync);
    let mut l = TradingLedger::open(dir.path(), opts)?;
    let t = Instant::now();
    for (ts, e) in Generator::new("gen", 1, DEMO_START).take(n) {
        let _ = l.append_at(ts, &e)?;
    }
    println!(
        "append (validated, projected): {:.0} events/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    l.close()?;
    let reader = Reader::open(dir.path())?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64() / 1e6;
    let mut events = Vec::with_capacity(n);
    let mut c = reader.cursor()?;
    while let Some(r) = c.next_ref()? {
        events.push((
            r.seq,
            r.chain_hash,
            r.timestamp,
            decode(r.kind, r.version, r.payload)?,
        ));
    }
    for _ in 0..rounds {
        let t = Instant::now();
        let mut c = reader.cursor()?;
        let mut k = 0u64;
        while let Some(r) = c.next_ref()? {
            k += r.payload.len() as u64;
        }
        let scan = t.elapsed();
        let t = Instant::now();
        let mut c = reader.cursor()?;
        while let Some(r) = c.next_ref()? {
            let e = decode(r.kind, r.version, r.payload)?;
            k += e.kind().code() as u64;
        }
        let owned = t.elapsed();
        let t = Instant::now();
        let mut c = reader.cursor()?;
        while let Some(r) = c.next_ref()? {
            let e = decode_view(r.kind, r.version, r.payload).ok_or("no view")?;
            k += e.session().len() as u64;
        }
        let view = t.elapsed();
        let t = Instant::now();
        let mut folded = Projections::new();
        for (seq, hash, time, e) in &events {
            folded.apply_ref(*seq, *hash, *time, e);
        }
        let fold = t.elapsed();
        if fold_only {
            println!("fold alone {:.2} M/s", rate(fold));
            // Each round folds into fresh memory, as a rebuilding process does.
            std::mem::forget(folded);
            continue;
        }
        let all = ReplayOptions::default();
        let t = Instant::now();
        let sequential = replay_with(&reader, &all, Decoding::Sequential)?;
        let seq = t.elapsed();
        let t = Instant::now();
        let threaded = replay_with(&reader, &all, Decoding::Threads(cores.max(2) - 1))?;
        let thr = t.elapsed();
        if threaded != sequential || folded != sequential {
            return Err("the rebuilds (sequential, threaded, fold alone) differ".into());
        }
        println!(
            "scan {:.2} M/s | scan+decode owned {:.2} M/s, views {:.2} M/s | fold alone {:.2} M/s | rebuild sequential {:.2} M/s, {} decoding thread(s) {:.2} M/s ({} trades) [{k}]",
            rate(scan),
            rate(owned),
            rate(view),
            rate(fold),
            rate(seq),
            cores.max(2) - 1,
            rate(thr),
            sequential.trades.len()
        );
    }
    Ok(())
}
