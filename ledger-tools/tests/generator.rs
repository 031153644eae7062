//! The generated session is realistic enough to report on: every fill has
//! an execution and a decision behind it, position snapshots record the
//! symbol's net position, and `over_days` spreads it over days.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use ledger_domain::*;
use ledger_tools::sim::{Generator, DEMO_START};

#[test]
fn every_fill_has_an_execution_and_a_decision_and_snapshots_are_net() {
    let events: Vec<_> = Generator::new("g", 5, DEMO_START).take(20_000).collect();
    let mut decisions = HashSet::new();
    let mut executed: HashMap<OrderId, DecisionId> = HashMap::new();
    let mut p = Projections::new();
    let (mut fills, mut snapshots) = (0, 0);
    for (i, (t, e)) in events.iter().enumerate() {
        p.apply(
            ledger_core::Seq::new(i as u64 + 1),
            ledger_core::ChainHash::from_bytes([0; 32]),
            *t,
            e.clone(),
        );
        match e {
            Event::Decision(d) => {
                decisions.insert(d.decision_id.clone());
            }
            Event::Execution(x) => {
                assert!(decisions.contains(&x.decision_id), "{x:?}");
                executed.insert(x.order_id.clone(), x.decision_id.clone());
            }
            Event::TradeOpened(o) => {
                assert!(executed.contains_key(o.order_id.as_ref().unwrap()));
            }
            Event::TradeFilled(f) => {
                fills += 1;
                assert!(executed.contains_key(f.order_id.as_ref().unwrap()), "{f:?}");
            }
            Event::TradeClosed(c) => {
                assert!(executed.contains_key(c.order_id.as_ref().unwrap()));
            }
            Event::PositionSnapshot(s) => {
                snapshots += 1;
                // The symbol's net position over its open trades.
                let want = p
                    .open_trades()
                    .into_iter()
                    .filter(|t| t.symbol == s.symbol)
                    .map(|t| t.open_qty.checked_mul(t.direction.sign()).unwrap())
                    .fold(Decimal::ZERO, |a, b| a.checked_add(b).unwrap());
                assert_eq!(s.qty, want, "snapshot {i} of {}", s.symbol);
            }
            _ => {}
        }
    }
    assert!(p.unfolded.is_empty());
    assert!(fills > 100 && snapshots > 1000, "{fills} {snapshots}");
}

#[test]
fn over_days_spreads_the_session() {
    let n = 20_000u64;
    let events: Vec<_> = Generator::new("g", 5, DEMO_START)
        .over_days(30, n)
        .take(n as usize)
        .collect();
    let span = events.last().unwrap().0.as_nanos() - events[0].0.as_nanos();
    let days = span as f64 / 86_400e9;
    assert!((20.0..40.0).contains(&days), "{days}");
}

/// Every instrument, from BTC at 40,000 to ADA at 0.45, fills on a fine
/// enough price grid to show its slippage (positive on average, a few bps
/// against the decision's mid), pays fees in proportion to its notional,
/// and makes or loses money beyond its fees; the same seed gives the same
/// session.
#[test]
fn every_instrument_has_plausible_slippage_and_pnl_beyond_fees() {
    let events: Vec<_> = Generator::new("g", 9, DEMO_START).take(40_000).collect();
    let again: Vec<_> = Generator::new("g", 9, DEMO_START).take(40_000).collect();
    assert_eq!(events, again, "same seed, same session");
    let mut mids: HashMap<DecisionId, Decimal> = HashMap::new();
    // Per symbol: slippage in bps of every fill, fees / notional.
    let mut slip: HashMap<Symbol, Vec<f64>> = HashMap::new();
    let mut fee_bps: HashMap<Symbol, Vec<f64>> = HashMap::new();
    let mut p = Projections::new();
    for (i, (t, e)) in events.iter().enumerate() {
        p.apply(
            ledger_core::Seq::new(i as u64 + 1),
            ledger_core::ChainHash::from_bytes([0; 32]),
            *t,
            e.clone(),
        );
        match e {
            Event::Decision(d) => {
                let m = &d.market;
                let mid = m.bid.checked_add(m.ask).unwrap();
                mids.insert(
                    d.decision_id.clone(),
                    mid.checked_div(Decimal::from_int(2)).unwrap(),
                );
            }
            Event::Execution(x) if x.filled_qty.is_positive() => {
                let price = x.avg_price.unwrap();
                let s = slippage_bps(x.side, price, mids[&x.decision_id]).unwrap();
                slip.entry(x.symbol.clone()).or_default().push(s);
                let notional = price.checked_mul(x.filled_qty).unwrap().to_f64();
                fee_bps
                    .entry(x.symbol.clone())
                    .or_default()
                    .push(x.fees.to_f64() / notional * 1e4);
            }
            _ => {}
        }
    }
    assert_eq!(slip.len(), 24);
    for (sym, s) in &slip {
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        assert!(
            (1.5..3.0).contains(&mean),
            "{sym}: mean slippage {mean} bps"
        );
        let zero = s.iter().filter(|x| x.abs() < 1e-9).count();
        assert!(
            zero * 10 < s.len(),
            "{sym}: {zero} of {} fills at the mid",
            s.len()
        );
        // Fees: 1 bp of the notional, to the cent.
        for f in &fee_bps[sym] {
            assert!((f - 1.0).abs() < 0.05, "{sym}: fees {f} bps");
        }
    }
    let r = PerformanceReport::compute(&p, &ReportFilter::default()).unwrap();
    for (sym, f) in &r.by_symbol {
        // Gross P&L dwarfs the fees, for every instrument.
        let share = f.fees_to_gross_fraction.unwrap();
        assert!(share < 0.1, "{sym}: fees are {share} of gross P&L");
    }
}
