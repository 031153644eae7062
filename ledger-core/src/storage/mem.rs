//! [`MemStorage`]: an in-memory ledger folder that simulates crashes and
//! injects I/O faults.
//!
//! # What it models
//!
//! Every file keeps two images: the *live* bytes (what a process sees and
//! what survives a process crash, like the kernel's page cache) and the
//! *durable* bytes (what a flush has pushed to the medium, all that survives
//! a power loss). The folder itself has two images too: the live entries and
//! the *durable* entries, which only [`Storage::sync_dir`] (and the folder
//! sync inside [`Storage::write_file_atomic`]) bring up to date, so a file
//! created, renamed or removed without a folder sync is undone by a power
//! loss, as on a real file system. [`MemStorage::crash`] produces the folder
//! as a crash of each kind would leave it.
//!
//! # Fault injection
//!
//! Every I/O operation (listing, creating, mapping, measuring, truncating,
//! renaming, removing, syncing the folder, reading or writing a whole file,
//! flushing a range, locking) is one numbered *step*. [`MemStorage::inject`]
//! plans a [`Fault`] at a step: the operation fails once or from then on
//! ([`IoFault`]: no space, I/O error, short write), or the process crashes
//! just before it ([`Fault::Crash`]): the folder is captured as the crash
//! would leave it ([`MemStorage::crash_image`]) and every later operation
//! fails. Tests run a workload once to count its steps
//! ([`MemStorage::io_steps`]), then once per step with a fault there.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::mmap::RawMap;
use super::{is_sealed_name, LockGuard, SegmentMap, Storage, Token};

const PAGE: usize = 4096;
/// The largest file the in-memory folder holds (a file system's size limit:
/// larger lengths are refused with `EFBIG`, not attempted).
const MAX_FILE: usize = 1 << 30;

fn too_large(name: &str, len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("{name}: {len} bytes is more than the in-memory folder's limit of {MAX_FILE}"),
    )
}

/// What a simulated crash loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// The process died; the kernel kept every byte it wrote and every
    /// folder change it made.
    ProcessCrash,
    /// The machine lost power; only flushed bytes and synced folder entries
    /// survive.
    PowerLoss,
    /// The machine lost power while unflushed pages were being written back:
    /// each page that differs from its flushed image survives or not, at
    /// random (seeded), so later pages may survive where earlier ones did not.
    /// Folder entries are those of the last folder sync.
    PowerLossTornPages {
        /// Seed of the page choice.
        seed: u64,
    },
}

/// One kind of injected I/O failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFault {
    /// The device is full (`ENOSPC`).
    NoSpace,
    /// The device failed (`EIO`), on reads as well as writes.
    Io,
    /// A write stored only part of its bytes, then failed with `ENOSPC`: a
    /// flush makes its first page durable, a whole-file write leaves half
    /// of the bytes in its temporary file, a file creation leaves an empty
    /// file behind.
    ShortWrite,
}

impl IoFault {
    fn error(self, op: IoOp, name: &str) -> io::Error {
        let (kind, what) = match self {
            IoFault::NoSpace => (
                io::ErrorKind::StorageFull,
                "no space left on device (ENOSPC)",
            ),
            IoFault::Io => (io::ErrorKind::Other, "input/output error (EIO)"),
            IoFault::ShortWrite => (
                io::ErrorKind::StorageFull,
                "short write, then no space left on device (ENOSPC)",
            ),
        };
        io::Error::new(
            kind,
            format!("injected fault: {what} during {op:?} of {name:?}"),
        )
    }
}

/// A fault planned at one I/O step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The operation at the step fails; later ones succeed.
    Once(IoFault),
    /// The operation at the step and every later one it applies to fails
    /// until [`MemStorage::clear_faults`]: a full disk fails every operation
    /// that writes (reads still work), a failed device every operation.
    From(IoFault),
    /// The process crashes just before the step: the folder is captured as
    /// the crash leaves it and every later operation fails.
    Crash,
}

