//! The performance report as one self-contained HTML page: inline CSS,
//! the figures table, and the equity curve and drawdown drawn as inline SVG
//! polylines. No script, no external file, no web font: the page can be
//! mailed, archived and opened offline.

use std::fmt::Write as _;

use ledger_domain::{Decimal, PerformanceReport};

use crate::human::time;
use crate::report_fmt::{report_columns, report_labels};

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
fn chart(points: &[Point], class: &str, title: &str, top_at_zero: bool) -> String {
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
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">closed trades</text>"#,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 4.0
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
    let _ = writeln!(
        h,
        "<h2>Figures</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th></th>"
    );
    let columns = report_columns(r);
    for (head, _) in &columns {
        let _ = write!(h, "<th>{}</th>", escape(head));
    }
    let _ = writeln!(h, "</tr></thead>\n<tbody>");
    for (i, label) in report_labels().iter().enumerate() {
        let _ = write!(h, "<tr><td class=\"label\">{}</td>", escape(label));
        for (_, cells) in &columns {
            let cell = cells.get(i).map_or("", String::as_str);
            let _ = write!(h, "<td>{}</td>", escape(cell));
        }
        let _ = writeln!(h, "</tr>");
    }
    let _ = writeln!(h, "</tbody>\n</table></div>");
    let _ = writeln!(
        h,
        "<p class=\"note\">A trade counts when it closed inside the window. Ratios are per trade, on the capital each trade committed, not annualized (docs/REPORT.md).</p>"
    );

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
            false
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
            true
        )
    );
    let _ = writeln!(
        h,
        "<footer><p>Computed by <code>ledger report</code> from the ledger's hash-chained log.</p></footer>\n</body>\n</html>"
    );
    h
}
