//! The trading events: everything the engine must account for.
//!
//! Each event is one record. Its kind and schema version are in the record
//! envelope; its payload is the event's struct encoded with postcard; its
//! time is the record's timestamp. Every event names the session it belongs
//! to. The JSON form (`docs/EVENTS.md`) is `{"kind": "<snake_case>", "data":
//! {...}}`, with decimals as strings.

use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;
use crate::ids::{DecisionId, OrderId, SessionId, Symbol, TradeId};

/// The kinds of events, with their record kind codes and snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A session started.
    SessionStarted = 1,
    /// A session ended.
    SessionEnded = 2,
    /// A trading decision with its reasoning and market snapshot.
    Decision = 3,
    /// The result of an order.
    Execution = 4,
    /// A trade was opened.
    TradeOpened = 5,
    /// A trade was added to or reduced.
    TradeFilled = 6,
    /// A trade was closed.
    TradeClosed = 7,
    /// A position snapshot.
    PositionSnapshot = 8,
    /// A risk event.
    Risk = 9,
    /// A system event (a log line).
    System = 10,
    /// A performance metric.
    Metric = 11,
    /// An operator's action.
    Audit = 12,
}

/// The record kind of an event kind (the same code).
impl From<EventKind> for ledger_core::Kind {
    fn from(kind: EventKind) -> Self {
        ledger_core::Kind::new(kind.code())
    }
}

impl EventKind {
    /// Every kind, in code order.
    pub const ALL: [EventKind; 12] = [
        EventKind::SessionStarted,
        EventKind::SessionEnded,
        EventKind::Decision,
        EventKind::Execution,
        EventKind::TradeOpened,
        EventKind::TradeFilled,
        EventKind::TradeClosed,
        EventKind::PositionSnapshot,
        EventKind::Risk,
        EventKind::System,
        EventKind::Metric,
        EventKind::Audit,
    ];

    /// The record kind code.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The kind with this record code.
    pub fn from_code(code: u16) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The snake_case name used on the command line and in exports.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::SessionStarted => "session_started",
            EventKind::SessionEnded => "session_ended",
            EventKind::Decision => "decision",
            EventKind::Execution => "execution",
            EventKind::TradeOpened => "trade_opened",
            EventKind::TradeFilled => "trade_filled",
            EventKind::TradeClosed => "trade_closed",
            EventKind::PositionSnapshot => "position_snapshot",
            EventKind::Risk => "risk",
            EventKind::System => "system",
            EventKind::Metric => "metric",
            EventKind::Audit => "audit",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The schema version this build writes.
    pub const fn current_version(self) -> u16 {
        match self {
            EventKind::System | EventKind::Metric => 2,
            _ => 1,
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A session of the trading engine started.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionStarted {
    /// The session.
    pub session: SessionId,
    /// The engine's version.
    pub engine_version: String,
    /// A digest of the engine's configuration.
    pub config_digest: String,
    /// Equity at the start, for relative drawdown.
    pub starting_equity: Decimal,
}

/// A session ended.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEnded {
    /// The session.
    pub session: SessionId,
    /// Why it ended.
    pub reason: String,
}

/// What a decision chose to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Buy (open or add to a long, or cover a short).
    #[default]
    Buy,
    /// Sell (open or add to a short, or reduce a long).
    Sell,
    /// Do nothing.
    Hold,
    /// Close the position.
    Close,
}

/// A named indicator value the decision saw.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Its name, e.g. `rsi_14`.
    pub name: String,
    /// Its value.
    pub value: Decimal,
}

/// The market as the decision saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSnapshot {
    /// Best bid.
    pub bid: Decimal,
    /// Best ask.
    pub ask: Decimal,
    /// Last trade price.
    pub last: Decimal,
    /// Volume.
    pub volume: Decimal,
    /// Indicators, in the order the strategy computed them.
    pub indicators: Vec<Indicator>,
}

/// A trading decision, with why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The session.
    pub session: SessionId,
    /// The decision's id.
    pub decision_id: DecisionId,
    /// The instrument.
    pub symbol: Symbol,
    /// What was decided.
    pub action: Action,
    /// How much.
    pub size: Decimal,
    /// Confidence in `[0, 1]`.
    pub confidence: Decimal,
    /// The reasoning steps, in order.
    pub reasoning: Vec<String>,
    /// The market snapshot the decision saw.
    pub market: MarketSnapshot,
}

/// The side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy.
    #[default]
    Buy,
    /// Sell.
    Sell,
}

/// What became of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Filled completely.
    #[default]
    Filled,
    /// Filled in part.
    PartiallyFilled,
    /// Refused by the venue or the risk checks.
    Rejected,
    /// Cancelled before it filled completely.
    Cancelled,
}

