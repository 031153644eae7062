//! Text rendering of the domain's views: the performance report as a table,
//! and a trade's story from decision to close.

use std::fmt::Write as _;

use ledger_core::Timestamp;
use ledger_domain::{
    Decimal, ExecutionFigures, ExecutionReport, Performance, PerformanceReport, SideFigures,
    TradeStory,
};

use crate::human::time;

fn money(d: Decimal) -> String {
    format!("{d:.2}")
}

fn signed(d: Decimal) -> String {
    if d.is_positive() {
        format!("+{d:.2}")
    } else {
        format!("{d:.2}")
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1} %", v * 100.0))
}

fn ratio(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3}"))
}

fn opt_money(d: Option<Decimal>) -> String {
    d.map_or("-".into(), money)
}

/// The rows of the table: a label and how to render one column.
type Row = (&'static str, fn(&Performance) -> String);

const ROWS: [Row; 27] = [
    ("trades", |p| p.trades.to_string()),
    ("wins", |p| p.wins.to_string()),
    ("losses", |p| p.losses.to_string()),
    ("win rate", |p| pct(p.win_rate)),
    ("gross profit", |p| money(p.gross_profit)),
    ("gross loss", |p| money(p.gross_loss)),
    ("net P&L", |p| signed(p.net_pnl)),
    ("fees paid", |p| money(p.fees)),
    ("profit factor", |p| ratio(p.profit_factor)),
    ("average win", |p| opt_money(p.average_win)),
    ("average loss", |p| opt_money(p.average_loss)),
    ("expectancy", |p| opt_money(p.expectancy)),
    ("max drawdown", |p| match p.max_drawdown_peak {
        Some(peak) => format!(
            "{} ({} of its peak {})",
            money(p.max_drawdown),
            pct(p.max_drawdown_fraction),
            money(peak)
        ),
        None => money(p.max_drawdown),
    }),
    ("max relative drawdown", |p| {
        format!(
            "{} ({} from its peak {})",
            pct(p.max_relative_drawdown_fraction),
            money(p.max_relative_drawdown),
            opt_money(p.max_relative_drawdown_peak)
        )
    }),
    ("Sharpe (per trade)", |p| ratio(p.per_trade_sharpe)),
    ("Sortino (per trade)", |p| ratio(p.per_trade_sortino)),
    ("best trade", |p| {
        p.best_trade.as_ref().map_or("-".into(), |t| {
            format!("{} {}", t.trade_id, signed(t.net_pnl))
        })
    }),
    ("worst trade", |p| {
        p.worst_trade.as_ref().map_or("-".into(), |t| {
            format!("{} {}", t.trade_id, signed(t.net_pnl))
        })
    }),
    ("average holding", |p| duration(p.average_holding_secs)),
    ("max holding", |p| duration(p.max_holding_secs)),
    ("long trades", |p| side(&p.long)),
    ("short trades", |p| side(&p.short)),
    ("win / loss streak", |p| {
        format!("{} / {}", p.max_win_streak, p.max_loss_streak)
    }),
    ("payoff ratio", |p| ratio(p.payoff_ratio)),
    ("SQN", |p| ratio(p.sqn)),
    ("Kelly", |p| pct(p.kelly_fraction)),
    ("fees / gross P&L", |p| pct(p.fees_to_gross_fraction)),
];

fn side(s: &SideFigures) -> String {
    format!("{} ({}, {})", s.trades, pct(s.win_rate), signed(s.net_pnl))
}

/// A duration in seconds, in its largest sensible unit.
pub fn duration(secs: Option<f64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s < 120.0 => format!("{s:.0} s"),
        Some(s) if s < 7200.0 => format!("{:.1} min", s / 60.0),
        Some(s) if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        Some(s) => format!("{:.1} d", s / 86_400.0),
    }
}

/// Why the annualised return (and Calmar) is not given: the series is
/// shorter than the minimum to annualise (`docs/REPORT.md`). `None` when
/// the series is long enough, or empty.
pub fn annualizing_withheld(r: &PerformanceReport) -> Option<String> {
    let (n, min) = (r.time.periods, r.annualized.min_periods);
    (n > 0 && n < min).then(|| {
        format!(
            "n/a ({n} {p}{s}, fewer than the {min} needed to annualise)",
            p = r.time.period.name(),
            s = if n == 1 { "" } else { "s" }
        )
    })
}

