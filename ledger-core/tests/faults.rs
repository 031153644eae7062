//! Fault injection through the storage seam: a crash before every I/O step,
//! and no-space, I/O-error and short-write failures at every I/O step, of a
//! workload that creates a ledger, appends across several rotations, syncs
//! and closes; faults during recovery; failing reads.
//!
//! After every fault: each append either succeeded or failed with an error
//! that names the injected cause and the file; the folder (as the fault left
//! it, and as a process crash or a power loss at that moment would leave it)
//! reopens, verifies, and holds every record acknowledged as durable (after a
//! power loss) or every record appended (after a process crash), byte for
//! byte; and the reopened ledger takes new appends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{kind, mem_sealed, payload, small};
use ledger_core::storage::{CrashMode, Fault, IoFault, IoOp, MemStorage, Storage};
use ledger_core::{verify, FindingKind, VerifyOptions};
use ledger_core::{Durability, Entry, OpenMode, Reader, Receipt, SchemaVersion, Writer};

/// Records the workload appends: enough for five or six 16 KiB segments.
const RECORDS: u64 = 300;
/// The workload syncs after every this many appends.
const SYNC_EVERY: u64 = 40;

/// What a workload run got acknowledged before it stopped.
#[derive(Debug, Default, Clone)]
struct Acks {
    /// Receipts of every append that returned `Ok`.
    receipts: Vec<Receipt>,
    /// Appends that returned before a planned crash happened (those are in
    /// the page cache, so a process crash keeps them).
    before_crash: usize,
    /// Records acknowledged durable (by the durability mode, `sync`, or
    /// `close`) before any crash.
    durable: usize,
    /// The error that stopped the workload, if any.
    error: Option<String>,
}

/// Opens a writer over `st` that seals full segments on its own thread, in
/// a fixed order of I/O steps (the sealer thread runs the same steps; the
/// campaigns with it are [`sealer_thread`] and group commit's).
fn open(st: &MemStorage, mode: OpenMode, d: Durability) -> Result<Writer, ledger_core::OpenError> {
    open_with(st, mode, d, false)
}

fn open_with(
    st: &MemStorage,
    mode: OpenMode,
    d: Durability,
    background: bool,
) -> Result<Writer, ledger_core::OpenError> {
    Writer::open_storage(
        Arc::new(st.clone()),
        mode,
        small(d).preallocate(false).seal_in_background(background),
    )
}

/// Whether the workload's writer uses the sealer thread: with group commit
/// (whose steps vary from run to run anyway, the flusher being a thread).
fn sealer_thread(d: Durability) -> bool {
    matches!(d, Durability::GroupCommit { .. })
}

/// Creates a ledger, appends [`RECORDS`] records (syncing now and then),
/// closes. Stops at the first error.
fn workload(st: &MemStorage, d: Durability) -> Acks {
    workload_with(st, d, sealer_thread(d))
}

fn workload_with(st: &MemStorage, d: Durability, background: bool) -> Acks {
    let mut acks = Acks::default();
    if let Err(e) = run(st, d, background, &mut acks) {
        acks.error = Some(e.to_string());
    }
    acks
}

fn run(
    st: &MemStorage,
    d: Durability,
    background: bool,
    acks: &mut Acks,
) -> ledger_core::Result<()> {
    let mut w = open_with(st, OpenMode::OpenOrCreate, d, background)?;
    for i in 0..RECORDS {
        let p = payload(i);
        let r = w.append(&Entry::new(kind(i), SchemaVersion::new(1), &p))?;
        acks.receipts.push(r);
        let alive = !st.has_crashed();
        if alive {
            acks.before_crash = acks.receipts.len();
        }
        if d == Durability::SyncEveryAppend && alive {
            acks.durable = acks.receipts.len();
        }
        if (i + 1) % SYNC_EVERY == 0 {
            w.sync()?;
            if !st.has_crashed() {
                acks.durable = acks.receipts.len();
            }
        }
    }
    w.close()?;
    if !st.has_crashed() {
        acks.durable = acks.receipts.len();
    }
    Ok(())
}

