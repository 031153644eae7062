//! `compare`: the ledger beside the alternatives, in one run, on one fixed
//! workload, as a markdown table.
//!
//! Every store does the same work on the same 200-byte events: stamp the
//! event with the current time, link it into a hash chain over its stored
//! bytes, store it (see `ledger_benches::baselines`). For each store and
//! mode the tool prints events per second, the per-event latency
//! (p50/p99/p99.9/max and calls over 100 µs, for modes that store one event
//! per call), the bytes on disk per event and what an appended event
//! survives; then each target of issue 7 and of the design with the
//! measured ratio.
//!
//! The ledger runs as a long-running writer does: default 64 MiB segments,
//! starting in a segment the engine pre-faulted, sealing and rotating as it
//! fills them (four million events fill about sixteen). One more row appends
//! inside a single 256 MiB segment, so the cost of sealing is visible as
//! the difference.
//!
//! Modes that take under 2 µs per event run twice: once untimed for the
//! throughput, once timing every call for the latency (the timer would
//! otherwise count in the throughput). Slower modes run once, timed.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo run --release -p ledger-benches --bin compare -- [--events N]
//! ```
//!
//! `N` (default 4,000,000) is the event count of the fast modes; the slow
//! ones run a fixed fraction of it (see `Plan`).

mod report;
mod run;
mod workloads;

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use ledger_benches::baselines::BATCH;
use ledger_benches::{count_arg, machine_description, TYPICAL_PAYLOAD};
use ledger_core::DEFAULT_SEGMENT_SIZE;

use crate::report::{print_rows, print_targets, targets};
use crate::run::{histogram, Latency, TIMER_MATTERS};
use crate::workloads::{run_all, NO_SYNC};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const DEFAULT_EVENTS: u64 = 4_000_000;

/// How many events each mode runs, from `--events N`.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Fast modes (the ledger, the limits, JSON lines, SQLite batched).
    fast: u64,
    /// SQLite with a commit per event, batpak batches: N / 10.
    medium: u64,
    /// batpak with an append per event: N / 50.
    slow: u64,
    /// Modes that sync every event: N / 2,000.
    synced: u64,
}

impl Plan {
    fn new(n: u64) -> Self {
        let batch = BATCH as u64;
        let round = |x: u64, min: u64| x.max(min).div_ceil(batch) * batch;
        Plan {
            fast: round(n, batch),
            medium: round(n / 10, batch),
            slow: round(n / 50, batch),
            synced: (n / 2000).max(50),
        }
    }
}

fn timer_overhead(lat: &mut Vec<u64>) -> Result<Latency> {
    lat.clear();
    for _ in 0..1_000_000 {
        let t = Instant::now();
        black_box(());
        lat.push(t.elapsed().as_nanos() as u64);
    }
    histogram(lat)
}

fn main() -> Result<()> {
    let n = count_arg("compare", "--events", DEFAULT_EVENTS)?;
    let plan = Plan::new(n);
    let started = Instant::now();
    let mut lat = Vec::with_capacity(plan.fast as usize);
    let overhead = timer_overhead(&mut lat)?;
    let rows = run_all(plan, &mut lat)?;
    let reference = rows
        .iter()
        .find(|r| r.store == "this ledger" && r.mode == NO_SYNC)
        .map_or(f64::NAN, |r| r.per_sec);

    println!("# The ledger beside the alternatives\n");
    println!("- machine: {}", machine_description());
    println!(
        "- events: {} bytes of payload each (the same bytes in every store), kind 1, stamped with the current time; every store chains each event to the previous one with a hash over its stored bytes",
        TYPICAL_PAYLOAD
    );
    println!(
        "- events per mode: {} (fast modes), {} (SQLite commit per event, batpak batches), {} (batpak append per event), {} (modes that sync every event); batches of {BATCH}",
        plan.fast, plan.medium, plan.slow, plan.synced
    );
    println!(
        "- files in {} (temporary); the ledger with its default {} MiB segments, starting in a pre-faulted segment, rotations included",
        std::env::temp_dir().display(),
        DEFAULT_SEGMENT_SIZE >> 20
    );
    println!(
        "- latency per call, timed with `Instant` (two reads cost p50 {} ns, p99 {} ns, included); throughput of modes under {} µs per event from a second, untimed run",
        overhead.p50,
        overhead.p99,
        TIMER_MATTERS.as_micros()
    );
    println!(
        "- command: `CARGO_TARGET_DIR=/tmp/target-bench cargo run --release -p ledger-benches --bin compare -- --events {n}`; took {:.0} s\n",
        started.elapsed().as_secs_f64()
    );
    print_rows(&rows, reference);
    println!();
    println!("\"durable events/s\": events flushed to the device per second, until the last was; \"ledger append ÷ this\": the ledger's no-sync append rate over this row's rate. The ledger's bytes per event are those of a sealed {} MiB segment over its records (its active segment is preallocated to full size); the memory-map row shows the record's own size.\n", DEFAULT_SEGMENT_SIZE >> 20);
    println!("## Targets (issue 7 and the design)\n");
    print_targets(&targets(&rows));
    Ok(())
}
