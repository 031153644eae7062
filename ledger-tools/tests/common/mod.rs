//! Helpers shared by the end-to-end tests: running the built `ledger`
//! binary, and looking at and damaging the files of a ledger folder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What a run of `ledger` gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output followed by standard error.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// `ledger [-d DIR] <args>`, without any `LEDGER_DIR` of the caller.
pub fn command(dir: Option<&Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledger"));
    cmd.env_remove("LEDGER_DIR");
    if let Some(d) = dir {
        cmd.arg("-d").arg(d);
    }
    cmd.args(args);
    cmd
}

/// The exit code and UTF-8 output of a finished run.
pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

/// `ledger -d DIR <args>`.
pub fn on(dir: &Path, args: &[&str]) -> Run {
    finish(command(Some(dir), args).output().expect("run ledger"))
}

/// `ledger <args>` without a folder.
pub fn bare(args: &[&str]) -> Run {
    finish(command(None, args).output().expect("run ledger"))
}

/// Asserts the run exited 0.
#[track_caller]
pub fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{}", run.all());
    run
}

/// The run's standard output as JSON.
pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()))
}

/// A demo ledger: the scripted session plus `events` generated ones, in
/// 64 KiB segments, so that it has several sealed segments.
#[track_caller]
pub fn demo(dir: &Path, events: u64) -> Run {
    let events = events.to_string();
    ok(on(
        dir,
        &["demo", "--events", &events, "--segment-size", "64KiB"],
    ))
}

/// Asserts `hay` contains `needle`, showing `hay` if not.
#[track_caller]
pub fn assert_contains(hay: &str, needle: &str) {
    assert!(hay.contains(needle), "{}", hay);
}

/// The sealed segment files of a ledger folder, in order.
pub fn sealed_segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("seg")))
        .collect();
    files.sort();
    files
}

/// Flips one bit of a payload byte (a lowercase letter of an event's text)
/// in the middle of `file`.
pub fn flip_middle_byte(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    let at = (bytes.len() / 2..bytes.len())
        .find(|&i| bytes[i].is_ascii_lowercase())
        .expect("a payload byte after the middle");
    bytes[at] ^= 0x01;
    std::fs::write(file, bytes).unwrap();
}

/// The file name of `p`.
pub fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_owned()
}

/// `p` as UTF-8.
pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
