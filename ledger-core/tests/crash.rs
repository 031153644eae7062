//! A writer process killed with SIGKILL at varied moments, many times, under
//! each durability mode and across rotations: after every kill, recovery
//! succeeds, every record whose receipt the child printed is present and
//! identical, and the chain verifies.
//!
//! `LEDGER_CRASH_ITERATIONS=N` runs a longer campaign.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use ledger_core::verify::{verify_dir, VerifyOptions};
use ledger_core::{Durability, Entry, Reader, SchemaVersion, Writer};

const CHILD_ENV: &str = "LEDGER_CRASH_CHILD_DIR";

fn mode(name: &str) -> Durability {
    match name {
        "sync" => Durability::SyncEveryAppend,
        "group" => Durability::GroupCommit {
            interval: Duration::from_millis(1),
        },
        _ => Durability::NoSync,
    }
}

/// The child: appends forever, printing each receipt as soon as it has it.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let m = std::env::var("LEDGER_CRASH_MODE").unwrap_or_default();
    let mut w = Writer::open_or_create(&dir, small(mode(&m))).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", w.next_seq()).unwrap();
    loop {
        let i = w.next_seq().get() - 1;
        let p = payload(i);
        let r = w
            .append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
            .unwrap();
        writeln!(out, "{} {}", r.seq, r.chain_hash).unwrap();
        out.flush().unwrap();
    }
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn sigkill_at_varied_moments_loses_no_receipted_record() {
    let iterations: u64 = std::env::var("LEDGER_CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let dir = tempfile::tempdir().unwrap();
    let mut receipts: BTreeMap<u64, String> = BTreeMap::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let modes = ["none", "group", "sync"];
    for it in 0..iterations {
        let m = modes[it as usize % modes.len()];
        let lines_before_kill = 1 + xorshift(&mut rng) % if m == "sync" { 60 } else { 400 };
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("LEDGER_CRASH_MODE", m)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut seen = 0;
        let parse = |line: &str, receipts: &mut BTreeMap<u64, String>| {
            if let Some((seq, hash)) = line.trim_end().split_once(' ') {
                if let (Ok(seq), true) = (seq.parse::<u64>(), hash.len() == 64) {
                    receipts.insert(seq, hash.to_owned());
                    return true;
                }
            }
            false
        };
        while seen < lines_before_kill {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("iteration {it}: the child ended before it was killed");
            }
            if parse(&line, &mut receipts) {
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Receipts printed before death and still in the pipe count too;
        // only whole lines are receipts.
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        for l in rest.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            parse(l, &mut receipts);
        }

        let w = Writer::open(dir.path(), small(Durability::NoSync))
            .unwrap_or_else(|e| panic!("iteration {it} ({m}): recovery failed: {e}"));
        let head = w.next_seq().get() - 1;
        drop(w);
        let last_receipt = *receipts.keys().last().unwrap();
        assert!(
            head >= last_receipt,
            "iteration {it} ({m}): ledger ends at {head}, receipt {last_receipt} was printed"
        );
        let mut cursor = Reader::open(dir.path())
            .unwrap()
            .cursor()
            .unwrap()
            .verify_chain(true);
        while let Some(r) = cursor.next_record().unwrap() {
            assert_eq!(r.payload, payload(r.seq.get() - 1), "iteration {it}");
            if let Some(h) = receipts.get(&r.seq.get()) {
                assert_eq!(
                    &r.chain_hash.to_hex(),
                    h,
                    "iteration {it}: record {} differs",
                    r.seq
                );
            }
        }
        assert_eq!(cursor.next_seq().get(), head + 1);
        // Records the child appended but never printed are kept too; their
        // hashes are now part of the chain later children continue.
        let report = verify_dir(dir.path(), &VerifyOptions::default()).unwrap();
        assert!(
            report.is_intact(),
            "iteration {it} ({m}): {:?}",
            report.findings
        );
        for seq in receipts.keys().copied().collect::<Vec<_>>() {
            if seq > head {
                receipts.remove(&seq);
            }
        }
    }
    let sealed = sealed_files(dir.path()).len();
    assert!(
        sealed >= 3,
        "the campaign should cross rotations ({sealed} sealed)"
    );
    println!(
        "crash campaign: {iterations} kills, {} receipts checked, {sealed} sealed segments",
        receipts.len()
    );
}
