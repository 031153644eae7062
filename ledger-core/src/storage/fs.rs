//! [`FsStorage`]: a ledger folder on a real file system.
//!
//! Every file is opened through [`super::regular`]: only regular files are
//! opened, without ever blocking (a FIFO named like a segment is refused,
//! not waited on), and a file read or mapped whole must not be larger than
//! a segment may be.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::mmap::{reserve, RawMap};
use super::regular::{check_regular, open_bounded, open_regular, read_regular};
use super::{is_sealed_name, LockGuard, SegmentMap, Storage, Token};
use crate::segment::MAX_SEGMENT_SIZE;

/// The name of the file that carries the exclusive writer lock.
const LOCK_FILE: &str = "LOCK";

/// A ledger folder on the file system.
#[derive(Debug, Clone)]
pub struct FsStorage {
    root: PathBuf,
}

impl FsStorage {
    /// A storage rooted at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStorage { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[derive(Debug)]
struct FsMap {
    map: RawMap,
    sealed: bool,
}

impl SegmentMap for FsMap {
    fn len(&self) -> usize {
        self.map.len()
    }
    fn is_sealed(&self) -> bool {
        self.sealed
    }
    fn raw(&self, _: Token, offset: usize, len: usize) -> Option<&[u8]> {
        self.map.bytes(offset, len)
    }
    fn write(&self, _: Token, offset: usize, data: &[u8]) {
        self.map.write(offset, data)
    }
    fn write_in_place(&self, _: Token, offset: usize, len: usize, f: &mut dyn FnMut(&mut [u8])) {
        self.map.write_in_place(offset, len, f)
    }
    fn load_u32_acquire(&self, offset: usize) -> Option<u32> {
        self.map.load_u32_acquire(offset)
    }
    fn store_u32_release(&self, _: Token, offset: usize, value: u32) {
        self.map.store_u32_release(offset, value)
    }
    fn load_u64_acquire(&self, offset: usize) -> Option<u64> {
        self.map.load_u64_acquire(offset)
    }
    fn store_u64_release(&self, _: Token, offset: usize, value: u64) {
        self.map.store_u64_release(offset, value)
    }
    fn flush(&self, _: Token, offset: usize, len: usize) -> io::Result<()> {
        self.map.flush(offset, len)
    }
    fn populate(&self, _: Token) -> io::Result<()> {
        self.map.populate()
    }
    fn release_pages(&self, _: Token, offset: usize, len: usize) {
        self.map.release_pages(offset, len)
    }
    fn populate_range(&self, _: Token, offset: usize, len: usize) -> io::Result<()> {
        self.map.populate_range(offset, len)
    }
}

/// The writer's lock: `LOCK`, and `LEDGER` (the identity file, which every
/// hard-linked copy of the folder shares and nothing ever replaces) once it
/// exists.
#[derive(Debug)]
struct FsLock {
    _lock: File,
    identity: Option<File>,
    meta_path: PathBuf,
}

/// Takes an exclusive `flock` on `path`: `Ok(None)` when another open file
/// holds it. A missing file is `NotFound`. The file is opened for writing
/// too when that is allowed (nothing is written): on NFS, `flock` is
/// emulated with a byte-range lock, which needs it; elsewhere a read-only
/// file locks as well.
fn flock_file(path: &Path) -> io::Result<Option<File>> {
    let file = match open_regular(path, OpenOptions::new().read(true).write(true)) {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            open_regular(path, OpenOptions::new().read(true))?
        }
        other => other?,
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

impl LockGuard for FsLock {
    fn lock_identity(&mut self) -> io::Result<bool> {
        if self.identity.is_none() {
            match flock_file(&self.meta_path)? {
                Some(f) => self.identity = Some(f),
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

impl Storage for FsStorage {
    fn path_of(&self, name: &str) -> PathBuf {
        if name.is_empty() {
            self.root.clone()
        } else {
            self.root.join(name)
        }
    }

    fn root_exists(&self) -> bool {
        // A file where the folder should be "exists": listing it then fails
        // with the operating system's "Not a directory".
        self.root.exists()
    }

    fn create_root(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_segment(&self, _: Token, name: &str, len: u64) -> io::Result<Arc<dyn SegmentMap>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.path_of(name))?;
        // All blocks allocated now: a full disk fails here, not with a
        // SIGBUS at a write into the map (see the mmap module, invariant 4).
        if let Err(e) = reserve(&file, len) {
            drop(file);
            let _ = fs::remove_file(self.path_of(name));
            return Err(e);
        }
        Ok(Arc::new(FsMap {
            map: RawMap::of_file(&file, true)?,
            sealed: false,
        }))
    }

    fn map_segment(&self, name: &str) -> io::Result<Arc<dyn SegmentMap>> {
        let (file, _) = open_bounded(
            &self.path_of(name),
            OpenOptions::new().read(true),
            MAX_SEGMENT_SIZE,
        )?;
        Ok(Arc::new(FsMap {
            map: RawMap::of_file(&file, false)?,
            sealed: is_sealed_name(name),
        }))
    }

    fn map_writable(&self, _: Token, name: &str) -> io::Result<Arc<dyn SegmentMap>> {
        let (file, _) = open_bounded(
            &self.path_of(name),
            OpenOptions::new().read(true).write(true),
            MAX_SEGMENT_SIZE,
        )?;
        Ok(Arc::new(FsMap {
            map: RawMap::of_file(&file, true)?,
            sealed: false,
        }))
    }

    fn file_len(&self, name: &str) -> io::Result<u64> {
        let meta = fs::metadata(self.path_of(name))?;
        check_regular(&meta)?;
        Ok(meta.len())
    }

    fn truncate(&self, _: Token, name: &str, len: u64) -> io::Result<()> {
        let file = open_regular(&self.path_of(name), OpenOptions::new().write(true))?;
        if len > file.metadata()?.len() {
            // Growing (recovery giving a cut active segment room again):
            // allocate the blocks, as for a new segment.
            reserve(&file, len)?;
        } else {
            file.set_len(len)?;
        }
        file.sync_all()
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.path_of(from), self.path_of(to))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.path_of(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        // Never blocks, whatever is at the folder's path.
        super::regular::sync_dir(&self.root)
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        read_regular(&self.path_of(name), super::read_max(name))
    }

    fn write_file_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.path_of(&format!("{name}.tmp"));
        // A stale temporary file (a crash), or anything planted under its
        // name, is removed without following it: a symbolic link is
        // removed, not its target. The new file is then created exclusively
        // (`O_CREAT | O_EXCL`, which never follows a link either), so a
        // link planted between the two makes the write fail instead of
        // redirecting it.
        match fs::symlink_metadata(&tmp) {
            Ok(meta) if meta.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a directory where a temporary file is written; nothing was written",
                        tmp.display()
                    ),
                ))
            }
            Ok(_) => fs::remove_file(&tmp)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        use std::os::unix::fs::OpenOptionsExt;
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&tmp)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                file.sync_all()
            })
            .and_then(|()| fs::rename(&tmp, self.path_of(name)));
        if let Err(e) = written {
            // Never leave half a file behind (a full disk).
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.sync_dir()
    }

    fn try_lock(&self) -> io::Result<Option<Box<dyn LockGuard>>> {
        let file = open_regular(
            &self.path_of(LOCK_FILE),
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        let mut guard = FsLock {
            _lock: file,
            identity: None,
            meta_path: self.path_of(crate::meta::META_FILE),
        };
        match guard.lock_identity() {
            Ok(true) => Ok(Some(Box::new(guard))),
            Ok(false) => Ok(None),
            // A folder being created has no identity file yet: the writer
            // extends its lock once it has written one.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(Box::new(guard))),
            Err(e) => Err(e),
        }
    }
}
