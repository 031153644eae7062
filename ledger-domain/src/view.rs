//! Borrowed views of events: what the fold reads, decoded from a record's
//! payload without allocating.
//!
//! Rebuilding the projections used to decode every record into an owned
//! [`Event`], allocating every string of it (ids, reasoning steps,
//! indicator names, log messages) only to drop most of them again. A view
//! borrows its strings (`&str`) from the payload, and keeps only the fields
//! the fold reads; the fold turns into owned values only what a projection
//! keeps (a new trade's ids, a symbol first seen, a risk event).
//!
//! Each view is a prefix of its event's postcard layout: the fields after
//! it (a decision's reasoning and market snapshot, an execution's figures,
//! a system event's message and fields, a metric's tags) are still decoded
//! by [`decode_view`], so a payload is accepted exactly when
//! [`codec::decode`](crate::codec::decode) accepts it, but they are checked
//! (UTF-8, lengths, enum tags, trailing bytes) and dropped, never kept.
//!
//! Only the current schema version of each kind has a view: a record of an
//! older version (or one that does not decode) makes [`decode_view`] return
//! `None`, and the fold takes the owned path, [`codec::decode`], which
//! upcasts it or names the error. Old versions are therefore folded at the
//! old speed; a ledger migrated with `ledger migrate --upcast` has none.

use std::marker::PhantomData;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::decimal::Decimal;
use crate::events::*;
use crate::ids::SessionId;
use ledger_core::{Kind, SchemaVersion};

/// A [`SessionStarted`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SessionStartedView<'a> {
    /// The session.
    pub session: &'a str,
    /// The engine's version.
    pub engine_version: &'a str,
    /// A digest of the engine's configuration.
    pub config_digest: &'a str,
    /// Equity at the start.
    pub starting_equity: Decimal,
}

/// A [`SessionEnded`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SessionEndedView<'a> {
    /// The session.
    pub session: &'a str,
    /// Why it ended.
    pub reason: &'a str,
}

/// The fields of a [`Decision`] the fold reads (its size, confidence,
/// reasoning and market snapshot are checked, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct DecisionView<'a> {
    /// The session.
    pub session: &'a str,
    /// The decision's id.
    pub decision_id: &'a str,
    /// The instrument.
    pub symbol: &'a str,
    /// What was decided.
    pub action: Action,
}

/// The fields of an [`Execution`] the fold reads (the rest is checked,
/// not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ExecutionView<'a> {
    /// The session.
    pub session: &'a str,
    /// The order.
    pub order_id: &'a str,
    /// The decision the order serves.
    pub decision_id: &'a str,
}

/// A [`TradeOpened`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TradeOpenedView<'a> {
    /// The session.
    pub session: &'a str,
    /// The trade.
    pub trade_id: &'a str,
    /// The instrument.
    pub symbol: &'a str,
    /// Long or short.
    pub direction: Direction,
    /// Quantity of the first fill.
    pub qty: Decimal,
    /// Price of the first fill.
    pub price: Decimal,
    /// Fees of the first fill.
    pub fees: Decimal,
    /// The decision behind the trade.
    #[serde(borrow)]
    pub decision_id: Option<&'a str>,
    /// The order that filled.
    #[serde(borrow)]
    pub order_id: Option<&'a str>,
}

/// A [`TradeFilled`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TradeFilledView<'a> {
    /// The session.
    pub session: &'a str,
    /// The trade.
    pub trade_id: &'a str,
    /// The trade's instrument.
    pub symbol: &'a str,
    /// Adds or reduces.
    pub effect: FillEffect,
    /// Quantity.
    pub qty: Decimal,
    /// Price.
    pub price: Decimal,
    /// Fees.
    pub fees: Decimal,
    /// The order that filled.
    #[serde(borrow)]
    pub order_id: Option<&'a str>,
}

