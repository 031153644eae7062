//! Findings: what verification, recovery, `inspect` and `repair` report about
//! a ledger's bytes. The kinds are defined once, here, and produced by one
//! walker ([`crate::segment::walk`]); every tool's wording comes from them.

use std::fmt;

use crate::types::Seq;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// The `LEDGER` identity file is damaged.
    Meta,
    /// A segment's header is damaged.
    Header,
    /// A record's CRC (or envelope) does not hold.
    Crc,
    /// A record's stored chain hash is not the hash of its bytes and its predecessor.
    ChainHash,
    /// A segment does not continue the chain of the segment before it.
    Link,
    /// A sealed segment's bytes do not hash to its name.
    ContentAddress,
    /// A sequence number is missing or repeated.
    SequenceGap,
    /// A timestamp is earlier than the one before it.
    Timestamp,
    /// A sealed segment's footer is damaged or disagrees with its records.
    Footer,
    /// A segment file is missing.
    MissingSegment,
    /// A segment of another ledger.
    ForeignSegment,
    /// Bytes that should be zero (padding, after the data) are not.
    StrayBytes,
    /// The active segment ends in a torn tail (an unrecovered crash); the
    /// next open will cut it. Not damage to committed data.
    TornTail,
    /// The active segment ends in a footer that matches its records: a
    /// crash interrupted sealing, and the next open completes the seal. Not
    /// damage to committed data.
    InterruptedSeal,
    /// A full segment, not yet sealed: an active segment that ends in a
    /// footer matching its records, followed by a later segment (the
    /// writer's sealer thread seals it in the background; the next open
    /// does if the writer stopped first). Not damage.
    AwaitingSeal,
    /// The ledger does not hold the checkpointed record.
    Checkpoint,
    /// Records below the durable watermark are missing (zeroed or cut off).
    Truncated,
    /// A file could not be read (an I/O error). Not evidence of damage,
    /// but nothing can vouch for the file either: it counts as damage for
    /// [`crate::VerifyReport::is_intact`] (so a repair or a checkpoint never goes
    /// over it), and `ledger verify` exits with its I/O-error code.
    Unreadable,
}

impl FindingKind {
    /// Short snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Meta => "meta",
            FindingKind::Header => "header",
            FindingKind::Crc => "crc",
            FindingKind::ChainHash => "chain_hash",
            FindingKind::Link => "link",
            FindingKind::ContentAddress => "content_address",
            FindingKind::SequenceGap => "sequence_gap",
            FindingKind::Timestamp => "timestamp",
            FindingKind::Footer => "footer",
            FindingKind::MissingSegment => "missing_segment",
            FindingKind::ForeignSegment => "foreign_segment",
            FindingKind::StrayBytes => "stray_bytes",
            FindingKind::TornTail => "torn_tail",
            FindingKind::InterruptedSeal => "interrupted_seal",
            FindingKind::AwaitingSeal => "awaiting_seal",
            FindingKind::Checkpoint => "checkpoint",
            FindingKind::Truncated => "truncated",
            FindingKind::Unreadable => "unreadable",
        }
    }

    /// Whether this finding means committed data is damaged or was tampered
    /// with (a torn tail is not: recovery cuts it by design).
    pub fn is_damage(self) -> bool {
        !matches!(
            self,
            FindingKind::TornTail | FindingKind::InterruptedSeal | FindingKind::AwaitingSeal
        )
    }

    /// Whether a finding of this kind is about the segment as a whole (its
    /// header, footer, content address, identity or place in the chain):
    /// then none of the segment's records can be vouched for, and the head
    /// of the ledger ends before its first record.
    pub fn is_segment_wide(self) -> bool {
        matches!(
            self,
            FindingKind::Meta
                | FindingKind::Header
                | FindingKind::Link
                | FindingKind::ContentAddress
                | FindingKind::Footer
                | FindingKind::MissingSegment
                | FindingKind::ForeignSegment
                | FindingKind::Unreadable
        )
    }

    /// Whether this finding is an I/O error rather than something found in
    /// the bytes.
    pub fn is_io_error(self) -> bool {
        self == FindingKind::Unreadable
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What is wrong.
    pub kind: FindingKind,
    /// The file (empty for findings about a checkpoint).
    pub segment: String,
    /// Byte offset in the file, when known.
    pub offset: Option<u64>,
    /// The sequence number concerned, when known.
    pub seq: Option<Seq>,
    /// Details.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.segment.is_empty() {
            write!(f, ": {}", self.segment)?;
        }
        if let Some(o) = self.offset {
            write!(f, " at offset {o}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " (sequence {s})")?;
        }
        write!(f, ": {}", self.detail)
    }
}
