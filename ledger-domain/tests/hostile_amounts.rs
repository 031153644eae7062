//! Hostile amounts: what validation accepts always folds, and money
//! arithmetic over a log that was never validated is checked everywhere
//! (an overflow is an error naming the trade, never a panic, a wrap or a
//! trade silently missing from the views).
#![allow(clippy::unwrap_used, clippy::expect_used, unused_must_use)]

use ledger_core::{Durability, Entry, Timestamp, Writer, WriterOptions};
use ledger_domain::*;

fn opts() -> WriterOptions {
    WriterOptions::default().durability(Durability::NoSync)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn opened(id: &str, qty: &str, price: &str, fees: &str) -> TradeOpened {
    TradeOpened {
        session: "s".into(),
        trade_id: id.into(),
        symbol: "BTC-USD".into(),
        direction: Direction::Long,
        qty: d(qty),
        price: d(price),
        fees: d(fees),
        ..Default::default()
    }
}

fn closed(id: &str, price: &str, fees: &str, pnl: &str) -> TradeClosed {
    TradeClosed {
        session: "s".into(),
        trade_id: id.into(),
        symbol: "BTC-USD".into(),
        price: d(price),
        fees: d(fees),
        realized_pnl: d(pnl),
        ..Default::default()
    }
}

/// Writes `events` through the plain engine writer: no validation at all,
/// as a log written by another tool (or by hand) would be.
fn write_unvalidated(dir: &std::path::Path, events: &[Event]) {
    let mut w = Writer::create(dir, opts()).unwrap();
    let mut buf = Vec::new();
    for (i, e) in events.iter().enumerate() {
        buf.clear();
        let (kind, version) = encode(e, &mut buf).unwrap();
        let at = Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64);
        w.append(&Entry::new(kind, version, &buf).at(at)).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn a_validated_trade_with_the_largest_amounts_is_in_the_views() {
    // The trade: qty 1e13 × price 1e13. Each amount is inside the
    // bound; the cost (1e26) used to overflow in the fold, so the trade was
    // stored and exported but missing from replay.
    let dir = tempfile::tempdir().unwrap();
    let mut l = TradingLedger::open(dir.path(), opts()).unwrap();
    l.append(&Event::TradeOpened(opened(
        "T2",
        "10000000000000",
        "10000000000000",
        "0",
    )))
    .unwrap();
    let t = &l.projections().trades[&TradeId::from("T2")];
    assert_eq!(t.cost_basis, d("100000000000000000000000000"));
    assert!(l.projections().unfolded.is_empty());
    // At the bound itself: 1e15 × 1e15 = 1e30 still fits.
    l.append(&Event::TradeOpened(opened(
        "T3",
        "1000000000000000",
        "1000000000000000",
        "0",
    )))
    .unwrap();
    assert_eq!(l.projections().open_trades().len(), 2);
    l.close().unwrap();

    // A fresh fold of the log gives the same views.
    let reopened = TradingLedger::open(dir.path(), opts()).unwrap();
    assert_eq!(reopened.projections().open_trades().len(), 2);
}

#[test]
fn a_fill_whose_sums_leave_the_range_is_refused_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = TradingLedger::open(dir.path(), opts()).unwrap();
    l.append(&Event::TradeOpened(opened(
        "T1",
        "1000000000000000",
        "1000000000000000",
        "0",
    )))
    .unwrap();
    let before = l.writer().next_seq();
    // Doubling the position: the value avg × qty + price × fill is 2e30,
    // beyond the exact range (1.7e30).
    let fill = TradeFilled {
        session: "s".into(),
        trade_id: "T1".into(),
        symbol: "BTC-USD".into(),
        effect: FillEffect::Increase,
        qty: d("1000000000000000"),
        price: d("1000000000000000"),
        fees: d("0"),
        ..Default::default()
    };
    let err = l.append(&Event::TradeFilled(fill)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("trade T1") && msg.contains("overflow"),
        "{msg}"
    );
    assert_eq!(l.writer().next_seq(), before, "nothing appended");
    let t = &l.projections().trades[&TradeId::from("T1")];
    assert_eq!(t.open_qty, d("1000000000000000"), "the trade is unchanged");
}

#[test]
fn a_report_over_an_unvalidated_log_with_overflowing_sums_is_an_error_naming_the_trade() {
    // The log: fees of -1e30 and a matching P&L, written without
    // validation; `report` panicked in the gross-profit sum.
    let dir = tempfile::tempdir().unwrap();
    let huge = "1000000000000000000000000000000"; // 1e30
    let events = vec![
        Event::TradeOpened(opened("T1", "1", "100", &format!("-{huge}"))),
        Event::TradeClosed(closed("T1", "100", "0", huge)),
        Event::TradeOpened(opened("T2", "1", "100", &format!("-{huge}"))),
        Event::TradeClosed(closed("T2", "100", "0", huge)),
    ];
    write_unvalidated(dir.path(), &events);
    let reader = ledger_core::Reader::open(dir.path()).unwrap();
    let p = replay(&reader, &ReplayOptions::default()).unwrap();
    assert_eq!(p.closed_trades().len(), 2, "each trade folds on its own");
    let err = PerformanceReport::compute(&p, &ReportFilter::default()).unwrap_err();
    assert_eq!(err.trade, TradeId::from("T2"));
    assert_eq!(err.figure, "gross profit");
    assert!(err.to_string().contains("trade T2"), "{err}");
    let err = total_net_pnl(&p.closed_trades()).unwrap_err();
    assert_eq!(err.trade, TradeId::from("T2"));
}

#[test]
fn events_the_fold_cannot_apply_are_listed_never_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let max = Decimal::from_units(i128::MAX).to_string();
    let events = vec![
        // price × qty beyond the range: the trade cannot open.
        Event::TradeOpened(opened("T1", &max, "2", "0")),
        // A close of a trade that was never opened.
        Event::TradeClosed(closed("T9", "1", "0", "0")),
        Event::TradeOpened(opened("T2", "1", "100", "0")),
        // A duplicate open, and a close with a made-up P&L.
        Event::TradeOpened(opened("T2", "1", "100", "0")),
        Event::TradeClosed(closed("T2", "110", "0", "1000000")),
    ];
    write_unvalidated(dir.path(), &events);
    let reader = ledger_core::Reader::open(dir.path()).unwrap();
    let p = replay(&reader, &ReplayOptions::default()).unwrap();
    let unfolded: Vec<(u64, EventKind)> =
        p.unfolded.iter().map(|u| (u.seq.get(), u.kind)).collect();
    assert_eq!(
        unfolded,
        vec![
            (1, EventKind::TradeOpened),
            (2, EventKind::TradeClosed),
            (4, EventKind::TradeOpened),
            (5, EventKind::TradeClosed),
        ]
    );
    assert!(
        p.unfolded[0].reason.contains("overflows"),
        "{:?}",
        p.unfolded[0]
    );
    assert!(
        p.unfolded[3].reason.contains("does not match"),
        "{:?}",
        p.unfolded[3]
    );
    assert_eq!(p.open_trades().len(), 1, "T2 stays open");
    // Validation refuses each of them on a validated ledger.
    let v = tempfile::tempdir().unwrap();
    let mut l = TradingLedger::open(v.path(), opts()).unwrap();
    assert!(l.append(&events[0]).is_err());
    assert!(l.append(&events[1]).is_err());
    l.append(&events[2]).unwrap();
    assert!(l.append(&events[3]).is_err());
    assert!(l.append(&events[4]).is_err());
}

#[test]
fn decimal_arithmetic_at_the_extremes_never_panics() {
    let extremes = [
        Decimal::from_units(i128::MAX),
        Decimal::from_units(i128::MIN),
        Decimal::from_units(i128::MIN + 1),
        Decimal::from_units(-1),
        Decimal::ZERO,
        Decimal::ONE,
        Decimal::MINUS_ONE,
    ];
    for a in extremes {
        let _ = (
            a.checked_abs(),
            a.checked_neg(),
            a.to_string(),
            format!("{a:.0}"),
        );
        for b in extremes {
            let _ = (
                a.checked_add(b),
                a.checked_sub(b),
                a.checked_mul(b),
                a.checked_div(b),
            );
        }
    }
}
