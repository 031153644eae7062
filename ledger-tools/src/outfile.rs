//! Output files written whole or not at all: the bytes go to a temporary
//! file beside the target, which is renamed over the target only once
//! everything is written and flushed. An interrupted command leaves the
//! old file (or none), never half of a new one. Nothing is written inside
//! a ledger folder or a backup store, nor over a ledger file
//! ([`crate::out_path`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{io_err, ToolError};

/// A file being written; see the module docs.
#[derive(Debug)]
pub struct OutFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl OutFile {
    /// Starts writing `path` (through `.<name>.<pid>.tmp` in its folder).
    /// A path inside a ledger folder or a backup store, or an existing
    /// ledger file, is refused first ([`crate::out_path`]).
    pub fn create(path: &Path) -> Result<Self, ToolError> {
        crate::out_path::check_output_file("output file", path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| ToolError::Refused(format!("{} is not a file name", path.display())))?;
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        Ok(OutFile {
            path: path.to_owned(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// Flushes, syncs and renames the file into place. When any of that
    /// fails (a full disk), the temporary file is removed.
    pub fn commit(mut self) -> Result<(), ToolError> {
        let Some(w) = self.file.take() else {
            return Ok(());
        };
        let done = w
            .into_inner()
            .map_err(|e| ToolError::Io {
                op: "write",
                path: self.tmp.clone(),
                source: e.into_error(),
            })
            .and_then(|file| file.sync_all().map_err(io_err("sync", &self.tmp)))
            .and_then(|()| {
                fs::rename(&self.tmp, &self.path).map_err(io_err("rename into place", &self.path))
            });
        if done.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        done
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("the file was already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
