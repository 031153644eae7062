//! [`BackupStore`]: create, list, verify, restore and prune backups.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::manifest::{
    Manifest, ManifestHead, ManifestLink, ManifestSegment, SegmentState, MANIFEST_FORMAT,
};
use super::object::{decode_object, encode_object, is_address, ObjectError, MAX_OBJECT};
use crate::layout::read_layout;
use crate::meta::{LedgerMeta, MetaDefect, META_FILE};
use crate::reader::LiveSlots;
use crate::segment::header::{encode_watermark, SegmentHeader, HEADER_LEN, WATERMARK_AT};
use crate::segment::names::SegmentName;
use crate::segment::walk::{Mode, Step, Walker};
use crate::segment::ChainState;
use crate::storage::{FsStorage, Storage};
use crate::types::{ContentHash, Timestamp};
use crate::verify::{verify_dir, VerifyOptions};

/// What can go wrong with backups. Every variant names the file or object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// An I/O operation failed.
    #[error("{op} {path}: {error}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file or folder.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] crate::Error),
    /// The folder is not a backup store.
    #[error("{path} is not a backup store (no `objects` and `manifests` folders)")]
    NotAStore {
        /// The folder.
        path: PathBuf,
    },
    /// A manifest is damaged or invalid.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A manifest's copy of the ledger's identity file does not decode.
    #[error("manifest {path}: ledger_meta: {defect}")]
    ManifestMeta {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with the identity file (also in the message).
        #[source]
        defect: MetaDefect,
    },
    /// An object is missing, damaged or does not match its address.
    #[error("object {object} ({segment}): {error}")]
    Object {
        /// The object's address.
        object: String,
        /// The segment it holds.
        segment: String,
        /// What is wrong (also in the message).
        #[source]
        error: ObjectError,
    },
    /// A segment of the live ledger does not match its own name.
    #[error("{segment} does not match its content address; the ledger is damaged, back it up after `ledger verify` and repair")]
    DamagedSegment {
        /// The segment file.
        segment: String,
    },
    /// A name in a manifest would leave the target folder or is not a segment name.
    #[error("manifest {id} names {name:?}, which is not a segment file name; refusing (it could write outside the target folder)")]
    UnsafeName {
        /// The manifest.
        id: String,
        /// The name.
        name: String,
    },
    /// No backup with that id, or none at all.
    #[error("no backup {id:?} in {store}")]
    NoSuchBackup {
        /// The id asked for (empty: the newest).
        id: String,
        /// The store.
        store: PathBuf,
    },
    /// The restore target is not empty (or is the live ledger).
    #[error("refusing to restore into {path}: {reason}")]
    Target {
        /// The target folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The restored ledger did not verify; it was not put in place.
    #[error("the restored ledger does not verify ({findings}); nothing was put at {path}")]
    RestoreFailed {
        /// The target folder.
        path: PathBuf,
        /// What verification found.
        findings: String,
    },
}

type Result<T, E = BackupError> = std::result::Result<T, E>;

fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.into();
    move |error| BackupError::Io { op, path, error }
}

/// Progress of long work, reported to a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done.
    pub phase: &'static str,
    /// Bytes done.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Segments whose object was already in the store.
    pub reused: usize,
    /// Segments copied.
    pub copied: usize,
}

/// One line of `backup list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The manifest.
    pub manifest: Manifest,
    /// Total uncompressed size of its segments.
    pub size: u64,
}

/// What `backup verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupVerifyReport {
    /// Manifests checked.
    pub manifests: usize,
    /// Objects decompressed and re-hashed.
    pub objects: usize,
    /// Uncompressed bytes checked.
    pub bytes: u64,
    /// Problems, each naming the manifest or object.
    pub findings: Vec<String>,
}

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
}

/// A backup store folder.
#[derive(Debug, Clone)]
pub struct BackupStore {
    root: PathBuf,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = File::create(&tmp)
        .map_err(io_err("create", &tmp))
        .and_then(|mut f| {
            f.write_all(bytes).map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("sync", &tmp))
        })
        .and_then(|()| fs::rename(&tmp, path).map_err(io_err("rename", &tmp)));
    if let Err(e) = written {
        // A full disk must not also leave half an object behind.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync", dir))?;
    }
    Ok(())
}

/// Removes `path` if it is a temporary file of [`write_atomic`], counting it.
fn remove_if_temp(path: &Path, report: &mut PruneReport) -> Result<bool> {
    let temp = path
        .extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| x.starts_with("tmp-"));
    if temp {
        report.freed_bytes += fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        fs::remove_file(path).map_err(io_err("remove", path))?;
        report.removed_temps += 1;
    }
    Ok(temp)
}

