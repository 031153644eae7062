//! The performance report, computed from the closed trades.
//!
//! Definitions (also in `docs/REPORT.md`):
//! - a trade counts in a window when it **closed** inside it; a *win* has
//!   net P&L > 0, a *loss* < 0 (a trade at exactly 0 is neither);
//! - win rate = wins / trades; gross profit = sum of winning net P&L; gross
//!   loss = |sum of losing net P&L|; net P&L = sum of all net P&L;
//!   profit factor = gross profit / gross loss (none without losses);
//!   average win / loss = gross profit / wins, gross loss / losses;
//!   expectancy = net P&L / trades;
//! - capital: every session brings its `starting_equity` when it starts;
//!   the capital at time t is the sum over the sessions started at or
//!   before t (0 before any);
//! - the realized equity curve starts from the equity actually held at the
//!   window's start (capital then plus the net P&L of every trade, of any
//!   symbol, closed before it), adds each session's capital when it starts
//!   and each trade's net P&L in closing order; a per-symbol curve starts
//!   from the same account equity and adds only that symbol's trades;
//! - maximum drawdown, read two ways, each with its own peak: the largest
//!   absolute fall from a running peak (and that fall as a fraction of its
//!   peak), and the largest relative fall (fall / peak, only where the peak
//!   is above 0) with its amount and peak. Fractions are named `_fraction`
//!   (0.25 = 25 %); nothing in the JSON is a percentage;
//! - per-trade return r = net P&L / cost basis (the capital committed:
//!   price × quantity summed over increasing fills);
//!   Sharpe = mean(r) / sample standard deviation(r) (needs ≥ 2 trades and a
//!   non-zero deviation); Sortino = mean(r) / downside deviation, with
//!   downside deviation = sqrt(sum(min(r, 0)²) / n) (needs a losing trade).
//!   Both are per trade, not annualized.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decimal::Decimal;
use crate::events::Direction;
use crate::ids::{Symbol, TradeId};
use crate::projections::Projections;
use crate::trade::Trade;
use ledger_core::{Seq, Timestamp};

pub mod execution;
pub mod series;
pub use execution::{
    slippage_bps, Distribution, ExecutionFigures, ExecutionReport, WorstExecution,
};
pub use series::{
    annualized, min_periods_to_annualize, Annualized, DrawdownFigures, Period, ReturnPoint,
    TimeStats,
};

/// Why a report cannot be computed: a sum over the trades leaves the exact
/// range (possible only in a log written without validation, whose amounts
/// were never bounded). The report is refused rather than wrapped or cut.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the report's {figure} overflows at trade {trade} (opened at record {opened}): its amounts are beyond what the ledger computes exactly; was the log written without validation?")]
pub struct ReportError {
    /// The figure being summed (`net P&L`, `gross profit`, `equity`, ...).
    pub figure: &'static str,
    /// The trade whose amount made it overflow.
    pub trade: TradeId,
    /// The record that opened that trade.
    pub opened: Seq,
}

/// Which trades a report covers, and how its return series is cut.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    /// Trades closed at or after this time.
    pub from: Option<Timestamp>,
    /// Trades closed before this time.
    pub to: Option<Timestamp>,
    /// Only these symbols (all when empty).
    pub symbols: Vec<Symbol>,
    /// The return series' period (a day by default).
    pub period: Period,
    /// Periods per year for the annualised figures (252 by default: exchange
    /// days; 365 for markets that never close).
    pub periods_per_year: f64,
}

impl Default for ReportFilter {
    fn default() -> Self {
        ReportFilter {
            from: None,
            to: None,
            symbols: Vec::new(),
            period: Period::Day,
            periods_per_year: 252.0,
        }
    }
}

