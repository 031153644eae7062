//! Execution quality on hand-made decisions and executions: slippage signs
//! against mid and last, fill / rejection / cancel rates with reasons,
//! decision-to-fill latency, the worst executions with their reasoning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use ledger_core::{Seq, Timestamp};
use ledger_domain::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn ms(n: i64) -> Timestamp {
    Timestamp::from_nanos(1_767_571_200_000_000_000 + n * 1_000_000)
}

fn decision(id: &str, sym: &str, bid: &str, ask: &str, last: &str, at: i64) -> At<Decision> {
    At {
        seq: Seq::new(at as u64),
        time: ms(at),
        event: Decision {
            decision_id: id.into(),
            symbol: sym.into(),
            reasoning: vec![format!("why {id}")],
            market: MarketSnapshot {
                bid: d(bid),
                ask: d(ask),
                last: d(last),
                ..Default::default()
            },
            ..Default::default()
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn exec(
    order: &str,
    dec: &str,
    sym: &str,
    side: Side,
    status: ExecutionStatus,
    req: &str,
    filled: &str,
    price: Option<&str>,
    error: Option<&str>,
    at: i64,
) -> At<Execution> {
    At {
        seq: Seq::new(at as u64),
        time: ms(at),
        event: Execution {
            order_id: order.into(),
            decision_id: dec.into(),
            symbol: sym.into(),
            side,
            status,
            requested_qty: d(req),
            filled_qty: d(filled),
            avg_price: price.map(d),
            latency_us: 100,
            error: error.map(str::to_owned),
            ..Default::default()
        },
    }
}

fn fixture() -> (HashMap<DecisionId, At<Decision>>, Vec<At<Execution>>) {
    use ExecutionStatus::*;
    use Side::*;
    let decisions: HashMap<DecisionId, At<Decision>> = [
        decision("D1", "BTC", "99", "101", "100.5", 0),
        decision("D2", "ETH", "199", "201", "200", 10),
        decision("D3", "ETH", "199", "201", "200", 20),
        decision("D4", "BTC", "99", "101", "100", 30),
    ]
    .into_iter()
    .map(|d| (d.event.decision_id.clone(), d))
    .collect();
    let executions = vec![
        // A buy 1.5 above the mid of 100: costs 150 bps, 3.00 on 2.
        exec(
            "O1",
            "D1",
            "BTC",
            Buy,
            Filled,
            "2",
            "2",
            Some("101.5"),
            None,
            250,
        ),
        // A sell 1 below the mid of 200: costs 50 bps.
        exec(
            "O2",
            "D2",
            "ETH",
            Sell,
            Filled,
            "1",
            "1",
            Some("199"),
            None,
            20,
        ),
        // A sell 2 above the mid: earns, -100 bps; partly filled.
        exec(
            "O3",
            "D3",
            "ETH",
            Sell,
            PartiallyFilled,
            "4",
            "1",
            Some("202"),
            None,
            70,
        ),
        exec(
            "O4",
            "D4",
            "BTC",
            Buy,
            Rejected,
            "1",
            "0",
            None,
            Some("insufficient margin"),
            31,
        ),
        exec("O5", "D4", "BTC", Buy, Cancelled, "1", "0", None, None, 32),
        // A fill whose decision is not in the log.
        exec(
            "O6",
            "D9",
            "BTC",
            Buy,
            Filled,
            "1",
            "1",
            Some("100"),
            None,
            40,
        ),
    ];
    (decisions, executions)
}

#[test]
fn slippage_is_signed_so_that_positive_costs_money() {
    assert!((slippage_bps(Side::Buy, d("101"), d("100")).unwrap() - 100.0).abs() < 1e-9);
    assert!((slippage_bps(Side::Sell, d("99"), d("100")).unwrap() - 100.0).abs() < 1e-9);
    assert!((slippage_bps(Side::Buy, d("99"), d("100")).unwrap() + 100.0).abs() < 1e-9);
    assert!((slippage_bps(Side::Sell, d("101"), d("100")).unwrap() + 100.0).abs() < 1e-9);
    assert_eq!(slippage_bps(Side::Buy, d("1"), Decimal::ZERO), None);
}

#[test]
fn execution_figures_by_hand() {
    let (decisions, executions) = fixture();
    let r = ExecutionReport::compute(&decisions, &executions, &ReportFilter::default());
    let t = &r.total;
    assert_eq!((t.orders, t.filled, t.partially_filled), (6, 3, 1));
    assert_eq!((t.rejected, t.cancelled), (1, 1));
    // Filled 2 + 1 + 1 + 1 of 2 + 1 + 4 + 1 + 1 + 1 requested.
    assert!((t.fill_rate_fraction.unwrap() - 5.0 / 10.0).abs() < 1e-12);
    assert!((t.rejection_rate_fraction.unwrap() - 1.0 / 6.0).abs() < 1e-12);
    assert!((t.cancel_rate_fraction.unwrap() - 1.0 / 6.0).abs() < 1e-12);
    assert_eq!(t.rejection_reasons["insufficient margin"], 1);
    assert_eq!(t.cancel_reasons["(no reason given)"], 1);
    assert_eq!((t.measured_fills, t.unmeasured_fills), (3, 1));
    // Against the mid: 150, 50, -100 bps.
    let mid = &t.slippage_mid_bps;
    assert!((mid.mean.unwrap() - 100.0 / 3.0).abs() < 1e-9);
    assert!((mid.median.unwrap() - 50.0).abs() < 1e-9);
    assert!((mid.max.unwrap() - 150.0).abs() < 1e-9);
    // Quantity-weighted: (150 x 2 + 50 - 100) / 4.
    assert!((t.weighted_slippage_mid_bps.unwrap() - 62.5).abs() < 1e-9);
    // Cost: (101.5 - 100) x 2 + (200 - 199) x 1 + (200 - 202) x 1 = 2.
    assert_eq!(t.slippage_cost, d("2"));
    // Against the last price: 1 / 100.5, 1 / 200, -2 / 200.
    let last = &t.slippage_last_bps;
    let want = (1.0 / 100.5 * 1e4 + 50.0 - 100.0) / 3.0;
    assert!((last.mean.unwrap() - want).abs() < 1e-9);
    // Decision to fill: 250, 10, 50 ms.
    assert_eq!(t.decision_to_fill_us.max, Some(250_000.0));
    assert_eq!(t.decision_to_fill_us.median, Some(50_000.0));
    assert_eq!(t.venue_latency_us.mean, Some(100.0));
    // Per symbol.
    let eth = &r.by_symbol[&Symbol::from("ETH")];
    assert_eq!(eth.orders, 2);
    assert!((eth.fill_rate_fraction.unwrap() - 2.0 / 5.0).abs() < 1e-12);
    assert_eq!(r.by_symbol[&Symbol::from("BTC")].rejected, 1);
    // The worst first, with its reasoning.
    assert_eq!(r.worst.len(), 3);
    assert_eq!(r.worst[0].order_id, OrderId::from("O1"));
    assert_eq!(r.worst[0].mid, d("100"));
    assert_eq!(r.worst[0].slippage_cost, d("3"));
    assert_eq!(r.worst[0].reasoning, vec!["why D1".to_owned()]);
    assert_eq!(r.worst[2].order_id, OrderId::from("O3"));
    assert_eq!(r.fills_mid_bps.len(), 3);
}

#[test]
fn the_window_and_symbols_select_executions() {
    let (decisions, executions) = fixture();
    let r = ExecutionReport::compute(
        &decisions,
        &executions,
        &ReportFilter {
            from: Some(ms(30)),
            symbols: vec!["BTC".into()],
            ..ReportFilter::default()
        },
    );
    // O1 (250 ms), O4, O5, O6.
    assert_eq!(r.total.orders, 4);
    assert_eq!(r.total.measured_fills, 1);
}