/// The time-based figures as (label, value) rows.
pub fn time_rows(r: &PerformanceReport) -> Vec<(String, String)> {
    let t = &r.time;
    let a = &r.annualized;
    let m = &t.marked_drawdown;
    let p = t.period.name();
    let withheld = annualizing_withheld(r);
    let rows: Vec<(String, String)> = vec![
        (
            "equity (marked)".into(),
            format!("{} -> {}", money(t.starting_equity), money(t.ending_equity)),
        ),
        (format!("{p}s"), t.periods.to_string()),
        ("total return".into(), pct(t.total_return)),
        (
            format!("annualised return ({} {p}s/year)", a.periods_per_year),
            withheld.clone().unwrap_or_else(|| pct(a.ret)),
        ),
        ("annualised volatility".into(), pct(a.volatility)),
        ("Sharpe (annualised)".into(), ratio(a.sharpe)),
        ("Sortino (annualised)".into(), ratio(a.sortino)),
        ("Calmar".into(), withheld.unwrap_or_else(|| ratio(a.calmar))),
        (
            "max drawdown (returns)".into(),
            pct(t.max_drawdown_fraction),
        ),
        ("average drawdown".into(), pct(t.average_drawdown_fraction)),
        (
            "max / average drawdown duration".into(),
            format!(
                "{} / {} {p}s",
                t.max_drawdown_duration_periods,
                t.average_drawdown_duration_periods
                    .map_or("-".into(), |d| format!("{d:.1}"))
            ),
        ),
        (
            "recovery of the max drawdown".into(),
            match (t.max_drawdown_recovery_periods, t.max_drawdown_fraction) {
                (Some(n), _) => format!("{n} {p}s"),
                (None, Some(f)) if f > 0.0 => "not recovered".into(),
                _ => "-".into(),
            },
        ),
        (
            "max drawdown (marked, money)".into(),
            format!(
                "{} ({} of its peak {})",
                money(m.max_drawdown),
                pct(m.max_drawdown_fraction),
                opt_money(m.max_drawdown_peak)
            ),
        ),
        (
            "max relative drawdown (marked)".into(),
            format!(
                "{} ({} from its peak {})",
                pct(m.max_relative_drawdown_fraction),
                money(m.max_relative_drawdown),
                opt_money(m.max_relative_drawdown_peak)
            ),
        ),
        ("exposure time".into(), pct(t.exposure_fraction)),
    ];
    rows
}

/// The time-based figures: the return series' statistics.
pub fn time_table(r: &PerformanceReport) -> String {
    let rows = time_rows(r);
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "{k:w$}  {v}");
    }
    out
}

/// The total's figures as (label, value) rows, in the order of the table.
pub fn total_rows(r: &PerformanceReport) -> Vec<(String, String)> {
    ROWS.iter()
        .map(|(label, f)| ((*label).to_owned(), f(&r.total)))
        .collect()
}

/// A table of one row per symbol and a last row for the total: the
/// headers, then the cells of each row (the first cell names the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// The columns' headers; the first heads the row names.
    pub headers: Vec<&'static str>,
    /// One row per symbol, then the total.
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    /// The grid as text: the names left-aligned, the figures right-aligned,
    /// two spaces between columns.
    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .chain(self.headers.get(i).map(|h| h.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            let mut l = String::new();
            for (i, (c, w)) in cells.zip(&widths).enumerate() {
                if i == 0 {
                    let _ = write!(l, "{c:<w$}");
                } else {
                    let _ = write!(l, "  {c:>w$}");
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(&mut out, &mut self.headers.iter().copied());
        for r in &self.rows {
            line(&mut out, &mut r.iter().map(String::as_str));
        }
        out
    }
}

/// The per-symbol performance columns.
const SYMBOL_HEADERS: [&str; 11] = [
    "symbol",
    "trades",
    "win rate",
    "net P&L",
    "fees",
    "profit f.",
    "expectancy",
    "payoff",
    "max drawdown",
    "long/short",
    "avg hold",
];

fn symbol_cells(name: &str, p: &Performance) -> Vec<String> {
    vec![
        name.to_owned(),
        p.trades.to_string(),
        pct(p.win_rate),
        signed(p.net_pnl),
        money(p.fees),
        ratio2(p.profit_factor),
        p.expectancy.map_or("-".into(), signed),
        ratio2(p.payoff_ratio),
        money(p.max_drawdown),
        format!("{}/{}", p.long.trades, p.short.trades),
        duration(p.average_holding_secs),
    ]
}

fn ratio2(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.2}"))
}

/// Performance by symbol: one row per symbol, then the total.
pub fn symbol_grid(r: &PerformanceReport) -> Grid {
    let mut rows: Vec<Vec<String>> = r
        .by_symbol
        .iter()
        .map(|(s, p)| symbol_cells(s.as_str(), p))
        .collect();
    rows.push(symbol_cells("total", &r.total));
    Grid {
        headers: SYMBOL_HEADERS.to_vec(),
        rows,
    }
}

/// The report as text: every figure of the total, one line each, then a
/// table of one row per symbol (and the total) with the figures that
/// matter most.
pub fn report_table(r: &PerformanceReport) -> String {
    let rows = total_rows(r);
    let w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        let _ = writeln!(out, "{label:w$}  {value}");
    }
    let _ = writeln!(
        out,
        "(equity held at the start: {}; Sharpe/Sortino here are per trade, on capital committed; see docs/REPORT.md)",
        money(r.starting_equity)
    );
    if !r.by_symbol.is_empty() {
        let _ = writeln!(
            out,
            "\nby symbol (max drawdown of the realized curve; profit f. = profit factor):"
        );
        out.push_str(&symbol_grid(r).text());
    }
    out
}

