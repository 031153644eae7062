//! Durability: flushing committed records, the durable watermark, the group
//! commit thread, and waiting for a sequence number to become durable.
//!
//! What each mode survives (docs/DURABILITY.md has the full table):
//! - every mode: a crash of the process loses nothing that was appended (the
//!   bytes are in the kernel's page cache as soon as `append` returns);
//! - `SyncEveryAppend`: a power loss loses nothing that was appended;
//! - `GroupCommit`: a power loss loses nothing whose sequence a waiter saw
//!   durable ([`DurabilityHandle::wait`]); everything is flushed within about
//!   two intervals;
//! - `NoSync`: a power loss may lose anything since the last explicit sync or
//!   seal; recovery then cuts the torn tail and reports it.
//!
//! Group commit flushes whole pages behind the writer while the writer is
//! busy, and the partial page it is filling only when a waiter needs a
//! record on it or the writer has been idle for an interval: flushing a page
//! write-protects it, and the writer's next store to it would fault.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::le;
use crate::op_error::AppendError;
use crate::segment::header::HEADER_LEN;
use crate::segment::record::FOOTER_MARKER;
use crate::storage::SegmentMap;
use crate::storage::TOKEN;
use crate::types::Seq;

use super::active::{load_watermark, store_watermark};
use super::sealer::{Gate, SealStats};

const PAGE: usize = 4096;

/// When appended records become durable (survive a power loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Never flush on append: records survive a process crash, and a power
    /// loss only as far as the last [`crate::Writer::sync`] or seal.
    NoSync,
    /// A background thread flushes every `interval`; waiters learn when their
    /// sequence is durable.
    GroupCommit {
        /// How often the flusher runs.
        interval: Duration,
    },
    /// Every append is flushed before it returns.
    SyncEveryAppend,
}

impl Default for Durability {
    fn default() -> Self {
        Durability::GroupCommit {
            interval: Duration::from_millis(2),
        }
    }
}

/// What the flusher flushes: the active segment.
pub(crate) struct FlushTarget {
    pub map: Arc<dyn SegmentMap>,
    /// Closed while the segment before this one is not yet durable (see
    /// `sealer.rs`): nothing of this segment is flushed or promised then.
    pub gate: Arc<Gate>,
    /// Offset up to which the map was flushed.
    pub flushed_to: usize,
    /// Offset of the first record not known to be wholly durable.
    pub scan_pos: usize,
    /// The watermark the header holds on the medium (the last one flushed).
    pub marked: usize,
}

impl FlushTarget {
    /// The target for `map`, whose records end at `pos`. Only what the
    /// header's watermark claims is taken as flushed: records recovery kept
    /// after it (a process crash leaves them in the page cache only) are
    /// flushed by the first flush, before any watermark covers them.
    pub(crate) fn new(map: Arc<dyn SegmentMap>, pos: usize, gate: Arc<Gate>) -> Self {
        let marked = load_watermark(map.as_ref())
            .and_then(|w| usize::try_from(w).ok())
            .map_or(HEADER_LEN, |w| w.clamp(HEADER_LEN, pos.max(HEADER_LEN)));
        FlushTarget {
            map,
            gate,
            flushed_to: marked,
            scan_pos: marked,
            marked,
        }
    }
}

/// State shared between the writer, the flusher thread and durability waiters.
pub(crate) struct Shared {
    /// End offset of the last published record in the active segment.
    pub committed_end: AtomicU64,
    /// Last published sequence (0 = none).
    pub committed_seq: AtomicU64,
    /// Last durable sequence (0 = none).
    pub durable_seq: AtomicU64,
    /// Highest sequence a waiter waits for.
    wanted_seq: AtomicU64,
    poisoned: AtomicBool,
    poison_cause: Mutex<Option<String>>,
    pub target: Mutex<FlushTarget>,
    durable_mx: Mutex<()>,
    durable_cv: Condvar,
    /// Set when the writer is dropped; waiters stop waiting.
    closed: AtomicBool,
    /// Wakes the group-commit thread, when there is one.
    wake: Option<Sender<Wake>>,
    path: String,
    /// The sealer's counters.
    pub seal_stats: SealStats,
}

