//! The writer: appends records to the active segment, rotates full
//! segments, and makes records durable according to its [`Durability`].

pub(crate) mod active;
mod durability;
pub(crate) mod sealer;
mod shared;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use durability::{Durability, DurabilityHandle, SealerStatus};
pub use sealer::MAX_PENDING_SEALS;
pub use shared::SharedWriter;

use crate::error::{Error, IoContext, Result};
use crate::layout::{self, Layout};
use crate::meta::{LedgerMeta, META_FILE};
use crate::op_error::{AppendError, OpenError};
use crate::recovery::{self, RecoveryReport};
use crate::segment::footer::FOOTER_LEN;
use crate::segment::header::{FormatVersion, HEADER_LEN};
use crate::segment::record::{self, NewRecord};
use crate::segment::ChainState;
use crate::storage::TOKEN;
use crate::storage::{FsStorage, LockGuard, Storage};
use crate::types::{ChainHash, Kind, LedgerId, SchemaVersion, SegmentOrdinal, Seq, Timestamp};
use active::ActiveSegment;
use durability::{FlushTarget, Shared, Wake};
use sealer::{Gate, SealJob, Sealer};

/// Default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 << 20;
/// Smallest segment size accepted.
pub const MIN_SEGMENT_SIZE: u64 = 8 << 10;
/// Largest segment size: the format's maximum (a larger option is lowered
/// to it).
pub use crate::segment::MAX_SEGMENT_SIZE;

/// How a writer is configured.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Size every segment file is preallocated to (rounded up to 4 KiB;
    /// between [`MIN_SEGMENT_SIZE`] and [`MAX_SEGMENT_SIZE`]).
    pub segment_size: u64,
    /// When records become durable.
    pub durability: Durability,
    /// Prepare (create and pre-fault) the next segment on a background
    /// thread, so rotation and the first writes to a fresh segment do not
    /// stall the writer.
    pub preallocate: bool,
    /// How far ahead of this machine's clock a record's time may be (`None`:
    /// no limit). Times never decrease along the chain, so one record
    /// stamped far ahead would hold every later record to its time; the
    /// default refuses anything more than a day ahead.
    pub max_clock_skew: Option<std::time::Duration>,
    /// Seal full segments on a background thread (the default), so a
    /// rotation costs the writer a few copies and one `rename`. Off, the
    /// writer runs the same sealing steps itself at rotation, in a fixed
    /// order (the fault-injection tests use that for repeatable steps).
    pub seal_in_background: bool,
}

/// The default [`WriterOptions::max_clock_skew`]: one day.
pub const DEFAULT_MAX_CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(86_400);

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            durability: Durability::default(),
            preallocate: true,
            max_clock_skew: Some(DEFAULT_MAX_CLOCK_SKEW),
            seal_in_background: true,
        }
    }
}

impl WriterOptions {
    /// Sets the segment size.
    #[must_use]
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// Sets the durability mode.
    #[must_use]
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Turns background preallocation of the next segment on or off.
    #[must_use]
    pub fn preallocate(mut self, on: bool) -> Self {
        self.preallocate = on;
        self
    }

    /// Seals full segments on a background thread, or on the writer's own
    /// (see [`WriterOptions::seal_in_background`]).
    #[must_use]
    pub fn seal_in_background(mut self, on: bool) -> Self {
        self.seal_in_background = on;
        self
    }

    /// Sets how far ahead of the clock a record's time may be (`None`: no
    /// limit; see [`WriterOptions::max_clock_skew`]).
    #[must_use]
    pub fn max_clock_skew(mut self, skew: Option<std::time::Duration>) -> Self {
        self.max_clock_skew = skew;
        self
    }
}

/// Whether opening may create a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a new ledger; the folder must be absent or empty.
    Create,
    /// Open an existing ledger.
    Open,
    /// Open the ledger in the folder, creating one if the folder is absent or empty.
    OpenOrCreate,
}

