//! Views rebuilt by folding the log: trades, positions, metrics, decision
//! chains, sessions, risk and audit trails, counts by kind.
//!
//! [`Projections::apply`] folds one event; folding the whole log from the
//! start, folding it incrementally as events are appended, and folding the
//! tail after a snapshot all give the same views (tested).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::decimal::Decimal;
use super::events::*;
use super::ids::{DecisionId, SessionId, Symbol, TradeId};
use super::trade::{Trade, TradeStatus};
use super::validate::ValidationError;
use crate::types::{ChainHash, Seq, Timestamp};

/// An event with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct At<T> {
    /// The record.
    pub seq: Seq,
    /// Its time.
    pub time: Timestamp,
    /// The event.
    pub event: T,
}

/// A symbol's position: the latest snapshot and every one before it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    /// Every snapshot, oldest first; the last is the current position.
    pub history: Vec<At<PositionSnapshot>>,
}

impl PositionView {
    /// The latest snapshot.
    pub fn current(&self) -> Option<&At<PositionSnapshot>> {
        self.history.last()
    }
}

/// A metric's series.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// `(record, time, value)`, oldest first; the last is the latest.
    pub points: Vec<(Seq, Timestamp, Decimal)>,
}

impl MetricSeries {
    /// The latest value.
    pub fn latest(&self) -> Option<Decimal> {
        self.points.last().map(|p| p.2)
    }
}

/// A decision and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionChain {
    /// The decision, with reasoning and market snapshot.
    pub decision: At<Decision>,
    /// The executions of orders that served it.
    pub executions: Vec<At<Execution>>,
    /// The trades it opened.
    pub trades: Vec<TradeId>,
}

/// A session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Its start.
    pub started: Option<At<SessionStarted>>,
    /// Its end.
    pub ended: Option<At<SessionEnded>>,
    /// Events that belong to it.
    pub events: u64,
    /// First and last event time.
    pub span: Option<(Timestamp, Timestamp)>,
}

/// All views.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projections {
    /// The last record folded, with its chain hash.
    pub last: Option<(Seq, ChainHash, Timestamp)>,
    /// Trades by id.
    pub trades: HashMap<TradeId, Trade>,
    /// Positions by symbol.
    pub positions: BTreeMap<Symbol, PositionView>,
    /// Metrics by name.
    pub metrics: BTreeMap<String, MetricSeries>,
    /// Decision chains by decision id.
    pub decisions: HashMap<DecisionId, DecisionChain>,
    /// Executions whose decision is not (yet) in the log, by decision id.
    pub orphan_executions: HashMap<DecisionId, Vec<At<Execution>>>,
    /// Sessions by id.
    pub sessions: BTreeMap<SessionId, SessionView>,
    /// Risk events, in order.
    pub risk: Vec<At<RiskEvent>>,
    /// Audit notes, in order.
    pub audit: Vec<At<AuditNote>>,
    /// System events by level.
    pub system_by_level: BTreeMap<Level, u64>,
    /// Events by kind.
    pub counts: BTreeMap<EventKind, u64>,
}

impl Projections {
    /// Empty views.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the rules that depend on the log so far: trade ids are used
    /// once; only open trades are filled or closed; a reducing fill leaves
    /// quantity open; a closing P&L is the computed one.
    pub fn check(&self, event: &Event) -> Result<(), ValidationError> {
        let refuse = |field: &str, reason: String| {
            Err(ValidationError {
                kind: event.kind(),
                field: field.to_owned(),
                reason,
            })
        };
        match event {
            Event::TradeOpened(e) => match self.trades.get(&e.trade_id) {
                Some(t) => refuse(
                    "trade_id",
                    format!(
                        "trade {} already exists (opened at record {})",
                        e.trade_id, t.opened.0
                    ),
                ),
                None => Ok(()),
            },
            Event::TradeFilled(e) => match self.trades.get(&e.trade_id) {
                None => refuse("trade_id", format!("no trade {} was opened", e.trade_id)),
                Some(t) => t.check_fill(e).or_else(|r| refuse("trade_id", r)),
            },
            Event::TradeClosed(e) => match self.trades.get(&e.trade_id) {
                None => refuse("trade_id", format!("no trade {} was opened", e.trade_id)),
                Some(t) => match t.check_close(e) {
                    Ok(_) => Ok(()),
                    Err(r) if t.status == TradeStatus::Closed => refuse("trade_id", r),
                    Err(r) => refuse("realized_pnl", r),
                },
            },
            _ => Ok(()),
        }
    }

    /// The net P&L a close of `trade` at `price` with `fees` would realize.
    pub fn closing_pnl(
        &self,
        trade: &TradeId,
        price: Decimal,
        fees: Decimal,
    ) -> Result<Decimal, String> {
        self.trades
            .get(trade)
            .ok_or_else(|| format!("no trade {trade} was opened"))?
            .pnl_if_closed(price, fees)
    }

