//! Errors of the index.

/// What can go wrong building or querying an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The storage engine failed.
    #[error(transparent)]
    Ledger(#[from] ledger_core::Error),
    /// A record of a segment could not be indexed.
    #[error("{segment} at offset {offset}: {reason}")]
    Segment {
        /// The segment file.
        segment: String,
        /// Where.
        offset: u64,
        /// Why.
        reason: String,
    },
    /// A record matched by the index does not decode.
    #[error("record {seq}: {error}")]
    Decode {
        /// The record.
        seq: ledger_core::Seq,
        /// Why.
        error: ledger_domain::DecodeError,
    },
}
