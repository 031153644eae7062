//! Backups: while a writer appends, incremental by content address,
//! restore verified, prune keeps what kept backups need, and bad input (a
//! truncated or corrupted object, a missing object, a name leaving the
//! folder, a decompression bomb, an edited manifest) is refused clearly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use ledger_core::{verify_dir, VerifyOptions};
use ledger_core::{BackupError, BackupStore, Manifest, ObjectError};
use ledger_core::{Durability, Reader, Record, Writer};

fn records(dir: &Path) -> Vec<Record> {
    Reader::open(dir)
        .unwrap()
        .cursor()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn build(dir: &Path, from: u64, to: u64) {
    let mut w = Writer::open_or_create(dir, small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, from, to);
    w.close().unwrap();
}

fn quiet() -> impl FnMut(ledger_core::Progress) {
    |_| {}
}

#[test]
fn backup_while_appending_then_restore_verifies_and_matches() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let store = BackupStore::open_or_create(root.path().join("store")).unwrap();
    let mut w = Writer::create(&live, small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, 0, 200);
    let stop = Arc::new(AtomicBool::new(false));
    // Stops the appender however this test ends.
    let _stop = StopOnDrop(Arc::clone(&stop));
    let s2 = Arc::clone(&stop);
    let appender = std::thread::spawn(move || {
        let mut i = 200;
        while !s2.load(Ordering::Relaxed) {
            let _ = append_range(&mut w, i, i + 10);
            i += 10;
        }
        w.close().unwrap();
        i
    });
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.push(store.create_backup(&live, &mut quiet()).unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let appended = join_by(appender, deadline(), "the appender");
    let all = records(&live);
    assert_eq!(all.len() as u64, appended);
    for (k, r) in reports.iter().enumerate() {
        let target = root.path().join(format!("restored-{k}"));
        let done = store
            .restore(Some(&r.manifest.id), &target, &mut quiet())
            .unwrap();
        let head = r.manifest.head.as_ref().unwrap();
        assert_eq!(done.records, head.seq);
        let restored = records(&target);
        assert_eq!(restored.len() as u64, head.seq);
        assert_eq!(
            &restored[..],
            &all[..restored.len()],
            "every event as in the live ledger"
        );
        assert!(verify_dir(&target, &VerifyOptions::default())
            .unwrap()
            .is_intact());
        // The restored ledger continues its chain.
        let mut w = Writer::open(&target, small(Durability::NoSync)).unwrap();
        let _ = append_range(&mut w, head.seq, head.seq + 5);
        w.close().unwrap();
        assert!(verify_dir(&target, &VerifyOptions::default())
            .unwrap()
            .is_intact());
    }
    let v = store.verify(None, &mut quiet()).unwrap();
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert_eq!(v.manifests, 3);
}

#[test]
fn backups_are_incremental_by_content_address() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    build(&live, 0, 400);
    let store = BackupStore::open_or_create(root.path().join("store")).unwrap();
    let first = store.create_backup(&live, &mut quiet()).unwrap();
    let sealed = sealed_files(&live).len();
    assert_eq!(first.copied, sealed + 1);
    assert!(first.manifest.added_bytes > 0);
    assert!(
        first.manifest.added_stored_bytes < first.manifest.added_bytes,
        "compressed"
    );

    // Unchanged: nothing is copied.
    let again = store.create_backup(&live, &mut quiet()).unwrap();
    assert_eq!(again.copied, 0);
    assert_eq!(again.manifest.added_bytes, 0);
    assert_eq!(
        again.manifest.previous.as_ref().unwrap().id,
        first.manifest.id
    );

    // More records: only the new segments and the new active part.
    build(&live, 400, 700);
    let third = store.create_backup(&live, &mut quiet()).unwrap();
    let new_sealed = sealed_files(&live).len() - sealed;
    assert_eq!(third.copied, new_sealed + 1);
    assert_eq!(third.reused, sealed);
    let new_bytes: u64 = third
        .manifest
        .segments
        .iter()
        .skip(sealed)
        .map(|s| s.size)
        .sum();
    assert_eq!(
        third.manifest.added_bytes, new_bytes,
        "bytes copied = new segments only"
    );
    let list = store.list().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.windows(2).all(|w| w[0].manifest.id < w[1].manifest.id));
}

#[test]
fn prune_keeps_every_object_a_kept_backup_needs() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let store = BackupStore::open_or_create(root.path().join("store")).unwrap();
    let mut ids = Vec::new();
    for k in 0..4u64 {
        build(&live, k * 150, (k + 1) * 150);
        ids.push(
            store
                .create_backup(&live, &mut quiet())
                .unwrap()
                .manifest
                .id,
        );
    }
    let report = store.prune(2, None).unwrap();
    assert_eq!(report.removed_backups, ids[..2].to_vec());
    assert_eq!(report.kept, 2);
    assert!(
        report.removed_objects >= 2,
        "old active captures are garbage"
    );
    let v = store.verify(None, &mut quiet()).unwrap();
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    for id in &ids[2..] {
        let target = root.path().join(format!("r-{id}"));
        store.restore(Some(id), &target, &mut quiet()).unwrap();
    }
    assert!(matches!(
        store.restore(Some(&ids[0]), &root.path().join("gone"), &mut quiet()),
        Err(BackupError::NoSuchBackup { .. })
    ));
    // Keeping within a window keeps everything recent.
    let r = store
        .prune(0, Some(std::time::Duration::from_secs(3600)))
        .unwrap();
    assert!(r.removed_backups.is_empty());
}