/// Figures for one set of trades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Performance {
    /// Closed trades.
    pub trades: u64,
    /// Trades with net P&L > 0.
    pub wins: u64,
    /// Trades with net P&L < 0.
    pub losses: u64,
    /// wins / trades.
    pub win_rate: Option<f64>,
    /// Sum of winning net P&L.
    pub gross_profit: Decimal,
    /// |Sum of losing net P&L|.
    pub gross_loss: Decimal,
    /// Sum of all net P&L.
    pub net_pnl: Decimal,
    /// Fees paid by these trades.
    pub fees: Decimal,
    /// gross profit / gross loss.
    pub profit_factor: Option<f64>,
    /// gross profit / wins.
    pub average_win: Option<Decimal>,
    /// gross loss / losses.
    pub average_loss: Option<Decimal>,
    /// net P&L / trades.
    pub expectancy: Option<Decimal>,
    /// Largest absolute fall of the realized equity curve from a running peak.
    pub max_drawdown: Decimal,
    /// The peak that largest absolute fall started from.
    pub max_drawdown_peak: Option<Decimal>,
    /// That same fall as a fraction of its own peak (peak > 0 only).
    pub max_drawdown_fraction: Option<f64>,
    /// The largest relative fall: max over the curve of (peak - equity) /
    /// peak, with the running peak at that point (peak > 0 only).
    pub max_relative_drawdown_fraction: Option<f64>,
    /// The amount of that largest relative fall.
    pub max_relative_drawdown: Decimal,
    /// The peak of that largest relative fall.
    pub max_relative_drawdown_peak: Option<Decimal>,
    /// Per-trade Sharpe ratio (returns on capital committed, not annualised).
    pub per_trade_sharpe: Option<f64>,
    /// Per-trade Sortino ratio (not annualised).
    pub per_trade_sortino: Option<f64>,
    /// The trade with the largest net P&L.
    pub best_trade: Option<TradeFigure>,
    /// The trade with the smallest net P&L.
    pub worst_trade: Option<TradeFigure>,
    /// Mean of close time - open time, in seconds.
    pub average_holding_secs: Option<f64>,
    /// Longest close time - open time, in seconds.
    pub max_holding_secs: Option<f64>,
    /// The long trades.
    pub long: SideFigures,
    /// The short trades.
    pub short: SideFigures,
    /// Most consecutive wins, in closing order (a trade at 0 breaks a streak).
    pub max_win_streak: u64,
    /// Most consecutive losses.
    pub max_loss_streak: u64,
    /// Average win / average loss.
    pub payoff_ratio: Option<f64>,
    /// System quality number: sqrt(trades) × mean(net P&L) / sample sd(net P&L).
    pub sqn: Option<f64>,
    /// Kelly fraction: win rate - (1 - win rate) / payoff ratio.
    pub kelly_fraction: Option<f64>,
    /// Fees / sum over trades of |gross P&L| (before fees).
    pub fees_to_gross_fraction: Option<f64>,
    /// The realized equity curve: (close time, equity).
    pub equity_curve: Vec<(Timestamp, Decimal)>,
    /// Every trade's net P&L in closing order (for the tearsheet's
    /// distribution; not in the JSON).
    #[serde(skip)]
    pub trade_net_pnl: Vec<Decimal>,
}

/// A trade named with its net P&L.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeFigure {
    /// The trade.
    pub trade_id: TradeId,
    /// Its symbol.
    pub symbol: Symbol,
    /// Its net P&L.
    pub net_pnl: Decimal,
}

/// The figures of the trades of one direction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SideFigures {
    /// Trades.
    pub trades: u64,
    /// Of which wins.
    pub wins: u64,
    /// wins / trades.
    pub win_rate: Option<f64>,
    /// Sum of net P&L.
    pub net_pnl: Decimal,
}

/// The report: in total and per symbol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerformanceReport {
    /// Equity actually held at the window's start, which the curves start
    /// from (capital of the sessions started by then plus the net P&L of
    /// every trade closed before it).
    pub starting_equity: Decimal,
    /// The sessions' capital as it arrived: (session start time, amount),
    /// in time order (the rule in `docs/REPORT.md`).
    pub capital: Vec<(Timestamp, Decimal)>,
    /// All trades in the filter.
    pub total: Performance,
    /// Per symbol.
    pub by_symbol: BTreeMap<Symbol, Performance>,
    /// The return series: marked equity at the end of each period and the
    /// period's return.
    pub returns: Vec<ReturnPoint>,
    /// Annualised figures on exactly `returns`.
    pub annualized: Annualized,
    /// The other time-based figures.
    pub time: TimeStats,
    /// Execution quality: slippage against the decisions' market snapshots,
    /// fill, rejection and cancel rates, latency (empty unless computed
    /// from the log: [`PerformanceReport::from_log`]).
    pub execution: ExecutionReport,
}

