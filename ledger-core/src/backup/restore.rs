//! `backup restore`: a backup written into a new folder beside the target,
//! checked as it is written (the same segment chain check `backup verify`
//! runs, [`Continuity`]), verified end to end, its ledger id compared with
//! the manifest's, and only then moved into place. Nothing restored
//! half-way is left looking like a good ledger, and nothing is removed that
//! the restore did not create: the staging folder's name is built from
//! plain names and a fresh random suffix, and is created anew.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::continuity::{Continuity, SegmentSummary};
use super::manifest::{Manifest, SegmentState};
use super::object::MAX_OBJECT;
use super::store::{io_err, write_atomic, BackupError, BackupStore, Progress, Result};
use crate::meta::META_FILE;
use crate::types::LedgerId;
use crate::verify::{verify_dir, VerifyOptions};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The backup restored.
    pub id: String,
    /// Segments written.
    pub segments: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Records verified in the restored ledger.
    pub records: u64,
}

/// The staging folder, removed when dropped unless the restore put it in
/// place. It was created by this restore (`create_dir`, which fails on
/// anything already there), so removing it removes only what it wrote.
struct Staging {
    path: PathBuf,
    keep: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            // `remove_dir_all` does not follow a link put in its place.
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Checks the restore target: absent, or an empty real folder.
fn check_target(to: &Path) -> Result<()> {
    let refuse = |reason: &str| BackupError::Target {
        path: to.to_owned(),
        reason: reason.to_owned(),
    };
    if to.file_name().is_none() {
        return Err(refuse("it does not end in a folder name"));
    }
    let meta = match fs::symlink_metadata(to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("stat", to)(e)),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "it is a symbolic link (give the folder it points to, or a new one)",
        ));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a folder"));
    }
    let mut entries = fs::read_dir(to).map_err(io_err("list", to))?;
    if entries.next().is_some() {
        return Err(refuse(if to.join(META_FILE).exists() {
            "it holds a ledger (restore never writes over a ledger)"
        } else {
            "it is not empty"
        }));
    }
    Ok(())
}

impl BackupStore {
    /// Restores a backup (the newest by default) into `to`, which must be
    /// absent or an empty folder (not a link); see the module docs.
    pub fn restore(
        &self,
        id: Option<&str>,
        to: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RestoreReport> {
        let (m, _, manifest_path) = self.find(id)?;
        check_target(to)?;
        let (meta_bytes, ledger) = self.identity(&m, &manifest_path)?;
        let parent = to
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        let mut suffix = [0u8; 6];
        getrandom::getrandom(&mut suffix).map_err(|e| BackupError::Io {
            op: "generate a name for the staging folder beside",
            path: to.to_owned(),
            error: io::Error::other(e),
        })?;
        // `m.id` is a plain name (checked when the manifest was read); the
        // target's own name is one path component.
        let target_name = to
            .file_name()
            .map_or("ledger".into(), |n| n.to_string_lossy());
        let staging_path = parent.join(format!(
            ".{}.restoring-{}-{}",
            target_name,
            m.id,
            hex::encode(suffix)
        ));
        fs::create_dir(&staging_path).map_err(io_err("create", &staging_path))?;
        let mut staging = Staging {
            path: staging_path,
            keep: false,
        };
        let report = self.restore_into(
            &m,
            &manifest_path,
            ledger,
            &meta_bytes,
            &staging.path,
            progress,
        )?;
        let verified = verify_dir(&staging.path, &VerifyOptions::default());
        let problem = match &verified {
            Err(e) => Some(e.to_string()),
            Ok(v) if !v.is_intact() => Some(
                v.findings
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Ok(v) if v.ledger_id != Some(ledger) => Some(format!(
                "the restored ledger is {}, the manifest's ledger_id {}",
                v.ledger_id.map_or("none".into(), |id| id.to_hex()),
                m.ledger_id
            )),
            Ok(v) => match (&m.head, v.head) {
                (Some(h), Some(vh))
                    if h.seq == vh.seq.get() && h.chain_hash == vh.chain_hash.to_hex() =>
                {
                    None
                }
                (None, None) => None,
                _ => Some("the restored head is not the manifest's".into()),
            },
        };
        if let Some(findings) = problem {
            return Err(BackupError::RestoreFailed {
                path: to.to_owned(),
                findings,
            });
        }
        // The target may have appeared meanwhile: check it again, then
        // replace only an empty real folder.
        check_target(to)?;
        if fs::symlink_metadata(to).is_ok() {
            fs::remove_dir(to).map_err(io_err("replace the empty folder", to))?;
        }
        fs::rename(&staging.path, to).map_err(io_err("move the restored ledger to", to))?;
        staging.keep = true;
        crate::storage::regular::sync_dir(parent).map_err(io_err("sync", parent))?;
        Ok(RestoreReport {
            records: verified.map(|v| v.records).unwrap_or(0),
            ..report
        })
    }

    /// Writes the backup's segments and identity file into `dir`, checking
    /// each object and the chain across them as they are written.
    fn restore_into(
        &self,
        m: &Manifest,
        manifest_path: &Path,
        ledger: LedgerId,
        meta: &[u8],
        dir: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RestoreReport> {
        let total: u64 = m.segments.iter().map(|s| s.size).sum();
        let mut done = 0;
        let mut chain = Continuity::new(ledger);
        let broken = |reason: String| BackupError::BrokenChain {
            path: manifest_path.to_owned(),
            reason,
        };
        for s in &m.segments {
            let bytes = self.get_object(&s.object, s.size, &s.name)?;
            SegmentSummary::of(s, &bytes)
                .and_then(|summary| chain.push(s, &summary))
                .map_err(|reason| broken(format!("segment {}: {reason}", s.name)))?;
            // `s.name` is a segment file name (checked when the manifest
            // was read): the file is created in `dir`, never elsewhere.
            let path = dir.join(&s.name);
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io_err("create", &path))?;
            f.write_all(&bytes).map_err(io_err("write", &path))?;
            if let (SegmentState::Active, Some(cap)) = (s.state, s.capacity) {
                // Allocated, not sparse (a full disk is an error now, not a
                // SIGBUS in the writer later); a capacity no segment can have
                // is not believed.
                let len = cap.min(MAX_OBJECT).max(bytes.len() as u64);
                crate::storage::allocate(&f, len).map_err(io_err("extend", &path))?;
            }
            f.sync_all().map_err(io_err("sync", &path))?;
            done += s.size;
            progress(Progress {
                phase: "restore",
                done,
                total,
            });
        }
        chain.finish(m.head.as_ref()).map_err(broken)?;
        // The identity file last: until it exists the folder is no ledger.
        write_atomic(&dir.join(META_FILE), meta)?;
        Ok(RestoreReport {
            id: m.id.clone(),
            segments: m.segments.len(),
            bytes: total,
            records: 0,
        })
    }
}
