//! A backup store edited by an insider who can change any file but holds
//! no key: every attack of issue 13, item 4, reproduced and refused or
//! found. A manifest id that walks out of the restore folder; a manifest
//! claiming another ledger; a segment removed from a manifest; a manifest
//! deleted from the middle of the chain; links planted for `prune` to
//! follow; a damaged object a new backup would have reused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ledger_core::{verify_dir, VerifyOptions};
use ledger_core::{BackupError, BackupStore, Manifest};
use ledger_core::{Durability, Reader, Writer};

fn quiet() -> impl FnMut(ledger_core::Progress) {
    |_| {}
}

/// A ledger of records `from..to` in small segments (several sealed).
fn build(dir: &Path, from: u64, to: u64) {
    let mut w = Writer::open_or_create(dir, small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, from, to);
    w.close().unwrap();
}

fn record_count(dir: &Path) -> u64 {
    let v = verify_dir(dir, &VerifyOptions::default()).unwrap();
    assert!(v.is_intact(), "{:?}", v.findings);
    v.records
}

/// A ledger `live` of 300 records backed up once into `store`.
fn setup() -> (tempfile::TempDir, BackupStore, Manifest) {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    build(&live, 0, 300);
    let store = BackupStore::open_or_create(root.path().join("store")).unwrap();
    let m = store.create_backup(&live, &mut quiet()).unwrap().manifest;
    assert!(m.segments.len() >= 3, "several segments");
    (root, store, m)
}

fn manifest_file(store: &Path, id: &str) -> PathBuf {
    store.join("manifests").join(format!("{id}.manifest"))
}

/// Rewrites manifest `id` with `edit` applied and its hash recomputed, as
/// an insider would.
fn edit_manifest(store: &Path, id: &str, edit: impl FnOnce(&mut Manifest)) {
    let path = manifest_file(store, id);
    let (mut m, _) = Manifest::from_file(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, m.to_file().unwrap().0).unwrap();
}

fn object_file(store: &Path, hash: &str) -> PathBuf {
    store
        .join("objects")
        .join(&hash[..2])
        .join(format!("{hash}.zst"))
}

/// Entries of `dir` whose names contain `part`.
fn named(dir: &Path, part: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(part))
        .collect()
}

fn findings(store: &BackupStore) -> Vec<String> {
    store.verify(None, &mut quiet()).unwrap().findings
}

#[track_caller]
fn assert_finding(findings: &[String], parts: &[&str]) {
    assert!(
        findings.iter().any(|f| parts.iter().all(|p| f.contains(p))),
        "no finding with {parts:?} in {findings:#?}"
    );
}

#[test]
fn a_manifest_id_leaving_the_restore_folder_removes_nothing_outside_it() {
    let (root, store, m) = setup();
    // The attack: a staging folder left by an earlier failed restore,
    // `.t.restoring-x`, lets `x/../../rp2/victim` resolve to a folder
    // outside the target's parent, which the old restore removed.
    let parent = root.path().join("rp");
    std::fs::create_dir_all(parent.join(".t.restoring-x")).unwrap();
    let victim = root.path().join("rp2").join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious"), b"keep me").unwrap();
    edit_manifest(store.root(), &m.id, |m| m.id = "x/../../rp2/victim".into());

    let err = store
        .restore(None, &parent.join("t"), &mut quiet())
        .unwrap_err();
    match &err {
        BackupError::UnsafeField { path, defect } => {
            assert_eq!(defect.field, "id");
            assert_eq!(path, &manifest_file(store.root(), &m.id));
        }
        other => panic!("expected an unsafe id, got {other}"),
    }
    assert!(err.to_string().contains("field `id`"), "{err}");
    assert_eq!(std::fs::read(victim.join("precious")).unwrap(), b"keep me");
    assert!(!parent.join("t").exists());
    assert_eq!(named(&parent, "restoring"), [".t.restoring-x"]);
    // Asking for it by id finds nothing; verify names the manifest and field.
    let err = store
        .restore(Some("x/../../rp2/victim"), &parent.join("t"), &mut quiet())
        .unwrap_err();
    assert!(matches!(err, BackupError::NoSuchBackup { .. }), "{err}");
    assert_finding(&findings(&store), &[&m.id, "field `id`"]);
}

#[test]
fn every_path_field_of_a_manifest_must_be_a_plain_name() {
    type Edit = fn(&mut Manifest);
    let cases: [(&str, Edit); 4] = [
        ("segments[1].name", |m| {
            m.segments[1].name = "../0000000001.active".into()
        }),
        ("segments[0].object", |m| {
            m.segments[0].object = "../../../etc/passwd".into()
        }),
        ("previous.id", |m| {
            m.previous = Some(ledger_core::ManifestLink {
                id: "../x".into(),
                hash: "0".repeat(64),
            })
        }),
        ("ledger_id", |m| m.ledger_id = "not hex".into()),
    ];
    for (field, edit) in cases {
        let (root, store, m) = setup();
        edit_manifest(store.root(), &m.id, edit);
        let err = store
            .restore(None, &root.path().join("t"), &mut quiet())
            .unwrap_err();
        assert!(
            matches!(&err, BackupError::UnsafeField { defect, .. } if defect.field == field),
            "{field}: {err}"
        );
        assert!(!root.path().join("t").exists());
        assert_finding(&findings(&store), &[&m.id, &format!("field `{field}`")]);
    }
}

