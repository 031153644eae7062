//! [`Query`]: which events to find, and the one predicate both the index
//! and a full scan answer it with.

use ledger_core::{Seq, Timestamp};
use ledger_domain::{DecisionId, Event, EventKind, OrderId, SessionId, Symbol, TradeId};

/// A query: every criterion given must hold (AND); inside one criterion,
/// any of the listed values may match (OR). An empty list does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Records from this sequence on (inclusive).
    pub from_seq: Option<Seq>,
    /// Records up to this sequence (inclusive).
    pub to_seq: Option<Seq>,
    /// Records at or after this time.
    pub from_time: Option<Timestamp>,
    /// Records before this time.
    pub to_time: Option<Timestamp>,
    /// Event kinds.
    pub kinds: Vec<EventKind>,
    /// Instruments.
    pub symbols: Vec<Symbol>,
    /// Trades.
    pub trades: Vec<TradeId>,
    /// Decisions.
    pub decisions: Vec<DecisionId>,
    /// Orders.
    pub orders: Vec<OrderId>,
    /// Sessions.
    pub sessions: Vec<SessionId>,
}

fn any_of<T: PartialEq>(wanted: &[T], have: Option<&T>) -> bool {
    wanted.is_empty() || have.is_some_and(|h| wanted.contains(h))
}

impl Query {
    /// Everything.
    pub fn all() -> Self {
        Query::default()
    }

    /// Whether the record `seq` at `time` holding `event` matches.
    pub fn matches(&self, seq: Seq, time: Timestamp, event: &Event) -> bool {
        self.in_range(seq, time)
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && any_of(&self.symbols, event.symbol())
            && any_of(&self.trades, event.trade_id())
            && any_of(&self.decisions, event.decision_id())
            && any_of(&self.orders, event.order_id())
            && any_of(&self.sessions, Some(event.session()))
    }

    /// Whether `seq` and `time` are inside the query's ranges.
    pub fn in_range(&self, seq: Seq, time: Timestamp) -> bool {
        self.from_seq.is_none_or(|s| seq >= s)
            && self.to_seq.is_none_or(|s| seq <= s)
            && self.from_time.is_none_or(|t| time >= t)
            && self.to_time.is_none_or(|t| time < t)
    }

    /// Whether the query selects by anything other than ranges.
    pub fn has_keys(&self) -> bool {
        !(self.kinds.is_empty()
            && self.symbols.is_empty()
            && self.trades.is_empty()
            && self.decisions.is_empty()
            && self.orders.is_empty()
            && self.sessions.is_empty())
    }
}
