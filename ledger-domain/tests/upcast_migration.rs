//! `ledger_core::migrate` with the trading domain's upcaster: events of old
//! schema versions are re-encoded at their current version, and the
//! migrated ledger is checked against the old one event by event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use ledger_core::{migrate, verify_migration, MigrateOptions};
use ledger_core::{Durability, Entry, Kind, Reader, SchemaVersion, Writer, WriterOptions};
use ledger_domain::codec::legacy::MetricV1;
use ledger_domain::{decode, Decimal, EventKind, TradingUpcaster};

#[test]
fn migration_can_upcast_old_schema_versions() {
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    let mut w = Writer::create(
        &old,
        WriterOptions::default().durability(Durability::NoSync),
    )
    .unwrap();
    for i in 0..5 {
        let v1 = postcard::to_allocvec(&MetricV1 {
            session: "s".into(),
            metric: format!("m{i}"),
            value: Decimal::from_int(i),
        })
        .unwrap();
        let _ = w
            .append(&Entry::new(
                Kind::new(EventKind::Metric.code()),
                SchemaVersion::new(1),
                &v1,
            ))
            .unwrap();
    }
    w.close().unwrap();
    let new = root.path().join("new");
    let report = migrate(
        &old,
        &new,
        &MigrateOptions {
            upcast: Some(Arc::new(TradingUpcaster)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.upcast_records, 5);
    assert!(report.provenance.upcast);
    for r in Reader::open(&new).unwrap().cursor().unwrap().skip(1) {
        let r = r.unwrap();
        assert_eq!(r.version, SchemaVersion::new(2));
        assert!(decode(r.kind, r.version, &r.payload).is_ok());
    }
    assert_eq!(
        verify_migration(&new, &old, Some(&TradingUpcaster)).unwrap(),
        Vec::<String>::new()
    );
}
