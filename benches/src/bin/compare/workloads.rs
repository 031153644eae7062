//! The fixed workload: every store and mode, in order.

use std::hint::black_box;
use std::time::Instant;

use ledger_benches::baselines::{
    chain_record, link, BatpakStore, Flush, JsonlJournal, SqliteChain, Synchronous, BATCH,
};
use ledger_benches::{
    build_ledger, entry, group_commit, payload, records_per_segment, temp_dir, BoxError, MmapCopy,
    WarmLedger, BENCH_SEGMENT_SIZE, TYPICAL_PAYLOAD,
};
use ledger_core::{ChainHash, Durability, Entry, WriterOptions, DEFAULT_SEGMENT_SIZE};

use crate::run::{run, Finish, Mode, Row};
use crate::{Plan, Result};

/// The mode name of the ledger's reference row: single appends without
/// sync, in default segments, rotations included.
pub(crate) const NO_SYNC: &str = "append, no sync";

/// Bytes per event of the ledger in the steady state: a sealed segment of
/// the default size, divided by the records it holds. (The active segment
/// is preallocated to its full size, and the next one is prepared ahead.)
fn ledger_bytes_per_event() -> Result<f64> {
    let dir = temp_dir()?;
    let per_segment = records_per_segment(DEFAULT_SEGMENT_SIZE, TYPICAL_PAYLOAD);
    build_ledger(
        dir.path(),
        DEFAULT_SEGMENT_SIZE,
        TYPICAL_PAYLOAD,
        per_segment + 1,
    )?;
    let mut sealed = Vec::new();
    for e in std::fs::read_dir(dir.path())?.flatten() {
        if e.path().extension().is_some_and(|x| x == "seg") {
            sealed.push(e.metadata()?.len());
        }
    }
    match sealed.as_slice() {
        [bytes] => Ok(*bytes as f64 / per_segment as f64),
        other => Err(format!("expected one sealed segment, found {}", other.len()).into()),
    }
}

fn ledger_options(d: Durability) -> WriterOptions {
    WriterOptions::default().durability(d)
}

/// Ends a ledger run; with `wait_durable`, first waits until the last
/// append is durable (`DurabilityHandle::wait`, which asks the group commit
/// thread for an early flush) and reports how long that took.
fn ledger_finish(l: WarmLedger, wait_durable: bool) -> std::result::Result<Finish, BoxError> {
    let start = Instant::now();
    let durable_after = match l.writer.head() {
        Some(h) if wait_durable => {
            l.writer.durability_handle().wait(h.seq)?;
            Some(start.elapsed())
        }
        _ => None,
    };
    drop(l);
    Ok(Finish {
        bytes: None,
        durable_after,
    })
}

/// One mode of a baseline store: its [`Mode`] but for the store's name and
/// finish, which [`run_store`] adds.
struct Variant<'a, S> {
    mode: String,
    survives: &'static str,
    events: u64,
    per_step: u64,
    make: &'a dyn Fn() -> std::result::Result<S, BoxError>,
    step: &'a dyn Fn(&mut S) -> std::result::Result<(), BoxError>,
    durable_steps: bool,
}