/// A [`TradeClosed`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TradeClosedView<'a> {
    /// The session.
    pub session: &'a str,
    /// The trade.
    pub trade_id: &'a str,
    /// The trade's instrument.
    pub symbol: &'a str,
    /// Exit price of the remaining quantity.
    pub price: Decimal,
    /// Fees of the closing fill.
    pub fees: Decimal,
    /// The trade's realized P&L as recorded.
    pub realized_pnl: Decimal,
    /// The order that filled.
    #[serde(borrow)]
    pub order_id: Option<&'a str>,
}

/// A [`PositionSnapshot`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PositionSnapshotView<'a> {
    /// The session.
    pub session: &'a str,
    /// The instrument.
    pub symbol: &'a str,
    /// Signed quantity.
    pub qty: Decimal,
    /// Average entry price.
    pub avg_entry: Decimal,
    /// Mark price.
    pub mark: Decimal,
    /// Unrealized P&L.
    pub unrealized_pnl: Decimal,
    /// Realized P&L.
    pub realized_pnl: Decimal,
}

/// A [`RiskEvent`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RiskView<'a> {
    /// The session.
    pub session: &'a str,
    /// The rule.
    pub rule: &'a str,
    /// How serious.
    pub severity: Severity,
    /// The rule's limit.
    pub limit: Decimal,
    /// The value observed.
    pub observed: Decimal,
    /// What was done about it.
    pub action: &'a str,
}

/// The fields of a [`SystemEvent`] the fold reads (its message and fields
/// are checked, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SystemView<'a> {
    /// The session.
    pub session: &'a str,
    /// The component.
    pub component: &'a str,
    /// The level.
    pub level: Level,
}

/// The fields of a [`Metric`] the fold reads (its tags are checked, not
/// kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct MetricView<'a> {
    /// The session.
    pub session: &'a str,
    /// The metric's name.
    pub name: &'a str,
    /// Its value.
    pub value: Decimal,
}

/// An [`AuditNote`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AuditView<'a> {
    /// The session.
    pub session: &'a str,
    /// Who acted.
    pub who: &'a str,
    /// What they did.
    pub action: &'a str,
    /// On what.
    pub target: &'a str,
    /// Why.
    pub reason: &'a str,
}

