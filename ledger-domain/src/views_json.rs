//! The JSON objects of the views, shared by the command line (`ledger
//! replay --json`, `ledger verify --json`) and the Python package, so both
//! give the same figures in the same shape. Amounts are decimal strings,
//! times RFC 3339 in UTC with nanoseconds ([`crate::times::rfc3339`]).

use ledger_core::{Seq, VerifyReport};
use serde_json::json;

use crate::decimal::Decimal;
use crate::events::EventKind;
use crate::ids::SessionId;
use crate::projections::{Projections, SessionView, TradeStory};
use crate::replay::ReplayOptions;
use crate::times::rfc3339;

/// The last record folded (`seq`, `chain_hash`, `time`), or null.
pub fn last_folded(p: &Projections) -> serde_json::Value {
    match p.last {
        Some((seq, hash, t)) => json!({
            "seq": seq.get(),
            "chain_hash": hash.to_hex(),
            "time": rfc3339(t),
        }),
        None => serde_json::Value::Null,
    }
}

fn sorted_sessions(p: &Projections) -> Vec<(&SessionId, &SessionView)> {
    let mut v: Vec<_> = p.sessions.iter().collect();
    v.sort_by_key(|(id, s)| (s.span.map(|x| x.0), (*id).clone()));
    v
}

/// A trade's story (`ledger replay --trade T --json`): the last record
/// folded, the trade, its decision and its executions.
pub fn trade_story(p: &Projections, story: &TradeStory<'_>) -> serde_json::Value {
    json!({
        "last": last_folded(p),
        "trade": story.trade,
        "decision": story.decision,
        "executions": story.executions,
    })
}

/// The projected state as one JSON object (`ledger replay --json`): the
/// point folded to, the options' bounds, events by kind, sessions, open
/// trades, closed trades and their net P&L, events not folded, positions,
/// the latest value of each metric, risk events. `closed_net` is the checked
/// sum of the closed trades' net P&L ([`crate::total_net_pnl`]).
pub fn replay_state(
    p: &Projections,
    opts: &ReplayOptions,
    closed_net: Decimal,
) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = EventKind::ALL
        .iter()
        .map(|k| (k.name().to_owned(), json!(p.count(*k))))
        .collect();
    let sessions: Vec<_> = sorted_sessions(p)
        .into_iter()
        .map(|(id, s)| {
            json!({
                "session": id.as_str(),
                "started": s.started.as_ref().map(|a| rfc3339(a.time)),
                "engine_version": s.started.as_ref().map(|a| a.event.engine_version.clone()),
                "starting_equity": s.started.as_ref().map(|a| a.event.starting_equity),
                "ended": s.ended.as_ref().map(|a| rfc3339(a.time)),
                "end_reason": s.ended.as_ref().map(|a| a.event.reason.clone()),
                "events": s.events,
                "first_time": s.span.map(|x| rfc3339(x.0)),
                "last_time": s.span.map(|x| rfc3339(x.1)),
            })
        })
        .collect();
    let open: Vec<_> = p
        .open_trades()
        .into_iter()
        .map(|t| {
            json!({
                "trade_id": t.trade_id.as_str(),
                "session": t.session.as_str(),
                "symbol": t.symbol.as_str(),
                "direction": t.direction,
                "open_qty": t.open_qty,
                "avg_entry": t.avg_entry,
                "realized_gross": t.realized_gross,
                "fees": t.fees,
                "decision_id": t.decision_id.as_ref().map(|d| d.as_str()),
                "opened_seq": t.opened.0.get(),
                "opened_time": rfc3339(t.opened.1),
            })
        })
        .collect();
    let closed = p.closed_trades();
    let unfolded: Vec<_> = p
        .unfolded
        .iter()
        .map(|u| json!({"seq": u.seq.get(), "kind": u.kind.name(), "reason": u.reason}))
        .collect();
    let positions: Vec<_> = p
        .positions
        .iter()
        .filter_map(|(sym, v)| v.current().map(|c| (sym, c)))
        .map(|(sym, c)| {
            json!({
                "symbol": sym.as_str(),
                "qty": c.qty,
                "avg_entry": c.avg_entry,
                "mark": c.mark,
                "unrealized_pnl": c.unrealized_pnl,
                "realized_pnl": c.realized_pnl,
                "seq": c.seq.get(),
                "time": rfc3339(c.time),
            })
        })
        .collect();
    let metrics: Vec<_> = p
        .metrics
        .iter()
        .filter_map(|(name, m)| m.points.last().map(|pt| (name, pt)))
        .map(|(name, (seq, t, v))| {
            json!({ "name": name, "value": v, "seq": seq.get(), "time": rfc3339(*t) })
        })
        .collect();
    json!({
        "last": last_folded(p),
        "until_seq": opts.until_seq.map(Seq::get),
        "until": opts.until_time.map(rfc3339),
        "session": opts.session.as_ref().map(|s| s.as_str()),
        "events": p.total_events(),
        "counts": counts,
        "sessions": sessions,
        "open_trades": open,
        "closed_trades": closed.len(),
        "closed_net_pnl": closed_net,
        "unfolded": unfolded,
        "positions": positions,
        "metrics": metrics,
        "risk_events": p.risk.len(),
    })
}

/// The report as one JSON object: `ledger_id`, `segments`, `records`,
/// `bytes`, `head` (`seq`, `chain_hash`, `timestamp_ns`, or null), `intact`,
/// `checkpoint_ok` (null without a checkpoint) and `findings` (`kind`,
/// `segment`, `offset`, `seq`, `detail`).
pub fn verify_report(report: &VerifyReport) -> serde_json::Value {
    let findings: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind.as_str(),
                "segment": f.segment,
                "offset": f.offset,
                "seq": f.seq.map(|s| s.get()),
                "detail": f.detail,
            })
        })
        .collect();
    json!({
        "ledger_id": report.ledger_id.map(|id| id.to_hex()),
        "segments": report.segments,
        "records": report.records,
        "bytes": report.bytes,
        "head": report.head.map(|h| json!({
            "seq": h.seq.get(),
            "chain_hash": h.chain_hash.to_hex(),
            "timestamp_ns": h.timestamp.as_nanos(),
        })),
        "intact": report.is_intact(),
        "checkpoint_ok": report.checkpoint_ok,
        "findings": findings,
    })
}