fn at(t: Timestamp) -> String {
    time(t)
}

/// "Why did we trade": the decision (reasoning and market snapshot), the
/// executions, every fill and the close.
pub fn trade_story(s: &TradeStory<'_>) -> String {
    let t = s.trade;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trade {} ({:?} {}, session {}): {:?}",
        t.trade_id, t.direction, t.symbol, t.session, t.status
    );
    match &s.decision {
        Some(d) => {
            let e = &d.event;
            let _ = writeln!(
                out,
                "  decision {} at {} (record {}): {:?} {} {}, confidence {}",
                e.decision_id,
                at(d.time),
                d.seq,
                e.action,
                e.size,
                e.symbol,
                e.confidence
            );
            for (i, step) in e.reasoning.iter().enumerate() {
                let _ = writeln!(out, "    {}. {step}", i + 1);
            }
            let m = &e.market;
            let _ = write!(
                out,
                "    market: bid {} ask {} last {} volume {}",
                m.bid, m.ask, m.last, m.volume
            );
            for ind in &m.indicators {
                let _ = write!(out, ", {} {}", ind.name, ind.value);
            }
            out.push('\n');
            for x in &s.executions {
                let e = &x.event;
                let _ = write!(
                    out,
                    "  execution {} at {} (record {}): {:?} {:?} {} of {}",
                    e.order_id,
                    at(x.time),
                    x.seq,
                    e.side,
                    e.status,
                    e.filled_qty,
                    e.requested_qty
                );
                if let Some(p) = e.avg_price {
                    let _ = write!(out, " @ {p}");
                }
                let _ = write!(out, ", fees {}, {} µs", e.fees, e.latency_us);
                if let Some(err) = &e.error {
                    let _ = write!(out, ", error: {err}");
                }
                out.push('\n');
            }
        }
        None => {
            let _ = writeln!(out, "  (no decision in the log names this trade)");
        }
    }
    for f in &t.fills {
        let _ = write!(
            out,
            "  fill at {} (record {}): {:?} {} @ {}, fees {}",
            at(f.time),
            f.seq,
            f.effect,
            f.qty,
            f.price,
            f.fees
        );
        if !f.realized.is_zero() {
            let _ = write!(out, ", realized {}", signed(f.realized));
        }
        out.push('\n');
    }
    match t.closed {
        Some((seq, when)) => {
            let _ = writeln!(
                out,
                "  closed at {} (record {seq}): net P&L {} after {} fees (average entry {}, exit {})",
                at(when),
                t.net_pnl().map_or_else(|| "(beyond the exact range)".to_owned(), signed),
                money(t.fees),
                t.avg_entry,
                t.exit_price.map_or("-".into(), |p| p.to_string())
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  open: {} at average entry {}, realized so far {}",
                t.open_qty,
                t.avg_entry,
                t.net_pnl()
                    .map_or_else(|| "(beyond the exact range)".to_owned(), signed)
            );
        }
    }
    out
}

fn bps(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.1} bps"))
}

fn micros(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| {
        if v >= 1_000_000.0 {
            format!("{:.2} s", v / 1e6)
        } else if v >= 1000.0 {
            format!("{:.1} ms", v / 1e3)
        } else {
            format!("{v:.0} µs")
        }
    })
}

