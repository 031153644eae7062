//! Background sealing: the sealer thread finishes full segments while the
//! writer appends to the next one.
//!
//! At rotation the writer does only what must happen in order on its own
//! thread, all of it copies into memory and one `rename`: it writes the
//! footer into the full segment, writes the next segment's header into the
//! preallocated file and renames that file to `NNNNNNNNNN.active`, and hands
//! a [`SealJob`] to the sealer. The full segment is then **full, not yet
//! sealed** (`docs/FORMAT.md`, "Full, not yet sealed"): an `.active` file
//! ending in a footer, followed by the next `.active` file.
//!
//! The sealer runs each job's steps in this order (each numbered step is
//! one I/O operation the fault tests fail or crash before):
//!
//! 1. flush the full segment's records and footer;
//! 2. raise its watermark to the footer and flush its header page;
//! 3. flush the next segment's header page;
//! 4. sync the folder (the next segment's name is durable);
//! 5. **open the next segment's gate**: from here on the flusher may raise
//!    its watermark and call its records durable, and the full segment's
//!    last sequence is durable;
//! 6. hash the full segment, trim the file after the footer;
//! 7. rename it to its content address;
//! 8. sync the folder.
//!
//! Until step 5 nothing in the next segment is promised durable, so a power
//! loss that tears the full segment's tail leaves a next segment whose
//! watermark promises nothing; recovery cuts both (`recovery.rs`). Jobs run
//! in order, so a segment's gate opens only after every earlier segment is
//! durable. A failed step poisons the writer, as a failed seal on the
//! writer's thread did: the next append reports it, and reopening runs
//! recovery over what is on disk.
//!
//! Steps 1–5 run on the sealer thread (background priority: durability
//! waiters wait for them), steps 6–8 on the namer thread (the idle class:
//! hashing 64 MiB must not take the writer's core).
//!
//! The backlog is bounded ([`MAX_PENDING_SEALS`]): a writer that outruns the
//! sealer (a slow disk) waits at its next rotation until a job moves on,
//! rather than leaving an unbounded number of segments unsealed. At most
//! `MAX_PENDING_SEALS + 3` full segments exist then: one being named, one
//! made durable and waiting for the namer, `MAX_PENDING_SEALS` queued, and
//! the one the writer is handing over.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::active;
use super::durability::Shared;
use crate::error::{Error, IoContext, Result};
use crate::segment::header::HEADER_LEN;
use crate::storage::{SegmentMap, Storage, TOKEN};
use crate::types::{SegmentOrdinal, Seq};

/// How many full segments may wait for the sealer before the writer waits.
pub const MAX_PENDING_SEALS: usize = 2;

/// Whether records of a segment may be called durable: closed from the
/// segment's start at rotation until the sealer has made the segment before
/// it durable (step 5 above); open for every segment started otherwise.
#[derive(Debug)]
pub(crate) struct Gate(AtomicBool);

impl Gate {
    pub(crate) fn open() -> Arc<Gate> {
        Arc::new(Gate(AtomicBool::new(true)))
    }

    pub(crate) fn closed() -> Arc<Gate> {
        Arc::new(Gate(AtomicBool::new(false)))
    }