pub(crate) enum Wake {
    Flush,
    Stop,
}

impl Shared {
    pub(crate) fn new(
        target: FlushTarget,
        (committed_end, committed_seq): (usize, u64),
        wake: Option<Sender<Wake>>,
        path: String,
    ) -> Self {
        Shared {
            committed_end: AtomicU64::new(committed_end as u64),
            committed_seq: AtomicU64::new(committed_seq),
            durable_seq: AtomicU64::new(0),
            wanted_seq: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(None),
            target: Mutex::new(target),
            durable_mx: Mutex::new(()),
            durable_cv: Condvar::new(),
            closed: AtomicBool::new(false),
            wake,
            path,
            seal_stats: SealStats::default(),
        }
    }

    #[inline]
    pub(crate) fn check_poison(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Relaxed) {
            return Err(self.poison_error());
        }
        Ok(())
    }

    fn poison_error(&self) -> Error {
        Error::Poisoned {
            cause: self
                .poison_cause
                .lock()
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
        }
    }

    /// Stops the writer for good after a failed flush or seal.
    pub(crate) fn poison(&self, cause: String) -> Error {
        {
            let mut c = self.poison_cause.lock();
            if c.is_none() {
                *c = Some(cause);
            }
        }
        self.poisoned.store(true, Ordering::Release);
        self.notify();
        self.poison_error()
    }

    fn notify(&self) {
        let _g = self.durable_mx.lock();
        self.durable_cv.notify_all();
    }

    /// Marks everything up to `seq` durable (after a seal flushed it).
    pub(crate) fn mark_durable(&self, seq: u64) {
        self.durable_seq.fetch_max(seq, Ordering::AcqRel);
        self.notify();
    }

    /// Asks the group-commit thread for a round if a waiter waits for a
    /// sequence not yet durable (the sealer calls this when it opens a gate).
    pub(crate) fn wake_flusher_if_waited(&self) {
        let wanted = self.wanted_seq.load(Ordering::Acquire);
        if wanted > self.durable_seq.load(Ordering::Acquire) {
            if let Some(tx) = &self.wake {
                let _ = tx.try_send(Wake::Flush);
            }
        }
    }

    /// Wakes whoever waits for the sealer (a gate opened, a job finished).
    pub(crate) fn notify_sealed(&self) {
        self.notify();
    }

    /// Blocks until `gate` is open (the sealer made the segment before the
    /// target durable), the writer is poisoned, or it is closed.
    fn wait_gate(&self, gate: &Gate) -> Result<()> {
        let mut g = self.durable_mx.lock();
        while !gate.is_open() {
            self.check_poison()?;
            self.durable_cv.wait_for(&mut g, Duration::from_millis(20));
        }
        Ok(())
    }

    /// Blocks until the sealer has no job left (or the writer is poisoned).
    pub(crate) fn wait_seals(&self) -> Result<()> {
        let mut g = self.durable_mx.lock();
        while self.seal_stats.pending.load(Ordering::Acquire) > 0 {
            self.check_poison()?;
            self.durable_cv.wait_for(&mut g, Duration::from_millis(20));
        }
        self.check_poison()
    }

    /// Flushes the target up to `end` with **one** flush of the device and
    /// advances the durable sequence over every record wholly inside the
    /// flushed range.
    ///
    /// The watermark that goes to the medium with the records is the one
    /// the *previous* flushes made durable (`scan_pos` before this flush):
    /// it is durable whether or not this flush completes, so header and
    /// records can share one `msync`. The watermark on the medium therefore
    /// lags one flush behind the records; recovery validates the records
    /// after it (docs/DURABILITY.md, "The durable watermark"), and
    /// [`Shared::settle`] catches it up when the writer is idle or closes.
    /// Does nothing while the target's gate is closed.
    pub(crate) fn flush_upto(&self, t: &mut FlushTarget, end: usize) -> Result<()> {
        self.check_poison()?;
        if !t.gate.is_open() {
            return Ok(());
        }
        // The records wholly inside `[.., end)`, found while their pages
        // are still mapped (before `release_pages` below).
        let (scan_to, last) = scan_records(t, end.max(t.flushed_to));
        if end > t.flushed_to {
            let mark = t.scan_pos;
            let header = if mark > t.marked {
                store_watermark(t.map.as_ref(), mark as u64);
                HEADER_LEN
            } else {
                0
            };
            let start = (t.flushed_to & !(PAGE - 1)).max(HEADER_LEN);
            // The whole pages behind `end` are behind the writer for good:
            // unmapped first, writeback has nothing to write-protect in the
            // writer's page tables (one TLB flush for the range instead of
            // one shootdown per page).
            let whole = end & !(PAGE - 1);
            if whole > start {
                t.map.release_pages(TOKEN, start, whole - start);
            }
            if let Err(e) = t.map.flush_with_header(TOKEN, header, start, end - start) {
                return Err(self.poison(format!("flush of {} failed: {e}", self.path)));
            }
            if header != 0 {
                t.marked = mark;
            }
            t.flushed_to = end;
        }
        t.scan_pos = scan_to;
        if let Some(seq) = last {
            self.mark_durable(seq);
        }
        Ok(())
    }

    /// Brings the watermark on the medium up to everything known durable
    /// (one flush of the header page, only when it lags).
    pub(crate) fn settle(&self, t: &mut FlushTarget) -> Result<()> {
        self.check_poison()?;
        if t.scan_pos > t.marked {
            store_watermark(t.map.as_ref(), t.scan_pos as u64);
            if let Err(e) = t.map.flush(TOKEN, 0, HEADER_LEN) {
                return Err(self.poison(format!("flush of {} header failed: {e}", self.path)));
            }
            t.marked = t.scan_pos;
        }
        Ok(())
    }

    /// Flushes everything published so far (one flush of the device),
    /// first waiting (without holding the target) for the sealer to make
    /// earlier segments durable.
    pub(crate) fn flush_all(&self) -> Result<()> {
        self.with_open_target(|t, end| self.flush_upto(t, end))
    }

    /// Flushes everything published so far and brings the watermark on the
    /// medium up to it (an explicit sync, closing).
    pub(crate) fn flush_all_settled(&self) -> Result<()> {
        self.with_open_target(|t, end| {
            self.flush_upto(t, end)?;
            self.settle(t)
        })
    }

    /// Runs `f` on the target and the end of what is published, once the
    /// target's gate is open (waiting for it without holding the target).
    fn with_open_target(
        &self,
        f: impl FnOnce(&mut FlushTarget, usize) -> Result<()>,
    ) -> Result<()> {
        loop {
            let mut t = self.target.lock();
            if !t.gate.is_open() {
                let gate = Arc::clone(&t.gate);
                drop(t);
                self.wait_gate(&gate)?;
                continue;
            }
            let end = self.committed_end.load(Ordering::Acquire) as usize;
            return f(&mut t, end);
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify();
    }
}

