//! The trading domain: the demo's figures, validation, schema evolution,
//! projections (incremental = rebuild, replay to k = first k events,
//! snapshot + tail = rebuild), "why did we trade".
#![allow(clippy::unwrap_used, clippy::expect_used, unused_must_use)]

use std::sync::Arc;

use ledger_core::{
    Durability, Entry, Kind, Reader, SchemaVersion, Seq, Timestamp, Writer, WriterOptions,
};
use ledger_domain::codec::legacy::{MetricV1, SystemEventV1};
use ledger_domain::*;
use ledger_tools::sim::{demo_session, Generator, DEMO_START};

fn opts() -> WriterOptions {
    WriterOptions::default()
        .segment_size(64 << 10)
        .durability(Durability::NoSync)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn demo_ledger(dir: &std::path::Path) -> TradingLedger {
    let mut l = TradingLedger::open(dir, opts()).unwrap();
    for (t, e) in demo_session("demo", "", DEMO_START) {
        l.append_at(t, &e).unwrap();
    }
    l
}

#[test]
fn the_demo_report_matches_hand_computed_figures() {
    let dir = tempfile::tempdir().unwrap();
    let l = demo_ledger(dir.path());
    let p = l.projections();
    assert_eq!(p.count(EventKind::PositionSnapshot), 9);
    assert_eq!(p.trades.len(), 3);
    let r = PerformanceReport::compute(p, &ReportFilter::default()).unwrap();
    let t = &r.total;
    assert_eq!((t.trades, t.wins, t.losses), (3, 2, 1));
    assert!((t.win_rate.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(format!("{:.1}", t.win_rate.unwrap() * 100.0), "66.7");
    assert_eq!(t.net_pnl, d("225"));
    assert_eq!(t.gross_profit, d("570"));
    assert_eq!(t.gross_loss, d("345"));
    assert_eq!(t.fees, d("35")); // 6 + 4 + 10, 5 + 5, 2.5 + 2.5
    assert_eq!(t.average_win, Some(d("285")));
    assert_eq!(t.average_loss, Some(d("345")));
    assert_eq!(t.expectancy, Some(d("75")));
    assert!((t.profit_factor.unwrap() - 570.0 / 345.0).abs() < 1e-12);
    // Equity 10000 -> 10280 -> 10570 -> 10225: the drawdown is the loser.
    assert_eq!(r.starting_equity, d("10000"));
    assert_eq!(t.max_drawdown, d("345"));
    assert_eq!(t.max_drawdown_peak, Some(d("10570")));
    assert!((t.max_drawdown_fraction.unwrap() - 345.0 / 10570.0).abs() < 1e-12);
    assert_eq!(t.max_relative_drawdown, d("345"));
    assert_eq!(t.max_relative_drawdown_peak, Some(d("10570")));
    assert!((t.max_relative_drawdown_fraction.unwrap() - 345.0 / 10570.0).abs() < 1e-12);
    assert_eq!(
        t.equity_curve.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![d("10280"), d("10570"), d("10225")]
    );
    // Per-trade returns on cost: 280/20000, 290/25000, -345/10000.
    let rs = [0.014, 0.0116, -0.0345];
    let mean = rs.iter().sum::<f64>() / 3.0;
    let sd = (rs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 2.0).sqrt();
    let down = (0.0345f64 * 0.0345 / 3.0).sqrt();
    assert!((t.per_trade_sharpe.unwrap() - mean / sd).abs() < 1e-12);
    assert!((t.per_trade_sortino.unwrap() - mean / down).abs() < 1e-12);
    assert!(
        (t.per_trade_sharpe.unwrap() - -0.10853).abs() < 1e-4,
        "{:?}",
        t.per_trade_sharpe
    );
    assert!(
        (t.per_trade_sortino.unwrap() - -0.14894).abs() < 1e-4,
        "{:?}",
        t.per_trade_sortino
    );
    // Per symbol, and a window.
    assert_eq!(r.by_symbol[&Symbol::from("SOL-USD")].net_pnl, d("-345"));
    assert_eq!(r.by_symbol[&Symbol::from("BTC-USD")].wins, 1);
    let only_btc = PerformanceReport::compute(
        p,
        &ReportFilter {
            symbols: vec!["BTC-USD".into()],
            ..ReportFilter::default()
        },
    )
    .unwrap();
    assert_eq!(only_btc.total.net_pnl, d("280"));
    let t2_close = p.trades[&TradeId::from("T2")].closed.unwrap().1;
    let until_t2 = PerformanceReport::compute(
        p,
        &ReportFilter {
            to: Some(Timestamp::from_nanos(t2_close.as_nanos() + 1)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(until_t2.total.trades, 2);
    assert_eq!(until_t2.total.net_pnl, d("570"));
    assert_eq!(
        until_t2.total.per_trade_sortino, None,
        "no losing trade, no downside"
    );
}

#[test]
fn why_did_we_trade_goes_from_trade_to_decision() {
    let dir = tempfile::tempdir().unwrap();
    let l = demo_ledger(dir.path());
    let reader = Reader::with_storage(l.writer().storage().clone()).unwrap();
    let p = l.projections();
    let story = p.explain_trade(&"T3".into(), &reader).unwrap().unwrap();
    assert_eq!(story.trade.net_pnl(), Some(d("-345")));
    assert_eq!(story.trade.exit_price, Some(d("96.6")));
    let decision = story.decision.unwrap();
    assert_eq!(decision.event.decision_id, DecisionId::from("D3"));
    assert!(decision.event.reasoning[0].contains("breakout"));
    assert_eq!(decision.event.market.last, d("100"));
    let statuses: Vec<_> = story.executions.iter().map(|e| e.event.status).collect();
    assert_eq!(
        statuses,
        vec![ExecutionStatus::Rejected, ExecutionStatus::Filled]
    );
    assert_eq!(
        p.decisions[&DecisionId::from("D3")].trades,
        vec![TradeId::from("T3")]
    );
    assert!(p.explain_trade(&"T404".into(), &reader).unwrap().is_none());
    let t1 = p.explain_trade(&"T1".into(), &reader).unwrap().unwrap();
    assert_eq!(t1.trade.fills.len(), 3, "two entries and the close");
}

#[test]
fn invalid_events_are_refused_naming_the_field_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = demo_ledger(dir.path());
    let before = l.writer().next_seq();
    let cases: Vec<(Event, &str, &str)> = vec![
        // Control characters in ids and symbols (step 9: a newline or a NUL
        // broke `tail` and CSV output).
        (
            Event::TradeOpened(TradeOpened {
                session: "demo".into(),
                trade_id: "T\n9".into(),
                symbol: "X".into(),
                qty: d("1"),
                price: d("1"),
                ..Default::default()
            }),
            "trade_id",
            "control character",
        ),
        (
            Event::TradeOpened(TradeOpened {
                session: "demo".into(),
                trade_id: "T9".into(),
                symbol: "BTC\0".into(),
                qty: d("1"),
                price: d("1"),
                ..Default::default()
            }),
            "symbol",
            "control character",
        ),
        (
            Event::TradeOpened(TradeOpened {
                session: "demo".into(),
                trade_id: "T9".into(),
                symbol: "".into(),
                qty: d("1"),
                price: d("1"),
                ..Default::default()
            }),
            "symbol",
            "empty",
        ),
        (
            Event::TradeOpened(TradeOpened {
                session: "demo".into(),
                trade_id: "T9".into(),
                symbol: "X".into(),
                qty: d("1"),
                price: d("-5"),
                ..Default::default()
            }),
            "price",
            "positive",
        ),
        (
            Event::Decision(Decision {
                session: "demo".into(),
                decision_id: "D9".into(),
                symbol: "X".into(),
                size: d("1"),
                confidence: d("1.5"),
                market: MarketSnapshot {
                    bid: d("1"),
                    ask: d("1"),
                    last: d("1"),
                    ..Default::default()
                },
                ..Default::default()
            }),
            "confidence",
            "between 0 and 1",
        ),
        (
            Event::TradeClosed(TradeClosed {
                session: "demo".into(),
                trade_id: "T404".into(),
                symbol: "X".into(),
                price: d("1"),
                ..Default::default()
            }),
            "trade_id",
            "no trade T404",
        ),
        (
            Event::TradeClosed(TradeClosed {
                session: "demo".into(),
                trade_id: "T1".into(),
                symbol: "BTC-USD".into(),
                price: d("1"),
                ..Default::default()
            }),
            "trade_id",
            "already closed",
        ),
        (
            Event::TradeOpened(TradeOpened {
                session: "demo".into(),
                trade_id: "T1".into(),
                symbol: "X".into(),
                qty: d("1"),
                price: d("1"),
                ..Default::default()
            }),
            "trade_id",
            "already exists",
        ),
        (
            Event::TradeFilled(TradeFilled {
                session: "demo".into(),
                trade_id: "T1".into(),
                symbol: "ETH-USD".into(),
                qty: d("1"),
                price: d("1"),
                ..Default::default()
            }),
            "symbol",
            "is on BTC-USD",
        ),
        (
            Event::Metric(Metric {
                session: "".into(),
                name: "x".into(),
                ..Default::default()
            }),
            "session",
            "empty",
        ),
    ];
    for (event, field, reason) in cases {
        let err = l.append(&event).unwrap_err();
        match &err {
            DomainError::Invalid(v) => {
                assert_eq!(v.field, field, "{err}");
                assert!(v.reason.contains(reason), "{err}");
            }
            other => panic!("expected a validation error, got {other}"),
        }
        assert!(err.to_string().contains(field));
    }
    let ok = Event::Metric(Metric {
        session: "demo".into(),
        name: "x".into(),
        ..Default::default()
    });
    let err = l.append_at(Timestamp::from_nanos(-1), &ok).unwrap_err();
    assert!(
        matches!(&err, DomainError::Invalid(v) if v.field == "time"),
        "{err}"
    );
    assert_eq!(l.writer().next_seq(), before, "nothing was appended");
    // A wrong P&L on a close is refused with the computed one.
    let mut l2 = TradingLedger::open(tempfile::tempdir().unwrap().path(), opts()).unwrap();
    l2.append(&Event::TradeOpened(TradeOpened {
        session: "s".into(),
        trade_id: "A".into(),
        symbol: "X".into(),
        qty: d("2"),
        price: d("10"),
        ..Default::default()
    }))
    .unwrap();
    let err = l2
        .append(&Event::TradeClosed(TradeClosed {
            session: "s".into(),
            trade_id: "A".into(),
            symbol: "X".into(),
            price: d("11"),
            realized_pnl: d("5"),
            ..Default::default()
        }))
        .unwrap_err();
    assert!(err.to_string().contains("realized_pnl"), "{err}");
    assert!(err.to_string().contains("does not match 2"), "{err}");
}

#[test]
fn old_schema_versions_are_upcast_and_unknown_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), opts()).unwrap();
    let v1_system = postcard::to_allocvec(&SystemEventV1 {
        session: "old".into(),
        component: "router".into(),
        level: Level::Warn,
        message: "queue deep".into(),
    })
    .unwrap();
    let v1_metric = postcard::to_allocvec(&MetricV1 {
        session: "old".into(),
        metric: "fill_ratio".into(),
        value: d("0.93"),
    })
    .unwrap();
    let sys = Kind::new(EventKind::System.code());
    let met = Kind::new(EventKind::Metric.code());
    let _ = w
        .append(&Entry::new(sys, SchemaVersion::new(1), &v1_system))
        .unwrap();
    let _ = w
        .append(&Entry::new(met, SchemaVersion::new(1), &v1_metric))
        .unwrap();
    w.close().unwrap();

    let l = TradingLedger::open(dir.path(), opts()).unwrap();
    let p = l.projections();
    assert_eq!(
        p.metrics["fill_ratio"].latest(),
        Some(d("0.93")),
        "renamed field upcast"
    );
    assert_eq!(p.system_by_level[&Level::Warn], 1);
    let records: Vec<_> = Reader::open(dir.path())
        .unwrap()
        .cursor()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let e = decode(records[0].kind, records[0].version, &records[0].payload).unwrap();
    assert_eq!(
        e,
        Event::System(SystemEvent {
            session: "old".into(),
            component: "router".into(),
            level: Level::Warn,
            message: "queue deep".into(),
            fields: vec![],
        })
    );
    let e = decode(records[1].kind, records[1].version, &records[1].payload).unwrap();
    assert!(matches!(e, Event::Metric(m) if m.name == "fill_ratio" && m.tags.is_empty()));

    assert!(matches!(
        decode(Kind::new(999), SchemaVersion::new(1), b""),
        Err(DecodeError::UnknownKind { code: 999 })
    ));
    let newer = decode(met, SchemaVersion::new(3), &v1_metric).unwrap_err();
    assert!(matches!(
        newer,
        DecodeError::NewerVersion {
            found: 3,
            current: 2,
            ..
        }
    ));
    assert!(newer.to_string().contains("upgrade"), "{newer}");
    for cut in 0..v1_system.len() {
        assert!(
            decode(sys, SchemaVersion::new(1), &v1_system[..cut]).is_err(),
            "cut {cut}"
        );
    }
    assert!(decode(sys, SchemaVersion::new(2), &[0xff; 40]).is_err());
}

#[test]
fn an_unknown_kind_in_the_log_is_a_clear_error_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), opts()).unwrap();
    let _ = w
        .append(&Entry::new(Kind::new(77), SchemaVersion::new(1), b"?"))
        .unwrap();
    w.close().unwrap();
    let err = TradingLedger::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, DomainError::Decode { seq, error: DecodeError::UnknownKind { code: 77 } } if *seq == Seq::new(1)),
        "{err}"
    );
    assert!(err.to_string().contains("record 1"), "{err}");
}

