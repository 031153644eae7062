//! Backup stores in an object store: `ledger backup create --to URL` and
//! `ledger backup restore --from URL`.
//!
//! A backup store is a folder of immutable, content-addressed objects
//! (`objects/xx/<blake3>.zst`) and of manifests (`manifests/<id>.manifest`),
//! which the store code ([`ledger_core::BackupStore`]) reads and writes
//! with every check it has. In an object store the same files sit under
//! the same relative names below the URL's prefix, and the store code runs
//! unchanged on a private staging folder:
//! - `create`: the bucket's manifests (small) are fetched into the staging
//!   folder, and the addresses of its objects listed; the backup is made
//!   there, writing only the objects the bucket lacks
//!   ([`ledger_core::BackupStore::with_objects_elsewhere`]), which are then
//!   uploaded, and the new manifest last, so a manifest in the bucket
//!   never names an object that is not there. A kill at any point leaves
//!   at most objects no manifest names yet (the next backup reuses them).
//! - `restore`: the whole store is fetched into the staging folder (each
//!   object is decompressed and re-hashed by the restore), then restored
//!   as from a folder: verified end to end before it is put in place.
//!
//! The staging folder (under the system's temporary folder, or
//! `LEDGER_STAGING`) is removed when the command ends.

use std::path::{Path, PathBuf};

use crate::error::{io_err, ToolError};

use super::{Remote, Retries};

/// Whether a `--to`/`--from` value names an object store, not a folder.
pub fn is_url(p: &Path) -> bool {
    p.to_str().is_some_and(|s| {
        ["s3://", "s3a://", "file://"]
            .iter()
            .any(|scheme| s.starts_with(scheme))
    })
}

/// A backup store in an object store, mirrored through a staging folder.
#[derive(Debug)]
pub struct RemoteBackupStore {
    remote: Remote,
    staging: PathBuf,
}

/// What [`RemoteBackupStore::push`] sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pushed {
    /// Files uploaded (objects and manifests).
    pub uploaded: u64,
    /// Bytes uploaded.
    pub bytes: u64,
}

impl RemoteBackupStore {
    /// Opens the store at `url` and makes an empty staging folder.
    pub fn open(url: &str, create: bool) -> Result<RemoteBackupStore, ToolError> {
        let remote = Remote::open(url, Retries::default(), create)?;
        let base = std::env::var_os("LEDGER_STAGING")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let staging = base.join(format!(
            "ledger-backup-staging-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
        Ok(RemoteBackupStore { remote, staging })
    }

    /// The staging folder, where the store code runs.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// Fetches the bucket's manifests (and with `objects`, every object)
    /// into the staging folder. Returns how many files were fetched; an
    /// empty bucket fetches none (`create` then starts a new store).
    pub fn pull(&self, objects: bool) -> Result<u64, ToolError> {
        let mut fetched = 0;
        for (name, _) in self.remote.list_all()? {
            let wanted =
                name.starts_with("manifests/") || (objects && name.starts_with("objects/"));
            if !wanted {
                continue;
            }
            let local = self.local_path(&name)?;
            let bytes = self.remote.get(&name)?.ok_or_else(|| {
                ToolError::Refused(format!(
                    "{}: listed, then gone: is something else pruning this store?",
                    self.remote.location(&name)
                ))
            })?;
            if let Some(dir) = local.parent() {
                std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
            }
            std::fs::write(&local, bytes).map_err(io_err("write", &local))?;
            fetched += 1;
        }
        if fetched > 0 {
            // A store has both folders, even when one is empty.
            for sub in ["objects", "manifests"] {
                let dir = self.staging.join(sub);
                std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
            }
        }
        Ok(fetched)
    }

    /// The addresses of the objects the bucket holds (`objects/xx/<address>.zst`).
    pub fn objects_there(&self) -> Result<std::collections::BTreeSet<String>, ToolError> {
        Ok(self
            .remote
            .list_all()?
            .into_keys()
            .filter_map(|name| {
                let file = name.strip_prefix("objects/")?.split('/').nth(1)?;
                Some(file.strip_suffix(".zst")?.to_string())
            })
            .collect())
    }

    /// Uploads what the staging store has and the bucket lacks: objects
    /// first, then manifests and pruning records.
    pub fn push(&self) -> Result<Pushed, ToolError> {
        let there = self.remote.list_all()?;
        let mut pushed = Pushed::default();
        let mut files = Vec::new();
        collect_files(&self.staging, &self.staging, &mut files)?;
        files.sort_by_key(|name| (!name.starts_with("objects/"), name.clone()));
        for name in files {
            if is_temporary(&name) {
                continue;
            }
            let local = self.staging.join(&name);
            if there.contains_key(&name) {
                continue;
            }
            let bytes = std::fs::read(&local).map_err(io_err("read", &local))?;
            pushed.bytes += bytes.len() as u64;
            self.remote.put(&name, bytes.clone())?;
            self.remote.check_read_back(&name, &bytes)?;
            pushed.uploaded += 1;
        }
        Ok(pushed)
    }

    /// The staging path of the store's file `name`, refusing a name that
    /// would leave the staging folder (a hostile listing).
    fn local_path(&self, name: &str) -> Result<PathBuf, ToolError> {
        let plain = name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
        if !plain {
            return Err(ToolError::Refused(format!(
                "{}: not a backup store's file name",
                self.remote.location(name)
            )));
        }
        Ok(self.staging.join(name))
    }
}

impl Drop for RemoteBackupStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Whether `name` is a temporary file of an interrupted write.
fn is_temporary(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|file| file.contains(".tmp"))
}

/// Every regular file under `dir`, as a `/`-separated path below `root`.
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ToolError> {
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_err("look at", &path))?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if kind.is_file() {
            if let Some(rel) = path
                .strip_prefix(root)
                .ok()
                .and_then(|r| r.to_str())
                .map(|r| r.replace(std::path::MAIN_SEPARATOR, "/"))
            {
                out.push(rel);
            }
        }
    }
    Ok(())
}