    pub(crate) fn is_open(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set_open(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A full segment handed to the sealer.
pub(crate) struct SealJob {
    /// Its `.active` file name.
    pub name: String,
    pub ordinal: SegmentOrdinal,
    pub map: Arc<dyn SegmentMap>,
    /// The end of its footer (the sealed file's length).
    pub end: usize,
    /// Its last record's sequence.
    pub last_seq: Seq,
    /// The segment the writer moved on to.
    pub next_name: String,
    pub next_map: Arc<dyn SegmentMap>,
    pub next_gate: Arc<Gate>,
    /// Threads that were pre-faulting the full segment or the next one,
    /// told to stop by the writer and joined here, off the writer's thread.
    pub populating: Vec<JoinHandle<()>>,
}

/// Counters the writer and tests read.
#[derive(Debug, Default)]
pub(crate) struct SealStats {
    /// Jobs handed over and not finished.
    pub pending: AtomicU64,
    /// Segments sealed by the sealer.
    pub sealed: AtomicU64,
    /// Rotations at which the writer found the backlog full and waited.
    pub backlog_waits: AtomicU64,
    /// Set while the writer waits for room in the backlog.
    pub writer_waiting: AtomicBool,
}

/// Runs one job's steps (see the module docs) on the calling thread.
pub(crate) fn run_job(storage: &dyn Storage, shared: &Shared, job: SealJob) -> Result<()> {
    make_job_durable(storage, shared, &job)?;
    name_job(storage, job)
}

/// Steps 1–5: the full segment durable, the next segment's header and name
/// durable, its gate opened.
fn make_job_durable(storage: &dyn Storage, shared: &Shared, job: &SealJob) -> Result<()> {
    // Its pages leave the writer's page tables first (the writer never
    // touches a full segment again): the flush then write-protects nothing
    // the writer maps, and costs the writer's core one TLB flush instead of
    // one shootdown per page.
    job.map
        .release_pages(TOKEN, HEADER_LEN, job.end.saturating_sub(HEADER_LEN));
    active::make_durable(storage, &job.name, job.map.as_ref(), job.end)?;
    job.next_map
        .flush(TOKEN, 0, HEADER_LEN)
        .ctx("flush header of", storage.path_of(&job.next_name))?;
    storage.sync_dir().ctx("sync", storage.path_of(""))?;
    job.next_gate.set_open();
    shared.mark_durable(job.last_seq.get());
    shared.wake_flusher_if_waited();
    Ok(())
}

/// Steps 6–8: hash, trim, rename, sync the folder.
fn name_job(storage: &dyn Storage, job: SealJob) -> Result<()> {
    for h in job.populating {
        let _ = h.join();
    }
    active::address_and_rename(storage, &job.name, job.ordinal, job.map.as_ref(), job.end)?;
    Ok(())
}

/// The sealer's two threads and the channel to them: the sealer makes full
/// segments durable (steps 1–5, at background priority: durability waiters
/// wait for it), the namer hashes, trims and renames them (steps 6–8, in
/// the idle class: nobody waits for it but a full backlog, and hashing
/// 64 MiB must not take the writer's core).
pub(crate) struct Sealer {
    tx: Option<Sender<SealJob>>,
    threads: Vec<JoinHandle<()>>,
}

impl Sealer {
    /// Starts the sealer threads.
    pub(crate) fn start(storage: Arc<dyn Storage>, shared: Arc<Shared>) -> Result<Sealer> {
        let (tx, rx) = crossbeam_channel::bounded(MAX_PENDING_SEALS);
        // A rendezvous: the sealer hands a job over only when the namer is
        // free, so the backlog stays bounded (see `MAX_PENDING_SEALS`).
        let (named_tx, named_rx) = crossbeam_channel::bounded::<SealJob>(0);
        let path = storage.path_of("");
        let (st, sh) = (Arc::clone(&storage), Arc::clone(&shared));
        let sealer = std::thread::Builder::new()
            .name("ledger-sealer".into())
            .spawn(move || run_sealer(st.as_ref(), &sh, &rx, &named_tx))
            .ctx("spawn sealer thread for", path.clone())?;
        let namer = std::thread::Builder::new()
            .name("ledger-namer".into())
            .spawn(move || run_namer(storage.as_ref(), &shared, &named_rx))
            .ctx("spawn sealer thread for", path)?;
        Ok(Sealer {
            tx: Some(tx),
            threads: vec![sealer, namer],
        })
    }

    /// Hands `job` over; waits while [`MAX_PENDING_SEALS`] jobs are queued.
    pub(crate) fn submit(&self, shared: &Shared, job: SealJob) -> Result<()> {
        let Some(tx) = &self.tx else {
            return Err(Error::Closed);
        };
        let stats = &shared.seal_stats;
        stats.pending.fetch_add(1, Ordering::AcqRel);
        let job = match tx.try_send(job) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(job)) => job,
            Err(TrySendError::Disconnected(_)) => {
                stats.pending.fetch_sub(1, Ordering::AcqRel);
                return Err(shared.poison("the sealer thread stopped".into()));
            }
        };
        stats.backlog_waits.fetch_add(1, Ordering::AcqRel);
        stats.writer_waiting.store(true, Ordering::Release);
        let sent = tx.send(job);
        stats.writer_waiting.store(false, Ordering::Release);
        sent.map_err(|_| {
            stats.pending.fetch_sub(1, Ordering::AcqRel);
            shared.poison("the sealer thread stopped".into())
        })
    }

    /// Lets the sealer finish every queued job and stops its threads.
    pub(crate) fn finish(&mut self) {
        self.tx = None;
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A job is over (sealed, failed, or skipped after a failure).
fn job_done(shared: &Shared, sealed: bool) {
    if sealed {
        shared.seal_stats.sealed.fetch_add(1, Ordering::AcqRel);
    }
    shared.seal_stats.pending.fetch_sub(1, Ordering::AcqRel);
    shared.notify_sealed();
}

fn run_sealer(
    storage: &dyn Storage,
    shared: &Shared,
    rx: &Receiver<SealJob>,
    named: &Sender<SealJob>,
) {
    // Its fair share of the CPU, and its wakeups never preempt the writer.
    // Not the idle class: durability waiters wait for these steps, and an
    // idle-class thread can starve on a busy machine.
    let _ = crate::storage::background_thread();
    for job in rx {
        // After a failure nothing more is sealed: the writer is poisoned,
        // and recovery finishes what is left when the ledger is reopened.
        if shared.check_poison().is_err() {
            job_done(shared, false);
            continue;
        }
        if let Err(e) = make_job_durable(storage, shared, &job) {
            let _ = shared.poison(format!("sealing {} failed: {e}", job.name));
            job_done(shared, false);
            continue;
        }
        if let Err(crossbeam_channel::SendError(_)) = named.send(job) {
            let _ = shared.poison("the sealer's naming thread stopped".into());
            job_done(shared, false);
        }
    }
}

fn run_namer(storage: &dyn Storage, shared: &Shared, rx: &Receiver<SealJob>) {
    let _ = crate::storage::idle_thread();
    for job in rx {
        let name = job.name.clone();
        let sealed = shared.check_poison().is_ok()
            && match name_job(storage, job) {
                Ok(()) => true,
                Err(e) => {
                    let _ = shared.poison(format!("sealing {name} failed: {e}"));
                    false
                }
            };
        job_done(shared, sealed);
    }
}