/// One record to append.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The record's kind.
    pub kind: Kind,
    /// The payload's schema version.
    pub version: SchemaVersion,
    /// The record's time; `None` stamps the current time (never earlier than
    /// the previous record's).
    pub timestamp: Option<Timestamp>,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> Entry<'a> {
    /// An entry stamped with the time of the append.
    pub fn new(kind: Kind, version: SchemaVersion, payload: &'a [u8]) -> Self {
        Entry {
            kind,
            version,
            timestamp: None,
            payload,
        }
    }

    /// Sets an explicit time.
    #[must_use]
    pub fn at(mut self, ts: Timestamp) -> Self {
        self.timestamp = Some(ts);
        self
    }
}

/// Proof that a record was appended: its sequence number and chain hash.
#[must_use = "a receipt tells which sequence to wait for and what the chain hash is"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The record's sequence number.
    pub seq: Seq,
    /// The record's chain hash.
    pub chain_hash: ChainHash,
    /// The record's timestamp.
    pub timestamp: Timestamp,
}

/// The last record of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number.
    pub seq: Seq,
    /// Its chain hash.
    pub chain_hash: ChainHash,
    /// Its timestamp.
    pub timestamp: Timestamp,
}

/// The single writer of a ledger. Holds the folder's exclusive lock.
pub struct Writer {
    storage: Arc<dyn Storage>,
    meta: LedgerMeta,
    opts: WriterOptions,
    active: ActiveSegment,
    state: ChainState,
    shared: Arc<Shared>,
    flusher: Option<(crossbeam_channel::Sender<Wake>, JoinHandle<()>)>,
    /// The sealer thread (with `seal_in_background`).
    sealer: Option<Sealer>,
    prepared: Option<active::Prepared>,
    /// Pre-faults the rest of the active segment opened by recovery.
    populating: Option<(Arc<std::sync::atomic::AtomicBool>, JoinHandle<()>)>,
    recovery: RecoveryReport,
    closed: bool,
    /// The latest time a record may have, as last computed from the clock
    /// and `opts.max_clock_skew` (nanoseconds; see `check_clock_skew`).
    time_limit: i64,
    _lock: Box<dyn LockGuard>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("ledger", &self.meta.id)
            .field("active", &self.active.name)
            .field("next_seq", &self.state.next_seq)
            .finish()
    }
}

impl Writer {
    /// Creates a new ledger in `dir` (absent or empty).
    pub fn create(dir: impl AsRef<Path>, opts: WriterOptions) -> Result<Writer, OpenError> {
        Self::open_storage(
            Arc::new(FsStorage::new(dir.as_ref())),
            OpenMode::Create,
            opts,
        )
    }

    /// Opens the ledger in `dir`, running recovery.
    pub fn open(dir: impl AsRef<Path>, opts: WriterOptions) -> Result<Writer, OpenError> {
        Self::open_storage(Arc::new(FsStorage::new(dir.as_ref())), OpenMode::Open, opts)
    }

    /// Opens the ledger in `dir`, creating it if `dir` is absent or empty.
    pub fn open_or_create(dir: impl AsRef<Path>, opts: WriterOptions) -> Result<Writer, OpenError> {
        Self::open_storage(
            Arc::new(FsStorage::new(dir.as_ref())),
            OpenMode::OpenOrCreate,
            opts,
        )
    }

