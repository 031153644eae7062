//! The trading domain's error type.

use crate::codec::{DecodeError, EncodeError};
use crate::snapshot::SnapshotError;
use crate::validate::ValidationError;
use ledger_core::Seq;

/// What can go wrong in the trading domain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// An event was refused by validation; nothing was appended.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The storage engine failed.
    #[error(transparent)]
    Ledger(#[from] ledger_core::Error),
    /// A stored record is not a readable event.
    #[error("record {seq}: {error}")]
    Decode {
        /// The record.
        seq: Seq,
        /// Why it does not decode.
        error: DecodeError,
    },
    /// The index failed.
    #[error(transparent)]
    Index(#[from] ledger_index::IndexError),
    /// An event could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A projection snapshot could not be taken or written.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A report's sums leave the exact range.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

macro_rules! from_engine_op {
    ($($op:ident),*) => {$(
        impl From<ledger_core::$op> for DomainError {
            fn from(e: ledger_core::$op) -> Self {
                DomainError::Ledger(e.into())
            }
        }
    )*};
}
from_engine_op!(OpenError, ReadError, AppendError, VerifyError);
