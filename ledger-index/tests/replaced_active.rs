//! The writer replaces an active segment that holds no record and is too
//! small for the next one (recovered from a file cut short) by a full-size
//! file of the same name; an index opened before sees the new file's records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use ledger_core::storage::{MemStorage, Storage};
use ledger_core::{Durability, OpenMode, Writer, WriterOptions};
use ledger_domain::{Event, EventHit, Level, SessionId, SystemEvent, TradingKeys, TradingLedger};
use ledger_index::{LedgerIndex, Query};

fn open(st: &MemStorage, mode: OpenMode) -> TradingLedger {
    let opts = WriterOptions::default()
        .segment_size(16 << 10)
        .durability(Durability::NoSync)
        .preallocate(false);
    let w = Writer::open_storage(Arc::new(st.clone()), mode, opts).unwrap();
    TradingLedger::with_writer(w).unwrap()
}

#[test]
fn an_index_follows_an_empty_active_segment_replaced_by_a_larger_file() {
    let st = MemStorage::new();
    open(&st, OpenMode::Create).close().unwrap();
    let name = st
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".active"))
        .unwrap();
    let bytes = st.file_bytes(&name).unwrap();
    st.set_file_bytes(&name, &bytes[..4096]).unwrap();
    let mut ledger = open(&st, OpenMode::Open);
    let index = LedgerIndex::with_storage(Arc::new(st.clone()), TradingKeys).unwrap();
    assert_eq!(index.query(&Query::all()).unwrap().count(), 0);
    let long = Event::System(SystemEvent {
        session: SessionId::new("s-1"),
        component: "engine".into(),
        level: Level::Info,
        message: "x".repeat(4000),
        fields: vec![],
    });
    let _ = ledger.append(&long).unwrap();
    assert_eq!(ledger.writer().sealed_segments(), 0, "replaced, not sealed");
    let hits: Vec<_> = index
        .query(&Query::all())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hits.len(), 1, "the index maps the new file");
    assert_eq!(EventHit::decode(&hits[0]).unwrap().event, long);
    ledger.close().unwrap();
}