/// An event as the fold reads it, borrowed from a record's payload (or
/// from an owned [`Event`], [`Event::view`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventView<'a> {
    /// See [`SessionStarted`].
    SessionStarted(SessionStartedView<'a>),
    /// See [`SessionEnded`].
    SessionEnded(SessionEndedView<'a>),
    /// See [`Decision`].
    Decision(DecisionView<'a>),
    /// See [`Execution`].
    Execution(ExecutionView<'a>),
    /// See [`TradeOpened`].
    TradeOpened(TradeOpenedView<'a>),
    /// See [`TradeFilled`].
    TradeFilled(TradeFilledView<'a>),
    /// See [`TradeClosed`].
    TradeClosed(TradeClosedView<'a>),
    /// See [`PositionSnapshot`].
    PositionSnapshot(PositionSnapshotView<'a>),
    /// See [`RiskEvent`].
    Risk(RiskView<'a>),
    /// See [`SystemEvent`].
    System(SystemView<'a>),
    /// See [`Metric`].
    Metric(MetricView<'a>),
    /// See [`AuditNote`].
    Audit(AuditView<'a>),
}

impl<'a> EventView<'a> {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            EventView::SessionStarted(_) => EventKind::SessionStarted,
            EventView::SessionEnded(_) => EventKind::SessionEnded,
            EventView::Decision(_) => EventKind::Decision,
            EventView::Execution(_) => EventKind::Execution,
            EventView::TradeOpened(_) => EventKind::TradeOpened,
            EventView::TradeFilled(_) => EventKind::TradeFilled,
            EventView::TradeClosed(_) => EventKind::TradeClosed,
            EventView::PositionSnapshot(_) => EventKind::PositionSnapshot,
            EventView::Risk(_) => EventKind::Risk,
            EventView::System(_) => EventKind::System,
            EventView::Metric(_) => EventKind::Metric,
            EventView::Audit(_) => EventKind::Audit,
        }
    }

    /// The session the event belongs to.
    pub fn session(&self) -> &'a str {
        match self {
            EventView::SessionStarted(e) => e.session,
            EventView::SessionEnded(e) => e.session,
            EventView::Decision(e) => e.session,
            EventView::Execution(e) => e.session,
            EventView::TradeOpened(e) => e.session,
            EventView::TradeFilled(e) => e.session,
            EventView::TradeClosed(e) => e.session,
            EventView::PositionSnapshot(e) => e.session,
            EventView::Risk(e) => e.session,
            EventView::System(e) => e.session,
            EventView::Metric(e) => e.session,
            EventView::Audit(e) => e.session,
        }
    }
}

impl SessionStartedView<'_> {
    /// The owned event.
    pub fn owned(&self) -> SessionStarted {
        SessionStarted {
            session: SessionId::from(self.session),
            engine_version: self.engine_version.to_owned(),
            config_digest: self.config_digest.to_owned(),
            starting_equity: self.starting_equity,
        }
    }
}

impl SessionEndedView<'_> {
    /// The owned event.
    pub fn owned(&self) -> SessionEnded {
        SessionEnded {
            session: SessionId::from(self.session),
            reason: self.reason.to_owned(),
        }
    }
}

impl RiskView<'_> {
    /// The owned event.
    pub fn owned(&self) -> RiskEvent {
        RiskEvent {
            session: SessionId::from(self.session),
            rule: self.rule.to_owned(),
            severity: self.severity,
            limit: self.limit,
            observed: self.observed,
            action: self.action.to_owned(),
        }
    }
}

impl AuditView<'_> {
    /// The owned event.
    pub fn owned(&self) -> AuditNote {
        AuditNote {
            session: SessionId::from(self.session),
            who: self.who.to_owned(),
            action: self.action.to_owned(),
            target: self.target.to_owned(),
            reason: self.reason.to_owned(),
        }
    }
}

impl<'a> From<&'a TradeOpened> for TradeOpenedView<'a> {
    fn from(e: &'a TradeOpened) -> Self {
        TradeOpenedView {
            session: e.session.as_str(),
            trade_id: e.trade_id.as_str(),
            symbol: e.symbol.as_str(),
            direction: e.direction,
            qty: e.qty,
            price: e.price,
            fees: e.fees,
            decision_id: e.decision_id.as_ref().map(|d| d.as_str()),
            order_id: e.order_id.as_ref().map(|o| o.as_str()),
        }
    }
}

impl<'a> From<&'a TradeFilled> for TradeFilledView<'a> {
    fn from(e: &'a TradeFilled) -> Self {
        TradeFilledView {
            session: e.session.as_str(),
            trade_id: e.trade_id.as_str(),
            symbol: e.symbol.as_str(),
            effect: e.effect,
            qty: e.qty,
            price: e.price,
            fees: e.fees,
            order_id: e.order_id.as_ref().map(|o| o.as_str()),
        }
    }
}

impl<'a> From<&'a TradeClosed> for TradeClosedView<'a> {
    fn from(e: &'a TradeClosed) -> Self {
        TradeClosedView {
            session: e.session.as_str(),
            trade_id: e.trade_id.as_str(),
            symbol: e.symbol.as_str(),
            price: e.price,
            fees: e.fees,
            realized_pnl: e.realized_pnl,
            order_id: e.order_id.as_ref().map(|o| o.as_str()),
        }
    }
}

impl Event {
    /// The event as the fold reads it, borrowed from `self`.
    pub fn view(&self) -> EventView<'_> {
        match self {
            Event::SessionStarted(e) => EventView::SessionStarted(SessionStartedView {
                session: e.session.as_str(),
                engine_version: &e.engine_version,
                config_digest: &e.config_digest,
                starting_equity: e.starting_equity,
            }),
            Event::SessionEnded(e) => EventView::SessionEnded(SessionEndedView {
                session: e.session.as_str(),
                reason: &e.reason,
            }),
            Event::Decision(e) => EventView::Decision(DecisionView {
                session: e.session.as_str(),
                decision_id: e.decision_id.as_str(),
                symbol: e.symbol.as_str(),
                action: e.action,
            }),
            Event::Execution(e) => EventView::Execution(ExecutionView {
                session: e.session.as_str(),
                order_id: e.order_id.as_str(),
                decision_id: e.decision_id.as_str(),
            }),
            Event::TradeOpened(e) => EventView::TradeOpened(e.into()),
            Event::TradeFilled(e) => EventView::TradeFilled(e.into()),
            Event::TradeClosed(e) => EventView::TradeClosed(e.into()),
            Event::PositionSnapshot(e) => EventView::PositionSnapshot(PositionSnapshotView {
                session: e.session.as_str(),
                symbol: e.symbol.as_str(),
                qty: e.qty,
                avg_entry: e.avg_entry,
                mark: e.mark,
                unrealized_pnl: e.unrealized_pnl,
                realized_pnl: e.realized_pnl,
            }),
            Event::Risk(e) => EventView::Risk(RiskView {
                session: e.session.as_str(),
                rule: &e.rule,
                severity: e.severity,
                limit: e.limit,
                observed: e.observed,
                action: &e.action,
            }),
            Event::System(e) => EventView::System(SystemView {
                session: e.session.as_str(),
                component: &e.component,
                level: e.level,
            }),
            Event::Metric(e) => EventView::Metric(MetricView {
                session: e.session.as_str(),
                name: &e.name,
                value: e.value,
            }),
            Event::Audit(e) => EventView::Audit(AuditView {
                session: e.session.as_str(),
                who: &e.who,
                action: &e.action,
                target: &e.target,
                reason: &e.reason,
            }),
        }
    }
}