fn object_file(store: &Path, hash: &str) -> std::path::PathBuf {
    store
        .join("objects")
        .join(&hash[..2])
        .join(format!("{hash}.zst"))
}

fn only_manifest(store: &Path) -> std::path::PathBuf {
    std::fs::read_dir(store.join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "manifest"))
        .unwrap()
}

/// Rewrites the manifest with `edit` applied, re-hashed (as an attacker or a
/// buggy tool would).
fn edit_manifest(store: &Path, edit: impl FnOnce(&mut Manifest)) {
    let path = only_manifest(store);
    let (mut m, _) = Manifest::from_file(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, m.to_file().unwrap().0).unwrap();
}

fn setup() -> (tempfile::TempDir, BackupStore, Manifest) {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    build(&live, 0, 300);
    let store = BackupStore::open_or_create(root.path().join("store")).unwrap();
    let m = store.create_backup(&live, &mut quiet()).unwrap().manifest;
    (root, store, m)
}

fn assert_restore_fails(store: &BackupStore, root: &Path, what: &str) -> BackupError {
    let target = root.join(format!("target-{what}"));
    let err = store.restore(None, &target, &mut quiet()).unwrap_err();
    assert!(
        !target.join("LEDGER").exists(),
        "{what}: a half-restored ledger was left"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{what}: staging left: {leftovers:?}");
    err
}

#[test]
fn a_truncated_or_corrupted_object_is_refused_by_verify_and_restore() {
    let (root, store, m) = setup();
    let seg = &m.segments[1];
    let path = object_file(store.root(), &seg.object);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let v = store.verify(None, &mut quiet()).unwrap();
    assert!(
        v.findings
            .iter()
            .any(|f| f.contains(&seg.object) && f.contains(&seg.name)),
        "{:?}",
        v.findings
    );
    let err = assert_restore_fails(&store, root.path(), "truncated");
    assert!(err.to_string().contains(&seg.object), "{err}");

    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    std::fs::write(&path, &flipped).unwrap();
    assert!(!store
        .verify(None, &mut quiet())
        .unwrap()
        .findings
        .is_empty());
    assert_restore_fails(&store, root.path(), "flipped");

    std::fs::remove_file(&path).unwrap();
    let err = assert_restore_fails(&store, root.path(), "missing");
    assert!(err.to_string().contains("cannot open"), "{err}");
}

#[test]
fn a_name_leaving_the_folder_is_refused() {
    let (root, store, _) = setup();
    edit_manifest(store.root(), |m| {
        m.segments[0].name = "../../evil.seg".into()
    });
    let err = assert_restore_fails(&store, root.path(), "traversal");
    assert!(
        matches!(&err, BackupError::UnsafeField { defect, .. } if defect.field == "segments[0].name"),
        "{err}"
    );
    assert!(!root.path().join("evil.seg").exists());
}

#[test]
fn a_decompression_bomb_stops_at_the_stated_size() {
    let (root, store, m) = setup();
    let bomb = zstd::bulk::compress(&vec![0u8; 50 << 20], 3).unwrap();
    let seg = m.segments[0].clone();
    std::fs::write(object_file(store.root(), &seg.object), bomb).unwrap();
    let err = assert_restore_fails(&store, root.path(), "bomb");
    assert!(
        matches!(
            &err,
            BackupError::Object {
                error: ObjectError::WrongSize { expected, actual },
                ..
            } if *actual == expected + 1
        ),
        "{err}"
    );
    assert!(err.to_string().contains("decompresses to"), "{err}");
}

#[test]
fn an_edited_manifest_is_detected() {
    let (_root, store, _) = setup();
    let path = only_manifest(store.root());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"size\": ", "\"size\": 1", 1)).unwrap();
    let err = store.list().unwrap_err();
    assert!(err.to_string().contains("hash mismatch"), "{err}");
    let v = store.verify(None, &mut quiet()).unwrap();
    assert!(v.findings.iter().any(|f| f.contains("hash mismatch")));
}

#[test]
fn restore_refuses_a_non_empty_folder_and_a_ledger() {
    let (root, store, _) = setup();
    let busy = root.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("x"), b"keep").unwrap();
    let err = store.restore(None, &busy, &mut quiet()).unwrap_err();
    assert!(matches!(err, BackupError::Target { .. }), "{err}");
    let err = store
        .restore(None, &root.path().join("live"), &mut quiet())
        .unwrap_err();
    assert!(err.to_string().contains("holds a ledger"), "{err}");
    // An empty folder is fine.
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    store.restore(None, &empty, &mut quiet()).unwrap();
    assert!(verify_dir(&empty, &VerifyOptions::default())
        .unwrap()
        .is_intact());
    assert!(matches!(
        BackupStore::open(root.path().join("live")),
        Err(BackupError::NotAStore { .. })
    ));
}