/// A moment's view of the sealer thread ([`DurabilityHandle::sealer_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealerStatus {
    /// Full segments handed to the sealer and not sealed yet.
    pub pending: u64,
    /// Segments the sealer has sealed since the writer opened.
    pub sealed: u64,
    /// Rotations at which the writer found the backlog full and waited.
    pub backlog_waits: u64,
    /// Whether the writer is waiting for room in the backlog right now.
    pub writer_waiting: bool,
}

/// A cloneable handle to learn when appended records are durable, usable
/// from any thread while the writer keeps appending.
#[derive(Clone)]
pub struct DurabilityHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for DurabilityHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurabilityHandle")
            .field("durable_seq", &self.durable_seq())
            .finish()
    }
}

impl DurabilityHandle {
    /// The highest sequence known durable, if any.
    pub fn durable_seq(&self) -> Option<Seq> {
        match self.shared.durable_seq.load(Ordering::Acquire) {
            0 => None,
            s => Some(Seq::new(s)),
        }
    }

    /// What the sealer thread is doing: full segments waiting, segments it
    /// sealed, and how often the writer found the backlog full.
    pub fn sealer_status(&self) -> SealerStatus {
        let st = &self.shared.seal_stats;
        SealerStatus {
            pending: st.pending.load(Ordering::Acquire),
            sealed: st.sealed.load(Ordering::Acquire),
            backlog_waits: st.backlog_waits.load(Ordering::Acquire),
            writer_waiting: st.writer_waiting.load(Ordering::Acquire),
        }
    }

