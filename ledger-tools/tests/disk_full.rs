//! A full disk on a real file system, met by the `ledger` command while it
//! starts a segment, backs up and writes a checkpoint.
//!
//! The child process runs under a file size limit (`ulimit -f`, with
//! `SIGXFSZ` ignored), so the kernel refuses every write that would grow a
//! file past the limit, as a full disk refuses it (with `EFBIG` instead of
//! `ENOSPC`; no test can fill a shared disk or mount a small one without
//! privileges). The in-memory fault tests (`ledger-core/tests/faults.rs`)
//! cover `ENOSPC` at every I/O step; these show the real path: the error is
//! clear, no half-written file is left, the ledger verifies and keeps every
//! record, and the same command succeeds once there is room.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_contains, file_name, files_under, output, path_str as s, Run};

/// Runs `ledger args`, with files limited to `limit_blocks` blocks of the
/// shell's `ulimit -f` unit (512 or 1024 bytes) when given.
fn ledger(limit_blocks: Option<u64>, args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_ledger");
    let mut cmd = match limit_blocks {
        Some(blocks) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg("trap '' XFSZ; ulimit -f \"$1\" || exit 97; shift; exec \"$@\"")
                .arg("sh")
                .arg(blocks.to_string())
                .arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let out = output(cmd.args(args).env_remove("LEDGER_DIR"));
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(run.code, 97, "the shell cannot set a file size limit");
    run
}

fn records(dir: &Path) -> u64 {
    let run = ledger(None, &["-d", s(dir), "verify", "--json"]);
    assert_eq!(run.code, 0, "verify: {}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["intact"], true, "{}", run.stdout);
    v["records"].as_u64().unwrap()
}

/// Every file under `dir`, recursively, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Runs `ledger args` without a limit; it must succeed.
fn ok(args: &[&str]) {
    let run = ledger(None, args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
}

/// Appends a demo session of `events` events to the ledger in `dir`, in
/// 64 KiB segments.
fn demo(dir: &Path, events: &str) {
    ok(&[
        "-d",
        s(dir),
        "demo",
        "--events",
        events,
        "--segment-size",
        "64KiB",
    ]);
}

fn no_temp_files(dir: &Path) {
    for (path, _) in tree(dir) {
        let name = file_name(Path::new(&path));
        assert!(
            !name.contains(".tmp"),
            "a half-written file was left: {path}"
        );
    }
}

#[test]
fn a_full_disk_when_a_new_segment_is_started_stops_the_append_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, "400");
    let before = records(&dir);
    // New segments of 1 MiB cannot be created under a limit of 256–512 KiB;
    // the existing 64 KiB active segment still takes appends until it is full.
    let args = [
        "-d",
        s(&dir),
        "demo",
        "--events",
        "3000",
        "--segment-size",
        "1MiB",
    ];
    let run = ledger(Some(512), &args);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("starting segment") && run.stderr.contains("File too large"),
        "unclear error: {}",
        run.stderr
    );
    assert!(run.stderr.contains(s(&dir)), "no path in: {}", run.stderr);
    let after = records(&dir);
    assert!(
        after > before,
        "the active segment took appends until it was full"
    );
    // Room again: the ledger opens (recovery starts the segment) and grows.
    ok(&["-d", s(&dir), "demo", "--events", "300"]);
    assert!(records(&dir) > after);
}

#[test]
fn a_full_disk_during_a_backup_leaves_the_store_and_the_ledger_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let store = tmp.path().join("store");
    let backup = ["-d", s(&dir), "backup", "create", "--to", s(&store)];
    demo(&dir, "1500");
    ok(&backup);
    demo(&dir, "1500");
    let n = records(&dir);
    let ledger_before = tree(&dir);
    let store_before = tree(&store);

    // Objects of about 30 KiB do not fit under 8–16 KiB.
    let run = ledger(Some(16), &backup);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("File too large") && run.stderr.contains(s(&store)),
        "unclear error: {}",
        run.stderr
    );
    no_temp_files(&store);
    count_new_objects(&store, &store_before);
    assert_eq!(
        tree(&dir),
        ledger_before,
        "a failed backup changed the ledger"
    );
    ok(&["backup", "verify", "--in", s(&store)]);
    let run = ledger(None, &["backup", "list", "--in", s(&store)]);
    assert_contains(&run.stdout, "1 backup(s)");

    // Room again: the backup completes and restores to the same ledger.
    ok(&backup);
    let restored = tmp.path().join("restored");
    ok(&[
        "backup",
        "restore",
        "--from",
        s(&store),
        "--to",
        s(&restored),
    ]);
    assert_eq!(records(&restored), n);
}

/// Objects a failed backup completed before the disk filled stay (they are
/// whole, named by their content, and the next backup reuses them).
fn count_new_objects(store: &Path, before: &[(String, Vec<u8>)]) -> usize {
    tree(store)
        .iter()
        .filter(|(name, _)| !before.iter().any(|(b, _)| b == name))
        .inspect(|(name, _)| assert!(name.ends_with(".zst"), "unexpected new file {name}"))
        .count()
}

#[test]
fn a_full_disk_while_writing_a_checkpoint_leaves_no_half_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let key = tmp.path().join("auditor.key");
    let cp = tmp.path().join("head.checkpoint");
    demo(&dir, "200");
    ok(&["keygen", "--out", s(&key)]);
    let n = records(&dir);
    let checkpoint = [
        "-d",
        s(&dir),
        "checkpoint",
        "--key",
        s(&key),
        "--out",
        s(&cp),
    ];
    let run = ledger(Some(0), &checkpoint);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("File too large") && run.stderr.contains("head.checkpoint"),
        "unclear error: {}",
        run.stderr
    );
    assert!(!cp.exists());
    no_temp_files(tmp.path());
    assert_eq!(records(&dir), n);
    ok(&checkpoint);
    let public = format!("{}.pub", s(&key));
    ok(&[
        "-d",
        s(&dir),
        "verify",
        "--checkpoint",
        s(&cp),
        "--trusted-key",
        &public,
    ]);
}