    /// Opens a ledger over any [`Storage`].
    pub fn open_storage(
        storage: Arc<dyn Storage>,
        mode: OpenMode,
        opts: WriterOptions,
    ) -> Result<Writer, OpenError> {
        let size = opts
            .segment_size
            .clamp(MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)
            .div_ceil(4096)
            * 4096;
        let opts = WriterOptions {
            segment_size: size,
            ..opts
        };
        let st = storage.as_ref();
        let exists = st.root_exists()
            && st
                .list()
                .ctx("list", st.path_of(""))?
                .iter()
                .any(|n| n == META_FILE);
        match (mode, exists) {
            (OpenMode::Create, true) => {
                return Err(OpenError::AlreadyExists {
                    path: st.path_of(""),
                })
            }
            (OpenMode::Open, false) => {
                // Produces the precise error (no folder, foreign folder, ...).
                layout::read_layout(st)?;
            }
            (OpenMode::Create | OpenMode::OpenOrCreate, false) => {
                // A folder holding only a lock file or an interrupted identity
                // write (a crash during creation) counts as empty.
                let leftovers_only = |names: Vec<String>| {
                    names
                        .iter()
                        .all(|n| n == "LOCK" || n == &format!("{META_FILE}.tmp"))
                };
                if st.root_exists() && !leftovers_only(st.list().ctx("list", st.path_of(""))?) {
                    return Err(OpenError::FolderNotEmpty {
                        path: st.path_of(""),
                    });
                }
                st.create_root().ctx("create folder", st.path_of(""))?;
            }
            _ => {}
        }
        let mut lock = st
            .try_lock()
            .ctx("lock", st.path_of("LOCK"))?
            .ok_or_else(|| Error::Locked {
                path: st.path_of("LOCK"),
            })?;
        if !exists {
            let meta = LedgerMeta {
                version: FormatVersion::CURRENT,
                id: LedgerId::random().ctx("generate ledger id for", st.path_of(""))?,
                created_at: Timestamp::now(),
            };
            st.write_file_atomic(META_FILE, &meta.encode())
                .ctx("write", st.path_of(META_FILE))?;
        }
        // The lock covers the identity file too (hard-linked copies of the
        // folder share it): a new ledger's had no identity file to lock.
        if !lock.lock_identity().ctx("lock", st.path_of(META_FILE))? {
            return Err(Error::Locked {
                path: st.path_of(META_FILE),
            }
            .into());
        }
        let layout = layout::read_layout(st)?;
        let rec = recovery::recover(st, &layout, size)?;
        Ok(Self::start(storage, layout, opts, rec, lock)?)
    }

