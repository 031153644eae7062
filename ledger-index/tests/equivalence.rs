//! Every query answered through the index equals the same query answered by
//! a full scan, over randomized ledgers with many segments, while the
//! ledger grows; damaged, deleted and stale index files are rebuilt.
#![allow(clippy::unwrap_used, clippy::expect_used, unused_must_use)]

use std::path::Path;

use ledger_core::{Durability, Seq, Timestamp, WriterOptions};
use ledger_domain::{
    decision_chain, trade_events, Event, EventHit, EventKind, TradingKeys, TradingLedger,
};
use ledger_index::{FileDefect, Hit, IndexError, IndexSource, LedgerIndex, Query};
use ledger_tools::sim::{demo_session, Generator, DEMO_START};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Clone>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.below(v.len() as u64) as usize].clone())
    }
}

fn opts() -> WriterOptions {
    WriterOptions::default()
        .segment_size(32 << 10)
        .durability(Durability::NoSync)
}

/// Appends `n` events of two interleaved generated sessions.
fn grow(dir: &Path, seed: u64, n: usize) {
    let mut l = TradingLedger::open(dir, opts()).unwrap();
    let start = l.writer().head().map_or(DEMO_START, |h| {
        Timestamp::from_nanos(h.timestamp.as_nanos() + 1)
    });
    if l.writer().head().is_none() {
        for (t, e) in demo_session("demo", "", start) {
            l.append_at(t, &e).unwrap();
        }
    }
    let sessions = l.projections().sessions.len();
    let mut a = Generator::new(&format!("a{sessions}"), seed, start);
    let mut b = Generator::new(&format!("b{sessions}"), seed + 1, start);
    let mut last = l.writer().head().unwrap().timestamp;
    for i in 0..n {
        let (t, e) = if i % 3 == 0 { b.next() } else { a.next() }.unwrap();
        last = last.max(t);
        l.append_at(last, &e).unwrap();
    }
    l.close().unwrap();
}

fn decoded(hits: &[Hit]) -> Vec<EventHit> {
    hits.iter().map(|h| EventHit::decode(h).unwrap()).collect()
}

fn open(dir: &Path) -> LedgerIndex {
    LedgerIndex::open(dir, TradingKeys).unwrap()
}

/// A random query built from what the ledger holds.
fn random_query(rng: &mut Rng, all: &[EventHit]) -> Query {
    let mut q = Query::default();
    let n = all.len() as u64;
    let pick = |rng: &mut Rng| &all[rng.below(n) as usize];
    if rng.below(3) == 0 {
        let a = pick(rng).seq;
        let b = pick(rng).seq;
        q.from_seq = Some(a.min(b));
        q.to_seq = Some(a.max(b));
    }
    if rng.below(3) == 0 {
        let a = pick(rng).time;
        let b = pick(rng).time;
        q.from_time = Some(a.min(b));
        if rng.below(2) == 0 {
            q.to_time = Some(a.max(b));
        }
    }
    for _ in 0..rng.below(3) {
        q = q.kind(EventKind::ALL[rng.below(12) as usize]);
    }
    let symbols: Vec<_> = all
        .iter()
        .filter_map(|h| h.event.symbol().cloned())
        .collect();
    for _ in 0..rng.below(3) {
        if let Some(s) = rng.pick(&symbols) {
            q = q.key(TradingKeys::SYMBOL, s.as_str());
        }
    }
    if rng.below(4) == 0 {
        let t: Vec<_> = all
            .iter()
            .filter_map(|h| h.event.trade_id().cloned())
            .collect();
        if let Some(t) = rng.pick(&t) {
            q = q.key(TradingKeys::TRADE, t.as_str());
        }
    }
    if rng.below(5) == 0 {
        let d: Vec<_> = all
            .iter()
            .filter_map(|h| h.event.decision_id().cloned())
            .collect();
        if let Some(d) = rng.pick(&d) {
            q = q.key(TradingKeys::DECISION, d.as_str());
        }
    }
    if rng.below(5) == 0 {
        let o: Vec<_> = all
            .iter()
            .filter_map(|h| h.event.order_id().cloned())
            .collect();
        if let Some(o) = rng.pick(&o) {
            q = q.key(TradingKeys::ORDER, o.as_str());
        }
    }
    if rng.below(3) == 0 {
        let s: Vec<_> = all.iter().map(|h| h.event.session().clone()).collect();
        if let Some(s) = rng.pick(&s) {
            q = q.key(TradingKeys::SESSION, s.as_str());
        }
    }
    q
}

fn check(ix: &LedgerIndex, q: &Query) -> usize {
    let via_index: Vec<Hit> = ix.query(q).unwrap().collect::<Result<_, _>>().unwrap();
    let via_scan = ix.scan(q).unwrap();
    assert_eq!(via_index, via_scan, "{q:?}");
    via_index.len()
}