impl PerformanceReport {
    /// Computes the report over the closed trades of `p` that `filter`
    /// selects; every sum is checked, and an overflow names the trade.
    pub fn compute(
        p: &Projections,
        filter: &ReportFilter,
    ) -> Result<PerformanceReport, ReportError> {
        let capital = capital_flows(p);
        let closed = p.closed_trades();
        let closed_at = |t: &Trade| t.closed.map_or(t.opened.1, |c| c.1);
        // The window starts at `from`, else when the first capital arrived,
        // else at the first close.
        let window_start = filter
            .from
            .or_else(|| capital.first().map(|c| c.0))
            .or_else(|| closed.first().map(|t| closed_at(t)));
        let mut starting_equity = Decimal::ZERO;
        if let Some(ws) = window_start {
            for (_, amount) in capital.iter().filter(|c| c.0 <= ws) {
                starting_equity = starting_equity
                    .checked_add(*amount)
                    .ok_or(ReportError::capital())?;
            }
            for t in closed.iter().filter(|t| closed_at(t) < ws) {
                starting_equity = add("equity", starting_equity, net_pnl(t)?, t)?;
            }
        }
        let flows: Vec<(Timestamp, Decimal)> = capital
            .iter()
            .filter(|c| window_start.is_some_and(|ws| c.0 > ws))
            .copied()
            .collect();
        let trades: Vec<&Trade> = closed
            .into_iter()
            .filter(|t| {
                let closed = t.closed.map(|c| c.1);
                filter.from.is_none_or(|f| closed.is_some_and(|c| c >= f))
                    && filter.to.is_none_or(|to| closed.is_some_and(|c| c < to))
                    && (filter.symbols.is_empty() || filter.symbols.contains(&t.symbol))
            })
            .collect();
        let mut by: BTreeMap<Symbol, Vec<&Trade>> = BTreeMap::new();
        for t in &trades {
            by.entry(t.symbol.clone()).or_default().push(t);
        }
        // The trades' figures first: an overflow names the figure it breaks.
        let total = performance(&trades, starting_equity, &flows)?;
        let by_symbol = by
            .into_iter()
            .map(|(s, ts)| Ok((s, performance(&ts, starting_equity, &flows)?)))
            .collect::<Result<_, ReportError>>()?;
        let series = series::compute(p, filter, &capital)?;
        Ok(PerformanceReport {
            returns: series.returns,
            annualized: series.annualized,
            time: series.time,
            starting_equity,
            total,
            by_symbol,
            capital,
            execution: ExecutionReport::default(),
        })
    }

    /// The report of `compute`, with the execution quality read from the
    /// log `p` was folded from (`session`: the session `p` was folded for).
    pub fn from_log(
        reader: &ledger_core::Reader,
        p: &Projections,
        session: Option<&crate::ids::SessionId>,
        filter: &ReportFilter,
    ) -> Result<PerformanceReport, crate::error::DomainError> {
        let mut report = PerformanceReport::compute(p, filter)?;
        report.execution = ExecutionReport::from_log(reader, session, filter)?;
        Ok(report)
    }
}

/// The sessions' capital as it arrived: each started session's
/// `starting_equity` at its start, in time order.
pub fn capital_flows(p: &Projections) -> Vec<(Timestamp, Decimal)> {
    let mut v: Vec<(Timestamp, Seq, Decimal)> = p
        .sessions
        .values()
        .filter_map(|s| s.started.as_ref())
        .map(|s| (s.time, s.seq, s.event.starting_equity))
        .collect();
    v.sort_by_key(|c| (c.0, c.1));
    v.into_iter().map(|(t, _, a)| (t, a)).collect()
}

/// The sum of the net P&L of `trades`, checked.
pub fn total_net_pnl(trades: &[&Trade]) -> Result<Decimal, ReportError> {
    trades
        .iter()
        .try_fold(Decimal::ZERO, |sum, t| add("net P&L", sum, net_pnl(t)?, t))
}

/// The net P&L of `t`, naming it when it has none.
fn net_pnl(t: &Trade) -> Result<Decimal, ReportError> {
    t.net_pnl().ok_or_else(|| overflow("net P&L", t))
}

/// Adds `figure`'s next term, naming `t` when the sum overflows.
fn add(
    figure: &'static str,
    sum: Decimal,
    term: Decimal,
    t: &Trade,
) -> Result<Decimal, ReportError> {
    sum.checked_add(term).ok_or_else(|| overflow(figure, t))
}

pub(crate) fn overflow(figure: &'static str, t: &Trade) -> ReportError {
    ReportError {
        figure,
        trade: t.trade_id.clone(),
        opened: t.opened.0,
    }
}