/// The kind of an I/O step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOp {
    /// Listing the folder.
    List,
    /// Creating a segment file.
    Create,
    /// Mapping a file.
    Map,
    /// Reading a file's length.
    Len,
    /// Cutting or extending a file.
    Truncate,
    /// Renaming a file.
    Rename,
    /// Removing a file.
    Remove,
    /// Syncing the folder's entries.
    SyncDir,
    /// Reading a whole file.
    Read,
    /// Writing a whole file atomically.
    WriteFile,
    /// Flushing a range of a mapped file.
    Flush,
    /// Taking the writer lock.
    Lock,
}

impl IoOp {
    /// Whether the operation changes the medium (and so fails on a full disk).
    pub fn writes(self) -> bool {
        !matches!(
            self,
            IoOp::List | IoOp::Map | IoOp::Len | IoOp::Read | IoOp::Lock
        )
    }
}

/// The outcome of a step check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Go,
    Fail(IoFault),
    Dead,
}

/// The folder as one instant left it: enough to build the image of any
/// crash mode.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    exists: bool,
    /// Live entries with their live bytes.
    live: BTreeMap<String, Vec<u8>>,
    /// Durable entries with (durable bytes, live bytes).
    durable: BTreeMap<String, (Vec<u8>, Vec<u8>)>,
}

impl Snapshot {
    fn files(&self, mode: CrashMode) -> BTreeMap<String, Vec<u8>> {
        match mode {
            CrashMode::ProcessCrash => self.live.clone(),
            CrashMode::PowerLoss => self
                .durable
                .iter()
                .map(|(n, (d, _))| (n.clone(), d.clone()))
                .collect(),
            CrashMode::PowerLossTornPages { seed } => {
                let mut rng = seed | 1;
                self.durable
                    .iter()
                    .map(|(n, (durable, live))| {
                        let mut out = durable.clone();
                        for (o, l) in out.chunks_mut(PAGE).zip(live.chunks(PAGE)) {
                            if o != l {
                                // xorshift64: a deterministic coin per differing page.
                                rng ^= rng << 13;
                                rng ^= rng >> 7;
                                rng ^= rng << 17;
                                if rng & 1 == 1 {
                                    o.copy_from_slice(l);
                                }
                            }
                        }
                        (n.clone(), out)
                    })
                    .collect()
            }
        }
    }
}

#[derive(Debug, Default)]
struct Faults {
    steps: AtomicU64,
    /// The operations seen, in order (kind and file name).
    log: Mutex<Vec<(IoOp, String)>>,
    plan: Mutex<Option<(u64, Fault)>>,
    /// A fault that holds from its step on.
    standing: Mutex<Option<IoFault>>,
    /// Files every operation on which fails (bad sectors).
    bad_files: Mutex<Vec<(String, IoFault)>>,
    /// The process "died": every operation fails.
    dead: AtomicBool,
    crash_image: Mutex<Option<Snapshot>>,
    /// Flushes left before every flush fails (the older, flush-only knob).
    flushes_before_failure: AtomicU64,
    flush_countdown_armed: AtomicBool,
    /// Operations of this kind wait until released ([`MemStorage::hold`]).
    held: Mutex<Option<IoOp>>,
    held_cv: parking_lot::Condvar,
    /// How many operations wait at the hold now.
    holding: AtomicU64,
}

