//! `ledger backup ...` and `ledger migrate` end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn ledger(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env_remove("LEDGER_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn backup_create_list_verify_restore_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    let (code, _, err) = ledger(&[
        "-d",
        s(&live),
        "demo",
        "--events",
        "3000",
        "--segment-size",
        "64KiB",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = ledger(&["-d", s(&live), "backup", "create", "--to", s(&store)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already in the store"), "{out}");
    let (code, out, _) = ledger(&[
        "-d",
        s(&live),
        "backup",
        "create",
        "--to",
        s(&store),
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["copied"], 0, "an unchanged ledger copies nothing: {out}");
    assert_eq!(v["added_bytes"], 0);
    let (code, out, _) = ledger(&["backup", "list", "--in", s(&store)]);
    assert_eq!(code, 0);
    assert!(out.contains("2 backup(s)"), "{out}");
    let (code, out, _) = ledger(&["backup", "verify", "--in", s(&store)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
    let restored = tmp.path().join("restored");
    let (code, out, err) = ledger(&[
        "backup",
        "restore",
        "--from",
        s(&store),
        "--to",
        s(&restored),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("records verified"), "{out}");
    let (code, _, _) = ledger(&["-d", s(&restored), "verify"]);
    assert_eq!(code, 0);
    // Restoring over a ledger is refused.
    let (code, _, err) = ledger(&["backup", "restore", "--from", s(&store), "--to", s(&live)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("holds a ledger"), "{err}");
    let (code, out, _) = ledger(&["backup", "prune", "--in", s(&store), "--keep-last", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("removed 1 backup(s)"), "{out}");

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
    let (code, out, _) = ledger(&["backup", "verify", "--in", s(&store)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DAMAGED"), "{out}");
    let (code, _, _) = ledger(&["backup", "list", "--in", s(&live)]);
    assert_eq!(code, 2, "a ledger is not a backup store");
}

#[test]
fn migrate_writes_a_new_ledger_linked_to_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let new = tmp.path().join("new");
    assert_eq!(ledger(&["-d", s(&old), "demo"]).0, 0);
    let (code, out, err) = ledger(&["-d", s(&old), "migrate", "--to", s(&new), "--upcast"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("provenance link: holds"), "{out}");
    let (code, out, _) = ledger(&["-d", s(&new), "verify", "--previous", s(&old)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the link to"), "{out}");
    // Appending to the old ledger keeps the link (its head is still there).
    assert_eq!(ledger(&["-d", s(&old), "demo"]).0, 0);
    assert_eq!(
        ledger(&["-d", s(&new), "verify", "--previous", s(&old)]).0,
        0
    );
    // A migration into an existing ledger is refused.
    let (code, _, err) = ledger(&["-d", s(&old), "migrate", "--to", s(&new)]);
    assert_eq!(code, 2, "{err}");
}
