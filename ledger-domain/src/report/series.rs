//! Equity over time, marked to market, and the period return series with
//! its time-based statistics (`docs/REPORT.md`, "Equity over time").
//!
//! Money (equity, P&L) is exact [`Decimal`]; returns and every statistic
//! computed from them are `f64`, like the ratios.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Drawdowns, ReportError, ReportFilter};
use crate::decimal::Decimal;
use crate::events::FillEffect;
use crate::ids::Symbol;
use crate::projections::Projections;
use crate::times::rfc3339;
use crate::trade::Trade;
use ledger_core::Timestamp;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The length of one period of the return series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// One hour (UTC).
    Hour,
    /// One calendar day (UTC).
    #[default]
    Day,
    /// One week, Monday to Sunday (UTC).
    Week,
}

impl Period {
    /// The index of the period holding `t`.
    fn index(self, t: Timestamp) -> i64 {
        let secs = t.as_nanos().div_euclid(NANOS_PER_SEC);
        match self {
            Period::Hour => secs.div_euclid(3600),
            Period::Day => secs.div_euclid(86_400),
            // 1970-01-01 was a Thursday: shift so weeks start on Monday.
            Period::Week => (secs.div_euclid(86_400) + 3).div_euclid(7),
        }
    }

    /// The start of period `i`.
    fn start(self, i: i64) -> Timestamp {
        let secs = match self {
            Period::Hour => i * 3600,
            Period::Day => i * 86_400,
            Period::Week => (i * 7 - 3) * 86_400,
        };
        Timestamp::from_nanos(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// The label of period `i`: its first day (`2026-01-05`), or its first
    /// hour for hourly periods (`2026-01-05T14:00:00Z`).
    fn label(self, i: i64) -> String {
        let full = rfc3339(self.start(i));
        match self {
            Period::Hour => format!("{}:00:00Z", &full[..full.len().min(13)]),
            _ => full[..full.len().min(10)].to_owned(),
        }
    }

    /// The period's name (`day`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
        }
    }
}

/// One period of the return series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnPoint {
    /// The period's first day (or hour).
    pub date: String,
    /// Marked equity at the end of the period.
    pub equity: Decimal,
    /// The period's return; `null` when the equity it starts from is not
    /// above 0 (then it is left out of every statistic).
    #[serde(rename = "return")]
    pub ret: Option<f64>,
}

/// The annualised figures, computed on exactly the `returns` series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annualized {
    /// Periods per year (252 exchange days, 365 calendar days, ...).
    pub periods_per_year: f64,
    /// The fewest periods over which the return is annualised:
    /// [`min_periods_to_annualize`] of `periods_per_year` (a month's worth).
    pub min_periods: u64,
    /// (1 + total return)^(periods per year / periods) - 1; `None` over
    /// fewer than `min_periods` periods, where it would only extrapolate.
    #[serde(rename = "return")]
    pub ret: Option<f64>,
    /// Sample standard deviation of the returns × sqrt(periods per year).
    pub volatility: Option<f64>,
    /// mean / sample standard deviation × sqrt(periods per year).
    pub sharpe: Option<f64>,
    /// mean / downside deviation × sqrt(periods per year).
    pub sortino: Option<f64>,
    /// Annualised return / maximum drawdown fraction of the series
    /// (`None` when the annualised return is).
    pub calmar: Option<f64>,
}

/// The fewest periods whose compounded return is annualised: a month's
/// worth, `ceil(periods_per_year / 12)` (21 exchange days at 252, 31 days
/// at 365, 730 hours at 8760), and at least 1.
///
/// Over fewer periods the exponent `periods_per_year / n` of the
/// annualised return exceeds 12 and a few days' noise compounds into
/// absurd figures (two days of +5 % each read as about +2 x 10^7 % a
/// year at 252). GIPS
/// forbids annualising any return under a year; empyrical, pyfolio and
/// QuantStats annualise any length. A month is the shortest horizon over
/// which a desk quotes an annualised figure (`docs/REPORT.md`).
///
/// ```
/// use ledger_domain::min_periods_to_annualize;
/// assert_eq!(min_periods_to_annualize(252.0), 21);
/// assert_eq!(min_periods_to_annualize(365.0), 31);
/// assert_eq!(min_periods_to_annualize(1.0), 1);
/// ```
pub fn min_periods_to_annualize(periods_per_year: f64) -> u64 {
    let m = (periods_per_year / 12.0).ceil();
    if m.is_finite() && m >= 1.0 {
        // Saturating float-to-int conversion: at most u64::MAX.
        m as u64
    } else {
        1
    }
}

