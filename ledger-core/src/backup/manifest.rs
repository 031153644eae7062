//! The manifest of one backup.

use serde::{Deserialize, Serialize};

use super::object::is_address;
use crate::segment::names::SegmentName;

/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// Whether a segment was sealed or active when it was backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentState {
    /// Sealed: the object is the segment file, byte for byte.
    Sealed,
    /// Active: the object is its header page and committed records; the
    /// restored file is zero-filled to `capacity`.
    Active,
}

/// One segment of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSegment {
    /// Its ordinal.
    pub ordinal: u64,
    /// Its file name in the ledger folder.
    pub name: String,
    /// Sealed or active.
    pub state: SegmentState,
    /// The object: blake3 of the uncompressed bytes (for a sealed segment,
    /// its content address).
    pub object: String,
    /// Uncompressed size.
    pub size: u64,
    /// For an active segment: the size to zero-fill the file to.
    pub capacity: Option<u64>,
}

/// The head of the backed-up ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestHead {
    /// The last record's sequence.
    pub seq: u64,
    /// Its chain hash (hex).
    pub chain_hash: String,
}

/// A link to the previous manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLink {
    /// Its id.
    pub id: String,
    /// blake3 of its JSON (hex).
    pub hash: String,
}

/// A backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format.
    pub format: u32,
    /// The backup's id (sortable by time).
    pub id: String,
    /// When it was made, nanoseconds since the Unix epoch.
    pub created_ns: i64,
    /// The tool that made it.
    pub tool: String,
    /// The ledger's id (hex).
    pub ledger_id: String,
    /// The ledger's format version.
    pub ledger_format: u16,
    /// The `LEDGER` identity file (hex).
    pub ledger_meta: String,
    /// Segments in order.
    pub segments: Vec<ManifestSegment>,
    /// The head, if the ledger has records.
    pub head: Option<ManifestHead>,
    /// The previous backup in this store, if any.
    pub previous: Option<ManifestLink>,
    /// Bytes (uncompressed) this backup added to the store.
    pub added_bytes: u64,
    /// Bytes it added, as stored (compressed).
    pub added_stored_bytes: u64,
}

impl Manifest {
    /// The file form: the JSON, then `blake3:<hex>` of the JSON.
    pub fn to_file(&self) -> Result<(Vec<u8>, String), serde_json::Error> {
        Ok(hashed_file(serde_json::to_vec_pretty(self)?))
    }

    /// Parses the file form, checking its hash; returns the manifest and the
    /// hash. The fields are not judged here: [`Manifest::check_fields`]
    /// does that (the store calls both before it uses a manifest).
    pub fn from_file(bytes: &[u8]) -> Result<(Manifest, String), String> {
        let (body, actual) = split_hashed_file(bytes)?;
        let m: Manifest =
            serde_json::from_str(body).map_err(|e| format!("not a valid manifest: {e}"))?;
        if m.format != MANIFEST_FORMAT {
            return Err(format!(
                "manifest format {} is not supported (this build reads {MANIFEST_FORMAT})",
                m.format
            ));
        }
        Ok((m, actual))
    }
}

/// The hashed file form of `json`: the JSON, then a line `blake3:<hex>`
/// of the JSON; returns it with the hash.
pub(crate) fn hashed_file(mut json: Vec<u8>) -> (Vec<u8>, String) {
    let hash = blake3::hash(&json).to_hex().to_string();
    json.extend_from_slice(format!("\nblake3:{hash}\n").as_bytes());
    (json, hash)
}

/// Splits the hashed file form into the JSON and its hash, checking the hash.
pub(crate) fn split_hashed_file(bytes: &[u8]) -> Result<(&str, String), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let body_end = text
        .trim_end()
        .rfind("\nblake3:")
        .ok_or("no blake3 line at the end (truncated?)")?;
    let body = &text[..body_end];
    let stated = text[body_end + "\nblake3:".len()..].trim();
    let actual = blake3::hash(body.as_bytes()).to_hex().to_string();
    if stated != actual {
        return Err(format!(
            "hash mismatch: the file says {stated}, the JSON hashes to {actual} (damaged or edited)"
        ));
    }
    Ok((body, actual))
}