#[test]
fn a_failed_restore_to_a_symlinked_target_leaves_no_staging_folder() {
    let (root, store, _) = setup();
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = root.path().join("link");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let err = store.restore(None, &link, &mut quiet()).unwrap_err();
    assert!(
        matches!(&err, BackupError::Target { reason, .. } if reason.contains("symbolic link")),
        "{err}"
    );
    assert!(named(root.path(), "restoring").is_empty());
    assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none());
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

#[test]
fn a_manifest_claiming_another_ledger_is_found_by_verify_and_refused_by_restore() {
    let (root, store, m) = setup();
    let other = root.path().join("other");
    build(&other, 0, 10);
    let other_id = Reader::open(&other).unwrap().ledger_id().to_hex();
    assert_ne!(other_id, m.ledger_id);

    // The id alone changed: it disagrees with the manifest's copy of LEDGER.
    edit_manifest(store.root(), &m.id, |m| m.ledger_id = other_id.clone());
    assert_finding(&findings(&store), &[&m.id, "ledger_id", &other_id]);
    let err = store
        .restore(None, &root.path().join("t1"), &mut quiet())
        .unwrap_err();
    assert!(matches!(err, BackupError::WrongLedger { .. }), "{err}");
    assert!(!root.path().join("t1").exists());

    // The id and the copy of LEDGER both claim the other ledger: its
    // segments belong to this one.
    let other_meta = hex::encode(std::fs::read(other.join("LEDGER")).unwrap());
    edit_manifest(store.root(), &m.id, |m| m.ledger_meta = other_meta);
    let f = findings(&store);
    assert_finding(&f, &[&m.id, &m.segments[0].name, "belongs to ledger"]);
    let err = store
        .restore(None, &root.path().join("t2"), &mut quiet())
        .unwrap_err();
    assert!(
        matches!(&err, BackupError::BrokenChain { reason, .. } if reason.contains("belongs to ledger")),
        "{err}"
    );
    assert!(!root.path().join("t2").exists());
    assert!(named(root.path(), "restoring").is_empty());
}

#[test]
fn a_manifest_with_a_segment_removed_fails_verify_as_it_fails_restore() {
    type Edit = fn(&mut Manifest);
    let cases: [(&str, Edit); 4] = [
        ("the middle segment removed", |m| {
            m.segments.remove(1);
        }),
        ("the first segment removed", |m| {
            m.segments.remove(0);
        }),
        ("two segments swapped", |m| m.segments.swap(0, 1)),
        ("the head moved back", |m| {
            if let Some(h) = m.head.as_mut() {
                h.seq -= 1;
            }
        }),
    ];
    for (what, edit) in cases {
        let (root, store, m) = setup();
        edit_manifest(store.root(), &m.id, edit);
        let f = findings(&store);
        assert!(
            f.iter()
                .any(|f| f.contains(&m.id) && f.contains("chain") || f.contains("head")),
            "{what}: {f:#?}"
        );
        let target = root.path().join("t");
        let err = store.restore(None, &target, &mut quiet()).unwrap_err();
        assert!(
            matches!(err, BackupError::BrokenChain { .. }),
            "{what}: {err}"
        );
        // The same check: what verify says is what restore refuses.
        let reason = err.to_string();
        assert!(
            f.contains(&reason),
            "{what}: verify {f:#?}, restore {reason}"
        );
        assert!(!target.exists(), "{what}");
        assert!(named(root.path(), "restoring").is_empty(), "{what}");
    }
}

