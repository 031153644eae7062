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

use crate::projections::Projections;
use ledger_core::storage::Storage;
use ledger_core::{ChainHash, LedgerId, Seq};
use ledger_core::{Cursor, Reader};

const MAGIC: [u8; 8] = *b"\x89LGRSNP\n";
const FORMAT: u16 = 1;
/// Bumped whenever the projections' layout changes; older snapshots are
/// then ignored and rebuilt.
pub const PROJECTION_SCHEMA: u16 = 1;
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

/// Encodes a snapshot of `p` (which must have folded at least one record).
pub fn encode(ledger: &LedgerId, p: &Projections) -> Result<(Seq, Vec<u8>), String> {
    let (seq, hash, _) = p.last.ok_or("nothing folded yet")?;
    let payload = postcard::to_allocvec(p).map_err(|e| e.to_string())?;
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

/// Decodes a snapshot, checking everything but the binding to the ledger.
pub fn decode(ledger: &LedgerId, b: &[u8]) -> Result<(Seq, ChainHash, Projections), String> {
    if b.len() < HEAD + 32 {
        return Err(format!("{} bytes is too short for a snapshot", b.len()));
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err("checksum mismatch (damaged or truncated)".into());
    }
    if le::array::<8>(b, 0) != Some(MAGIC) {
        return Err("bad magic bytes".into());
    }
    if le::u16_at(b, 8) != Some(FORMAT) {
        return Err(format!(
            "snapshot format {:?} is not supported",
            le::u16_at(b, 8)
        ));
    }
    if le::u16_at(b, 10) != Some(PROJECTION_SCHEMA) {
        return Err(format!(
            "projection schema {:?} is not this build's ({PROJECTION_SCHEMA})",
            le::u16_at(b, 10)
        ));
    }
    if le::array::<16>(b, 16) != Some(*ledger.as_bytes()) {
        return Err("the snapshot is of another ledger".into());
    }
    let seq = Seq::new(le::u64_at(b, 32).unwrap_or_default());
    let hash = ChainHash::from_bytes(le::array(b, 40).unwrap_or_default());
    let len = le::u64_at(b, 72).unwrap_or_default() as usize;
    if HEAD.checked_add(len) != Some(body.len()) {
        return Err("payload length does not match the file".into());
    }
    let p: Projections =
        postcard::from_bytes(&body[HEAD..]).map_err(|e| format!("payload does not decode: {e}"))?;
    if p.last.map(|l| (l.0, l.1)) != Some((seq, hash)) {
        return Err("payload and header disagree on the sequence".into());
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
    /// Snapshots passed over, with why.
    pub rejected: Vec<(String, String)>,
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
) -> Result<(Projections, Cursor), String> {
    let bytes = storage.read_file(name).map_err(|e| e.to_string())?;
    let (seq, hash, p) = decode(&reader.ledger_id(), &bytes)?;
    let mut cursor = reader.cursor_from(seq).map_err(|e| e.to_string())?;
    match cursor.next_ref().map_err(|e| e.to_string())? {
        Some(r) if r.seq == seq && r.chain_hash == hash => Ok((p, cursor)),
        Some(r) if r.seq == seq => Err(format!(
            "bound to chain hash {hash} at record {seq}, but the ledger has {}",
            r.chain_hash
        )),
        _ => Err(format!("the ledger has no record {seq}")),
    }
}

/// Writes a snapshot of `p` atomically; returns its file name.
pub fn save(storage: &dyn Storage, ledger: &LedgerId, p: &Projections) -> Result<String, String> {
    let (seq, bytes) = encode(ledger, p)?;
    let name = file_name(seq);
    storage
        .write_file_atomic(&name, &bytes)
        .map_err(|e| e.to_string())?;
    Ok(name)
}
