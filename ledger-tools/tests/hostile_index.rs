//! Forged index files through the command line (issue 13, item 1): an
//! insider rewrites an `.idx` file with a valid checksum. For each attack
//! the issue reproduced on `ledger demo`:
//! - `ledger verify` names the file as forged and exits 1, while saying the
//!   records themselves are intact;
//! - the `ledger export` the attack aimed at prints exactly what it printed
//!   before the forgery, warns on stderr naming the file, and rebuilds it
//!   (`verify` then exits 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../ledger-index/tests/forge/mod.rs"]
mod forge;

use std::path::Path;

use common::{assert_contains, demo, json, ok, on};
use forge::{name, read, SESSION, SYMBOL};
use ledger_core::Seq;
use ledger_domain::{EventKind, TradingKeys};
use ledger_index::{LedgerIndex, Query, SegmentIndex};

/// The generated session of `ledger demo`'s first run.
const GENERATED: &str = "demo-1-generated";

/// A demo ledger of 5,000 generated events in 64 KiB segments, with the
/// index file of every sealed segment built.
fn ledger(dir: &Path) {
    demo(dir, 5000);
    ok(on(dir, &["export", "--kind", "trade_closed"]));
    assert!(forge::idx_files(dir).len() >= 5);
}

/// Runs the attack: `args` before the forgery, the forgery, `verify`,
/// `args` again, `verify` again.
fn attack(dir: &Path, idx: &Path, args: &[&str], change: impl FnOnce(&mut SegmentIndex)) {
    let before = ok(on(dir, args));
    assert!(!before.stderr.contains("warning"), "{}", before.stderr);
    assert!(!before.stdout.is_empty());
    ok(on(dir, &["verify"]));

    forge::forge(idx, change);
    let file = name(idx);
    let v = on(dir, &["verify"]);
    assert_eq!(v.code, 1, "verify must fail on a forged index: {}", v.all());
    assert_contains(&v.stdout, &format!("index file {file}"));
    assert_contains(&v.stdout, "FORGED");
    assert_contains(&v.stdout, "the records themselves are intact");
    let j = on(dir, &["verify", "--json"]);
    assert_eq!(j.code, 1);
    let j = json(&j);
    assert_eq!(j["intact"], true, "the records are intact");
    assert_eq!(j["index_files"]["forged"], 1);
    assert_eq!(j["index_files"]["findings"][0]["file"], file.as_str());
    assert_eq!(j["index_files"]["findings"][0]["forged"], true);

    let after = on(dir, args);
    assert_eq!(after.code, 0, "{}", after.all());
    assert!(
        after.stdout == before.stdout,
        "the forged index changed the answer"
    );
    assert_contains(&after.stderr, &format!("warning: index file {file}"));
    // Refused, then rebuilt from the segment.
    ok(on(dir, &["verify"]));
    let again = ok(on(dir, args));
    assert_eq!(again.stdout, before.stdout);
    assert!(!again.stderr.contains("warning"), "{}", again.stderr);
}

#[test]
fn export_by_symbol_survives_records_swapped_between_symbols() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ledger(&dir);
    let idx = forge::file_with(&dir, SYMBOL, "BTC-USD", 4);
    attack(&dir, &idx, &["export", "--symbol", "BTC-USD"], |ix| {
        forge::swap_key(ix, SYMBOL, "BTC-USD", "ETH-USD", 3)
    });
}

#[test]
fn export_by_kind_survives_a_truncated_kind_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ledger(&dir);
    let code = EventKind::TradeClosed.code();
    let idx = forge::idx_files(&dir)
        .into_iter()
        .max_by_key(|p| read(p).1.kinds.get(&code).map_or(0, Vec::len))
        .unwrap();
    attack(&dir, &idx, &["export", "--kind", "trade_closed"], |ix| {
        forge::truncate_kind(ix, EventKind::TradeClosed, 1)
    });
}

#[test]
fn export_by_session_survives_a_truncated_session_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ledger(&dir);
    let idx = forge::file_with(&dir, SESSION, GENERATED, 50);
    attack(&dir, &idx, &["export", "--session", GENERATED], |ix| {
        forge::truncate_key(ix, SESSION, GENERATED, 10)
    });
}

#[test]
fn export_from_a_time_survives_forged_time_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ledger(&dir);
    let idx = forge::idx_files(&dir)
        .into_iter()
        .find(|p| read(p).1.times.len() >= 2)
        .expect("a segment of more than 256 records");
    let first = read(&idx).1.first_seq;
    let records = LedgerIndex::open(&dir, TradingKeys)
        .unwrap()
        .scan(&Query {
            from_seq: Some(Seq::new(first + 1)),
            to_seq: Some(Seq::new(first + 300)),
            ..Query::default()
        })
        .unwrap();
    let from = records
        .windows(2)
        .find(|w| w[0].time < w[1].time)
        .map(|w| w[1].time)
        .unwrap();
    let from = ledger_tools::times::rfc3339(from);
    attack(
        &dir,
        &idx,
        &["export", "--from", &from, "--format", "csv"],
        forge::flatten_times,
    );
}

#[test]
fn export_survives_an_index_whose_record_count_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ledger(&dir);
    let idx = forge::idx_files(&dir).remove(1);
    attack(
        &dir,
        &idx,
        &["export", "--session", GENERATED],
        forge::drop_last_record,
    );
}

/// An offset pointed into an audit note's `reason`, where a complete
/// fabricated `trade_closed` record was hidden: `export --trade` never
/// prints it.
#[test]
fn export_by_trade_never_prints_a_record_hidden_in_a_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let hidden = forge::hidden_record(&dir);
    let trade = hidden.trade.clone();
    let args = ["export", "--trade", trade.as_str()];
    let before = ok(on(&dir, &args));
    assert!(!before.stdout.contains(&hidden.pnl));
    ok(on(&dir, &["verify"]));
    hidden.forge();
    let v = on(&dir, &["verify"]);
    assert_eq!(v.code, 1, "{}", v.all());
    assert_contains(&v.stdout, &format!("index file {}", name(&hidden.idx)));
    assert_contains(&v.stdout, "FORGED");
    let after = on(&dir, &args);
    assert_eq!(after.code, 0, "{}", after.all());
    assert!(
        !after.stdout.contains(&hidden.pnl),
        "the fabricated record was printed: {}",
        after.stdout
    );
    assert_eq!(after.stdout, before.stdout);
    assert_contains(
        &after.stderr,
        &format!("warning: index file {}", name(&hidden.idx)),
    );
    ok(on(&dir, &["verify"]));
}
