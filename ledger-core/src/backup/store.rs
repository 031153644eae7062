//! [`BackupStore`]: the store's folders and objects, and `create` and
//! `list`; verifying, restoring and pruning are in their own modules.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::files::{is_real_dir, open_regular, read_regular, EntryKind, MAX_MANIFEST};
use super::history::PrunedBackup;
use super::manifest::{
    is_plain_id, FieldDefect, Manifest, ManifestHead, ManifestLink, ManifestSegment, SegmentState,
    MANIFEST_FORMAT,
};
use super::object::{decode_object, encode_object, is_address, ObjectError};
use crate::layout::read_layout;
use crate::meta::{LedgerMeta, MetaDefect, META_FILE};
use crate::reader::LiveSlots;
use crate::segment::header::{encode_watermark, SegmentHeader, HEADER_LEN, WATERMARK_AT};
use crate::segment::walk::{Mode, Step, Walker};
use crate::segment::ChainState;
use crate::storage::{FsStorage, Storage};
use crate::types::{ContentHash, LedgerId, Timestamp};

/// The sealed image of a full segment not yet sealed: its bytes up to the
/// end of its footer with the watermark at the footer (exactly what the
/// sealer will leave), its content address, and its last record. Reads
/// nothing past the footer (the sealer trims there); the image is then
/// checked like a sealed segment.
fn capture_full(
    st: &dyn Storage,
    name: &str,
    ledger: &LedgerId,
) -> Result<(Vec<u8>, ContentHash, ManifestHead)> {
    let map = st
        .map_segment(name)
        .map_err(io_err("map", st.path_of(name)))?;
    let fixed = map
        .raw(crate::storage::TOKEN, 0, WATERMARK_AT)
        .unwrap_or_default();
    let corrupt = |offset: u64, detail: String| crate::Error::Corrupt {
        segment: name.to_owned(),
        offset,
        seq: None,
        defect: crate::error::Defect::finding(crate::finding::FindingKind::Footer, detail),
    };
    let header = SegmentHeader::decode_fixed(fixed).map_err(|d| crate::Error::Corrupt {
        segment: name.to_owned(),
        offset: 0,
        seq: None,
        defect: d.into(),
    })?;
    let start = ChainState {
        next_seq: header.first_seq,
        prev_hash: header.prev_hash,
        last_ts: Timestamp::from_nanos(i64::MIN),
    };
    let mut walker = Walker::new(name, Mode::Live, start, map.len());
    let footer_at = loop {
        match walker.step(&LiveSlots(map.as_ref())) {
            Step::Record { problem: None, .. } => {}
            Step::Stop(crate::segment::walk::Stop::Sealed { offset }) => break offset as usize,
            other => {
                return Err(corrupt(
                    walker.position() as u64,
                    format!(
                        "a full segment awaiting its seal does not end in a footer ({other:?})"
                    ),
                )
                .into())
            }
        }
    };
    let end = footer_at + crate::segment::footer::FOOTER_LEN;
    let mut bytes = map
        .raw(crate::storage::TOKEN, 0, end)
        .ok_or_else(|| {
            corrupt(
                map.len() as u64,
                format!("the file ends before its footer's end {end}"),
            )
        })?
        .to_vec();
    bytes[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(footer_at as u64));
    let address = ContentHash::of(&bytes);
    let file = crate::layout::SealedFile {
        ordinal: header.ordinal,
        address,
        name: crate::segment::names::SegmentName::Sealed(header.ordinal, address).to_string(),
    };
    let footer = crate::sealed::SealedSegment::check_bytes(&file, &bytes, ledger)?;
    Ok((
        bytes,
        address,
        ManifestHead {
            seq: footer.last_seq.get(),
            chain_hash: footer.last_hash.to_hex(),
        },
    ))
}

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
    /// A folder of the store is a symbolic link (or not a folder): the store
    /// never follows links.
    #[error("{path} {reason}; a backup store's folders are never followed through links")]
    UnsafeStore {
        /// The folder.
        path: PathBuf,
        /// What it is.
        reason: &'static str,
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
    /// A manifest field that names a file or an object, or is compared
    /// with the ledger, is not what it must be; nothing is built from it.
    #[error("manifest {path}: {defect}; refusing it")]
    UnsafeField {
        /// The manifest file.
        path: PathBuf,
        /// The field, its value and what is wrong (also in the message).
        #[source]
        defect: FieldDefect,
    },
    /// The manifest does not describe the ledger it claims: its `ledger_id`
    /// is not the id in its copy of the identity file, or not the id of the
    /// ledger restored from it.
    #[error("manifest {path}: {reason}")]
    WrongLedger {
        /// The manifest file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The manifest's segments do not form one continuous chain from the
    /// genesis to its head (a segment missing, out of order, or foreign).
    #[error("manifest {path}: {reason}")]
    BrokenChain {
        /// The manifest file.
        path: PathBuf,
        /// Which segment breaks the chain, and how.
        reason: String,
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

pub(super) type Result<T, E = BackupError> = std::result::Result<T, E>;

pub(super) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> BackupError {
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
    /// Segments whose object was already in the store (and re-hashed intact).
    pub reused: usize,
    /// Segments copied.
    pub copied: usize,
    /// Of those copied, objects that were in the store but damaged (or not
    /// regular files), and were written anew.
    pub replaced: usize,
}

/// One line of `backup list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The manifest.
    pub manifest: Manifest,
    /// Total uncompressed size of its segments.
    pub size: u64,
}

/// A backup store folder.
#[derive(Debug, Clone)]
pub struct BackupStore {
    pub(super) root: PathBuf,
    /// Objects held by another copy of this store (an object store the
    /// folder mirrors): `create_backup` counts them as there and does not
    /// write them ([`BackupStore::with_objects_elsewhere`]).
    elsewhere: Arc<std::collections::BTreeSet<String>>,
}

/// Writes `path` whole or not at all: a temporary file beside it (created
/// anew: a link planted under its name is removed, never written through),
/// synced, renamed into place (replacing a link there, not its target).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    // A leftover of a killed process with this id (or a planted link).
    let _ = fs::remove_file(&tmp);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
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
        crate::storage::regular::sync_dir(dir).map_err(io_err("sync", dir))?;
    }
    Ok(())
}

