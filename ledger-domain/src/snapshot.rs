//! Projection snapshots: the views saved at sequence `N`, bound to the
//! chain hash at `N`, so that startup folds only what came after.
//!
//! A snapshot is `snapshot-<N, 20 digits>.proj` in the ledger folder:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "\x89LGRSNP\n"
//! 8       2     snapshot format version: u16 LE (1)
//! 10      2     projection schema version: u16 LE
//! 12      4     zero
//! 16      16    ledger id
//! 32      8     sequence N: u64 LE
//! 40      32    chain hash of record N
//! 72      8     payload length: u64 LE
//! 80      n     payload: postcard of the projections
//! 80+n    32    blake3 of bytes [0, 80+n)
//! ```
//!
//! A snapshot is used only when its checksum holds, its ledger id and
//! schema version are this ledger's and this build's, and the ledger's
//! record `N` has that chain hash. Anything else is reported and ignored, and
//! the views are rebuilt from scratch. Snapshots are derived data: deleting
//! them loses nothing.

use std::path::PathBuf;

use crate::projections::Projections;
use ledger_core::storage::Storage;
use ledger_core::{ChainHash, LedgerId, Seq};
use ledger_core::{Cursor, Reader};

const MAGIC: [u8; 8] = *b"\x89LGRSNP\n";
const FORMAT: u16 = 1;
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
    /// The blake3 trailer does not match the bytes.
    #[error("checksum mismatch (damaged or truncated)")]
    Checksum,
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

/// Encodes a snapshot of `p` (which must have folded at least one record);
/// returns the sequence it is bound to and the file's bytes.
pub fn encode(ledger: &LedgerId, p: &Projections) -> Result<(Seq, Vec<u8>), SnapshotError> {
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
    let sum = blake3::hash(&b);
    b.extend_from_slice(sum.as_bytes());
    Ok((seq, b))
}

/// Decodes a snapshot, checking everything but the binding to the ledger's
/// chain.
pub fn decode(
    ledger: &LedgerId,
    b: &[u8],
) -> Result<(Seq, ChainHash, Projections), SnapshotDefect> {
    if b.len() < HEAD + 32 {
        return Err(SnapshotDefect::TooShort { len: b.len() });
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(SnapshotDefect::Checksum);
    }
    if le::array::<8>(b, 0) != Some(MAGIC) {
        return Err(SnapshotDefect::Magic);
    }
    let format = le::u16_at(b, 8).unwrap_or_default();
    if format != FORMAT {
        return Err(SnapshotDefect::Format { found: format });
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

/// Loads the newest snapshot that is valid and bound to this ledger's chain.
pub fn load_latest(reader: &Reader) -> ledger_core::Result<Loaded> {
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
        match load_one(storage.as_ref(), reader, &name) {
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
    let (seq, hash, p) = decode(&reader.ledger_id(), &bytes).map_err(invalid)?;
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

/// Writes a snapshot of `p` atomically; returns its file name.
pub fn save(
    storage: &dyn Storage,
    ledger: &LedgerId,
    p: &Projections,
) -> Result<String, SnapshotError> {
    let (seq, bytes) = encode(ledger, p)?;
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
        assert!(matches!(
            encode(&id, &Projections::default()),
            Err(SnapshotError::NothingFolded)
        ));
        let p = folded(3);
        let (seq, bytes) = encode(&id, &p).unwrap();
        assert_eq!(seq, Seq::new(3));
        assert!(matches!(decode(&id, &bytes), Ok((s, _, q)) if s == seq && q == p));
        assert_eq!(
            decode(&id, &bytes[..40]).err(),
            Some(SnapshotDefect::TooShort { len: 40 })
        );
        let mut flipped = bytes.clone();
        flipped[50] ^= 1;
        assert_eq!(decode(&id, &flipped).err(), Some(SnapshotDefect::Checksum));
        let other = LedgerId::from_bytes([8; 16]);
        assert_eq!(
            decode(&other, &bytes).err(),
            Some(SnapshotDefect::OtherLedger { found: id })
        );
    }

    #[test]
    fn a_failed_write_names_the_file() {
        use ledger_core::storage::{IoFault, MemStorage};
        let st = MemStorage::new();
        st.create_root().unwrap();
        st.fail_file(&format!("{}.tmp", file_name(Seq::new(9))), IoFault::NoSpace);
        let p = folded(9);
        let err = save(&st, &LedgerId::from_bytes([7; 16]), &p);
        assert!(
            matches!(&err, Err(SnapshotError::Io { op: "write", path, .. }) if path.ends_with(file_name(Seq::new(9)))),
            "{err:?}"
        );
    }
}
