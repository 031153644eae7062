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

/// A payload read the way postcard lays it out (the format's rules, as
/// postcard 1 decodes them, for the types the views read):
///
/// - unsigned integers (lengths, `u64`, enum variant indexes as `u32`) are
///   LEB128 varints of at most 5 (`u32`), 10 (`u64`, `usize`) or 19
///   (`u128`) bytes, whose last allowed byte may carry only the bits the
///   type has left; a varint that is still going on after them is refused;
/// - an `i128` (a [`Decimal`]'s units) is a zigzag `u128` varint;
/// - a string is its length, then that many bytes of UTF-8;
/// - an `Option` is a byte 0 (`None`) or 1 (`Some`, the value follows);
/// - a unit enum is its variant index, below the number of variants;
/// - a sequence is its length, then the elements; a struct or tuple is its
///   fields in order.
///
/// Decoding by hand what serde and postcard decoded (the views used to be
/// `Deserialize`d) takes about a third off decoding a view (scan + views
/// 6.5 -> 8.6 M records/s in the `rebuild` example, scan alone 19 M/s), and
/// strings that are checked, not kept, are checked as ASCII first (inline),
/// as UTF-8 only otherwise. `decode_view` accepts
/// exactly what [`codec::decode`](crate::codec::decode) accepts (tested on
/// every generated event, damaged at every byte, and against the serde
/// decoding it replaces).
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A varint of at most `MAX` bytes, the last carrying at most `LAST`.
    #[inline]
    fn varint<const MAX: usize, const LAST: u8>(&mut self) -> Option<u128> {
        let mut out = 0u128;
        for i in 0..MAX {
            let b = self.byte()?;
            out |= u128::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (i != MAX - 1 || b <= LAST).then_some(out);
            }
        }
        None
    }

    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        match self.0.first() {
            Some(&b) if b < 0x80 => {
                self.0 = &self.0[1..];
                Some(u64::from(b))
            }
            _ => self.varint::<10, 1>().map(|v| v as u64),
        }
    }

    #[inline]
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?).ok()
    }

    /// A unit enum's variant index, if below `variants`.
    #[inline]
    fn variant(&mut self, variants: u32) -> Option<u32> {
        let v = match self.0.first() {
            Some(&b) if b < 0x80 => {
                self.0 = &self.0[1..];
                u32::from(b)
            }
            _ => self.varint::<5, 0x0f>()? as u32,
        };
        (v < variants).then_some(v)
    }

    #[inline(always)]
    fn decimal(&mut self) -> Option<Decimal> {
        // Most amounts take at most 9 bytes (63 bits): read those in a
        // `u64`, and the rare longer ones as the general case.
        let mut out = 0u64;
        for (i, &b) in self.0.iter().take(9).enumerate() {
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                let units = ((out >> 1) as i128) ^ (-((out & 1) as i128));
                return Some(Decimal::from_units(units));
            }
        }
        self.decimal_long()
    }

    #[cold]
    fn decimal_long(&mut self) -> Option<Decimal> {
        let n = self.varint::<19, 0b11>()?;
        let units = ((n >> 1) as i128) ^ (-((n & 1) as i128));
        Some(Decimal::from_units(units))
    }

    #[inline(always)]
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        if n > self.0.len() {
            return None;
        }
        let (bytes, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(bytes)
    }

    #[inline(always)]
    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// A string that is checked, not kept: ASCII (the common case, checked
    /// inline) or else valid UTF-8.
    #[inline(always)]
    fn skip_str(&mut self) -> Option<()> {
        let b = self.bytes()?;
        (b.is_ascii() || std::str::from_utf8(b).is_ok()).then_some(())
    }

    #[inline]
    fn option<T>(&mut self, value: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.byte()? {
            0 => Some(None),
            1 => value(self).map(Some),
            _ => None,
        }
    }

    /// A sequence whose elements are checked and dropped.
    #[inline]
    fn skip_seq(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        for _ in 0..self.len()? {
            element(self)?;
        }
        Some(())
    }

    /// Two strings (a system event's field, a metric's tag).
    fn str_pair(&mut self) -> Option<()> {
        self.skip_str()?;
        self.skip_str()
    }

    fn action(&mut self) -> Option<Action> {
        Some(match self.variant(4)? {
            0 => Action::Buy,
            1 => Action::Sell,
            2 => Action::Hold,
            _ => Action::Close,
        })
    }

    fn direction(&mut self) -> Option<Direction> {
        Some(match self.variant(2)? {
            0 => Direction::Long,
            _ => Direction::Short,
        })
    }

    fn effect(&mut self) -> Option<FillEffect> {
        Some(match self.variant(2)? {
            0 => FillEffect::Increase,
            _ => FillEffect::Reduce,
        })
    }

    fn severity(&mut self) -> Option<Severity> {
        Some(match self.variant(3)? {
            0 => Severity::Info,
            1 => Severity::Warning,
            _ => Severity::Critical,
        })
    }

    fn level(&mut self) -> Option<Level> {
        Some(match self.variant(5)? {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            _ => Level::Error,
        })
    }

    /// The view of an event of kind `k`, the fields its layout has first.
    #[inline(always)]
    fn view(&mut self, k: EventKind) -> Option<EventView<'a>> {
        Some(match k {
            EventKind::SessionStarted => EventView::SessionStarted(SessionStartedView {
                session: self.str()?,
                engine_version: self.str()?,
                config_digest: self.str()?,
                starting_equity: self.decimal()?,
            }),
            EventKind::SessionEnded => EventView::SessionEnded(SessionEndedView {
                session: self.str()?,
                reason: self.str()?,
            }),
            EventKind::Decision => EventView::Decision(DecisionView {
                session: self.str()?,
                decision_id: self.str()?,
                symbol: self.str()?,
                action: self.action()?,
            }),
            EventKind::Execution => EventView::Execution(ExecutionView {
                session: self.str()?,
                order_id: self.str()?,
                decision_id: self.str()?,
            }),
            EventKind::TradeOpened => EventView::TradeOpened(TradeOpenedView {
                session: self.str()?,
                trade_id: self.str()?,
                symbol: self.str()?,
                direction: self.direction()?,
                qty: self.decimal()?,
                price: self.decimal()?,
                fees: self.decimal()?,
                decision_id: self.option(Self::str)?,
                order_id: self.option(Self::str)?,
            }),
            EventKind::TradeFilled => EventView::TradeFilled(TradeFilledView {
                session: self.str()?,
                trade_id: self.str()?,
                symbol: self.str()?,
                effect: self.effect()?,
                qty: self.decimal()?,
                price: self.decimal()?,
                fees: self.decimal()?,
                order_id: self.option(Self::str)?,
            }),
            EventKind::TradeClosed => EventView::TradeClosed(TradeClosedView {
                session: self.str()?,
                trade_id: self.str()?,
                symbol: self.str()?,
                price: self.decimal()?,
                fees: self.decimal()?,
                realized_pnl: self.decimal()?,
                order_id: self.option(Self::str)?,
            }),
            EventKind::PositionSnapshot => EventView::PositionSnapshot(PositionSnapshotView {
                session: self.str()?,
                symbol: self.str()?,
                qty: self.decimal()?,
                avg_entry: self.decimal()?,
                mark: self.decimal()?,
                unrealized_pnl: self.decimal()?,
                realized_pnl: self.decimal()?,
            }),
            EventKind::Risk => EventView::Risk(RiskView {
                session: self.str()?,
                rule: self.str()?,
                severity: self.severity()?,
                limit: self.decimal()?,
                observed: self.decimal()?,
                action: self.str()?,
            }),
            EventKind::System => EventView::System(SystemView {
                session: self.str()?,
                component: self.str()?,
                level: self.level()?,
            }),
            EventKind::Metric => EventView::Metric(MetricView {
                session: self.str()?,
                name: self.str()?,
                value: self.decimal()?,
            }),
            EventKind::Audit => EventView::Audit(AuditView {
                session: self.str()?,
                who: self.str()?,
                action: self.str()?,
                target: self.str()?,
                reason: self.str()?,
            }),
        })
    }

    /// Checks the fields of an event of kind `k` after its view.
    #[inline(always)]
    fn rest(&mut self, k: EventKind) -> Option<()> {
        match k {
            EventKind::Decision => {
                self.decimal()?; // size
                self.decimal()?; // confidence
                self.skip_seq(Self::skip_str)?; // reasoning
                for _ in 0..4 {
                    self.decimal()?; // bid, ask, last, volume
                }
                self.skip_seq(|w| {
                    w.skip_str()?; // indicator name
                    w.decimal().map(drop) // and value
                })?;
            }
            EventKind::Execution => {
                self.skip_str()?; // symbol
                self.variant(2)?; // side
                self.variant(4)?; // status
                self.decimal()?; // requested_qty
                self.decimal()?; // filled_qty
                self.option(Self::decimal)?; // avg_price
                self.decimal()?; // fees
                self.u64()?; // latency_us
                self.option(Self::skip_str)?; // error
            }
            EventKind::System => {
                self.skip_str()?; // message
                self.skip_seq(Self::str_pair)?; // fields
            }
            EventKind::Metric => self.skip_seq(Self::str_pair)?, // tags
            _ => {}
        }
        Some(())
    }
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
    let mut w = Wire(payload);
    let view = w.view(k)?;
    w.rest(k)?;
    w.0.is_empty().then_some(view)
}

