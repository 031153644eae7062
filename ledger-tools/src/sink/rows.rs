//! Event → rows (`docs/SINK.md`): every event is one row of
//! `ledger_events` ([`event_row`]) and one row of its kind's table
//! ([`kind_row`]), except `trade_closed` and `session_ended`, which close
//! the row of their trade or session ([`TradeClose`], [`SessionEnd`]).
//! The same cells are written by the loader and compared by `--check`.

use std::borrow::Cow;

use ledger_core::Timestamp;
use ledger_domain::event_json::EventData;
use ledger_domain::{
    Action, Decimal, Direction, Event, ExecutionStatus, FillEffect, Level, Severity, Side,
};

use crate::sink::error::SinkError;

/// One column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    /// NULL.
    Null,
    /// Text.
    Str(Cow<'a, str>),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer (written to a `numeric(20, 0)` column).
    U64(u64),
    /// An exact decimal.
    Dec(Decimal),
    /// JSON text (for a `jsonb` column).
    Json(String),
    /// A time.
    Time(Timestamp),
}

impl Cell<'_> {
    /// The value as PostgreSQL reads it from text (NULL: `None`), for a
    /// statement parameter (`$n::numeric`, `$n::timestamptz`, ...).
    pub fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Str(s) => Some(s.to_string()),
            Cell::Int(n) => Some(n.to_string()),
            Cell::U64(n) => Some(n.to_string()),
            Cell::Dec(d) => Some(d.to_string()),
            Cell::Json(s) => Some(s.clone()),
            Cell::Time(t) => Some(crate::sink::copy_text::time_text(t.as_nanos())),
        }
    }

    /// The cell, owning its text.
    pub fn into_owned(self) -> Cell<'static> {
        match self {
            Cell::Null => Cell::Null,
            Cell::Str(s) => Cell::Str(Cow::Owned(s.into_owned())),
            Cell::Int(n) => Cell::Int(n),
            Cell::U64(n) => Cell::U64(n),
            Cell::Dec(d) => Cell::Dec(d),
            Cell::Json(s) => Cell::Json(s),
            Cell::Time(t) => Cell::Time(t),
        }
    }
}

impl std::fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Str(s) => write!(f, "{s:?}"),
            Cell::Int(n) => write!(f, "{n}"),
            Cell::U64(n) => write!(f, "{n}"),
            Cell::Dec(d) => write!(f, "{d}"),
            Cell::Json(s) => f.write_str(s),
            Cell::Time(t) => f.write_str(&crate::sink::copy_text::time_text(t.as_nanos())),
        }
    }
}

/// A record's place in the ledger, as rows carry it.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The ledger's id (hex).
    pub ledger_id: &'a str,
    /// The record's sequence.
    pub seq: u64,
    /// The record's time.
    pub time: Timestamp,
    /// The record's schema version.
    pub version: u16,
    /// The record's chain hash (hex).
    pub chain_hash: &'a str,
}

/// A `trade_closed` event: the close of the open `trades` rows of its
/// trade id opened before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeClose<'a> {
    /// The close's record.
    pub seq: u64,
    /// Its time.
    pub time: Timestamp,
    /// The trade.
    pub trade_id: &'a str,
    /// Exit price.
    pub price: Decimal,
    /// Fees of the closing fill.
    pub fees: Decimal,
    /// Realized P&L, net of every fee.
    pub realized_pnl: Decimal,
    /// The closing order.
    pub order_id: Option<&'a str>,
}

impl TradeClose<'_> {
    /// The values of `trades`' close columns (`closed_seq` .. `close_order_id`).
    pub fn cells(&self) -> [Cell<'static>; 6] {
        [
            Cell::Int(seq_i64(self.seq)),
            Cell::Time(self.time),
            Cell::Dec(self.price),
            Cell::Dec(self.fees),
            Cell::Dec(self.realized_pnl),
            self.order_id
                .map_or(Cell::Null, |o| Cell::Str(Cow::Owned(o.to_owned()))),
        ]
    }
}

/// Where `trades`' close columns start.
pub const TRADE_CLOSE_AT: usize = 12;

/// `trades`' key column (`trade_id`), which a close names.
pub const TRADE_KEY_AT: usize = 4;

/// A `session_ended` event: the end of the open `sessions` rows of its
/// session started before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd<'a> {
    /// The end's record.
    pub seq: u64,
    /// Its time.
    pub time: Timestamp,
    /// The session.
    pub session: &'a str,
    /// Why it ended.
    pub reason: &'a str,
}

