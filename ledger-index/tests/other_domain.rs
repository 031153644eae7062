//! The index knows no trading word: a ledger of another domain's records,
//! with that domain's keys, over many segments, is answered through the
//! index exactly as by a full scan; index files are written and read back;
//! the engine's own records are never hits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use ledger_core::{migrate, MigrateOptions};
use ledger_core::{Durability, Entry, Kind, SchemaVersion, Timestamp, Writer, WriterOptions};
use ledger_index::{IndexError, IndexSource, KeyError, KeyExtractor, LedgerIndex, Query};

/// Sensor readings: `sensor=<id>;site=<id>;v=<value>`, kind 1 (reading) or
/// 2 (alarm). Two families; an alarm names no site.
struct Sensors;

impl KeyExtractor for Sensors {
    fn families(&self) -> &'static [&'static str] {
        &["sensor", "site"]
    }

    fn keys(
        &self,
        kind: Kind,
        _version: SchemaVersion,
        payload: &[u8],
        emit: &mut dyn FnMut(usize, &str),
    ) -> Result<(), KeyError> {
        for field in std::str::from_utf8(payload)?.split(';') {
            match field.split_once('=') {
                // A sensor may be named twice: still one hit.
                Some(("sensor" | "also", id)) => emit(0, id),
                Some(("site", id)) if kind == Kind::new(1) => emit(1, id),
                Some(_) => {}
                None => return Err(format!("not a field: {field:?}").into()),
            }
        }
        Ok(())
    }
}

fn write(dir: &Path, n: u64) {
    let opts = WriterOptions::default()
        .segment_size(16 << 10)
        .durability(Durability::NoSync);
    let mut w = Writer::open_or_create(dir, opts).unwrap();
    for i in 0..n {
        let kind = if i % 7 == 0 { 2 } else { 1 };
        let payload = format!("sensor=s{};site=p{};also=s{};v={i}", i % 13, i % 3, i % 13);
        let entry = Entry::new(Kind::new(kind), SchemaVersion::new(1), payload.as_bytes())
            .at(Timestamp::from_nanos(1_000 + i as i64));
        let _ = w.append(&entry).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn another_domain_is_indexed_by_its_own_keys() {
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    write(&old, 1500);
    // A migrated ledger starts with an engine record (provenance).
    let dir = root.path().join("new");
    migrate(
        &old,
        &dir,
        &MigrateOptions {
            segment_size: 16 << 10,
            ..Default::default()
        },
    )
    .unwrap();

    let ix = LedgerIndex::open(&dir, Sensors).unwrap();
    let built = ix.build_all().unwrap();
    assert!(built.len() >= 5, "many segments: {}", built.len());
    let all = ix.scan(&Query::all()).unwrap();
    assert_eq!(all.len(), 1500, "the provenance record is not a hit");
    assert!(all.iter().all(|h| h.kind.get() < Kind::RESERVED_START));

    let queries = [
        Query::all(),
        Query::all().key("sensor", "s4"),
        Query::all().key("site", "p1").key("site", "p2"),
        Query::all().key("sensor", "s0").key("site", "p0"),
        Query::all().kind(Kind::new(2)).key("sensor", "s7"),
        Query::all().kind(Kind::new(2)).key("site", "p1"),
        Query::all().kind(Kind::PROVENANCE),
        Query {
            from_time: Some(Timestamp::from_nanos(1_300)),
            to_time: Some(Timestamp::from_nanos(1_900)),
            ..Query::all().key("sensor", "s1")
        },
    ];
    let expected = [1500, 116, 857, 33, 17, 0, 0, 47];
    for (q, n) in queries.iter().zip(expected) {
        let via_index: Vec<_> = ix.query(q).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(via_index, ix.scan(q).unwrap(), "{q:?}");
        assert_eq!(via_index.len(), n, "{q:?}");
    }

    // The index files written above are read back, not rebuilt.
    drop(ix);
    let ix = LedgerIndex::open(&dir, Sensors).unwrap();
    assert!(ix
        .build_all()
        .unwrap()
        .iter()
        .all(|(_, s)| *s == IndexSource::Loaded));
}

#[test]
fn a_record_the_domain_cannot_read_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WriterOptions::default().durability(Durability::NoSync);
    let mut w = Writer::create(dir.path(), opts).unwrap();
    let ix = LedgerIndex::open(dir.path(), Sensors).unwrap();
    for p in ["sensor=a", "garbage", "sensor=b"] {
        let entry = Entry::new(Kind::new(1), SchemaVersion::new(1), p.as_bytes());
        let _ = w.append(&entry).unwrap();
    }
    // The query indexes the new records of the active segment first.
    let err = ix.query(&Query::all()).map(|_| ()).unwrap_err();
    assert!(
        matches!(&err, IndexError::Keys { seq, .. } if seq.get() == 2),
        "{err:?}"
    );
    assert!(err.to_string().contains("record 2: not a field"), "{err}");
    let err = ix.scan(&Query::all().key("sensor", "a")).unwrap_err();
    assert!(
        matches!(&err, IndexError::RecordKeys { seq, .. } if seq.get() == 2),
        "{err:?}"
    );
    w.close().unwrap();
}