/// Opens `st` (as a process that starts after the fault), checks it holds
/// at least `at_least` records, all of them the workload's records (byte for
/// byte, and with the chain hashes of the receipts it got), verifies it, and
/// appends one more record. Returns the number of records found.
fn check_reopens(st: &MemStorage, acks: &Acks, at_least: usize, what: &str) -> usize {
    let w = open(st, OpenMode::OpenOrCreate, Durability::NoSync)
        .unwrap_or_else(|e| panic!("{what}: reopening failed: {e}"));
    let report = w.recovery_report().clone();
    drop(w);
    let records: Vec<_> = Reader::with_storage(Arc::new(st.clone()))
        .unwrap()
        .cursor()
        .unwrap()
        .verify_chain(true)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{what}: reading back failed: {e}"));
    assert!(
        records.len() >= at_least,
        "{what}: {} records survived, {at_least} were acknowledged ({report:?})",
        records.len()
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq.get(), i as u64 + 1, "{what}");
        assert_eq!(
            r.payload,
            payload(i as u64),
            "{what}: record {} differs",
            i + 1
        );
        if let Some(rc) = acks.receipts.get(i) {
            assert_eq!(r.chain_hash, rc.chain_hash, "{what}: record {}", i + 1);
        }
    }
    let v = verify(Arc::new(st.clone()), &VerifyOptions::default()).unwrap();
    assert!(v.is_intact(), "{what}: {:?}", v.findings);
    // The ledger takes new appends after the fault.
    let mut w = open(st, OpenMode::Open, Durability::NoSync).unwrap();
    let n = records.len() as u64;
    let p = payload(n);
    let r = w
        .append(&Entry::new(kind(n), SchemaVersion::new(1), &p))
        .unwrap_or_else(|e| panic!("{what}: appending after the fault failed: {e}"));
    assert_eq!(r.seq.get(), n + 1, "{what}");
    w.close().unwrap();
    records.len()
}

fn modes() -> [Durability; 2] {
    [Durability::NoSync, Durability::SyncEveryAppend]
}

/// The number of I/O steps of a fault-free workload.
fn dry_run(d: Durability) -> (u64, Vec<(IoOp, String)>) {
    let st = MemStorage::new();
    let acks = workload(&st, d);
    assert!(acks.error.is_none(), "{:?}", acks.error);
    assert_eq!(acks.receipts.len() as u64, RECORDS);
    let log = st.step_log();
    let seals = log
        .iter()
        .filter(|(op, n)| *op == IoOp::Rename && n.ends_with(".active"))
        .count();
    assert!(
        seals >= 4,
        "the workload must rotate a few times, sealed {seals}"
    );
    (st.io_steps(), log)
}

#[test]
fn a_crash_before_any_io_step_loses_no_acknowledged_record() {
    let mut runs = 0;
    let mut lost_unsynced = 0;
    let group = Durability::GroupCommit {
        interval: std::time::Duration::from_millis(1),
    };
    for d in [Durability::NoSync, Durability::SyncEveryAppend, group] {
        // Group commit flushes from its own thread, so its steps differ from
        // run to run: the crash lands wherever that step falls in each run.
        let (steps, log) = dry_run(d);
        for step in 0..=steps {
            let st = MemStorage::new();
            st.inject(step, Fault::Crash);
            let acks = workload(&st, d);
            let Some(image) = st.crash_image(CrashMode::ProcessCrash) else {
                // Only the step after the last one is never reached.
                assert!(
                    step == steps || d == group,
                    "{d:?}: crash at step {step} never fired"
                );
                continue;
            };
            let at = match st.step_log().get(step as usize).or(log.get(step as usize)) {
                Some((op, n)) => format!("{op:?} {n}"),
                None => "the end".to_owned(),
            };
            let what = format!("{d:?}, crash before step {step} ({at})");
            check_reopens(
                &image.unwrap(),
                &acks,
                acks.before_crash,
                &format!("{what}, process crash"),
            );
            let power = st.crash_image(CrashMode::PowerLoss).unwrap().unwrap();
            let n = check_reopens(&power, &acks, acks.durable, &format!("{what}, power loss"));
            lost_unsynced += usize::from(n < acks.before_crash);
            let seed = step + 1;
            let torn = st
                .crash_image(CrashMode::PowerLossTornPages { seed })
                .unwrap()
                .unwrap();
            check_reopens(&torn, &acks, acks.durable, &format!("{what}, torn pages"));
            runs += 1;
        }
    }
    assert!(runs > 500, "only {runs} crash points");
    println!(
        "crash before every I/O step: {runs} crash points x 3 crash images (process crash, power loss, torn pages), \
         {lost_unsynced} power losses took unsynced records, no acknowledged record lost"
    );
    assert!(
        lost_unsynced > 0,
        "no power loss lost an unsynced record: the scenario tests nothing"
    );
}

