//! `ledger replay`: folds the log up to a point (a sequence number or a
//! time, optionally one session's events only) and shows the projected
//! state then: events by kind, sessions, open trades, positions with their
//! latest snapshot, the latest value of every metric. With `--trade`, the
//! trade's story from its decision (reasoning, market snapshot) to its close.

use std::io::Write;
use std::path::Path;

use ledger_core::{Reader, Seq};
use ledger_domain::{
    replay, views_json, Decimal, EventKind, Projections, ReplayOptions, SessionId, TradeId,
};

use crate::cli::ReplayArgs;
use crate::error::{finish, ToolError};
use crate::exit::Exit;
use crate::human::time;
use crate::report_fmt::trade_story;
use crate::summary::name;

/// Runs `ledger replay` on `dir`.
pub fn run(dir: &Path, args: &ReplayArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let reader = Reader::open(dir)?;
    let opts = ReplayOptions {
        until_seq: args.until_seq.map(Seq::new),
        until_time: args.until,
        session: args.session.as_deref().map(SessionId::from),
    };
    let p = replay(&reader, &opts)?;
    let point = match p.last {
        Some((seq, hash, t)) => format!("record {seq} ({}), chain hash {hash}", time(t)),
        None => "the start of the log (no record folded)".into(),
    };

    if let Some(trade) = &args.trade {
        let id = TradeId::new(trade.as_str());
        let Some(story) = p.explain_trade(&id, &reader)? else {
            return Err(ToolError::Refused(format!(
                "no trade {trade} in the ledger in {} up to {point}{}",
                dir.display(),
                args.session
                    .as_deref()
                    .map_or(String::new(), |s| format!(" (session {s})"))
            )));
        };
        let written = if args.json {
            let v = views_json::trade_story(&p, &story);
            writeln!(out, "{v:#}")
        } else {
            writeln!(out, "as of {point}:").and_then(|()| write!(out, "{}", trade_story(&story)))
        };
        return finish(Exit::Success, written);
    }

    let closed_net = ledger_domain::total_net_pnl(&p.closed_trades())?;
    let written = if args.json {
        writeln!(out, "{:#}", state_json(&p, args, closed_net))
    } else {
        write_state(&p, &point, args, closed_net, out)
    };
    finish(Exit::Success, written)
}

fn sorted_sessions(p: &Projections) -> Vec<(&SessionId, &ledger_domain::SessionView)> {
    let mut v: Vec<_> = p.sessions.iter().collect();
    v.sort_by_key(|(id, s)| (s.span.map(|x| x.0), (*id).clone()));
    v
}

/// The state as one JSON object ([`ledger_domain::views_json::replay_state`]).
/// `closed_net` is the checked sum of the closed trades' net P&L
/// ([`ledger_domain::total_net_pnl`]).
pub fn state_json(p: &Projections, args: &ReplayArgs, closed_net: Decimal) -> serde_json::Value {
    let opts = ReplayOptions {
        until_seq: args.until_seq.map(Seq::new),
        until_time: args.until,
        session: args.session.as_deref().map(SessionId::from),
    };
    views_json::replay_state(p, &opts, closed_net)
}

fn write_state(
    p: &Projections,
    point: &str,
    args: &ReplayArgs,
    closed_net: Decimal,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "state after {point}")?;
    writeln!(
        out,
        "{} event(s) folded{}",
        p.total_events(),
        args.session
            .as_deref()
            .map_or(String::new(), |s| format!(" (session {s} only)"))
    )?;
    writeln!(out, "\nevents by kind:")?;
    for k in EventKind::ALL {
        let n = p.count(k);
        if n > 0 {
            writeln!(out, "  {:<18} {n:>8}", k.name())?;
        }
    }
    writeln!(out, "\nsessions ({}):", p.sessions.len())?;
    for (id, s) in sorted_sessions(p) {
        let mut line = format!("  {id}: {} event(s)", s.events);
        if let Some(st) = &s.started {
            line.push_str(&format!(
                ", started {} ({}, starting equity {})",
                time(st.time),
                st.event.engine_version,
                st.event.starting_equity
            ));
        }
        match &s.ended {
            Some(e) => line.push_str(&format!(", ended {}: {}", time(e.time), e.event.reason)),
            None => line.push_str(", not ended"),
        }
        writeln!(out, "{line}")?;
    }
    let open = p.open_trades();
    let closed = p.closed_trades();
    if !p.unfolded.is_empty() {
        writeln!(
            out,
            "\nevents not folded ({}; the log was written without validation):",
            p.unfolded.len()
        )?;
        for u in &p.unfolded {
            writeln!(out, "  record {} ({}): {}", u.seq, u.kind.name(), u.reason)?;
        }
    }
    writeln!(
        out,
        "\ntrades: {} open, {} closed (net P&L of the closed: {closed_net:.2})",
        open.len(),
        closed.len()
    )?;
    for t in open {
        writeln!(
            out,
            "  {} {} {} (session {}): {} open at average entry {}, realized so far {:.2}, opened at record {} ({})",
            t.trade_id,
            name(&t.direction),
            t.symbol,
            t.session,
            t.open_qty,
            t.avg_entry,
            t.net_pnl().map_or_else(|| "(beyond the exact range)".to_owned(), |n| format!("{n:.2}")),
            t.opened.0,
            time(t.opened.1)
        )?;
    }
    writeln!(out, "\npositions ({}):", p.positions.len())?;
    for (sym, v) in &p.positions {
        if let Some(c) = v.current() {
            writeln!(
                out,
                "  {sym:<10} qty {} avg entry {} mark {} unrealized {} realized {} (record {}, {})",
                c.qty,
                c.avg_entry,
                c.mark,
                c.unrealized_pnl,
                c.realized_pnl,
                c.seq,
                time(c.time)
            )?;
        }
    }
    writeln!(out, "\nmetrics, latest value ({}):", p.metrics.len())?;
    for (name, m) in &p.metrics {
        if let Some((seq, t, v)) = m.points.last() {
            writeln!(out, "  {name:<20} {v} (record {seq}, {})", time(*t))?;
        }
    }
    if let Some(r) = p.risk.last() {
        writeln!(
            out,
            "\nrisk events: {}, the latest at record {}: {} {}: {}",
            p.risk.len(),
            r.seq,
            r.event.rule,
            name(&r.event.severity),
            r.event.action
        )?;
    }
    Ok(())
}
