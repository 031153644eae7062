//! `ledger backup ...` and `ledger migrate` end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_contains, bare, on, path_str as s};

#[test]
fn backup_create_list_verify_restore_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    let run = on(
        &live,
        &["demo", "--events", "3000", "--segment-size", "64KiB"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = on(&live, &["backup", "create", "--to", s(&store)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_contains(&run.stdout, "already in the store");
    let run = on(&live, &["backup", "create", "--to", s(&store), "--json"]);
    assert_eq!(run.code, 0);
    let out = run.stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["copied"], 0, "an unchanged ledger copies nothing: {out}");
    assert_eq!(v["added_bytes"], 0);
    let run = bare(&["backup", "list", "--in", s(&store)]);
    assert_eq!(run.code, 0);
    assert_contains(&run.stdout, "2 backup(s)");
    let run = bare(&["backup", "verify", "--in", s(&store)]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_contains(&run.stdout, "intact");
    let restored = tmp.path().join("restored");
    let run = bare(&[
        "backup",
        "restore",
        "--from",
        s(&store),
        "--to",
        s(&restored),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stdout, "records verified");
    assert_eq!(on(&restored, &["verify"]).code, 0);
    // Restoring over a ledger is refused.
    let run = bare(&["backup", "restore", "--from", s(&store), "--to", s(&live)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains(&run.stderr, "holds a ledger");
    let run = bare(&["backup", "prune", "--in", s(&store), "--keep-last", "1"]);
    assert_eq!(run.code, 0);
    assert_contains(&run.stdout, "removed 1 backup(s)");

    // A damaged object is found.
    let objects = store.join("objects");
    let sub = std::fs::read_dir(&objects)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let obj = std::fs::read_dir(&sub)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut b = std::fs::read(&obj).unwrap();
    let n = b.len();
    b.truncate(n / 2);
    std::fs::write(&obj, b).unwrap();
    let run = bare(&["backup", "verify", "--in", s(&store)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains(&run.stdout, "DAMAGED");
    assert_eq!(
        bare(&["backup", "list", "--in", s(&live)]).code,
        2,
        "a ledger is not a backup store"
    );
}

#[test]
fn migrate_writes_a_new_ledger_linked_to_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let new = tmp.path().join("new");
    assert_eq!(on(&old, &["demo"]).code, 0);
    let run = on(&old, &["migrate", "--to", s(&new), "--upcast"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stdout, "provenance link: holds");
    let run = on(&new, &["verify", "--previous", s(&old)]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_contains(&run.stdout, "the link to");
    // Records appended to the old ledger after the migration were never
    // carried over: the link no longer vouches for the old ledger.
    assert_eq!(on(&old, &["demo"]).code, 0);
    let run = on(&new, &["verify", "--previous", s(&old)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains(
        &run.stdout,
        "were appended to the old ledger after the migration",
    );
    // A migration into an existing ledger is refused.
    let run = on(&old, &["migrate", "--to", s(&new)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
