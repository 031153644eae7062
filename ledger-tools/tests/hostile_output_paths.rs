//! Output paths aimed at a ledger (issue 13, item 3): an output file is
//! renamed over whatever has its name, so `checkpoint --out
//! DIR/0000000003.active` destroyed a segment and exited 0. Every command
//! that writes a file or a folder is aimed at the active segment, a sealed
//! segment and the `LEDGER` file, through a symbolic link and `..`, into a
//! backup store, and over a ledger file copied elsewhere: each is refused
//! with exit 2 and an error naming the path and why, nothing is written,
//! and the ledger verifies intact with all its records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_contains, bare, demo, file_name, first_object, json, ok, on, path_str as s};

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (file_name(&p), fs::read(&p).unwrap()))
        .collect()
}

/// The ledger's record count, checking it verifies intact.
fn records(dir: &Path) -> u64 {
    let v = json(&ok(on(dir, &["verify", "--json"])));
    assert_eq!(v["intact"], true, "{v}");
    v["records"].as_u64().unwrap()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    store: PathBuf,
    key: PathBuf,
    records: u64,
    before: BTreeMap<String, Vec<u8>>,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let dir = root.join("ledger");
        demo(&dir, 2000);
        let store = root.join("store");
        ok(on(&dir, &["backup", "create", "--to", s(&store)]));
        let key = root.join("auditor.key");
        ok(bare(&["keygen", "--out", s(&key)]));
        Fixture {
            _tmp: tmp,
            records: records(&dir),
            before: snapshot(&dir),
            root,
            dir,
            store,
            key,
        }
    }

    fn active(&self) -> PathBuf {
        self.ledger_file(".active")
    }

    fn sealed(&self) -> PathBuf {
        self.ledger_file(".seg")
    }

    fn ledger_file(&self, ext: &str) -> PathBuf {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| file_name(p).ends_with(ext))
            .collect();
        v.sort();
        v.pop().unwrap_or_else(|| panic!("no {ext} file"))
    }

    /// Runs `args` (with `-d DIR`), which must be refused naming `shown`
    /// and `why`; the ledger must be untouched and verify with every record.
    #[track_caller]
    fn refused(&self, args: &[&str], shown: &Path, why: &str) {
        let run = on(&self.dir, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert_contains(&run.stderr, "refusing to write");
        assert_contains(&run.stderr, s(shown));
        assert_contains(&run.stderr, why);
        assert_contains(&run.stderr, "nothing was written");
        assert_eq!(
            snapshot(&self.dir),
            self.before,
            "{args:?} changed the ledger"
        );
        assert_eq!(records(&self.dir), self.records, "{args:?}");
    }

    /// Every file-writing command, writing to `path`.
    fn file_commands(&self, path: &Path) -> Vec<Vec<String>> {
        let p = s(path).to_owned();
        let key = s(&self.key).to_owned();
        vec![
            vec!["export".into(), "--out".into(), p.clone()],
            vec!["report".into(), "--html".into(), p.clone()],
            vec![
                "checkpoint".into(),
                "--key".into(),
                key,
                "--out".into(),
                p.clone(),
            ],
            vec!["keygen".into(), "--out".into(), p],
        ]
    }

    #[track_caller]
    fn all_refused(&self, path: &Path, why: &str) {
        for cmd in self.file_commands(path) {
            let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
            self.refused(&args, path, why);
        }
    }
}

#[test]
fn output_files_aimed_at_the_active_segment_are_refused() {
    let f = Fixture::new();
    let active = f.active();
    f.all_refused(&active, "inside the ledger folder");
}

#[test]
fn output_files_aimed_at_a_sealed_segment_are_refused() {
    let f = Fixture::new();
    let sealed = f.sealed();
    f.all_refused(&sealed, "inside the ledger folder");
}

#[test]
fn output_files_aimed_at_the_ledger_identity_file_are_refused() {
    let f = Fixture::new();
    let meta = f.dir.join("LEDGER");
    f.all_refused(&meta, "inside the ledger folder");
    // A new file in the ledger folder is refused as well.
    f.all_refused(&f.dir.join("report.html"), "inside the ledger folder");
}

