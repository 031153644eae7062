//! Error types. Every error names what and where: path, segment, offset,
//! sequence.
//!
//! A variant that wraps a typed defect ([`MetaDefect`], [`CheckpointError`])
//! returns it as its `source` and also ends its message with it, so the
//! message alone stays complete; a printer that walks the sources skips a
//! cause the message already ends with (as `ledger`'s `error_chain` does).

use std::io;
use std::path::PathBuf;

use crate::checkpoint::CheckpointError;
use crate::finding::FindingKind;
use crate::meta::MetaDefect;
use crate::segment::footer::FooterDefect;
use crate::segment::header::HeaderDefect;
use crate::segment::record::RecordDefect;
use crate::types::{ContentHash, LedgerId, SegmentOrdinal, Seq, Timestamp};

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the storage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed.
    #[error("{op} {path}: {error}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file or folder.
        path: PathBuf,
        /// The operating system's error (part of the message, so it is not
        /// also returned as the `source`, which would print it twice).
        error: io::Error,
    },
    /// The ledger folder does not exist.
    #[error("ledger folder {path} does not exist")]
    NoSuchFolder {
        /// The folder.
        path: PathBuf,
    },
    /// The folder exists but holds no ledger.
    #[error("{path} holds no ledger (no LEDGER file){detail}")]
    NotALedger {
        /// The folder.
        path: PathBuf,
        /// What the folder holds instead.
        detail: String,
    },
    /// Refusing to create a ledger in a folder that holds other files.
    #[error("{path} is not empty and holds no ledger; refusing to create a ledger there")]
    FolderNotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// Refusing to create a ledger where one exists.
    #[error("{path} already holds a ledger")]
    AlreadyExists {
        /// The folder.
        path: PathBuf,
    },
    /// Another writer holds the ledger's lock.
    #[error(
        "another writer (in this or another process) holds the lock on {path}; \
         a ledger has exactly one writer (the lock is on the LOCK and LEDGER files, \
         which a hard-linked copy of the folder shares)"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The `LEDGER` identity file is damaged.
    #[error("ledger identity file {path} is damaged: {defect}")]
    BadMeta {
        /// The file.
        path: PathBuf,
        /// What is wrong, and at which offset (also in the message).
        #[source]
        defect: MetaDefect,
    },
    /// Committed data is damaged: never cut silently.
    #[error("{segment}: damage at offset {offset}{}: {defect}", fmt_seq(.seq))]
    Corrupt {
        /// The segment file.
        segment: String,
        /// Offset of the damage in the file.
        offset: u64,
        /// The sequence number expected there, when known.
        seq: Option<Seq>,
        /// What is wrong, as the decoder or the segment walker found it.
        #[source]
        defect: Defect,
    },
    /// A segment is missing from the sequence of segments.
    #[error("segment {ordinal} is missing: {detail}")]
    MissingSegment {
        /// The ordinal that has no file.
        ordinal: SegmentOrdinal,
        /// What was found instead.
        detail: String,
    },
    /// A sealed segment's bytes do not hash to its name.
    #[error(
        "{segment}: content address mismatch: the name says {expected}, the bytes hash to {actual}"
    )]
    ContentAddress {
        /// The segment file.
        segment: String,
        /// The hash in the name.
        expected: ContentHash,
        /// The hash of the bytes.
        actual: ContentHash,
    },
    /// A segment of another ledger is in the folder.
    #[error("{segment} belongs to ledger {found}, not to this ledger {expected}")]
    ForeignSegment {
        /// The segment file.
        segment: String,
        /// This ledger.
        expected: LedgerId,
        /// The id in the segment.
        found: LedgerId,
    },
    /// A record does not fit in a segment.
    #[error(
        "a record of {len} bytes cannot be stored: a segment holds records of at most {max} bytes"
    )]
    RecordTooLarge {
        /// Encoded record size.
        len: usize,
        /// Largest size that fits.
        max: usize,
    },
    /// A record's timestamp is before the previous record's.
    #[error("record {seq}: timestamp {found} is before the previous record's {last}; times never decrease along the chain")]
    TimeWentBackwards {
        /// The sequence the record would have had.
        seq: Seq,
        /// The previous record's time.
        last: Timestamp,
        /// The refused time.
        found: Timestamp,
    },
    /// A record's timestamp is further ahead of the writer's clock than the
    /// writer allows ([`crate::WriterOptions::max_clock_skew`]).
    #[error("record {seq}: timestamp {found} is more than {skew_secs} s ahead of this machine's clock ({clock}); times never decrease along the chain, so every later record would be held to it: correct the time (or the clock), or raise the writer's max_clock_skew")]
    TimeTooFarAhead {
        /// The sequence the record would have had.
        seq: Seq,
        /// The refused time (for a record without a time of its own: the
        /// previous record's, which it would inherit).
        found: Timestamp,
        /// The writer's clock when it refused.
        clock: Timestamp,
        /// The allowed skew, in seconds.
        skew_secs: u64,
    },
    /// The writer stopped after a failed flush, seal or segment start.
    #[error(
        "the writer stopped accepting appends after a failed write to disk ({cause}); \
         the kernel may have dropped unflushed pages, so reopen the ledger to recover from what is on disk"
    )]
    Poisoned {
        /// The flush error.
        cause: String,
    },
    /// The writer was closed.
    #[error("the writer is closed")]
    Closed,
    /// A checkpoint file is malformed or does not verify.
    #[error("checkpoint {path}: {error}")]
    Checkpoint {
        /// The checkpoint file (or `-`).
        path: PathBuf,
        /// What is wrong (also in the message).
        #[source]
        error: Box<CheckpointError>,
    },
    /// A sequence number outside the ledger.
    #[error("sequence {seq} is not in the ledger (it holds 1..={head})")]
    NoSuchSeq {
        /// The sequence asked for.
        seq: Seq,
        /// The last sequence of the ledger (0 when empty).
        head: u64,
    },
}

/// What is wrong with damaged bytes: the typed defect a decoder or the
/// segment walker found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Defect {
    /// A segment header does not decode.
    #[error(transparent)]
    Header(#[from] HeaderDefect),
    /// A footer does not decode.
    #[error(transparent)]
    Footer(#[from] FooterDefect),
    /// A record's envelope does not hold.
    #[error(transparent)]
    Record(#[from] RecordDefect),
    /// A finding of the segment walker or of the checks across segments;
    /// its kind says what it is.
    #[error("{kind}: {detail}")]
    Finding {
        /// What kind of problem.
        kind: FindingKind,
        /// Details.
        detail: String,
    },
}

impl Defect {
    /// A defect of kind `kind`, described by `detail`.
    pub fn finding(kind: FindingKind, detail: impl Into<String>) -> Defect {
        Defect::Finding {
            kind,
            detail: detail.into(),
        }
    }

    /// The finding kind this defect is reported as.
    pub fn kind(&self) -> FindingKind {
        match self {
            Defect::Header(_) => FindingKind::Header,
            Defect::Footer(_) => FindingKind::Footer,
            Defect::Record(RecordDefect::Padding) => FindingKind::StrayBytes,
            Defect::Record(_) => FindingKind::Crc,
            Defect::Finding { kind, .. } => *kind,
        }
    }
}

pub(crate) fn fmt_seq(seq: &Option<Seq>) -> String {
    match seq {
        Some(s) => format!(" (sequence {s})"),
        None => String::new(),
    }
}

/// Extension to attach an operation and a path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|error| Error::Io {
            op,
            path: path.into(),
            error,
        })
    }
}
