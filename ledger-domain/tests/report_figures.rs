//! The report's figures on small fixed sessions, computed by hand: several
//! sessions of different capital, a window, a symbol, both readings of the
//! maximum drawdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::{ChainHash, Seq, Timestamp};
use ledger_domain::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Seconds after 2026-01-05T00:00:00Z.
fn at(secs: i64) -> Timestamp {
    Timestamp::from_nanos((1_767_571_200 + secs) * 1_000_000_000)
}

/// Folds `events` (seconds, event) into projections.
fn fold(events: Vec<(i64, Event)>) -> Projections {
    let mut p = Projections::new();
    for (i, (secs, e)) in events.into_iter().enumerate() {
        p.apply(
            Seq::new(i as u64 + 1),
            ChainHash::from_bytes([0; 32]),
            at(secs),
            e,
        );
    }
    assert!(p.unfolded.is_empty(), "{:?}", p.unfolded);
    p
}

fn start(session: &str, equity: &str) -> Event {
    Event::SessionStarted(SessionStarted {
        session: session.into(),
        starting_equity: d(equity),
        ..Default::default()
    })
}

fn open(session: &str, id: &str, sym: &str, dir: Direction, qty: &str, price: &str) -> Event {
    Event::TradeOpened(TradeOpened {
        session: session.into(),
        trade_id: id.into(),
        symbol: sym.into(),
        direction: dir,
        qty: d(qty),
        price: d(price),
        fees: Decimal::ZERO,
        decision_id: None,
        order_id: None,
    })
}

fn close(session: &str, id: &str, sym: &str, price: &str, pnl: &str) -> Event {
    Event::TradeClosed(TradeClosed {
        session: session.into(),
        trade_id: id.into(),
        symbol: sym.into(),
        price: d(price),
        fees: Decimal::ZERO,
        realized_pnl: d(pnl),
        order_id: None,
    })
}

/// Session A (1000) makes +500 then loses 600; session B brings 9000 later,
/// makes +1000 then loses 700. Curve:
/// 1000 -> 1500 (T1 +500) -> 900 (T2 -600: 600 of 1500 = 40 %)
/// -> +9000 capital = 9900 -> 10900 (T3 +1000) -> 10200 (T4 -700: 700 of
/// 10900 = 6.42 %). Largest absolute fall 700 (peak 10900, 6.42 %); largest
/// relative fall 40 % (600 from the peak 1500).
fn two_sessions() -> Projections {
    use Direction::*;
    fold(vec![
        (0, start("A", "1000")),
        (10, open("A", "T1", "BTC", Long, "1", "100")),
        (20, close("A", "T1", "BTC", "600", "500")),
        (30, open("A", "T2", "ETH", Short, "2", "100")),
        (40, close("A", "T2", "ETH", "400", "-600")),
        (50, start("B", "9000")),
        (60, open("B", "T3", "BTC", Long, "10", "100")),
        (70, close("B", "T3", "BTC", "200", "1000")),
        (80, open("B", "T4", "ETH", Long, "7", "200")),
        (90, close("B", "T4", "ETH", "100", "-700")),
    ])
}

#[test]
fn two_sessions_of_different_capital_combine_and_both_drawdowns_have_their_own_peak() {
    let p = two_sessions();
    let r = PerformanceReport::compute(&p, &ReportFilter::default()).unwrap();
    assert_eq!(r.starting_equity, d("1000"));
    assert_eq!(r.capital, vec![(at(0), d("1000")), (at(50), d("9000"))]);
    let t = &r.total;
    assert_eq!(
        t.equity_curve.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![d("1500"), d("900"), d("10900"), d("10200")]
    );
    assert_eq!(t.max_drawdown, d("700"));
    assert_eq!(t.max_drawdown_peak, Some(d("10900")));
    assert!((t.max_drawdown_fraction.unwrap() - 700.0 / 10900.0).abs() < 1e-12);
    assert_eq!(t.max_relative_drawdown, d("600"));
    assert_eq!(t.max_relative_drawdown_peak, Some(d("1500")));
    assert!((t.max_relative_drawdown_fraction.unwrap() - 0.4).abs() < 1e-12);
}

#[test]
fn a_window_starts_from_the_equity_held_then() {
    let p = two_sessions();
    // From t=45: equity held = 1000 + 500 - 600 = 900; B's capital arrives
    // at 50: 9900, T3 +1000 = 10900, T4 -700 = 10200.
    let r = PerformanceReport::compute(
        &p,
        &ReportFilter {
            from: Some(at(45)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.starting_equity, d("900"));
    assert_eq!(
        r.total.equity_curve.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![d("10900"), d("10200")]
    );
    assert_eq!(r.total.max_drawdown, d("700"));
    assert_eq!(r.total.max_relative_drawdown_peak, Some(d("10900")));
    // From t=55, after B's capital: 9900 held.
    let r = PerformanceReport::compute(
        &p,
        &ReportFilter {
            from: Some(at(55)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.starting_equity, d("9900"));
}

#[test]
fn a_symbol_curve_starts_from_the_account_equity_and_adds_only_its_trades() {
    let p = two_sessions();
    let r = PerformanceReport::compute(
        &p,
        &ReportFilter {
            symbols: vec!["ETH".into()],
            ..Default::default()
        },
    )
    .unwrap();
    // 1000 held at the start; ETH: T2 -600 -> 400; +9000 -> 9400; T4 -700 -> 8700.
    let eth = &r.total;
    assert_eq!(
        eth.equity_curve.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![d("400"), d("8700")]
    );
    assert_eq!(eth.max_drawdown, d("700"));
    assert_eq!(eth.max_drawdown_peak, Some(d("9400")));
    assert_eq!(eth.max_relative_drawdown, d("600"));
    assert!((eth.max_relative_drawdown_fraction.unwrap() - 0.6).abs() < 1e-12);
    // The same column in the unfiltered report.
    let all = PerformanceReport::compute(&p, &ReportFilter::default()).unwrap();
    assert_eq!(all.by_symbol[&Symbol::from("ETH")], r.total);
}