/// The result of an order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    /// The session.
    pub session: SessionId,
    /// The order.
    pub order_id: OrderId,
    /// The decision the order serves.
    pub decision_id: DecisionId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// What became of it.
    pub status: ExecutionStatus,
    /// Quantity ordered.
    pub requested_qty: Decimal,
    /// Quantity filled.
    pub filled_qty: Decimal,
    /// Average fill price, when anything filled.
    pub avg_price: Option<Decimal>,
    /// Fees charged.
    pub fees: Decimal,
    /// Time from sending to the result, in microseconds.
    pub latency_us: u64,
    /// The venue's error text, for rejections.
    pub error: Option<String>,
}

/// Long or short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Profits when the price rises.
    #[default]
    Long,
    /// Profits when the price falls.
    Short,
}

impl Direction {
    /// +1 for long, -1 for short.
    pub fn sign(self) -> Decimal {
        match self {
            Direction::Long => Decimal::ONE,
            Direction::Short => Decimal::MINUS_ONE,
        }
    }
}

/// A trade was opened with its first fill.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeOpened {
    /// The session.
    pub session: SessionId,
    /// The trade.
    pub trade_id: TradeId,
    /// The instrument.
    pub symbol: Symbol,
    /// Long or short.
    pub direction: Direction,
    /// Quantity of the first fill (positive).
    pub qty: Decimal,
    /// Price of the first fill.
    pub price: Decimal,
    /// Fees of the first fill.
    pub fees: Decimal,
    /// The decision behind the trade.
    pub decision_id: Option<DecisionId>,
    /// The order that filled.
    pub order_id: Option<OrderId>,
}

/// Whether a fill adds to or reduces an open trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillEffect {
    /// Adds to the trade (the average entry moves).
    #[default]
    Increase,
    /// Reduces the trade (P&L is realized on the quantity).
    Reduce,
}

/// A further fill of an open trade.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeFilled {
    /// The session.
    pub session: SessionId,
    /// The trade.
    pub trade_id: TradeId,
    /// The trade's instrument (must be the one it was opened on).
    pub symbol: Symbol,
    /// Adds or reduces.
    pub effect: FillEffect,
    /// Quantity (positive).
    pub qty: Decimal,
    /// Price.
    pub price: Decimal,
    /// Fees.
    pub fees: Decimal,
    /// The order that filled.
    pub order_id: Option<OrderId>,
}

/// A trade was closed: its remaining quantity left at `price`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeClosed {
    /// The session.
    pub session: SessionId,
    /// The trade.
    pub trade_id: TradeId,
    /// The trade's instrument (must be the one it was opened on).
    pub symbol: Symbol,
    /// Exit price of the remaining quantity.
    pub price: Decimal,
    /// Fees of the closing fill.
    pub fees: Decimal,
    /// The trade's realized P&L net of all its fees. Computed by the ledger
    /// from the trade's fills (average cost); a given value must match.
    pub realized_pnl: Decimal,
    /// The order that filled.
    pub order_id: Option<OrderId>,
}

/// A position at a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionSnapshot {
    /// The session.
    pub session: SessionId,
    /// The instrument.
    pub symbol: Symbol,
    /// Signed quantity: positive long, negative short, zero flat.
    pub qty: Decimal,
    /// Average entry price.
    pub avg_entry: Decimal,
    /// Mark price.
    pub mark: Decimal,
    /// Unrealized P&L at the mark.
    pub unrealized_pnl: Decimal,
    /// Realized P&L so far.
    pub realized_pnl: Decimal,
}

/// How serious a risk event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    #[default]
    Info,
    /// Close to a limit.
    Warning,
    /// A limit was breached.
    Critical,
}

/// A risk rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskEvent {
    /// The session.
    pub session: SessionId,
    /// The rule, e.g. `max_position_notional`.
    pub rule: String,
    /// How serious.
    pub severity: Severity,
    /// The rule's limit.
    pub limit: Decimal,
    /// The value observed.
    pub observed: Decimal,
    /// What was done about it.
    pub action: String,
}

/// A log level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    #[default]
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

/// A key and a value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// Something a component of the engine reported (schema version 2: v1 had
/// no `fields`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemEvent {
    /// The session.
    pub session: SessionId,
    /// The component, e.g. `order_router`.
    pub component: String,
    /// The level.
    pub level: Level,
    /// The message.
    pub message: String,
    /// Structured fields.
    pub fields: Vec<Field>,
}

/// A performance metric the engine computed (schema version 2: v1 called
/// `name` `metric` and had no `tags`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// The session.
    pub session: SessionId,
    /// The metric's name, e.g. `fill_ratio`.
    pub name: String,
    /// Its value.
    pub value: Decimal,
    /// Tags.
    pub tags: Vec<Field>,
}