#[test]
fn index_answers_equal_full_scans_over_random_ledgers() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut nonempty = 0;
    for seed in 1..=5u64 {
        let dir = tempfile::tempdir().unwrap();
        grow(dir.path(), seed, 600 + rng.below(1500) as usize);
        let ix = open(dir.path());
        let all = decoded(&ix.scan(&Query::all()).unwrap());
        assert_eq!(check(&ix, &Query::all()), all.len());
        for _ in 0..60 {
            let q = random_query(&mut rng, &all);
            nonempty += usize::from(check(&ix, &q) > 0);
        }
        // The ledger grows while the index is open: new records of the
        // active segment and newly sealed segments are found.
        grow(dir.path(), seed + 100, 700);
        let all2 = decoded(&ix.scan(&Query::all()).unwrap());
        assert!(all2.len() > all.len());
        assert_eq!(check(&ix, &Query::all()), all2.len());
        for _ in 0..40 {
            let q = random_query(&mut rng, &all2);
            nonempty += usize::from(check(&ix, &q) > 0);
        }
        assert!(ix.sources().len() >= 5, "many segments");
    }
    assert!(
        nonempty > 120,
        "too few queries matched anything ({nonempty})"
    );
}

#[test]
fn point_lookups() {
    let dir = tempfile::tempdir().unwrap();
    grow(dir.path(), 9, 1500);
    let ix = open(dir.path());
    let all = ix.scan(&Query::all()).unwrap();
    for h in all.iter().step_by(97) {
        assert_eq!(ix.get(h.seq).unwrap().as_ref(), Some(h));
    }
    assert_eq!(ix.get(Seq::new(all.len() as u64 + 10)).unwrap(), None);
    let t3 = trade_events(&ix, &"T3".into()).unwrap();
    assert_eq!(t3.len(), 2);
    let chain = decision_chain(&ix, &"T1".into()).unwrap();
    let kinds: Vec<_> = chain.iter().map(|h| h.event.kind()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Decision,
            EventKind::Execution,
            EventKind::TradeOpened,
            EventKind::Execution,
            EventKind::TradeFilled,
            EventKind::TradeClosed
        ]
    );
    assert!(matches!(&chain[0].event, Event::Decision(d) if d.reasoning.len() == 4));
}

fn idx_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    v.sort();
    v
}

#[test]
fn missing_damaged_and_stale_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    grow(dir.path(), 3, 2000);
    let ix = open(dir.path());
    let built = ix.build_all().unwrap();
    assert!(built.len() >= 3);
    assert!(built.iter().all(|(_, s)| *s == IndexSource::Built));
    let reference = ix.scan(&Query::all()).unwrap();
    drop(ix);
    let files = idx_files(dir.path());
    assert_eq!(files.len(), built.len());

    // Loaded when intact.
    let ix = open(dir.path());
    assert!(ix
        .build_all()
        .unwrap()
        .iter()
        .all(|(_, s)| *s == IndexSource::Loaded));
    drop(ix);

    // Deleted, damaged (a flipped byte), stale (another segment's index).
    std::fs::remove_file(&files[0]).unwrap();
    let mut b = std::fs::read(&files[1]).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&files[1], b).unwrap();
    std::fs::copy(&files[2], &files[0]).unwrap(); // segment 0 gets segment 2's index
    let ix = open(dir.path());
    let sources = ix.build_all().unwrap();
    assert!(
        matches!(&sources[0].1, IndexSource::Rebuilt(FileDefect::Stale)),
        "{sources:?}"
    );
    assert!(
        matches!(&sources[1].1, IndexSource::Rebuilt(FileDefect::Checksum)),
        "{sources:?}"
    );
    assert_eq!(sources[2].1, IndexSource::Loaded);
    let again: Vec<Hit> = ix
        .query(&Query::all())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(again, reference);
    drop(ix);
    std::fs::remove_file(&files[2]).unwrap();
    let ix = open(dir.path());
    let sources = ix.build_all().unwrap();
    assert_eq!(sources[2].1, IndexSource::Built);
}

#[test]
fn a_key_family_the_domain_does_not_have_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    grow(dir.path(), 2, 50);
    let ix = open(dir.path());
    let q = Query::all().key("venue", "XNYS");
    assert!(
        matches!(ix.query(&q), Err(IndexError::UnknownFamily { family, known }) if family == "venue" && known.len() == 5)
    );
    assert!(matches!(ix.scan(&q), Err(IndexError::UnknownFamily { .. })));
    // An empty list of keys does not filter, whatever its family.
    let mut all = Query::all();
    all.keys.insert("venue".into(), Vec::new());
    assert_eq!(check(&ix, &all), ix.scan(&Query::all()).unwrap().len());
}

/// Full-width bounds never overflow: a query up to the largest sequence
/// (or from it, or over the widest times) answers like the open range
/// (found in step 9's review: `to_seq: u64::MAX` overflowed).
#[test]
fn full_width_bounds_answer_like_open_ranges() {
    let dir = tempfile::tempdir().unwrap();
    grow(dir.path(), 7, 900);
    let ix = open(dir.path());
    let all = check(&ix, &Query::all());
    let wide = Query {
        from_seq: Some(Seq::new(0)),
        to_seq: Some(Seq::new(u64::MAX)),
        from_time: Some(Timestamp::from_nanos(i64::MIN)),
        to_time: Some(Timestamp::from_nanos(i64::MAX)),
        ..Query::default()
    };
    assert_eq!(check(&ix, &wide), all);
    let past_the_end = Query {
        from_seq: Some(Seq::new(u64::MAX)),
        ..Query::default()
    };
    assert_eq!(check(&ix, &past_the_end), 0);
}
