//! `latency`: the distribution of per-append latency of the ledger writer.
//!
//! Times every `Writer::append` with `std::time::Instant` and prints a
//! markdown table of appends per second and the 50th, 99th, 99.9th and
//! 99.99th percentiles and the maximum, in nanoseconds, for
//!
//! - no sync and group commit (2 ms), each
//!   - back to back,
//!   - at a steady 500,000 appends per second (busy-waiting between appends;
//!     an append that falls behind the schedule is followed by the next one
//!     at once),
//!   - in bursts of 1,000 appends separated by a 1 ms sleep;
//! - no sync, back to back, in a newly created ledger (whose first segment
//!   the engine does not pre-fault);
//! - group commit while another thread waits (`DurabilityHandle::wait`) for
//!   the latest receipt in a loop: durable appends per second.
//!
//! Every other run starts in a segment the engine pre-faulted (see
//! `ledger_benches::WarmLedger`) with the default 64 MiB segments, so the
//! runs include rotations (one per ~254,000 appends) as a long-running writer
//! sees them.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo run --release -p ledger-benches --bin latency -- [--appends N]
//! ```

use std::error::Error;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ledger_benches::{
    durability_name, entry, group_commit, machine_description, payload, WarmLedger, TYPICAL_PAYLOAD,
};
use ledger_core::{Durability, Entry, Receipt, Seq, Writer, WriterOptions};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const DEFAULT_APPENDS: u64 = 2_000_000;
const STEADY_RATE: u64 = 500_000;
const BURST: u64 = 1_000;
const BURST_PAUSE: Duration = Duration::from_millis(1);
/// Appends slower than this count as stalls in the notes.
const STALL: u64 = 100_000;

#[derive(Clone, Copy)]
enum Workload {
    BackToBack,
    Steady { per_sec: u64 },
    Bursts { size: u64, pause: Duration },
}

impl Workload {
    fn describe(self) -> String {
        match self {
            Workload::BackToBack => "back to back".into(),
            Workload::Steady { per_sec } => format!("steady {} k/s", per_sec / 1000),
            Workload::Bursts { size, pause } => {
                format!("bursts of {size}, {} ms pause", pause.as_millis())
            }
        }
    }
}

/// What the kernel counted while a row ran: the writer thread's minor
/// page faults and context switches (`/proc/thread-self`), and the TLB
/// shootdown interrupts of the whole machine (`/proc/interrupts`).
#[derive(Clone, Copy, Default)]
struct Counters {
    minor_faults: u64,
    voluntary: u64,
    involuntary: u64,
    tlb_shootdowns: u64,
}

impl Counters {
    /// The counters now (zero where the file is not there).
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        // Fields after the command (which may hold spaces): state is field 3,
        // minflt field 10.
        let minor_faults = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(7))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        let irq = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
        let tlb_shootdowns = irq
            .lines()
            .find(|l| l.trim_start().starts_with("TLB:"))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .map_while(|v| v.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        Counters {
            minor_faults,
            voluntary: field("voluntary_ctxt_switches:"),
            involuntary: field("nonvoluntary_ctxt_switches:"),
            tlb_shootdowns,
        }
    }

    fn since(self, before: Counters) -> Counters {
        Counters {
            minor_faults: self.minor_faults.saturating_sub(before.minor_faults),
            voluntary: self.voluntary.saturating_sub(before.voluntary),
            involuntary: self.involuntary.saturating_sub(before.involuntary),
            tlb_shootdowns: self.tlb_shootdowns.saturating_sub(before.tlb_shootdowns),
        }
    }
}

/// One row of the table.
struct Row {
    mode: String,
    workload: String,
    appends: u64,
    per_sec: f64,
    hist: Histogram<u64>,
    max: u64,
    stalls: u64,
    /// Group commit: time from the last append until it was durable.
    durable_after: Option<Duration>,
    counters: Counters,
}