/// Whether a file name is one of [`write_atomic`]'s temporary files.
pub(super) fn is_temp(path: &Path) -> bool {
    path.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| x.starts_with("tmp-"))
}

/// What is in the `manifests` folder.
#[derive(Debug, Default)]
pub(super) struct ManifestsDir {
    /// Each manifest, oldest first: its id (from the file name) and the
    /// manifest with its hash, or why it cannot be used.
    pub manifests: Vec<(String, Result<(Manifest, String)>)>,
    /// Each record of a pruned backup, oldest first.
    pub pruned: Vec<(String, Result<PrunedBackup>)>,
    /// Entries that are not what a store holds there (symbolic links,
    /// folders, FIFOs), described; never followed or read.
    pub unexpected: Vec<String>,
}

/// The entries of the `objects` folder, listed without following links.
#[derive(Debug, Default)]
pub(super) struct ObjectEntries {
    /// The regular files inside its real subfolders (objects, and
    /// temporary files of killed backups).
    pub files: Vec<fs::DirEntry>,
    /// Every other entry, in listing order: a subfolder that is not a real
    /// folder (a link above all), or an entry of one that is not a regular
    /// file. Never followed.
    pub odd: Vec<fs::DirEntry>,
}

/// What storing a backup's objects did so far.
#[derive(Debug, Default)]
struct Tally {
    reused: usize,
    copied: usize,
    replaced: usize,
    /// Uncompressed bytes copied.
    added: u64,
    /// Those bytes as stored.
    added_stored: u64,
}

