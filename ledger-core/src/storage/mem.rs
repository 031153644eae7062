//! [`MemStorage`]: an in-memory ledger folder that can simulate crashes and
//! failed flushes.
//!
//! Every file keeps two images: the *live* bytes (what a process sees and
//! what survives a process crash, like the kernel's page cache) and the
//! *durable* bytes (what a flush has pushed to the medium, all that survives
//! a power loss). [`MemStorage::crash`] produces the folder as it would be
//! found after a crash of each kind.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::mmap::RawMap;
use super::{LockGuard, SegmentMap, Storage};

const PAGE: usize = 4096;

/// What a simulated crash loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// The process died; the kernel kept every byte it wrote.
    ProcessCrash,
    /// The machine lost power; only flushed bytes survive.
    PowerLoss,
    /// The machine lost power while unflushed pages were being written back:
    /// each page that differs from its flushed image survives or not, at
    /// random (seeded), so later pages may survive where earlier ones did not.
    PowerLossTornPages {
        /// Seed of the page choice.
        seed: u64,
    },
}

#[derive(Debug, Default)]
struct Faults {
    /// When non-zero: the number of flushes that still succeed before every
    /// later flush fails with an I/O error.
    flushes_before_failure: AtomicU64,
    armed: AtomicBool,
    flush_count: AtomicU64,
}

impl Faults {
    fn on_flush(&self) -> io::Result<()> {
        self.flush_count.fetch_add(1, Ordering::Relaxed);
        if !self.armed.load(Ordering::Acquire) {
            return Ok(());
        }
        let left = self.flushes_before_failure.load(Ordering::Acquire);
        if left == 0 {
            return Err(io::Error::other("injected flush failure (EIO)"));
        }
        self.flushes_before_failure.fetch_sub(1, Ordering::AcqRel);
        Ok(())
    }
}

#[derive(Debug)]
struct MemMap {
    live: RawMap,
    durable: Mutex<Vec<u8>>,
    faults: Arc<Faults>,
}

impl MemMap {
    fn new(live_bytes: &[u8], durable: Vec<u8>, faults: Arc<Faults>) -> io::Result<Self> {
        let live = RawMap::anonymous(live_bytes.len())?;
        live.write(0, live_bytes);
        Ok(MemMap {
            live,
            durable: Mutex::new(durable),
            faults,
        })
    }

    fn live_bytes(&self) -> Vec<u8> {
        self.live
            .bytes(0, self.live.len())
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }
}

impl SegmentMap for MemMap {
    fn len(&self) -> usize {
        self.live.len()
    }
    fn bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        self.live.bytes(offset, len)
    }
    fn write(&self, offset: usize, data: &[u8]) {
        self.live.write(offset, data)
    }
    fn load_u32_acquire(&self, offset: usize) -> Option<u32> {
        self.live.load_u32_acquire(offset)
    }
    fn store_u32_release(&self, offset: usize, value: u32) {
        self.live.store_u32_release(offset, value)
    }
    fn load_u64_acquire(&self, offset: usize) -> Option<u64> {
        self.live.load_u64_acquire(offset)
    }
    fn store_u64_release(&self, offset: usize, value: u64) {
        self.live.store_u64_release(offset, value)
    }
    fn flush(&self, offset: usize, len: usize) -> io::Result<()> {
        self.faults.on_flush()?;
        let src = self
            .live
            .bytes(offset, len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "flush outside the map"))?;
        let mut durable = self.durable.lock();
        durable[offset..offset + len].copy_from_slice(src);
        Ok(())
    }
    fn populate(&self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct MemDir {
    exists: bool,
    files: BTreeMap<String, Arc<MemMap>>,
    locked: bool,
}

/// An in-memory ledger folder. Clones share the same folder.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    dir: Arc<Mutex<MemDir>>,
    faults: Arc<Faults>,
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no file {name}"))
}

impl MemStorage {
    /// An empty, not yet existing folder.
    pub fn new() -> Self {
        Self::default()
    }

    /// After `n` more successful flushes, every flush fails with an I/O error.
    pub fn fail_flushes_after(&self, n: u64) {
        self.faults
            .flushes_before_failure
            .store(n, Ordering::Release);
        self.faults.armed.store(true, Ordering::Release);
    }

    /// Stops injecting flush failures.
    pub fn clear_faults(&self) {
        self.faults.armed.store(false, Ordering::Release);
    }

    /// How many flushes were requested so far.
    pub fn flush_count(&self) -> u64 {
        self.faults.flush_count.load(Ordering::Relaxed)
    }