/// The view of a payload [`decode_view`] has already accepted, reading only
/// the view's own fields (what the folding thread does after a decoding
/// thread checked the whole payload). `None` if even those do not decode,
/// which a checked payload never does.
pub(crate) fn decode_checked_view(kind: Kind, payload: &[u8]) -> Option<EventView<'_>> {
    Wire(payload).view(EventKind::from_code(kind.get())?)
}

#[cfg(test)]
mod tests {
    //! The serde decoding the views used before [`Wire`]: the hand-written
    //! decoder must accept and read exactly what it does.

    use super::*;
    use std::marker::PhantomData;

    use serde::de::{Deserializer, SeqAccess, Visitor};

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

    /// The old `decode_view`.
    fn serde_view(kind: Kind, version: SchemaVersion, payload: &[u8]) -> Option<EventView<'_>> {
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

    /// The old `decode_checked_view`.
    fn serde_checked_view(kind: Kind, payload: &[u8]) -> Option<EventView<'_>> {
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

    /// Whether the payload decodes, after checking both decoders agree.
    fn check(kind: Kind, version: SchemaVersion, b: &[u8]) -> bool {
        let new = decode_view(kind, version, b);
        assert_eq!(new, serde_view(kind, version, b), "{kind:?} {b:?}");
        if new.is_some() {
            assert_eq!(decode_checked_view(kind, b), serde_checked_view(kind, b));
        }
        new.is_some()
    }

