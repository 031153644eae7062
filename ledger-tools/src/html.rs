//! The performance report as one self-contained HTML page, a tearsheet:
//! inline CSS, the figures tables, the marked equity curve, the underwater
//! chart, the monthly returns, the trade P&L and slippage distributions and
//! the worst executions, all drawn as inline SVG. No script, no external
//! file, no web font: the page can be mailed, archived and opened offline.

use std::fmt::Write as _;

use ledger_domain::{Decimal, ExecutionReport, PerformanceReport};

use crate::human::time;
use crate::report_fmt::{execution_grid, execution_rows, symbol_grid, time_rows, total_rows, Grid};

/// Escapes text for HTML content and attribute values.
///
/// ```
/// assert_eq!(ledger_tools::html::escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2430;
       max-width: 980px; margin: 2em auto; padding: 0 1em; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #d8dde6; padding-bottom: 0.2em; }
p.scope { color: #5a6474; margin-top: 0; }
table { border-collapse: collapse; margin-top: 0.6em; }
div.scroll { overflow-x: auto; }
th, td { padding: 0.25em 0.9em; border-bottom: 1px solid #e6e9ef; white-space: nowrap; }
th { text-align: left; font-weight: 600; background: #f4f6f9; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td.label { text-align: left; color: #3b4453; }
svg { display: block; max-width: 100%; height: auto; margin-top: 0.6em; background: #fbfcfd; border: 1px solid #e6e9ef; }
svg text { font: 11px system-ui, sans-serif; fill: #5a6474; }
.grid { stroke: #e3e7ee; stroke-width: 1; }
.axis { stroke: #9aa3b2; stroke-width: 1; }
.equity { fill: none; stroke: #1f6feb; stroke-width: 2; }
.drawdown { fill: none; stroke: #d1242f; stroke-width: 2; }
.dot-equity { fill: #1f6feb; }
.dot-drawdown { fill: #d1242f; }
p.note, footer { color: #5a6474; font-size: 0.9em; }
.hist-pnl { fill: #1f6feb; }
.hist-slip { fill: #bf8700; }
rect.edge { fill-opacity: 0.55; stroke: #57606a; stroke-dasharray: 3 2; }
td.neg { color: #d1242f; }
td.pos { color: #1a7f37; }
td.why { text-align: left; white-space: normal; min-width: 24em; }
";

/// One point of a chart: x (trade number), y, and its tooltip.
struct Point {
    x: f64,
    y: f64,
    label: String,
}

const W: f64 = 900.0;
const H: f64 = 260.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 15.0;
const BOTTOM: f64 = 35.0;

/// An SVG line chart of `points` (x from 0 to the number of trades); with
/// `top_at_zero` the chart's top is 0 (for the drawdown, never above it).
fn chart(points: &[Point], class: &str, title: &str, top_at_zero: bool, x_label: &str) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(svg, "<title>{}</title>", escape(title));
    let x_max = points.iter().map(|p| p.x).fold(1.0_f64, f64::max);
    let mut y_min = points.iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
    let mut y_max = points.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
    if !y_min.is_finite() || !y_max.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    if (y_max - y_min).abs() < f64::EPSILON {
        let pad = if y_max.abs() > 1.0 {
            y_max.abs() * 0.01
        } else {
            1.0
        };
        y_min -= pad;
        y_max += pad;
    }
    let pad = (y_max - y_min) * 0.08;
    let (y_lo, y_hi) = if top_at_zero && y_max <= 0.0 {
        (y_min - pad, 0.0)
    } else {
        (y_min - pad, y_max + pad)
    };
    let sx = |x: f64| LEFT + x / x_max * (W - LEFT - RIGHT);
    let sy = |y: f64| TOP + (y_hi - y) / (y_hi - y_lo) * (H - TOP - BOTTOM);
    // Horizontal grid lines with their values.
    for i in 0..=4 {
        let v = y_lo + (y_hi - y_lo) * f64::from(i) / 4.0;
        let y = sy(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    // Axes and trade numbers.
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b:.1}"/><line class="axis" x1="{LEFT}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}"/>"#,
        b = H - BOTTOM,
        r = W - RIGHT
    );
    let step = (x_max / 10.0).ceil().max(1.0);
    let mut x = 0.0;
    while x <= x_max {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{x}</text>"#,
            sx(x),
            H - BOTTOM + 15.0
        );
        x += step;
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 4.0,
        escape(x_label)
    );
    let pts: Vec<String> = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", sx(p.x), sy(p.y)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="{class}" points="{}"/>"#,
        pts.join(" ")
    );
    // Dots with their figures as tooltips, while they stay readable.
    if points.len() <= 80 {
        for p in points {
            let _ = write!(
                svg,
                r#"<circle class="dot-{class}" cx="{:.1}" cy="{:.1}" r="3"><title>{}</title></circle>"#,
                sx(p.x),
                sy(p.y),
                escape(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The report as a self-contained HTML page. `scope` says which trades it
/// covers; `ledger` is the ledger's id.
pub fn report_page(r: &PerformanceReport, scope: &str, ledger: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Performance report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(scope)
    );
    let _ = writeln!(h, "<h1>Performance report</h1>");
    let _ = writeln!(
        h,
        "<p class=\"scope\">{} &middot; {} closed trade(s) &middot; starting equity {:.2} &middot; ledger {}</p>",
        escape(scope),
        r.total.trades,
        r.starting_equity,
        escape(ledger)
    );

    // The figures.
    let _ = writeln!(h, "<h2>Figures</h2>");
    rows_table(&mut h, &total_rows(r));
    if !r.by_symbol.is_empty() {
        let _ = writeln!(h, "<h2>By symbol</h2>");
        grid_table(&mut h, &symbol_grid(r));
    }
    let _ = writeln!(
        h,
        "<p class=\"note\">A trade counts when it closed inside the window. Ratios are per trade, on the capital each trade committed, not annualized (docs/REPORT.md).</p>"
    );

    time_section(&mut h, r);

    // The curves: equity after each closed trade, and the fall from the running peak.
    let start = r.starting_equity.to_f64();
    let mut equity = vec![Point {
        x: 0.0,
        y: start,
        label: format!("start: equity {:.2}", r.starting_equity),
    }];
    let mut drawdown = vec![Point {
        x: 0.0,
        y: 0.0,
        label: "start: drawdown 0.00".into(),
    }];
    let mut peak = r.starting_equity;
    for (i, (t, e)) in r.total.equity_curve.iter().enumerate() {
        peak = peak.max(*e);
        // The report's own check keeps every drawdown in range.
        let dd = peak.checked_sub(*e).unwrap_or(Decimal::ZERO);
        let n = i as f64 + 1.0;
        equity.push(Point {
            x: n,
            y: e.to_f64(),
            label: format!("trade {} closed {}: equity {e:.2}", i + 1, time(*t)),
        });
        drawdown.push(Point {
            x: n,
            y: -dd.to_f64(),
            label: format!("trade {} closed {}: drawdown {dd:.2}", i + 1, time(*t)),
        });
    }
    let _ = writeln!(h, "<h2>Equity curve</h2>");
    if r.total.equity_curve.is_empty() {
        let _ = writeln!(h, "<p class=\"note\">No trade closed in this window.</p>");
    }
    let _ = writeln!(
        h,
        "{}",
        chart(
            &equity,
            "equity",
            "Realized equity after each closed trade",
            false,
            "closed trades"
        )
    );
    let _ = writeln!(h, "<h2>Drawdown</h2>");
    let _ = writeln!(
        h,
        "<p class=\"note\">Fall from the running peak of realized equity; maximum {:.2}{}.</p>",
        r.total.max_drawdown,
        r.total
            .max_drawdown_fraction
            .map_or(String::new(), |p| format!(
                " ({:.2} % of its own peak)",
                p * 100.0
            ))
    );
    let _ = writeln!(
        h,
        "{}",
        chart(
            &drawdown,
            "drawdown",
            "Drawdown after each closed trade",
            true,
            "closed trades"
        )
    );
    let _ = writeln!(h, "<h2>Trade P&amp;L distribution</h2>");
    let pnl: Vec<f64> = r.total.trade_net_pnl.iter().map(|p| p.to_f64()).collect();
    let _ = writeln!(
        h,
        "{}",
        histogram(
            &pnl,
            "Net P&L per closed trade",
            "net P&L per trade",
            "hist-pnl"
        )
    );
    execution_section(&mut h, &r.execution);
    let _ = writeln!(
        h,
        "<footer><p>Computed by <code>ledger report</code> from the ledger's hash-chained log. Definitions: docs/REPORT.md.</p></footer>\n</body>\n</html>"
    );
    h
}

/// A histogram of `values` in up to 30 equal bins over a range robust to
/// outliers ([`crate::histogram`]), as SVG bars; the outliers are counted
/// in the edge bins, labelled `< x` and `≥ y`.
fn histogram(values: &[f64], title: &str, x_label: &str, class: &str) -> String {
    let Some(b) = crate::histogram::bins(values, 30) else {
        return "<p class=\"note\">Nothing to show.</p>".into();
    };
    let max = b.bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let bar_w = plot_w / b.bins.len() as f64;
    for (i, bin) in b.bins.iter().enumerate() {
        let bh = bin.count as f64 / max * plot_h;
        let outliers = bin.below + bin.above;
        let (edge, note) = if outliers > 0 {
            (" edge", format!(" ({outliers} beyond the range)"))
        } else {
            ("", String::new())
        };
        let _ = write!(
            svg,
            r#"<rect class="{class}{edge}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {}{note}</title></rect>"#,
            LEFT + bar_w * i as f64 + 1.0,
            TOP + plot_h - bh,
            (bar_w - 2.0).max(1.0),
            bh,
            escape(&bin.label()),
            bin.count
        );
    }
    let lo_label = if b.below() > 0 {
        format!("&lt; {:.2}", b.lo)
    } else {
        format!("{:.2}", b.lo)
    };
    let hi_label = if b.above() > 0 {
        format!("&gt; {:.2}", b.hi)
    } else {
        format!("{:.2}", b.hi)
    };
    let mut axis = escape(x_label);
    if b.below() + b.above() > 0 {
        let _ = write!(
            axis,
            " ({} below and {} above the range in the edge bars)",
            b.below(),
            b.above()
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{bl:.1}" x2="{r:.1}" y2="{bl:.1}"/><text x="{LEFT}" y="{ty:.1}" text-anchor="start">{lo_label}</text><text x="{r:.1}" y="{ty:.1}" text-anchor="end">{hi_label}</text><text x="{mx:.1}" y="{ly:.1}" text-anchor="middle">{axis}</text><text x="{tx:.1}" y="{yy:.1}" text-anchor="end">{max}</text>"#,
        bl = H - BOTTOM,
        r = W - RIGHT,
        ty = H - BOTTOM + 15.0,
        mx = LEFT + plot_w / 2.0,
        ly = H - 4.0,
        tx = LEFT - 6.0,
        yy = TOP + 10.0,
    );
    svg.push_str("</svg>");
    svg
}

/// A table of (label, value) rows.
fn rows_table(h: &mut String, rows: &[(String, String)]) {
    let _ = writeln!(h, "<div class=\"scroll\"><table><tbody>");
    for (k, v) in rows {
        let _ = writeln!(
            h,
            "<tr><td class=\"label\">{}</td><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    let _ = writeln!(h, "</tbody></table></div>");
}

/// A table of one row per symbol and the total.
fn grid_table(h: &mut String, g: &Grid) {
    let _ = write!(h, "<div class=\"scroll\"><table><thead><tr>");
    for head in &g.headers {
        let _ = write!(h, "<th>{}</th>", escape(head));
    }
    let _ = writeln!(h, "</tr></thead><tbody>");
    for row in &g.rows {
        let _ = write!(h, "<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(h, "<td class=\"label\">{}</td>", escape(cell));
            } else {
                let _ = write!(h, "<td>{}</td>", escape(cell));
            }
        }
        let _ = writeln!(h, "</tr>");
    }
    let _ = writeln!(h, "</tbody></table></div>");
}

/// The period series: the figures, the marked equity, the underwater
/// chart and the monthly returns.
fn time_section(h: &mut String, r: &PerformanceReport) {
    let period = r.time.period.name();
    let _ = writeln!(h, "<h2>Over time, marked to market</h2>");
    rows_table(h, &time_rows(r));
    let equity: Vec<Point> = r
        .returns
        .iter()
        .enumerate()
        .map(|(i, p)| Point {
            x: i as f64 + 1.0,
            y: p.equity.to_f64(),
            label: format!("{}: equity {:.2}", p.date, p.equity),
        })
        .collect();
    let _ = writeln!(h, "<h2>Equity curve (marked, end of each {period})</h2>");
    let _ = writeln!(
        h,
        "{}",
        chart(
            &equity,
            "equity",
            "Marked equity at the end of each period",
            false,
            &format!("{period}s")
        )
    );
    let mut peak = 1.0f64;
    let mut w = 1.0f64;
    let under: Vec<Point> = r
        .returns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            w *= 1.0 + p.ret.unwrap_or(0.0);
            peak = peak.max(w);
            let dd = if peak > 0.0 { w / peak - 1.0 } else { 0.0 };
            Point {
                x: i as f64 + 1.0,
                y: dd * 100.0,
                label: format!("{}: {:.2} % below the peak", p.date, -dd * 100.0),
            }
        })
        .collect();
    let _ = writeln!(h, "<h2>Underwater: drawdown of the return index (%)</h2>");
    let _ = writeln!(
        h,
        "{}",
        chart(
            &under,
            "drawdown",
            "Drawdown of the compounded returns, percent",
            true,
            &format!("{period}s")
        )
    );
    monthly_table(h, r);
}

/// Compounded returns by calendar month: a row per year.
fn monthly_table(h: &mut String, r: &PerformanceReport) {
    let mut months: std::collections::BTreeMap<(String, usize), f64> = Default::default();
    for p in &r.returns {
        let (Some(y), Some(m)) = (p.date.get(0..4), p.date.get(5..7)) else {
            continue;
        };
        let Ok(m) = m.parse::<usize>() else { continue };
        let e = months.entry((y.to_owned(), m)).or_insert(1.0);
        *e *= 1.0 + p.ret.unwrap_or(0.0);
    }
    let _ = writeln!(h, "<h2>Monthly returns (%)</h2>");
    if months.is_empty() {
        let _ = writeln!(h, "<p class=\"note\">No return in this window.</p>");
        return;
    }
    let _ = write!(
        h,
        "<div class=\"scroll\"><table class=\"monthly\"><thead><tr><th>year</th>"
    );
    for m in [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "year",
    ] {
        let _ = write!(h, "<th>{m}</th>");
    }
    let _ = writeln!(h, "</tr></thead><tbody>");
    let years: std::collections::BTreeSet<&String> = months.keys().map(|k| &k.0).collect();
    for y in years {
        let _ = write!(h, "<tr><td class=\"label\">{}</td>", escape(y));
        let mut year = 1.0;
        for m in 1..=12 {
            match months.get(&(y.clone(), m)) {
                Some(g) => {
                    year *= g;
                    let pct = (g - 1.0) * 100.0;
                    let class = if pct < 0.0 { "neg" } else { "pos" };
                    let _ = write!(h, "<td class=\"{class}\">{pct:.2}</td>");
                }
                None => {
                    let _ = write!(h, "<td></td>");
                }
            }
        }
        let _ = writeln!(h, "<td>{:.2}</td></tr>", (year - 1.0) * 100.0);
    }
    let _ = writeln!(h, "</tbody></table></div>");
}

/// Execution quality: the table, the slippage distribution, the worst fills.
fn execution_section(h: &mut String, x: &ExecutionReport) {
    let _ = writeln!(h, "<h2>Execution quality</h2>");
    rows_table(h, &execution_rows(x));
    if !x.by_symbol.is_empty() {
        grid_table(h, &execution_grid(x));
    }
    let _ = writeln!(
        h,
        "<p class=\"note\">Slippage in basis points against the decision's market snapshot, positive = cost (a buy above, a sell below the reference).</p>"
    );
    for (what, reasons) in [
        ("rejected", &x.total.rejection_reasons),
        ("cancelled", &x.total.cancel_reasons),
    ] {
        for (reason, n) in reasons {
            let _ = writeln!(
                h,
                "<p class=\"note\">{what} {n}&times;: {}</p>",
                escape(reason)
            );
        }
    }
    let _ = writeln!(h, "<h2>Slippage distribution (bps vs mid)</h2>");
    let _ = writeln!(
        h,
        "{}",
        histogram(
            &x.fills_mid_bps,
            "Slippage of every fill against its decision's mid, bps",
            "slippage vs mid (bps)",
            "hist-slip"
        )
    );
    let _ = writeln!(h, "<h2>Worst executions</h2>");
    if x.worst.is_empty() {
        let _ = writeln!(h, "<p class=\"note\">No fill measured.</p>");
        return;
    }
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table><thead><tr><th>time</th><th>order</th><th>side</th><th>qty</th><th>symbol</th><th>fill</th><th>mid</th><th>bps</th><th>cost</th><th>decision and its reasoning</th></tr></thead><tbody>"
    );
    for w in &x.worst {
        let why: Vec<String> = w.reasoning.iter().map(|s| escape(s)).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:+.1}</td><td>{:.2}</td><td class=\"why\">{}: {}</td></tr>",
            escape(&time(w.time)),
            escape(w.order_id.as_str()),
            w.side,
            w.filled_qty,
            escape(w.symbol.as_str()),
            w.avg_price,
            w.mid,
            w.slippage_mid_bps,
            w.slippage_cost,
            escape(w.decision_id.as_str()),
            why.join("; ")
        );
    }
    let _ = writeln!(h, "</tbody></table></div>");
}