/// A sequence whose elements are decoded (and so checked) one by one and
/// dropped: nothing is allocated.
struct Skip<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Skip<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Each<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Each<T> {
            type Value = Skip<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip<T>, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Skip(PhantomData))
            }
        }
        d.deserialize_seq(Each(PhantomData))
    }
}

/// The fields of a [`Decision`] after its view.
#[derive(Deserialize)]
struct DecisionRest<'a> {
    _size: Decimal,
    _confidence: Decimal,
    #[serde(borrow)]
    _reasoning: Skip<&'a str>,
    #[serde(borrow)]
    _market: MarketRest<'a>,
}

/// A [`MarketSnapshot`], checked.
#[derive(Deserialize)]
struct MarketRest<'a> {
    _bid: Decimal,
    _ask: Decimal,
    _last: Decimal,
    _volume: Decimal,
    /// [`Indicator`]s: name and value.
    #[serde(borrow)]
    _indicators: Skip<(&'a str, Decimal)>,
}

/// The fields of an [`Execution`] after its view.
#[derive(Deserialize)]
struct ExecutionRest<'a> {
    _symbol: &'a str,
    _side: Side,
    _status: ExecutionStatus,
    _requested_qty: Decimal,
    _filled_qty: Decimal,
    _avg_price: Option<Decimal>,
    _fees: Decimal,
    _latency_us: u64,
    #[serde(borrow)]
    _error: Option<&'a str>,
}

/// The fields of a [`SystemEvent`] (v2) after its view.
#[derive(Deserialize)]
struct SystemRest<'a> {
    _message: &'a str,
    /// [`Field`]s: key and value.
    #[serde(borrow)]
    _fields: Skip<(&'a str, &'a str)>,
}