    /// Folds one event. Events that break a trade rule (possible only in a
    /// log written without validation) leave the trade unchanged.
    pub fn apply(&mut self, seq: Seq, hash: ChainHash, time: Timestamp, event: &Event) {
        self.last = Some((seq, hash, time));
        *self.counts.entry(event.kind()).or_default() += 1;
        if !self.sessions.contains_key(event.session()) {
            self.sessions
                .insert(event.session().clone(), SessionView::default());
        }
        let mut session = self.sessions.get_mut(event.session());
        if let Some(s) = session.as_deref_mut() {
            s.events += 1;
            s.span = Some(match s.span {
                None => (time, time),
                Some((first, _)) => (first, time),
            });
        }
        macro_rules! at {
            ($e:expr) => {
                At {
                    seq,
                    time,
                    event: $e.clone(),
                }
            };
        }
        match event {
            Event::SessionStarted(e) => {
                if let Some(s) = session {
                    s.started = Some(at!(e));
                }
            }
            Event::SessionEnded(e) => {
                if let Some(s) = session {
                    s.ended = Some(at!(e));
                }
            }
            Event::Decision(e) => {
                let executions = self
                    .orphan_executions
                    .remove(&e.decision_id)
                    .unwrap_or_default();
                self.decisions.insert(
                    e.decision_id.clone(),
                    DecisionChain {
                        decision: at!(e),
                        executions,
                        trades: Vec::new(),
                    },
                );
            }
            Event::Execution(e) => match self.decisions.get_mut(&e.decision_id) {
                Some(chain) => chain.executions.push(at!(e)),
                None => self
                    .orphan_executions
                    .entry(e.decision_id.clone())
                    .or_default()
                    .push(at!(e)),
            },
            Event::TradeOpened(e) => {
                if self.trades.contains_key(&e.trade_id) {
                    return;
                }
                if let Ok(t) = Trade::open(seq, time, e) {
                    if let Some(chain) = e
                        .decision_id
                        .as_ref()
                        .and_then(|d| self.decisions.get_mut(d))
                    {
                        chain.trades.push(e.trade_id.clone());
                    }
                    self.trades.insert(e.trade_id.clone(), t);
                }
            }
            Event::TradeFilled(e) => {
                if let Some(t) = self.trades.get_mut(&e.trade_id) {
                    let _ = t.fill(seq, time, e);
                }
            }
            Event::TradeClosed(e) => {
                if let Some(t) = self.trades.get_mut(&e.trade_id) {
                    let _ = t.close(seq, time, e);
                }
            }
            Event::PositionSnapshot(e) => self
                .positions
                .entry(e.symbol.clone())
                .or_default()
                .history
                .push(at!(e)),
            Event::Risk(e) => self.risk.push(at!(e)),
            Event::System(e) => *self.system_by_level.entry(e.level).or_default() += 1,
            Event::Metric(e) => self
                .metrics
                .entry(e.name.clone())
                .or_default()
                .points
                .push((seq, time, e.value)),
            Event::Audit(e) => self.audit.push(at!(e)),
        }
    }

    /// Trades in the order they were opened.
    pub fn trades_in_order(&self) -> Vec<&Trade> {
        let mut v: Vec<&Trade> = self.trades.values().collect();
        v.sort_by_key(|t| t.opened.0);
        v
    }

    /// Open trades, in the order they were opened.
    pub fn open_trades(&self) -> Vec<&Trade> {
        let mut v: Vec<&Trade> = self
            .trades
            .values()
            .filter(|t| t.status == TradeStatus::Open)
            .collect();
        v.sort_by_key(|t| t.opened.0);
        v
    }

    /// Closed trades, in the order they were closed.
    pub fn closed_trades(&self) -> Vec<&Trade> {
        let mut v: Vec<&Trade> = self
            .trades
            .values()
            .filter(|t| t.status == TradeStatus::Closed)
            .collect();
        v.sort_by_key(|t| t.closed.map(|c| c.0));
        v
    }

    /// "Why did we trade": the trade's story from its decision (reasoning and
    /// market snapshot) through the executions to its fills and close.
    pub fn explain_trade(&self, id: &TradeId) -> Option<TradeStory<'_>> {
        let trade = self.trades.get(id)?;
        let chain = trade
            .decision_id
            .as_ref()
            .and_then(|d| self.decisions.get(d));
        Some(TradeStory { trade, chain })
    }
}

/// A trade and the decision chain behind it.
#[derive(Debug, Clone, Copy)]
pub struct TradeStory<'a> {
    /// The trade, with every fill and its P&L.
    pub trade: &'a Trade,
    /// The decision (reasoning, market snapshot) and its executions, when
    /// the trade names a decision that is in the log.
    pub chain: Option<&'a DecisionChain>,
}
