#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A forged projection snapshot changes no answer of the command line
//! (issue 13, item 7): with empty projections bound to the real head, in
//! format 1 (a plain checksum anyone recomputes) or in format 2 under the
//! insider's own key, `ledger append` refuses a duplicate `trade_opened T1`
//! and a `trade_closed` claiming a P&L of 1,000,000 exactly as it does
//! without the snapshot, and `replay` and `report` print what a fold of the
//! log gives.

mod common;

use std::fs;
use std::path::Path;

use common::{demo, json, ok, on, path_str};
use ledger_core::{ChainHash, ContentHash, Reader, Seq, Timestamp};
use ledger_domain::snapshot::{self, SnapshotKey};
use ledger_domain::Projections;

const DUPLICATE_OPEN: &str = r#"{"kind":"trade_opened","data":{"session":"demo-1","trade_id":"T1","symbol":"BTC-USD","direction":"long","qty":"1","price":"40000","fees":"0","decision_id":null,"order_id":null}}"#;
const BOGUS_CLOSE: &str = r#"{"kind":"trade_closed","data":{"session":"demo-1","trade_id":"T1","symbol":"BTC-USD","price":"1040000","fees":"0","realized_pnl":"1000000","order_id":null}}"#;

/// Empty projections bound to `dir`'s head, as a snapshot file: format 2
/// authenticated with a key of the insider's choosing, or (`v1`) format 1
/// with its plain blake3 checksum.
fn forge(dir: &Path, v1: bool) {
    let v = json(&ok(on(dir, &["verify", "--json"])));
    let head = (
        Seq::new(v["head"]["seq"].as_u64().unwrap()),
        ChainHash::from_hex(v["head"]["chain_hash"].as_str().unwrap()).unwrap(),
        Timestamp::from_nanos(v["head"]["timestamp_ns"].as_i64().unwrap()),
    );
    let views = Projections {
        last: Some(head),
        ..Projections::default()
    };
    let id = Reader::open(dir).unwrap().ledger_id();
    let insider = SnapshotKey::from_bytes([0x66; 32]);
    let (seq, mut bytes) = snapshot::encode(&id, &views, &insider).unwrap();
    if v1 {
        bytes[8..10].copy_from_slice(&1u16.to_le_bytes());
        let body = bytes.len() - 32;
        let sum = ContentHash::of(&bytes[..body]);
        bytes[body..].copy_from_slice(sum.as_bytes());
    }
    fs::write(dir.join(snapshot::file_name(seq)), bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// `ledger -d DIR args`: exit code, standard output and error, with the
/// folder's path replaced by `DIR`.
fn outcome(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let run = on(dir, args);
    let d = path_str(dir);
    (
        run.code,
        run.stdout.replace(d, "DIR"),
        run.stderr.replace(d, "DIR"),
    )
}

#[test]
fn a_forged_snapshot_changes_no_answer_of_append_replay_or_report() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    demo(&clean, 100);
    let inputs = tmp.path().join("inputs");
    fs::create_dir(&inputs).unwrap();
    let cases = [
        ("duplicate-open.jsonl", format!("{DUPLICATE_OPEN}\n")),
        ("bogus-close.jsonl", format!("{BOGUS_CLOSE}\n")),
        ("both.jsonl", format!("{DUPLICATE_OPEN}\n{BOGUS_CLOSE}\n")),
    ];
    for (name, text) in &cases {
        fs::write(inputs.join(name), text).unwrap();
    }
    for v1 in [true, false] {
        let forged = tmp
            .path()
            .join(format!("forged-v{}", if v1 { 1 } else { 2 }));
        copy_dir(&clean, &forged);
        forge(&forged, v1);
        // The snapshot is derived data: the ledger itself verifies intact.
        ok(on(&forged, &["verify"]));
        for (name, _) in &cases {
            let input = inputs.join(name);
            let args = ["append", path_str(&input)];
            let expected = outcome(&clean, &args);
            assert_eq!(expected.0, 2, "refused without the snapshot: {expected:?}");
            assert!(expected.2.contains("event refused"), "{expected:?}");
            assert_eq!(outcome(&forged, &args), expected, "v1: {v1}, {name}");
        }
        for args in [
            &["replay"][..],
            &["replay", "--trade", "T1"],
            &["replay", "--json"],
            &["report"],
            &["report", "--json"],
        ] {
            let expected = outcome(&clean, args);
            assert_eq!(expected.0, 0, "{args:?}: {expected:?}");
            assert_eq!(outcome(&forged, args), expected, "v1: {v1}, {args:?}");
        }
    }
}
