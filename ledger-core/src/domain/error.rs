//! The trading domain's error type.

use std::path::PathBuf;

use super::codec::{DecodeError, EncodeError};
use super::validate::ValidationError;
use crate::types::Seq;

/// What can go wrong in the trading domain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// An event was refused by validation; nothing was appended.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The storage engine failed.
    #[error(transparent)]
    Ledger(#[from] crate::Error),
    /// A stored record is not a readable event.
    #[error("record {seq}: {error}")]
    Decode {
        /// The record.
        seq: Seq,
        /// Why it does not decode.
        error: DecodeError,
    },
    /// An event could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A projection snapshot could not be written.
    #[error("snapshot {path}: {reason}")]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}