fn generate(l: &mut TradingLedger, n: usize, seed: u64) {
    for (t, e) in Generator::new("gen", seed, DEMO_START).take(n) {
        l.append_at(t, &e)
            .unwrap_or_else(|err| panic!("{err}: {e:?}"));
    }
}

#[test]
fn incremental_projection_equals_a_full_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = TradingLedger::open(dir.path(), opts()).unwrap();
    generate(&mut l, 4000, 7);
    let incremental = l.projections().clone();
    assert!(incremental.trades.len() > 100);
    assert!(incremental
        .trades
        .values()
        .any(|t| t.status == TradeStatus::Closed));
    l.close().unwrap();
    let rebuilt = TradingLedger::open(dir.path(), opts()).unwrap();
    assert_eq!(rebuilt.open_report().folded, 4000);
    assert_eq!(rebuilt.projections(), &incremental);
}

#[test]
fn replay_to_k_equals_folding_the_first_k_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = TradingLedger::open(dir.path(), opts()).unwrap();
    let mut snapshots = Vec::new();
    let events: Vec<_> = Generator::new("gen", 3, DEMO_START).take(1500).collect();
    for (i, (t, e)) in events.iter().enumerate() {
        l.append_at(*t, e).unwrap();
        if [0usize, 1, 99, 700, 1499].contains(&i) {
            snapshots.push((Seq::new(i as u64 + 1), l.projections().clone()));
        }
    }
    l.close().unwrap();
    let reader = Reader::open(dir.path()).unwrap();
    for (k, expected) in snapshots {
        let p = replay(
            &reader,
            &ReplayOptions {
                until_seq: Some(k),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(p, expected, "replay to {k}");
        let by_time = replay(
            &reader,
            &ReplayOptions {
                until_time: Some(events[k.get() as usize - 1].0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(by_time, expected, "replay to the time of {k}");
    }
}

#[test]
fn replay_of_one_session_folds_only_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = TradingLedger::open(dir.path(), opts()).unwrap();
    let a = demo_session("A", "", DEMO_START);
    let b = demo_session("B", "b-", DEMO_START);
    for ((ta, ea), (_, eb)) in a.iter().zip(&b) {
        l.append_at(*ta, ea).unwrap();
        if !matches!(
            eb,
            Event::TradeOpened(_) | Event::TradeFilled(_) | Event::TradeClosed(_)
        ) {
            l.append_at(*ta, eb).unwrap();
        }
    }
    l.close().unwrap();
    let reader = Reader::open(dir.path()).unwrap();
    let only_b = replay(
        &reader,
        &ReplayOptions {
            session: Some("B".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(only_b.sessions.len(), 1);
    assert!(only_b.trades.is_empty());
    assert_eq!(only_b.count(EventKind::PositionSnapshot), 9);
}

#[test]
fn snapshot_plus_tail_equals_a_full_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let key = SnapshotKey::from_bytes([42; 32]);
    let mut l = TradingLedger::open_with_snapshots(dir.path(), opts(), key.clone()).unwrap();
    generate(&mut l, 3000, 11);
    let name = l.save_snapshot().unwrap();
    assert_eq!(name, snapshot::file_name(Seq::new(3000)));
    let events: Vec<_> = Generator::new("gen", 11, DEMO_START)
        .skip(3000)
        .take(2000)
        .collect();
    // The generator continues its own session; appending the tail of the
    // same stream keeps every trade rule satisfied.
    for (t, e) in events {
        l.append_at(t, &e).unwrap();
    }
    let full = l.projections().clone();
    l.close().unwrap();
    let reopened = TradingLedger::open_with_snapshots(dir.path(), opts(), key).unwrap();
    let report = reopened.open_report();
    assert_eq!(report.snapshot, Some(Seq::new(3000)));
    assert_eq!(report.folded, 2000, "only the tail is folded");
    assert!(report.rejected_snapshots.is_empty());
    assert_eq!(reopened.projections(), &full);
    drop(reopened);
    // Without the key, snapshot files are not read: the whole log is folded.
    let plain = TradingLedger::open(dir.path(), opts()).unwrap();
    assert_eq!(plain.open_report().snapshot, None);
    assert_eq!(plain.open_report().folded, 5000);
    assert_eq!(plain.projections(), &full);
    assert!(matches!(
        plain.save_snapshot(),
        Err(DomainError::Snapshot(SnapshotError::NoKey))
    ));
}

#[test]
fn a_snapshot_bound_to_another_chain_is_ignored() {
    let root = tempfile::tempdir().unwrap();
    let a = root.path().join("a");
    let b = root.path().join("b");
    let mut la = TradingLedger::open(&a, opts()).unwrap();
    generate(&mut la, 100, 5);
    la.close().unwrap();
    // b: a copy of a that diverges.
    std::fs::create_dir(&b).unwrap();
    for e in std::fs::read_dir(&a).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), b.join(e.file_name())).unwrap();
    }
    let key = SnapshotKey::from_bytes([42; 32]);
    let mut la = TradingLedger::open_with_snapshots(&a, opts(), key.clone()).unwrap();
    la.append(&Event::Metric(Metric {
        session: "x".into(),
        name: "in_a".into(),
        ..Default::default()
    }))
    .unwrap();
    let snap = la.save_snapshot().unwrap();
    la.close().unwrap();
    let mut lb = TradingLedger::open(&b, opts()).unwrap();
    lb.append(&Event::Metric(Metric {
        session: "x".into(),
        name: "in_b".into(),
        ..Default::default()
    }))
    .unwrap();
    let expected = lb.projections().clone();
    lb.close().unwrap();
    std::fs::copy(a.join(&snap), b.join(&snap)).unwrap();
    let lb = TradingLedger::open_with_snapshots(&b, opts(), key.clone()).unwrap();
    let report = lb.open_report();
    assert_eq!(report.snapshot, None);
    assert_eq!(report.rejected_snapshots.len(), 1);
    assert!(
        matches!(
            &report.rejected_snapshots[0].1,
            SnapshotError::Invalid {
                seq: Some(_),
                defect: SnapshotDefect::OtherChain { .. },
                ..
            }
        ),
        "{:?}",
        report.rejected_snapshots
    );
    assert!(report.rejected_snapshots[0]
        .1
        .to_string()
        .contains("chain hash"));
    assert_eq!(lb.projections(), &expected, "rebuilt from scratch");
    assert!(lb.projections().metrics.contains_key("in_b"));

    // A damaged snapshot is ignored too.
    drop(lb);
    let mut bytes = std::fs::read(b.join(&snap)).unwrap();
    bytes[100] ^= 1;
    std::fs::write(b.join(&snap), bytes).unwrap();
    let lb = TradingLedger::open_with_snapshots(&b, opts(), key).unwrap();
    let (name, why) = &lb.open_report().rejected_snapshots[0];
    assert_eq!(name, &snap);
    assert!(
        matches!(why, SnapshotError::Invalid { path, defect: SnapshotDefect::Unauthenticated, .. } if path.ends_with(&snap)),
        "{why:?}"
    );
    assert!(why.to_string().contains("not authenticated"), "{why}");
}

#[test]
fn every_event_has_a_json_form_that_round_trips() {
    let kinds: std::collections::BTreeSet<_> = demo_session("demo", "", DEMO_START)
        .into_iter()
        .map(|(_, e)| {
            let json = serde_json::to_string(&e).unwrap();
            assert!(
                json.starts_with(&format!("{{\"kind\":\"{}\"", e.kind().name())),
                "{json}"
            );
            let back: Event = serde_json::from_str(&json).unwrap();
            assert_eq!(back, e);
            e.kind()
        })
        .collect();
    assert_eq!(
        kinds.len(),
        EventKind::ALL.len(),
        "the demo shows every kind"
    );
    let err = serde_json::from_str::<Event>(
        r#"{"kind":"metric","data":{"session":"s","name":"x","value":"1","tags":[],"extra":1}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("extra"), "{err}");
}

#[test]
fn the_session_logger_needs_one_line_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let handle = TradingLedger::open(dir.path(), opts())
        .unwrap()
        .into_handle();
    let log = handle.session("s-42");
    let r1 = log.start("bot 1", "cfg", d("5000")).unwrap();
    log.metric("latency_us", d("12.5"), vec![]).unwrap();
    log.system(Level::Error, "feed", "gap detected", vec![])
        .unwrap();
    log.risk(RiskEvent {
        rule: "max_loss".into(),
        action: "halt".into(),
        ..Default::default()
    })
    .unwrap();
    log.audit("bob", "halted trading", "s-42", "feed gap")
        .unwrap();
    let r2 = log.end("halted").unwrap();
    assert_eq!(r2.seq.get(), r1.seq.get() + 5);
    handle.with(|l| {
        let p = l.projections();
        let s = &p.sessions[&SessionId::from("s-42")];
        assert_eq!(s.events, 6);
        assert!(s.started.is_some() && s.ended.is_some());
        assert_eq!(p.audit[0].event.who, "bob");
    });
    let _ = Arc::new(());
}