impl SessionEnd<'_> {
    /// The values of `sessions`' end columns (`ended_seq`, `ended_at`, `end_reason`).
    pub fn cells(&self) -> [Cell<'static>; 3] {
        [
            Cell::Int(seq_i64(self.seq)),
            Cell::Time(self.time),
            Cell::Str(Cow::Owned(self.reason.to_owned())),
        ]
    }
}

/// Where `sessions`' end columns start.
pub const SESSION_END_AT: usize = 7;

/// `sessions`' key column (`session`), which an end names.
pub const SESSION_KEY_AT: usize = 3;

/// What an event does to its kind's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindRow<'a> {
    /// A new row of the kind's table.
    Insert(Vec<Cell<'a>>),
    /// Closes a trade.
    CloseTrade(TradeClose<'a>),
    /// Ends a session.
    EndSession(SessionEnd<'a>),
}

/// A sequence number as `bigint` (sequences never reach 2^63).
fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn s(v: &str) -> Cell<'_> {
    Cell::Str(Cow::Borrowed(v))
}

fn opt<'a>(v: Option<&'a str>) -> Cell<'a> {
    v.map_or(Cell::Null, s)
}

fn json<T: serde::Serialize + ?Sized>(
    seq: u64,
    column: &'static str,
    v: &T,
) -> Result<Cell<'static>, SinkError> {
    serde_json::to_string(v)
        .map(Cell::Json)
        .map_err(|source| SinkError::Json {
            seq,
            column,
            source,
        })
}

/// The `ledger_events` row of an event.
pub fn event_row<'a>(at: &Place<'a>, event: &'a Event) -> Result<Vec<Cell<'a>>, SinkError> {
    Ok(vec![
        s(at.ledger_id),
        Cell::Int(seq_i64(at.seq)),
        Cell::Time(at.time),
        Cell::Int(at.time.as_nanos()),
        s(event.kind().name()),
        Cell::Int(i64::from(at.version)),
        s(event.session().as_str()),
        opt(event.symbol().map(|v| v.as_str())),
        opt(event.trade_id().map(|v| v.as_str())),
        opt(event.decision_id().map(|v| v.as_str())),
        opt(event.order_id().map(|v| v.as_str())),
        s(at.chain_hash),
        json(at.seq, "data", &EventData(event))?,
    ])
}

/// What an event does to its kind's table ([`crate::sink::tables::Table::of_kind`]).
pub fn kind_row<'a>(at: &Place<'a>, event: &'a Event) -> Result<KindRow<'a>, SinkError> {
    let head = |session: &'a str| {
        vec![
            s(at.ledger_id),
            Cell::Int(seq_i64(at.seq)),
            Cell::Time(at.time),
            s(session),
        ]
    };
    let mut row = head(event.session().as_str());
    match event {
        Event::SessionStarted(e) => row.extend([
            s(&e.engine_version),
            s(&e.config_digest),
            Cell::Dec(e.starting_equity),
            Cell::Null,
            Cell::Null,
            Cell::Null,
        ]),
        Event::SessionEnded(e) => {
            return Ok(KindRow::EndSession(SessionEnd {
                seq: at.seq,
                time: at.time,
                session: e.session.as_str(),
                reason: &e.reason,
            }))
        }
        Event::Decision(e) => row.extend([
            s(e.decision_id.as_str()),
            s(e.symbol.as_str()),
            s(action(e.action)),
            Cell::Dec(e.size),
            Cell::Dec(e.confidence),
            json(at.seq, "reasoning", &e.reasoning)?,
            json(at.seq, "market", &e.market)?,
        ]),
        Event::Execution(e) => row.extend([
            s(e.order_id.as_str()),
            s(e.decision_id.as_str()),
            s(e.symbol.as_str()),
            s(side(e.side)),
            s(status(e.status)),
            Cell::Dec(e.requested_qty),
            Cell::Dec(e.filled_qty),
            e.avg_price.map_or(Cell::Null, Cell::Dec),
            Cell::Dec(e.fees),
            Cell::U64(e.latency_us),
            opt(e.error.as_deref()),
        ]),
        Event::TradeOpened(e) => row.extend([
            s(e.trade_id.as_str()),
            s(e.symbol.as_str()),
            s(direction(e.direction)),
            Cell::Dec(e.qty),
            Cell::Dec(e.price),
            Cell::Dec(e.fees),
            opt(e.decision_id.as_ref().map(|v| v.as_str())),
            opt(e.order_id.as_ref().map(|v| v.as_str())),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
        ]),
        Event::TradeFilled(e) => row.extend([
            s(e.trade_id.as_str()),
            s(e.symbol.as_str()),
            s(effect(e.effect)),
            Cell::Dec(e.qty),
            Cell::Dec(e.price),
            Cell::Dec(e.fees),
            opt(e.order_id.as_ref().map(|v| v.as_str())),
        ]),
        Event::TradeClosed(e) => {
            return Ok(KindRow::CloseTrade(TradeClose {
                seq: at.seq,
                time: at.time,
                trade_id: e.trade_id.as_str(),
                price: e.price,
                fees: e.fees,
                realized_pnl: e.realized_pnl,
                order_id: e.order_id.as_ref().map(|v| v.as_str()),
            }))
        }
        Event::PositionSnapshot(e) => row.extend([
            s(e.symbol.as_str()),
            Cell::Dec(e.qty),
            Cell::Dec(e.avg_entry),
            Cell::Dec(e.mark),
            Cell::Dec(e.unrealized_pnl),
            Cell::Dec(e.realized_pnl),
        ]),
        Event::Risk(e) => row.extend([
            s(&e.rule),
            s(severity(e.severity)),
            Cell::Dec(e.limit),
            Cell::Dec(e.observed),
            s(&e.action),
        ]),
        Event::System(e) => row.extend([
            s(&e.component),
            s(level(e.level)),
            s(&e.message),
            json(at.seq, "fields", &e.fields)?,
        ]),
        Event::Metric(e) => row.extend([
            s(&e.name),
            Cell::Dec(e.value),
            json(at.seq, "tags", &e.tags)?,
        ]),
        Event::Audit(e) => row.extend([s(&e.who), s(&e.action), s(&e.target), s(&e.reason)]),
    }
    Ok(KindRow::Insert(row))
}

