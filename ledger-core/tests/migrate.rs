//! Migration: the format-v1 fixture (the oldest format this build reads)
//! migrates into a new ledger whose first record names the old ledger's id
//! and head; the old ledger is untouched; old schema versions can be upcast.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ledger_core::domain::codec::legacy::MetricV1;
use ledger_core::domain::{decode, Decimal, EventKind};
use ledger_core::migrate::{migrate, verify_migration, MigrateOptions, Provenance};
use ledger_core::verify::{verify_dir, VerifyOptions};
use ledger_core::{Durability, Entry, Kind, Reader, SchemaVersion, Writer, WriterOptions};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn snapshot_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_v1_fixture_migrates_with_provenance_and_is_left_untouched() {
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    std::fs::create_dir(&old).unwrap();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), old.join(e.file_name())).unwrap();
    }
    let before = snapshot_files(&old);
    let new = root.path().join("new");
    let report = migrate(&old, &new, &MigrateOptions::default()).unwrap();
    assert_eq!(snapshot_files(&old), before, "the old ledger is only read");
    let p = report.provenance;
    let old_reader = Reader::open(&old).unwrap();
    assert_eq!(p.old_ledger, old_reader.ledger_id());
    assert_eq!(p.old_head_seq, 120);
    assert_eq!(
        p.old_head_hash.to_hex(),
        "dc699a122145d25394e54de6d29847b90a84824d897982969f3d756078007bde"
    );
    assert_eq!(p.old_format, 1);
    assert!(verify_dir(&new, &VerifyOptions::default())
        .unwrap()
        .is_intact());
    let first = Reader::open(&new)
        .unwrap()
        .cursor()
        .unwrap()
        .next_record()
        .unwrap()
        .unwrap();
    assert_eq!(first.kind, Kind::PROVENANCE);
    assert_eq!(Provenance::decode(&first.payload), Some(p));
    assert_eq!(verify_migration(&new, &old).unwrap(), Vec::<String>::new());
    let n = Reader::open(&new).unwrap().cursor().unwrap().count();
    assert_eq!(n, 121);

    // Refusals: an existing target, a damaged source.
    assert!(migrate(&old, &new, &MigrateOptions::default()).is_err());
    let seg = std::fs::read_dir(&old)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let mut b = std::fs::read(&seg).unwrap();
    b[5000] ^= 1;
    std::fs::write(&seg, &b).unwrap();
    let err = migrate(&old, &root.path().join("new2"), &MigrateOptions::default()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(!root.path().join("new2").exists());
    // The link check sees the damage to the old ledger (an error naming
    // the segment, or a finding).
    match verify_migration(&new, &old) {
        Err(e) => assert!(e.to_string().contains(".seg"), "{e}"),
        Ok(problems) => assert!(!problems.is_empty()),
    }
}

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
            upcast: true,
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
    assert_eq!(verify_migration(&new, &old).unwrap(), Vec::<String>::new());
}
