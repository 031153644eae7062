//! Forged index files never change an answer (issue 13, item 1). An index
//! file's checksum is plain blake3, so an insider can rewrite one at will;
//! each attack below rewrites one with a valid checksum and checks that
//! - `check_index_files` (what `ledger verify` runs) reports that file as
//!   forged,
//! - a query answers exactly as a full scan does, refuses the file (naming
//!   it), and rewrites it from the segment, after which the check is clean.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod forge;

use std::path::Path;

use forge::{name, read, SESSION, SYMBOL};
use ledger_core::storage::{FsStorage, Storage};
use ledger_core::{Kind, SchemaVersion, Seq};
use ledger_domain::{Event, EventHit, EventKind, TradingKeys};
use ledger_index::{
    check_index_files, Hit, IndexSource, KeyError, KeyExtractor, LedgerIndex, Query,
};

fn hits(ix: &LedgerIndex, q: &Query) -> Vec<Hit> {
    ix.query(q).unwrap().collect::<Result<_, _>>().unwrap()
}

/// What the index file at `idx` says the query's candidates are (what a
/// query that trusted it would answer for that segment).
fn candidates(dir: &Path, idx: &Path, q: &Query) -> Vec<u32> {
    let segment = name(idx).replace(".idx", ".seg");
    let map = FsStorage::new(dir).map_segment(&segment).unwrap();
    read(idx)
        .1
        .candidates(map.as_ref(), q, &TradingKeys::FAMILIES)
}

/// Forges `idx` with `change` (checking that the forgery changes the
/// candidates of `q`), then checks that it is caught, refused and replaced.
/// Returns why the query refused it.
fn forge_and_query(
    dir: &Path,
    idx: &Path,
    q: &Query,
    change: impl FnOnce(&mut ledger_index::SegmentIndex),
) -> String {
    // Honest files are used as they are.
    let ix = LedgerIndex::open(dir, TradingKeys).unwrap();
    let expected = ix.scan(q).unwrap();
    assert_eq!(hits(&ix, q), expected);
    assert_eq!(ix.take_refused(), []);
    drop(ix);

    let honest = candidates(dir, idx, q);
    forge::forge(idx, change);
    assert_ne!(
        candidates(dir, idx, q),
        honest,
        "the forgery would change the answer"
    );

    let check = check_index_files(&FsStorage::new(dir), &TradingKeys).unwrap();
    let mine: Vec<_> = check
        .findings
        .iter()
        .filter(|f| f.file == name(idx))
        .collect();
    assert!(
        mine.len() == 1 && mine[0].forged,
        "not reported as forged: {check:?}"
    );
    assert_eq!(check.forged(), 1, "{check:?}");

    let ix = LedgerIndex::open(dir, TradingKeys).unwrap();
    assert_eq!(hits(&ix, q), expected, "the answer changed");
    let refused = ix.take_refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].file, name(idx));
    assert!(refused[0].forged, "{refused:?}");
    drop(ix);

    // The file was rebuilt from its segment.
    let check = check_index_files(&FsStorage::new(dir), &TradingKeys).unwrap();
    assert!(check.findings.is_empty(), "{check:?}");
    let ix = LedgerIndex::open(dir, TradingKeys).unwrap();
    assert_eq!(hits(&ix, q), expected);
    assert_eq!(ix.take_refused(), []);
    refused[0].reason.clone()
}

/// `export --symbol BTC-USD` with three BTC events dropped and three ETH
/// events added.
#[test]
fn a_symbol_list_with_records_swapped_between_keys_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 3000);
    let idx = forge::file_with(dir.path(), SYMBOL, "BTC-USD", 4);
    assert!(read(&idx).1.keys[SYMBOL]["ETH-USD"].len() >= 3);
    let q = Query::all().key(TradingKeys::SYMBOL, "BTC-USD");
    let why = forge_and_query(dir.path(), &idx, &q, |ix| {
        forge::swap_key(ix, SYMBOL, "BTC-USD", "ETH-USD", 3)
    });
    // The first ETH event listed is not a BTC-USD one, or the first BTC
    // event left out is found: either way the file is refused.
    assert!(
        why.contains("for a query it does not match") || why.contains("leaves out"),
        "{why}"
    );
}