#[test]
fn failures_at_any_io_step_are_clear_errors_and_lose_nothing() {
    let faults = [
        Fault::Once(IoFault::NoSpace),
        Fault::Once(IoFault::Io),
        Fault::Once(IoFault::ShortWrite),
        Fault::From(IoFault::NoSpace),
        Fault::From(IoFault::Io),
    ];
    let mut failed_runs = 0;
    let mut runs = 0;
    for d in modes() {
        let (steps, log) = dry_run(d);
        for fault in faults {
            for step in 0..steps {
                let st = MemStorage::new();
                st.inject(step, fault);
                let acks = workload(&st, d);
                runs += 1;
                let (op, name) = &log[step as usize];
                let what = format!("{d:?}, {fault:?} at step {step} ({op:?} {name})");
                if let Some(e) = &acks.error {
                    failed_runs += 1;
                    assert!(e.contains("injected fault"), "{what}: unclear error: {e}");
                    assert!(e.contains("mem:"), "{what}: the error names no path: {e}");
                }
                st.clear_faults();
                // What a power loss right after the failure leaves.
                let power = st.crash(CrashMode::PowerLoss).unwrap();
                check_reopens(&power, &acks, acks.durable, &format!("{what}, power loss"));
                // The same process (or a new one) opening the folder as it is.
                check_reopens(
                    &st,
                    &acks,
                    acks.receipts.len(),
                    &format!("{what}, reopened"),
                );
            }
        }
    }
    assert!(failed_runs > 1000, "only {failed_runs} runs saw an error");
    println!(
        "failures at every I/O step: {runs} runs, {failed_runs} stopped by a clear error, all reopened with every acknowledged record"
    );
}

/// Crashed folders whose opening has work to do: one crashed between
/// trimming a sealed segment and renaming it (recovery completes the seal
/// and starts the next segment), one lost unflushed pages at random after a
/// power loss (recovery cuts the torn tail and saves the cut bytes).
fn crashed_folders() -> Vec<(&'static str, MemStorage)> {
    let (_, log) = dry_run(Durability::NoSync);
    let seal_rename = log
        .iter()
        .position(|(op, n)| *op == IoOp::Rename && n.ends_with(".active"))
        .unwrap() as u64;
    let st = MemStorage::new();
    st.inject(seal_rename, Fault::Crash);
    let _ = workload(&st, Durability::NoSync);
    let mid_seal = st.crash_image(CrashMode::ProcessCrash).unwrap().unwrap();

    let st = MemStorage::new();
    let mut w = open(&st, OpenMode::Create, Durability::NoSync).unwrap();
    for i in 0..RECORDS / 2 {
        let p = payload(i);
        let _ = w
            .append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
            .unwrap();
        if i == 20 {
            w.sync().unwrap();
        }
    }
    let torn = st.crash(CrashMode::PowerLossTornPages { seed: 7 }).unwrap();
    drop(w);
    vec![("interrupted seal", mid_seal), ("torn tail", torn)]
}

#[test]
fn faults_during_recovery_never_cost_records() {
    for (case, image) in crashed_folders() {
        recover_with_faults(case, &image);
    }
}