/// An operator's action, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditNote {
    /// The session.
    pub session: SessionId,
    /// Who acted.
    pub who: String,
    /// What they did.
    pub action: String,
    /// On what.
    pub target: String,
    /// Why.
    pub reason: String,
}

/// Any trading event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Event {
    /// See [`SessionStarted`].
    SessionStarted(SessionStarted),
    /// See [`SessionEnded`].
    SessionEnded(SessionEnded),
    /// See [`Decision`].
    Decision(Decision),
    /// See [`Execution`].
    Execution(Execution),
    /// See [`TradeOpened`].
    TradeOpened(TradeOpened),
    /// See [`TradeFilled`].
    TradeFilled(TradeFilled),
    /// See [`TradeClosed`].
    TradeClosed(TradeClosed),
    /// See [`PositionSnapshot`].
    PositionSnapshot(PositionSnapshot),
    /// See [`RiskEvent`].
    Risk(RiskEvent),
    /// See [`SystemEvent`].
    System(SystemEvent),
    /// See [`Metric`].
    Metric(Metric),
    /// See [`AuditNote`].
    Audit(AuditNote),
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::SessionStarted(_) => EventKind::SessionStarted,
            Event::SessionEnded(_) => EventKind::SessionEnded,
            Event::Decision(_) => EventKind::Decision,
            Event::Execution(_) => EventKind::Execution,
            Event::TradeOpened(_) => EventKind::TradeOpened,
            Event::TradeFilled(_) => EventKind::TradeFilled,
            Event::TradeClosed(_) => EventKind::TradeClosed,
            Event::PositionSnapshot(_) => EventKind::PositionSnapshot,
            Event::Risk(_) => EventKind::Risk,
            Event::System(_) => EventKind::System,
            Event::Metric(_) => EventKind::Metric,
            Event::Audit(_) => EventKind::Audit,
        }
    }

    /// The session the event belongs to.
    pub fn session(&self) -> &SessionId {
        match self {
            Event::SessionStarted(e) => &e.session,
            Event::SessionEnded(e) => &e.session,
            Event::Decision(e) => &e.session,
            Event::Execution(e) => &e.session,
            Event::TradeOpened(e) => &e.session,
            Event::TradeFilled(e) => &e.session,
            Event::TradeClosed(e) => &e.session,
            Event::PositionSnapshot(e) => &e.session,
            Event::Risk(e) => &e.session,
            Event::System(e) => &e.session,
            Event::Metric(e) => &e.session,
            Event::Audit(e) => &e.session,
        }
    }

    /// Sets the session the event belongs to.
    pub fn set_session(&mut self, session: SessionId) {
        let slot = match self {
            Event::SessionStarted(e) => &mut e.session,
            Event::SessionEnded(e) => &mut e.session,
            Event::Decision(e) => &mut e.session,
            Event::Execution(e) => &mut e.session,
            Event::TradeOpened(e) => &mut e.session,
            Event::TradeFilled(e) => &mut e.session,
            Event::TradeClosed(e) => &mut e.session,
            Event::PositionSnapshot(e) => &mut e.session,
            Event::Risk(e) => &mut e.session,
            Event::System(e) => &mut e.session,
            Event::Metric(e) => &mut e.session,
            Event::Audit(e) => &mut e.session,
        };
        *slot = session;
    }

    /// The instrument the event concerns, if any.
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            Event::Decision(e) => Some(&e.symbol),
            Event::Execution(e) => Some(&e.symbol),
            Event::TradeOpened(e) => Some(&e.symbol),
            Event::TradeFilled(e) => Some(&e.symbol),
            Event::TradeClosed(e) => Some(&e.symbol),
            Event::PositionSnapshot(e) => Some(&e.symbol),
            _ => None,
        }
    }

    /// The trade the event concerns, if any.
    pub fn trade_id(&self) -> Option<&TradeId> {
        match self {
            Event::TradeOpened(e) => Some(&e.trade_id),
            Event::TradeFilled(e) => Some(&e.trade_id),
            Event::TradeClosed(e) => Some(&e.trade_id),
            _ => None,
        }
    }

    /// The decision the event concerns, if any.
    pub fn decision_id(&self) -> Option<&DecisionId> {
        match self {
            Event::Decision(e) => Some(&e.decision_id),
            Event::Execution(e) => Some(&e.decision_id),
            Event::TradeOpened(e) => e.decision_id.as_ref(),
            _ => None,
        }
    }

    /// The order the event concerns, if any.
    pub fn order_id(&self) -> Option<&OrderId> {
        match self {
            Event::Execution(e) => Some(&e.order_id),
            Event::TradeOpened(e) => e.order_id.as_ref(),
            Event::TradeFilled(e) => e.order_id.as_ref(),
            Event::TradeClosed(e) => e.order_id.as_ref(),
            _ => None,
        }
    }
}