    /// The live bytes of a file (what a process would read).
    pub fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.dir.lock().files.get(name).map(|m| m.live_bytes())
    }

    /// Replaces a file's bytes (live and durable), e.g. to tamper with it.
    pub fn set_file_bytes(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let map = MemMap::new(bytes, bytes.to_vec(), Arc::clone(&self.faults))?;
        self.dir.lock().files.insert(name.to_owned(), Arc::new(map));
        Ok(())
    }

    /// The folder as a crash of `mode` would leave it, as a new, unlocked
    /// storage. This storage is unchanged.
    pub fn crash(&self, mode: CrashMode) -> io::Result<MemStorage> {
        let dir = self.dir.lock();
        let faults = Arc::new(Faults::default());
        let mut files = BTreeMap::new();
        let mut rng = match mode {
            CrashMode::PowerLossTornPages { seed } => seed | 1,
            _ => 1,
        };
        for (name, map) in &dir.files {
            let live = map.live_bytes();
            let durable = map.durable.lock().clone();
            let survived = match mode {
                CrashMode::ProcessCrash => live,
                CrashMode::PowerLoss => durable,
                CrashMode::PowerLossTornPages { .. } => {
                    let mut out = durable;
                    for (page, (o, l)) in out.chunks_mut(PAGE).zip(live.chunks(PAGE)).enumerate() {
                        let _ = page;
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
                    out
                }
            };
            let m = MemMap::new(&survived, survived.clone(), Arc::clone(&faults))?;
            files.insert(name.clone(), Arc::new(m));
        }
        Ok(MemStorage {
            dir: Arc::new(Mutex::new(MemDir {
                exists: dir.exists,
                files,
                locked: false,
            })),
            faults,
        })
    }
}

#[derive(Debug)]
struct MemLock {
    dir: Arc<Mutex<MemDir>>,
}

impl LockGuard for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.dir.lock().locked = false;
    }
}

impl Storage for MemStorage {
    fn path_of(&self, name: &str) -> PathBuf {
        PathBuf::from("mem:").join(name)
    }

    fn root_exists(&self) -> bool {
        self.dir.lock().exists
    }

    fn create_root(&self) -> io::Result<()> {
        self.dir.lock().exists = true;
        Ok(())
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let dir = self.dir.lock();
        if !dir.exists {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such folder"));
        }
        Ok(dir.files.keys().cloned().collect())
    }

    fn create_segment(&self, name: &str, len: u64) -> io::Result<Arc<dyn SegmentMap>> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        let mut dir = self.dir.lock();
        if dir.files.contains_key(name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{name} exists"),
            ));
        }
        let map = Arc::new(MemMap::new(
            &vec![0; len],
            vec![0; len],
            Arc::clone(&self.faults),
        )?);
        dir.files.insert(name.to_owned(), Arc::clone(&map));
        Ok(map)
    }

    fn map_segment(&self, name: &str, _writable: bool) -> io::Result<Arc<dyn SegmentMap>> {
        let dir = self.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(Arc::clone(map) as Arc<dyn SegmentMap>)
    }

    fn file_len(&self, name: &str) -> io::Result<u64> {
        let dir = self.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(map.len() as u64)
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        let mut dir = self.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        let mut live = map.live_bytes();
        let mut durable = map.durable.lock().clone();
        live.resize(len, 0);
        durable.resize(len, 0);
        let new = MemMap::new(&live, durable, Arc::clone(&self.faults))?;
        dir.files.insert(name.to_owned(), Arc::new(new));
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut dir = self.dir.lock();
        let map = dir.files.remove(from).ok_or_else(|| not_found(from))?;
        dir.files.insert(to.to_owned(), map);
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut dir = self.dir.lock();
        dir.files
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        let dir = self.dir.lock();
        let map = dir.files.get(name).ok_or_else(|| not_found(name))?;
        Ok(map.live_bytes())
    }

    fn write_file_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.faults.on_flush()?;
        self.set_file_bytes(name, bytes)
    }

    fn try_lock(&self) -> io::Result<Option<Box<dyn LockGuard>>> {
        let mut dir = self.dir.lock();
        if dir.locked {
            return Ok(None);
        }
        dir.locked = true;
        Ok(Some(Box::new(MemLock {
            dir: Arc::clone(&self.dir),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_loss_keeps_only_flushed_bytes() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment("a", 8192).unwrap();
        m.write(0, b"flushed");
        m.flush(0, 7).unwrap();
        m.write(4096, b"not flushed");
        let p = s.crash(CrashMode::PowerLoss).unwrap();
        let bytes = p.file_bytes("a").unwrap();
        assert_eq!(&bytes[..7], b"flushed");
        assert!(bytes[4096..].iter().all(|&b| b == 0));
        let c = s.crash(CrashMode::ProcessCrash).unwrap();
        assert_eq!(&c.file_bytes("a").unwrap()[4096..4107], b"not flushed");
    }

    #[test]
    fn injected_flush_failure_fires_after_countdown() {
        let s = MemStorage::new();
        s.create_root().unwrap();
        let m = s.create_segment("a", 16).unwrap();
        s.fail_flushes_after(1);
        assert!(m.flush(0, 4).is_ok());
        assert!(m.flush(0, 4).is_err());
        s.clear_faults();
        assert!(m.flush(0, 4).is_ok());
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
