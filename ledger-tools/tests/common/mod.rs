//! Helpers shared by the end-to-end tests: running the built `ledger`
//! binary, and looking at and damaging the files of a ledger folder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod pg;
pub mod s3;

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    finish(output(&mut command(Some(dir), args)))
}

/// `ledger <args>` without a folder.
pub fn bare(args: &[&str]) -> Run {
    finish(output(&mut command(None, args)))
}

/// How long a test waits for a `ledger` process before it fails: generous
/// for a slow, shared machine, but a hang fails instead of stalling CI.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Like [`Command::output`] (standard input empty, the output captured),
/// but the test fails, and the process is killed, if it has not exited
/// within [`PATIENCE`].
#[track_caller]
pub fn output(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ledger");
    ChildGuard::new(child).wait_with_output_by(Instant::now() + PATIENCE)
}

/// A child process that is killed and reaped when dropped, so a failing
/// test leaves no process behind (`ledger tail -f` never ends by itself).
pub struct ChildGuard(Option<Child>);

/// Polls `done` until it holds. The wait is for a state, never against a
/// clock: when `watched` (a process the state depends on) exits first, the
/// state can no longer come and the test fails, naming its exit status; a
/// true hang is left to the test runner's own timeout.
#[track_caller]
pub fn wait_for_state(what: &str, mut watched: Option<&mut Child>, mut done: impl FnMut() -> bool) {
    while !done() {
        if let Some(child) = watched.as_deref_mut() {
            if let Some(status) = child.try_wait().expect("look at the watched process") {
                assert!(
                    done(),
                    "waiting for {what}: the process it depends on exited ({status})"
                );
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until something accepts connections on `port` of the loopback
/// while `server` runs (a server that exits fails the test).
#[track_caller]
pub fn wait_listening(what: &str, server: &mut Child, port: u16) {
    wait_for_state(&format!("{what} to listen on {port}"), Some(server), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        ChildGuard(Some(child))
    }

    /// The child.
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("a guarded child")
    }

    /// Waits for the child to exit (however long that takes) and collects
    /// its piped output.
    pub fn wait_with_output(mut self) -> Output {
        let child = self.0.take().expect("a guarded child");
        child.wait_with_output().expect("wait for the child")
    }

    /// Waits for the child to exit and collects its piped output; fails the
    /// test (killing the child) if it has not exited by `deadline`.
    #[track_caller]
    pub fn wait_with_output_by(mut self, deadline: Instant) -> Output {
        let child = self.child();
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let out = std::thread::spawn(move || read_all(stdout));
        let err = std::thread::spawn(move || read_all(stderr));
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the child") {
                break status;
            }
            // Dropping `self` on this panic kills the child.
            assert!(
                Instant::now() < deadline,
                "`ledger` (process {}) did not exit within the deadline",
                child.id()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.0 = None;
        // The pipes close when the child exits: these end.
        Output {
            status,
            stdout: out.join().expect("reading the output"),
            stderr: err.join().expect("reading the errors"),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_all(pipe: Option<impl Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut p) = pipe {
        let _ = p.read_to_end(&mut buf);
    }
    buf
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

/// Creates a FIFO at `path` (with the system's `mkfifo`).
#[track_caller]
pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// The first object file of the backup store at `store`.
pub fn first_object(store: &Path) -> PathBuf {
    let sub = std::fs::read_dir(store.join("objects"))
        .unwrap()
        .next()
        .expect("an object folder")
        .unwrap()
        .path();
    std::fs::read_dir(sub)
        .unwrap()
        .next()
        .expect("an object")
        .unwrap()
        .path()
}