fn recover_with_faults(case: &str, image: &MemStorage) {
    // A fault-free recovery of a copy tells how many records the image holds.
    let clean = image.crash(CrashMode::ProcessCrash).unwrap();
    let baseline = check_reopens(&clean, &Acks::default(), 0, case);
    assert!(baseline > 0, "{case}");
    let probe = image.crash(CrashMode::ProcessCrash).unwrap();
    drop(open(&probe, OpenMode::Open, Durability::NoSync).unwrap());
    let steps = probe.io_steps();
    let log = probe.step_log();
    let did = |op: IoOp, f: &dyn Fn(&str) -> bool| log.iter().any(|(o, n)| *o == op && f(n));
    assert!(
        did(IoOp::WriteFile, &|n| n.starts_with("cut-"))
            || did(IoOp::Rename, &|n| n.ends_with(".active")),
        "{case}: recovery did nothing: {log:?}"
    );
    let faults = [
        Fault::Crash,
        Fault::Once(IoFault::Io),
        Fault::Once(IoFault::ShortWrite),
        Fault::From(IoFault::NoSpace),
    ];
    for fault in faults {
        for step in 0..steps {
            let st = image.crash(CrashMode::ProcessCrash).unwrap();
            st.inject(step, fault);
            let what = format!(
                "{case}: {fault:?} at recovery step {step} ({:?})",
                log[step as usize]
            );
            match open(&st, OpenMode::Open, Durability::NoSync) {
                Ok(w) => drop(w),
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains("injected"), "{what}: unclear error: {e}");
                }
            }
            st.clear_faults();
            let after = match st.crash_image(CrashMode::PowerLoss) {
                Some(img) => img.unwrap(),
                None => st.crash(CrashMode::PowerLoss).unwrap(),
            };
            let n = check_reopens(&after, &Acks::default(), 0, &what);
            assert_eq!(
                n, baseline,
                "{what}: recovery after the fault found other records"
            );
        }
    }
}

#[test]
fn failing_reads_are_reported_and_change_nothing() {
    let st = MemStorage::new();
    let acks = workload(&st, Durability::NoSync);
    assert!(acks.error.is_none());
    let files = |st: &MemStorage| -> Vec<(String, Vec<u8>)> {
        st.list()
            .unwrap()
            .into_iter()
            .map(|n| {
                let b = st.file_bytes(&n).unwrap();
                (n, b)
            })
            .collect()
    };
    let before = files(&st);
    // Count the read steps of opening a reader, reading everything, verifying.
    let read_all = |st: &MemStorage| -> Result<usize, String> {
        let reader = Reader::with_storage(Arc::new(st.clone())).map_err(|e| e.to_string())?;
        let n = reader
            .cursor()
            .map_err(|e| e.to_string())?
            .verify_chain(true)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?
            .len();
        let v =
            verify(Arc::new(st.clone()), &VerifyOptions::default()).map_err(|e| e.to_string())?;
        for f in &v.findings {
            // A segment that cannot be read is a located finding, not damage.
            assert_eq!(f.kind, FindingKind::Unreadable, "{f:?}");
            assert!(f.segment.starts_with("00000"), "{f:?}");
            assert!(f.detail.contains("injected fault"), "{f:?}");
        }
        if !v.is_intact() {
            return Err(format!(
                "verify found unreadable segments (mem:): {:?}",
                v.findings
            ));
        }
        Ok(n)
    };
    let start = st.io_steps();
    assert_eq!(read_all(&st).unwrap(), RECORDS as usize);
    let steps = st.io_steps() - start;
    assert!(steps > 5);
    let mut errors = 0;
    for step in 0..steps {
        st.inject(st.io_steps() + step, Fault::From(IoFault::Io));
        match read_all(&st) {
            Ok(n) => assert_eq!(n, RECORDS as usize),
            Err(e) => {
                errors += 1;
                assert!(
                    e.contains("injected fault"),
                    "read step {step}: unclear error: {e}"
                );
                assert!(e.contains("mem:"), "read step {step}: no path in: {e}");
            }
        }
        st.clear_faults();
    }
    assert!(
        errors as u64 >= steps / 2,
        "only {errors} of {steps} failing reads noticed"
    );
    assert_eq!(files(&st), before, "a failed read changed the folder");
    // A writer whose open fails on a read leaves the folder as it was, too.
    for step in 0..20 {
        st.inject(st.io_steps() + step, Fault::From(IoFault::Io));
        let r = open(&st, OpenMode::Open, Durability::NoSync);
        st.clear_faults();
        match r {
            Ok(w) => w.close().unwrap(),
            Err(e) => assert!(e.to_string().contains("injected fault"), "{e}"),
        }
    }
    assert_eq!(files(&st), before);
}

