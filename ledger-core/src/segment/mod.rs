//! Segment files: header, records, footer, names, and the walker: the one
//! piece of code that walks a segment's bytes and judges them.
//!
//! A segment file is `[header page][record][record]...[footer]`; see
//! `docs/FORMAT.md` and the layout comments in each submodule.

pub mod footer;
pub mod header;
pub mod names;
pub mod record;
pub mod walk;

use crate::types::{ChainHash, Seq, Timestamp};

/// The largest a segment file may be (4 GiB): the writer makes no larger
/// one, and a file named like a segment that is larger is refused before
/// it is read or mapped (`docs/FORMAT.md`, "Segment files").
pub const MAX_SEGMENT_SIZE: u64 = 1 << 32;

/// The chain's state between two records: what the next record must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainState {
    /// The sequence number the next record must have.
    pub next_seq: Seq,
    /// The chain hash the next record must link to.
    pub prev_hash: ChainHash,
    /// The previous record's timestamp (times never decrease).
    pub last_ts: Timestamp,
}
