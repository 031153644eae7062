//! Migration: the format-v1 fixture (the oldest format this build reads)
//! migrates into a new ledger whose first record names the old ledger's id
//! and head; the old ledger is untouched; old schema versions can be upcast
//! by an upcaster the domain supplies (here a toy one over plain records;
//! the trading domain's is tested in `ledger-domain/tests/upcast_migration.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger_core::{migrate, verify_migration, MigrateOptions, Provenance, UpcastError, Upcaster};
use ledger_core::{verify_dir, VerifyOptions};
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
    assert_eq!(
        verify_migration(&new, &old, None).unwrap(),
        Vec::<String>::new()
    );
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
    match verify_migration(&new, &old, None) {
        Err(e) => assert!(e.to_string().contains(".seg"), "{e}"),
        Ok(problems) => assert!(!problems.is_empty()),
    }
}

/// A toy domain: kind 1, version 1 payloads are lowercase text; version 2
/// is the same text in uppercase. A payload that is not UTF-8 does not
/// upcast.
struct Shout;

impl Upcaster for Shout {
    fn upcast(
        &self,
        kind: Kind,
        version: SchemaVersion,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(Kind, SchemaVersion), UpcastError> {
        let text = std::str::from_utf8(payload)?;
        out.extend_from_slice(text.to_uppercase().as_bytes());
        Ok((kind, version.max(SchemaVersion::new(2))))
    }
}

fn write_plain(dir: &Path, payloads: &[&[u8]]) {
    let mut w =
        Writer::create(dir, WriterOptions::default().durability(Durability::NoSync)).unwrap();
    for p in payloads {
        let _ = w
            .append(&Entry::new(Kind::new(1), SchemaVersion::new(1), p))
            .unwrap();
    }
    w.close().unwrap();
}

#[test]
fn migration_can_upcast_old_schema_versions() {
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    write_plain(&old, &[b"buy", b"sell", b"hold"]);
    let new = root.path().join("new");
    let shout: Arc<dyn Upcaster> = Arc::new(Shout);
    let report = migrate(
        &old,
        &new,
        &MigrateOptions {
            upcast: Some(Arc::clone(&shout)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.upcast_records, 3);
    assert!(report.provenance.upcast);
    let migrated: Vec<_> = Reader::open(&new)
        .unwrap()
        .cursor()
        .unwrap()
        .skip(1)
        .map(|r| r.unwrap())
        .collect();
    assert!(migrated.iter().all(|r| r.version == SchemaVersion::new(2)));
    assert_eq!(migrated[1].payload, b"SELL");
    assert_eq!(
        verify_migration(&new, &old, Some(shout.as_ref())).unwrap(),
        Vec::<String>::new()
    );
    // Without the upcaster, the content of upcast records cannot be compared.
    let problems = verify_migration(&new, &old, None).unwrap();
    assert!(
        matches!(problems.as_slice(), [p] if p.contains("upcaster")),
        "{problems:?}"
    );
}

#[test]
fn a_record_that_does_not_upcast_refuses_the_migration() {
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    write_plain(&old, &[b"buy", b"\xff\xfe"]);
    let new = root.path().join("new");
    let err = migrate(
        &old,
        &new,
        &MigrateOptions {
            upcast: Some(Arc::new(Shout)),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("record 2"), "{err}");
}