/// The fields of a [`Metric`] (v2) after its view: its tags.
#[derive(Deserialize)]
struct MetricRest<'a> {
    #[serde(borrow)]
    _tags: Skip<(&'a str, &'a str)>,
}

/// Decodes a whole payload: the view, then the fields after it (checked,
/// dropped); `None` unless it decodes with no byte left over.
fn whole<'a, V: Deserialize<'a>, R: Deserialize<'a>>(payload: &'a [u8]) -> Option<V> {
    match postcard::take_from_bytes::<(V, R)>(payload) {
        Ok(((view, _), [])) => Some(view),
        _ => None,
    }
}

/// Decodes the view at the start of a payload, reading nothing after it.
fn head<'a, V: Deserialize<'a>>(payload: &'a [u8]) -> Option<V> {
    postcard::take_from_bytes::<V>(payload).ok().map(|(v, _)| v)
}

/// The view of a record's payload, when the record is the current schema
/// version of a trading event kind and its payload decodes exactly as
/// [`codec::decode`](crate::codec::decode) would decode it. `None`
/// otherwise: an older version (to upcast), an unknown kind or version, or a
/// malformed payload; [`codec::decode`](crate::codec::decode) then decides,
/// and names the error.
pub fn decode_view(kind: Kind, version: SchemaVersion, payload: &[u8]) -> Option<EventView<'_>> {
    let k = EventKind::from_code(kind.get())?;
    if version.get() != k.current_version() {
        return None;
    }
    let p = payload;
    Some(match k {
        EventKind::SessionStarted => EventView::SessionStarted(whole::<_, ()>(p)?),
        EventKind::SessionEnded => EventView::SessionEnded(whole::<_, ()>(p)?),
        EventKind::Decision => EventView::Decision(whole::<_, DecisionRest<'_>>(p)?),
        EventKind::Execution => EventView::Execution(whole::<_, ExecutionRest<'_>>(p)?),
        EventKind::TradeOpened => EventView::TradeOpened(whole::<_, ()>(p)?),
        EventKind::TradeFilled => EventView::TradeFilled(whole::<_, ()>(p)?),
        EventKind::TradeClosed => EventView::TradeClosed(whole::<_, ()>(p)?),
        EventKind::PositionSnapshot => EventView::PositionSnapshot(whole::<_, ()>(p)?),
        EventKind::Risk => EventView::Risk(whole::<_, ()>(p)?),
        EventKind::System => EventView::System(whole::<_, SystemRest<'_>>(p)?),
        EventKind::Metric => EventView::Metric(whole::<_, MetricRest<'_>>(p)?),
        EventKind::Audit => EventView::Audit(whole::<_, ()>(p)?),
    })
}

/// The view of a payload [`decode_view`] has already accepted, reading only
/// the view's own fields (what the folding thread does after a decoding
/// thread checked the whole payload). `None` if even those do not decode,
/// which a checked payload never does.
pub(crate) fn decode_checked_view(kind: Kind, payload: &[u8]) -> Option<EventView<'_>> {
    let p = payload;
    Some(match EventKind::from_code(kind.get())? {
        EventKind::SessionStarted => EventView::SessionStarted(head(p)?),
        EventKind::SessionEnded => EventView::SessionEnded(head(p)?),
        EventKind::Decision => EventView::Decision(head(p)?),
        EventKind::Execution => EventView::Execution(head(p)?),
        EventKind::TradeOpened => EventView::TradeOpened(head(p)?),
        EventKind::TradeFilled => EventView::TradeFilled(head(p)?),
        EventKind::TradeClosed => EventView::TradeClosed(head(p)?),
        EventKind::PositionSnapshot => EventView::PositionSnapshot(head(p)?),
        EventKind::Risk => EventView::Risk(head(p)?),
        EventKind::System => EventView::System(head(p)?),
        EventKind::Metric => EventView::Metric(head(p)?),
        EventKind::Audit => EventView::Audit(head(p)?),
    })
}
