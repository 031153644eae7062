#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A `.pub` file holding a weak ed25519 point (the identity, or another
//! small-order point) is refused as a trusted key, naming the file; a
//! checkpoint forged "under" it does not verify.

mod common;

use std::fs;
use std::path::Path;

use common::{assert_contains, demo, json, ok, on, path_str};

/// The identity point (order 1).
const IDENTITY: &str = "0100000000000000000000000000000000000000000000000000000000000000";
/// A point of order 4 (y = 0).
const ORDER_4: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A checkpoint of `dir`'s real head "signed" by the identity key: the
/// signature R = identity, s = 0 satisfies plain ed25519 verification for
/// every message under that key.
fn forged_checkpoint(dir: &Path, out: &Path) {
    let v = json(&ok(on(dir, &["verify", "--json"])));
    let text = format!(
        "tradeledger-checkpoint v1\nledger-id: {}\nsequence: {}\nchain-hash: {}\ntime-ns: 1\npublic-key: {IDENTITY}\nsignature: {IDENTITY}{}\n",
        v["ledger_id"].as_str().unwrap(),
        v["head"]["seq"],
        v["head"]["chain_hash"].as_str().unwrap(),
        "0".repeat(64),
    );
    fs::write(out, text).unwrap();
}

#[test]
fn a_weak_trusted_key_file_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 100);
    let cp = tmp.path().join("forged.checkpoint");
    forged_checkpoint(&dir, &cp);
    for (name, point) in [("identity.pub", IDENTITY), ("order4.pub", ORDER_4)] {
        let key = tmp.path().join(name);
        fs::write(&key, format!("{point}\n")).unwrap();
        let run = on(
            &dir,
            &[
                "verify",
                "--checkpoint",
                path_str(&cp),
                "--trusted-key",
                path_str(&key),
            ],
        );
        assert_ne!(run.code, 0, "{}", run.all());
        assert_contains(&run.stderr, name);
        assert_contains(&run.stderr, "weak (small-order) ed25519 public key");
        assert!(!run.stdout.contains("result: intact"), "{}", run.all());
    }
}

#[test]
fn a_checkpoint_forged_under_the_identity_key_does_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 100);
    let cp = tmp.path().join("forged.checkpoint");
    forged_checkpoint(&dir, &cp);
    let run = on(&dir, &["verify", "--checkpoint", path_str(&cp)]);
    assert_eq!(run.code, 1, "damage: {}", run.all());
    assert_contains(&run.stdout, "weak (small-order) ed25519 public key");
    assert_contains(&run.stdout, "result: DAMAGED");
}
