//! Projection snapshots: the views saved at sequence `N`, bound to the
//! chain hash at `N` and authenticated with a secret key, so that a process
//! holding the key folds only what came after.
//!
//! A snapshot is `snapshot-<N, 20 digits>.proj` in the ledger folder:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "\x89LGRSNP\n"
//! 8       2     snapshot format version: u16 LE (2)
//! 10      2     projection schema version: u16 LE
//! 12      4     zero
//! 16      16    ledger id
//! 32      8     sequence N: u64 LE
//! 40      32    chain hash of record N
//! 72      8     payload length: u64 LE
//! 80      n     payload: postcard of the projections
//! 80+n    32    blake3::keyed_hash(snapshot key, bytes [0, 80+n))
//! ```
//!
//! A snapshot decides what validation accepts (which trades are open, at
//! what size) and what the views show, and everything in it but the key is
//! public: a plain checksum (format 1) let anyone with write access forge
//! one. So a snapshot is trusted only when it is authenticated by a
//! [`SnapshotKey`] that the process holds and an insider editing files does
//! not: one the process generated itself ([`SnapshotKey::generate`], an
//! accelerator for the process that wrote the snapshot), or one derived
//! from the checkpoint signing key ([`SnapshotKey::from_signing_key`]).
//! [`crate::TradingLedger::open`] never reads snapshots: it folds the log.
//! [`crate::TradingLedger::open_with_snapshots`] uses the newest snapshot
//! whose key, format, ledger id and schema version hold and whose record
//! `N` has that chain hash. Anything else is reported and ignored, and the
//! views are rebuilt from the log. Snapshots are derived data: deleting
//! them loses nothing.

use std::path::PathBuf;

use crate::projections::Projections;
use ledger_core::storage::Storage;
use ledger_core::{ChainHash, LedgerId, Seq};
use ledger_core::{Cursor, Reader};

const MAGIC: [u8; 8] = *b"\x89LGRSNP\n";
/// Format 2: the trailer is a keyed BLAKE3 MAC (format 1's plain checksum
/// could be recomputed by anyone, and is no longer read).
const FORMAT: u16 = 2;
/// Bumped whenever the projections' layout changes; older snapshots are
/// then ignored and rebuilt.
pub const PROJECTION_SCHEMA: u16 = 2;
const HEAD: usize = 80;

/// Bounds-checked little-endian fields of a snapshot file (untrusted bytes).
mod le {
    pub(super) fn array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
        buf.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    pub(super) fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
        array(buf, at).map(u16::from_le_bytes)
    }

    pub(super) fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
        array(buf, at).map(u64::from_le_bytes)
    }
}

/// The file name of the snapshot at `seq`.
pub fn file_name(seq: Seq) -> String {
    format!("snapshot-{:020}.proj", seq.get())
}

fn parse_name(name: &str) -> Option<Seq> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".proj")?;
    digits.parse().ok().map(Seq::new)
}

/// The `blake3::derive_key` context of a snapshot key derived from a
/// checkpoint signing key.
pub const KEY_CONTEXT: &str = "tradeledger 2026-11 projection snapshot key v1";

/// The secret key that authenticates projection snapshots (a keyed BLAKE3
/// MAC over the whole file). Whoever holds it can write snapshots that a
/// ledger opened with it will trust; keep it where the checkpoint signing
/// key is kept, or only in the memory of the process that writes the
/// snapshots. Its `Debug` form does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SnapshotKey([u8; 32]);

impl SnapshotKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SnapshotKey(bytes)
    }

    /// A fresh key from the operating system's random source: snapshots
    /// written with it are usable only by a process given the same key
    /// (typically the one that generated it).
    pub fn generate() -> std::io::Result<Self> {
        let seed = ledger_core::generate_key()?.to_bytes();
        Ok(SnapshotKey(blake3::derive_key(KEY_CONTEXT, &seed)))
    }

    /// The key derived from a checkpoint signing key
    /// (`blake3::derive_key(KEY_CONTEXT, seed)`): every process that holds
    /// the signing key can use the snapshots of every other.
    pub fn from_signing_key(key: &ledger_core::SigningKey) -> Self {
        SnapshotKey(blake3::derive_key(KEY_CONTEXT, &key.to_bytes()))
    }

    fn mac(&self, body: &[u8]) -> blake3::Hash {
        blake3::keyed_hash(&self.0, body)
    }
}

