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

const DAY: i64 = 86_400;

fn mark(session: &str, sym: &str, qty: &str, avg: &str, mark: &str) -> Event {
    Event::PositionSnapshot(PositionSnapshot {
        session: session.into(),
        symbol: sym.into(),
        qty: d(qty),
        avg_entry: d(avg),
        mark: d(mark),
        unrealized_pnl: Decimal::ZERO,
        realized_pnl: Decimal::ZERO,
    })
}

/// A long held over four days, marked by position snapshots; B brings
/// capital on day 1.
fn marked() -> Projections {
    use Direction::*;
    fold(vec![
        (0, start("A", "1000")),
        (10 * 3600, open("A", "T1", "BTC", Long, "1", "100")),
        (20 * 3600, mark("A", "BTC", "1", "100", "110")),
        (DAY + 6 * 3600, start("B", "500")),
        (DAY + 12 * 3600, mark("A", "BTC", "1", "100", "90")),
        (3 * DAY + 9 * 3600, close("A", "T1", "BTC", "120", "20")),
    ])
}

#[test]
fn equity_is_marked_to_market_and_returns_leave_capital_out() {
    let p = marked();
    let r = PerformanceReport::compute(&p, &ReportFilter::default()).unwrap();
    // Day 0: 1000 + (110 - 100) = 1010. Day 1: +500 capital, mark 90:
    // 1500 - 10 = 1490. Day 2: nothing. Day 3: closed at 120: 1520.
    let dates: Vec<&str> = r.returns.iter().map(|p| p.date.as_str()).collect();
    assert_eq!(
        dates,
        ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]
    );
    let eq: Vec<Decimal> = r.returns.iter().map(|p| p.equity).collect();
    assert_eq!(eq, [d("1010"), d("1490"), d("1490"), d("1520")]);
    // Capital arrives at the start of its period: 1490 / (1010 + 500) - 1.
    let want = [0.01, 1490.0 / 1510.0 - 1.0, 0.0, 1520.0 / 1490.0 - 1.0];
    let got: Vec<f64> = r.returns.iter().map(|p| p.ret.unwrap()).collect();
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
    }
    // Every annualised figure, recomputed here from the series.
    let n = 4.0;
    let total: f64 = want.iter().map(|x| 1.0 + x).product::<f64>() - 1.0;
    let mean = want.iter().sum::<f64>() / n;
    let sd = (want.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let down = (want.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    let a = &r.annualized;
    assert_eq!(a.periods_per_year, 252.0);
    // Four days are fewer than the 21 needed to annualise the return:
    // it (and Calmar) is withheld, not extrapolated.
    assert_eq!(a.min_periods, 21);
    assert_eq!(a.ret, None);
    assert_eq!(a.calmar, None);
    assert!((a.volatility.unwrap() - sd * 252f64.sqrt()).abs() < 1e-12);
    assert!((a.sharpe.unwrap() - mean / sd * 252f64.sqrt()).abs() < 1e-9);
    assert!((a.sortino.unwrap() - mean / down * 252f64.sqrt()).abs() < 1e-9);
    // The index: 1.01, 1.01 x 1490/1510, flat, then above 1.01: one
    // drawdown of 20/1510, from day 0 to its recovery on day 3.
    let dd = 1.0 - 1490.0 / 1510.0;
    let t = &r.time;
    assert!((t.total_return.unwrap() - total).abs() < 1e-12);
    assert!((t.max_drawdown_fraction.unwrap() - dd).abs() < 1e-12);
    assert!((t.average_drawdown_fraction.unwrap() - dd).abs() < 1e-12);
    assert_eq!(t.max_drawdown_duration_periods, 3);
    assert_eq!(t.max_drawdown_recovery_periods, Some(2));
    // The same returns, with 48 periods a year (a month is 4 periods),
    // are annualised: (1 + total)^(48 / 4) - 1, and Calmar on it.
    let a48 = annualized(&want, 48.0);
    assert_eq!(a48.min_periods, 4);
    let annual = (1.0 + total).powf(12.0) - 1.0;
    assert!((a48.ret.unwrap() - annual).abs() < 1e-9 * annual.abs().max(1.0));
    assert!((a48.calmar.unwrap() - annual / dd).abs() < 1e-9 * annual.abs().max(1.0));
    assert_eq!(t.starting_equity, d("1000"));
    assert_eq!(t.ending_equity, d("1520"));
    // Marked in money: peak 1510 (1010 + 500 capital), trough 1490.
    assert_eq!(t.marked_drawdown.max_drawdown, d("20"));
    assert_eq!(t.marked_drawdown.max_drawdown_peak, Some(d("1510")));
    // Open from day 0 10:00 to day 3 09:00 of a span from day 0 00:00 to then.
    let want_exp = (3.0 * 86_400.0 - 3600.0) / (3.0 * 86_400.0 + 9.0 * 3600.0);
    assert!((t.exposure_fraction.unwrap() - want_exp).abs() < 1e-12);
    // 365 periods a year changes only the annualised figures.
    let crypto = PerformanceReport::compute(
        &p,
        &ReportFilter {
            periods_per_year: 365.0,
            ..ReportFilter::default()
        },
    )
    .unwrap();
    assert!((crypto.annualized.sharpe.unwrap() - mean / sd * 365f64.sqrt()).abs() < 1e-9);
    assert_eq!(crypto.returns, r.returns);
}

#[test]
fn an_open_position_counts_at_its_latest_mark() {
    use Direction::*;
    let p = fold(vec![
        (0, start("A", "1000")),
        (3600, open("A", "T1", "ETH", Short, "2", "100")),
        (7200, mark("A", "ETH", "-2", "100", "80")),
    ]);
    let r = PerformanceReport::compute(&p, &ReportFilter::default()).unwrap();
    // Short 2 from 100, marked at 80: +40 unrealized, nothing closed.
    assert_eq!(r.total.trades, 0);
    assert_eq!(r.returns.len(), 1);
    assert_eq!(r.returns[0].equity, d("1040"));
    assert_eq!(r.time.ending_equity, d("1040"));
    assert!((r.returns[0].ret.unwrap() - 0.04).abs() < 1e-12);
}

#[test]
fn trade_statistics_by_hand() {
    let p = two_sessions();
    let t = PerformanceReport::compute(&p, &ReportFilter::default())
        .unwrap()
        .total;
    // Net P&L in closing order: +500, -600, +1000, -700.
    assert_eq!(t.best_trade.as_ref().unwrap().trade_id, TradeId::from("T3"));
    assert_eq!(t.worst_trade.as_ref().unwrap().net_pnl, d("-700"));
    assert_eq!(t.average_holding_secs, Some(10.0));
    assert_eq!(t.max_holding_secs, Some(10.0));
    assert_eq!(
        (t.long.trades, t.long.wins, t.long.net_pnl),
        (3, 2, d("800"))
    );
    assert_eq!((t.short.trades, t.short.net_pnl), (1, d("-600")));
    assert_eq!((t.max_win_streak, t.max_loss_streak), (1, 1));
    // Average win 750, average loss 650.
    let payoff = 750.0 / 650.0;
    assert!((t.payoff_ratio.unwrap() - payoff).abs() < 1e-12);
    assert!((t.kelly_fraction.unwrap() - (0.5 - 0.5 / payoff)).abs() < 1e-12);
    let pnl = [500.0, -600.0, 1000.0, -700.0];
    let mean = 50.0;
    let sd = (pnl.iter().map(|x: &f64| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((t.sqn.unwrap() - 2.0 * mean / sd).abs() < 1e-12);
    assert_eq!(t.fees_to_gross_fraction, Some(0.0));
}

/// Sharpe's sign follows the mean return, for any series (a property
/// checked over many generated series).
#[test]
fn sharpe_has_the_sign_of_the_mean_return() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..2000 {
        let n = 2 + (next() * 40.0) as usize;
        let drift = next() * 0.02 - 0.01;
        let r: Vec<f64> = (0..n).map(|_| drift + next() * 0.04 - 0.02).collect();
        let mean = r.iter().sum::<f64>() / n as f64;
        let a = annualized(&r, 252.0);
        match a.sharpe {
            Some(s) => assert_eq!(s > 0.0, mean > 0.0, "{r:?}"),
            None => assert!(r.iter().all(|x| *x == r[0])),
        }
        if let Some(s) = a.sortino {
            assert_eq!(s > 0.0, mean > 0.0);
        }
    }
}

/// The annualised return needs a month of periods (ceil(P / 12)): 21
/// days at 252. Twenty days of +1 % are not annualised, twenty-one are.
#[test]
fn the_annualised_return_needs_a_month_of_periods() {
    assert_eq!(ledger_domain::min_periods_to_annualize(252.0), 21);
    assert_eq!(ledger_domain::min_periods_to_annualize(365.0), 31);
    assert_eq!(ledger_domain::min_periods_to_annualize(8760.0), 730);
    assert_eq!(ledger_domain::min_periods_to_annualize(52.0), 5);
    // 20 days: withheld (with Calmar); the rest is still given.
    let mut r = vec![0.01; 19];
    r.push(-0.005);
    let a = annualized(&r, 252.0);
    assert_eq!((a.min_periods, a.ret, a.calmar), (21, None, None));
    assert!(a.sharpe.is_some() && a.sortino.is_some() && a.volatility.is_some());
    // 21 days: 1.01^20 x 0.995 = 1.21412..., to the power 252 / 21 = 12.
    r.push(0.01);
    let a = annualized(&r, 252.0);
    let total = 1.01f64.powi(20) * 0.995;
    let annual = total.powf(12.0) - 1.0;
    assert!((a.ret.unwrap() - annual).abs() < 1e-9 * annual, "{a:?}");
    // Its only drawdown is the -0.5 % day: Calmar = annual / 0.005.
    assert!((a.calmar.unwrap() - annual / 0.005).abs() < 1e-6 * annual / 0.005);
}