    /// Blocks until `seq` is durable. With group commit this asks the
    /// flusher for an early flush; in the other modes it flushes now.
    pub fn wait(&self, seq: Seq) -> Result<(), AppendError> {
        let s = &self.shared;
        if s.durable_seq.load(Ordering::Acquire) >= seq.get() {
            return Ok(());
        }
        let committed = s.committed_seq.load(Ordering::Acquire);
        if seq.get() > committed {
            return Err(AppendError::NoSuchSeq {
                seq,
                head: committed,
            });
        }
        match &s.wake {
            None => s.flush_all()?,
            Some(tx) => {
                s.wanted_seq.fetch_max(seq.get(), Ordering::AcqRel);
                let _ = tx.try_send(Wake::Flush);
            }
        }
        let mut g = s.durable_mx.lock();
        loop {
            if s.durable_seq.load(Ordering::Acquire) >= seq.get() {
                return Ok(());
            }
            s.check_poison()?;
            if s.closed.load(Ordering::Acquire) {
                return Err(AppendError::Closed {});
            }
            s.durable_cv.wait_for(&mut g, Duration::from_millis(50));
        }
    }
}

/// From the target's scan position, the records wholly inside `[.., upto)`:
/// the offset after the last of them and its sequence.
fn scan_records(t: &FlushTarget, upto: usize) -> (usize, Option<u64>) {
    let (mut at, mut last) = (t.scan_pos, None);
    while let Some(len) = t.map.load_u32_acquire(at) {
        if len == 0 || len == FOOTER_MARKER || at + len as usize > upto {
            break;
        }
        last = t.map.raw(TOKEN, at + 8, 8).and_then(|b| le::u64_at(b, 0));
        at += le::align8(len as usize);
    }
    (at, last)
}

/// The group commit thread's loop.
pub(crate) fn run_flusher(shared: Arc<Shared>, rx: Receiver<Wake>, interval: Duration) {
    // Its wakeups (every interval, and at once for each waiter) must not
    // preempt the writer: best effort.
    let _ = crate::storage::background_thread();
    let mut last_end = usize::MAX;
    loop {
        let stop = match rx.recv_timeout(interval) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => true,
            Ok(Wake::Flush) | Err(RecvTimeoutError::Timeout) => false,
        };
        if shared.poisoned.load(Ordering::Acquire) {
            if stop {
                return;
            }
            continue;
        }
        let mut t = shared.target.lock();
        let end = shared.committed_end.load(Ordering::Acquire) as usize;
        let wanted = shared.wanted_seq.load(Ordering::Acquire);
        let waiting = wanted > shared.durable_seq.load(Ordering::Acquire);
        let idle = end == last_end;
        let upto = if stop || waiting || idle {
            end
        } else {
            (end & !(PAGE - 1)).max(t.flushed_to)
        };
        // An error poisons the writer; waiters and the writer report it.
        let _ = shared.flush_upto(&mut t, upto);
        if stop || idle {
            // Nothing new to carry the watermark: it goes alone.
            let _ = shared.settle(&mut t);
        }
        drop(t);
        last_end = end;
        if stop {
            return;
        }
    }
}
