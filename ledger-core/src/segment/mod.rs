//! Segment files: header, records, footer, names, and the scan that walks a
//! segment's records checking sequence, time order and the chain.
//!
//! A segment file is `[header page][record][record]...[footer]`; see
//! `docs/FORMAT.md` and the layout comments in each submodule.

pub mod footer;
pub mod header;
pub mod names;
pub mod record;

use std::fmt;

use crate::types::{ChainHash, Seq, Timestamp};
use record::{RecordDefect, RecordRef, Slot};

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

/// Why the scan stopped at a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordProblem {
    /// The envelope is damaged (length, CRC, padding).
    Defect(RecordDefect),
    /// The record carries another sequence number than the chain expects.
    Sequence {
        /// Expected.
        expected: Seq,
        /// Found.
        found: Seq,
    },
    /// The stored chain hash is not `blake3(prev || bytes)`.
    Chain,
    /// The timestamp is before the previous record's.
    TimeWentBackwards {
        /// The previous record's time.
        previous: Timestamp,
        /// This record's time.
        found: Timestamp,
    },
}

impl fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordProblem::Defect(d) => write!(f, "{d}"),
            RecordProblem::Sequence { expected, found } => {
                write!(f, "sequence {found} where {expected} was expected")
            }
            RecordProblem::Chain => f.write_str("chain hash does not match the record's bytes"),
            RecordProblem::TimeWentBackwards { previous, found } => {
                write!(
                    f,
                    "timestamp {found} is before the previous record's {previous}"
                )
            }
        }
    }
}

/// Where and why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStop {
    /// An empty slot (length word 0): the end of committed data.
    End {
        /// Offset of the empty slot.
        offset: usize,
    },
    /// The footer marker.
    Footer {
        /// Offset of the footer.
        offset: usize,
    },
    /// The data ran out without an empty slot or a footer.
    OutOfData {
        /// Offset where the data ran out.
        offset: usize,
    },
    /// An invalid record.
    Invalid {
        /// Offset of the invalid record.
        offset: usize,
        /// What is wrong with it.
        problem: RecordProblem,
    },
}

/// Checks one record against the chain state; on success advances the state.
pub fn check_and_advance(
    rec: &RecordRef<'_>,
    state: &mut ChainState,
    check_chain: bool,
) -> Result<(), RecordProblem> {
    if rec.seq != state.next_seq {
        return Err(RecordProblem::Sequence {
            expected: state.next_seq,
            found: rec.seq,
        });
    }
    if rec.timestamp < state.last_ts {
        return Err(RecordProblem::TimeWentBackwards {
            previous: state.last_ts,
            found: rec.timestamp,
        });
    }
    if check_chain && !rec.links_to(&state.prev_hash) {
        return Err(RecordProblem::Chain);
    }
    state.next_seq = rec.seq.next();
    state.prev_hash = rec.chain_hash;
    state.last_ts = rec.timestamp;
    Ok(())
}

/// Walks the records of `data` from `offset` while they are valid, calling
/// `on_record` for each, and says where and why it stopped. `limit` bounds
/// the data area (the footer reserve of an active segment is not data).
pub fn scan<'a>(
    data: &'a [u8],
    mut offset: usize,
    state: &mut ChainState,
    check_chain: bool,
    mut on_record: impl FnMut(&RecordRef<'a>),
) -> ScanStop {
    loop {
        if offset + 4 > data.len() {
            return ScanStop::OutOfData { offset };
        }
        match record::parse_at(data, offset) {
            Ok(Slot::Empty) => return ScanStop::End { offset },
            Ok(Slot::Footer) => return ScanStop::Footer { offset },
            Ok(Slot::Record(rec)) => {
                if let Err(problem) = check_and_advance(&rec, state, check_chain) {
                    return ScanStop::Invalid { offset, problem };
                }
                on_record(&rec);
                offset += rec.padded_len();
            }
            Err(d) => {
                return ScanStop::Invalid {
                    offset,
                    problem: RecordProblem::Defect(d),
                }
            }
        }
    }
}
