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

/// The time-based figures as (label, value) rows.
pub fn time_rows(r: &PerformanceReport) -> Vec<(String, String)> {
    let t = &r.time;
    let a = &r.annualized;
    let m = &t.marked_drawdown;
    let p = t.period.name();
    let rows: Vec<(String, String)> = vec![
        (
            "equity (marked)".into(),
            format!("{} -> {}", money(t.starting_equity), money(t.ending_equity)),
        ),
        (format!("{p}s"), t.periods.to_string()),
        ("total return".into(), pct(t.total_return)),
        (
            format!("annualised return ({} {p}s/year)", a.periods_per_year),
            pct(a.ret),
        ),
        ("annualised volatility".into(), pct(a.volatility)),
        ("Sharpe (annualised)".into(), ratio(a.sharpe)),
        ("Sortino (annualised)".into(), ratio(a.sortino)),
        ("Calmar".into(), ratio(a.calmar)),
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

/// The labels of the report's rows, in order.
pub fn report_labels() -> Vec<&'static str> {
    ROWS.iter().map(|r| r.0).collect()
}

/// The report's columns: `total`, then one per symbol, each with its header
/// and one rendered cell per row of [`report_labels`].
pub fn report_columns(r: &PerformanceReport) -> Vec<(String, Vec<String>)> {
    let mut cols: Vec<(String, &Performance)> = vec![("total".into(), &r.total)];
    cols.extend(r.by_symbol.iter().map(|(s, p)| (s.to_string(), p)));
    cols.into_iter()
        .map(|(h, p)| (h, ROWS.iter().map(|(_, f)| f(p)).collect()))
        .collect()
}

/// The report as a table: one column for the total, one per symbol.
pub fn report_table(r: &PerformanceReport) -> String {
    let columns = report_columns(r);
    let label_w = ROWS.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let widths: Vec<usize> = columns
        .iter()
        .map(|(h, c)| {
            c.iter()
                .map(String::len)
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:label_w$}", "");
    for ((h, _), w) in columns.iter().zip(&widths) {
        let _ = write!(out, "  {h:>w$}");
    }
    out.push('\n');
    for (i, (label, _)) in ROWS.iter().enumerate() {
        let _ = write!(out, "{label:label_w$}");
        for ((_, c), w) in columns.iter().zip(&widths) {
            let _ = write!(out, "  {:>w$}", c.get(i).map_or("", String::as_str));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "(equity held at the start: {}; Sharpe/Sortino here are per trade, on capital committed; see docs/REPORT.md)",
        money(r.starting_equity)
    );
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

/// One column of the execution table.
fn execution_cells(f: &ExecutionFigures) -> Vec<String> {
    vec![
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
    ]
}

/// The labels of the execution table's rows.
pub const EXECUTION_LABELS: [&str; 11] = [
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
];

/// The execution table's columns: total, then one per symbol.
pub fn execution_columns(x: &ExecutionReport) -> Vec<(String, Vec<String>)> {
    let mut cols = vec![("total".to_owned(), execution_cells(&x.total))];
    cols.extend(
        x.by_symbol
            .iter()
            .map(|(s, f)| (s.to_string(), execution_cells(f))),
    );
    cols
}

/// Execution quality as text: the table, the reasons, the worst fills.
pub fn execution_table(x: &ExecutionReport) -> String {
    let cols = execution_columns(x);
    let label_w = EXECUTION_LABELS.iter().map(|l| l.len()).max().unwrap_or(0);
    let widths: Vec<usize> = cols
        .iter()
        .map(|(h, c)| {
            c.iter()
                .map(|s| s.chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:label_w$}", "");
    for ((h, _), w) in cols.iter().zip(&widths) {
        let _ = write!(out, "  {h:>w$}");
    }
    out.push('\n');
    for (i, label) in EXECUTION_LABELS.iter().enumerate() {
        let _ = write!(out, "{label:label_w$}");
        for ((_, c), w) in cols.iter().zip(&widths) {
            let _ = write!(out, "  {:>w$}", c.get(i).map_or("", String::as_str));
        }
        out.push('\n');
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
                "  {} {} {:?} {} {} @ {} vs mid {} (last {}): {:+.1} bps, cost {}, decision {} after {}",
                time(w.time),
                w.order_id,
                w.side,
                w.filled_qty,
                w.symbol,
                w.avg_price,
                w.mid,
                w.last,
                w.slippage_mid_bps,
                money(w.slippage_cost),
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