impl BackupStore {
    /// Opens the store at `root`, creating it if absent or empty.
    pub fn open_or_create(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let empty = !root.exists()
            || fs::read_dir(&root)
                .map_err(io_err("list", &root))?
                .next()
                .is_none();
        if empty {
            for sub in ["objects", "manifests"] {
                fs::create_dir_all(root.join(sub)).map_err(io_err("create", root.join(sub)))?;
            }
        }
        Self::open(root)
    }

    /// Opens an existing store.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.join("objects").is_dir() || !root.join("manifests").is_dir() {
            return Err(BackupError::NotAStore { path: root });
        }
        Ok(BackupStore { root })
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, hash: &str) -> PathBuf {
        self.root
            .join("objects")
            .join(&hash[..2])
            .join(format!("{hash}.zst"))
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.root.join("manifests").join(format!("{id}.manifest"))
    }

    /// Stores `bytes` as the object `hash` unless it is there; returns the
    /// stored (compressed) size when it was written.
    fn put_object(&self, hash: &str, bytes: &[u8]) -> Result<Option<u64>> {
        let path = self.object_path(hash);
        if path.is_file() {
            return Ok(None);
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        }
        let compressed = encode_object(bytes).map_err(io_err("compress", &path))?;
        write_atomic(&path, &compressed)?;
        Ok(Some(compressed.len() as u64))
    }

    /// Reads and decompresses object `hash`, checking that it decompresses
    /// to exactly `size` bytes (never more: a decompression bomb stops there)
    /// whose blake3 is `hash`.
    fn get_object(&self, hash: &str, size: u64, segment: &str) -> Result<Vec<u8>> {
        let bad = |error: ObjectError| BackupError::Object {
            object: hash.to_owned(),
            segment: segment.to_owned(),
            error,
        };
        if !is_address(hash) {
            return Err(bad(ObjectError::BadAddress));
        }
        let path = self.object_path(hash);
        let file = File::open(&path).map_err(|source| bad(ObjectError::Open { path, source }))?;
        decode_object(file, hash, size).map_err(bad)
    }

    /// Every manifest, oldest first, with its hash; damaged ones as errors.
    fn manifests(&self) -> Result<Vec<Result<(Manifest, String), BackupError>>> {
        let dir = self.root.join("manifests");
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io_err("list", &dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "manifest"))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|path| {
                let bytes = fs::read(&path).map_err(io_err("read", &path))?;
                Manifest::from_file(&bytes).map_err(|reason| BackupError::Manifest { path, reason })
            })
            .collect())
    }

    fn latest(&self) -> Result<Option<(Manifest, String)>> {
        Ok(self.manifests()?.into_iter().filter_map(|m| m.ok()).last())
    }

    fn find(&self, id: Option<&str>) -> Result<(Manifest, String)> {
        let found = match id {
            None => self.latest()?,
            Some(id) => {
                let path = self.manifest_path(id);
                if id.contains(['/', '\\']) || !path.is_file() {
                    None
                } else {
                    let bytes = fs::read(&path).map_err(io_err("read", &path))?;
                    Some(
                        Manifest::from_file(&bytes)
                            .map_err(|reason| BackupError::Manifest { path, reason })?,
                    )
                }
            }
        };
        found.ok_or_else(|| BackupError::NoSuchBackup {
            id: id.unwrap_or_default().to_owned(),
            store: self.root.clone(),
        })
    }

    /// Backs up the ledger in `ledger_dir` while its writer may keep
    /// appending: sealed segments not yet in the store are copied (after
    /// checking their content address), and the active segment's committed
    /// records are captured.
    pub fn create_backup(
        &self,
        ledger_dir: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<BackupReport> {
        let storage: Arc<dyn Storage> = Arc::new(FsStorage::new(ledger_dir));
        let _lock = self.lock()?;
        // A seal may rename the active segment while we look: try again.
        let mut attempt = 0;
        loop {
            match self.try_backup(&storage, progress) {
                Err(BackupError::Io { error, .. })
                    if error.kind() == io::ErrorKind::NotFound && attempt < 8 =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Takes the store's lock: one backup or prune at a time, so pruning
    /// never removes an object a backup being made relies on.
    fn lock(&self) -> Result<File> {
        let path = self.root.join("LOCK");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        f.lock().map_err(io_err("lock", &path))?;
        Ok(f)
    }

    fn try_backup(
        &self,
        storage: &Arc<dyn Storage>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<BackupReport> {
        let st = storage.as_ref();
        let layout = read_layout(st)?;
        let meta_bytes = st
            .read_file(META_FILE)
            .map_err(io_err("read", st.path_of(META_FILE)))?;
        let mut total = 0u64;
        for f in &layout.sealed {
            total += st
                .file_len(&f.name)
                .map_err(io_err("stat", st.path_of(&f.name)))?;
        }
        let mut done = 0u64;
        let mut segments = Vec::new();
        let (mut reused, mut copied, mut added, mut added_stored) = (0, 0, 0u64, 0u64);
        let mut head = None;
        for f in &layout.sealed {
            let hash = f.address.to_hex();
            let size = st
                .file_len(&f.name)
                .map_err(io_err("stat", st.path_of(&f.name)))?;
            if self.object_path(&hash).is_file() {
                reused += 1;
            } else {
                let bytes =
                    fs::read(st.path_of(&f.name)).map_err(io_err("read", st.path_of(&f.name)))?;
                if ContentHash::of(&bytes) != f.address {
                    return Err(BackupError::DamagedSegment {
                        segment: f.name.clone(),
                    });
                }
                if let Some(stored) = self.put_object(&hash, &bytes)? {
                    added += bytes.len() as u64;
                    added_stored += stored;
                }
                copied += 1;
            }
            done += size;
            progress(Progress {
                phase: "segments",
                done,
                total,
            });
            segments.push(ManifestSegment {
                ordinal: f.ordinal.get(),
                name: f.name.clone(),
                state: SegmentState::Sealed,
                object: hash,
                size,
                capacity: None,
            });
        }
        if let Some(last) = layout.sealed.last() {
            let seg = crate::sealed::SealedSegment::open(st, last, &layout.meta.id)?;
            head = Some(ManifestHead {
                seq: seg.footer.last_seq.get(),
                chain_hash: seg.footer.last_hash.to_hex(),
            });
        }
        if let Some((ordinal, name)) = &layout.active {
            let map = st
                .map_segment(name)
                .map_err(io_err("map", st.path_of(name)))?;
            let fixed = map
                .raw(crate::storage::TOKEN, 0, WATERMARK_AT)
                .unwrap_or_default();
            let header = SegmentHeader::decode_fixed(fixed).map_err(|d| crate::Error::Corrupt {
                segment: name.clone(),
                offset: 0,
                seq: None,
                defect: d.into(),
            })?;
            // The committed records, by the segment walker reading by the
            // commit protocol: it stops at the first slot that is not a
            // valid, linked record.
            let start = ChainState {
                next_seq: header.first_seq,
                prev_hash: header.prev_hash,
                last_ts: Timestamp::from_nanos(i64::MIN),
            };
            let mut walker = Walker::new(name, Mode::Live, start, map.len()).check_chain(true);
            while let Step::Record {
                problem: None, rec, ..
            } = walker.step(&LiveSlots(map.as_ref()))
            {
                head = Some(ManifestHead {
                    seq: rec.seq.get(),
                    chain_hash: rec.chain_hash.to_hex(),
                });
            }
            let at = walker.position();
            // The captured file: the header page with the watermark at the
            // end of what was captured, then the records.
            let mut bytes = vec![0u8; at];
            bytes[..WATERMARK_AT].copy_from_slice(fixed);
            bytes[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(at as u64));
            if at > HEADER_LEN {
                if let Some(recs) = map.raw(crate::storage::TOKEN, HEADER_LEN, at - HEADER_LEN) {
                    bytes[HEADER_LEN..].copy_from_slice(recs);
                }
            }
            let hash = blake3::hash(&bytes).to_hex().to_string();
            if let Some(stored) = self.put_object(&hash, &bytes)? {
                added += bytes.len() as u64;
                added_stored += stored;
                copied += 1;
            } else {
                reused += 1;
            }
            segments.push(ManifestSegment {
                ordinal: ordinal.get(),
                name: name.clone(),
                state: SegmentState::Active,
                object: hash,
                size: bytes.len() as u64,
                capacity: Some(header.capacity.max(map.len() as u64)),
            });
        }
        let previous = self
            .latest()?
            .map(|(m, hash)| ManifestLink { id: m.id, hash });
        let now = Timestamp::now();
        let mut suffix = [0u8; 3];
        getrandom::getrandom(&mut suffix).map_err(|e| BackupError::Io {
            op: "generate an id for",
            path: self.root.clone(),
            error: io::Error::other(e),
        })?;
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            id: format!("{:020}-{}", now.as_nanos(), hex::encode(suffix)),
            created_ns: now.as_nanos(),
            tool: format!("ledger-core {}", env!("CARGO_PKG_VERSION")),
            ledger_id: layout.meta.id.to_hex(),
            ledger_format: layout.meta.version as u16,
            ledger_meta: hex::encode(&meta_bytes),
            segments,
            head,
            previous,
            added_bytes: added,
            added_stored_bytes: added_stored,
        };
        let path = self.manifest_path(&manifest.id);
        let (bytes, _) = manifest.to_file().map_err(|e| BackupError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &bytes)?;
        Ok(BackupReport {
            manifest,
            reused,
            copied,
        })
    }

    /// Every backup, oldest first. A damaged manifest is an error naming it.
    pub fn list(&self) -> Result<Vec<BackupSummary>> {
        self.manifests()?
            .into_iter()
            .map(|m| {
                m.map(|(manifest, _)| BackupSummary {
                    size: manifest.segments.iter().map(|s| s.size).sum(),
                    manifest,
                })
            })
            .collect()
    }

    /// Checks every manifest (or one): its hash, its link to the previous
    /// one, and that every object it names decompresses to bytes that hash
    /// to its address.
    pub fn verify(
        &self,
        id: Option<&str>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<BackupVerifyReport> {
        let mut report = BackupVerifyReport::default();
        let all = self.manifests()?;
        let mut good: Vec<(Manifest, String)> = Vec::new();
        for m in all {
            match m {
                Ok(m) => good.push(m),
                Err(e) => report.findings.push(e.to_string()),
            }
        }
        for i in 0..good.len() {
            let (m, _) = &good[i];
            if let Some(link) = &m.previous {
                match good[..i].iter().find(|(p, _)| p.id == link.id) {
                    Some((_, hash)) if *hash != link.hash => report.findings.push(format!(
                        "manifest {}: its link to {} names hash {}, but that manifest hashes to {hash}",
                        m.id, link.id, link.hash
                    )),
                    _ => {}
                }
            }
        }
        let selected: Vec<&(Manifest, String)> = match id {
            Some(id) => {
                let m = good.iter().find(|(m, _)| m.id == id);
                match m {
                    Some(m) => vec![m],
                    None => {
                        return Err(BackupError::NoSuchBackup {
                            id: id.to_owned(),
                            store: self.root.clone(),
                        })
                    }
                }
            }
            None => good.iter().collect(),
        };
        let mut objects = BTreeSet::new();
        let total: u64 = selected
            .iter()
            .flat_map(|(m, _)| m.segments.iter())
            .map(|s| s.size)
            .sum();
        for (m, _) in &selected {
            report.manifests += 1;
            for s in &m.segments {
                if !objects.insert(s.object.clone()) {
                    continue;
                }
                match self.get_object(&s.object, s.size, &s.name) {
                    Ok(bytes) => {
                        report.objects += 1;
                        report.bytes += bytes.len() as u64;
                        // The bytes hash to `s.object` (checked by reading
                        // the object): a sealed segment's name must carry
                        // that address and the ordinal.
                        let named = match SegmentName::parse(&s.name) {
                            Some(SegmentName::Sealed(o, address)) => {
                                o.get() == s.ordinal && address.to_hex() == s.object
                            }
                            _ => false,
                        };
                        if s.state == SegmentState::Sealed && !named {
                            report.findings.push(format!(
                                "manifest {}: segment {} does not match its object",
                                m.id, s.name
                            ));
                        }
                    }
                    Err(e) => report.findings.push(format!("manifest {}: {e}", m.id)),
                }
                progress(Progress {
                    phase: "objects",
                    done: report.bytes,
                    total,
                });
            }
        }
        Ok(report)
    }

    /// Restores a backup (the newest by default) into `to`, which must be
    /// absent or empty. The ledger is written beside it, verified end to end,
    /// and only then moved into place.
    pub fn restore(
        &self,
        id: Option<&str>,
        to: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RestoreReport> {
        let (m, _) = self.find(id)?;
        if to.exists() {
            let mut entries = fs::read_dir(to).map_err(io_err("list", to))?;
            if entries.next().is_some() {
                let reason = if to.join(META_FILE).exists() {
                    "it holds a ledger (restore never writes over a ledger)"
                } else {
                    "it is not empty"
                };
                return Err(BackupError::Target {
                    path: to.to_owned(),
                    reason: reason.into(),
                });
            }
        }
        let meta_bytes = hex::decode(&m.ledger_meta).map_err(|e| BackupError::Manifest {
            path: self.manifest_path(&m.id),
            reason: format!("ledger_meta is not hex: {e}"),
        })?;
        LedgerMeta::decode(&meta_bytes).map_err(|defect| BackupError::ManifestMeta {
            path: self.manifest_path(&m.id),
            defect,
        })?;
        for s in &m.segments {
            let ok = match (SegmentName::parse(&s.name), s.state) {
                (Some(SegmentName::Sealed(o, _)), SegmentState::Sealed)
                | (Some(SegmentName::Active(o)), SegmentState::Active) => o.get() == s.ordinal,
                _ => false,
            };
            if !ok || s.name.contains(['/', '\\']) || s.name.starts_with('.') {
                return Err(BackupError::UnsafeName {
                    id: m.id.clone(),
                    name: s.name.clone(),
                });
            }
        }
        let parent = to
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        let staging = parent.join(format!(
            ".{}.restoring-{}",
            to.file_name().and_then(|n| n.to_str()).unwrap_or("ledger"),
            m.id
        ));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging).map_err(io_err("create", &staging))?;
        let result = self.restore_into(&m, &meta_bytes, &staging, progress);
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        let verified = verify_dir(&staging, &VerifyOptions::default());
        let problem = match &verified {
            Err(e) => Some(e.to_string()),
            Ok(v) if !v.is_intact() => Some(
                v.findings
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
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
            let _ = fs::remove_dir_all(&staging);
            return Err(BackupError::RestoreFailed {
                path: to.to_owned(),
                findings,
            });
        }
        if to.exists() {
            fs::remove_dir(to).map_err(io_err("replace the empty folder", to))?;
        }
        fs::rename(&staging, to).map_err(io_err("move the restored ledger to", to))?;
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync", parent))?;
        Ok(RestoreReport {
            records: verified.map(|v| v.records).unwrap_or(0),
            ..report
        })
    }

    fn restore_into(
        &self,
        m: &Manifest,
        meta: &[u8],
        dir: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RestoreReport> {
        let total: u64 = m.segments.iter().map(|s| s.size).sum();
        let mut done = 0;
        for s in &m.segments {
            let bytes = self.get_object(&s.object, s.size, &s.name)?;
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
        // The identity file last: until it exists the folder is no ledger.
        write_atomic(&dir.join(META_FILE), meta)?;
        Ok(RestoreReport {
            id: m.id.clone(),
            segments: m.segments.len(),
            bytes: total,
            records: 0,
        })
    }

    /// Removes backups beyond the newest `keep_last`, except those made
    /// within `keep_within` of now, then every object no kept backup needs.
    pub fn prune(&self, keep_last: usize, keep_within: Option<Duration>) -> Result<PruneReport> {
        let _lock = self.lock()?;
        let all: Vec<(Manifest, String)> = self.manifests()?.into_iter().collect::<Result<_>>()?;
        let now = Timestamp::now().as_nanos();
        let n = all.len();
        let mut report = PruneReport::default();
        let mut kept = Vec::new();
        for (i, (m, _)) in all.into_iter().enumerate() {
            let recent = keep_within
                .is_some_and(|d| now.saturating_sub(m.created_ns) <= d.as_nanos() as i64);
            if i + keep_last >= n || recent {
                kept.push(m);
            } else {
                let path = self.manifest_path(&m.id);
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                report.removed_backups.push(m.id);
            }
        }
        let needed: BTreeSet<String> = kept
            .iter()
            .flat_map(|m| m.segments.iter().map(|s| s.object.clone()))
            .collect();
        // The store lock is held: no backup is writing, so every temporary
        // file is a leftover of one that was killed or failed.
        let manifests = self.root.join("manifests");
        for entry in fs::read_dir(&manifests).map_err(io_err("list", &manifests))? {
            remove_if_temp(
                &entry.map_err(io_err("list", &manifests))?.path(),
                &mut report,
            )?;
        }
        let objects = self.root.join("objects");
        for sub in fs::read_dir(&objects).map_err(io_err("list", &objects))? {
            let sub = sub.map_err(io_err("list", &objects))?.path();
            if !sub.is_dir() {
                continue;
            }
            for obj in fs::read_dir(&sub).map_err(io_err("list", &sub))? {
                let path = obj.map_err(io_err("list", &sub))?.path();
                if remove_if_temp(&path, &mut report)? {
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
                    report.freed_bytes += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    fs::remove_file(&path).map_err(io_err("remove", &path))?;
                    report.removed_objects += 1;
                }
            }
        }
        report.kept = kept.len();
        Ok(report)
    }
}
