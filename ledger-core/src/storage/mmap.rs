//! The only module with `unsafe` code: memory maps and the raw accesses to
//! them (and one scheduler call, [`background_thread`]).
//!
//! # Invariants that make this sound
//!
//! 1. **Bounds.** Every access is bounds-checked against the mapped length
//!    before the raw pointer is touched.
//! 2. **The file outlives the bytes read.** The ledger owns its segment files.
//!    It never truncates a file below an offset that a live mapping will read:
//!    the only truncation (sealing) cuts bytes *after* the footer, and readers
//!    stop at the footer. Removing a file (retention) does not invalidate a
//!    mapping on Unix. Another program truncating a ledger's files while it is
//!    open is outside this contract (it would raise `SIGBUS`), exactly as with
//!    every memory-mapped database; the directory lock keeps other ledger
//!    writers out.
//! 3. **No data races on published bytes.** One writer writes only bytes past
//!    the last published record, publishes a record with a release store of
//!    its length word and never writes it again; readers acquire-load the
//!    length word before reading a record. Slices handed out by
//!    [`RawMap::bytes`] cover published bytes only (callers' contract).
//!
//! 4. **Every mapped page has its disk blocks.** A write into a mapped page
//!    of a sparse file makes the kernel allocate the block on write-back or
//!    at the fault; on a full disk that raises `SIGBUS`, killing the trading
//!    engine mid-append. Every file the writer maps is therefore created and
//!    extended through [`reserve`], which allocates all of its blocks up
//!    front (`posix_fallocate`), so a full disk is an error from the
//!    creation, before any record is written into the file. (On
//!    copy-on-write file systems such as btrfs or ZFS, allocation does not
//!    guarantee that later writes find space; there a full disk can still
//!    raise `SIGBUS`.)
//!
//! The discipline of invariant 3 is a property of the types
//! (`storage::SegmentMap`): writing, and reading bytes outside the commit
//! protocol, take a `storage::Token` that only `ledger-core` can make; safe
//! code elsewhere reads a live segment through `LiveSlots` or atomic copies,
//! and borrows bytes only of sealed segments. Every `unsafe` block carries
//! `#[expect(unsafe_code, reason = ...)]` on its function and a `SAFETY`
//! comment.
//!
//! Tests for invariant 2: `reader_survives_seal_of_the_segment_it_maps` and
//! the crash tests; for invariant 3: `concurrent_reader_sees_only_whole_records`,
//! `a_live_map_lends_no_bytes_and_its_copy_holds_whole_records`,
//! `verification_while_the_writer_rotates_reports_no_damage` and the
//! `compile_fail` example on `storage::Token`;
//! for invariant 4: `reserve_allocates_every_block` here and the disk-full
//! tests of the command line (`ledger-tools/tests/disk_full.rs`).

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use memmap2::{MmapOptions, MmapRaw};

/// A raw shared mapping (of a file, or anonymous memory for the in-memory backend).
#[derive(Debug)]
pub(crate) struct RawMap {
    map: MmapRaw,
    len: usize,
    /// A shared mapping of a file (not anonymous memory, whose pages
    /// `release_pages` must never drop: they would come back as zeros).
    shared_file: bool,
}

