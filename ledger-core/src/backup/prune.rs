//! `backup prune`: removes old backups, leaving a record of each
//! (`manifests/<id>.pruned`) so the chain of manifests stays checkable, then
//! every object no kept backup needs and the temporary files of killed
//! backups. Nothing is followed through a symbolic link: entries are judged
//! by the listing's own type, a link is reported and left alone.

use std::collections::BTreeSet;
use std::fs;
use std::time::Duration;

use super::files::EntryKind;
use super::history::PrunedBackup;
use super::manifest::{Manifest, MANIFEST_FORMAT};
use super::store::{io_err, is_temp, write_atomic, BackupError, BackupStore, Result};
use crate::types::Timestamp;

/// What pruning removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Backups removed.
    pub removed_backups: Vec<String>,
    /// Objects removed (no kept backup needs them).
    pub removed_objects: usize,
    /// Temporary files removed: halves of objects or manifests that a
    /// backup killed or stopped by a full disk left behind.
    pub removed_temps: usize,
    /// Bytes freed (as stored).
    pub freed_bytes: u64,
    /// Backups kept.
    pub kept: usize,
    /// Entries of the store that are not what it holds there (symbolic
    /// links, FIFOs, folders among objects), described: left alone, never
    /// followed. Any is a finding.
    pub unexpected: Vec<String>,
}

impl BackupStore {
    /// Removes backups beyond the newest `keep_last`, except those made
    /// within `keep_within` of now, then every object no kept backup needs.
    /// A damaged manifest stops it before anything is removed.
    pub fn prune(&self, keep_last: usize, keep_within: Option<Duration>) -> Result<PruneReport> {
        let _lock = self.lock()?;
        let dir = self.manifests_dir()?;
        let mut report = PruneReport {
            unexpected: dir.unexpected,
            ..PruneReport::default()
        };
        let all: Vec<(Manifest, String)> = dir
            .manifests
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Result<_>>()?;
        let now = Timestamp::now().as_nanos();
        let n = all.len();
        let mut kept = Vec::new();
        for (i, (m, hash)) in all.into_iter().enumerate() {
            let recent = keep_within
                .is_some_and(|d| now.saturating_sub(m.created_ns) <= d.as_nanos() as i64);
            if i + keep_last >= n || recent {
                kept.push(m);
                continue;
            }
            // The record first: a prune cut short leaves both, and the
            // manifest still counts.
            let record = PrunedBackup {
                format: MANIFEST_FORMAT,
                id: m.id.clone(),
                hash,
                created_ns: m.created_ns,
                previous: m.previous.clone(),
                pruned_ns: now,
            };
            let record_path = self.pruned_path(&m.id);
            let (bytes, _) = record.to_file().map_err(|e| BackupError::Manifest {
                path: record_path.clone(),
                reason: e.to_string(),
            })?;
            write_atomic(&record_path, &bytes)?;
            let path = self.manifest_path(&m.id);
            fs::remove_file(&path).map_err(io_err("remove", &path))?;
            report.removed_backups.push(m.id);
        }
        let needed: BTreeSet<String> = kept
            .iter()
            .flat_map(|m| m.segments.iter().map(|s| s.object.clone()))
            .collect();
        // The store lock is held: no backup is writing, so every temporary
        // file is a leftover of one that was killed or failed.
        let manifests = self.root.join("manifests");
        for entry in fs::read_dir(&manifests).map_err(io_err("list", &manifests))? {
            let entry = entry.map_err(io_err("list", &manifests))?;
            if EntryKind::of(&entry).map_err(io_err("stat", entry.path()))? == EntryKind::File
                && is_temp(&entry.path())
            {
                remove(&entry, &mut report)?;
                report.removed_temps += 1;
            }
        }
        let objects = self.object_entries()?;
        report.unexpected.extend(objects.odd.iter().map(unexpected));
        for obj in &objects.files {
            let path = obj.path();
            if is_temp(&path) {
                remove(obj, &mut report)?;
                report.removed_temps += 1;
                continue;
            }
            let Some(hash) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".zst"))
            else {
                continue;
            };
            if !needed.contains(hash) {
                remove(obj, &mut report)?;
                report.removed_objects += 1;
            }
        }
        report.kept = kept.len();
        Ok(report)
    }
}

/// Removes the regular file `entry` (judged by the listing, which does not
/// follow links), counting its size as freed.
fn remove(entry: &fs::DirEntry, report: &mut PruneReport) -> Result<()> {
    let path = entry.path();
    report.freed_bytes += fs::symlink_metadata(&path).map_or(0, |m| m.len());
    fs::remove_file(&path).map_err(io_err("remove", &path))
}

fn unexpected(entry: &fs::DirEntry) -> String {
    format!(
        "{}: {} in the object store; left alone, not followed",
        entry.path().display(),
        EntryKind::describe(entry)
    )
}
