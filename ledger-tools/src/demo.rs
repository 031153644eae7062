//! `ledger demo`: the whole pipeline on an embedded ledger in a folder.
//!
//! 1. Opens (or creates) the ledger with group commit, through the trading
//!    domain ([`TradingLedger`]), and routes the engine's `tracing` warnings
//!    into it ([`LedgerLayer`]).
//! 2. Appends the scripted demo session (decisions with reasoning and
//!    market snapshots, executions, three trades, nine position snapshots,
//!    risk, system and audit events, metrics), validated event by event,
//!    and with `--events N` a generated session of N more events.
//! 3. Waits until everything is durable, closes, verifies the whole chain.
//! 4. Rebuilds every projection from the log, prints the performance report
//!    and the story of the losing trade ("why did we trade").

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::sim::{demo_session, Generator};
use ledger_core::{verify_dir, VerifyOptions};
use ledger_core::{Durability, Reader, Timestamp, WriterOptions};
use ledger_domain::tracing_layer::LedgerLayer;
use ledger_domain::{
    replay, Event, PerformanceReport, ReplayOptions, ReportFilter, SessionId, TradeId,
    TradingLedger,
};
use tracing_subscriber::layer::SubscriberExt;

use crate::cli::DemoArgs;
use crate::error::ToolError;
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, per_second, seconds, time};
use crate::report_fmt::{report_table, trade_story};

/// Events the scripted session appends: the session itself plus the one
/// warning the engine logs through `tracing` when the stop loss fires.
pub fn scripted_events() -> usize {
    demo_session("x", "", Timestamp::from_nanos(1)).len() + 1
}