impl RawMap {
    /// Maps `file` (its current length) shared; writable when `writable`.
    pub(crate) fn of_file(file: &File, writable: bool) -> io::Result<Self> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::other("segment file larger than the address space"))?;
        if len == 0 {
            // A zero-length map is not allowed; an anonymous one of one byte stands in.
            return Self::anonymous(0);
        }
        let map = if writable {
            let map = MmapOptions::new().len(len).map_raw(file)?;
            // No read-ahead on the writer's map, so that faulting its pages
            // (pre-faulting included) puts each page in a folio of its own.
            // With read-ahead the kernel groups pages into large folios (up
            // to 2 MiB on ext4 since Linux 6.16), and dirty tracking and
            // write protection are per folio: flushing the whole pages
            // behind the writer would write-protect the rest of their folio
            // ahead of it, and the writer would take a fault at every page
            // it then enters (measured: runs of faults ending on 16-, 256-
            // and 512-page boundaries). Best effort: advice only.
            let _ = map.advise(memmap2::Advice::Random);
            map
        } else {
            MmapOptions::new().len(len).map_raw_read_only(file)?
        };
        Ok(RawMap {
            map,
            len,
            shared_file: true,
        })
    }

    /// An anonymous zeroed mapping of `len` bytes (the in-memory backend).
    pub(crate) fn anonymous(len: usize) -> io::Result<Self> {
        let map = MmapOptions::new().len(len.max(1)).map_anon()?;
        Ok(RawMap {
            map: map.into(),
            len,
            shared_file: false,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn in_bounds(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }

    #[expect(unsafe_code, reason = "a slice of mapped memory (invariants 1-3)")]
    pub(crate) fn bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        if !self.in_bounds(offset, len) {
            return None;
        }
        // SAFETY: `offset + len <= self.len` (checked above) and the mapping
        // lives as long as `self` (invariant 1, 2). The bytes are published and
        // never written again while the slice lives (invariant 3).
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(offset), len) })
    }

    #[expect(
        unsafe_code,
        reason = "a mutable slice of unpublished mapped memory (invariants 1-3)"
    )]
    pub(crate) fn write_in_place(&self, offset: usize, len: usize, f: &mut dyn FnMut(&mut [u8])) {
        assert!(
            self.in_bounds(offset, len),
            "write of {len} bytes at {offset} outside a map of {} bytes",
            self.len
        );
        // SAFETY: in bounds (checked above) and the mapping lives as long as
        // `self` (invariants 1, 2); the map is writable (only the writer calls
        // this, on maps it created writable). The bytes are unpublished: no
        // slice of this process covers them (`bytes` lends published bytes
        // only, readers acquire-load a length word that is still zero), and
        // the writer is the only thread that writes (invariant 3), so this is
        // the only reference to them while `f` runs. The range never covers
        // the length word of the record being written (readers poll it with
        // atomic loads): the writer lends the bytes after it. Other
        // processes reading the file follow the same commit protocol.
        let slot =
            unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(offset), len) };
        f(slot);
    }

    #[expect(unsafe_code, reason = "a copy into mapped memory (invariants 1-3)")]
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        assert!(
            self.in_bounds(offset, data.len()),
            "write of {} bytes at {offset} outside a map of {} bytes",
            data.len(),
            self.len
        );
        // SAFETY: in bounds (checked above); the map is writable (only the
        // writer calls `write`, on maps it created writable); the destination
        // bytes are unpublished, so no reader holds a slice over them
        // (invariant 3); `data` cannot overlap the map's unpublished bytes
        // because it is a buffer the writer owns.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(offset),
                data.len(),
            );
        }
    }

    /// A copy of the whole map made of acquire loads, 8 bytes at a time
    /// (the base is page aligned): never a plain read of bytes another
    /// thread may be writing.
    pub(crate) fn copy_atomic(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len + 8);
        let mut at = 0;
        while let Some(w) = self.load_u64_acquire(at) {
            out.extend_from_slice(&w.to_le_bytes());
            at += 8;
        }
        while let Some(b) = self.load_u8_acquire(at) {
            out.push(b);
            at += 1;
        }
        out
    }

    #[expect(unsafe_code, reason = "an atomic view of a mapped byte")]
    fn load_u8_acquire(&self, offset: usize) -> Option<u8> {
        if !self.in_bounds(offset, 1) {
            return None;
        }
        // SAFETY: in bounds (checked above; invariants 1 and 2); a byte is
        // always aligned; concurrent writers write through plain stores or
        // atomics, and an atomic load never creates a reference that
        // outlives this call.
        let a = unsafe { &*(self.map.as_mut_ptr().add(offset).cast::<AtomicU8>()) };
        Some(a.load(Ordering::Acquire))
    }

    #[expect(unsafe_code, reason = "an atomic view of an aligned mapped word")]
    fn atomic_u32(&self, offset: usize) -> Option<&AtomicU32> {
        if !offset.is_multiple_of(4) || !self.in_bounds(offset, 4) {
            return None;
        }
        // SAFETY: in bounds and 4-byte aligned (the map base is page aligned);
        // all concurrent accesses to length words go through atomics.
        Some(unsafe { &*(self.map.as_mut_ptr().add(offset).cast::<AtomicU32>()) })
    }

    pub(crate) fn load_u32_acquire(&self, offset: usize) -> Option<u32> {
        self.atomic_u32(offset)
            .map(|a| u32::from_le(a.load(Ordering::Acquire)))
    }

    pub(crate) fn store_u32_release(&self, offset: usize, value: u32) {
        match self.atomic_u32(offset) {
            Some(a) => a.store(value.to_le(), Ordering::Release),
            None => panic!("unaligned or out-of-bounds length word at {offset}"),
        }
    }

    #[expect(unsafe_code, reason = "an atomic view of an aligned mapped word")]
    fn atomic_u64(&self, offset: usize) -> Option<&AtomicU64> {
        if !offset.is_multiple_of(8) || !self.in_bounds(offset, 8) {
            return None;
        }
        // SAFETY: in bounds and 8-byte aligned (the map base is page aligned);
        // the words accessed this way (the header's watermark) are only ever
        // accessed through atomics while the segment is live.
        Some(unsafe { &*(self.map.as_mut_ptr().add(offset).cast::<AtomicU64>()) })
    }

    pub(crate) fn load_u64_acquire(&self, offset: usize) -> Option<u64> {
        self.atomic_u64(offset)
            .map(|a| u64::from_le(a.load(Ordering::Acquire)))
    }

    pub(crate) fn store_u64_release(&self, offset: usize, value: u64) {
        match self.atomic_u64(offset) {
            Some(a) => a.store(value.to_le(), Ordering::Release),
            None => panic!("unaligned or out-of-bounds word at {offset}"),
        }
    }

    pub(crate) fn flush(&self, offset: usize, len: usize) -> io::Result<()> {
        if !self.in_bounds(offset, len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "flush of {len} bytes at {offset} outside a map of {} bytes",
                    self.len
                ),
            ));
        }
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(offset, len)
    }

    pub(crate) fn populate_range(&self, offset: usize, len: usize) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let start = offset & !4095;
            let end = offset.saturating_add(len).min(self.len);
            if end > start {
                return self
                    .map
                    .advise_range(memmap2::Advice::PopulateWrite, start, end - start);
            }
        }
        let _ = (offset, len);
        Ok(())
    }

    /// `MADV_DONTNEED` over the whole pages of `[offset, offset + len)` of a
    /// shared file mapping (see `SegmentMap::release_pages`).
    #[cfg_attr(
        target_os = "linux",
        expect(unsafe_code, reason = "MADV_DONTNEED on a shared file mapping")
    )]
    pub(crate) fn release_pages(&self, offset: usize, len: usize) {
        #[cfg(target_os = "linux")]
        {
            let start = offset.div_ceil(4096) * 4096;
            let end = offset.saturating_add(len).min(self.len) & !4095;
            if end > start && self.shared_file {
                // SAFETY: on a *shared file* mapping (checked: `shared_file`),
                // MADV_DONTNEED only removes this process's page-table entries;
                // the bytes stay in the page cache (a dirty page stays dirty
                // and is written back) and the next access maps the same
                // bytes again. Slices this process holds over the range
                // (published bytes, invariant 3) therefore keep reading the
                // same values. The range is in bounds (clamped to `self.len`).
                let _ = unsafe {
                    self.map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
        let _ = (offset, len);
    }

    pub(crate) fn populate(&self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            if self.len > 0 {
                return self.map.advise(memmap2::Advice::PopulateWrite);
            }
        }
        Ok(())
    }
}

/// Marks the calling thread as background work (`SCHED_BATCH`, same nice
/// level): its wakeups never preempt a running thread, so a background
/// thread of the engine that wakes up (the group-commit flusher, thousands
/// of times a second with a waiter) waits for the scheduler's next tick
/// instead of interrupting the writer on a busy core. It still gets its fair
/// share of the CPU. Used by the flusher, the sealer, and the thread that
/// creates the next segment. Linux only; elsewhere nothing happens. Tested
/// by `background_policy_applies_to_the_calling_thread_only`.
pub(crate) fn background_thread() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    return set_policy(libc::SCHED_BATCH);
    #[cfg(not(target_os = "linux"))]
    Ok(())
}