/// The time-based figures beside the annualised ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeStats {
    /// `hour`, `day` or `week`.
    pub period: Period,
    /// Start of the series (the window's start).
    pub start: Timestamp,
    /// End of the series.
    pub end: Timestamp,
    /// Marked equity at the start.
    pub starting_equity: Decimal,
    /// Marked equity at the end.
    pub ending_equity: Decimal,
    /// Periods with a return.
    pub periods: u64,
    /// Time-weighted: product of (1 + return) - 1.
    pub total_return: Option<f64>,
    /// Largest fall of the compounded return index from its peak.
    pub max_drawdown_fraction: Option<f64>,
    /// Mean over drawdown episodes of each episode's largest fall.
    pub average_drawdown_fraction: Option<f64>,
    /// Longest drawdown, peak to recovery (or to the end), in periods.
    pub max_drawdown_duration_periods: u64,
    /// Mean drawdown duration, in periods.
    pub average_drawdown_duration_periods: Option<f64>,
    /// Periods from the trough of the largest drawdown to its recovery;
    /// `null` when it has not recovered.
    pub max_drawdown_recovery_periods: Option<u64>,
    /// Share of the series' time with at least one position open.
    pub exposure_fraction: Option<f64>,
    /// The marked equity curve's largest falls, both readings, at every
    /// fill and mark.
    pub marked_drawdown: DrawdownFigures,
}

/// Both readings of the maximum drawdown of a money curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawdownFigures {
    /// Largest absolute fall.
    pub max_drawdown: Decimal,
    /// Its peak.
    pub max_drawdown_peak: Option<Decimal>,
    /// That fall / its own peak.
    pub max_drawdown_fraction: Option<f64>,
    /// Largest relative fall.
    pub max_relative_drawdown_fraction: Option<f64>,
    /// Its amount.
    pub max_relative_drawdown: Decimal,
    /// Its peak.
    pub max_relative_drawdown_peak: Option<Decimal>,
}

impl From<&Drawdowns> for DrawdownFigures {
    fn from(d: &Drawdowns) -> Self {
        DrawdownFigures {
            max_drawdown: d.max,
            max_drawdown_peak: d.max_peak,
            max_drawdown_fraction: d.max_fraction(),
            max_relative_drawdown_fraction: d.max_relative_fraction,
            max_relative_drawdown: d.max_relative,
            max_relative_drawdown_peak: d.max_relative_peak,
        }
    }
}

/// The series and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// One point per period.
    pub returns: Vec<ReturnPoint>,
    /// Annualised figures.
    pub annualized: Annualized,
    /// Other time-based figures.
    pub time: TimeStats,
}

/// What moves the marked equity.
enum Step<'a> {
    Capital(Decimal),
    Fill(&'a Trade, usize),
    Mark(&'a Symbol, Decimal),
}

/// A trade's open quantity and average entry, as its fills move them.
#[derive(Clone, Copy)]
struct Open {
    qty: Decimal,
    avg: Decimal,
}

/// The marked P&L of the trades of a set of symbols.
#[derive(Default)]
struct Book {
    realized: Decimal,
    /// Per symbol: the open trades' unrealized P&L at the latest mark.
    unrealized: BTreeMap<Symbol, Decimal>,
    unrealized_sum: Decimal,
}

impl Book {
    fn total(&self) -> Option<Decimal> {
        self.realized.checked_add(self.unrealized_sum)
    }

    fn set_unrealized(&mut self, sym: &Symbol, u: Decimal) -> Option<()> {
        let old = self
            .unrealized
            .insert(sym.clone(), u)
            .unwrap_or(Decimal::ZERO);
        self.unrealized_sum = self.unrealized_sum.checked_sub(old)?.checked_add(u)?;
        Some(())
    }
}

/// Unrealized P&L of `open` trades at `mark`.
fn unrealized<'a>(
    mut open: impl Iterator<Item = (&'a Trade, &'a Open)>,
    mark: Decimal,
) -> Option<Decimal> {
    open.try_fold(Decimal::ZERO, |sum, (t, o)| {
        sum.checked_add(
            mark.checked_sub(o.avg)?
                .checked_mul(o.qty)?
                .checked_mul(t.direction.sign())?,
        )
    })
}

