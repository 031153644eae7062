//! A shipped ledger read in place: [`RemoteFiles`] gives
//! [`ledger_core::storage::FetchedStorage`] the store's objects, so that
//! `ledger verify --remote` runs the very verification a local folder gets,
//! fetching one segment at a time into memory (no local copy).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use ledger_core::storage::Fetch;

use super::Remote;
use crate::error::ToolError;

/// The objects of a [`Remote`], as the files of a read-only ledger folder.
#[derive(Debug, Clone)]
pub struct RemoteFiles(pub Arc<Remote>);

fn to_io(e: ToolError) -> io::Error {
    io::Error::other(e.to_string())
}

impl Fetch for RemoteFiles {
    fn location(&self, name: &str) -> PathBuf {
        self.0.location_path(name)
    }
    fn exists(&self) -> bool {
        self.0.list().is_ok()
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.0.list().map_err(to_io)?.into_keys().collect())
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        self.0
            .size(name)
            .map_err(to_io)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, self.0.location(name)))
    }
    fn fetch(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        if let Some(size) = self.0.size(name).map_err(to_io)? {
            if size > max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} is {size} bytes, more than the {max} a ledger file may hold",
                        self.0.location(name)
                    ),
                ));
            }
        }
        self.0
            .get(name)
            .map_err(to_io)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, self.0.location(name)))
    }
}
