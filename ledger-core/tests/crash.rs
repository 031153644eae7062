//! The crash-consistency campaign: a child process is killed with SIGKILL at
//! random moments, many times, and after every kill the parent checks what
//! it left.
//!
//! Two scenarios, each under every durability mode in turn:
//! - `writer`: the child appends forever, printing each receipt; kills land
//!   anywhere, including in rotations (16 KiB segments seal every ~70 records).
//! - `backup`: the child appends a while, backs the ledger up into a store,
//!   restores the newest backup into a fresh folder, and again; kills land in
//!   appends, in backups and in restores (aimed there on purpose).
//!
//! After every kill: recovery succeeds; every record whose receipt the child
//! printed is there, byte for byte, with the printed chain hash; the chain
//! verifies. In the backup scenario also: the store verifies (every manifest
//! and every object it names), every backup the child reported is listed,
//! the newest backup restores to a prefix of the live ledger, and every
//! restore target that exists is a whole, verified ledger.
//!
//! This test has its own `main` (no libtest harness) so that it takes flags:
//!
//! ```text
//! cargo test -p ledger-core --test crash -- --iterations 300 [--scenario writer|backup]
//! ```
//!
//! `LEDGER_CRASH_ITERATIONS=N` does the same as `--iterations N`. The default
//! (for CI) is 24 kills per scenario.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::*;
use ledger_core::BackupStore;
use ledger_core::{verify_dir, VerifyOptions};
use ledger_core::{Durability, Entry, Reader, SchemaVersion, Writer};

const CHILD_ENV: &str = "LEDGER_CRASH_CHILD_DIR";
const STORE_ENV: &str = "LEDGER_CRASH_CHILD_STORE";
const MODE_ENV: &str = "LEDGER_CRASH_MODE";
const SEED_ENV: &str = "LEDGER_CRASH_SEED";
const MODES: [&str; 3] = ["none", "group", "sync"];

fn mode(name: &str) -> Durability {
    match name {
        "sync" => Durability::SyncEveryAppend,
        "group" => Durability::GroupCommit {
            interval: Duration::from_millis(1),
        },
        _ => Durability::NoSync,
    }
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    if args.iter().any(|a| a == "--list") {
        // `cargo test -- --list` asks what tests exist.
        println!("crash_campaign: test");
        return;
    }
    let iterations: u64 = flag("--iterations")
        .or_else(|| std::env::var("LEDGER_CRASH_ITERATIONS").ok())
        .map(|s| s.parse().expect("--iterations takes a number"))
        .unwrap_or(24);
    let scenario = flag("--scenario").unwrap_or_else(|| "all".into());
    let started = Instant::now();
    if scenario == "all" || scenario == "writer" {
        writer_campaign(iterations);
    }
    if scenario == "all" || scenario == "backup" {
        backup_campaign(iterations);
    }
    println!("crash campaign done in {:.1?}", started.elapsed());
}

/// The child: appends forever (printing every receipt), and in the backup
/// scenario backs up and restores between runs of appends.
fn child(dir: &Path) {
    let m = std::env::var(MODE_ENV).unwrap_or_default();
    let mut rng: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        | 1;
    let store = std::env::var(STORE_ENV)
        .ok()
        .map(|s| (BackupStore::open_or_create(&s).unwrap(), PathBuf::from(s)));
    let mut w = Writer::open_or_create(dir, small(mode(&m))).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", w.next_seq()).unwrap();
    let mut round = 0u64;
    loop {
        let n = match &store {
            Some(_) => 20 + xorshift(&mut rng) % 200,
            None => u64::MAX,
        };
        for _ in 0..n {
            let i = w.next_seq().get() - 1;
            let p = payload(i);
            let r = w
                .append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
                .unwrap();
            writeln!(out, "{} {}", r.seq, r.chain_hash).unwrap();
            out.flush().unwrap();
        }
        let Some((store, store_dir)) = &store else {
            continue;
        };
        writeln!(out, "backing-up").unwrap();
        out.flush().unwrap();
        let report = store.create_backup(dir, &mut |_| {}).unwrap();
        let head = report.manifest.head.as_ref().map_or(0, |h| h.seq);
        writeln!(out, "backup {} {head}", report.manifest.id).unwrap();
        let target = store_dir
            .parent()
            .unwrap()
            .join("restores")
            .join(format!("r-{}-{round}", std::process::id()));
        writeln!(out, "restoring").unwrap();
        out.flush().unwrap();
        store.restore(None, &target, &mut |_| {}).unwrap();
        writeln!(out, "restored").unwrap();
        out.flush().unwrap();
        round += 1;
    }
}