#[test]
fn deleting_or_altering_a_manifest_in_the_middle_of_the_chain_is_found() {
    let (root, store, first) = setup();
    let live = root.path().join("live");
    build(&live, 300, 320);
    let second = store.create_backup(&live, &mut quiet()).unwrap().manifest;
    build(&live, 320, 340);
    let third = store.create_backup(&live, &mut quiet()).unwrap().manifest;
    assert!(findings(&store).is_empty());

    // Altered (and re-hashed): the next manifest's link no longer matches.
    let path = manifest_file(store.root(), &second.id);
    let original = std::fs::read(&path).unwrap();
    edit_manifest(store.root(), &second.id, |m| m.created_ns += 1);
    assert_finding(&findings(&store), &[&third.id, &second.id, "altered"]);

    // Deleted: the gap is found.
    std::fs::remove_file(&path).unwrap();
    assert_finding(&findings(&store), &[&third.id, &second.id, "missing"]);

    // Put back, then pruned properly: the records of pruning keep the chain.
    std::fs::write(&path, original).unwrap();
    assert!(findings(&store).is_empty());
    let r = store.prune(1, None).unwrap();
    assert_eq!(r.removed_backups, [first.id.clone(), second.id.clone()]);
    assert!(findings(&store).is_empty(), "{:?}", findings(&store));
    // A record of pruning deleted: the oldest link dangles.
    std::fs::remove_file(
        store
            .root()
            .join("manifests")
            .join(format!("{}.pruned", second.id)),
    )
    .unwrap();
    assert_finding(&findings(&store), &[&third.id, &second.id, "missing"]);
    // A new backup after a prune links to the pruned one; the chain holds.
    let (root2, store2, m2) = setup();
    store2.prune(0, None).unwrap();
    let next = store2
        .create_backup(&root2.path().join("live"), &mut quiet())
        .unwrap()
        .manifest;
    assert_eq!(next.previous.unwrap().id, m2.id);
    assert!(findings(&store2).is_empty());
}

#[test]
fn a_pruned_record_in_the_middle_of_the_chain_is_found() {
    let (root, store, first) = setup();
    let live = root.path().join("live");
    let second = store.create_backup(&live, &mut quiet()).unwrap().manifest;
    let _third = store.create_backup(&live, &mut quiet()).unwrap().manifest;
    // Forge what prune would leave for `second` while `first` is kept.
    let keep = manifest_file(store.root(), &first.id);
    let saved = std::fs::read(&keep).unwrap();
    store.prune(1, None).unwrap();
    std::fs::write(&keep, saved).unwrap();
    std::fs::remove_file(
        store
            .root()
            .join("manifests")
            .join(format!("{}.pruned", first.id)),
    )
    .unwrap();
    assert_finding(&findings(&store), &[&second.id, "middle of the chain"]);
}

#[test]
fn prune_never_follows_a_symlinked_object_folder_or_object() {
    let (root, store, m) = setup();
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = outside.join(format!("{}.zst", "ab".repeat(32)));
    std::fs::write(&victim, b"not the store's").unwrap();
    let temp = outside.join("x.tmp-1");
    std::fs::write(&temp, b"not the store's either").unwrap();
    let link = store.root().join("objects").join("zz");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    // And an unneeded "object" that is a link to a file outside.
    let real = store
        .root()
        .join("objects")
        .join(&m.segments[0].object[..2]);
    let file_link = real.join(format!("{}.zst", "cd".repeat(32)));
    std::os::unix::fs::symlink(&victim, &file_link).unwrap();

    assert_finding(&findings(&store), &["zz", "symbolic link"]);
    let r = store.prune(0, None).unwrap();
    assert!(
        std::fs::read(&victim).is_ok(),
        "a file outside the store was deleted"
    );
    assert!(
        temp.exists(),
        "a temporary file outside the store was deleted"
    );
    assert!(std::fs::symlink_metadata(&link).is_ok());
    assert!(std::fs::symlink_metadata(&file_link).is_ok());
    assert_eq!(r.unexpected.len(), 2, "{:?}", r.unexpected);
    assert!(r
        .unexpected
        .iter()
        .any(|u| u.contains("zz") && u.contains("symbolic link")));
    assert!(r.removed_objects > 0, "the store's own objects are pruned");
}

#[test]
fn a_store_whose_objects_folder_is_a_symlink_is_refused() {
    let (root, store, _) = setup();
    let objects = store.root().join("objects");
    let moved = root.path().join("moved-objects");
    std::fs::rename(&objects, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &objects).unwrap();
    let err = BackupStore::open(store.root()).unwrap_err();
    assert!(matches!(err, BackupError::UnsafeStore { .. }), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[test]
fn backup_create_replaces_a_damaged_object_instead_of_reusing_it() {
    let (root, store, m) = setup();
    let live = root.path().join("live");
    // One object truncated, one replaced by a link to a file outside.
    let damaged = object_file(store.root(), &m.segments[0].object);
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let outside = root.path().join("outside.zst");
    std::fs::write(&outside, b"outside").unwrap();
    let linked = object_file(store.root(), &m.segments[1].object);
    std::fs::remove_file(&linked).unwrap();
    std::os::unix::fs::symlink(&outside, &linked).unwrap();

    let r = store.create_backup(&live, &mut quiet()).unwrap();
    assert_eq!(r.replaced, 2, "{r:?}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"outside");
    assert!(!std::fs::symlink_metadata(&linked).unwrap().is_symlink());
    assert!(findings(&store).is_empty(), "{:?}", findings(&store));
    let target = root.path().join("restored");
    store.restore(None, &target, &mut quiet()).unwrap();
    assert_eq!(record_count(&target), record_count(&live));
    // Intact objects are reused (after re-hashing), not copied.
    let again = store.create_backup(&live, &mut quiet()).unwrap();
    assert_eq!((again.copied, again.replaced), (0, 0));
}
