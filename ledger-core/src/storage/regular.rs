//! Opening only regular files, of bounded size.
//!
//! Anyone who can write to a ledger folder can put anything in it under a
//! ledger file's name: a FIFO blocks an `open` for reading until a writer
//! comes (for ever), a device such as `/dev/zero` never ends, a directory
//! cannot be mapped, and a huge sparse file would be read whole. Every file
//! the engine opens in a ledger folder (and every segment file a tool reads
//! on its own) is opened here: the open never blocks (`O_NONBLOCK`, which
//! changes nothing for a regular file), what was opened must be a regular
//! file, checked on the open file itself so that swapping the name between
//! a check and the open gains nothing, and a file to be read or mapped
//! whole must not be larger than the format allows. Otherwise the open
//! fails with an error that says what the file is (the caller's context
//! adds its path).

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a file type is, in words.
pub fn describe(ft: FileType) -> &'static str {
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The error for a file of type `ft` where a regular file must be.
fn not_regular(ft: FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} where a regular file must be; it is not read",
            describe(ft)
        ),
    )
}

/// Fails unless `meta` is a regular file's.
pub fn check_regular(meta: &Metadata) -> io::Result<()> {
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(not_regular(meta.file_type()))
    }
}

/// Fails if a file of `len` bytes is larger than `max`.
pub fn check_len(len: u64, max: u64) -> io::Result<()> {
    if len > max {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is {len} bytes, more than the {max} this file may hold; it is not read"
            ),
        ))
    } else {
        Ok(())
    }
}

/// Opens `path` with `opts` (plus `O_NONBLOCK`) and checks it is a regular
/// file: a FIFO, device, socket or directory of that name is refused
/// without blocking. A name that does not exist is left to `opts` (an error,
/// or a new file).
pub fn open_regular(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    open_checked(path, opts).map(|(file, _)| file)
}

/// [`open_regular`], also returning the open file's metadata.
fn open_checked(path: &Path, opts: &mut OpenOptions) -> io::Result<(File, Metadata)> {
    // A FIFO opened for writing without a reader fails with ENXIO under
    // O_NONBLOCK: looking first gives the clearer error.
    match std::fs::metadata(path) {
        Ok(meta) => check_regular(&meta)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let file = opts.custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    check_regular(&meta)?;
    Ok((file, meta))
}

/// Opens the regular file `path` with `opts` (see [`open_regular`]) if it
/// holds at most `max` bytes; returns it with its length.
pub(crate) fn open_bounded(
    path: &Path,
    opts: &mut OpenOptions,
    max: u64,
) -> io::Result<(File, u64)> {
    let (file, meta) = open_checked(path, opts)?;
    check_len(meta.len(), max)?;
    Ok((file, meta.len()))
}

/// Reads the regular file `path` whole, if it holds at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open_bounded(path, OpenOptions::new().read(true), max)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // A file that grows while it is read is read no further than `max`.
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    check_len(out.len() as u64, max)?;
    Ok(out)
}

/// Flushes the folder `path` (after a rename into it or out of it). It is
/// opened as a folder only (`O_DIRECTORY`) and without blocking
/// (`O_NONBLOCK`): a FIFO put in the folder's place is refused, not waited
/// on.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(path)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mkfifo {}", path.display());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0000000000.active");
        mkfifo(&path);
        for (read, write) in [(true, false), (false, true), (true, true)] {
            let mut opts = OpenOptions::new();
            opts.read(read).write(write).create(write);
            let err = open_regular(&path, &mut opts).unwrap_err();
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
        let err = read_regular(&path, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn devices_and_directories_are_refused() {
        let err = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read_regular(dir.path(), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }

    #[test]
    fn a_file_larger_than_its_bound_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [7u8; 100]).unwrap();
        assert_eq!(read_regular(&path, 100).unwrap().len(), 100);
        let err = read_regular(&path, 99).unwrap_err();
        assert!(err.to_string().contains("100 bytes"), "{err}");
        // A symbolic link to a regular file is that file.
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read_regular(&link, 100).unwrap().len(), 100);
    }
}