/// A posting moved from one key's list to another's (both lists sorted,
/// every entry a real record): the query for the key that lost it finds
/// the records its list leaves out, through the domain's key needles.
#[test]
fn a_posting_moved_to_another_key_is_found_by_a_query_of_the_key_that_lost_it() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 3000);
    let idx = forge::file_with(dir.path(), SYMBOL, "BTC-USD", 4);
    let q = Query::all().key(TradingKeys::SYMBOL, "BTC-USD");
    let why = forge_and_query(dir.path(), &idx, &q, |ix| {
        forge::move_key(ix, SYMBOL, "BTC-USD", "SOL-USD", 2)
    });
    assert!(why.contains("leaves out record"), "{why}");
    assert!(why.contains("symbol"), "{why}");
}

/// `export --kind trade_closed` returning a fraction of the events.
#[test]
fn a_truncated_kind_list_is_refused_when_the_file_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 3000);
    let code = EventKind::TradeClosed.code();
    let idx = forge::idx_files(dir.path())
        .into_iter()
        .max_by_key(|p| read(p).1.kinds.get(&code).map_or(0, Vec::len))
        .unwrap();
    let q = Query::all().kind(EventKind::TradeClosed);
    let why = forge_and_query(dir.path(), &idx, &q, |ix| {
        forge::truncate_kind(ix, EventKind::TradeClosed, 1)
    });
    assert!(why.contains("does not match its segment"), "{why}");
    assert!(why.contains(&format!("kind {code}")), "{why}");
}

/// `export --session S` returning 158 of 5,000 events.
#[test]
fn a_truncated_session_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 3000);
    let idx = forge::file_with(dir.path(), SESSION, "gen", 50);
    let q = Query::all().key(TradingKeys::SESSION, "gen");
    let why = forge_and_query(dir.path(), &idx, &q, |ix| {
        forge::truncate_key(ix, SESSION, "gen", 10)
    });
    assert!(why.contains("leaves out record"), "{why}");
}

/// Forged time samples making a query from a time skip records.
#[test]
fn forged_time_samples_are_refused_when_the_file_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 3000);
    let idx = forge::idx_files(dir.path())
        .into_iter()
        .find(|p| read(p).1.times.len() >= 2)
        .expect("a segment of more than 256 records");
    let (_, ix) = read(&idx);
    // From the time of the segment's second record (a time the next
    // record does not share, so the answer starts inside the segment).
    let all = LedgerIndex::open(dir.path(), TradingKeys)
        .unwrap()
        .scan(&Query {
            from_seq: Some(Seq::new(ix.first_seq + 1)),
            to_seq: Some(Seq::new(ix.first_seq + 300)),
            ..Query::default()
        })
        .unwrap();
    let from = all
        .windows(2)
        .find(|w| w[0].time < w[1].time)
        .map(|w| w[1].time)
        .unwrap();
    let q = Query {
        from_time: Some(from),
        ..Query::default()
    };
    let why = forge_and_query(dir.path(), &idx, &q, forge::flatten_times);
    assert!(why.contains("time sample"), "{why}");
}

/// A record count that differs from the segment's (every list consistent
/// with it).
#[test]
fn a_record_count_that_differs_from_the_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 3000);
    let idx = forge::idx_files(dir.path()).remove(1);
    let why = forge_and_query(dir.path(), &idx, &Query::all(), forge::drop_last_record);
    assert!(why.contains("does not match its segment"), "{why}");
}

