//! One-line summaries of events and records, for `ledger tail`.

use serde::Serialize;

use ledger_core::segment::record::RecordRef;
use ledger_core::Kind;
use ledger_domain::{decode, Event, EventKind};

use crate::human::time;

/// The name a record kind goes by: the event kind's snake_case name,
/// `engine:0xff01` for engine records, `unknown:<code>` otherwise.
///
/// ```
/// use ledger_core::Kind;
/// use ledger_tools::summary::kind_name;
/// assert_eq!(kind_name(Kind::new(3)), "decision");
/// assert_eq!(kind_name(Kind::PROVENANCE), "engine:0xff01");
/// assert_eq!(kind_name(Kind::new(99)), "unknown:99");
/// ```
pub fn kind_name(kind: Kind) -> String {
    match EventKind::from_code(kind.get()) {
        Some(k) => k.name().to_owned(),
        None if kind.get() >= Kind::RESERVED_START => format!("engine:{:#06x}", kind.get()),
        None => format!("unknown:{}", kind.get()),
    }
}

/// The snake_case name of an enum value (as in the JSON form), e.g.
/// `long`, `partially_filled`, `warning`.
pub fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}

/// What an event says, in a few words: ids, sides, quantities and prices.
///
/// ```
/// use ledger_tools::sim::{demo_session, DEMO_START};
/// use ledger_tools::summary::event_summary;
/// let session = demo_session("s1", "", DEMO_START);
/// let opened = session.iter().map(|(_, e)| e).find(|e| e.kind().name() == "trade_opened");
/// assert_eq!(
///     opened.map(event_summary).as_deref(),
///     Some("T1 long 0.3 BTC-USD @ 40000, fees 6 (decision D1, order O1)")
/// );
/// ```
pub fn event_summary(e: &Event) -> String {
    match e {
        Event::SessionStarted(s) => format!(
            "{} ({}), starting equity {}",
            s.engine_version, s.config_digest, s.starting_equity
        ),
        Event::SessionEnded(s) => s.reason.clone(),
        Event::Decision(d) => format!(
            "{} {} {} {}, confidence {}, {} reasoning step(s)",
            d.decision_id,
            name(&d.action),
            d.size,
            d.symbol,
            d.confidence,
            d.reasoning.len()
        ),
        Event::Execution(x) => {
            let mut s = format!(
                "{} for {}: {} {} {} of {} {}",
                x.order_id,
                x.decision_id,
                name(&x.side),
                name(&x.status),
                x.filled_qty,
                x.requested_qty,
                x.symbol
            );
            if let Some(p) = x.avg_price {
                s.push_str(&format!(" @ {p}"));
            }
            s.push_str(&format!(", fees {}, {} µs", x.fees, x.latency_us));
            if let Some(err) = &x.error {
                s.push_str(&format!(", error: {err}"));
            }
            s
        }
        Event::TradeOpened(t) => {
            let mut s = format!(
                "{} {} {} {} @ {}, fees {}",
                t.trade_id,
                name(&t.direction),
                t.qty,
                t.symbol,
                t.price,
                t.fees
            );
            let refs: Vec<String> = [
                t.decision_id.as_ref().map(|d| format!("decision {d}")),
                t.order_id.as_ref().map(|o| format!("order {o}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !refs.is_empty() {
                s.push_str(&format!(" ({})", refs.join(", ")));
            }
            s
        }
        Event::TradeFilled(f) => format!(
            "{} {} {} {} @ {}, fees {}",
            f.trade_id,
            name(&f.effect),
            f.qty,
            f.symbol,
            f.price,
            f.fees
        ),
        Event::TradeClosed(c) => format!(
            "{} {} closed @ {}, fees {}, realized P&L {}",
            c.trade_id, c.symbol, c.price, c.fees, c.realized_pnl
        ),
        Event::PositionSnapshot(p) => format!(
            "{} qty {} avg entry {} mark {}, unrealized {}, realized {}",
            p.symbol, p.qty, p.avg_entry, p.mark, p.unrealized_pnl, p.realized_pnl
        ),
        Event::Risk(r) => format!(
            "{} {}: observed {} against limit {}: {}",
            name(&r.severity),
            r.rule,
            r.observed,
            r.limit,
            r.action
        ),
        Event::System(s) => {
            let mut out = format!("{} {}: {}", name(&s.level), s.component, s.message);
            for f in &s.fields {
                out.push_str(&format!(" {}={}", f.key, f.value));
            }
            out
        }
        Event::Metric(m) => {
            let mut out = format!("{} = {}", m.name, m.value);
            for t in &m.tags {
                out.push_str(&format!(" {}={}", t.key, t.value));
            }
            out
        }
        Event::Audit(a) => format!("{} {} {}: {}", a.who, a.action, a.target, a.reason),
    }
}

/// One line for a record: sequence, time, kind, session and what the event
/// says; records that are not trading events (engine records, kinds this
/// build does not know) say what they are.
pub fn record_line(r: &RecordRef<'_>) -> String {
    let head = format!("{:>8}  {}", r.seq.get(), time(r.timestamp));
    if r.kind.get() >= Kind::RESERVED_START {
        return format!(
            "{head}  engine record kind {:#06x} v{}, {} bytes",
            r.kind.get(),
            r.version.get(),
            r.payload.len()
        );
    }
    match decode(r.kind, r.version, r.payload) {
        Ok(e) => format!(
            "{head}  {:<17} {:<12} {}",
            e.kind().name(),
            e.session().as_str(),
            event_summary(&e)
        ),
        Err(err) => {
            let kind = EventKind::from_code(r.kind.get())
                .map_or_else(|| format!("kind {}", r.kind.get()), |k| k.name().to_owned());
            format!("{head}  {kind} (unreadable: {err})")
        }
    }
}
