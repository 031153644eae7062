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