/// Runs the `variants` of one baseline store in order, each finished by
/// `close` (which returns the bytes on disk), and appends their rows.
fn run_store<S, const N: usize>(
    store: &'static str,
    close: fn(S) -> std::result::Result<u64, BoxError>,
    variants: [Variant<'_, S>; N],
    rows: &mut Vec<Row>,
    lat: &mut Vec<u64>,
) -> Result<()> {
    let finish = |s: S| -> std::result::Result<Finish, BoxError> {
        Ok(Finish {
            bytes: Some(close(s)?),
            durable_after: None,
        })
    };
    for v in variants {
        rows.push(run(
            Mode {
                store,
                mode: v.mode,
                survives: v.survives,
                events: v.events,
                per_step: v.per_step,
                make: v.make,
                step: v.step,
                finish: &finish,
                durable_steps: v.durable_steps,
            },
            lat,
        )?);
    }
    Ok(())
}

pub(crate) fn run_all(plan: Plan, lat: &mut Vec<u64>) -> Result<Vec<Row>> {
    let p = payload(TYPICAL_PAYLOAD);
    let e = entry(&p);
    let batch: Vec<Entry<'_>> = (0..BATCH).map(|_| entry(&p)).collect();
    let (rec, hashed) = chain_record(&p);
    let mut rows = Vec::new();

    // The physical limits.
    {
        let prev = std::cell::Cell::new(ChainHash::from_bytes([1; 32]));
        rows.push(run(
            Mode {
                store: "limit",
                mode: "blake3 chain over the record bytes, nothing stored".into(),
                survives: "-",
                events: plan.fast,
                per_step: 1,
                make: &|| Ok(()),
                step: &|_| {
                    prev.set(link(&prev.get(), black_box(&rec[..hashed])));
                    Ok(())
                },
                finish: &|_| {
                    Ok(Finish {
                        bytes: None,
                        durable_after: None,
                    })
                },
                durable_steps: false,
            },
            lat,
        )?);
        rows.push(run(
            Mode {
                store: "limit",
                mode: "copy the record bytes into a memory map, no hash".into(),
                survives: "process crash",
                events: plan.fast,
                per_step: 1,
                make: &|| Ok(MmapCopy::new(64 << 20)?),
                step: &|m| {
                    m.copy(black_box(&rec));
                    Ok(())
                },
                finish: &|_| {
                    Ok(Finish {
                        bytes: Some(0),
                        durable_after: None,
                    })
                },
                durable_steps: false,
            },
            lat,
        )?);
        if let Some(r) = rows.last_mut() {
            r.bytes_per_event = Some(rec.len() as f64);
        }
    }

    // This ledger.
    let ledger_bytes = ledger_bytes_per_event()?;
    for (mode, d, survives) in [
        (NO_SYNC, Durability::NoSync, "process crash"),
        (
            "append, group commit (2 ms)",
            group_commit(),
            "process crash; power loss after the next group commit",
        ),
    ] {
        let mut row = run(
            Mode {
                store: "this ledger",
                mode: mode.into(),
                survives,
                events: plan.fast,
                per_step: 1,
                make: &|| WarmLedger::new(ledger_options(d), TYPICAL_PAYLOAD),
                step: &|l| {
                    let _ = black_box(l.writer.append(&e)?);
                    Ok(())
                },
                finish: &|l| ledger_finish(l, d != Durability::NoSync),
                durable_steps: false,
            },
            lat,
        )?;
        row.bytes_per_event = Some(ledger_bytes);
        rows.push(row);
    }
    // The same appends inside one large pre-faulted segment: the cost of
    // rotation (sealing a full segment) is what the row above has more.
    let big = records_per_segment(BENCH_SEGMENT_SIZE, TYPICAL_PAYLOAD).saturating_sub(1);
    let mut row = run(
        Mode {
            store: "this ledger",
            mode: format!(
                "append, no sync, inside one {} MiB segment (no rotation)",
                BENCH_SEGMENT_SIZE >> 20
            ),
            survives: "process crash",
            events: plan.fast.min(big),
            per_step: 1,
            make: &|| {
                WarmLedger::new(
                    ledger_options(Durability::NoSync).segment_size(BENCH_SEGMENT_SIZE),
                    TYPICAL_PAYLOAD,
                )
            },
            step: &|l| {
                let _ = black_box(l.writer.append(&e)?);
                Ok(())
            },
            finish: &|l| ledger_finish(l, false),
            durable_steps: false,
        },
        lat,
    )?;
    row.bytes_per_event = Some(ledger_bytes);
    rows.push(row);
    let mut row = run(
        Mode {
            store: "this ledger",
            mode: format!("append_batch of {BATCH}, no sync"),
            survives: "process crash",
            events: plan.fast,
            per_step: BATCH as u64,
            make: &|| WarmLedger::new(ledger_options(Durability::NoSync), TYPICAL_PAYLOAD),
            step: &|l| {
                let _ = black_box(l.writer.append_batch(&batch)?);
                Ok(())
            },
            finish: &|l| ledger_finish(l, false),
            durable_steps: false,
        },
        lat,
    )?;
    row.bytes_per_event = Some(ledger_bytes);
    rows.push(row);
    let mut row = run(
        Mode {
            store: "this ledger",
            mode: "append, sync every append".into(),
            survives: "power loss",
            events: plan.synced,
            per_step: 1,
            make: &|| WarmLedger::new(ledger_options(Durability::SyncEveryAppend), TYPICAL_PAYLOAD),
            step: &|l| {
                let _ = black_box(l.writer.append(&e)?);
                Ok(())
            },
            finish: &|l| ledger_finish(l, false),
            durable_steps: true,
        },
        lat,
    )?;
    row.bytes_per_event = Some(ledger_bytes);
    rows.push(row);

    // JSON lines with SHA-256.
    run_store(
        "JSON lines + SHA-256",
        JsonlJournal::close,
        [
            Variant {
                mode: format!("BufWriter, flush per batch of {BATCH}"),
                survives: "process crash, once flushed",
                events: plan.fast,
                per_step: BATCH as u64,
                make: &|| JsonlJournal::new(Flush::PerBatch, u64::MAX),
                step: &|j| j.append_batch(&p, BATCH),
                durable_steps: false,
            },
            Variant {
                mode: "BufWriter, flush per event".into(),
                survives: "process crash",
                events: plan.fast,
                per_step: 1,
                make: &|| JsonlJournal::new(Flush::PerEvent, u64::MAX),
                step: &|j| j.append(&p),
                durable_steps: false,
            },
        ],
        &mut rows,
        lat,
    )?;

    // SQLite.
    run_store(
        "SQLite (WAL)",
        SqliteChain::close,
        [
            Variant {
                mode: format!("synchronous=NORMAL, {BATCH} per transaction"),
                survives: "process crash, once committed",
                events: plan.fast,
                per_step: BATCH as u64,
                make: &|| SqliteChain::new(Synchronous::Normal, u64::MAX),
                step: &|db| db.append_batch(&p, BATCH),
                durable_steps: false,
            },
            Variant {
                mode: "synchronous=NORMAL, commit per event".into(),
                survives: "process crash",
                events: plan.medium,
                per_step: 1,
                make: &|| SqliteChain::new(Synchronous::Normal, u64::MAX),
                step: &|db| db.append(&p),
                durable_steps: false,
            },
            Variant {
                mode: "synchronous=FULL, commit per event".into(),
                survives: "power loss",
                events: plan.synced,
                per_step: 1,
                make: &|| SqliteChain::new(Synchronous::Full, u64::MAX),
                step: &|db| db.append(&p),
                durable_steps: true,
            },
        ],
        &mut rows,
        lat,
    )?;

    // batpak.
    run_store(
        "batpak 0.10",
        BatpakStore::close,
        [
            Variant {
                mode: format!("append_batch of {BATCH}"),
                survives: "batpak default (sync_all every 1,000 events)",
                events: plan.medium,
                per_step: BATCH as u64,
                make: &|| BatpakStore::new(u64::MAX),
                step: &|s| s.append_batch(&p, BATCH),
                durable_steps: false,
            },
            Variant {
                mode: "append per event".into(),
                survives: "batpak default (sync_all every 1,000 events)",
                events: plan.slow,
                per_step: 1,
                make: &|| BatpakStore::new(u64::MAX),
                step: &|s| s.append(&p),
                durable_steps: false,
            },
        ],
        &mut rows,
        lat,
    )?;
    Ok(rows)
}