    /// Every byte of every kind's payloads, flipped, and every truncation.
    #[test]
    fn the_wire_decoder_reads_what_serde_reads() {
        let events = ledger_tools::sim::Generator::new("gen", 7, ledger_tools::sim::DEMO_START)
            .take(400)
            // The generator's events are the other build of this crate's
            // (the dev-dependency cycle): carried over through JSON.
            .map(|(_, e)| serde_json::to_value(e).unwrap())
            .map(|e| serde_json::from_value::<Event>(e).unwrap());
        let mut buf = Vec::new();
        let (mut kinds, mut accepted, mut refused) = (std::collections::BTreeSet::new(), 0, 0);
        for e in events {
            let (kind, version) = crate::codec::encode(&e, &mut buf).unwrap();
            assert!(check(kind, version, &buf));
            kinds.insert(kind.get());
            for n in 0..buf.len() {
                check(kind, version, &buf[..n]);
            }
            for at in 0..buf.len() {
                for bits in [0x01, 0x02, 0x40, 0x7f, 0x80, 0xff] {
                    let mut b = buf.clone();
                    b[at] ^= bits;
                    match check(kind, version, &b) {
                        true => accepted += 1,
                        false => refused += 1,
                    }
                }
            }
            assert!(!check(kind, version, &[&buf[..], &[0]].concat()));
        }
        assert!(kinds.len() >= 10, "{kinds:?}");
        assert!(
            accepted > 10_000 && refused > 10_000,
            "{accepted} {refused}"
        );
    }

    /// Varints at their limits: the longest encodings, the bits the last
    /// byte may carry, non-minimal encodings.
    #[test]
    fn varints_at_their_limits() {
        let audit = Kind::new(EventKind::Audit.code());
        let metric = Kind::new(EventKind::Metric.code());
        let v =
            |k: Kind| SchemaVersion::new(EventKind::from_code(k.get()).unwrap().current_version());
        for last in [0u8, 1, 2, 3, 4, 0x7f] {
            for len in [1usize, 2, 10, 18, 19, 20] {
                // A metric: session "s", name "m", then the value's varint.
                let mut b = vec![1, b's', 1, b'm'];
                b.extend(std::iter::repeat_n(0x80, len - 1));
                b.push(last);
                b.push(0); // no tags
                check(metric, v(metric), &b);
                // A string length as a long varint.
                let mut b = vec![0x81];
                b.extend(std::iter::repeat_n(0x80, len - 1));
                b.push(last);
                check(audit, v(audit), &b);
            }
        }
        // An enum index as a long varint (a risk event's severity).
        let risk = Kind::new(EventKind::Risk.code());
        for tail in [
            &[0x80u8, 0x80, 0x80, 0x80, 0x00][..],
            &[0x81, 0x80, 0x80, 0x80, 0x0f],
            &[0x82, 0x00],
            &[0x80, 0x80, 0x80, 0x80, 0x10],
        ] {
            let mut b = vec![1, b's', 1, b'r'];
            b.extend_from_slice(tail);
            b.extend_from_slice(&[0, 0, 1, b'a']);
            check(risk, v(risk), &b);
        }
    }
}