fn err(t: &Trade) -> ReportError {
    super::overflow("marked equity", t)
}

/// Computes the marked equity curve over the window of `filter` and the
/// return series on it.
pub fn compute(
    p: &Projections,
    filter: &ReportFilter,
    capital: &[(Timestamp, Decimal)],
) -> Result<Series, ReportError> {
    let selected = |s: &Symbol| filter.symbols.is_empty() || filter.symbols.contains(s);
    let mut trades: Vec<&Trade> = p.trades.values().collect();
    trades.sort_by_key(|t| t.opened.0);
    // Every step in log order: (time, record, step).
    let mut steps: Vec<(Timestamp, u64, Step<'_>)> = Vec::new();
    for (i, c) in capital.iter().enumerate() {
        steps.push((c.0, i as u64, Step::Capital(c.1)));
    }
    for t in &trades {
        for (i, f) in t.fills.iter().enumerate() {
            steps.push((f.time, f.seq.get(), Step::Fill(t, i)));
        }
    }
    for (sym, view) in &p.positions {
        for pt in &view.history {
            steps.push((pt.time, pt.seq.get(), Step::Mark(sym, pt.mark)));
        }
    }
    // Capital first at equal times: a session starts before it trades.
    steps.sort_by_key(|s| (s.0, !matches!(s.2, Step::Capital(_)), s.1));

    let first = steps.first().map(|s| s.0);
    let last = steps.last().map(|s| s.0);
    let start = filter.from.or(capital.first().map(|c| c.0)).or(first);
    let end = match (filter.to, last) {
        (Some(to), _) => Some(to),
        (None, Some(l)) => Some(l.max(start.unwrap_or(l))),
        (None, None) => start,
    };
    let (Some(start), Some(end)) = (start, end) else {
        return Ok(empty(filter));
    };

    let mut cap = Decimal::ZERO;
    let mut all = Book::default();
    let mut sel = Book::default();
    let mut open: BTreeMap<&str, (&Trade, Open)> = BTreeMap::new();
    let mut marks: BTreeMap<&Symbol, Decimal> = BTreeMap::new();
    // Equity at the window's start: capital plus every symbol's marked P&L;
    // after it, capital plus the selected symbols' change since.
    let mut base: Option<(Decimal, Decimal)> = None; // (equity held, selected P&L then)
    let mut flows_in_period = Decimal::ZERO;
    let period = filter.period;
    let mut points: Vec<ReturnPoint> = Vec::new();
    let mut prev_equity = Decimal::ZERO;
    let mut current = period.index(start);
    let mut dd = Drawdowns::default();
    let mut equity_now = Decimal::ZERO;
    let last_period = period.index(end);

    let equity = |cap: Decimal, sel: &Book, base: Option<(Decimal, Decimal)>| -> Option<Decimal> {
        let (held, sel0) = base?;
        held.checked_add(cap)?
            .checked_add(sel.total()?.checked_sub(sel0)?)
    };

    let mut close_periods = |upto: i64,
                             points: &mut Vec<ReturnPoint>,
                             prev: &mut Decimal,
                             flows: &mut Decimal,
                             eq: Decimal| {
        while current < upto && current <= last_period {
            let base_eq = prev.checked_add(*flows);
            let ret = base_eq
                .filter(|b| b.is_positive())
                .and_then(|b| eq.checked_sub(b).map(|gain| gain.to_f64() / b.to_f64()));
            points.push(ReturnPoint {
                date: period.label(current),
                equity: eq,
                ret,
            });
            *prev = eq;
            *flows = Decimal::ZERO;
            current += 1;
        }
    };

    let mut iter = steps.iter().peekable();
    loop {
        let next = iter.peek().map(|s| (s.0, matches!(s.2, Step::Capital(_))));
        // Crossing the window's start: fix the equity held then (capital
        // arrived at or before it, P&L before it).
        if base.is_none() && next.is_none_or(|(t, cap)| t > start || (t == start && !cap)) {
            let held = cap.checked_add(all.total().unwrap_or(Decimal::ZERO));
            let held = held.ok_or(ReportError::capital())?;
            base = Some((held, sel.total().unwrap_or(Decimal::ZERO)));
            cap = Decimal::ZERO;
            prev_equity = held;
            equity_now = held;
            dd.push(held);
        }
        let Some(&(time, _, ref step)) = iter.next() else {
            break;
        };
        if time > end || (filter.to.is_some_and(|to| time >= to)) {
            break;
        }
        if base.is_some() {
            close_periods(
                period.index(time),
                &mut points,
                &mut prev_equity,
                &mut flows_in_period,
                equity_now,
            );
        }
        match step {
            Step::Capital(a) => {
                cap = cap.checked_add(*a).ok_or(ReportError::capital())?;
                if base.is_some() {
                    flows_in_period = flows_in_period
                        .checked_add(*a)
                        .ok_or(ReportError::capital())?;
                }
            }
            Step::Fill(t, i) => {
                let f = &t.fills[*i];
                let key = t.trade_id.as_str();
                let o = open.get(key).map_or(
                    Open {
                        qty: Decimal::ZERO,
                        avg: Decimal::ZERO,
                    },
                    |e| e.1,
                );
                let o = match f.effect {
                    FillEffect::Increase => {
                        let qty = o.qty.checked_add(f.qty).ok_or_else(|| err(t))?;
                        let value = o
                            .avg
                            .checked_mul(o.qty)
                            .and_then(|v| v.checked_add(f.price.checked_mul(f.qty)?))
                            .ok_or_else(|| err(t))?;
                        Open {
                            qty,
                            avg: value.checked_div(qty).ok_or_else(|| err(t))?,
                        }
                    }
                    FillEffect::Reduce => Open {
                        qty: o.qty.checked_sub(f.qty).ok_or_else(|| err(t))?,
                        avg: o.avg,
                    },
                };
                if o.qty.is_zero() {
                    open.remove(key);
                } else {
                    open.insert(key, (t, o));
                }
                let net = f.realized.checked_sub(f.fees).ok_or_else(|| err(t))?;
                all.realized = all.realized.checked_add(net).ok_or_else(|| err(t))?;
                if selected(&t.symbol) {
                    sel.realized = sel.realized.checked_add(net).ok_or_else(|| err(t))?;
                }
                marks.insert(&t.symbol, f.price);
                remark(
                    &t.symbol,
                    f.price,
                    &open,
                    &mut all,
                    &mut sel,
                    selected(&t.symbol),
                )
                .ok_or_else(|| err(t))?;
            }
            Step::Mark(sym, m) => {
                marks.insert(sym, *m);
                if let Some(t) = open.values().find(|o| &o.0.symbol == *sym).map(|o| o.0) {
                    remark(sym, *m, &open, &mut all, &mut sel, selected(sym))
                        .ok_or_else(|| err(t))?;
                }
            }
        }
        if base.is_some() {
            if let Some(e) = equity(cap, &sel, base) {
                equity_now = e;
                dd.push(e);
            }
        }
    }
    close_periods(
        last_period + 1,
        &mut points,
        &mut prev_equity,
        &mut flows_in_period,
        equity_now,
    );

    let held = base.map_or(Decimal::ZERO, |b| b.0);
    let exposure = exposure(&trades, &selected, start, end);
    Ok(statistics(
        filter, points, start, end, held, equity_now, &dd, exposure,
    ))
}

/// Recomputes the unrealized P&L of `sym`'s open trades at `mark`.
fn remark(
    sym: &Symbol,
    mark: Decimal,
    open: &BTreeMap<&str, (&Trade, Open)>,
    all: &mut Book,
    sel: &mut Book,
    selected: bool,
) -> Option<()> {
    let u = unrealized(
        open.values()
            .filter(|o| &o.0.symbol == sym)
            .map(|o| (o.0, &o.1)),
        mark,
    )?;
    all.set_unrealized(sym, u)?;
    if selected {
        sel.set_unrealized(sym, u)?;
    }
    Some(())
}

/// The share of `[start, end]` during which a selected trade was open.
fn exposure(
    trades: &[&Trade],
    selected: &dyn Fn(&Symbol) -> bool,
    start: Timestamp,
    end: Timestamp,
) -> Option<f64> {
    let span = end.as_nanos().checked_sub(start.as_nanos())?;
    if span <= 0 {
        return None;
    }
    let mut spans: Vec<(i64, i64)> = trades
        .iter()
        .filter(|t| selected(&t.symbol))
        .map(|t| {
            let a = t.opened.1.as_nanos().max(start.as_nanos());
            let b = t.closed.map_or(end, |c| c.1).as_nanos().min(end.as_nanos());
            (a, b)
        })
        .filter(|(a, b)| b > a)
        .collect();
    spans.sort_unstable();
    let mut covered: i64 = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in spans {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                covered += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    if let Some((ca, cb)) = cur {
        covered += cb - ca;
    }
    Some(covered as f64 / span as f64)
}

fn empty(filter: &ReportFilter) -> Series {
    statistics(
        filter,
        Vec::new(),
        Timestamp::from_nanos(0),
        Timestamp::from_nanos(0),
        Decimal::ZERO,
        Decimal::ZERO,
        &Drawdowns::default(),
        None,
    )
}

/// Mean and sample standard deviation (n ≥ 2).
pub fn mean_sd(r: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = r.len();
    if n == 0 {
        return (None, None);
    }
    let mean = r.iter().sum::<f64>() / n as f64;
    let sd = (n >= 2)
        .then(|| (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    (Some(mean), sd)
}

/// Drawdown figures of a compounded return index.
#[derive(Debug, Default)]
struct IndexDrawdowns {
    max: Option<f64>,
    average: Option<f64>,
    max_duration: u64,
    average_duration: Option<f64>,
    recovery: Option<u64>,
}

/// The drawdown episodes of the index 1, w_1, ..., w_n (index 0 is the
/// start): each a run below the running peak, from the peak's period to
/// the first period back at it (or the end).
fn index_drawdowns(w: &[f64]) -> IndexDrawdowns {
    let mut out = IndexDrawdowns::default();
    if w.is_empty() {
        return out;
    }
    let mut peak = w[0];
    let mut peak_at = 0usize;
    // Episodes: (largest fall, duration, trough index, recovered at).
    let mut episodes: Vec<(f64, u64, usize, Option<usize>)> = Vec::new();
    let mut cur: Option<(f64, usize)> = None; // (largest fall, trough)
    for (i, &x) in w.iter().enumerate() {
        if x >= peak {
            if let Some((fall, trough)) = cur.take() {
                episodes.push((fall, (i - peak_at) as u64, trough, Some(i)));
            }
            peak = x;
            peak_at = i;
        } else {
            let fall = if peak > 0.0 { 1.0 - x / peak } else { 0.0 };
            match &mut cur {
                Some((f, t)) if fall > *f => {
                    *f = fall;
                    *t = i;
                }
                Some(_) => {}
                None => cur = Some((fall, i)),
            }
        }
    }
    if let Some((fall, trough)) = cur {
        episodes.push((fall, (w.len() - 1 - peak_at) as u64, trough, None));
    }
    if episodes.is_empty() {
        out.max = Some(0.0);
        return out;
    }
    let n = episodes.len() as f64;
    let worst = episodes
        .iter()
        .copied()
        .fold(None::<(f64, u64, usize, Option<usize>)>, |m, e| match m {
            Some(m) if m.0 >= e.0 => Some(m),
            _ => Some(e),
        });
    out.max = worst.map(|e| e.0);
    out.recovery = worst.and_then(|e| e.3.map(|r| (r - e.2) as u64));
    out.average = Some(episodes.iter().map(|e| e.0).sum::<f64>() / n);
    out.max_duration = episodes.iter().map(|e| e.1).max().unwrap_or(0);
    out.average_duration = Some(episodes.iter().map(|e| e.1 as f64).sum::<f64>() / n);
    out
}

/// The compounded index 1, (1 + r1), (1 + r1)(1 + r2), ...
fn wealth(r: &[f64]) -> Vec<f64> {
    let mut w = Vec::with_capacity(r.len() + 1);
    w.push(1.0);
    for x in r {
        let last = w.last().copied().unwrap_or(1.0);
        w.push(last * (1.0 + x));
    }
    w
}

/// The annualised figures of the period returns `r` (`docs/REPORT.md`).
pub fn annualized(r: &[f64], ppy: f64) -> Annualized {
    let n = r.len();
    let w = wealth(r);
    let total = (n > 0).then(|| w[n] - 1.0);
    let min_periods = min_periods_to_annualize(ppy);
    let annual = total
        .filter(|t| 1.0 + t > 0.0 && n as u64 >= min_periods)
        .map(|t| (1.0 + t).powf(ppy / n as f64) - 1.0);
    let (mean, sd) = mean_sd(r);
    let down =
        (n > 0).then(|| (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / n as f64).sqrt());
    let max_dd = index_drawdowns(&w).max;
    let root = ppy.sqrt();
    Annualized {
        periods_per_year: ppy,
        min_periods,
        ret: annual,
        volatility: sd.map(|s| s * root),
        sharpe: mean.zip(sd.filter(|s| *s > 0.0)).map(|(m, s)| m / s * root),
        sortino: mean
            .zip(down.filter(|d| *d > 0.0))
            .map(|(m, d)| m / d * root),
        calmar: annual.zip(max_dd.filter(|m| *m > 0.0)).map(|(a, m)| a / m),
    }
}

#[allow(clippy::too_many_arguments)]
fn statistics(
    filter: &ReportFilter,
    returns: Vec<ReturnPoint>,
    start: Timestamp,
    end: Timestamp,
    held: Decimal,
    ending: Decimal,
    dd: &Drawdowns,
    exposure: Option<f64>,
) -> Series {
    let ppy = filter.periods_per_year;
    let r: Vec<f64> = returns.iter().filter_map(|p| p.ret).collect();
    let n = r.len();
    let w = wealth(&r);
    let total = (n > 0).then(|| w[n] - 1.0);
    let idx = index_drawdowns(&w);
    Series {
        annualized: annualized(&r, ppy),
        time: TimeStats {
            period: filter.period,
            start,
            end,
            starting_equity: held,
            ending_equity: ending,
            periods: n as u64,
            total_return: total,
            max_drawdown_fraction: idx.max,
            average_drawdown_fraction: idx.average,
            max_drawdown_duration_periods: idx.max_duration,
            average_drawdown_duration_periods: idx.average_duration,
            max_drawdown_recovery_periods: idx.recovery,
            exposure_fraction: exposure,
            marked_drawdown: dd.into(),
        },
        returns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_labelled_by_their_first_day_or_hour() {
        // 2026-01-07T15:30:00Z, a Wednesday.
        let t = Timestamp::from_nanos(1_767_799_800 * NANOS_PER_SEC);
        assert_eq!(Period::Day.label(Period::Day.index(t)), "2026-01-07");
        assert_eq!(Period::Week.label(Period::Week.index(t)), "2026-01-05");
        assert_eq!(
            Period::Hour.label(Period::Hour.index(t)),
            "2026-01-07T15:00:00Z"
        );
    }

    #[test]
    fn drawdown_episodes_of_an_index() {
        // 1, 1.1, 0.99 (-10 %), 1.045 (-5 %), 1.21 (recovered after 3), 1.089 (-10 %, open)
        let w = [1.0, 1.1, 0.99, 1.045, 1.21, 1.089];
        let d = index_drawdowns(&w);
        assert!((d.max.unwrap() - 0.1).abs() < 1e-12);
        assert!((d.average.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(d.max_duration, 3);
        assert!((d.average_duration.unwrap() - 2.0).abs() < 1e-12);
        // The first of the equal falls is the worst: recovered 2 after its trough.
        assert_eq!(d.recovery, Some(2));
    }
}
