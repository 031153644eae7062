//! Measures what rebuilding the projections costs, step by step:
//! `cargo run --release -p ledger-domain --example rebuild -- [EVENTS]`.
//! (The criterion bench `projection` in `benches/` is the reference figure.)

use std::time::Instant;

use ledger_core::{Durability, Reader, WriterOptions};
use ledger_domain::{decode, replay, ReplayOptions, TradingLedger};
use ledger_tools::sim::{Generator, DEMO_START};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
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
    for _ in 0..2 {
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
        let dec = t.elapsed();
        let t = Instant::now();
        let p = replay(&reader, &ReplayOptions::default())?;
        let full = t.elapsed();
        println!(
            "scan {:.2} M/s, scan+decode {:.2} M/s, rebuild {:.2} M/s ({} trades) [{k}]",
            n as f64 / scan.as_secs_f64() / 1e6,
            n as f64 / dec.as_secs_f64() / 1e6,
            n as f64 / full.as_secs_f64() / 1e6,
            p.trades.len()
        );
    }
    Ok(())
}