impl std::fmt::Debug for SnapshotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotKey(<secret>)")
    }
}

/// What is wrong with a snapshot's bytes, or with its binding to the
/// ledger's chain: why it is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotDefect {
    /// Shorter than a header and a checksum.
    #[error("{len} bytes is too short for a snapshot")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The MAC trailer does not match the bytes under this key: forged,
    /// damaged, or written with another key.
    #[error(
        "not authenticated by this snapshot key (forged, damaged, or written with another key)"
    )]
    Unauthenticated,
    /// Not a snapshot file.
    #[error("bad magic bytes")]
    Magic,
    /// A snapshot format this build does not read.
    #[error("snapshot format {found} is not supported (this build reads {FORMAT})")]
    Format {
        /// The format version found.
        found: u16,
    },
    /// Projections of another layout than this build's.
    #[error("projection schema {found} is not this build's ({PROJECTION_SCHEMA})")]
    Schema {
        /// The projection schema version found.
        found: u16,
    },
    /// Taken of another ledger.
    #[error("the snapshot is of another ledger ({found})")]
    OtherLedger {
        /// The ledger id it names.
        found: LedgerId,
    },
    /// The payload length field disagrees with the file's length.
    #[error("payload length does not match the file")]
    Length,
    /// The payload is not the projections.
    #[error("payload does not decode: {0}")]
    Payload(#[source] postcard::Error),
    /// The header and the payload name different records.
    #[error("payload and header disagree on the sequence")]
    Disagree,
    /// The ledger's record at the snapshot's sequence has another chain
    /// hash: the snapshot is of another history.
    #[error("bound to chain hash {snapshot} at record {seq}, but the ledger has {ledger}")]
    OtherChain {
        /// The record.
        seq: Seq,
        /// The chain hash the snapshot is bound to.
        snapshot: ChainHash,
        /// The ledger's chain hash at that record.
        ledger: ChainHash,
    },
    /// The ledger does not hold the snapshot's record.
    #[error("the ledger has no record {seq}")]
    NoRecord {
        /// The record.
        seq: Seq,
    },
}

/// Why a projection snapshot could not be taken, written or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The ledger was opened without a snapshot key, so it cannot
    /// authenticate a snapshot.
    #[error("no snapshot key: snapshots are written only by a ledger opened with one (`TradingLedger::open_with_snapshots`)")]
    NoKey,
    /// No record folded yet: a snapshot would be bound to nothing.
    #[error("no snapshot can be taken before a record is folded")]
    NothingFolded,
    /// The projections at `seq` could not be encoded.
    #[error("snapshot at record {seq}: the projections do not encode: {source}")]
    Encode {
        /// The last record folded.
        seq: Seq,
        /// Why.
        #[source]
        source: postcard::Error,
    },
    /// The snapshot file could not be read or written.
    #[error("cannot {op} snapshot {path}: {source}")]
    Io {
        /// `"read"` or `"write"`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a snapshot this ledger can use.
    #[error("snapshot {path}: {defect}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The sequence its name gives.
        seq: Option<Seq>,
        /// What is wrong.
        #[source]
        defect: SnapshotDefect,
    },
    /// The ledger could not be read to check the snapshot's binding.
    #[error("snapshot {path}: {source}")]
    Ledger {
        /// The file.
        path: PathBuf,
        /// The engine's error.
        #[source]
        source: ledger_core::Error,
    },
}

/// Encodes a snapshot of `p` (which must have folded at least one record),
/// authenticated with `key`; returns the sequence it is bound to and the
/// file's bytes.
pub fn encode(
    ledger: &LedgerId,
    p: &Projections,
    key: &SnapshotKey,
) -> Result<(Seq, Vec<u8>), SnapshotError> {
    let (seq, hash, _) = p.last.ok_or(SnapshotError::NothingFolded)?;
    let payload =
        postcard::to_allocvec(p).map_err(|source| SnapshotError::Encode { seq, source })?;
    let mut b = Vec::with_capacity(HEAD + payload.len() + 32);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&FORMAT.to_le_bytes());
    b.extend_from_slice(&PROJECTION_SCHEMA.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(ledger.as_bytes());
    b.extend_from_slice(&seq.get().to_le_bytes());
    b.extend_from_slice(hash.as_bytes());
    b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    b.extend_from_slice(&payload);
    let mac = key.mac(&b);
    b.extend_from_slice(mac.as_bytes());
    Ok((seq, b))
}

