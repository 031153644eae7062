//! [`FetchedStorage`]: a read-only ledger folder whose files are fetched on
//! demand from somewhere else (an object store holding a shipped ledger),
//! so that verification, layout reading and index checks run unchanged on
//! it, one file in memory at a time, with no local copy.
//!
//! Every operation that would write (creating, mapping writable, cutting,
//! renaming, removing, locking) fails with
//! [`std::io::ErrorKind::PermissionDenied`]: nothing can change what is
//! being verified, and no writer can open it.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::{is_sealed_name, LockGuard, SegmentMap, Storage, Token};
use crate::segment::MAX_SEGMENT_SIZE;

/// Where a [`FetchedStorage`] gets its files from: a flat namespace of
/// immutable files (an object-store prefix).
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// A displayable location of `name` (a URL), for messages.
    fn location(&self, name: &str) -> PathBuf;
    /// Whether the place exists at all (for an object store: the prefix
    /// can be listed).
    fn exists(&self) -> bool;
    /// Every file name, sorted.
    fn list(&self) -> io::Result<Vec<String>>;
    /// The length of `name` in bytes; [`io::ErrorKind::NotFound`] when it
    /// is absent.
    fn len(&self, name: &str) -> io::Result<u64>;
    /// The whole of `name`, at most `max` bytes (a longer file is refused
    /// without being read whole); [`io::ErrorKind::NotFound`] when absent.
    fn fetch(&self, name: &str, max: u64) -> io::Result<Vec<u8>>;
}

/// A read-only [`Storage`] over a [`Fetch`]: each file is fetched whole
/// when read or mapped, and dropped with its map.
#[derive(Debug, Clone)]
pub struct FetchedStorage {
    source: Arc<dyn Fetch>,
}

impl FetchedStorage {
    /// A storage reading through `source`.
    pub fn new(source: Arc<dyn Fetch>) -> Self {
        FetchedStorage { source }
    }
}

fn read_only(what: &str, name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("cannot {what} {name}: a fetched (remote) ledger is read-only"),
    )
}

impl Storage for FetchedStorage {
    fn path_of(&self, name: &str) -> PathBuf {
        self.source.location(name)
    }
    fn root_exists(&self) -> bool {
        self.source.exists()
    }
    fn create_root(&self) -> io::Result<()> {
        Err(read_only("create", "the folder"))
    }
    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = self.source.list()?;
        names.sort();
        Ok(names)
    }
    fn create_segment(&self, _: Token, name: &str, _: u64) -> io::Result<Arc<dyn SegmentMap>> {
        Err(read_only("create", name))
    }
    fn map_segment(&self, name: &str) -> io::Result<Arc<dyn SegmentMap>> {
        let bytes = self.source.fetch(name, MAX_SEGMENT_SIZE)?;
        Ok(Arc::new(FetchedMap {
            bytes,
            sealed: is_sealed_name(name),
        }))
    }
    fn map_writable(&self, _: Token, name: &str) -> io::Result<Arc<dyn SegmentMap>> {
        Err(read_only("map writable", name))
    }
    fn file_len(&self, name: &str) -> io::Result<u64> {
        self.source.len(name)
    }
    fn truncate(&self, _: Token, name: &str, _: u64) -> io::Result<()> {
        Err(read_only("cut", name))
    }
    fn rename(&self, from: &str, _: &str) -> io::Result<()> {
        Err(read_only("rename", from))
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        Err(read_only("remove", name))
    }
    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        self.source.fetch(name, super::read_max(name))
    }
    fn write_file_atomic(&self, name: &str, _: &[u8]) -> io::Result<()> {
        Err(read_only("write", name))
    }
    fn try_lock(&self) -> io::Result<Option<Box<dyn LockGuard>>> {
        Err(read_only("lock", "the ledger"))
    }
}

/// A fetched file's bytes, held in memory. They never change, so reads
/// need no commit protocol; a file named like an active segment is still
/// reported unsealed, so callers treat it as they would a live one.
#[derive(Debug)]
struct FetchedMap {
    bytes: Vec<u8>,
    sealed: bool,
}

