//! Rebuilding the projections at memory speed: the borrowed views decode
//! exactly what the owned decoder decodes, and the threaded fold gives the
//! sequential fold's views, counts and errors, on generated sessions and on
//! logs with malformed, unfoldable and old-version records mid-log.
#![allow(clippy::unwrap_used, clippy::expect_used, unused_must_use)]

use ledger_core::{Durability, Entry, Kind, Reader, SchemaVersion, Seq, Writer, WriterOptions};
use ledger_domain::codec::legacy::{MetricV1, SystemEventV1};
use ledger_domain::replay::fold_cursor_with;
use ledger_domain::*;
use ledger_tools::sim::{Generator, DEMO_START};

fn opts() -> WriterOptions {
    WriterOptions::default()
        .segment_size(256 << 10)
        .durability(Durability::NoSync)
}

/// A record to write as it is, without validation.
enum Rec {
    Event(Box<Event>),
    Raw(Kind, u16, Vec<u8>),
}

/// Writes `n` generated events through the plain engine writer, with
/// `extra` records inserted before the event at each given index.
fn write_log(dir: &std::path::Path, n: usize, seed: u64, extra: Vec<(usize, Rec)>) {
    let mut w = Writer::create(dir, opts()).unwrap();
    let mut extra = extra.into_iter().peekable();
    let mut buf = Vec::new();
    let mut put = |w: &mut Writer, t, rec: Rec| {
        let (kind, version, bytes) = match rec {
            Rec::Event(e) => {
                let (k, v) = encode(&e, &mut buf).unwrap();
                (k, v, buf.clone())
            }
            Rec::Raw(k, v, b) => (k, SchemaVersion::new(v), b),
        };
        w.append(&Entry::new(kind, version, &bytes).at(t)).unwrap();
    };
    for (i, (t, e)) in Generator::new("gen", seed, DEMO_START).take(n).enumerate() {
        while extra.peek().is_some_and(|(at, _)| *at == i) {
            let (_, rec) = extra.next().unwrap();
            put(&mut w, t, rec);
        }
        put(&mut w, t, Rec::Event(Box::new(e)));
    }
    w.close().unwrap();
}

const ALL: [Decoding; 5] = [
    Decoding::Sequential,
    Decoding::Threads(1),
    Decoding::Threads(2),
    Decoding::Threads(5),
    Decoding::Auto,
];

/// Folds the whole log each way: the views (also after an error), the
/// count folded, and the outcome's text.
fn fold_each_way(dir: &std::path::Path, opts: &ReplayOptions) -> Vec<(Projections, String)> {
    let reader = Reader::open(dir).unwrap();
    ALL.iter()
        .map(|&d| {
            let mut p = Projections::new();
            let outcome = fold_cursor_with(reader.cursor().unwrap(), &mut p, opts, d);
            let outcome = match outcome {
                Ok(n) => format!("folded {n}"),
                Err(e) => format!("error {e:?}"),
            };
            (p, outcome)
        })
        .collect()
}

fn assert_all_equal(results: &[(Projections, String)]) {
    let (first, first_outcome) = &results[0];
    for (i, (p, outcome)) in results.iter().enumerate().skip(1) {
        assert_eq!(outcome, first_outcome, "{:?}", ALL[i]);
        assert!(p == first, "{:?}: the views differ", ALL[i]);
    }
}

#[test]
fn the_threaded_rebuild_equals_the_sequential_one() {
    let dir = tempfile::tempdir().unwrap();
    // Past Decoding::THREADS_AFTER, so that Auto starts its threads (on a
    // machine with Decoding::AUTO_MIN_CORES).
    let n = Decoding::THREADS_AFTER as usize + 9_000;
    write_log(dir.path(), n, 5, vec![]);
    let results = fold_each_way(dir.path(), &ReplayOptions::default());
    assert_eq!(results[0].1, format!("folded {n}"));
    assert!(results[0].0.trades.len() > 1000);
    assert!(results[0].0.unfolded.is_empty());
    assert_all_equal(&results);

    // Stopping at a record mid-batch, and at a time.
    let until = ReplayOptions {
        until_seq: Some(Seq::new(20_001)),
        ..Default::default()
    };
    let results = fold_each_way(dir.path(), &until);
    assert_eq!(results[0].1, "folded 20001");
    assert_all_equal(&results);
    let t = results[0].0.last.unwrap().2;
    let by_time = ReplayOptions {
        until_time: Some(t),
        ..Default::default()
    };
    let results = fold_each_way(dir.path(), &by_time);
    assert_eq!(results[0].1, "folded 20001");
    assert_all_equal(&results);
}

