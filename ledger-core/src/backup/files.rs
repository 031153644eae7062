//! Opening files and folders of a backup store without following symbolic
//! links: a link planted in the store must never lead a read, a write or a
//! removal outside it. Only regular files are read (a FIFO named like an
//! object would block forever), and only real folders are walked.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The largest manifest (or record of a pruned backup) read: far beyond any
/// real one (a manifest lists each segment in a few hundred bytes).
pub(crate) const MAX_MANIFEST: u64 = 64 << 20;

/// Opens `path` for reading if it is a regular file; a symbolic link (even
/// to a regular file), a FIFO, a device or a folder is refused.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOFOLLOW: a link as the last component fails (ELOOP);
        // O_NONBLOCK: opening a FIFO does not wait for a writer.
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    #[cfg(not(unix))]
    if fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a symbolic link",
        ));
    }
    Ok(file)
}

/// Reads the regular file `path` (see [`open_regular`]), at most `max` bytes.
pub(crate) fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// Whether `path` is a real folder: not a symbolic link to one.
pub(crate) fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// What an entry of a store folder is, without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A regular file.
    File,
    /// A real folder.
    Dir,
    /// A symbolic link, a FIFO, a socket or a device: never followed,
    /// read or removed; reported.
    Other,
}

impl EntryKind {
    /// The kind of a listed entry (the listing's own type, which does not
    /// follow links).
    pub(crate) fn of(entry: &fs::DirEntry) -> io::Result<EntryKind> {
        let t = entry.file_type()?;
        Ok(if t.is_file() {
            EntryKind::File
        } else if t.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::Other
        })
    }

    /// How to describe an entry of this kind that is not expected.
    pub(crate) fn describe(entry: &fs::DirEntry) -> &'static str {
        match entry.file_type() {
            Ok(t) if t.is_symlink() => "a symbolic link",
            Ok(t) if t.is_dir() => "a folder",
            Ok(t) if t.is_file() => "a file",
            _ => "not a regular file or folder",
        }
    }
}
