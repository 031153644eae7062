//! Errors of the index.

use ledger_core::Seq;

use crate::keys::KeyError;

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
    /// The domain's key extractor refused a record of a segment being
    /// indexed.
    #[error("{segment} at offset {offset}: record {seq}: {source}")]
    Keys {
        /// The segment file.
        segment: String,
        /// The record's offset in it.
        offset: u64,
        /// The record.
        seq: Seq,
        /// The extractor's error.
        #[source]
        source: KeyError,
    },
    /// The domain's key extractor refused a record read by a full scan.
    #[error("record {seq}: {source}")]
    RecordKeys {
        /// The record.
        seq: Seq,
        /// The extractor's error.
        #[source]
        source: KeyError,
    },
    /// A query names a key family the domain does not have.
    #[error("no key family {family:?}: the index has {known:?}")]
    UnknownFamily {
        /// The family asked for.
        family: String,
        /// The domain's families.
        known: Vec<String>,
    },
}

macro_rules! from_engine_op {
    ($($op:ident),*) => {$(
        impl From<ledger_core::$op> for IndexError {
            fn from(e: ledger_core::$op) -> Self {
                IndexError::Ledger(e.into())
            }
        }
    )*};
}
from_engine_op!(OpenError, ReadError, AppendError, VerifyError);
