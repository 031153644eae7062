//! `backup verify`: everything a restore will rely on, checked without
//! restoring. Each manifest's hash and fields; the chain of manifests
//! ([`check_history`]); each manifest's ledger against its copy of the
//! identity file; each object decompressed and re-hashed; and each
//! manifest's segments walked, every chain hash recomputed, and checked to
//! form one continuous chain from the genesis to the manifest's head
//! ([`Continuity`], the check restore runs too). Links and other odd
//! entries in the store are reported, never followed.

use std::collections::BTreeMap;

use super::continuity::{Continuity, SegmentSummary};
use super::files::EntryKind;
use super::history::{check_history, ChainEntry};
use super::manifest::{Manifest, SegmentState};
use super::store::{BackupError, BackupStore, Progress, Result};

/// What `backup verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupVerifyReport {
    /// Manifests checked.
    pub manifests: usize,
    /// Objects decompressed, re-hashed and walked.
    pub objects: usize,
    /// Uncompressed bytes checked.
    pub bytes: u64,
    /// Problems, each naming the manifest or object.
    pub findings: Vec<String>,
}

impl BackupVerifyReport {
    /// Whether nothing was found.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

impl BackupStore {
    /// Checks every manifest (or one, `id`) and what it names; see the
    /// module docs. The chain of manifests is always checked whole.
    pub fn verify(
        &self,
        id: Option<&str>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<BackupVerifyReport> {
        let mut report = BackupVerifyReport::default();
        let dir = self.manifests_dir()?;
        report.findings.extend(dir.unexpected.iter().cloned());
        report.findings.extend(self.unexpected_objects()?);
        let mut good: Vec<(Manifest, String)> = Vec::new();
        let mut unreadable = Vec::new();
        for (file_id, m) in dir.manifests {
            match m {
                Ok(m) => good.push(m),
                Err(e) => {
                    report.findings.push(e.to_string());
                    unreadable.push(file_id);
                }
            }
        }
        let mut entries: Vec<ChainEntry> = good
            .iter()
            .map(|(m, hash)| ChainEntry {
                id: m.id.clone(),
                hash: hash.clone(),
                previous: m.previous.clone(),
                pruned: false,
            })
            .collect();
        for (file_id, p) in dir.pruned {
            match p {
                // A manifest that is still there wins: its prune was cut short.
                Ok(p) if !entries.iter().any(|e| e.id == p.id) => entries.push(ChainEntry {
                    id: p.id,
                    hash: p.hash,
                    previous: p.previous,
                    pruned: true,
                }),
                Ok(_) => {}
                Err(e) => {
                    report.findings.push(e.to_string());
                    unreadable.push(file_id);
                }
            }
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        report.findings.extend(check_history(&entries, &unreadable));

        let selected: Vec<&(Manifest, String)> = match id {
            Some(id) => match good.iter().find(|(m, _)| m.id == id) {
                Some(m) => vec![m],
                None => {
                    return Err(BackupError::NoSuchBackup {
                        id: id.to_owned(),
                        store: self.root.clone(),
                    })
                }
            },
            None => good.iter().collect(),
        };
        let total: u64 = selected
            .iter()
            .flat_map(|(m, _)| m.segments.iter())
            .map(|s| s.size)
            .sum();
        // Each object is read once, however many manifests name it.
        let mut walked: BTreeMap<(String, bool), Result<SegmentSummary, String>> = BTreeMap::new();
        let mut done = 0u64;
        for (m, _) in &selected {
            report.manifests += 1;
            let path = self.manifest_path(&m.id);
            let ledger = match self.identity(m, &path) {
                Ok((_, ledger)) => ledger,
                Err(e) => {
                    report.findings.push(e.to_string());
                    continue;
                }
            };
            let mut chain = Some(Continuity::new(ledger));
            for s in &m.segments {
                let key = (s.object.clone(), s.state == SegmentState::Sealed);
                let summary = walked.entry(key).or_insert_with(|| {
                    let bytes = self
                        .get_object(&s.object, s.size, &s.name)
                        .map_err(|e| e.to_string())?;
                    report.objects += 1;
                    report.bytes += bytes.len() as u64;
                    SegmentSummary::of(s, &bytes)
                });
                done += s.size;
                progress(Progress {
                    phase: "objects",
                    done,
                    total,
                });
                let Some(c) = chain.as_mut() else { continue };
                let linked = match summary {
                    Ok(summary) => c.push(s, summary),
                    Err(e) => Err(e.clone()),
                };
                if let Err(reason) = linked {
                    report.findings.push(
                        BackupError::BrokenChain {
                            path: path.clone(),
                            reason: format!("segment {}: {reason}", s.name),
                        }
                        .to_string(),
                    );
                    chain = None;
                }
            }
            if let Some(Err(reason)) = chain.map(|c| c.finish(m.head.as_ref())) {
                report
                    .findings
                    .push(BackupError::BrokenChain { path, reason }.to_string());
            }
        }
        Ok(report)
    }

    /// Entries of `objects/` that are not real folders holding regular
    /// files (symbolic links above all), described; never followed.
    fn unexpected_objects(&self) -> Result<Vec<String>> {
        Ok(self
            .object_entries()?
            .odd
            .iter()
            .map(|e| {
                format!(
                    "{}: {} in the object store; not followed",
                    e.path().display(),
                    EntryKind::describe(e)
                )
            })
            .collect())
    }
}