impl Faults {
    /// Numbers the operation and decides its fate. Never called with the
    /// folder lock held (a crash captures the folder).
    fn step(&self, shared: &Shared, op: IoOp, name: &str) -> Verdict {
        if self.dead.load(Ordering::Acquire) {
            return Verdict::Dead;
        }
        {
            let mut held = self.held.lock();
            if *held == Some(op) {
                self.holding.fetch_add(1, Ordering::AcqRel);
                while *held == Some(op) {
                    self.held_cv.wait(&mut held);
                }
                self.holding.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let n = self.steps.fetch_add(1, Ordering::AcqRel);
        self.log.lock().push((op, name.to_owned()));
        if op == IoOp::Flush && self.flush_countdown_armed.load(Ordering::Acquire) {
            let left = self.flushes_before_failure.load(Ordering::Acquire);
            if left == 0 {
                return Verdict::Fail(IoFault::Io);
            }
            self.flushes_before_failure.fetch_sub(1, Ordering::AcqRel);
        }
        let planned = {
            let plan = self.plan.lock();
            match *plan {
                Some((at, fault)) if at == n => Some(fault),
                _ => None,
            }
        };
        match planned {
            Some(Fault::Crash) => {
                self.dead.store(true, Ordering::Release);
                let snap = shared.snapshot();
                *self.crash_image.lock() = Some(snap);
                return Verdict::Dead;
            }
            // A full disk fails only what writes; a failed device anything.
            Some(Fault::Once(f)) if op.writes() || f == IoFault::Io => return Verdict::Fail(f),
            Some(Fault::Once(_)) => {}
            Some(Fault::From(f)) => *self.standing.lock() = Some(f),
            None => {}
        }
        if let Some((_, f)) = self.bad_files.lock().iter().find(|(n, _)| n == name) {
            return Verdict::Fail(*f);
        }
        match *self.standing.lock() {
            Some(IoFault::Io) => Verdict::Fail(IoFault::Io),
            Some(f) if op.writes() => Verdict::Fail(f),
            _ => Verdict::Go,
        }
    }
}

#[derive(Debug)]
struct MemMap {
    live: RawMap,
    durable: Mutex<Vec<u8>>,
    /// The folder the file belongs to, for fault checks on flushes.
    owner: Weak<Shared>,
    name: String,
}

impl MemMap {
    fn new(
        live_bytes: &[u8],
        durable: Vec<u8>,
        owner: Weak<Shared>,
        name: &str,
    ) -> io::Result<Self> {
        let live = RawMap::anonymous(live_bytes.len())?;
        live.write(0, live_bytes);
        Ok(MemMap {
            live,
            durable: Mutex::new(durable),
            owner,
            name: name.to_owned(),
        })
    }

    fn live_bytes(&self) -> Vec<u8> {
        // A writer may be appending to this file in another thread.
        self.live.copy_atomic()
    }

    fn make_durable(&self, offset: usize, len: usize) -> io::Result<()> {
        let src = self
            .live
            .bytes(offset, len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "flush outside the map"))?;
        let mut durable = self.durable.lock();
        durable[offset..offset + len].copy_from_slice(src);
        Ok(())
    }
}

/// A map handed out by [`MemStorage`]: the file's shared bytes, read-only
/// sealed or not by the name it was mapped under.
#[derive(Debug)]
struct MemView {
    map: Arc<MemMap>,
    sealed: bool,
}

impl SegmentMap for MemView {
    fn len(&self) -> usize {
        self.map.live.len()
    }
    fn is_sealed(&self) -> bool {
        self.sealed
    }
    fn raw(&self, _: Token, offset: usize, len: usize) -> Option<&[u8]> {
        self.map.live.bytes(offset, len)
    }
    fn write(&self, _: Token, offset: usize, data: &[u8]) {
        self.map.live.write(offset, data)
    }
    fn write_in_place(&self, _: Token, offset: usize, len: usize, f: &mut dyn FnMut(&mut [u8])) {
        self.map.live.write_in_place(offset, len, f)
    }
    fn load_u32_acquire(&self, offset: usize) -> Option<u32> {
        self.map.live.load_u32_acquire(offset)
    }
    fn store_u32_release(&self, _: Token, offset: usize, value: u32) {
        self.map.live.store_u32_release(offset, value)
    }
    fn load_u64_acquire(&self, offset: usize) -> Option<u64> {
        self.map.live.load_u64_acquire(offset)
    }
    fn store_u64_release(&self, _: Token, offset: usize, value: u64) {
        self.map.live.store_u64_release(offset, value)
    }
    fn flush(&self, _: Token, offset: usize, len: usize) -> io::Result<()> {
        self.map.flush(offset, len)
    }
    fn flush_with_header(
        &self,
        _: Token,
        header: usize,
        offset: usize,
        len: usize,
    ) -> io::Result<()> {
        // One I/O step, as one msync over both ranges is one device flush;
        // only the two ranges are copied (what else the span covers is
        // durable already), so a flush costs no more as the file fills.
        self.map.flush_pair((0, header), (offset, len))
    }
    fn populate(&self, _: Token) -> io::Result<()> {
        Ok(())
    }
}

impl MemMap {
    fn flush(&self, offset: usize, len: usize) -> io::Result<()> {
        self.flush_pair((offset, len), (offset + len, 0))
    }