#[test]
fn the_threaded_rebuild_filters_sessions_like_the_sequential_one() {
    let dir = tempfile::tempdir().unwrap();
    let other = Event::Audit(AuditNote {
        session: "other".into(),
        who: "ops".into(),
        action: "pause".into(),
        target: "engine".into(),
        reason: "test".into(),
    });
    let extra = (0..50)
        .map(|i| (i * 97, Rec::Event(Box::new(other.clone()))))
        .collect();
    write_log(dir.path(), 6000, 8, extra);
    let only = ReplayOptions {
        session: Some("other".into()),
        ..Default::default()
    };
    let results = fold_each_way(dir.path(), &only);
    assert_eq!(results[0].1, "folded 50");
    assert_eq!(results[0].0.audit.len(), 50);
    assert_all_equal(&results);
}

#[test]
fn a_malformed_event_mid_log_stops_every_fold_at_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let decision = Kind::new(EventKind::Decision.code());
    // Record 10_001 (mid-batch): a decision whose payload does not decode.
    write_log(
        dir.path(),
        12_000,
        9,
        vec![(10_000, Rec::Raw(decision, 1, vec![0xff; 30]))],
    );
    let results = fold_each_way(dir.path(), &ReplayOptions::default());
    assert!(
        results[0].1.contains("Decode") && results[0].1.contains("10001"),
        "{}",
        results[0].1
    );
    assert_eq!(results[0].0.total_events(), 10_000, "everything before it");
    assert_all_equal(&results);
    // An unknown kind is refused the same way.
    let dir = tempfile::tempdir().unwrap();
    write_log(
        dir.path(),
        9_000,
        9,
        vec![(4_500, Rec::Raw(Kind::new(77), 1, b"?".to_vec()))],
    );
    let results = fold_each_way(dir.path(), &ReplayOptions::default());
    assert!(results[0].1.contains("UnknownKind"), "{}", results[0].1);
    assert_all_equal(&results);
}

#[test]
fn unfoldable_and_old_version_events_fold_the_same_every_way() {
    let dir = tempfile::tempdir().unwrap();
    let dup = Event::TradeOpened(TradeOpened {
        session: "gen".into(),
        trade_id: "gen/T2".into(),
        symbol: "X".into(),
        direction: Direction::Long,
        qty: Decimal::ONE,
        price: Decimal::ONE,
        ..Default::default()
    });
    let ghost_close = Event::TradeClosed(TradeClosed {
        session: "gen".into(),
        trade_id: "nobody".into(),
        ..Default::default()
    });
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
        value: Decimal::ONE,
    })
    .unwrap();
    let sys = Kind::new(EventKind::System.code());
    let met = Kind::new(EventKind::Metric.code());
    write_log(
        dir.path(),
        8_000,
        4,
        vec![
            (10, Rec::Raw(sys, 1, v1_system.clone())),
            (3_000, Rec::Event(Box::new(dup.clone()))),
            (3_001, Rec::Raw(met, 1, v1_metric)),
            (5_000, Rec::Event(Box::new(ghost_close))),
            (7_000, Rec::Event(Box::new(dup))),
            (7_999, Rec::Raw(sys, 1, v1_system)),
        ],
    );
    let results = fold_each_way(dir.path(), &ReplayOptions::default());
    assert_eq!(results[0].1, "folded 8006");
    let p = &results[0].0;
    assert_eq!(p.unfolded.len(), 3, "{:?}", p.unfolded);
    assert_eq!(p.sessions["old"].events, 3, "old versions are upcast");
    assert_all_equal(&results);
}

/// Every generated event, and damaged copies of its payload: the view
/// decodes exactly when the owned decoder does, and then reads the same.
#[test]
fn views_decode_exactly_what_the_owned_decoder_decodes() {
    let mut buf = Vec::new();
    let mut checked = 0;
    for (i, (_, e)) in Generator::new("gen", 2, DEMO_START).take(3000).enumerate() {
        let (kind, version) = encode(&e, &mut buf).unwrap();
        let view = decode_view(kind, version, &buf).expect("a current event has a view");
        assert_eq!(view, e.view());
        let mut damaged = vec![buf[..buf.len() - 1].to_vec(), [&buf[..], &[0]].concat()];
        for at in [0, 1, i % buf.len(), buf.len() / 2, buf.len() - 1] {
            for bits in [0x01, 0x80, 0xff] {
                let mut b = buf.clone();
                b[at] ^= bits;
                damaged.push(b);
            }
        }
        for b in &damaged {
            let owned = decode(kind, version, b);
            let view = decode_view(kind, version, b);
            assert_eq!(owned.is_ok(), view.is_some(), "{e:?} damaged to {b:?}");
            if let (Ok(o), Some(v)) = (&owned, view) {
                assert_eq!(o.view(), v);
            }
            checked += 1;
        }
    }
    assert!(checked > 40_000);
    // Old versions have no view: the owned decoder upcasts them.
    let v1 = postcard::to_allocvec(&MetricV1::default()).unwrap();
    let met = Kind::new(EventKind::Metric.code());
    assert!(decode_view(met, SchemaVersion::new(1), &v1).is_none());
    assert!(decode(met, SchemaVersion::new(1), &v1).is_ok());
}