/// The snake_case names of the events' enums, as in `docs/EVENTS.md`.
const fn action(a: Action) -> &'static str {
    match a {
        Action::Buy => "buy",
        Action::Sell => "sell",
        Action::Hold => "hold",
        Action::Close => "close",
    }
}

const fn side(v: Side) -> &'static str {
    match v {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

const fn status(v: ExecutionStatus) -> &'static str {
    match v {
        ExecutionStatus::Filled => "filled",
        ExecutionStatus::PartiallyFilled => "partially_filled",
        ExecutionStatus::Rejected => "rejected",
        ExecutionStatus::Cancelled => "cancelled",
    }
}

const fn direction(v: Direction) -> &'static str {
    match v {
        Direction::Long => "long",
        Direction::Short => "short",
    }
}

const fn effect(v: FillEffect) -> &'static str {
    match v {
        FillEffect::Increase => "increase",
        FillEffect::Reduce => "reduce",
    }
}

const fn severity(v: Severity) -> &'static str {
    match v {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

const fn level(v: Level) -> &'static str {
    match v {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::tables::Table;

    #[test]
    fn every_kind_fills_its_table_or_closes_a_row() {
        let at = Place {
            ledger_id: "00",
            seq: 7,
            time: Timestamp::from_nanos(1),
            version: 1,
            chain_hash: "ab",
        };
        let session = crate::sim::demo_session("s", "", Timestamp::from_nanos(1));
        for (_, e) in &session {
            let table = Table::of_kind(e.kind());
            assert_eq!(
                event_row(&at, e).map(|r| r.len()).ok(),
                Some(Table::LedgerEvents.columns().len())
            );
            match kind_row(&at, e) {
                Ok(KindRow::Insert(r)) => assert_eq!(r.len(), table.columns().len(), "{table}"),
                Ok(KindRow::CloseTrade(c)) => {
                    assert_eq!(table, Table::Trades);
                    assert_eq!(TRADE_CLOSE_AT + c.cells().len(), table.columns().len());
                    assert_eq!(table.columns()[TRADE_CLOSE_AT].name, "closed_seq");
                    assert_eq!(table.columns()[TRADE_KEY_AT].name, "trade_id");
                }
                Ok(KindRow::EndSession(c)) => {
                    assert_eq!(table, Table::Sessions);
                    assert_eq!(SESSION_END_AT + c.cells().len(), table.columns().len());
                    assert_eq!(table.columns()[SESSION_END_AT].name, "ended_seq");
                    assert_eq!(table.columns()[SESSION_KEY_AT].name, "session");
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
}