/// Runs `ledger demo` on `dir`, writing what it did to `out`.
pub fn run(dir: &Path, args: &DemoArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let w = ToolError::Output;
    let opts = WriterOptions::default()
        .segment_size(args.segment_size)
        .durability(Durability::GroupCommit {
            interval: Duration::from_millis(2),
        });
    let existed = ledger_core::is_ledger(&ledger_core::storage::FsStorage::new(dir));
    let ledger = TradingLedger::open(dir, opts)?;
    let id = ledger.writer().ledger_id();
    if existed {
        writeln!(out, "opened ledger {id} in {}", dir.display()).map_err(w)?;
        let rec = &ledger.open_report().recovery;
        if let Some(cut) = &rec.cut {
            writeln!(
                out,
                "recovery cut a torn tail: {} bytes of {} at offset {} (sequence {}), saved to {}",
                cut.bytes, cut.segment, cut.offset, cut.seq, cut.saved_to
            )
            .map_err(w)?;
        }
        for seg in &rec.completed_seals {
            writeln!(out, "recovery completed the seal of {seg}").map_err(w)?;
        }
        for cut in &rec.discarded {
            writeln!(
                out,
                "recovery saved {} ({} bytes, {} whole records, never durable) to {} and removed it",
                cut.segment, cut.bytes, cut.valid_looking_records, cut.saved_to
            )
            .map_err(w)?;
        }
    } else {
        writeln!(out, "created ledger {id} in {}", dir.display()).map_err(w)?;
    }

    // Each run is its own session, with its own ids, after whatever is there.
    let run_no = ledger
        .projections()
        .sessions
        .keys()
        .filter(|s| !s.as_str().ends_with("-generated"))
        .count()
        + 1;
    let session = format!("demo-{run_no}");
    let prefix = if run_no == 1 {
        String::new()
    } else {
        format!("r{run_no}-")
    };
    // Continue 1 ms after the last record (times never decrease); a last
    // record at the end of time leaves no room.
    let last = ledger.writer().head().map_or(0, |h| h.timestamp.as_nanos());
    let after = last.checked_add(1_000_000).ok_or_else(|| {
        ToolError::Refused(format!(
            "the last record of the ledger in {} is stamped {}, the latest time the format holds; no event can follow it",
            dir.display(),
            Timestamp::from_nanos(last)
        ))
    })?;
    let clock = Timestamp::now();
    let skew = i64::try_from(ledger_core::DEFAULT_MAX_CLOCK_SKEW.as_nanos()).unwrap_or(i64::MAX);
    if after > clock.as_nanos().saturating_add(skew) {
        return Err(ToolError::Refused(format!(
            "the last record of the ledger in {} is stamped {}, more than a day ahead of this machine's clock ({clock}); the demo's events would have to follow it",
            dir.display(),
            Timestamp::from_nanos(last)
        )));
    }
    let mut start = clock.max(Timestamp::from_nanos(after));
    // A generated session spread over D days is written first, in the past:
    // it ends a minute before now (and starts after the log's last record),
    // and the scripted session follows it.
    let spread: Option<Vec<(Timestamp, Event)>> =
        args.days.filter(|_| args.events > 0).map(|days| {
            let events: Vec<(Timestamp, Event)> = Generator::new(
                &format!("{session}-generated"),
                args.seed,
                Timestamp::from_nanos(0),
            )
            .over_days(days, args.events)
            .take(args.events as usize)
            .collect();
            let span = events.last().map_or(0, |e| e.0.as_nanos());
            let begin = clock
                .as_nanos()
                .saturating_sub(span.saturating_add(60_000_000_000))
                .max(after.saturating_add(1));
            events
                .into_iter()
                .map(|(t, e)| (Timestamp::from_nanos(begin.saturating_add(t.as_nanos())), e))
                .collect()
        });
    let sealed_before = ledger.writer().sealed_segments();
    let handle = ledger.into_handle();
    let logger = handle.session(session.as_str());
    let layer = LedgerLayer::new(logger.clone(), tracing::Level::WARN);
    let dropped = layer.dropped_counter();
    let subscriber = tracing_subscriber::registry().with(layer);

    let started = Instant::now();
    let mut appended = 0u64;
    let mut last = None;
    if let Some(events) = &spread {
        for (t, e) in events {
            last = Some(handle.with(|l| l.append_at(*t, e))?);
            appended += 1;
        }
        if let Some(r) = &last {
            start = start.max(r.timestamp);
        }
    }
    let generated_first = appended;
    let script = demo_session(&session, &prefix, start);
    tracing::subscriber::with_default(subscriber, || -> Result<(), ToolError> {
        for (t, e) in &script {
            if matches!(e, Event::Risk(r) if r.rule == "stop_loss") {
                // The engine's own logging lands in the ledger too.
                tracing::warn!(symbol = "SOL-USD", stop = "97", "stop loss breached");
                appended += 1;
            }
            last = Some(handle.with(|l| l.append_at(*t, e))?);
            appended += 1;
        }
        Ok(())
    })?;
    let scripted = appended - generated_first;
    let generated_session = format!("{session}-generated");
    if args.events > 0 && spread.is_none() {
        let after = last.map_or(start, |r| r.timestamp);
        for (t, e) in
            Generator::new(&generated_session, args.seed, after).take(args.events as usize)
        {
            last = Some(handle.with(|l| l.append_at(t, &e))?);
            appended += 1;
        }
    }
    let took = started.elapsed();
    if let Some(r) = last {
        handle.with(|l| l.writer().wait_durable(r.seq))?;
    }
    let durable = started.elapsed();
    let sealed = handle.with(|l| l.writer().sealed_segments()) - sealed_before;
    writeln!(
        out,
        "appended {appended} events: {scripted} in session {session} (3 trades){}, in {} ({} events/s), each validated",
        if args.events > 0 {
            format!(", {} in session {generated_session}", args.events)
        } else {
            String::new()
        },
        seconds(took),
        per_second(appended, took)
    )
    .map_err(w)?;
    if let Some(r) = last {
        writeln!(
            out,
            "durable through sequence {} after {} (group commit); sealed {sealed} segment(s) of {} on the way",
            r.seq,
            seconds(durable),
            human_bytes(args.segment_size)
        )
        .map_err(w)?;
    }
    if dropped.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        writeln!(out, "warning: some tracing events could not be recorded").map_err(w)?;
    }
    // Close: with the logger gone, the handle is the ledger's last owner.
    drop(logger);
    match handle.into_inner() {
        Ok(ledger) => ledger.close()?,
        Err(_) => return Err(ToolError::Refused("the ledger is still in use".into())),
    }

    // Verify the whole chain from the files.
    let started = Instant::now();
    let report = verify_dir(dir, &VerifyOptions::default())?;
    let took = started.elapsed();
    for f in &report.findings {
        writeln!(out, "{f}").map_err(w)?;
    }
    let intact = report.is_intact() && report.head.map(|h| h.seq) == last.map(|r| r.seq);
    writeln!(
        out,
        "verified {} records in {} segments ({}) in {} ({}/s): {}",
        report.records,
        report.segments,
        human_bytes(report.bytes),
        seconds(took),
        human_bytes(per_second(report.bytes, took)),
        if intact { "intact" } else { "DAMAGED" }
    )
    .map_err(w)?;
    if let Some(h) = report.head {
        writeln!(out, "head: sequence {}, chain hash {}", h.seq, h.chain_hash).map_err(w)?;
    }

    // Rebuild the projections from the log alone.
    let reader = Reader::open(dir)?;
    let started = Instant::now();
    let all = replay(&reader, &ReplayOptions::default())?;
    let took = started.elapsed();
    let total = all.total_events();
    writeln!(
        out,
        "rebuilt the projections from the log: {total} events folded in {} ({} events/s); {} trades, {} positions, {} metrics, {} sessions",
        seconds(took),
        per_second(total, took),
        all.trades.len(),
        all.positions.len(),
        all.metrics.len(),
        all.sessions.len()
    )
    .map_err(w)?;

    let mine = replay(
        &reader,
        &ReplayOptions {
            session: Some(SessionId::from(session.as_str())),
            ..Default::default()
        },
    )?;
    let span = mine.sessions.values().next().and_then(|s| s.span);
    writeln!(
        out,
        "\nperformance of session {session}{}:",
        span.map_or(String::new(), |(a, b)| format!(
            " ({} to {})",
            time(a),
            time(b)
        ))
    )
    .map_err(w)?;
    let perf = PerformanceReport::compute(&mine, &ReportFilter::default())?;
    write!(out, "{}", report_table(&perf)).map_err(w)?;
    if args.events > 0 {
        writeln!(out, "\nperformance of the whole ledger:").map_err(w)?;
        let perf = PerformanceReport::compute(&all, &ReportFilter::default())?;
        writeln!(
            out,
            "{} trades, win rate {}, net P&L {:.2}, max drawdown {:.2}",
            perf.total.trades,
            perf.total
                .win_rate
                .map_or("-".into(), |r| format!("{:.1} %", r * 100.0)),
            perf.total.net_pnl,
            perf.total.max_drawdown
        )
        .map_err(w)?;
    }
    let loser = TradeId::new(format!("{prefix}T3"));
    if let Some(story) = mine.explain_trade(&loser, &reader)? {
        writeln!(out, "\nwhy did we trade {loser}?").map_err(w)?;
        write!(out, "{}", trade_story(&story)).map_err(w)?;
    }
    Ok(if intact { Exit::Success } else { Exit::Damage })
}