impl Row {
    /// The row of `appends` appends in `elapsed` with `workload`, from their
    /// [`histogram`].
    fn new(
        mode: String,
        workload: Workload,
        appends: u64,
        elapsed: Duration,
        (hist, max, stalls): (Histogram<u64>, u64, u64),
        durable_after: Option<Duration>,
    ) -> Self {
        Row {
            mode,
            workload: workload.describe(),
            appends,
            per_sec: appends as f64 / elapsed.as_secs_f64(),
            hist,
            max,
            stalls,
            durable_after,
            counters: Counters::default(),
        }
    }
}

fn histogram(samples: &[u64]) -> Result<(Histogram<u64>, u64, u64)> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)?;
    let mut max = 0;
    let mut stalls = 0;
    for &s in samples {
        h.record(s.max(1))?;
        max = max.max(s);
        stalls += u64::from(s > STALL);
    }
    Ok((h, max, stalls))
}

/// Appends `n` records following `workload`, timing each; returns the wall
/// time and the last receipt.
fn drive(
    w: &mut Writer,
    e: &Entry<'_>,
    n: u64,
    workload: Workload,
    lat: &mut Vec<u64>,
    on_receipt: &mut dyn FnMut(&Receipt),
) -> Result<(Duration, Option<Receipt>)> {
    lat.clear();
    let mut last = None;
    let before = Counters::now();
    let start = Instant::now();
    let mut append = |w: &mut Writer| -> Result<()> {
        let t = Instant::now();
        let r = w.append(e)?;
        lat.push(t.elapsed().as_nanos() as u64);
        on_receipt(&r);
        last = Some(r);
        Ok(())
    };
    match workload {
        Workload::BackToBack => {
            for _ in 0..n {
                append(w)?;
            }
        }
        Workload::Steady { per_sec } => {
            let period = 1e9 / per_sec as f64;
            for i in 0..n {
                let due = start + Duration::from_nanos((i as f64 * period) as u64);
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
                append(w)?;
            }
        }
        Workload::Bursts { size, pause } => {
            let mut done = 0;
            while done < n {
                let k = size.min(n - done);
                for _ in 0..k {
                    append(w)?;
                }
                done += k;
                std::thread::sleep(pause);
            }
        }
    }
    let elapsed = start.elapsed();
    *COUNTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Counters::now().since(before);
    Ok((elapsed, last))
}

/// The counters of the last [`drive`].
static COUNTED: std::sync::Mutex<Counters> = std::sync::Mutex::new(Counters {
    minor_faults: 0,
    voluntary: 0,
    involuntary: 0,
    tlb_shootdowns: 0,
});

