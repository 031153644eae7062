//! Running one mode of one store: a timed pass for the latency, an untimed
//! one for the throughput.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ledger_benches::{wait_for_preallocation, BoxError};

use crate::Result;

/// Below this mean time per event a mode runs a second, untimed pass.
pub(crate) const TIMER_MATTERS: Duration = Duration::from_micros(2);

/// Per-event latency in nanoseconds.
pub(crate) struct Latency {
    pub(crate) p50: u64,
    pub(crate) p99: u64,
    pub(crate) p999: u64,
    pub(crate) max: u64,
    /// Calls slower than [`STALL`].
    pub(crate) stalls: u64,
}

/// A call slower than this (in nanoseconds) counts as a stall.
const STALL: u64 = 100_000;

/// One line of the main table.
pub(crate) struct Row {
    pub(crate) store: &'static str,
    pub(crate) mode: String,
    pub(crate) survives: &'static str,
    pub(crate) events: u64,
    pub(crate) per_sec: f64,
    /// Events durable (flushed to the device) per second, counting until
    /// the last one was, where the mode makes them durable.
    pub(crate) durable_per_sec: Option<f64>,
    pub(crate) latency: Option<Latency>,
    pub(crate) bytes_per_event: Option<f64>,
}

/// What a store reports when a run ends.
pub(crate) struct Finish {
    pub(crate) bytes: Option<u64>,
    /// Time after the last append until everything was durable.
    pub(crate) durable_after: Option<Duration>,
}

/// One mode of one store: how to make the store, do one step (`per_step`
/// events), and finish.
pub(crate) struct Mode<'a, S> {
    pub(crate) store: &'static str,
    pub(crate) mode: String,
    pub(crate) survives: &'static str,
    pub(crate) events: u64,
    pub(crate) per_step: u64,
    pub(crate) make: &'a dyn Fn() -> std::result::Result<S, BoxError>,
    pub(crate) step: &'a dyn Fn(&mut S) -> std::result::Result<(), BoxError>,
    pub(crate) finish: &'a dyn Fn(S) -> std::result::Result<Finish, BoxError>,
    /// Whether every step makes its events durable.
    pub(crate) durable_steps: bool,
}

pub(crate) fn histogram(samples: &[u64]) -> Result<Latency> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)?;
    let mut stalls = 0;
    for &s in samples {
        h.record(s.max(1))?;
        stalls += u64::from(s > STALL);
    }
    Ok(Latency {
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        stalls,
    })
}

/// Gives the kernel's background work (writeback, freeing the previous
/// run's files) a moment before the next run, on a machine with few cores.
pub(crate) fn settle() {
    wait_for_preallocation(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(200));
}

pub(crate) fn run<S>(m: Mode<'_, S>, lat: &mut Vec<u64>) -> Result<Row> {
    let steps = m.events / m.per_step;
    let events = steps * m.per_step;
    eprintln!("running {} / {} ({events} events) ...", m.store, m.mode);
    let per_event = m.per_step == 1;
    // Timed pass (per-event modes): the latency of every call.
    let mut latency = None;
    let mut timed_rate = None;
    let mut finish = None;
    if per_event {
        let mut s = (m.make)()?;
        settle();
        lat.clear();
        let start = Instant::now();
        for _ in 0..steps {
            let t = Instant::now();
            (m.step)(&mut s)?;
            lat.push(t.elapsed().as_nanos() as u64);
        }
        let elapsed = start.elapsed();
        let f = (m.finish)(s)?;
        latency = Some(histogram(lat)?);
        if elapsed / steps.max(1) as u32 >= TIMER_MATTERS {
            timed_rate = Some((elapsed, f.durable_after));
        }
        finish = Some(f);
    }
    // Untimed pass: the throughput.
    let (elapsed, durable_after) = match timed_rate {
        Some(r) => r,
        None => {
            let mut s = (m.make)()?;
            settle();
            let start = Instant::now();
            for _ in 0..steps {
                (m.step)(&mut s)?;
            }
            let elapsed = start.elapsed();
            let f = (m.finish)(s)?;
            let durable_after = f.durable_after;
            if finish.is_none() {
                finish = Some(f);
            }
            (elapsed, durable_after)
        }
    };
    let secs = elapsed.as_secs_f64();
    let durable_per_sec = match durable_after {
        Some(d) => Some(events as f64 / (secs + d.as_secs_f64())),
        None if m.durable_steps => Some(events as f64 / secs),
        None => None,
    };
    let bytes = finish.and_then(|f| f.bytes);
    Ok(Row {
        store: m.store,
        mode: m.mode,
        survives: m.survives,
        events,
        per_sec: events as f64 / secs,
        durable_per_sec,
        latency,
        bytes_per_event: bytes.map(|b| b as f64 / events as f64),
    })
}