/// The worst forgery the issue found: an offset moved into an audit note's
/// `reason`, where a complete fabricated `trade_closed` record (its CRC
/// valid, its chain hash in no chain) was hidden, and the trade's list
/// pointing at it. The fabricated record is never returned: the offsets
/// are not the segment's record starts.
#[test]
fn an_offset_into_a_payload_holding_a_fabricated_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hidden = forge::hidden_record(dir.path());
    let q = Query::all().key(TradingKeys::TRADE, hidden.trade.as_str());
    let ix = LedgerIndex::open(dir.path(), TradingKeys).unwrap();
    let expected = ix.scan(&q).unwrap();
    assert_eq!(hits(&ix, &q), expected);
    drop(ix);
    hidden.forge();
    // What trusting the forged file would have returned: the fabricated
    // record, a valid record by its envelope.
    let segment = name(&hidden.idx).replace(".idx", ".seg");
    let map = FsStorage::new(dir.path()).map_segment(&segment).unwrap();
    let fake = match ledger_core::read_published(map.as_ref(), hidden.offset as usize) {
        Ok(ledger_core::Published::Record(r)) => Hit::from_record(&r).unwrap(),
        other => panic!("the fabricated record does not read: {other:?}"),
    };
    let fake = EventHit::decode(&fake).unwrap();
    assert_eq!(fake.seq.get(), hidden.seq);
    assert!(
        matches!(&fake.event, Event::TradeClosed(c) if c.realized_pnl.to_string() == hidden.pnl)
    );
    assert!(candidates(dir.path(), &hidden.idx, &q)
        .contains(&((hidden.seq - read(&hidden.idx).1.first_seq) as u32)));

    let check = check_index_files(&FsStorage::new(dir.path()), &TradingKeys).unwrap();
    assert!(
        check
            .findings
            .iter()
            .any(|f| f.file == name(&hidden.idx) && f.forged && f.reason.contains("offset")),
        "{check:?}"
    );
    let ix = LedgerIndex::open(dir.path(), TradingKeys).unwrap();
    let got = hits(&ix, &q);
    assert_eq!(got, expected);
    assert!(got.iter().all(|h| h.chain_hash != fake.chain_hash));
    let refused = ix.take_refused();
    assert!(
        refused.len() == 1 && refused[0].file == name(&hidden.idx) && refused[0].forged,
        "{refused:?}"
    );
    // A point lookup of the sequence gets the audit note itself.
    let note = EventHit::decode(&ix.get(Seq::new(hidden.seq)).unwrap().unwrap()).unwrap();
    assert!(matches!(note.event, Event::Audit(_)));
    assert!(check_index_files(&FsStorage::new(dir.path()), &TradingKeys)
        .unwrap()
        .findings
        .is_empty());
}

/// A point lookup loads the index through the same check: a forged offset
/// is never followed.
#[test]
fn a_point_lookup_never_follows_a_forged_offset() {
    let dir = tempfile::tempdir().unwrap();
    let hidden = forge::hidden_record(dir.path());
    hidden.forge();
    let ix = LedgerIndex::open(dir.path(), TradingKeys).unwrap();
    let hit = ix.get(Seq::new(hidden.seq)).unwrap().unwrap();
    assert!(matches!(
        EventHit::decode(&hit).unwrap().event,
        Event::Audit(_)
    ));
    let sources = ix.sources();
    let forged = sources
        .iter()
        .find(|(s, _)| *s == name(&hidden.idx).replace(".idx", ".seg"))
        .unwrap();
    assert!(
        matches!(&forged.1, Some(IndexSource::Rebuilt(d)) if d.is_forgery()),
        "{sources:?}"
    );
}

/// The trading keys without needles: a domain that cannot say which bytes
/// its keys leave in a payload.
struct NoNeedles;

impl KeyExtractor for NoNeedles {
    fn families(&self) -> &'static [&'static str] {
        TradingKeys.families()
    }
    fn keys(
        &self,
        kind: Kind,
        version: SchemaVersion,
        payload: &[u8],
        emit: &mut dyn FnMut(usize, &str),
    ) -> Result<(), KeyError> {
        TradingKeys.keys(kind, version, payload, emit)
    }
}

/// The residual, pinned down: for a domain without key needles, a query
/// proves what it returns (every hit re-checked) but not that a key list
/// left nothing out; `check_index_files` (`ledger verify`), which rebuilds
/// every index, reports the file.
#[test]
fn without_key_needles_a_dropped_posting_is_reported_by_the_check() {
    let dir = tempfile::tempdir().unwrap();
    forge::ledger(dir.path(), 1500);
    let q = Query::all().key(TradingKeys::SESSION, "gen");
    let idx = forge::file_with(dir.path(), SESSION, "gen", 20);
    forge::forge(&idx, |ix| forge::truncate_key(ix, SESSION, "gen", 5));
    let check = check_index_files(&FsStorage::new(dir.path()), &NoNeedles).unwrap();
    assert!(
        check
            .findings
            .iter()
            .any(|f| f.file == name(&idx) && f.forged && f.reason.contains("leaves out")),
        "{check:?}"
    );
    let ix = LedgerIndex::open(dir.path(), NoNeedles).unwrap();
    let got = hits(&ix, &q);
    let all = ix.scan(&q).unwrap();
    // Every record returned is one the scan returns (precision holds);
    // the records the list left out are missing from this one answer.
    assert!(got.iter().all(|h| all.contains(h)));
    assert!(got.len() < all.len());
}
