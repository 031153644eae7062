//! Text rendering of the domain's views: the performance report as a table,
//! and a trade's story from decision to close.

use std::fmt::Write as _;

use ledger_core::Timestamp;
use ledger_domain::{Decimal, Performance, PerformanceReport, TradeStory};

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

const ROWS: [Row; 16] = [
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
    ("max drawdown", |p| {
        format!(
            "{} ({} of its peak {})",
            money(p.max_drawdown),
            pct(p.max_drawdown_fraction),
            opt_money(p.max_drawdown_peak)
        )
    }),
    ("max relative drawdown", |p| {
        format!(
            "{} ({} from its peak {})",
            pct(p.max_relative_drawdown_fraction),
            money(p.max_relative_drawdown),
            opt_money(p.max_relative_drawdown_peak)
        )
    }),
    ("Sharpe (per trade)", |p| ratio(p.sharpe)),
    ("Sortino (per trade)", |p| ratio(p.sortino)),
];

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