fn counted() -> Counters {
    *COUNTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits, without asking for a flush, until `seq` is durable.
fn passively_durable(w: &Writer, seq: Seq, since: Instant) -> Option<Duration> {
    let h = w.durability_handle();
    while since.elapsed() < Duration::from_secs(30) {
        if h.durable_seq().is_some_and(|d| d >= seq) {
            return Some(since.elapsed());
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    None
}

fn options(d: Durability) -> WriterOptions {
    WriterOptions::default().durability(d)
}

fn run(d: Durability, workload: Workload, n: u64, fresh: bool, lat: &mut Vec<u64>) -> Result<Row> {
    let p = payload(TYPICAL_PAYLOAD);
    let e = entry(&p);
    let mut ledger = if fresh {
        WarmLedger::fresh(options(d), TYPICAL_PAYLOAD)?
    } else {
        WarmLedger::new(options(d), TYPICAL_PAYLOAD)?
    };
    let (elapsed, last) = drive(&mut ledger.writer, &e, n, workload, lat, &mut |_| {})?;
    let end = Instant::now();
    let durable_after = match (d, last) {
        (Durability::GroupCommit { .. }, Some(r)) => passively_durable(&ledger.writer, r.seq, end),
        _ => None,
    };
    let hist = histogram(lat)?;
    let mut mode = durability_name(d).to_owned();
    if fresh {
        mode.push_str(" (new ledger)");
    }
    drop(ledger);
    let mut row = Row::new(mode, workload, n, elapsed, hist, durable_after);
    row.counters = counted();
    Ok(row)
}

/// What the durable-throughput run measured besides the writer's row.
struct Durable {
    row: Row,
    /// Appends made durable per second, from the first append until the
    /// last was durable.
    durable_per_sec: f64,
    waits: u64,
    wait_hist: Histogram<u64>,
}

/// Group commit with a thread waiting for the latest receipt in a loop.
fn durable_run(workload: Workload, n: u64, lat: &mut Vec<u64>) -> Result<Durable> {
    let p = payload(TYPICAL_PAYLOAD);
    let e = entry(&p);
    let mut ledger = WarmLedger::new(options(group_commit()), TYPICAL_PAYLOAD)?;
    let handle = ledger.writer.durability_handle();
    let latest = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let (writer_result, waiter_result) = std::thread::scope(|s| {
        let waiter = s.spawn(|| -> Result<(Vec<u64>, Duration)> {
            let mut waited = 0;
            let mut waits = Vec::with_capacity(100_000);
            loop {
                let seq = latest.load(Ordering::Acquire);
                if seq > waited {
                    let t = Instant::now();
                    handle.wait(Seq::new(seq))?;
                    waits.push(t.elapsed().as_nanos() as u64);
                    waited = seq;
                } else if done.load(Ordering::Acquire) {
                    return Ok((waits, start.elapsed()));
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        let r = drive(&mut ledger.writer, &e, n, workload, lat, &mut |r| {
            latest.store(r.seq.get(), Ordering::Release)
        });
        done.store(true, Ordering::Release);
        let w = waiter
            .join()
            .unwrap_or_else(|_| Err("the waiter thread panicked".into()));
        (r, w)
    });
    let (elapsed, _) = writer_result?;
    let counters = counted();
    let (waits, all_durable) = waiter_result?;
    let hist = histogram(lat)?;
    let (wait_hist, _, _) = histogram(&waits)?;
    drop(ledger);
    let mut row = Row::new(
        "group_commit + waiter".into(),
        workload,
        n,
        elapsed,
        hist,
        Some(all_durable.saturating_sub(elapsed)),
    );
    row.counters = counters;
    Ok(Durable {
        row,
        durable_per_sec: n as f64 / all_durable.as_secs_f64(),
        waits: waits.len() as u64,
        wait_hist,
    })
}

/// The cost of the timing itself: two `Instant::now()` around nothing.
fn timer_overhead(lat: &mut Vec<u64>) -> Result<Histogram<u64>> {
    lat.clear();
    for _ in 0..1_000_000 {
        let t = Instant::now();
        black_box(());
        lat.push(t.elapsed().as_nanos() as u64);
    }
    Ok(histogram(lat)?.0)
}

fn print_table(rows: &[Row]) {
    println!(
        "| mode | workload | appends | appends/s | p50 ns | p99 ns | p99.9 ns | p99.99 ns | max ns | > 100 µs | last durable after | writer minor faults | writer switches vol / invol | TLB shootdowns (machine) |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let q = |x: f64| r.hist.value_at_quantile(x);
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
            r.mode,
            r.workload,
            r.appends,
            r.per_sec,
            q(0.50),
            q(0.99),
            q(0.999),
            q(0.9999),
            r.max,
            r.stalls,
            r.durable_after.map_or("-".to_owned(), |d| format!(
                "{:.2} ms",
                d.as_secs_f64() * 1e3
            )),
            r.counters.minor_faults,
            r.counters.voluntary,
            r.counters.involuntary,
            r.counters.tlb_shootdowns,
        );
    }
}

/// The command line: `--appends N` and `--only GROUP`.
struct Args {
    n: u64,
    /// Which rows to run: `no_sync`, `group_commit`, `waiter`, `sync` or
    /// everything (`None`).
    only: Option<String>,
}

fn args() -> Result<Args> {
    let mut n = DEFAULT_APPENDS;
    let mut only = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--appends" | "--only" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                if a == "--only" {
                    only = Some(v);
                } else {
                    n = v
                        .replace('_', "")
                        .parse()
                        .map_err(|e| format!("{a} {v:?}: {e}"))?;
                }
            }
            "-h" | "--help" => {
                println!("usage: latency [--appends N] [--only no_sync|group_commit|waiter|sync]   (default {DEFAULT_APPENDS} appends, every row)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(Args { n: n.max(1), only })
}

fn main() -> Result<()> {
    let Args { n, only } = args()?;
    let wants = |group: &str| only.as_deref().is_none_or(|o| o == group);
    let mut lat = Vec::with_capacity(n as usize);
    println!("# ledger append latency\n");
    println!("- machine: {}", machine_description());
    println!(
        "- ledger folder: {} (temporary); default segments of {} MiB; payload {} bytes",
        std::env::temp_dir().display(),
        ledger_core::DEFAULT_SEGMENT_SIZE >> 20,
        TYPICAL_PAYLOAD
    );
    let overhead = timer_overhead(&mut lat)?;
    println!(
        "- timer overhead (two Instant::now() around nothing): p50 {} ns, p99 {} ns, p99.99 {} ns; included in every figure below",
        overhead.value_at_quantile(0.5),
        overhead.value_at_quantile(0.99),
        overhead.value_at_quantile(0.9999)
    );
    println!();

    let workloads = [
        Workload::BackToBack,
        Workload::Steady {
            per_sec: STEADY_RATE,
        },
        Workload::Bursts {
            size: BURST,
            pause: BURST_PAUSE,
        },
    ];
    let mut rows = Vec::new();
    for d in [Durability::NoSync, group_commit()] {
        if !wants(durability_name(d)) {
            continue;
        }
        for w in workloads {
            eprintln!("running {} / {} ...", durability_name(d), w.describe());
            rows.push(run(d, w, n, false, &mut lat)?);
        }
    }
    if wants("no_sync") {
        eprintln!("running no_sync / new ledger ...");
        rows.push(run(
            Durability::NoSync,
            Workload::BackToBack,
            n,
            true,
            &mut lat,
        )?);
    }
    if wants("sync") {
        // One flush of the device per append: a thousandth of the appends.
        let synced = (n / 1000).max(100);
        eprintln!("running sync_every_append / back to back ({synced}) ...");
        rows.push(run(
            Durability::SyncEveryAppend,
            Workload::BackToBack,
            synced,
            false,
            &mut lat,
        )?);
    }
    let mut durable = Vec::new();
    for w in [Workload::BackToBack, workloads[1]] {
        if !wants("waiter") {
            break;
        }
        eprintln!("running group_commit + waiter / {} ...", w.describe());
        durable.push(durable_run(w, n, &mut lat)?);
    }
    let mut all = rows;
    let mut extra = Vec::new();
    for d in durable {
        extra.push((
            d.row.workload.clone(),
            d.durable_per_sec,
            d.waits,
            d.wait_hist,
        ));
        all.push(d.row);
    }
    print_table(&all);
    println!();
    println!("\"last durable after\": group commit, time from the end of the last append until the flusher had made it durable without being asked; with a waiter, until the waiter's last `wait` returned.\n");
    println!(
        "## Durable appends per second (group commit, one thread waiting on the latest receipt)\n"
    );
    println!("| writer workload | durable appends/s | waits | appends per wait | wait p50 µs | wait p99 µs | wait max µs |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (workload, per_sec, waits, h) in extra {
        println!(
            "| {} | {:.0} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            workload,
            per_sec,
            waits,
            n as f64 / waits.max(1) as f64,
            h.value_at_quantile(0.5) as f64 / 1e3,
            h.value_at_quantile(0.99) as f64 / 1e3,
            h.max() as f64 / 1e3,
        );
    }
    Ok(())
}
