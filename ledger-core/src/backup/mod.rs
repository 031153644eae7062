//! Backups: incremental, deduplicated by content address, compressed.
//!
//! A backup store is a folder:
//!
//! ```text
//! objects/<2 hex>/<64 hex>.zst   a segment's bytes, zstd-compressed, named by
//!                                the blake3 of the uncompressed bytes
//! manifests/<id>.manifest        one per backup: JSON, then a line
//!                                "blake3:<hex of the JSON's hash>"
//! manifests/<id>.pruned          the record of a backup `prune` removed
//!                                (same form): its id, hash and link
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
//!
//! Nothing a manifest says is trusted: every field that becomes a path is a
//! plain name ([`Manifest::check_fields`]); the ledger it claims is compared
//! with its copy of the identity file and with the restored ledger; its
//! segments must form one continuous chain from the genesis to its head,
//! checked alike by verify and restore; the chain of manifests is checked;
//! an object is re-hashed before a backup reuses it; and no file or folder
//! of the store is followed through a symbolic link.

mod check;
mod continuity;
mod files;
mod history;
mod manifest;
mod object;
mod prune;
mod restore;
mod store;

pub use check::BackupVerifyReport;
pub use history::PrunedBackup;
pub use manifest::{
    is_plain_id, FieldDefect, Manifest, ManifestHead, ManifestLink, ManifestSegment, SegmentState,
    MAX_ID_LEN,
};
pub use object::{decode_object, encode_object, is_address, ObjectError, MAX_OBJECT};
pub use prune::PruneReport;
pub use restore::RestoreReport;
pub use store::{BackupError, BackupReport, BackupStore, BackupSummary, Progress};