    /// Makes two ranges durable in one I/O step (one flush of the device).
    /// A short write makes the first page of the first range durable.
    fn flush_pair(&self, (offset, len): (usize, usize), second: (usize, usize)) -> io::Result<()> {
        if let Some(owner) = self.owner.upgrade() {
            match owner.faults.step(&owner, IoOp::Flush, &self.name) {
                Verdict::Go => {}
                Verdict::Dead => return Err(dead(IoOp::Flush, &self.name)),
                Verdict::Fail(IoFault::ShortWrite) => {
                    // The first page of the range reached the medium.
                    let first = (PAGE - offset % PAGE).min(len);
                    self.make_durable(offset, first)?;
                    return Err(IoFault::ShortWrite.error(IoOp::Flush, &self.name));
                }
                Verdict::Fail(f) => return Err(f.error(IoOp::Flush, &self.name)),
            }
        }
        self.make_durable(offset, len)?;
        self.make_durable(second.0, second.1)
    }
}

#[derive(Debug, Default)]
struct MemDir {
    exists: bool,
    /// Live entries.
    files: BTreeMap<String, Arc<MemMap>>,
    /// Entries as of the last folder sync.
    durable_files: BTreeMap<String, Arc<MemMap>>,
    locked: bool,
}

impl MemDir {
    /// Replaces a file's contents in place (same entry, live and durable).
    fn replace(&mut self, old: &Arc<MemMap>, new: Arc<MemMap>) {
        for map in [&mut self.files, &mut self.durable_files] {
            for slot in map.values_mut() {
                if Arc::ptr_eq(slot, old) {
                    *slot = Arc::clone(&new);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    dir: Mutex<MemDir>,
    faults: Faults,
}

impl Shared {
    fn snapshot(&self) -> Snapshot {
        let dir = self.dir.lock();
        Snapshot {
            exists: dir.exists,
            live: dir
                .files
                .iter()
                .map(|(n, m)| (n.clone(), m.live_bytes()))
                .collect(),
            durable: dir
                .durable_files
                .iter()
                .map(|(n, m)| (n.clone(), (m.durable.lock().clone(), m.live_bytes())))
                .collect(),
        }
    }
}

/// An in-memory ledger folder. Clones share the same folder.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    shared: Arc<Shared>,
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no file {name}"))
}

fn verdict_result(v: Verdict, op: IoOp, name: &str) -> io::Result<()> {
    match v {
        Verdict::Go => Ok(()),
        Verdict::Dead => Err(dead(op, name)),
        Verdict::Fail(f) => Err(f.error(op, name)),
    }
}

fn dead(op: IoOp, name: &str) -> io::Error {
    io::Error::other(format!(
        "injected crash: the process is gone ({op:?} of {name:?} never ran)"
    ))
}

impl MemStorage {
    /// An empty, not yet existing folder.
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&self, op: IoOp, name: &str) -> io::Result<()> {
        verdict_result(self.shared.faults.step(&self.shared, op, name), op, name)
    }

    /// Plans `fault` at I/O step `step` (0-based, counted by
    /// [`io_steps`](Self::io_steps) from the storage's creation), replacing
    /// any earlier plan.
    pub fn inject(&self, step: u64, fault: Fault) {
        *self.shared.faults.plan.lock() = Some((step, fault));
    }

    /// Every later operation on the file `name` fails with `fault` (a bad
    /// sector under one file), until [`clear_faults`](Self::clear_faults).
    pub fn fail_file(&self, name: &str, fault: IoFault) {
        self.shared
            .faults
            .bad_files
            .lock()
            .push((name.to_owned(), fault));
    }

    /// After `n` more successful flushes, every flush fails with an I/O error.
    pub fn fail_flushes_after(&self, n: u64) {
        let f = &self.shared.faults;
        f.flushes_before_failure.store(n, Ordering::Release);
        f.flush_countdown_armed.store(true, Ordering::Release);
    }

    /// Stops injecting faults: clears the plan, a standing fault, failing
    /// files and the flush countdown. (A crashed process stays dead.)
    pub fn clear_faults(&self) {
        let f = &self.shared.faults;
        f.flush_countdown_armed.store(false, Ordering::Release);
        *f.plan.lock() = None;
        *f.standing.lock() = None;
        f.bad_files.lock().clear();
    }

    /// Makes every later operation of kind `op` wait until
    /// [`release`](Self::release) (a slow disk, to hold a thread at a step).
    pub fn hold(&self, op: IoOp) {
        *self.shared.faults.held.lock() = Some(op);
    }

    /// Lets held operations go on.
    pub fn release(&self) {
        *self.shared.faults.held.lock() = None;
        self.shared.faults.held_cv.notify_all();
    }

    /// How many operations wait at the hold now.
    pub fn holding(&self) -> u64 {
        self.shared.faults.holding.load(Ordering::Acquire)
    }

    /// How many I/O steps ran (or were refused) so far.
    pub fn io_steps(&self) -> u64 {
        self.shared.faults.steps.load(Ordering::Acquire)
    }

    /// The I/O steps so far: their kinds and file names, in order.
    pub fn step_log(&self) -> Vec<(IoOp, String)> {
        self.shared.faults.log.lock().clone()
    }

    /// Whether a planned [`Fault::Crash`] has happened.
    pub fn has_crashed(&self) -> bool {
        self.shared.faults.dead.load(Ordering::Acquire)
    }

    /// The folder as the planned [`Fault::Crash`] left it under `mode`, as a
    /// new, fault-free storage; `None` if no crash happened yet.
    pub fn crash_image(&self, mode: CrashMode) -> Option<io::Result<MemStorage>> {
        let snap = self.shared.faults.crash_image.lock().clone()?;
        Some(Self::from_snapshot(&snap, mode))
    }

    /// The live bytes of a file (what a process would read).
    pub fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.shared
            .dir
            .lock()
            .files
            .get(name)
            .map(|m| m.live_bytes())
    }

    /// Replaces a file's bytes (live and durable, entry synced), e.g. to
    /// tamper with it. Not an I/O step.
    pub fn set_file_bytes(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let map = Arc::new(self.new_map(bytes, bytes.to_vec(), name)?);
        let mut dir = self.shared.dir.lock();
        dir.files.insert(name.to_owned(), Arc::clone(&map));
        dir.durable_files.insert(name.to_owned(), map);
        Ok(())
    }

    fn new_map(&self, live: &[u8], durable: Vec<u8>, name: &str) -> io::Result<MemMap> {
        MemMap::new(live, durable, Arc::downgrade(&self.shared), name)
    }

    /// The folder as a crash of `mode` would leave it now, as a new,
    /// unlocked, fault-free storage. This storage is unchanged.
    pub fn crash(&self, mode: CrashMode) -> io::Result<MemStorage> {
        Self::from_snapshot(&self.shared.snapshot(), mode)
    }

    fn from_snapshot(snap: &Snapshot, mode: CrashMode) -> io::Result<MemStorage> {
        let out = MemStorage::new();
        {
            let mut dir = out.shared.dir.lock();
            dir.exists = snap.exists;
            for (name, bytes) in snap.files(mode) {
                let m = Arc::new(out.new_map(&bytes, bytes.clone(), &name)?);
                dir.files.insert(name.clone(), Arc::clone(&m));
                dir.durable_files.insert(name, m);
            }
        }
        Ok(out)
    }
}

#[derive(Debug)]
struct MemLock {
    shared: Arc<Shared>,
}

impl LockGuard for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.shared.dir.lock().locked = false;
    }
}

