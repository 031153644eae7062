//! Execution quality: every order's result against the decision that sent
//! it and the market snapshot that decision saw (`docs/REPORT.md`,
//! "Execution quality").
//!
//! Slippage is in basis points, signed so that a positive figure costs
//! money: a buy filled above the reference, a sell below it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::ReportFilter;
use crate::codec;
use crate::decimal::Decimal;
use crate::error::DomainError;
use crate::events::{Decision, Event, EventKind, Execution, ExecutionStatus, Side};
use crate::ids::{DecisionId, OrderId, SessionId, Symbol};
use crate::projections::At;
use ledger_core::{Reader, Timestamp};

/// How many of the worst executions the report names.
pub const WORST: usize = 10;

/// Summary of a distribution.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Distribution {
    /// Values.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Median (mean of the two middle values for an even count).
    pub median: Option<f64>,
    /// 95th percentile (nearest rank).
    pub p95: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Distribution {
    /// The summary of `v`.
    pub fn of(v: &[f64]) -> Distribution {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n == 0 {
            return Distribution::default();
        }
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // Nearest rank: the smallest value with at least 95 % at or below it.
        let rank = (0.95 * n as f64).ceil() as usize;
        Distribution {
            count: n as u64,
            mean: Some(s.iter().sum::<f64>() / n as f64),
            median: Some(median),
            p95: Some(s[rank.clamp(1, n) - 1]),
            max: Some(s[n - 1]),
        }
    }
}

/// Execution figures of one set of orders.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExecutionFigures {
    /// Orders (execution results).
    pub orders: u64,
    /// Filled completely.
    pub filled: u64,
    /// Filled in part.
    pub partially_filled: u64,
    /// Rejected.
    pub rejected: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Quantity filled / quantity requested, over every order.
    pub fill_rate_fraction: Option<f64>,
    /// rejected / orders.
    pub rejection_rate_fraction: Option<f64>,
    /// cancelled / orders.
    pub cancel_rate_fraction: Option<f64>,
    /// Why orders were rejected: the venue's text, and how often.
    pub rejection_reasons: BTreeMap<String, u64>,
    /// Why orders were cancelled.
    pub cancel_reasons: BTreeMap<String, u64>,
    /// Fills measured against their decision's market snapshot.
    pub measured_fills: u64,
    /// Fills whose decision is not in the log (or has no usable price).
    pub unmeasured_fills: u64,
    /// Slippage against the snapshot's mid, in bps (positive costs money).
    pub slippage_mid_bps: Distribution,
    /// Slippage against the snapshot's last price, in bps.
    pub slippage_last_bps: Distribution,
    /// Quantity-weighted mean slippage against the mid, in bps.
    pub weighted_slippage_mid_bps: Option<f64>,
    /// What slippage against the mid cost: sum of side × (fill - mid) × qty.
    pub slippage_cost: Decimal,
    /// Time from the decision's record to the execution's, in µs.
    pub decision_to_fill_us: Distribution,
    /// The venue's reported latency (`latency_us`), in µs.
    pub venue_latency_us: Distribution,
}

/// One of the worst executions, with the reasoning behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstExecution {
    /// The execution's time.
    pub time: Timestamp,
    /// The order.
    pub order_id: OrderId,
    /// Its decision.
    pub decision_id: DecisionId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Quantity filled.
    pub filled_qty: Decimal,
    /// Average fill price.
    pub avg_price: Decimal,
    /// The decision's mid: (bid + ask) / 2.
    pub mid: Decimal,
    /// The decision's last price.
    pub last: Decimal,
    /// Slippage against the mid, bps.
    pub slippage_mid_bps: f64,
    /// Slippage against the last price, bps.
    pub slippage_last_bps: Option<f64>,
    /// side × (fill - mid) × qty.
    pub slippage_cost: Decimal,
    /// Decision to execution, µs.
    pub decision_to_fill_us: i64,
    /// The decision's reasoning steps.
    pub reasoning: Vec<String>,
}