/// The total's execution figures as (label, value) rows.
pub fn execution_rows(x: &ExecutionReport) -> Vec<(String, String)> {
    let f = &x.total;
    let cells = vec![
        f.orders.to_string(),
        format!(
            "{} / {} / {} / {}",
            f.filled, f.partially_filled, f.rejected, f.cancelled
        ),
        pct(f.fill_rate_fraction),
        pct(f.rejection_rate_fraction),
        pct(f.cancel_rate_fraction),
        format!("{} ({} unmeasured)", f.measured_fills, f.unmeasured_fills),
        format!(
            "{} / {} / {}",
            bps(f.slippage_mid_bps.mean),
            bps(f.slippage_mid_bps.median),
            bps(f.slippage_mid_bps.p95)
        ),
        bps(f.weighted_slippage_mid_bps),
        format!(
            "{} / {}",
            bps(f.slippage_last_bps.mean),
            bps(f.slippage_last_bps.median)
        ),
        money(f.slippage_cost),
        format!(
            "{} / {} / {}",
            micros(f.decision_to_fill_us.median),
            micros(f.decision_to_fill_us.p95),
            micros(f.decision_to_fill_us.max)
        ),
        format!(
            "{} / {}",
            micros(f.venue_latency_us.median),
            micros(f.venue_latency_us.p95)
        ),
    ];
    EXECUTION_LABELS
        .iter()
        .map(|l| (*l).to_owned())
        .zip(cells)
        .collect()
}

/// The labels of the total's execution figures.
const EXECUTION_LABELS: [&str; 12] = [
    "orders",
    "filled / partial / rejected / cancelled",
    "fill rate (qty)",
    "rejection rate",
    "cancel rate",
    "fills measured",
    "slippage vs mid: mean / median / p95",
    "slippage vs mid, qty-weighted",
    "slippage vs last: mean / median",
    "slippage cost vs mid",
    "decision to fill: median / p95 / max",
    "venue latency: median / p95",
];

/// The per-symbol execution columns.
const EXECUTION_HEADERS: [&str; 11] = [
    "symbol",
    "orders",
    "fills",
    "fill rate",
    "rejected",
    "cancelled",
    "slip bps",
    "p95 bps",
    "vs last",
    "slip cost",
    "to fill p50",
];

fn execution_cells(name: &str, f: &ExecutionFigures) -> Vec<String> {
    let num = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.2}"));
    vec![
        name.to_owned(),
        f.orders.to_string(),
        (f.filled + f.partially_filled).to_string(),
        pct(f.fill_rate_fraction),
        f.rejected.to_string(),
        f.cancelled.to_string(),
        num(f.slippage_mid_bps.mean),
        num(f.slippage_mid_bps.p95),
        num(f.slippage_last_bps.mean),
        money(f.slippage_cost),
        micros(f.decision_to_fill_us.median),
    ]
}

/// Execution quality by symbol: one row per symbol, then the total.
pub fn execution_grid(x: &ExecutionReport) -> Grid {
    let mut rows: Vec<Vec<String>> = x
        .by_symbol
        .iter()
        .map(|(s, f)| execution_cells(s.as_str(), f))
        .collect();
    rows.push(execution_cells("total", &x.total));
    Grid {
        headers: EXECUTION_HEADERS.to_vec(),
        rows,
    }
}

/// Execution quality as text: the total's figures, a row per symbol, the
/// reasons, the worst fills.
pub fn execution_table(x: &ExecutionReport) -> String {
    let rows = execution_rows(x);
    let w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        let _ = writeln!(out, "{label:w$}  {value}");
    }
    if !x.by_symbol.is_empty() {
        let _ = writeln!(
            out,
            "\nby symbol (slippage vs the decision's mid: mean and p95 in bps; vs last: mean bps):"
        );
        out.push_str(&execution_grid(x).text());
    }
    for (what, reasons) in [
        ("rejected", &x.total.rejection_reasons),
        ("cancelled", &x.total.cancel_reasons),
    ] {
        for (reason, n) in reasons {
            let _ = writeln!(out, "{what} {n}x: {reason}");
        }
    }
    if !x.worst.is_empty() {
        let _ = writeln!(out, "worst executions (slippage vs the decision's mid):");
        for w in &x.worst {
            let _ = writeln!(
                out,
                "  {} {} {:?} {} @ {} vs mid {} (last {}): {:+.1} bps, cost {}",
                time(w.time),
                w.symbol,
                w.side,
                w.filled_qty,
                w.avg_price,
                w.mid,
                w.last,
                w.slippage_mid_bps,
                money(w.slippage_cost),
            );
            let _ = writeln!(
                out,
                "    order {}, decision {} ({} before the fill):",
                w.order_id,
                w.decision_id,
                micros(Some(w.decision_to_fill_us as f64))
            );
            for step in &w.reasoning {
                let _ = writeln!(out, "      - {step}");
            }
        }
    }
    let _ = writeln!(
        out,
        "(slippage in bps, positive = cost: a buy above / a sell below the reference)"
    );
    out
}