/// Disk full at each step of a rotation: each leaves a ledger that reopens
/// with every record. The steps, in order: the writer creates the next
/// segment's file and renames it to its active name (preallocation is off
/// here); the sealer flushes the full segment's records, its header (the
/// watermark at the footer) and the next segment's header, syncs the
/// folder, trims the full segment, renames it to its content address and
/// syncs the folder again (`writer/sealer.rs`).
#[test]
fn disk_full_while_sealing_or_starting_a_segment_leaves_a_ledger_that_reopens() {
    let (_, log) = dry_run(Durability::NoSync);
    let trim = log
        .iter()
        .position(|(op, _)| *op == IoOp::Truncate)
        .unwrap();
    let start = log[..trim]
        .iter()
        .rposition(|(op, n)| *op == IoOp::Create && n.ends_with(".prealloc"))
        .unwrap();
    let named: Vec<(u64, IoOp, String)> = log
        .iter()
        .enumerate()
        .take(trim + 3)
        .skip(start)
        .map(|(i, (op, name))| (i as u64, *op, name.clone()))
        .collect();
    let ops: Vec<IoOp> = named.iter().map(|(_, op, _)| *op).collect();
    assert_eq!(
        ops,
        [
            IoOp::Create,
            IoOp::Rename,
            IoOp::Flush,
            IoOp::Flush,
            IoOp::Flush,
            IoOp::SyncDir,
            IoOp::Truncate,
            IoOp::Rename,
            IoOp::SyncDir
        ],
        "{named:?}"
    );
    for (step, op, name) in named {
        let st = MemStorage::new();
        st.inject(step, Fault::From(IoFault::NoSpace));
        let acks = workload(&st, Durability::NoSync);
        let e = acks
            .error
            .clone()
            .unwrap_or_else(|| panic!("disk full at {op:?} {name} went unnoticed"));
        assert!(
            e.contains("sealing") || e.contains("starting segment"),
            "{op:?} {name}: {e}"
        );
        st.clear_faults();
        let what = format!("disk full at {op:?} {name}");
        check_reopens(&st, &acks, acks.receipts.len(), &what);
        let power = st.crash(CrashMode::PowerLoss).unwrap();
        check_reopens(&power, &acks, acks.durable, &format!("{what}, power loss"));
    }
}

/// The campaigns above with the sealer thread (no sync): a crash before
/// any I/O step, and a disk that fills at any step, wherever the writer's
/// and the sealer's steps interleave in each run. Nothing acknowledged is
/// lost, and every failure is a clear error.
#[test]
fn the_sealer_thread_survives_a_crash_or_a_full_disk_at_any_step() {
    let d = Durability::NoSync;
    let st = MemStorage::new();
    let acks = workload_with(&st, d, true);
    assert!(acks.error.is_none(), "{:?}", acks.error);
    let steps = st.io_steps();
    let mut fired = 0;
    for step in 0..steps {
        let st = MemStorage::new();
        st.inject(step, Fault::Crash);
        let acks = workload_with(&st, d, true);
        let Some(image) = st.crash_image(CrashMode::ProcessCrash) else {
            continue;
        };
        fired += 1;
        let what = format!("sealer thread, crash before step {step}");
        check_reopens(
            &image.unwrap(),
            &acks,
            acks.before_crash,
            &format!("{what}, process crash"),
        );
        let power = st.crash_image(CrashMode::PowerLoss).unwrap().unwrap();
        check_reopens(&power, &acks, acks.durable, &format!("{what}, power loss"));
        let torn = st
            .crash_image(CrashMode::PowerLossTornPages { seed: step + 1 })
            .unwrap()
            .unwrap();
        check_reopens(&torn, &acks, acks.durable, &format!("{what}, torn pages"));

        let st = MemStorage::new();
        st.inject(step, Fault::From(IoFault::NoSpace));
        let acks = workload_with(&st, d, true);
        let what = format!("sealer thread, disk full from step {step}");
        if let Some(e) = &acks.error {
            assert!(e.contains("injected fault"), "{what}: unclear error: {e}");
        }
        st.clear_faults();
        let power = st.crash(CrashMode::PowerLoss).unwrap();
        check_reopens(&power, &acks, acks.durable, &format!("{what}, power loss"));
        check_reopens(
            &st,
            &acks,
            acks.receipts.len(),
            &format!("{what}, reopened"),
        );
    }
    assert!(
        fired * 10 > steps * 9,
        "only {fired} of {steps} crashes fired"
    );
}

