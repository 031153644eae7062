//! # ledger-core
//!
//! An event-sourced, hash-chained ledger stored in memory-mapped,
//! content-addressed segment files.
//!
//! The storage engine stores *records*: a kind, a schema version, a
//! timestamp and opaque payload bytes. Every record carries a blake3 chain
//! hash over its exact stored bytes and the previous record's hash, so
//! anyone holding the files can verify the whole history and locate any
//! change. Full segments are sealed and renamed to the blake3 of their bytes.
//! The engine gives payloads no meaning: a domain layer on top defines them
//! (the trading domain is the `ledger-domain` crate).
//!
//! - [`Writer`]: the single writer (an exclusive folder lock refuses a
//!   second one); appends return a [`Receipt`]; three [`Durability`] modes.
//! - [`Reader`] / [`Cursor`]: read from any sequence, in this process or
//!   another, while the writer appends; follow the tail.
//! - [`verify()`]: re-hash everything, in parallel, and report every
//!   [`Finding`] with its location.
//! - [`Checkpoint`]: signed heads an auditor keeps elsewhere.
//! - [`storage`]: the file-access seam, with an in-memory backend that
//!   simulates crashes and failed flushes.
//!
//! The byte-exact format is in `docs/FORMAT.md`.
//!
//! ```
//! use ledger_core::{Entry, Kind, Reader, SchemaVersion, Writer, WriterOptions, Durability};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut writer = Writer::create(dir.path(), WriterOptions::default().durability(Durability::NoSync))?;
//! let receipt = writer.append(&Entry::new(Kind::new(1), SchemaVersion::new(1), b"hello"))?;
//! writer.sync()?;
//!
//! let mut cursor = Reader::open(dir.path())?.cursor()?;
//! let record = cursor.next_record()?.expect("one record");
//! assert_eq!(record.seq, receipt.seq);
//! assert_eq!(record.payload, b"hello");
//!
//! let report = ledger_core::verify_dir(dir.path(), &Default::default())?;
//! assert!(report.is_intact());
//! assert_eq!(report.head.map(|h| h.chain_hash), Some(receipt.chain_hash));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

// Modules are private but for the byte format (`segment`, `chain`) and the
// storage seam (`storage`), which an independent verifier, a fuzzer or a
// storage backend needs as such; the API is the list of re-exports below.
mod backup;
pub mod chain;
mod checkpoint;
mod error;
mod finding;
mod layout;
mod le;
mod meta;
mod migrate;
mod op_error;
mod reader;
mod recovery;
mod sealed;
pub mod segment;
pub mod storage;
mod types;
mod verify;
mod writer;

// Writing and reading.
pub use reader::{is_ledger, read_published, Cursor, LiveSlots, Published, Reader, Record};
pub use recovery::{RecoveryReport, TailCut};
pub use writer::{
    Durability, DurabilityHandle, Entry, Head, OpenMode, Receipt, SealerStatus, SharedWriter,
    Writer, WriterOptions, DEFAULT_MAX_CLOCK_SKEW, DEFAULT_SEGMENT_SIZE, MAX_PENDING_SEALS,
    MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE,
};

// The values that must not be mixed up.
pub use types::{
    ChainHash, ContentHash, HexError, Kind, LedgerId, Offset, SchemaVersion, SegmentOrdinal, Seq,
    Timestamp,
};

// The folder: identity, layout, sealed segments.
pub use layout::{read_layout, Layout, SealedFile};
pub use meta::{LedgerMeta, MetaDefect, META_FILE, META_LEN, META_MAGIC};
pub use sealed::SealedSegment;

// Verification, findings, checkpoints.
pub use checkpoint::{
    generate_key, key_from_text, key_to_text, public_key_from_bytes, public_key_from_text,
    public_key_to_text, Checkpoint, CheckpointError, FieldError, SigningKey, VerifyingKey,
};
pub use finding::{Finding, FindingKind};
pub use verify::{verify, verify_dir, VerifyOptions, VerifyReport};

// Backups and migration.
pub use backup::{
    decode_object, encode_object, is_address, is_plain_id, BackupError, BackupReport, BackupStore,
    BackupSummary, BackupVerifyReport, FieldDefect, Manifest, ManifestHead, ManifestLink,
    ManifestSegment, ObjectError, Progress, PruneReport, PrunedBackup, RestoreReport, SegmentState,
    MAX_ID_LEN, MAX_OBJECT,
};
pub use migrate::{
    migrate, verify_migration, MigrateOptions, MigrationReport, Provenance, UpcastError, Upcaster,
    PROVENANCE_LEN,
};

// Errors.
pub use error::{Defect, Error, Result};
pub use op_error::{AppendError, OpenError, ReadError, VerifyError};