/// Execution quality, overall and per symbol.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExecutionReport {
    /// Every order in the window.
    pub total: ExecutionFigures,
    /// Per symbol.
    pub by_symbol: BTreeMap<Symbol, ExecutionFigures>,
    /// The worst fills by slippage against the mid, worst first.
    pub worst: Vec<WorstExecution>,
    /// Every measured fill's slippage against the mid, in bps, in log order
    /// (for the tearsheet's distribution; not in the JSON).
    #[serde(skip)]
    pub fills_mid_bps: Vec<f64>,
}

/// +1 for a buy, -1 for a sell.
fn side_sign(side: Side) -> Decimal {
    match side {
        Side::Buy => Decimal::ONE,
        Side::Sell => Decimal::MINUS_ONE,
    }
}

/// Slippage of `price` against `reference` in bps, positive when it costs.
pub fn slippage_bps(side: Side, price: Decimal, reference: Decimal) -> Option<f64> {
    if !reference.is_positive() {
        return None;
    }
    let diff = price.checked_sub(reference)?.checked_mul(side_sign(side))?;
    Some(diff.to_f64() / reference.to_f64() * 10_000.0)
}

/// A fill measured against its decision.
struct Measured<'a> {
    x: &'a At<Execution>,
    d: &'a At<Decision>,
    mid: Decimal,
    mid_bps: f64,
    last_bps: Option<f64>,
    cost: Decimal,
    latency: i64,
}

#[derive(Default)]
struct Acc<'a> {
    fig: ExecutionFigures,
    requested: Decimal,
    filled: Decimal,
    mid: Vec<f64>,
    last: Vec<f64>,
    weighted: (f64, f64),
    latency: Vec<f64>,
    venue: Vec<f64>,
    measured: Vec<Measured<'a>>,
}

impl<'a> Acc<'a> {
    fn take(&mut self, x: &'a At<Execution>, d: Option<&'a At<Decision>>) {
        let e = &x.event;
        let f = &mut self.fig;
        f.orders += 1;
        let reason = || {
            e.error
                .clone()
                .unwrap_or_else(|| "(no reason given)".to_owned())
        };
        match e.status {
            ExecutionStatus::Filled => f.filled += 1,
            ExecutionStatus::PartiallyFilled => f.partially_filled += 1,
            ExecutionStatus::Rejected => {
                f.rejected += 1;
                *f.rejection_reasons.entry(reason()).or_default() += 1;
            }
            ExecutionStatus::Cancelled => {
                f.cancelled += 1;
                *f.cancel_reasons.entry(reason()).or_default() += 1;
            }
        }
        self.requested = self
            .requested
            .checked_add(e.requested_qty)
            .unwrap_or(self.requested);
        self.filled = self.filled.checked_add(e.filled_qty).unwrap_or(self.filled);
        self.venue.push(e.latency_us as f64);
        let Some(price) = e.avg_price.filter(|_| e.filled_qty.is_positive()) else {
            return;
        };
        let measured = d.and_then(|d| {
            let m = &d.event.market;
            let mid = m
                .bid
                .checked_add(m.ask)?
                .checked_div(Decimal::from_int(2))?;
            let mid_bps = slippage_bps(e.side, price, mid)?;
            let cost = price
                .checked_sub(mid)?
                .checked_mul(side_sign(e.side))?
                .checked_mul(e.filled_qty)?;
            Some(Measured {
                x,
                d,
                mid,
                mid_bps,
                last_bps: slippage_bps(e.side, price, m.last),
                cost,
                latency: x.time.as_nanos().saturating_sub(d.time.as_nanos()) / 1000,
            })
        });
        let Some(m) = measured else {
            f.unmeasured_fills += 1;
            return;
        };
        f.measured_fills += 1;
        f.slippage_cost = f
            .slippage_cost
            .checked_add(m.cost)
            .unwrap_or(f.slippage_cost);
        self.mid.push(m.mid_bps);
        if let Some(l) = m.last_bps {
            self.last.push(l);
        }
        let q = e.filled_qty.to_f64();
        self.weighted.0 += m.mid_bps * q;
        self.weighted.1 += q;
        self.latency.push(m.latency as f64);
        self.measured.push(m);
    }