impl ReportError {
    /// The sessions' capital overflows (no trade to name).
    pub(crate) fn capital() -> ReportError {
        ReportError {
            figure: "capital",
            trade: TradeId::from("(none: the sessions' starting equity)"),
            opened: Seq::new(0),
        }
    }
}

/// The largest falls of an equity curve from its running peak, both
/// readings each with its own peak.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Drawdowns {
    /// Largest absolute fall.
    pub max: Decimal,
    /// Its peak.
    pub max_peak: Option<Decimal>,
    /// Largest relative fall (fraction of its peak).
    pub max_relative_fraction: Option<f64>,
    /// Its amount.
    pub max_relative: Decimal,
    /// Its peak.
    pub max_relative_peak: Option<Decimal>,
    peak: Option<Decimal>,
}

impl Drawdowns {
    /// Takes the next point of the curve. `None` when the fall overflows.
    pub fn push(&mut self, equity: Decimal) -> Option<()> {
        let peak = self.peak.map_or(equity, |p| p.max(equity));
        self.peak = Some(peak);
        let dd = peak.checked_sub(equity)?;
        if dd > self.max {
            self.max = dd;
            self.max_peak = Some(peak);
        }
        if peak.is_positive() {
            let rel = dd.to_f64() / peak.to_f64();
            if self.max_relative_fraction.is_none_or(|m| rel > m) {
                self.max_relative_fraction = Some(rel);
                self.max_relative = dd;
                self.max_relative_peak = Some(peak);
            }
        }
        Some(())
    }

    /// The largest absolute fall as a fraction of its own peak.
    pub fn max_fraction(&self) -> Option<f64> {
        self.max_peak
            .filter(|p| p.is_positive())
            .map(|p| self.max.to_f64() / p.to_f64())
    }
}