    fn start(
        storage: Arc<dyn Storage>,
        layout: Layout,
        opts: WriterOptions,
        rec: recovery::Recovered,
        lock: Box<dyn LockGuard>,
    ) -> Result<Writer> {
        let committed = rec.state.next_seq.prev().get();
        let target = FlushTarget::new(Arc::clone(&rec.active.map), rec.active.pos, Gate::open());
        let (wake, rx) = match opts.durability {
            Durability::GroupCommit { .. } => {
                let (tx, rx) = crossbeam_channel::bounded(1);
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        let shared = Arc::new(Shared::new(
            target,
            (rec.active.pos, committed),
            wake.clone(),
            storage.path_of("").display().to_string(),
        ));
        // Records recovery kept after the watermark may be in the page cache
        // only (a process crash): flushed before any is called durable.
        shared.flush_all()?;
        shared.mark_durable(committed);
        // Without a skew limit every time passes the cached check.
        let no_time_limit = if opts.max_clock_skew.is_none() {
            i64::MAX
        } else {
            i64::MIN
        };
        let flusher = match (opts.durability, wake, rx) {
            (Durability::GroupCommit { interval }, Some(tx), Some(rx)) => {
                let sh = Arc::clone(&shared);
                let handle = std::thread::Builder::new()
                    .name("ledger-flusher".into())
                    .spawn(move || durability::run_flusher(sh, rx, interval))
                    .ctx("spawn flusher thread for", storage.path_of(""))?;
                Some((tx, handle))
            }
            _ => None,
        };
        let sealer = if opts.seal_in_background {
            Some(Sealer::start(Arc::clone(&storage), Arc::clone(&shared))?)
        } else {
            None
        };
        let mut w = Writer {
            storage,
            meta: layout.meta,
            opts,
            active: rec.active,
            state: rec.state,
            shared,
            flusher,
            sealer,
            prepared: None,
            populating: None,
            recovery: rec.report,
            closed: false,
            time_limit: no_time_limit,
            _lock: lock,
        };
        w.prepare_next();
        w.populate_active();
        Ok(w)
    }

    /// Pre-faults the unwritten rest of the active segment on a background
    /// thread (segments started by rotation were pre-faulted whole when
    /// they were prepared), so the first appends after opening take no page
    /// faults. Stopped before the segment is sealed.
    fn populate_active(&mut self) {
        if !self.opts.preallocate {
            return;
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let map = Arc::clone(&self.active.map);
        let from = self.active.pos;
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("ledger-populate".into())
            .spawn(move || {
                let _ = crate::storage::idle_thread();
                const CHUNK: usize = 1 << 20;
                let mut at = from;
                while at < map.len() && !flag.load(Ordering::Relaxed) {
                    if map.populate_range(TOKEN, at, CHUNK).is_err() {
                        break;
                    }
                    at += CHUNK;
                }
            })
            .ok();
        self.populating = handle.map(|h| (stop, h));
    }

    /// Tells the pre-faulting thread to stop, without waiting for it (an
    /// idle-class thread may not run for a while on a busy machine; it holds
    /// its own reference to the map and only faults pages in).
    fn stop_populating(&mut self) {
        if let Some((stop, _detached)) = self.populating.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }

    fn prepare_next(&mut self) {
        if !self.opts.preallocate {
            return;
        }
        self.prepared = active::Prepared::start(
            Arc::clone(&self.storage),
            self.active.header.ordinal.next(),
            self.opts.segment_size,
        );
    }

    /// What recovery found and did when this writer opened the ledger.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The ledger's id.
    pub fn ledger_id(&self) -> LedgerId {
        self.meta.id
    }

    /// The storage the ledger lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The last record, if any.
    pub fn head(&self) -> Option<Head> {
        (self.state.next_seq > Seq::FIRST).then(|| Head {
            seq: self.state.next_seq.prev(),
            chain_hash: self.state.prev_hash,
            timestamp: self.state.last_ts,
        })
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> Seq {
        self.state.next_seq
    }

    /// The ordinal of the active segment.
    pub fn active_ordinal(&self) -> SegmentOrdinal {
        self.active.header.ordinal
    }

    /// How many segments are full: sealed, or handed to the sealer thread
    /// and not sealed yet ([`Writer::pending_seals`]). They are numbered
    /// from 0, and the active segment comes right after them.
    pub fn sealed_segments(&self) -> u64 {
        self.active.header.ordinal.get()
    }

    /// How many full segments wait for the sealer threads (at most
    /// [`MAX_PENDING_SEALS`] + 3: see `writer/sealer.rs`).
    pub fn pending_seals(&self) -> u64 {
        self.shared.seal_stats.pending.load(Ordering::Acquire)
    }

    /// Blocks until the sealer thread has sealed every full segment handed
    /// to it (their records are then also durable).
    pub fn wait_sealed(&self) -> Result<(), AppendError> {
        Ok(self.shared.wait_seals()?)
    }

    /// The largest payload one record can carry with this segment size.
    pub fn max_payload(&self) -> usize {
        (self.opts.segment_size as usize)
            .saturating_sub(HEADER_LEN + FOOTER_LEN + record::OVERHEAD + 8)
    }

    /// A handle other threads can use to wait for durability.
    pub fn durability_handle(&self) -> DurabilityHandle {
        DurabilityHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Blocks until `seq` is durable.
    pub fn wait_durable(&self, seq: Seq) -> Result<(), AppendError> {
        self.durability_handle().wait(seq)
    }

    /// Appends one record.
    #[inline]
    pub fn append(&mut self, entry: &Entry<'_>) -> Result<Receipt, AppendError> {
        self.check_entry(entry, self.state.next_seq, self.state.last_ts)?;
        let receipt = self.append_inner(entry)?;
        if self.opts.durability == Durability::SyncEveryAppend {
            self.shared.flush_all()?;
        }
        Ok(receipt)
    }

    /// Appends several records; with [`Durability::SyncEveryAppend`] they are
    /// flushed once, together. Every entry is checked (size, time order)
    /// before any is written, so a refused batch appends nothing.
    pub fn append_batch(&mut self, entries: &[Entry<'_>]) -> Result<Vec<Receipt>, AppendError> {
        let mut last = self.state.last_ts;
        for (i, e) in entries.iter().enumerate() {
            let seq = Seq::new(self.state.next_seq.get() + i as u64);
            self.check_entry(e, seq, last)?;
            last = e.timestamp.unwrap_or(last);
        }
        let mut receipts = Vec::with_capacity(entries.len());
        for e in entries {
            receipts.push(self.append_inner(e)?);
        }
        if self.opts.durability == Durability::SyncEveryAppend {
            self.shared.flush_all()?;
        }
        Ok(receipts)
    }

    /// Checks that `e` fits in a segment and does not go back in time from
    /// `last` (the record before it).
    #[inline]
    fn check_entry(&mut self, e: &Entry<'_>, seq: Seq, last: Timestamp) -> Result<()> {
        if e.payload.len() > self.max_payload() {
            return Err(Error::RecordTooLarge {
                len: e.payload.len() + record::OVERHEAD,
                max: self.max_payload() + record::OVERHEAD,
            });
        }
        match e.timestamp {
            Some(ts) if ts < last => Err(Error::TimeWentBackwards {
                seq,
                last,
                found: ts,
            }),
            // A record without a time gets max(clock, previous time).
            ts => self.check_clock_skew(ts.unwrap_or(last), seq),
        }
    }

    /// Refuses a time further ahead of the clock than the options allow.
    /// The limit read last time is cached: the clock only moves forward, so
    /// a time within the cached limit is within the current one, and the
    /// clock is read only for a time beyond it.
    #[inline]
    fn check_clock_skew(&mut self, ts: Timestamp, seq: Seq) -> Result<()> {
        if ts.as_nanos() <= self.time_limit {
            return Ok(());
        }
        let Some(skew) = self.opts.max_clock_skew else {
            return Ok(());
        };
        let clock = Timestamp::now();
        let limit = clock
            .as_nanos()
            .saturating_add(i64::try_from(skew.as_nanos()).unwrap_or(i64::MAX));
        self.time_limit = limit;
        if ts.as_nanos() <= limit {
            return Ok(());
        }
        Err(Error::TimeTooFarAhead {
            seq,
            found: ts,
            clock,
            skew_secs: skew.as_secs(),
        })
    }

    /// Writes one record that [`Self::check_entry`] accepted.
    #[inline]
    fn append_inner(&mut self, e: &Entry<'_>) -> Result<Receipt> {
        self.shared.check_poison()?;
        if self.closed {
            return Err(Error::Closed);
        }
        let ts = e
            .timestamp
            .unwrap_or_else(|| Timestamp::now().max(self.state.last_ts));
        let size = record::padded_size(e.payload.len());
        if self.active.pos + size + FOOTER_LEN > self.active.map.len() {
            if self.active.count == 0 {
                // Never seal an empty segment (recovery would not take it for
                // a sealed one): an empty segment too small for the record
                // (recovered from a short file) is replaced by a full-size one.
                self.replace_empty_active()?;
            } else {
                self.rotate()?;
            }
        }
        let seq = self.state.next_seq;
        let pos = self.active.pos;
        let rec = NewRecord {
            seq,
            timestamp: ts,
            kind: e.kind,
            version: e.version,
            payload: e.payload,
        };
        let prev = self.state.prev_hash;
        let mut hash = prev;
        let map = self.active.map.as_ref();
        // Encoded straight into the map after the length word (no buffer,
        // no second copy); then the length word with a release store: a
        // reader that sees the length sees the whole record.
        map.write_in_place(TOKEN, pos + 4, size - 4, &mut |body| {
            hash = record::encode_body(body, &rec, &prev);
        });
        map.store_u32_release(TOKEN, pos, (e.payload.len() + record::OVERHEAD) as u32);
        self.active.pos = pos + size;
        self.active.count += 1;
        self.active.first_ts.get_or_insert(ts);
        self.state.next_seq = seq.next();
        self.state.prev_hash = hash;
        self.state.last_ts = ts;
        self.shared
            .committed_end
            .store(self.active.pos as u64, Ordering::Release);
        self.shared
            .committed_seq
            .store(seq.get(), Ordering::Release);
        Ok(Receipt {
            seq,
            chain_hash: hash,
            timestamp: ts,
        })
    }

    /// Starts the next segment and hands the full one to the sealer (or,
    /// without a sealer thread, seals it here). See `sealer.rs` for the
    /// order of the steps and why it is safe.
    fn rotate(&mut self) -> Result<()> {
        let populating = self.populating.take().map(|(stop, h)| {
            stop.store(true, Ordering::Relaxed);
            h
        });
        let last_seq = self.state.next_seq.prev();
        let end = active::write_footer(
            &self.active,
            last_seq,
            self.state.prev_hash,
            self.state.last_ts,
        );
        let (prepared, preparing) = match self.prepared.take() {
            Some(p) => {
                let (map, thread) = p.take();
                (map, Some(thread))
            }
            None => (None, None),
        };
        let header = crate::segment::header::SegmentHeader::continuing(
            self.meta.id,
            self.active.header.ordinal.next(),
            &self.state,
            self.opts.segment_size,
        );
        let next = active::start_next(self.storage.as_ref(), header, prepared).map_err(|e| {
            self.shared
                .poison(format!("starting segment {} failed: {e}", header.ordinal))
        })?;
        let gate = Gate::closed();
        let job = SealJob {
            name: self.active.name.clone(),
            ordinal: self.active.header.ordinal,
            map: Arc::clone(&self.active.map),
            end,
            last_seq,
            next_name: next.name.clone(),
            next_map: Arc::clone(&next.map),
            next_gate: Arc::clone(&gate),
            populating: populating.into_iter().chain(preparing).collect(),
        };
        {
            let shared = Arc::clone(&self.shared);
            let mut target = shared.target.lock();
            self.install_active(&mut target, next, gate);
        }
        self.prepare_next();
        match &self.sealer {
            Some(sealer) => sealer.submit(&self.shared, job),
            None => {
                let name = job.name.clone();
                sealer::run_job(self.storage.as_ref(), &self.shared, job)
                    .map_err(|e| self.shared.poison(format!("sealing {name} failed: {e}")))
            }
        }
    }

    /// Makes `next` the active segment: the flusher targets it, and the
    /// committed end readers see starts at its first record.
    fn install_active(&mut self, target: &mut FlushTarget, next: ActiveSegment, gate: Arc<Gate>) {
        *target = FlushTarget::new(Arc::clone(&next.map), next.pos, gate);
        self.shared
            .committed_end
            .store(next.pos as u64, Ordering::Release);
        self.active = next;
    }

    /// Replaces the active segment, which holds no record, with a new file
    /// of the configured segment size (same ordinal, same chain position):
    /// its header is written into a new file that is renamed over the old
    /// one, so the folder holds one or the other, both valid and empty.
    fn replace_empty_active(&mut self) -> Result<()> {
        self.stop_populating();
        let shared = Arc::clone(&self.shared);
        let mut target = shared.target.lock();
        let header = crate::segment::header::SegmentHeader {
            created_at: Timestamp::now(),
            capacity: self.opts.segment_size,
            ..self.active.header
        };
        let next = active::create_active(self.storage.as_ref(), header, None).map_err(|e| {
            self.shared.poison(format!(
                "replacing the empty segment {} failed: {e}",
                header.ordinal
            ))
        })?;
        let gate = Arc::clone(&target.gate);
        self.install_active(&mut target, next, gate);
        drop(target);
        Ok(())
    }

    /// Flushes every appended record now, whatever the durability mode.
    pub fn sync(&mut self) -> Result<(), AppendError> {
        Ok(self.shared.flush_all_settled()?)
    }

    /// Flushes, stops the flusher thread and releases the lock, reporting
    /// any error (dropping the writer does the same, silently).
    pub fn close(mut self) -> Result<(), AppendError> {
        Ok(self.shutdown()?)
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let result = if self.shared.check_poison().is_ok() {
            self.shared.flush_all_settled()
        } else {
            Ok(())
        };
        self.stop_populating();
        // Every full segment is sealed before the writer lets go (a failed
        // seal poisons the writer and is reported by `result` below).
        if let Some(mut sealer) = self.sealer.take() {
            sealer.finish();
        }
        let result = result.and_then(|()| self.shared.check_poison());
        if let Some((tx, handle)) = self.flusher.take() {
            let _ = tx.send(Wake::Stop);
            let _ = handle.join();
        }
        if let Some(p) = self.prepared.take() {
            // The preallocated next segment holds nothing: leave a tidy folder.
            // Not joined: its pre-faulting (idle class) stops on its own.
            let (map, _detached) = p.take();
            if let Some(map) = map {
                drop(map);
                let name =
                    crate::segment::names::SegmentName::Prealloc(self.active.header.ordinal.next());
                let _ = self.storage.remove(&name.to_string());
            }
        }
        self.shared.close();
        result
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