/// Marks the calling thread as idle work (`SCHED_IDLE`): it runs only on a
/// core no other thread wants, so pre-faulting segments and hashing full
/// ones never take the writer's core for a scheduler tick (measured: 4–12
/// ms stalls of the writer every few thousand appends while a segment was
/// pre-faulted or hashed beside it on 2 cores). Only for work nobody waits
/// on (an unprivileged thread cannot leave the idle class again): the
/// pre-faulting, which the writer stops rather than waits for, and the
/// namer, which only a full backlog waits for. Linux only. Tested by
/// `idle_policy_applies_to_the_calling_thread_only`.
pub(crate) fn idle_thread() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    return set_policy(libc::SCHED_IDLE);
    #[cfg(not(target_os = "linux"))]
    Ok(())
}

#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "sched_setscheduler through libc")]
fn set_policy(policy: libc::c_int) -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, initialised `sched_param` that outlives
    // the call, which only reads it; pid 0 names the calling thread (on
    // Linux the policy is per thread), so no other thread is changed.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets `file`'s length to `len` and allocates every block of it (invariant
/// 4). A full disk (or a file size limit) is an error here. File systems
/// without block allocation (`EOPNOTSUPP`, `EINVAL`) get a plain length
/// change, as nothing better exists on them.
#[cfg_attr(
    target_os = "linux",
    expect(unsafe_code, reason = "posix_fallocate through libc")
)]
pub(crate) fn reserve(file: &File, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let Ok(want) = libc::off_t::try_from(len) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a file of {len} bytes is too large for this system"),
            ));
        };
        if want > 0 {
            // SAFETY: `posix_fallocate` reads no memory of ours; it takes a
            // file descriptor that `file` keeps open for the whole call and two
            // integers. It returns an error number instead of setting errno.
            loop {
                let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, want) };
                match rc {
                    0 => return Ok(()),
                    // A signal arrived: the call is simply made again.
                    libc::EINTR => continue,
                    libc::EOPNOTSUPP | libc::EINVAL => break,
                    e => return Err(io::Error::from_raw_os_error(e)),
                }
            }
        }
    }
    file.set_len(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping pages from a shared file mapping keeps their bytes (dirty
    /// or flushed), in the map and in the file; an anonymous map ignores it.
    #[test]
    fn released_pages_keep_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        reserve(&file, 5 * 4096).unwrap();
        let map = RawMap::of_file(&file, true).unwrap();
        let data: Vec<u8> = (0..5 * 4096).map(|i| (i % 251) as u8).collect();
        map.write(0, &data);
        map.flush(0, 4096).unwrap();
        // Pages 1-3 whole, and ragged ends that must be kept mapped.
        map.release_pages(4096 - 100, 3 * 4096 + 200);
        assert_eq!(map.bytes(0, data.len()).unwrap(), &data[..]);
        map.flush(0, data.len()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let anon = RawMap::anonymous(3 * 4096).unwrap();
        anon.write(0, &data[..3 * 4096]);
        anon.release_pages(0, 3 * 4096);
        assert_eq!(anon.bytes(0, 3 * 4096).unwrap(), &data[..3 * 4096]);
    }

    #[test]
    fn reserve_allocates_every_block() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        reserve(&file, 1 << 20).unwrap();
        let meta = file.metadata().unwrap();
        assert_eq!(meta.len(), 1 << 20);
        // st_blocks counts 512-byte units actually allocated: a sparse file
        // would have none.
        #[cfg(target_os = "linux")]
        assert!(meta.blocks() * 512 >= 1 << 20, "{} blocks", meta.blocks());
        // Growing keeps the old bytes and allocates the new ones.
        let map = RawMap::of_file(&file, true).unwrap();
        map.write(10, b"kept");
        drop(map);
        reserve(&file, 2 << 20).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 2 << 20);
        assert_eq!(&bytes[10..14], b"kept");
    }

    /// The scheduling policy (`stat` field 41) of the calling thread.
    #[cfg(target_os = "linux")]
    fn policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let (_, rest) = stat.rsplit_once(')').unwrap();
        // Field 3 (state) is the first after the command; 41 is the policy.
        rest.split_whitespace().nth(38).unwrap().parse().unwrap()
    }

    /// The policy a fresh thread has after `set`, and the caller's is unchanged.
    #[cfg(target_os = "linux")]
    fn policy_in_a_thread(set: fn() -> io::Result<()>) -> u32 {
        let before = policy();
        let in_thread = std::thread::spawn(move || {
            set().unwrap();
            policy()
        })
        .join()
        .unwrap();
        assert_eq!(policy(), before, "the calling thread only");
        in_thread
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn background_policy_applies_to_the_calling_thread_only() {
        assert_eq!(
            policy_in_a_thread(background_thread),
            libc::SCHED_BATCH as u32
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn idle_policy_applies_to_the_calling_thread_only() {
        assert_eq!(policy_in_a_thread(idle_thread), libc::SCHED_IDLE as u32);
    }

    #[test]
    fn accesses_are_bounds_checked() {
        let m = RawMap::anonymous(64).unwrap();
        assert!(m.bytes(60, 4).is_some());
        assert!(m.bytes(61, 4).is_none());
        assert!(m.bytes(usize::MAX, 2).is_none());
        assert!(m.load_u32_acquire(62).is_none(), "unaligned");
        assert!(m.load_u32_acquire(64).is_none(), "out of bounds");
        m.write(8, &[1, 2, 3]);
        assert_eq!(m.bytes(8, 3), Some(&[1u8, 2, 3][..]));
        m.store_u32_release(12, 0xdead_beef);
        assert_eq!(m.load_u32_acquire(12), Some(0xdead_beef));
        assert_eq!(m.bytes(12, 4), Some(&0xdead_beefu32.to_le_bytes()[..]));
        assert!(m.flush(0, 65).is_err());
    }

    #[test]
    #[should_panic(expected = "outside a map")]
    fn out_of_bounds_write_panics_instead_of_corrupting_memory() {
        let m = RawMap::anonymous(16).unwrap();
        m.write(10, &[0; 7]);
    }
}