#[test]
fn output_files_through_a_symlink_or_dotdot_into_the_ledger_are_refused() {
    let f = Fixture::new();
    let link = f.root.join("innocent");
    std::os::unix::fs::symlink(&f.dir, &link).unwrap();
    f.all_refused(
        &link.join(file_name(&f.active())),
        "inside the ledger folder",
    );
    let elsewhere = f.root.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let dotdot = elsewhere.join("..").join("ledger").join("LEDGER");
    f.all_refused(&dotdot, "inside the ledger folder");
    // Damaged: the LEDGER file gone, the segments still mark the folder.
    let meta = fs::read(f.dir.join("LEDGER")).unwrap();
    fs::remove_file(f.dir.join("LEDGER")).unwrap();
    let run = on(&f.dir, &["export", "--out", s(&f.sealed())]);
    fs::write(f.dir.join("LEDGER"), meta).unwrap();
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "inside the ledger folder");
    assert_eq!(snapshot(&f.dir), f.before);
}

#[test]
fn output_files_inside_a_backup_store_are_refused() {
    let f = Fixture::new();
    let object = first_object(&f.store);
    let store_before = fs::read(&object).unwrap();
    f.all_refused(&object, "inside the backup store");
    let manifest = fs::read_dir(f.store.join("manifests"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    f.all_refused(&manifest, "inside the backup store");
    assert_eq!(fs::read(&object).unwrap(), store_before);
    ok(bare(&["backup", "verify", "--in", s(&f.store)]));
}

#[test]
fn an_existing_ledger_file_elsewhere_is_not_overwritten() {
    let f = Fixture::new();
    let copies = f.root.join("copies");
    fs::create_dir(&copies).unwrap();
    // A copy of a segment and a hard link to the identity file, renamed.
    let copy = copies.join("keep.bin");
    fs::copy(f.sealed(), &copy).unwrap();
    let linked = copies.join("id.bin");
    fs::hard_link(f.dir.join("LEDGER"), &linked).unwrap();
    let (copy_bytes, linked_bytes) = (fs::read(&copy).unwrap(), fs::read(&linked).unwrap());
    f.all_refused(&copy, "segment's magic bytes");
    f.all_refused(&linked, "identity file's magic bytes");
    assert_eq!(fs::read(&copy).unwrap(), copy_bytes);
    assert_eq!(fs::read(&linked).unwrap(), linked_bytes);
    // An ordinary file there is replaced as asked.
    let plain = copies.join("report.html");
    fs::write(&plain, b"old").unwrap();
    ok(on(&f.dir, &["report", "--html", s(&plain)]));
    assert_ne!(fs::read(&plain).unwrap(), b"old");
}

#[test]
fn output_folders_in_a_ledger_or_a_store_are_refused() {
    let f = Fixture::new();
    let inside = f.dir.join("sub");
    let through_link = f.root.join("innocent");
    std::os::unix::fs::symlink(&f.dir, &through_link).unwrap();
    let store_inside = f.store.join("objects").join("zz");
    for (to, why) in [
        (&f.dir, "holds a ledger"),
        (&inside, "inside the ledger folder"),
        (&through_link, "holds a ledger"),
        (&store_inside, "inside the backup store"),
    ] {
        let st = s(&f.store);
        for args in [
            vec!["backup", "create", "--to", s(to)],
            vec!["backup", "restore", "--from", st, "--to", s(to)],
            vec!["migrate", "--to", s(to)],
        ] {
            f.refused(&args, to, why);
            assert!(!inside.exists() && !store_inside.exists(), "{args:?}");
        }
    }
    // A backup store is no restore or migration target either.
    for args in [
        vec![
            "backup",
            "restore",
            "--from",
            s(&f.store),
            "--to",
            s(&f.store),
        ],
        vec!["migrate", "--to", s(&f.store)],
    ] {
        f.refused(&args, &f.store, "is a backup store");
    }
    ok(bare(&["backup", "verify", "--in", s(&f.store)]));
}
