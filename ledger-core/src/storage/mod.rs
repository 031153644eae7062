//! The storage seam: every byte the engine reads or writes goes through a
//! [`Storage`] (files in a folder) and the [`SegmentMap`]s it hands out.
//!
//! Two backends exist:
//! - [`FsStorage`]: a real folder; segments are memory-mapped files.
//! - [`MemStorage`]: memory only, keeping *live* bytes (what the process
//!   wrote) apart from *durable* bytes (what a flush made durable), so tests can
//!   simulate a process crash, a power loss, and failed flushes without
//!   killing real processes.

mod fetched;
mod fs;
mod mem;
mod mmap;
pub mod regular;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

pub use fetched::{Fetch, FetchedStorage};
pub use fs::FsStorage;
pub(crate) use mmap::{background_thread, idle_thread};

/// Sets `file`'s length to `len` and allocates every block of it
/// (`posix_fallocate`), so that a mapping of the file can be written without
/// meeting a full disk (which would raise `SIGBUS`): a full disk is an error
/// here instead. For tools that write segment files outside a [`Storage`]
/// (restore, repair).
pub fn allocate(file: &std::fs::File, len: u64) -> io::Result<()> {
    mmap::reserve(file, len)
}
pub use mem::{CrashMode, Fault, IoFault, IoOp, MemStorage};

/// The most bytes [`Storage::read_file`] reads of the identity file (44
/// bytes when intact): a longer one is refused without reading it.
pub(crate) const META_READ_MAX: u64 = 4096;

/// The most bytes [`Storage::read_file`] reads of `name`.
pub(crate) fn read_max(name: &str) -> u64 {
    if name == crate::meta::META_FILE {
        META_READ_MAX
    } else {
        crate::segment::MAX_SEGMENT_SIZE
    }
}

/// A guard that holds the ledger's exclusive writer lock until dropped.
pub trait LockGuard: Send + Sync + std::fmt::Debug {
    /// Extends the lock to the identity file once it exists (a ledger being
    /// created has none when its lock is taken; see
    /// [`Storage::try_lock`]): `Ok(false)` when another writer holds it.
    fn lock_identity(&mut self) -> io::Result<bool> {
        Ok(true)
    }
}

/// A folder of named files. Names are plain file names (no separators).
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The full path of `name`, for error messages.
    fn path_of(&self, name: &str) -> PathBuf;
    /// Whether the folder itself exists.
    fn root_exists(&self) -> bool;
    /// Creates the folder (and its parents) if it does not exist.
    fn create_root(&self) -> io::Result<()>;
    /// The names of all files in the folder, sorted.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Creates a new file of `len` zero bytes and maps it writable (the
    /// writer's). Fails if the file exists.
    fn create_segment(&self, token: Token, name: &str, len: u64)
        -> io::Result<Arc<dyn SegmentMap>>;
    /// Maps an existing file for reading; a sealed segment's name gives a
    /// map whose [`SegmentMap::bytes`] are readable.
    fn map_segment(&self, name: &str) -> io::Result<Arc<dyn SegmentMap>>;
    /// Maps an existing file shared and writable (recovery, holding the lock).
    fn map_writable(&self, token: Token, name: &str) -> io::Result<Arc<dyn SegmentMap>>;
    /// The length of a file in bytes.
    fn file_len(&self, name: &str) -> io::Result<u64>;
    /// Cuts a file to `len` bytes and makes the new length durable (the
    /// writer's and recovery's: a file cut under a live map would fault).
    ///
    /// Callers guarantee that no live mapping of the file will ever read at or
    /// beyond `len` again (see the safety notes in the mmap module).
    fn truncate(&self, token: Token, name: &str, len: u64) -> io::Result<()>;
    /// Renames a file (atomically replacing `to` if it exists).
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes the folder's entries (creations, renames, removals) durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Reads a whole (small) file.
    fn read_file(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Writes a whole (small) file atomically and durably: a temporary file is
    /// written and synced, then renamed over `name`, then the folder is synced.
    /// On a real folder the temporary file (`name.tmp`) is created anew: what
    /// was under its name (a crash's leftover, a planted symbolic link) is
    /// removed, never written through.
    fn write_file_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// Takes the exclusive writer lock, or returns `Ok(None)` when another
    /// writer (in this or another process) holds it. On a real folder the
    /// lock is an exclusive `flock` on `LOCK` and on `LEDGER` (when it
    /// exists): `flock` locks the file itself (its inode), which every hard
    /// link to it shares, so a writer through a hard-linked copy of the
    /// folder (`cp -al`) finds it held even when the copy's `LOCK` is its
    /// own file. A copy of the bytes is another ledger's folder and shares
    /// nothing.
    fn try_lock(&self) -> io::Result<Option<Box<dyn LockGuard>>>;
}

