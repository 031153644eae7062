//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger_core::storage::{MemStorage, Storage};
use ledger_core::{
    Durability, Entry, Kind, Reader, Receipt, Record, SchemaVersion, Writer, WriterOptions,
};

/// A deterministic payload of varying length for record `i`.
pub fn payload(i: u64) -> Vec<u8> {
    let len = 20 + (i * 37 % 300) as usize;
    (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect()
}

/// The kind used for record `i`.
pub fn kind(i: u64) -> Kind {
    Kind::new(1 + (i % 9) as u16)
}

/// Small segments so that a few hundred records span several of them.
pub fn small(durability: Durability) -> WriterOptions {
    WriterOptions::default()
        .segment_size(16 << 10)
        .durability(durability)
}

/// Appends records `from..to` with [`payload`], returning the receipts,
/// without waiting for the sealer thread (full segments may still be
/// `.active` files when it returns).
pub fn append_only(w: &mut Writer, from: u64, to: u64) -> Vec<Receipt> {
    (from..to)
        .map(|i| {
            let p = payload(i);
            w.append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
                .expect("append")
        })
        .collect()
}

/// Appends records `from..to` with [`payload`], returning the receipts,
/// and waits for the sealer thread to seal every full segment (so tests
/// that look at the folder's files see them sealed).
pub fn append_range(w: &mut Writer, from: u64, to: u64) -> Vec<Receipt> {
    let receipts = (from..to)
        .map(|i| {
            let p = payload(i);
            w.append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
                .expect("append")
        })
        .collect();
    w.wait_sealed().expect("seal");
    receipts
}

/// The names of the sealed segment files in `dir`, in order.
pub fn sealed_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    v.sort();
    v
}

/// The name of the active segment file in `dir` (the last `.active` file:
/// a full one may still wait for the sealer thread before it).
pub fn active_file(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".active"))
        .max()
        .expect("an active segment")
}

/// Every record `r` holds, read with the chain checked.
pub fn chain_records(r: Reader) -> Vec<Record> {
    r.cursor()
        .unwrap()
        .verify_chain(true)
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The names of the sealed segment files in `st`, in list order.
pub fn mem_sealed(st: &MemStorage) -> Vec<String> {
    st.list()
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".seg"))
        .collect()
}

/// How long a test waits for another thread or process before it fails:
/// generous for a slow, shared machine, but a hang fails instead of
/// stalling CI.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// [`PATIENCE`] from now.
pub fn deadline() -> Instant {
    Instant::now() + PATIENCE
}

/// Raises its flag when dropped, so the threads a test started stop even
/// when the test fails (panics) before it raises the flag itself.
pub struct StopOnDrop(pub Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Joins `thread` if it finishes by `deadline`, failing the test otherwise;
/// a panic in the thread fails the test with the thread's own message.
#[track_caller]
pub fn join_by<T>(thread: JoinHandle<T>, deadline: Instant, what: &str) -> T {
    while !thread.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{what} did not finish within the deadline"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A child process that is killed and reaped when dropped, so a failing
/// test leaves no process behind.
pub struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        ChildGuard(Some(child))
    }

    /// The child.
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("a guarded child")
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
                "child process {} did not exit within the deadline",
                child.id()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.0 = None;
        Output {
            status,
            stdout: join_by(out, deadline, "reading the child's output"),
            stderr: join_by(err, deadline, "reading the child's errors"),
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

/// The lines `pipe` delivers (each with its `\n`; a last line cut short
/// without), read on a thread of their own so that a test can wait for
/// them with a deadline ([`next_line_by`]).
pub fn line_channel(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut pipe = std::io::BufReader::new(pipe);
        loop {
            let mut line = String::new();
            match std::io::BufRead::read_line(&mut pipe, &mut line) {
                Ok(n) if n > 0 && tx.send(line).is_ok() => {}
                _ => return,
            }
        }
    });
    rx
}

/// The next line from `lines`, or `None` at the end of the output; fails
/// the test if none comes by `deadline`.
#[track_caller]
pub fn next_line_by(lines: &Receiver<String>, deadline: Instant) -> Option<String> {
    match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(line) => Some(line),
        Err(RecvTimeoutError::Disconnected) => None,
        Err(RecvTimeoutError::Timeout) => panic!("no output from the child by the deadline"),
    }
}

fn read_all(pipe: Option<impl std::io::Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut p) = pipe {
        let _ = p.read_to_end(&mut buf);
    }
    buf
}