/// Decodes a snapshot, checking everything but the binding to the ledger's
/// chain: its format, then its MAC under `key` (nothing else is read
/// before), then the rest.
pub fn decode(
    ledger: &LedgerId,
    key: &SnapshotKey,
    b: &[u8],
) -> Result<(Seq, ChainHash, Projections), SnapshotDefect> {
    if b.len() < HEAD + 32 {
        return Err(SnapshotDefect::TooShort { len: b.len() });
    }
    if le::array::<8>(b, 0) != Some(MAGIC) {
        return Err(SnapshotDefect::Magic);
    }
    let format = le::u16_at(b, 8).unwrap_or_default();
    if format != FORMAT {
        return Err(SnapshotDefect::Format { found: format });
    }
    let (body, mac) = b.split_at(b.len() - 32);
    let mac: [u8; 32] = mac.try_into().unwrap_or_default();
    // `blake3::Hash` compares in constant time.
    if key.mac(body) != mac {
        return Err(SnapshotDefect::Unauthenticated);
    }
    let schema = le::u16_at(b, 10).unwrap_or_default();
    if schema != PROJECTION_SCHEMA {
        return Err(SnapshotDefect::Schema { found: schema });
    }
    let found = LedgerId::from_bytes(le::array(b, 16).unwrap_or_default());
    if found != *ledger {
        return Err(SnapshotDefect::OtherLedger { found });
    }
    let seq = Seq::new(le::u64_at(b, 32).unwrap_or_default());
    let hash = ChainHash::from_bytes(le::array(b, 40).unwrap_or_default());
    let len = le::u64_at(b, 72).unwrap_or_default() as usize;
    if HEAD.checked_add(len) != Some(body.len()) {
        return Err(SnapshotDefect::Length);
    }
    let p: Projections = postcard::from_bytes(&body[HEAD..]).map_err(SnapshotDefect::Payload)?;
    if p.last.map(|l| (l.0, l.1)) != Some((seq, hash)) {
        return Err(SnapshotDefect::Disagree);
    }
    Ok((seq, hash, p))
}

/// The outcome of looking for a snapshot.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The newest valid snapshot's views.
    pub projections: Option<Projections>,
    /// With them, a cursor on the record after the snapshot's (where the
    /// fold continues: the check of the snapshot already walked there).
    pub cursor: Option<Cursor>,
    /// Snapshots passed over (file name, why), newest first.
    pub rejected: Vec<(String, SnapshotError)>,
}

/// Loads the newest snapshot that `key` authenticates and that is valid and
/// bound to this ledger's chain.
pub fn load_latest(reader: &Reader, key: &SnapshotKey) -> ledger_core::Result<Loaded> {
    let storage = reader.storage();
    let mut names: Vec<(Seq, String)> = storage
        .list()
        .map_err(|e| ledger_core::Error::Io {
            op: "list",
            path: storage.path_of(""),
            error: e,
        })?
        .into_iter()
        .filter_map(|n| parse_name(&n).map(|s| (s, n)))
        .collect();
    names.sort();
    let mut out = Loaded::default();
    for (_, name) in names.into_iter().rev() {
        match load_one(storage.as_ref(), reader, key, &name) {
            Ok((p, cursor)) => {
                out.projections = Some(p);
                out.cursor = Some(cursor);
                break;
            }
            Err(why) => out.rejected.push((name, why)),
        }
    }
    Ok(out)
}