impl FetchedMap {
    fn word<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        if !offset.is_multiple_of(N) {
            return None;
        }
        let end = offset.checked_add(N)?;
        self.bytes.get(offset..end)?.try_into().ok()
    }
}

impl SegmentMap for FetchedMap {
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn is_sealed(&self) -> bool {
        self.sealed
    }
    fn raw(&self, _: Token, offset: usize, len: usize) -> Option<&[u8]> {
        self.bytes.get(offset..offset.checked_add(len)?)
    }
    fn write(&self, _: Token, _: usize, _: &[u8]) {
        // Unreachable: only the writer and recovery write, through maps
        // from `create_segment`/`map_writable`, which this storage refuses.
        panic!("engine bug: a write into a fetched (read-only) segment");
    }
    fn write_in_place(&self, _: Token, _: usize, _: usize, _: &mut dyn FnMut(&mut [u8])) {
        panic!("engine bug: a write into a fetched (read-only) segment");
    }
    fn load_u32_acquire(&self, offset: usize) -> Option<u32> {
        self.word::<4>(offset).map(u32::from_le_bytes)
    }
    fn store_u32_release(&self, _: Token, _: usize, _: u32) {
        panic!("engine bug: a write into a fetched (read-only) segment");
    }
    fn load_u64_acquire(&self, offset: usize) -> Option<u64> {
        self.word::<8>(offset).map(u64::from_le_bytes)
    }
    fn store_u64_release(&self, _: Token, _: usize, _: u64) {
        panic!("engine bug: a write into a fetched (read-only) segment");
    }
    fn flush(&self, _: Token, _: usize, _: usize) -> io::Result<()> {
        Err(read_only("flush", "a segment"))
    }
    fn populate(&self, _: Token) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug)]
    struct Files(BTreeMap<String, Vec<u8>>);

    impl Fetch for Files {
        fn location(&self, name: &str) -> PathBuf {
            PathBuf::from(format!("mem://{name}"))
        }
        fn exists(&self) -> bool {
            true
        }
        fn list(&self) -> io::Result<Vec<String>> {
            Ok(self.0.keys().cloned().collect())
        }
        fn len(&self, name: &str) -> io::Result<u64> {
            self.0
                .get(name)
                .map(|b| b.len() as u64)
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        }
        fn fetch(&self, name: &str, _: u64) -> io::Result<Vec<u8>> {
            self.0
                .get(name)
                .cloned()
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        }
    }

    #[test]
    fn words_are_read_little_endian_and_aligned() {
        let map = FetchedMap {
            bytes: (0u8..16).collect(),
            sealed: true,
        };
        assert_eq!(
            map.load_u32_acquire(4),
            Some(u32::from_le_bytes([4, 5, 6, 7]))
        );
        assert_eq!(
            map.load_u64_acquire(8),
            Some(u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]))
        );
        assert_eq!(map.load_u32_acquire(2), None, "unaligned");
        assert_eq!(map.load_u64_acquire(16), None, "out of bounds");
        assert_eq!(map.bytes(14, 2), Some(&[14u8, 15][..]));
        assert_eq!(map.bytes(15, 2), None);
    }

    #[test]
    fn every_write_is_refused() {
        let st = FetchedStorage::new(Arc::new(Files(BTreeMap::from([(
            "LEDGER".to_string(),
            vec![1, 2, 3],
        )]))));
        assert_eq!(st.read_file("LEDGER").unwrap(), vec![1, 2, 3]);
        for e in [
            st.create_root().unwrap_err(),
            st.write_file_atomic("LEDGER", b"x").unwrap_err(),
            st.remove("LEDGER").unwrap_err(),
            st.rename("LEDGER", "X").unwrap_err(),
            st.try_lock().map(|_| ()).unwrap_err(),
            st.map_writable(crate::storage::TOKEN, "LEDGER")
                .map(|_| ())
                .unwrap_err(),
        ] {
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        }
        assert_eq!(
            st.read_file("nope").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