/// A manifest field that must not be used: its value could name a path
/// outside the store or the restore target, or is not what the field holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` is {value:?}: {reason}")]
pub struct FieldDefect {
    /// The field, e.g. `id` or `segments[2].name`.
    pub field: String,
    /// Its value (as found; shown escaped).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The longest backup id accepted.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` is a plain name usable as a backup id: 1 to [`MAX_ID_LEN`]
/// ASCII letters, digits, `-` and `_`, not starting with `-`. Such a name
/// holds no separator, no `.` (so neither `..` nor a hidden file) and no
/// control character, so a path built from it stays in its folder.
///
/// ```
/// use ledger_core::is_plain_id;
/// assert!(is_plain_id("00000001767225600000000000-a1b2c3"));
/// assert!(!is_plain_id("x/../../rp2/victim"));
/// assert!(!is_plain_id(".."));
/// assert!(!is_plain_id(""));
/// ```
pub fn is_plain_id(s: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_hex(s: &str, digits: usize) -> bool {
    s.len() == digits
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Manifest {
    /// Checks every field that names a file or an object, or that is
    /// compared with the ledger: the id and the previous backup's id are
    /// plain names ([`is_plain_id`]); each segment's name is the canonical
    /// name of a segment file with the ordinal and state the entry states;
    /// object addresses and hashes are lowercase hex of the right length.
    /// The first field at fault is returned.
    pub fn check_fields(&self) -> Result<(), FieldDefect> {
        let bad = |field: String, value: &str, reason: &'static str| FieldDefect {
            field,
            value: value.to_owned(),
            reason,
        };
        const PLAIN: &str = "not a plain name (1 to 64 ASCII letters, digits, `-` or `_`): a path built from it could leave its folder";
        if !is_plain_id(&self.id) {
            return Err(bad("id".into(), &self.id, PLAIN));
        }
        if !is_hex(&self.ledger_id, 32) {
            return Err(bad(
                "ledger_id".into(),
                &self.ledger_id,
                "not 32 lowercase hex digits",
            ));
        }
        if let Some(link) = &self.previous {
            if !is_plain_id(&link.id) {
                return Err(bad("previous.id".into(), &link.id, PLAIN));
            }
            if !is_hex(&link.hash, 64) {
                return Err(bad(
                    "previous.hash".into(),
                    &link.hash,
                    "not 64 lowercase hex digits",
                ));
            }
        }
        if let Some(head) = &self.head {
            if !is_hex(&head.chain_hash, 64) {
                return Err(bad(
                    "head.chain_hash".into(),
                    &head.chain_hash,
                    "not 64 lowercase hex digits",
                ));
            }
        }
        for (i, s) in self.segments.iter().enumerate() {
            let canonical = match SegmentName::parse(&s.name) {
                Some(n @ SegmentName::Sealed(o, _)) if s.state == SegmentState::Sealed => {
                    o.get() == s.ordinal && n.to_string() == s.name
                }
                Some(n @ SegmentName::Active(o)) if s.state == SegmentState::Active => {
                    o.get() == s.ordinal && n.to_string() == s.name
                }
                _ => false,
            };
            if !canonical {
                return Err(bad(
                    format!("segments[{i}].name"),
                    &s.name,
                    "not the file name of a segment with this entry's ordinal and state: a path built from it could leave the target folder",
                ));
            }
            if !is_address(&s.object) {
                return Err(bad(
                    format!("segments[{i}].object"),
                    &s.object,
                    "not an object address (64 lowercase hex digits)",
                ));
            }
            // An object holds one segment's bytes, and a restored active
            // segment is allocated to its capacity: neither may exceed the
            // largest segment the format allows (a restored file beyond it
            // could not even be opened).
            let max = crate::segment::MAX_SEGMENT_SIZE;
            if s.size > max {
                return Err(bad(
                    format!("segments[{i}].size"),
                    &s.size.to_string(),
                    "more bytes than a segment may hold (the format's maximum segment size)",
                ));
            }
            if let Some(cap) = s.capacity.filter(|&c| c > max) {
                return Err(bad(
                    format!("segments[{i}].capacity"),
                    &cap.to_string(),
                    "more bytes than a segment may hold (the format's maximum segment size)",
                ));
            }
        }
        Ok(())
    }
}