/// A bad sector under one sealed segment in the middle: verification names
/// that segment as unreadable, and only it (the chain across it cannot be
/// checked, which is no reason to report the next segment's link as broken);
/// reading stops there with an error naming it; nothing changes on disk.
#[test]
fn an_unreadable_segment_is_named_and_nothing_else_is_blamed() {
    let st = MemStorage::new();
    let acks = workload(&st, Durability::NoSync);
    assert!(acks.error.is_none());
    let sealed = mem_sealed(&st);
    assert!(sealed.len() >= 4);
    let bad = &sealed[1];
    st.fail_file(bad, IoFault::Io);
    let v = verify(Arc::new(st.clone()), &VerifyOptions::default()).unwrap();
    assert!(!v.is_intact());
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    let f = &v.findings[0];
    assert_eq!(
        (f.kind, f.segment.as_str()),
        (FindingKind::Unreadable, bad.as_str())
    );
    assert!(f.detail.contains("EIO"), "{f:?}");
    assert!(
        f.kind.is_io_error(),
        "an unreadable segment is an I/O error"
    );
    let read = || -> ledger_core::Result<usize> {
        let reader = Reader::with_storage(Arc::new(st.clone()))?;
        let records: Vec<_> = reader.cursor()?.collect::<Result<_, _>>()?;
        Ok(records.len())
    };
    let e = read().unwrap_err().to_string();
    assert!(e.contains(bad.as_str()) && e.contains("EIO"), "{e}");
    // A checkpoint of a record in the unreadable segment cannot be checked:
    // an I/O error naming the segment, not a rollback.
    st.clear_faults();
    let key = ledger_core::generate_key().unwrap();
    let in_bad = Reader::with_storage(Arc::new(st.clone()))
        .unwrap()
        .cursor()
        .unwrap()
        .map(Result::unwrap)
        .find(|r| r.seq.get() == 100)
        .unwrap();
    let id = Reader::with_storage(Arc::new(st.clone()))
        .unwrap()
        .ledger_id();
    let head = ledger_core::Head {
        seq: in_bad.seq,
        chain_hash: in_bad.chain_hash,
        timestamp: in_bad.timestamp,
    };
    let opts = VerifyOptions {
        checkpoint: Some(ledger_core::Checkpoint::sign(id, &head, &key)),
        ..VerifyOptions::default()
    };
    assert!(verify(Arc::new(st.clone()), &opts).unwrap().is_intact());
    st.fail_file(bad, IoFault::Io);
    let v = verify(Arc::new(st.clone()), &opts).unwrap();
    assert!(
        v.findings
            .iter()
            .all(|f| f.kind.is_io_error() && f.segment == *bad),
        "{:?}",
        v.findings
    );
    assert_eq!(v.checkpoint_ok, None);
    st.clear_faults();
    let v = verify(Arc::new(st.clone()), &VerifyOptions::default()).unwrap();
    assert!(v.is_intact(), "{:?}", v.findings);
    assert_eq!(v.records, RECORDS);
}