fn performance(
    trades: &[&Trade],
    start: Decimal,
    flows: &[(Timestamp, Decimal)],
) -> Result<Performance, ReportError> {
    let n = trades.len() as u64;
    let pnl = trades
        .iter()
        .map(|t| net_pnl(t))
        .collect::<Result<Vec<Decimal>, _>>()?;
    let wins = pnl.iter().filter(|p| p.is_positive()).count() as u64;
    let losses = pnl.iter().filter(|p| p.is_negative()).count() as u64;
    let (mut gross_profit, mut losing, mut gross_loss, mut net, mut fees) = (
        Decimal::ZERO,
        Decimal::ZERO,
        Decimal::ZERO,
        Decimal::ZERO,
        Decimal::ZERO,
    );
    for (t, p) in trades.iter().zip(&pnl) {
        if p.is_positive() {
            gross_profit = add("gross profit", gross_profit, *p, t)?;
        } else if p.is_negative() {
            losing = add("gross loss", losing, *p, t)?;
            gross_loss = losing
                .checked_abs()
                .ok_or_else(|| overflow("gross loss", t))?;
        }
        net = add("net P&L", net, *p, t)?;
        fees = add("fees", fees, t.fees, t)?;
    }
    let div = |a: Decimal, k: u64| a.checked_div(Decimal::from_int(k as i64));

    let mut equity = start;
    let mut dd = Drawdowns::default();
    dd.push(equity);
    let mut flows = flows.iter().peekable();
    let mut curve = Vec::with_capacity(trades.len());
    for (t, p) in trades.iter().zip(&pnl) {
        let at = t.closed.map_or(t.opened.1, |c| c.1);
        while let Some((_, amount)) = flows.next_if(|f| f.0 <= at) {
            equity = add("equity", equity, *amount, t)?;
            dd.push(equity).ok_or_else(|| overflow("drawdown", t))?;
        }
        equity = add("equity", equity, *p, t)?;
        dd.push(equity).ok_or_else(|| overflow("drawdown", t))?;
        curve.push((at, equity));
    }

    let returns: Vec<f64> = trades.iter().filter_map(|t| t.return_on_cost()).collect();
    let (sharpe, sortino) = ratios(&returns);
    let figure = |(t, p): (&&Trade, &Decimal)| TradeFigure {
        trade_id: t.trade_id.clone(),
        symbol: t.symbol.clone(),
        net_pnl: *p,
    };
    // The first of equal trades, in closing order.
    let best = trades
        .iter()
        .zip(&pnl)
        .rev()
        .max_by_key(|(_, p)| **p)
        .map(figure);
    let worst = trades
        .iter()
        .zip(&pnl)
        .rev()
        .min_by_key(|(_, p)| **p)
        .map(figure);
    let holds: Vec<f64> = trades
        .iter()
        .filter_map(|t| {
            let c = t.closed?.1;
            Some(c.as_nanos().saturating_sub(t.opened.1.as_nanos()) as f64 / 1e9)
        })
        .collect();
    let mut sides = [SideFigures::default(), SideFigures::default()];
    for (t, p) in trades.iter().zip(&pnl) {
        let side = &mut sides[usize::from(t.direction == Direction::Short)];
        side.trades += 1;
        side.wins += u64::from(p.is_positive());
        side.net_pnl = add("net P&L", side.net_pnl, *p, t)?;
    }
    for side in &mut sides {
        side.win_rate = (side.trades > 0).then(|| side.wins as f64 / side.trades as f64);
    }
    let [long, short] = sides;
    let (mut win_streak, mut loss_streak, mut w, mut l) = (0u64, 0u64, 0u64, 0u64);
    for p in &pnl {
        w = if p.is_positive() { w + 1 } else { 0 };
        l = if p.is_negative() { l + 1 } else { 0 };
        win_streak = win_streak.max(w);
        loss_streak = loss_streak.max(l);
    }
    let pnl_f: Vec<f64> = pnl.iter().map(|p| p.to_f64()).collect();
    let (mean_pnl, sd_pnl) = series::mean_sd(&pnl_f);
    let sqn = mean_pnl
        .zip(sd_pnl.filter(|s| *s > 0.0))
        .map(|(m, s)| (n as f64).sqrt() * m / s);
    let payoff = (wins > 0 && losses > 0 && !gross_loss.is_zero())
        .then(|| (gross_profit.to_f64() / wins as f64) / (gross_loss.to_f64() / losses as f64));
    let win_rate = (n > 0).then(|| wins as f64 / n as f64);
    let kelly = win_rate.zip(payoff).map(|(w, r)| w - (1.0 - w) / r);
    let gross_turnover: f64 = trades.iter().map(|t| t.realized_gross.to_f64().abs()).sum();
    let fees_share = (gross_turnover > 0.0).then(|| fees.to_f64() / gross_turnover);
    Ok(Performance {
        trades: n,
        wins,
        losses,
        win_rate,
        gross_profit,
        gross_loss,
        net_pnl: net,
        fees,
        profit_factor: (!gross_loss.is_zero()).then(|| gross_profit.to_f64() / gross_loss.to_f64()),
        average_win: if wins > 0 {
            div(gross_profit, wins)
        } else {
            None
        },
        average_loss: if losses > 0 {
            div(gross_loss, losses)
        } else {
            None
        },
        expectancy: if n > 0 { div(net, n) } else { None },
        max_drawdown: dd.max,
        max_drawdown_peak: dd.max_peak,
        max_drawdown_fraction: dd.max_fraction(),
        max_relative_drawdown_fraction: dd.max_relative_fraction,
        max_relative_drawdown: dd.max_relative,
        max_relative_drawdown_peak: dd.max_relative_peak,
        per_trade_sharpe: sharpe,
        per_trade_sortino: sortino,
        best_trade: best,
        worst_trade: worst,
        average_holding_secs: (!holds.is_empty())
            .then(|| holds.iter().sum::<f64>() / holds.len() as f64),
        max_holding_secs: holds.iter().copied().reduce(f64::max),
        long,
        short,
        max_win_streak: win_streak,
        max_loss_streak: loss_streak,
        payoff_ratio: payoff,
        sqn,
        kelly_fraction: kelly,
        fees_to_gross_fraction: fees_share,
        equity_curve: curve,
        trade_net_pnl: pnl,
    })
}

/// Per-trade Sharpe and Sortino ratios of `r`.
pub fn ratios(r: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = r.len();
    if n == 0 {
        return (None, None);
    }
    let mean = r.iter().sum::<f64>() / n as f64;
    let sharpe = (n >= 2)
        .then(|| {
            let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = var.sqrt();
            (sd > 0.0).then(|| mean / sd)
        })
        .flatten();
    let down = (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / n as f64).sqrt();
    let sortino = (down > 0.0).then(|| mean / down);
    (sharpe, sortino)
}
