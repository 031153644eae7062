//! Backups: incremental, deduplicated by content address, compressed.
//!
//! A backup store is a folder:
//!
//! ```text
//! objects/<2 hex>/<64 hex>.zst   a segment's bytes, zstd-compressed, named by
//!                                the blake3 of the uncompressed bytes
//! manifests/<id>.manifest        one per backup: JSON, then a line
//!                                "blake3:<hex of the JSON's hash>"
//! ```
//!
//! A sealed segment is stored under its content address, which is already
//! its name: a segment in the store is never copied again, so a backup of an
//! unchanged ledger copies nothing. The active segment's committed records
//! are captured consistently while the writer keeps appending (readers see
//! only whole records), as an object of its own. Each manifest names the
//! ledger, its segments in order, the head, the tool and format versions,
//! and the previous manifest with its hash, so the manifests form a chain.
//!
//! Restoring writes into a new folder beside the target, verifies the
//! restored ledger end to end, and only then moves it into place: nothing
//! restored half-way is left looking like a good ledger.

mod manifest;
mod object;
mod store;

pub use manifest::{Manifest, ManifestSegment, SegmentState};
pub use object::{decode_object, encode_object, is_address, ObjectError, MAX_OBJECT};
pub use store::{
    BackupError, BackupReport, BackupStore, BackupSummary, BackupVerifyReport, Progress,
    PruneReport, RestoreReport,
};
