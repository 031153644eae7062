//! Reading the ledger into batches: once to its current end, or with
//! `--follow` on and on, polling the cursor as `ledger tail -f` does (a
//! reader takes no lock of the ledger, so the writer never waits on the
//! sink). A batch is committed when it is full or when the cursor reaches
//! the end of what is written. With `--follow`, SIGINT or SIGTERM stops
//! the sink cleanly: the batch in hand is committed, then it exits 0; a
//! second signal ends it at once (still safe: an uncommitted batch is
//! rolled back by the server and loaded again by the next run).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_core::Cursor;
use postgres::Client;

use crate::error::ToolError;
use crate::progress::Progress;
use crate::sink::error::SinkError;
use crate::sink::load::Loader;

/// How the ledger is read.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// Records per transaction, at most.
    pub batch: u64,
    /// Keep reading new records after the end.
    pub follow: bool,
    /// How often to look for new records at the end, while following.
    pub poll: Duration,
}

/// Why the reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The end of the ledger was reached (without `--follow`).
    End,
    /// A signal asked to stop (`--follow`).
    Signal,
}

/// Installs the SIGINT and SIGTERM handlers of `--follow`: the first sets
/// the returned flag, a second one ends the process.
pub fn stop_flag() -> Result<Arc<AtomicBool>, SinkError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .map_err(|source| SinkError::Signal { signal, source })?;
    }
    Ok(flag)
}

/// Reads `cursor` into `loader`'s batches and commits them to `client`,
/// until the end (or, following, until `stop` is set).
pub fn pump(
    client: &mut Client,
    loader: &mut Loader,
    cursor: &mut Cursor,
    opts: FollowOptions,
    stop: Option<&AtomicBool>,
    progress: &Progress,
) -> Result<Ended, ToolError> {
    let batch = opts.batch.max(1);
    let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
    loop {
        let mut at_end = false;
        while loader.pending() < batch {
            match cursor.next_ref()? {
                Some(r) => loader.push(&r)?,
                None => {
                    at_end = true;
                    break;
                }
            }
            if stopped() {
                break;
            }
        }
        loader.commit(client)?;
        if let Some(p) = loader.position() {
            progress.set(p.seq);
        }
        if stopped() {
            return Ok(Ended::Signal);
        }
        if at_end {
            if !opts.follow {
                return Ok(Ended::End);
            }
            // Sleep in short steps, so a signal is answered promptly.
            let until = Instant::now() + opts.poll;
            while Instant::now() < until && !stopped() {
                std::thread::sleep(opts.poll.min(Duration::from_millis(50)));
            }
        }
    }
}
