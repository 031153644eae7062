//! `ledger backup ...` against a store an insider edited (issue 13, item 4),
//! end to end: each attack ends with a non-zero exit and a message naming
//! the manifest or entry, and nothing outside the store or the target is
//! touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_contains, bare, demo, first_object, ok, on, path_str as s};
use ledger_core::Manifest;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    live: PathBuf,
    store: PathBuf,
}

impl Fixture {
    /// A demo ledger backed up `backups` times.
    fn new(backups: usize) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let live = root.join("live");
        demo(&live, 2000);
        let store = root.join("store");
        for _ in 0..backups {
            ok(on(&live, &["backup", "create", "--to", s(&store)]));
        }
        Fixture {
            _tmp: tmp,
            root,
            live,
            store,
        }
    }

    fn manifests(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(self.store.join("manifests"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "manifest"))
            .collect();
        v.sort();
        v
    }

    /// Rewrites the newest manifest with `edit`, re-hashed.
    fn edit_newest(&self, edit: impl FnOnce(&mut Manifest)) -> Manifest {
        let path = self.manifests().pop().unwrap();
        let (mut m, _) = Manifest::from_file(&fs::read(&path).unwrap()).unwrap();
        edit(&mut m);
        fs::write(&path, m.to_file().unwrap().0).unwrap();
        m
    }

    fn verify(&self) -> common::Run {
        bare(&["backup", "verify", "--in", s(&self.store)])
    }

    fn restore(&self, to: &Path) -> common::Run {
        bare(&["backup", "restore", "--from", s(&self.store), "--to", s(to)])
    }
}

#[test]
fn restore_with_a_manifest_id_leaving_the_folder_removes_nothing() {
    let f = Fixture::new(1);
    let parent = f.root.join("rp");
    fs::create_dir_all(parent.join(".t.restoring-x")).unwrap();
    let victim = f.root.join("rp2").join("victim");
    fs::create_dir_all(&victim).unwrap();
    fs::write(victim.join("precious"), b"keep").unwrap();
    f.edit_newest(|m| m.id = "x/../../rp2/victim".into());
    let run = f.restore(&parent.join("t"));
    assert_ne!(run.code, 0, "{}", run.all());
    assert_contains(&run.all(), "field `id`");
    assert_contains(&run.all(), ".manifest");
    assert_eq!(fs::read(victim.join("precious")).unwrap(), b"keep");
    assert!(!parent.join("t").exists());
    let run = f.verify();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "field `id`");
}

#[test]
fn a_manifest_claiming_another_ledger_fails_verify_and_restore() {
    let f = Fixture::new(1);
    let other = f.root.join("other");
    demo(&other, 0);
    let other_meta = hex::encode(fs::read(other.join("LEDGER")).unwrap());
    let other_id = other_meta[32..64].to_owned();
    let m = f.edit_newest(|m| m.ledger_id = other_id.clone());
    assert_ne!(m.ledger_id, m.ledger_meta[32..64]);
    let run = f.verify();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, &other_id);
    assert_contains(&run.stdout, "DAMAGED");
    let run = f.restore(&f.root.join("t"));
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "ledger_id");
    assert!(!f.root.join("t").exists());
}

#[test]
fn a_manifest_with_a_segment_removed_fails_verify_and_restore_alike() {
    let f = Fixture::new(1);
    let m = f.edit_newest(|m| {
        m.segments.remove(1);
    });
    let run = f.verify();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, &m.segments[1].name);
    assert_contains(&run.stdout, "DAMAGED");
    let reason = run
        .stdout
        .lines()
        .find(|l| l.contains(&m.segments[1].name))
        .unwrap()
        .to_owned();
    let run = f.restore(&f.root.join("t"));
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, &reason);
    assert!(!f.root.join("t").exists());
}

#[test]
fn deleting_the_middle_of_three_manifests_is_found() {
    let f = Fixture::new(3);
    ok(f.verify());
    let manifests = f.manifests();
    assert_eq!(manifests.len(), 3);
    fs::remove_file(&manifests[1]).unwrap();
    let run = f.verify();
    assert_eq!(run.code, 1, "{}", run.all());
    let middle = manifests[1].file_stem().unwrap().to_str().unwrap();
    assert_contains(&run.stdout, middle);
    assert_contains(&run.stdout, "missing");
    // Pruning keeps a record of what it removed: the chain still holds.
    let f = Fixture::new(3);
    ok(bare(&[
        "backup",
        "prune",
        "--in",
        s(&f.store),
        "--keep-last",
        "1",
    ]));
    ok(f.verify());
}

#[test]
fn prune_does_not_follow_a_symlinked_object_folder() {
    let f = Fixture::new(2);
    let outside = f.root.join("outside");
    fs::create_dir(&outside).unwrap();
    let zst = outside.join(format!("{}.zst", "ab".repeat(32)));
    let temp = outside.join("y.tmp-7");
    fs::write(&zst, b"mine").unwrap();
    fs::write(&temp, b"mine too").unwrap();
    let link = f.store.join("objects").join("zz");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let run = bare(&["backup", "prune", "--in", s(&f.store), "--keep-last", "1"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "symbolic link");
    assert_contains(&run.stdout, s(&link));
    assert_eq!(fs::read(&zst).unwrap(), b"mine");
    assert_eq!(fs::read(&temp).unwrap(), b"mine too");
    let run = f.verify();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "symbolic link");
    // Without the link, the store is intact.
    fs::remove_file(&link).unwrap();
    ok(f.verify());
}

#[test]
fn backup_create_rewrites_a_damaged_object_instead_of_reusing_it() {
    let f = Fixture::new(1);
    let object = first_object(&f.store);
    let good = fs::read(&object).unwrap();
    fs::write(&object, &good[..good.len() / 2]).unwrap();
    assert_eq!(f.verify().code, 1);
    let run = ok(on(&f.live, &["backup", "create", "--to", s(&f.store)]));
    assert_contains(&run.stdout, "1 object(s) in the store were damaged");
    assert_eq!(fs::read(&object).unwrap(), good);
    ok(f.verify());
    let restored = f.root.join("restored");
    ok(f.restore(&restored));
    ok(on(&restored, &["verify"]));
}
