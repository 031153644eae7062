//! The manifest of one backup.

use serde::{Deserialize, Serialize};

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
        let mut json = serde_json::to_vec_pretty(self)?;
        let hash = blake3::hash(&json).to_hex().to_string();
        json.extend_from_slice(format!("\nblake3:{hash}\n").as_bytes());
        Ok((json, hash))
    }

    /// Parses the file form, checking its hash; returns the manifest and the hash.
    pub fn from_file(bytes: &[u8]) -> Result<(Manifest, String), String> {
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