/// The capability to write into mapped segments, or to read their bytes
/// without the commit protocol: only code inside `ledger-core` can make one
/// (the field is private), so safe code outside cannot race the writer.
/// Methods that take it are the writer's, recovery's (which hold the lock)
/// and the commit-protocol readers' ([`crate::LiveSlots`]).
///
/// Code outside the crate cannot make one, so it cannot write into a map:
///
/// ```compile_fail
/// let token = ledger_core::storage::Token(());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Token(());

/// Whether `name` is a sealed segment's file name (its bytes never change).
pub(crate) fn is_sealed_name(name: &str) -> bool {
    matches!(
        crate::segment::names::SegmentName::parse(name),
        Some(crate::segment::names::SegmentName::Sealed(..))
    )
}

/// The one [`Token`], for code inside this crate.
pub(crate) const TOKEN: Token = Token(());

/// A mapped segment file.
///
/// The engine upholds one discipline over every map, which is what makes the
/// shared access sound: a single writer writes only bytes that no reader
/// reads yet (past the commit word of the next record), publishes a record by
/// a release store of its length word, and never writes a byte again once it
/// is published. Readers read a record only after an acquire load of its
/// length word shows it published.
///
/// The discipline is a property of the types: writing, and reading bytes
/// without the protocol, take a [`Token`] that only this crate can make.
/// Safe code elsewhere gets [`SegmentMap::bytes`] only for a *sealed*
/// segment (which nobody writes again), reads a live segment's records
/// through [`crate::LiveSlots`] (acquire load of the length word first), and
/// copies anything else with atomic loads ([`SegmentMap::snapshot`]).
pub trait SegmentMap: Send + Sync {
    /// Mapped length in bytes.
    fn len(&self) -> usize;
    /// Whether the map is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether this maps a sealed segment (its name is a sealed segment's):
    /// bytes that never change again.
    fn is_sealed(&self) -> bool;
    /// The bytes `[offset, offset + len)` of a sealed segment; `None` out of
    /// bounds, and always `None` for a live (active or preallocated)
    /// segment, whose bytes the writer may be writing.
    fn bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        if self.is_sealed() {
            self.raw(TOKEN, offset, len)
        } else {
            None
        }
    }
    /// A copy of the segment by the commit protocol: the header page, then
    /// each published record (its length word acquire-loaded first), and a
    /// footer if the walk meets one. Nothing after them is read (a seal may
    /// have cut it off): it is zero in the copy, which has the map's length.
    fn snapshot(&self) -> Vec<u8> {
        let len = self.len();
        if let Some(b) = self.bytes(0, len) {
            return b.to_vec();
        }
        let header = crate::segment::header::HEADER_LEN.min(len);
        let mut out = self.copy_range(0, header).unwrap_or_default();
        out.resize(len, 0);
        let mut at = header;
        while let Some(word) = self.load_u32_acquire(at) {
            let n = match word {
                0 => break,
                crate::segment::record::FOOTER_MARKER => crate::segment::footer::FOOTER_LEN,
                n => crate::le::align8(n as usize),
            };
            let Some(bytes) = at
                .checked_add(n)
                .filter(|&e| e <= len)
                .and_then(|_| self.copy_range(at, n))
            else {
                break;
            };
            out[at..at + n].copy_from_slice(&bytes);
            if word == crate::segment::record::FOOTER_MARKER {
                break;
            }
            at += n;
        }
        out
    }
    /// A copy of `[offset, offset + len)` (`offset` a multiple of 4), read
    /// with acquire loads word by word; `None` out of bounds or unaligned.
    fn copy_range(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len).filter(|&e| e <= self.len())?;
        if !offset.is_multiple_of(4) {
            return None;
        }
        if let Some(b) = self.bytes(offset, len) {
            return Some(b.to_vec());
        }
        let mut out = Vec::with_capacity(len + 8);
        let mut at = offset;
        while at < end {
            if at.is_multiple_of(8) && at + 8 <= self.len() {
                out.extend_from_slice(&self.load_u64_acquire(at)?.to_le_bytes());
                at += 8;
            } else {
                out.extend_from_slice(&self.load_u32_acquire(at)?.to_le_bytes());
                at += 4;
            }
        }
        out.truncate(len);
        Some(out)
    }
    /// The bytes `[offset, offset + len)` whatever the segment's state:
    /// callers read only published (immutable) bytes, or hold the lock.
    fn raw(&self, token: Token, offset: usize, len: usize) -> Option<&[u8]>;
    /// Copies `data` to `offset` (the writer). Panics if out of bounds (an
    /// engine bug).
    fn write(&self, token: Token, offset: usize, data: &[u8]);
    /// Lends the unpublished bytes `[offset, offset + len)` to `f` for
    /// writing in place (the writer encoding a record straight into the
    /// map, with no copy from a buffer). Only the writer calls it, on bytes
    /// past the last published record and never over a length word readers
    /// may be polling (invariant 3 of `storage/mmap.rs`).
    /// Panics if out of bounds (an engine bug).
    fn write_in_place(&self, token: Token, offset: usize, len: usize, f: &mut dyn FnMut(&mut [u8]));
    /// Loads the little-endian `u32` at `offset` (4-byte aligned) with acquire ordering.
    fn load_u32_acquire(&self, offset: usize) -> Option<u32>;
    /// Stores the little-endian `u32` at `offset` (4-byte aligned) with release ordering.
    fn store_u32_release(&self, token: Token, offset: usize, value: u32);
    /// Loads the little-endian `u64` at `offset` (8-byte aligned) with acquire ordering.
    fn load_u64_acquire(&self, offset: usize) -> Option<u64>;
    /// Stores the little-endian `u64` at `offset` (8-byte aligned) with release ordering.
    fn store_u64_release(&self, token: Token, offset: usize, value: u64);
    /// Makes `[offset, offset + len)` durable (msync).
    fn flush(&self, token: Token, offset: usize, len: usize) -> io::Result<()>;
    /// Makes the header page `[0, header)` (nothing when `header` is 0) and
    /// `[offset, offset + len)` durable together, with **one** flush of the device: the writer's
    /// durable watermark travels with the records it flushes. A file map
    /// makes one `msync` over `[0, offset + len)` (the kernel writes only
    /// the dirty pages in it, then flushes the device once); the default
    /// does the same through [`SegmentMap::flush`].
    fn flush_with_header(
        &self,
        token: Token,
        header: usize,
        offset: usize,
        len: usize,
    ) -> io::Result<()> {
        if header == 0 {
            return self.flush(token, offset, len);
        }
        let end = offset.saturating_add(len);
        self.flush(token, 0, end.max(header))
    }
    /// Pre-faults every page for writing so the writer never takes a page
    /// fault on fresh pages (`MADV_POPULATE_WRITE`); best effort.
    fn populate(&self, token: Token) -> io::Result<()>;
    /// Pre-faults `[offset, offset + len)` for writing; best effort.
    fn populate_range(&self, token: Token, offset: usize, len: usize) -> io::Result<()> {
        let _ = (token, offset, len);
        Ok(())
    }
    /// Unmaps the pages of `[offset, offset + len)` from this mapping (not
    /// from the file: their bytes stay in the page cache, dirty or not, and
    /// a later access maps them again). The group-commit flusher drops the
    /// whole pages behind the writer before flushing them, so writeback
    /// finds no mapping to write-protect and the writer's core gets one TLB
    /// flush per round instead of one per page. Best effort.
    fn release_pages(&self, token: Token, offset: usize, len: usize) {
        let _ = (token, offset, len);
    }
}