fn load_one(
    storage: &dyn Storage,
    reader: &Reader,
    key: &SnapshotKey,
    name: &str,
) -> Result<(Projections, Cursor), SnapshotError> {
    let path = || storage.path_of(name);
    let invalid = |defect| SnapshotError::Invalid {
        path: path(),
        seq: parse_name(name),
        defect,
    };
    let ledger_err = |source: ledger_core::ReadError| SnapshotError::Ledger {
        path: path(),
        source: source.into(),
    };
    let bytes = storage
        .read_file(name)
        .map_err(|source| SnapshotError::Io {
            op: "read",
            path: path(),
            source,
        })?;
    let (seq, hash, p) = decode(&reader.ledger_id(), key, &bytes).map_err(invalid)?;
    let mut cursor = reader.cursor_from(seq).map_err(ledger_err)?;
    match cursor.next_ref().map_err(ledger_err)? {
        Some(r) if r.seq == seq && r.chain_hash == hash => Ok((p, cursor)),
        Some(r) if r.seq == seq => Err(invalid(SnapshotDefect::OtherChain {
            seq,
            snapshot: hash,
            ledger: r.chain_hash,
        })),
        _ => Err(invalid(SnapshotDefect::NoRecord { seq })),
    }
}

/// Writes a snapshot of `p`, authenticated with `key`, atomically; returns
/// its file name.
pub fn save(
    storage: &dyn Storage,
    ledger: &LedgerId,
    p: &Projections,
    key: &SnapshotKey,
) -> Result<String, SnapshotError> {
    let (seq, bytes) = encode(ledger, p, key)?;
    let name = file_name(seq);
    storage
        .write_file_atomic(&name, &bytes)
        .map_err(|source| SnapshotError::Io {
            op: "write",
            path: storage.path_of(&name),
            source,
        })?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Views that folded up to record `seq`.
    fn folded(seq: u64) -> Projections {
        Projections {
            last: Some((
                Seq::new(seq),
                ChainHash::from_bytes([1; 32]),
                ledger_core::Timestamp::from_nanos(5),
            )),
            ..Projections::default()
        }
    }

    #[test]
    fn defects_are_named() {
        let id = LedgerId::from_bytes([7; 16]);
        let key = SnapshotKey::from_bytes([3; 32]);
        assert!(matches!(
            encode(&id, &Projections::default(), &key),
            Err(SnapshotError::NothingFolded)
        ));
        let p = folded(3);
        let (seq, bytes) = encode(&id, &p, &key).unwrap();
        assert_eq!(seq, Seq::new(3));
        assert!(matches!(decode(&id, &key, &bytes), Ok((s, _, q)) if s == seq && q == p));
        assert_eq!(
            decode(&id, &key, &bytes[..40]).err(),
            Some(SnapshotDefect::TooShort { len: 40 })
        );
        let mut flipped = bytes.clone();
        flipped[50] ^= 1;
        assert_eq!(
            decode(&id, &key, &flipped).err(),
            Some(SnapshotDefect::Unauthenticated)
        );
        let other_key = SnapshotKey::from_bytes([4; 32]);
        assert_eq!(
            decode(&id, &other_key, &bytes).err(),
            Some(SnapshotDefect::Unauthenticated)
        );
        let other = LedgerId::from_bytes([8; 16]);
        assert_eq!(
            decode(&other, &key, &bytes).err(),
            Some(SnapshotDefect::OtherLedger { found: id })
        );
        let mut v1 = bytes;
        v1[8] = 1;
        assert_eq!(
            decode(&id, &key, &v1).err(),
            Some(SnapshotDefect::Format { found: 1 })
        );
        assert_eq!(format!("{key:?}"), "SnapshotKey(<secret>)");
    }

    #[test]
    fn a_failed_write_names_the_file() {
        use ledger_core::storage::{IoFault, MemStorage};
        let st = MemStorage::new();
        st.create_root().unwrap();
        st.fail_file(&format!("{}.tmp", file_name(Seq::new(9))), IoFault::NoSpace);
        let p = folded(9);
        let key = SnapshotKey::from_bytes([3; 32]);
        let err = save(&st, &LedgerId::from_bytes([7; 16]), &p, &key);
        assert!(
            matches!(&err, Err(SnapshotError::Io { op: "write", path, .. }) if path.ends_with(file_name(Seq::new(9)))),
            "{err:?}"
        );
    }
}
