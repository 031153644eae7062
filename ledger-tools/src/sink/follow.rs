//! Reading the ledger into batches: once to its current end, or with
//! `--follow` on and on, polling the cursor as `ledger tail -f` does (a
//! reader takes no lock of the ledger, so the writer never waits on the
//! sink). A batch is committed when it is full or when the cursor reaches
//! the end of what is written. With `--follow`, SIGINT or SIGTERM stops
//! the sink cleanly: the batches in hand are committed, then it exits 0; a
//! second signal ends it at once (still safe: an uncommitted batch is
//! rolled back by the server and loaded again by the next run).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ledger_core::Cursor;
use postgres::Client;

use crate::error::ToolError;
use crate::progress::Progress;
use crate::sink::error::SinkError;
use crate::sink::load::{Batch, Loader};

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

/// Reads `cursor` into batches and commits them to `client` through
/// `loader`, until the end (or, following, until `stop` is set). Two
/// threads: this one commits batch N while a reader thread reads,
/// decodes and maps the records of batch N+1 (at most one batch waits
/// between them), so the client's work overlaps the server's.
pub fn pump(
    client: &mut Client,
    loader: &mut Loader,
    cursor: &mut Cursor,
    opts: FollowOptions,
    stop: Option<&AtomicBool>,
    progress: &Progress,
) -> Result<Ended, ToolError> {
    let abort = AtomicBool::new(false);
    let ledger = loader.ledger().to_owned();
    std::thread::scope(|scope| {
        let (batches, received) = mpsc::sync_channel::<Batch>(1);
        let abort = &abort;
        let reader =
            scope.spawn(move || read_batches(cursor, &ledger, opts, stop, abort, &batches));
        let committed = (|| -> Result<(), ToolError> {
            for batch in received.iter() {
                loader.commit(client, batch)?;
                if let Some(p) = loader.position() {
                    progress.set(p.seq);
                }
            }
            Ok(())
        })();
        if committed.is_err() {
            // The reader may be waiting for appends: tell it to stop, and
            // drop the receiver so that a pending send fails.
            abort.store(true, Ordering::Relaxed);
        }
        drop(received);
        let read = reader.join().unwrap_or_else(|_| {
            Err(ToolError::Refused(
                "the sink's reader thread panicked".to_owned(),
            ))
        });
        committed?;
        read
    })
}

/// The reader thread of [`pump`]: fills batches from `cursor` and sends
/// them; stops at the end (without `follow`), on `stop`, on `abort`, or
/// when the committer has gone.
fn read_batches(
    cursor: &mut Cursor,
    ledger: &str,
    opts: FollowOptions,
    stop: Option<&AtomicBool>,
    abort: &AtomicBool,
    batches: &mpsc::SyncSender<Batch>,
) -> Result<Ended, ToolError> {
    let size = opts.batch.max(1);
    let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
    loop {
        let mut batch = Batch::new(ledger);
        let mut at_end = false;
        while batch.records() < size {
            match cursor.next_ref()? {
                Some(r) => batch.push(&r)?,
                None => {
                    at_end = true;
                    break;
                }
            }
            if stopped() || abort.load(Ordering::Relaxed) {
                break;
            }
        }
        if batch.records() > 0 && batches.send(batch).is_err() {
            // The committer stopped (its error is the one reported).
            return Ok(Ended::End);
        }
        if abort.load(Ordering::Relaxed) {
            return Ok(Ended::End);
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
            while Instant::now() < until && !stopped() && !abort.load(Ordering::Relaxed) {
                std::thread::sleep(opts.poll.min(Duration::from_millis(50)));
            }
        }
    }
}