impl Storage for MemStorage {
    fn path_of(&self, name: &str) -> PathBuf {
        PathBuf::from("mem:").join(name)
    }

    fn root_exists(&self) -> bool {
        self.shared.dir.lock().exists
    }

    fn create_root(&self) -> io::Result<()> {
        self.shared.dir.lock().exists = true;
        Ok(())
    }

    fn list(&self) -> io::Result<Vec<String>> {
        self.check(IoOp::List, "")?;
        let dir = self.shared.dir.lock();
        if !dir.exists {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such folder"));
        }
        Ok(dir.files.keys().cloned().collect())
    }

    fn create_segment(&self, _: Token, name: &str, len: u64) -> io::Result<Arc<dyn SegmentMap>> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        if len > MAX_FILE {
            return Err(too_large(name, len));
        }
        let verdict = self.shared.faults.step(&self.shared, IoOp::Create, name);
        let mut dir = self.shared.dir.lock();
        if dir.files.contains_key(name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{name} exists"),
            ));
        }
        if verdict == Verdict::Fail(IoFault::ShortWrite) {
            // The file was created, its space was not.
            let empty = Arc::new(self.new_map(&[], Vec::new(), name)?);
            dir.files.insert(name.to_owned(), empty);
        }
        verdict_result(verdict, IoOp::Create, name)?;
        let map = Arc::new(self.new_map(&vec![0; len], vec![0; len], name)?);
        dir.files.insert(name.to_owned(), Arc::clone(&map));
        Ok(Arc::new(MemView { map, sealed: false }))
    }

    fn map_segment(&self, name: &str) -> io::Result<Arc<dyn SegmentMap>> {
        self.check(IoOp::Map, name)?;
        let dir = self.shared.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(Arc::new(MemView {
            map: Arc::clone(map),
            sealed: is_sealed_name(name),
        }))
    }

    fn map_writable(&self, _: Token, name: &str) -> io::Result<Arc<dyn SegmentMap>> {
        self.check(IoOp::Map, name)?;
        let dir = self.shared.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(Arc::new(MemView {
            map: Arc::clone(map),
            sealed: false,
        }))
    }

    fn file_len(&self, name: &str) -> io::Result<u64> {
        self.check(IoOp::Len, name)?;
        let dir = self.shared.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(map.live.len() as u64)
    }

    fn truncate(&self, _: Token, name: &str, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        if len > MAX_FILE {
            return Err(too_large(name, len));
        }
        self.check(IoOp::Truncate, name)?;
        let mut dir = self.shared.dir.lock();
        let old = Arc::clone(dir.files.get(name).ok_or_else(|| not_found(name))?);
        let mut live = old.live_bytes();
        let mut durable = old.durable.lock().clone();
        // The new length is made durable (ftruncate + fsync), and with it the
        // bytes the file keeps, as fsync flushes the whole file.
        live.resize(len, 0);
        durable.clone_from(&live);
        let new = Arc::new(self.new_map(&live, durable, name)?);
        dir.replace(&old, new);
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.check(IoOp::Rename, from)?;
        let mut dir = self.shared.dir.lock();
        let map = dir.files.remove(from).ok_or_else(|| not_found(from))?;
        dir.files.insert(to.to_owned(), map);
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.check(IoOp::Remove, name)?;
        let mut dir = self.shared.dir.lock();
        dir.files
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.check(IoOp::SyncDir, "")?;
        let mut dir = self.shared.dir.lock();
        dir.durable_files = dir.files.clone();
        Ok(())
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        self.check(IoOp::Read, name)?;
        let dir = self.shared.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(map.live_bytes())
    }

    fn write_file_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        // Three steps, as on a real file system: the temporary file written
        // and synced, renamed over `name`, the folder synced. A crash between
        // them leaves the temporary file, or a rename a power loss undoes.
        let tmp = format!("{name}.tmp");
        let verdict = self.shared.faults.step(&self.shared, IoOp::WriteFile, &tmp);
        if verdict == Verdict::Fail(IoFault::ShortWrite) {
            // Half of the bytes reached the temporary file; no rename.
            let half = &bytes[..bytes.len() / 2];
            let map = Arc::new(self.new_map(half, vec![0; half.len()], &tmp)?);
            self.shared.dir.lock().files.insert(tmp.clone(), map);
        }
        verdict_result(verdict, IoOp::WriteFile, &tmp)?;
        let map = Arc::new(self.new_map(bytes, bytes.to_vec(), name)?);
        self.shared.dir.lock().files.insert(tmp.clone(), map);
        self.rename(&tmp, name)?;
        self.sync_dir()
    }

    fn try_lock(&self) -> io::Result<Option<Box<dyn LockGuard>>> {
        self.check(IoOp::Lock, "LOCK")?;
        let mut dir = self.shared.dir.lock();
        if dir.locked {
            return Ok(None);
        }
        dir.locked = true;
        Ok(Some(Box::new(MemLock {
            shared: Arc::clone(&self.shared),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::TOKEN;

    #[test]
    fn power_loss_keeps_only_flushed_bytes() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment(TOKEN, "a", 8192).unwrap();
        s.sync_dir().unwrap();
        m.write(TOKEN, 0, b"flushed");
        m.flush(TOKEN, 0, 7).unwrap();
        m.write(TOKEN, 4096, b"not flushed");
        let p = s.crash(CrashMode::PowerLoss).unwrap();
        let bytes = p.file_bytes("a").unwrap();
        assert_eq!(&bytes[..7], b"flushed");
        assert!(bytes[4096..].iter().all(|&b| b == 0));
        let c = s.crash(CrashMode::ProcessCrash).unwrap();
        assert_eq!(&c.file_bytes("a").unwrap()[4096..4107], b"not flushed");
    }

    #[test]
    fn power_loss_undoes_folder_changes_not_synced() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let a = s.create_segment(TOKEN, "a", 4096).unwrap();
        a.write(TOKEN, 0, b"a");
        a.flush(TOKEN, 0, 1).unwrap();
        s.sync_dir().unwrap();
        s.create_segment(TOKEN, "b", 4096).unwrap();
        s.rename("a", "c").unwrap();
        let p = s.crash(CrashMode::PowerLoss).unwrap();
        assert_eq!(
            p.list().unwrap(),
            vec!["a".to_owned()],
            "rename and creation undone"
        );
        assert_eq!(p.file_bytes("a").unwrap()[0], b'a');
        let c = s.crash(CrashMode::ProcessCrash).unwrap();
        assert_eq!(c.list().unwrap(), vec!["b".to_owned(), "c".to_owned()]);
        s.sync_dir().unwrap();
        let p = s.crash(CrashMode::PowerLoss).unwrap();
        assert_eq!(p.list().unwrap(), vec!["b".to_owned(), "c".to_owned()]);
    }

    #[test]
    fn truncation_is_durable_and_keeps_the_entry() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let a = s.create_segment(TOKEN, "a", 8192).unwrap();
        s.sync_dir().unwrap();
        a.write(TOKEN, 0, b"kept");
        s.truncate(TOKEN, "a", 4096).unwrap();
        let p = s.crash(CrashMode::PowerLoss).unwrap();
        let bytes = p.file_bytes("a").unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[..4], b"kept");
    }

    #[test]
    fn injected_flush_failure_fires_after_countdown() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment(TOKEN, "a", 16).unwrap();
        s.fail_flushes_after(1);
        assert!(m.flush(TOKEN, 0, 4).is_ok());
        assert!(m.flush(TOKEN, 0, 4).is_err());
        s.clear_faults();
        assert!(m.flush(TOKEN, 0, 4).is_ok());
    }

    #[test]
    fn planned_faults_fire_at_their_step() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment(TOKEN, "a", 8192).unwrap(); // step 0
        s.inject(2, Fault::Once(IoFault::NoSpace));
        assert!(m.flush(TOKEN, 0, 8).is_ok()); // step 1
        let e = m.flush(TOKEN, 0, 8).unwrap_err(); // step 2
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(e.to_string().contains("\"a\""), "{e}");
        assert!(m.flush(TOKEN, 0, 8).is_ok(), "a once-fault fires once");

        s.inject(4, Fault::From(IoFault::NoSpace));
        assert!(s.rename("a", "b").is_err()); // step 4
        assert!(s.sync_dir().is_err(), "a full disk stays full");
        assert!(s.read_file("a").is_ok(), "reads work on a full disk");
        s.clear_faults();
        assert!(s.sync_dir().is_ok());

        s.inject(s.io_steps(), Fault::From(IoFault::Io));
        assert!(s.read_file("a").is_err(), "a failed device fails reads");
        s.clear_faults();
        assert_eq!(s.step_log()[0], (IoOp::Create, "a".to_owned()));
    }

    #[test]
    fn short_writes_leave_partial_state() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment(TOKEN, "a", 3 * 4096).unwrap();
        s.sync_dir().unwrap();
        m.write(TOKEN, 4000, &[7; 5000]);
        s.inject(s.io_steps(), Fault::Once(IoFault::ShortWrite));
        assert!(m.flush(TOKEN, 4000, 5000).is_err());
        let p = s
            .crash(CrashMode::PowerLoss)
            .unwrap()
            .file_bytes("a")
            .unwrap();
        assert!(p[4000..4096].iter().all(|&b| b == 7), "first page durable");
        assert!(p[4096..9000].iter().all(|&b| b == 0), "the rest not");

        s.inject(s.io_steps(), Fault::Once(IoFault::ShortWrite));
        assert!(s.write_file_atomic("f", b"12345678").is_err());
        assert_eq!(s.file_bytes("f.tmp").unwrap(), b"1234");
        assert!(s.file_bytes("f").is_none());
        assert!(s.write_file_atomic("f", b"12345678").is_ok());
        assert!(s.file_bytes("f.tmp").is_none());

        s.inject(s.io_steps(), Fault::Once(IoFault::ShortWrite));
        assert!(s.create_segment(TOKEN, "g", 4096).is_err());
        assert_eq!(s.file_len("g").unwrap(), 0, "an empty file is left");
    }

    #[test]
    fn a_crash_captures_the_folder_and_stops_the_process() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment(TOKEN, "a", 4096).unwrap();
        s.sync_dir().unwrap();
        m.write(TOKEN, 0, b"one");
        m.flush(TOKEN, 0, 3).unwrap();
        m.write(TOKEN, 3, b"two");
        s.inject(s.io_steps(), Fault::Crash);
        assert!(s.crash_image(CrashMode::PowerLoss).is_none());
        assert!(m.flush(TOKEN, 0, 6).is_err());
        assert!(s.has_crashed());
        m.write(TOKEN, 6, b"after");
        assert!(s.sync_dir().is_err(), "nothing runs after the crash");
        let p = s.crash_image(CrashMode::PowerLoss).unwrap().unwrap();
        assert_eq!(&p.file_bytes("a").unwrap()[..6], b"one\0\0\0");
        let c = s.crash_image(CrashMode::ProcessCrash).unwrap().unwrap();
        assert_eq!(&c.file_bytes("a").unwrap()[..11], b"onetwo\0\0\0\0\0");
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let g = s.try_lock().unwrap();
        assert!(g.is_some());
        assert!(s.try_lock().unwrap().is_none());
        drop(g);
        assert!(s.try_lock().unwrap().is_some());
    }
}
