//! Views rebuilt by folding the log: trades, positions, metrics, decision
//! chains, sessions, risk and audit trails, counts by kind.
//!
//! [`Projections::apply`] folds one event; folding the whole log from the
//! start, folding it incrementally as events are appended, and folding the
//! tail after a snapshot all give the same views (tested).

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::decimal::Decimal;
use crate::error::DomainError;
use crate::events::*;
use crate::ids::{DecisionId, SessionId, Symbol, TradeId};
use crate::trade::{Trade, TradeStatus};
use crate::validate::ValidationError;
use crate::view::EventView;
use ledger_core::Reader;
use ledger_core::{ChainHash, Seq, Timestamp};

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

/// A position at one point: a snapshot's figures, without its strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionPoint {
    /// The snapshot's record.
    pub seq: Seq,
    /// Its time.
    pub time: Timestamp,
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

/// A symbol's position: every snapshot, the last being the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    /// Every snapshot, oldest first.
    pub history: Vec<PositionPoint>,
}

impl PositionView {
    /// The latest snapshot.
    pub fn current(&self) -> Option<&PositionPoint> {
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

/// A decision and what came of it. The views keep record numbers, not
/// copies: the decision's reasoning and market snapshot, and the
/// executions, are read from the log when asked for ([`Projections::explain_trade`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionChain {
    /// The decision's record.
    pub decision: Seq,
    /// Its time.
    pub time: Timestamp,
    /// The instrument.
    pub symbol: Symbol,
    /// What was decided.
    pub action: Action,
    /// The records of the executions of orders that served it.
    pub executions: Vec<Seq>,
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
    /// Records of executions whose decision is not (yet) in the log, by decision id.
    pub orphan_executions: HashMap<DecisionId, Vec<Seq>>,
    /// Sessions by id.
    pub sessions: HashMap<SessionId, SessionView>,
    /// Risk events, in order.
    pub risk: Vec<At<RiskEvent>>,
    /// Audit notes, in order.
    pub audit: Vec<At<AuditNote>>,
    /// System events by level.
    pub system_by_level: BTreeMap<Level, u64>,
    /// Events by kind code (index = [`EventKind::code`]).
    pub counts: Vec<u64>,
    /// Events the fold could not apply, in order: kept so that no view
    /// drops them silently (possible only in a log written without
    /// validation; validation refuses every such event).
    pub unfolded: Vec<Unfolded>,
}

/// Pushes `item`, allocating room for just it when `v` has none: most
/// decisions have one execution and open at most one trade, and a `Vec`'s
/// first push otherwise makes room for four.
fn push_one<T>(v: &mut Vec<T>, item: T) {
    if v.capacity() == 0 {
        v.reserve_exact(1);
    }
    v.push(item);
}

/// An event that breaks a trade rule, so the fold left the trade unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfolded {
    /// The record.
    pub seq: Seq,
    /// The event's kind.
    pub kind: EventKind,
    /// Why it was not applied.
    pub reason: String,
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
                None => Trade::check_open(e).or_else(|r| refuse("qty", r)),
            },
            Event::TradeFilled(e) => match self.trades.get(&e.trade_id) {
                None => refuse("trade_id", format!("no trade {} was opened", e.trade_id)),
                Some(t) if t.symbol != e.symbol => refuse(
                    "symbol",
                    format!("trade {} is on {}, not {}", e.trade_id, t.symbol, e.symbol),
                ),
                Some(t) => t.check_fill(e).or_else(|r| refuse("trade_id", r)),
            },
            Event::TradeClosed(e) => match self.trades.get(&e.trade_id) {
                None => refuse("trade_id", format!("no trade {} was opened", e.trade_id)),
                Some(t) if t.symbol != e.symbol && t.status == TradeStatus::Open => refuse(
                    "symbol",
                    format!("trade {} is on {}, not {}", e.trade_id, t.symbol, e.symbol),
                ),
                Some(t) => match t.check_close(e) {
                    Ok(_) => Ok(()),
                    Err(r) if t.status == TradeStatus::Closed => refuse("trade_id", r),
                    Err(r) => refuse("realized_pnl", r),
                },
            },
            _ => Ok(()),
        }
    }

    /// How many events of `kind` were folded.
    pub fn count(&self, kind: EventKind) -> u64 {
        self.counts.get(kind.code() as usize).copied().unwrap_or(0)
    }

    /// Events folded, of every kind.
    pub fn total_events(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Folds one event (see [`Self::apply_view`]).
    pub fn apply_ref(&mut self, seq: Seq, hash: ChainHash, time: Timestamp, event: &Event) {
        self.apply_view(seq, hash, time, &event.view());
    }

    /// Folds one event (see [`Self::apply_view`]).
    pub fn apply(&mut self, seq: Seq, hash: ChainHash, time: Timestamp, event: Event) {
        self.apply_view(seq, hash, time, &event.view());
    }

    /// Folds one event, read through its borrowed view: only what a view
    /// keeps (a new trade, decision or session, a symbol or metric first
    /// seen, a risk or audit event) is turned into owned values. Events that
    /// break a trade rule (possible only in a log written without
    /// validation) leave the trade unchanged and are listed in
    /// [`Self::unfolded`].
    pub fn apply_view(
        &mut self,
        seq: Seq,
        hash: ChainHash,
        time: Timestamp,
        event: &EventView<'_>,
    ) {
        self.last = Some((seq, hash, time));
        let code = event.kind().code() as usize;
        if self.counts.len() <= code {
            self.counts.resize(code + 1, 0);
        }
        self.counts[code] += 1;
        let session = match self.sessions.get_mut(event.session()) {
            Some(s) => s,
            None => self
                .sessions
                .entry(SessionId::from(event.session()))
                .or_default(),
        };
        session.events += 1;
        session.span = Some(match session.span {
            None => (time, time),
            Some((first, _)) => (first, time),
        });
        match event {
            EventView::SessionStarted(e) => {
                session.started = Some(At {
                    seq,
                    time,
                    event: e.owned(),
                })
            }
            EventView::SessionEnded(e) => {
                session.ended = Some(At {
                    seq,
                    time,
                    event: e.owned(),
                })
            }
            EventView::Decision(e) => {
                let executions = if self.orphan_executions.is_empty() {
                    Vec::new()
                } else {
                    self.orphan_executions
                        .remove(e.decision_id)
                        .unwrap_or_default()
                };
                self.decisions.insert(
                    DecisionId::from(e.decision_id),
                    DecisionChain {
                        decision: seq,
                        time,
                        symbol: Symbol::from(e.symbol),
                        action: e.action,
                        executions,
                        trades: Vec::new(),
                    },
                );
            }
            EventView::Execution(e) => match self.decisions.get_mut(e.decision_id) {
                Some(chain) => push_one(&mut chain.executions, seq),
                None => match self.orphan_executions.get_mut(e.decision_id) {
                    Some(orphans) => orphans.push(seq),
                    None => {
                        self.orphan_executions
                            .insert(DecisionId::from(e.decision_id), vec![seq]);
                    }
                },
            },
            EventView::TradeOpened(e) => {
                // One hash and probe for the test and the insertion.
                let refused = match self.trades.entry(TradeId::from(e.trade_id)) {
                    Entry::Occupied(t) => Some(format!(
                        "trade {} already exists (opened at record {})",
                        e.trade_id,
                        t.get().opened.0
                    )),
                    Entry::Vacant(slot) => match Trade::open_view(seq, time, e) {
                        Ok(t) => {
                            if let Some(chain) =
                                e.decision_id.and_then(|d| self.decisions.get_mut(d))
                            {
                                push_one(&mut chain.trades, t.trade_id.clone());
                            }
                            slot.insert(t);
                            None
                        }
                        Err(reason) => Some(reason),
                    },
                };
                if let Some(reason) = refused {
                    self.unfold(seq, EventKind::TradeOpened, reason);
                }
            }
            EventView::TradeFilled(e) => {
                let done = match self.trades.get_mut(e.trade_id) {
                    Some(t) => t.fill_view(seq, time, e),
                    None => Err(format!("no trade {} was opened", e.trade_id)),
                };
                if let Err(reason) = done {
                    self.unfold(seq, EventKind::TradeFilled, reason);
                }
            }
            EventView::TradeClosed(e) => {
                let done = match self.trades.get_mut(e.trade_id) {
                    Some(t) => t.close_view(seq, time, e),
                    None => Err(format!("no trade {} was opened", e.trade_id)),
                };
                if let Err(reason) = done {
                    self.unfold(seq, EventKind::TradeClosed, reason);
                }
            }
            EventView::PositionSnapshot(e) => {
                let point = PositionPoint {
                    seq,
                    time,
                    qty: e.qty,
                    avg_entry: e.avg_entry,
                    mark: e.mark,
                    unrealized_pnl: e.unrealized_pnl,
                    realized_pnl: e.realized_pnl,
                };
                match self.positions.get_mut(e.symbol) {
                    Some(v) => v.history.push(point),
                    None => {
                        self.positions.insert(
                            Symbol::from(e.symbol),
                            PositionView {
                                history: vec![point],
                            },
                        );
                    }
                }
            }
            EventView::Risk(e) => self.risk.push(At {
                seq,
                time,
                event: e.owned(),
            }),
            EventView::System(e) => *self.system_by_level.entry(e.level).or_default() += 1,
            EventView::Metric(e) => {
                let point = (seq, time, e.value);
                match self.metrics.get_mut(e.name) {
                    Some(m) => m.points.push(point),
                    None => {
                        self.metrics.insert(
                            e.name.to_owned(),
                            MetricSeries {
                                points: vec![point],
                            },
                        );
                    }
                }
            }
            EventView::Audit(e) => self.audit.push(At {
                seq,
                time,
                event: e.owned(),
            }),
        }
    }

    #[cold]
    fn unfold(&mut self, seq: Seq, kind: EventKind, reason: String) {
        self.unfolded.push(Unfolded { seq, kind, reason });
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
    /// market snapshot, read from the log) through the executions to its
    /// fills and close. `None` when there is no such trade.
    pub fn explain_trade(
        &self,
        id: &TradeId,
        reader: &Reader,
    ) -> Result<Option<TradeStory<'_>>, DomainError> {
        let Some(trade) = self.trades.get(id) else {
            return Ok(None);
        };
        let chain = trade
            .decision_id
            .as_ref()
            .and_then(|d| self.decisions.get(d));
        let mut story = TradeStory {
            trade,
            decision: None,
            executions: Vec::new(),
        };
        if let Some(chain) = chain {
            if let Event::Decision(d) = read_event(reader, chain.decision)?.event {
                story.decision = Some(At {
                    seq: chain.decision,
                    time: chain.time,
                    event: d,
                });
            }
            for &seq in &chain.executions {
                let at = read_event(reader, seq)?;
                if let Event::Execution(x) = at.event {
                    story.executions.push(At {
                        seq,
                        time: at.time,
                        event: x,
                    });
                }
            }
        }
        Ok(Some(story))
    }
}

/// The event of record `seq`.
pub fn read_event(reader: &Reader, seq: Seq) -> Result<At<Event>, DomainError> {
    let mut cursor = reader.cursor_from(seq)?;
    match cursor.next_ref()? {
        Some(r) if r.seq == seq => Ok(At {
            seq,
            time: r.timestamp,
            event: codec::decode(r.kind, r.version, r.payload)
                .map_err(|error| DomainError::Decode { seq, error })?,
        }),
        _ => Err(DomainError::Ledger(ledger_core::Error::NoSuchSeq {
            seq,
            head: cursor.next_seq().get().saturating_sub(1),
        })),
    }
}

/// A trade and the decision chain behind it.
#[derive(Debug, Clone)]
pub struct TradeStory<'a> {
    /// The trade, with every fill and its P&L.
    pub trade: &'a Trade,
    /// The decision (reasoning, market snapshot), when the trade names a
    /// decision that is in the log.
    pub decision: Option<At<Decision>>,
    /// The executions of the orders that served the decision.
    pub executions: Vec<At<Execution>>,
}