    fn finish(mut self) -> (ExecutionFigures, Vec<Measured<'a>>) {
        let f = &mut self.fig;
        let n = f.orders as f64;
        f.fill_rate_fraction = self
            .requested
            .is_positive()
            .then(|| self.filled.to_f64() / self.requested.to_f64());
        f.rejection_rate_fraction = (f.orders > 0).then(|| f.rejected as f64 / n);
        f.cancel_rate_fraction = (f.orders > 0).then(|| f.cancelled as f64 / n);
        f.slippage_mid_bps = Distribution::of(&self.mid);
        f.slippage_last_bps = Distribution::of(&self.last);
        f.weighted_slippage_mid_bps =
            (self.weighted.1 > 0.0).then(|| self.weighted.0 / self.weighted.1);
        f.decision_to_fill_us = Distribution::of(&self.latency);
        f.venue_latency_us = Distribution::of(&self.venue);
        (self.fig, self.measured)
    }
}

impl ExecutionReport {
    /// Execution quality of `executions` (in log order) against `decisions`,
    /// for the executions `filter` selects (time in `[from, to)`, symbols).
    pub fn compute(
        decisions: &HashMap<DecisionId, At<Decision>>,
        executions: &[At<Execution>],
        filter: &ReportFilter,
    ) -> ExecutionReport {
        let mut total = Acc::default();
        let mut by: BTreeMap<Symbol, Acc<'_>> = BTreeMap::new();
        for x in executions.iter().filter(|x| {
            filter.from.is_none_or(|f| x.time >= f)
                && filter.to.is_none_or(|t| x.time < t)
                && (filter.symbols.is_empty() || filter.symbols.contains(&x.event.symbol))
        }) {
            let d = decisions.get(&x.event.decision_id);
            total.take(x, d);
            by.entry(x.event.symbol.clone()).or_default().take(x, d);
        }
        let (total, measured) = total.finish();
        let fills_mid_bps = measured.iter().map(|m| m.mid_bps).collect();
        let mut worst: Vec<&Measured<'_>> = measured.iter().collect();
        // Worst first; the earlier of equal ones first.
        worst.sort_by(|a, b| b.mid_bps.total_cmp(&a.mid_bps));
        let worst = worst
            .into_iter()
            .take(WORST)
            .map(|m| WorstExecution {
                time: m.x.time,
                order_id: m.x.event.order_id.clone(),
                decision_id: m.x.event.decision_id.clone(),
                symbol: m.x.event.symbol.clone(),
                side: m.x.event.side,
                filled_qty: m.x.event.filled_qty,
                avg_price: m.x.event.avg_price.unwrap_or_default(),
                mid: m.mid,
                last: m.d.event.market.last,
                slippage_mid_bps: m.mid_bps,
                slippage_last_bps: m.last_bps,
                slippage_cost: m.cost,
                decision_to_fill_us: m.latency,
                reasoning: m.d.event.reasoning.clone(),
            })
            .collect();
        ExecutionReport {
            total,
            by_symbol: by.into_iter().map(|(s, a)| (s, a.finish().0)).collect(),
            worst,
            fills_mid_bps,
        }
    }

    /// Reads the decisions and executions of the log (of one session when
    /// `session` names it) and computes their quality.
    pub fn from_log(
        reader: &Reader,
        session: Option<&SessionId>,
        filter: &ReportFilter,
    ) -> Result<ExecutionReport, DomainError> {
        let (decision, execution) = (
            ledger_core::Kind::from(EventKind::Decision),
            ledger_core::Kind::from(EventKind::Execution),
        );
        let mut decisions = HashMap::new();
        let mut executions = Vec::new();
        let mut cursor = reader.cursor()?;
        while let Some(r) = cursor.next_ref()? {
            if r.kind != decision && r.kind != execution {
                continue;
            }
            let event = codec::decode(r.kind, r.version, r.payload)
                .map_err(|error| DomainError::Decode { seq: r.seq, error })?;
            if session.is_some_and(|s| s != event.session()) {
                continue;
            }
            match event {
                Event::Decision(d) => {
                    decisions.insert(
                        d.decision_id.clone(),
                        At {
                            seq: r.seq,
                            time: r.timestamp,
                            event: d,
                        },
                    );
                }
                Event::Execution(x) => executions.push(At {
                    seq: r.seq,
                    time: r.timestamp,
                    event: x,
                }),
                _ => {}
            }
        }
        Ok(ExecutionReport::compute(&decisions, &executions, filter))
    }
}