/// What is found at an object's path.
#[derive(Debug)]
enum Existing {
    /// Nothing.
    Absent,
    /// An object that decompresses to the bytes its address names.
    Intact,
    /// Something else: damaged, or not a regular file. It is replaced.
    Damaged,
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

    /// Opens an existing store. Its `objects` and `manifests` folders must
    /// be real folders, not symbolic links.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for sub in ["objects", "manifests"] {
            let path = root.join(sub);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(BackupError::UnsafeStore {
                        path,
                        reason: "is a symbolic link",
                    })
                }
                _ => return Err(BackupError::NotAStore { path: root }),
            }
        }
        Ok(BackupStore {
            root,
            elsewhere: Arc::default(),
        })
    }

    /// Whether `dir` looks like a backup store: it holds `objects` and
    /// `manifests` folders (links to folders count: a folder that merely
    /// points at a store's parts is treated as one).
    pub fn is_store(dir: &Path) -> bool {
        dir.join("objects").is_dir() && dir.join("manifests").is_dir()
    }

    /// This store is a staging copy of a store kept elsewhere (an object
    /// store) which holds the objects `held` (their addresses): making a
    /// backup counts those as already stored, without writing or
    /// re-hashing them here; only the objects the other copy lacks are
    /// written (and then uploaded by the caller). Verifying the other copy
    /// is its own job (`backup verify`, `backup restore`).
    pub fn with_objects_elsewhere(mut self, held: std::collections::BTreeSet<String>) -> Self {
        self.elsewhere = Arc::new(held);
        self
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The object file of `hash`, which must be an address ([`is_address`]).
    pub(super) fn object_path(&self, hash: &str) -> PathBuf {
        let sub = hash.get(..2).unwrap_or("__");
        self.root
            .join("objects")
            .join(sub)
            .join(format!("{hash}.zst"))
    }

    /// The manifest file of `id`, which must be a plain name ([`is_plain_id`]).
    pub(super) fn manifest_path(&self, id: &str) -> PathBuf {
        self.root.join("manifests").join(format!("{id}.manifest"))
    }

    /// The record that backup `id` was pruned.
    pub(super) fn pruned_path(&self, id: &str) -> PathBuf {
        self.root.join("manifests").join(format!("{id}.pruned"))
    }

    /// Lists the `objects` folder and its subfolders; see [`ObjectEntries`].
    pub(super) fn object_entries(&self) -> Result<ObjectEntries> {
        let objects = self.root.join("objects");
        let mut out = ObjectEntries::default();
        for sub in fs::read_dir(&objects).map_err(io_err("list", &objects))? {
            let sub = sub.map_err(io_err("list", &objects))?;
            if EntryKind::of(&sub).map_err(io_err("stat", sub.path()))? != EntryKind::Dir {
                out.odd.push(sub);
                continue;
            }
            let path = sub.path();
            for obj in fs::read_dir(&path).map_err(io_err("list", &path))? {
                let obj = obj.map_err(io_err("list", &path))?;
                if EntryKind::of(&obj).map_err(io_err("stat", obj.path()))? == EntryKind::File {
                    out.files.push(obj);
                } else {
                    out.odd.push(obj);
                }
            }
        }
        Ok(out)
    }

    /// What is at object `hash`'s path, re-hashing an object that is there
    /// (it must decompress to `size` bytes hashing to `hash`).
    fn existing_object(&self, hash: &str, size: u64) -> Result<Existing> {
        if self.elsewhere.contains(hash) {
            return Ok(Existing::Intact);
        }
        let path = self.object_path(hash);
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Absent),
            Err(e) => return Err(io_err("stat", &path)(e)),
            Ok(_) => {}
        }
        Ok(match self.get_object(hash, size, "") {
            Ok(_) => Existing::Intact,
            Err(_) => Existing::Damaged,
        })
    }

    /// Stores the object `hash` (of `size` bytes) unless an intact copy is
    /// already there: an object in the store is reused only once it has
    /// been re-hashed, a damaged one is written anew from `bytes()`.
    fn put_object(
        &self,
        hash: &str,
        size: u64,
        bytes: impl FnOnce() -> Result<Vec<u8>>,
        tally: &mut Tally,
    ) -> Result<()> {
        let existing = self.existing_object(hash, size)?;
        if let Existing::Intact = existing {
            tally.reused += 1;
            return Ok(());
        }
        let bytes = bytes()?;
        tally.added_stored += self.write_object(hash, &bytes)?;
        tally.added += bytes.len() as u64;
        tally.copied += 1;
        if let Existing::Damaged = existing {
            tally.replaced += 1;
        }
        Ok(())
    }

    /// Stores `bytes` as the object `hash`, replacing whatever is at its
    /// path (a damaged object, a link); returns the stored (compressed) size.
    fn write_object(&self, hash: &str, bytes: &[u8]) -> Result<u64> {
        let path = self.object_path(hash);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
            if !is_real_dir(dir) {
                return Err(BackupError::UnsafeStore {
                    path: dir.to_owned(),
                    reason: "is not a folder (a symbolic link?)",
                });
            }
        }
        let compressed = encode_object(bytes).map_err(io_err("compress", &path))?;
        write_atomic(&path, &compressed)?;
        Ok(compressed.len() as u64)
    }

    /// Reads and decompresses object `hash`, checking that it decompresses
    /// to exactly `size` bytes (never more: a decompression bomb stops there)
    /// whose blake3 is `hash`. Neither the object nor its folder is read
    /// through a symbolic link.
    pub(super) fn get_object(&self, hash: &str, size: u64, segment: &str) -> Result<Vec<u8>> {
        let bad = |error: ObjectError| BackupError::Object {
            object: hash.to_owned(),
            segment: segment.to_owned(),
            error,
        };
        if !is_address(hash) {
            return Err(bad(ObjectError::BadAddress));
        }
        let path = self.object_path(hash);
        let dir_ok = path.parent().is_some_and(is_real_dir);
        let file = if dir_ok {
            open_regular(&path)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "its folder is missing or not a real folder (a symbolic link?)",
            ))
        };
        let file = file.map_err(|source| bad(ObjectError::Open { path, source }))?;
        decode_object(file, hash, size).map_err(bad)
    }

    /// Reads the manifest at `path`: its hash, its format, its fields
    /// ([`Manifest::check_fields`]), and that its id is its file name.
    pub(super) fn read_manifest(&self, path: &Path) -> Result<(Manifest, String)> {
        let bytes = read_regular(path, MAX_MANIFEST).map_err(io_err("read", path))?;
        let (m, hash) = Manifest::from_file(&bytes).map_err(|reason| BackupError::Manifest {
            path: path.to_owned(),
            reason,
        })?;
        m.check_fields()
            .map_err(|defect| BackupError::UnsafeField {
                path: path.to_owned(),
                defect,
            })?;
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".manifest"));
        if stem != Some(m.id.as_str()) {
            return Err(BackupError::UnsafeField {
                path: path.to_owned(),
                defect: FieldDefect {
                    field: "id".into(),
                    value: m.id,
                    reason: "is not the manifest's file name (a manifest copied or renamed)",
                },
            });
        }
        Ok((m, hash))
    }

    /// Lists the `manifests` folder, reading every manifest and record of a
    /// pruned backup; links and other odd entries are listed, not followed.
    pub(super) fn manifests_dir(&self) -> Result<ManifestsDir> {
        let dir = self.root.join("manifests");
        let mut out = ManifestsDir::default();
        let mut entries = Vec::new();
        for e in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let e = e.map_err(io_err("list", &dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let kind = EntryKind::of(&e).map_err(io_err("stat", e.path()))?;
            let ours = name.ends_with(".manifest") || name.ends_with(".pruned");
            if kind != EntryKind::File && (ours || kind == EntryKind::Other) {
                out.unexpected.push(format!(
                    "{}: {}, not a regular file; not followed",
                    e.path().display(),
                    EntryKind::describe(&e)
                ));
            } else if ours {
                entries.push((name, e.path()));
            }
        }
        entries.sort();
        for (name, path) in entries {
            if let Some(id) = name.strip_suffix(".manifest") {
                out.manifests
                    .push((id.to_owned(), self.read_manifest(&path)));
            } else if let Some(id) = name.strip_suffix(".pruned") {
                let read = read_regular(&path, MAX_MANIFEST)
                    .map_err(io_err("read", &path))
                    .and_then(|bytes| {
                        PrunedBackup::from_file(&bytes).map_err(|reason| BackupError::Manifest {
                            path: path.clone(),
                            reason,
                        })
                    })
                    .and_then(|p| {
                        if p.id == id {
                            Ok(p)
                        } else {
                            Err(BackupError::Manifest {
                                path: path.clone(),
                                reason: format!("names backup {:?}, not its file name", p.id),
                            })
                        }
                    });
                out.pruned.push((id.to_owned(), read));
            }
        }
        Ok(out)
    }

    /// The link a new backup makes: to the newest backup, kept or pruned.
    fn newest_link(&self) -> Result<Option<ManifestLink>> {
        let dir = self.manifests_dir()?;
        let kept = dir
            .manifests
            .into_iter()
            .filter_map(|(_, m)| m.ok())
            .map(|(m, hash)| ManifestLink { id: m.id, hash });
        let pruned = dir
            .pruned
            .into_iter()
            .filter_map(|(_, p)| p.ok())
            .map(|p| ManifestLink {
                id: p.id,
                hash: p.hash,
            });
        Ok(kept.chain(pruned).max_by(|a, b| a.id.cmp(&b.id)))
    }

    /// The manifest `id` (the newest without one; an error if that one is
    /// damaged), checked as
    /// [`BackupStore::read_manifest`] does; returns it, its hash and its path.
    pub(super) fn find(&self, id: Option<&str>) -> Result<(Manifest, String, PathBuf)> {
        let none = || BackupError::NoSuchBackup {
            id: id.unwrap_or_default().to_owned(),
            store: self.root.clone(),
        };
        match id {
            None => {
                // The newest manifest, damaged or not: a damaged one is an
                // error, never a reason to restore an older backup silently.
                let (_, newest) = self.manifests_dir()?.manifests.pop().ok_or_else(none)?;
                let (m, hash) = newest?;
                let path = self.manifest_path(&m.id);
                Ok((m, hash, path))
            }
            Some(id) => {
                if !is_plain_id(id) {
                    return Err(none());
                }
                let path = self.manifest_path(id);
                if fs::symlink_metadata(&path).is_err() {
                    return Err(none());
                }
                let (m, hash) = self.read_manifest(&path)?;
                Ok((m, hash, path))
            }
        }
    }

    /// The ledger a manifest claims, checked against its own copy of the
    /// identity file: returns that file's bytes and the ledger id, or why
    /// they disagree.
    pub(super) fn identity(&self, m: &Manifest, path: &Path) -> Result<(Vec<u8>, LedgerId)> {
        let meta_bytes = hex::decode(&m.ledger_meta).map_err(|e| BackupError::Manifest {
            path: path.to_owned(),
            reason: format!("ledger_meta is not hex: {e}"),
        })?;
        let meta = LedgerMeta::decode(&meta_bytes).map_err(|defect| BackupError::ManifestMeta {
            path: path.to_owned(),
            defect,
        })?;
        if meta.id.to_hex() != m.ledger_id {
            return Err(BackupError::WrongLedger {
                path: path.to_owned(),
                reason: format!(
                    "ledger_id says ledger {}, but its copy of the identity file (ledger_meta) is ledger {}",
                    m.ledger_id, meta.id
                ),
            });
        }
        if meta.version as u16 != m.ledger_format {
            return Err(BackupError::WrongLedger {
                path: path.to_owned(),
                reason: format!(
                    "ledger_format says {}, but its copy of the identity file says {}",
                    m.ledger_format, meta.version as u16
                ),
            });
        }
        Ok((meta_bytes, meta.id))
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
    pub(super) fn lock(&self) -> Result<File> {
        let path = self.root.join("LOCK");
        let mut opts = OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Never through a link planted in the store, and never waiting
            // (a FIFO opened for writing waits for a reader).
            opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let not_regular = |what: &str| {
            io_err("open", &path)(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what} where the store's lock file must be; it is not opened"),
            ))
        };
        // Looked at first: a FIFO without a reader fails the open with a
        // less telling error.
        if let Ok(m) = fs::symlink_metadata(&path) {
            if !m.is_file() {
                return Err(not_regular(crate::storage::regular::describe(
                    m.file_type(),
                )));
            }
        }
        let f = opts.open(&path).map_err(io_err("open", &path))?;
        if !f.metadata().map_err(io_err("stat", &path))?.is_file() {
            return Err(not_regular("not a regular file"));
        }
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
        let mut tally = Tally::default();
        let mut head = None;
        for f in &layout.sealed {
            let hash = f.address.to_hex();
            let size = st
                .file_len(&f.name)
                .map_err(io_err("stat", st.path_of(&f.name)))?;
            let read = || {
                // Through the storage: only a regular file, never larger
                // than a segment may be (a FIFO swapped in under the name
                // after the size was taken is refused, not waited on).
                let bytes = st
                    .read_file(&f.name)
                    .map_err(io_err("read", st.path_of(&f.name)))?;
                if ContentHash::of(&bytes) != f.address {
                    return Err(BackupError::DamagedSegment {
                        segment: f.name.clone(),
                    });
                }
                Ok(bytes)
            };
            self.put_object(&hash, size, read, &mut tally)?;
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
        // Full segments the writer's sealer has not sealed yet: their sealed
        // bytes are already fixed (the header with the watermark at the
        // footer, the records, the footer), so they are stored as the
        // sealed segments they are about to become, under the same name.
        for (ordinal, name) in &layout.full {
            let (bytes, address, last) = capture_full(st, name, &layout.meta.id)?;
            let sealed_name =
                crate::segment::names::SegmentName::Sealed(*ordinal, address).to_string();
            let size = bytes.len() as u64;
            self.put_object(&address.to_hex(), size, || Ok(bytes), &mut tally)?;
            head = Some(last);
            segments.push(ManifestSegment {
                ordinal: ordinal.get(),
                name: sealed_name,
                state: SegmentState::Sealed,
                object: address.to_hex(),
                size,
                capacity: None,
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
            let size = bytes.len() as u64;
            self.put_object(&hash, size, || Ok(bytes), &mut tally)?;
            segments.push(ManifestSegment {
                ordinal: ordinal.get(),
                name: name.clone(),
                state: SegmentState::Active,
                object: hash,
                size,
                capacity: Some(header.capacity.max(map.len() as u64)),
            });
        }
        let previous = self.newest_link()?;
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
            added_bytes: tally.added,
            added_stored_bytes: tally.added_stored,
        };
        let path = self.manifest_path(&manifest.id);
        let (bytes, _) = manifest.to_file().map_err(|e| BackupError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &bytes)?;
        Ok(BackupReport {
            manifest,
            reused: tally.reused,
            copied: tally.copied,
            replaced: tally.replaced,
        })
    }

    /// Every backup, oldest first. A damaged manifest is an error naming it.
    pub fn list(&self) -> Result<Vec<BackupSummary>> {
        self.manifests_dir()?
            .manifests
            .into_iter()
            .map(|(_, m)| {
                m.map(|(manifest, _)| BackupSummary {
                    size: manifest.segments.iter().map(|s| s.size).sum(),
                    manifest,
                })
            })
            .collect()
    }
}