/// A running child and what it printed. Dropping it kills the child, so a
/// failing campaign leaves no child appending forever.
struct Run {
    child: ChildGuard,
    /// The child's output, line by line (read on a thread of its own, so
    /// every wait for it has a deadline).
    out: Receiver<String>,
    /// Backups the child reported as done: id and head sequence.
    backups: Vec<(String, u64)>,
    /// Restores the child reported as done.
    restores: u64,
}

/// One line the child printed.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Receipt(u64, String),
    BackingUp,
    Backup(String, u64),
    Restoring,
    Restored,
    Other,
}

fn parse(line: &str) -> Line {
    let line = line.trim_end();
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("backing-up"), None, None) => Line::BackingUp,
        (Some("restoring"), None, None) => Line::Restoring,
        (Some("restored"), None, None) => Line::Restored,
        (Some("backup"), Some(id), Some(head)) => match head.parse() {
            Ok(h) => Line::Backup(id.to_owned(), h),
            Err(_) => Line::Other,
        },
        (Some(seq), Some(hash), None) if hash.len() == 64 => match seq.parse() {
            Ok(s) => Line::Receipt(s, hash.to_owned()),
            Err(_) => Line::Other,
        },
        _ => Line::Other,
    }
}

impl Run {
    fn spawn(dir: &Path, store: Option<&Path>, m: &str, seed: u64) -> Run {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env(CHILD_ENV, dir)
            .env(MODE_ENV, m)
            .env(SEED_ENV, seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(s) = store {
            cmd.env(STORE_ENV, s);
        }
        let mut child = ChildGuard::new(cmd.spawn().unwrap());
        let out = line_channel(child.child().stdout.take().unwrap());
        Run {
            child,
            out,
            backups: Vec::new(),
            restores: 0,
        }
    }

    /// Reads lines until `stop` says so, recording receipts and backups;
    /// fails if the child has not said so by the deadline.
    fn read_until(
        &mut self,
        receipts: &mut BTreeMap<u64, String>,
        mut stop: impl FnMut(&Line) -> bool,
    ) {
        let deadline = deadline();
        loop {
            let Some(line) = next_line_by(&self.out, deadline) else {
                panic!("the child ended before it was killed");
            };
            let l = parse(&line);
            self.note(&l, receipts);
            if stop(&l) {
                return;
            }
        }
    }

    fn note(&mut self, l: &Line, receipts: &mut BTreeMap<u64, String>) {
        match l {
            Line::Receipt(seq, hash) => {
                receipts.insert(*seq, hash.clone());
            }
            Line::Backup(id, head) => self.backups.push((id.clone(), *head)),
            Line::Restored => self.restores += 1,
            _ => {}
        }
    }

    /// SIGKILL, then the whole lines printed before death (still in the pipe).
    fn kill(mut self, receipts: &mut BTreeMap<u64, String>) -> (Vec<(String, u64)>, u64) {
        self.child.child().kill().unwrap();
        self.child.child().wait().unwrap();
        let deadline = deadline();
        while let Some(line) = next_line_by(&self.out, deadline) {
            if line.ends_with('\n') {
                let l = parse(&line);
                self.note(&l, receipts);
            }
        }
        (self.backups, self.restores)
    }
}

/// Recovery succeeds, every printed receipt is there byte for byte, the
/// chain verifies. Forgets receipts beyond the head (none can be, but the
/// next child continues from the head). Returns the head and the chain
/// hash of every record.
fn check_ledger(dir: &Path, receipts: &mut BTreeMap<u64, String>, what: &str) -> Vec<String> {
    let w = Writer::open(dir, small(Durability::NoSync))
        .unwrap_or_else(|e| panic!("{what}: recovery failed: {e}"));
    let head = w.next_seq().get() - 1;
    drop(w);
    if let Some(&last) = receipts.keys().last() {
        assert!(
            head >= last,
            "{what}: ledger ends at {head}, receipt {last} was printed"
        );
    }
    let mut hashes = Vec::new();
    let mut cursor = Reader::open(dir)
        .unwrap()
        .cursor()
        .unwrap()
        .verify_chain(true);
    while let Some(r) = cursor.next_record().unwrap() {
        assert_eq!(r.payload, payload(r.seq.get() - 1), "{what}");
        let hex = r.chain_hash.to_hex();
        if let Some(h) = receipts.get(&r.seq.get()) {
            assert_eq!(&hex, h, "{what}: record {} differs", r.seq);
        }
        hashes.push(hex);
    }
    assert_eq!(hashes.len() as u64, head, "{what}");
    let report = verify_dir(dir, &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{what}: {:?}", report.findings);
    receipts.retain(|&seq, _| seq <= head);
    hashes
}

fn writer_campaign(iterations: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut receipts: BTreeMap<u64, String> = BTreeMap::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for it in 0..iterations {
        let m = MODES[it as usize % MODES.len()];
        let lines_before_kill = 1 + xorshift(&mut rng) % if m == "sync" { 60 } else { 400 };
        let mut run = Run::spawn(dir.path(), None, m, it);
        let mut seen = 0;
        run.read_until(&mut receipts, |l| {
            seen += u64::from(matches!(l, Line::Receipt(..)));
            seen >= lines_before_kill
        });
        run.kill(&mut receipts);
        check_ledger(
            dir.path(),
            &mut receipts,
            &format!("writer kill {it} ({m})"),
        );
    }
    let sealed = sealed_files(dir.path()).len();
    assert!(
        sealed >= 3,
        "the campaign should cross rotations ({sealed} sealed)"
    );
    println!(
        "crash campaign, writer: {iterations} kills, {} receipts checked, {sealed} sealed segments, nothing lost",
        receipts.len()
    );
}

/// Where a kill of the backup scenario is aimed.
#[derive(Debug, Clone, Copy)]
enum Aim {
    Append,
    Backup,
    Restore,
}

fn backup_campaign(iterations: u64) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("live");
    let store_dir = root.path().join("store");
    let restore_dir = root.path().join("restores");
    let mut receipts: BTreeMap<u64, String> = BTreeMap::new();
    let mut reported: Vec<(String, u64)> = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    // Kills in appends, in backups, in restores, and aimed at a backup or
    // restore that completed first.
    let mut landed = [0u64; 4];
    for it in 0..iterations {
        let m = MODES[it as usize % MODES.len()];
        let aim = [Aim::Append, Aim::Backup, Aim::Restore][(xorshift(&mut rng) % 3) as usize];
        let mut run = Run::spawn(&dir, Some(&store_dir), m, it + 1);
        match aim {
            Aim::Append => {
                let n = 1 + xorshift(&mut rng) % 300;
                let mut seen = 0;
                run.read_until(&mut receipts, |l| {
                    seen += u64::from(matches!(l, Line::Receipt(..)));
                    seen >= n
                });
            }
            Aim::Backup | Aim::Restore => {
                let want = if matches!(aim, Aim::Backup) {
                    Line::BackingUp
                } else {
                    Line::Restoring
                };
                run.read_until(&mut receipts, |l| *l == want);
                // Somewhere inside the copy (backups and restores of these
                // ledgers take a few milliseconds).
                std::thread::sleep(Duration::from_micros(xorshift(&mut rng) % 6000));
            }
        }
        let (backups_before, restores_before) = (run.backups.len(), run.restores);
        let (backups, restores) = run.kill(&mut receipts);
        // A kill lands in a backup (restore) when the one it was aimed at
        // never reported completion.
        let slot = match aim {
            Aim::Append => 0,
            Aim::Backup if backups.len() == backups_before => 1,
            Aim::Restore if restores == restores_before => 2,
            _ => 3,
        };
        landed[slot] += 1;
        reported.extend(backups);
        let what = format!("backup-scenario kill {it} ({m}, aimed at {aim:?})");
        let live = check_ledger(&dir, &mut receipts, &what);
        check_store(&store_dir, &reported, &live, root.path(), &what);
        check_restores(&restore_dir, &what);
    }
    // Leftovers of killed backups go with the next prune, and the store is clean.
    let store = BackupStore::open(&store_dir).unwrap();
    let pruned = store.prune(2, None).unwrap();
    let v = store.verify(None, &mut |_| {}).unwrap();
    assert!(v.findings.is_empty(), "after prune: {:?}", v.findings);
    assert_no_temps(&store_dir);
    println!(
        "crash campaign, backup: {iterations} kills ({} in appends, {} in backups, {} in restores, {} just after one), \
         {} backups reported and verified, {} receipts checked, {} leftover temporary files pruned, nothing lost",
        landed[0], landed[1], landed[2], landed[3],
        reported.len(),
        receipts.len(),
        pruned.removed_temps
    );
}

/// The store verifies; every reported backup is listed; the newest restores
/// to a prefix of the live ledger.
fn check_store(
    store_dir: &Path,
    reported: &[(String, u64)],
    live: &[String],
    root: &Path,
    what: &str,
) {
    if !store_dir.exists() {
        assert!(reported.is_empty(), "{what}");
        return;
    }
    let store = BackupStore::open(store_dir).unwrap_or_else(|e| panic!("{what}: {e}"));
    let v = store
        .verify(None, &mut |_| {})
        .unwrap_or_else(|e| panic!("{what}: store verify: {e}"));
    assert!(v.findings.is_empty(), "{what}: {:?}", v.findings);
    let listed = store.list().unwrap();
    for (id, head) in reported {
        let m = listed
            .iter()
            .find(|b| &b.manifest.id == id)
            .unwrap_or_else(|| panic!("{what}: reported backup {id} is not listed"));
        assert_eq!(
            m.manifest.head.as_ref().map_or(0, |h| h.seq),
            *head,
            "{what}"
        );
    }
    let Some(newest) = listed.last() else {
        return;
    };
    let target = root.join("check-restore");
    let _ = std::fs::remove_dir_all(&target);
    let r = store
        .restore(Some(&newest.manifest.id), &target, &mut |_| {})
        .unwrap_or_else(|e| panic!("{what}: restoring {}: {e}", newest.manifest.id));
    let restored: Vec<String> = Reader::open(&target)
        .unwrap()
        .cursor()
        .unwrap()
        .verify_chain(true)
        .map(|r| r.unwrap().chain_hash.to_hex())
        .collect();
    assert_eq!(restored.len() as u64, r.records, "{what}");
    assert!(
        restored.len() <= live.len(),
        "{what}: the backup is ahead of the ledger"
    );
    assert_eq!(
        restored[..],
        live[..restored.len()],
        "{what}: the restored ledger is not a prefix of the live one"
    );
    std::fs::remove_dir_all(&target).unwrap();
}

/// Every restore target that exists is a whole, verified ledger (a restore
/// is moved into place only when complete); staging folders of killed
/// restores are removed.
fn check_restores(restores: &Path, what: &str) {
    let Ok(entries) = std::fs::read_dir(restores) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with('.') && name.contains(".restoring-") {
            std::fs::remove_dir_all(&p).unwrap();
            continue;
        }
        let v = verify_dir(&p, &VerifyOptions::default())
            .unwrap_or_else(|e| panic!("{what}: restore target {name} is no ledger: {e}"));
        assert!(
            v.is_intact(),
            "{what}: restore target {name}: {:?}",
            v.findings
        );
        std::fs::remove_dir_all(&p).unwrap();
    }
}

fn assert_no_temps(dir: &Path) {
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.file_name().unwrap().to_str().unwrap();
                assert!(!name.contains(".tmp"), "leftover {}", p.display());
            }
        }
    }
}
