//! An index read from a file, checked against the records of its segment
//! before it is used: its structure, without decoding a payload.
//!
//! The index file's checksum is plain blake3: anyone who can write the
//! file can recompute it. So a loaded index must agree with what the
//! segment's own bytes say (`docs/FORMAT.md`, "Index files"):
//!
//! - its record count is the number of records the segment walker finds,
//!   and its offsets are exactly where the walker finds them (every record
//!   verified: envelope and CRC, sequence `first_seq + position`, time
//!   never decreasing);
//! - its time samples are the timestamps of records `0, 256, 512, ...`;
//! - its kind lists hold each position exactly once, under the kind the
//!   record's header gives;
//! - `end` is the segment's footer offset.
//!
//! The key families' lists (each entry a valid position, in order: checked
//! when the file is decoded) are checked against the records by the query
//! that uses them (`crate::recheck`), and in full by `ledger verify`.

use std::collections::BTreeMap;

use ledger_core::segment::footer::FOOTER_LEN;
use ledger_core::segment::header::{SegmentHeader, HEADER_LEN};
use ledger_core::segment::walk::{Mode, Step, Stop, Walker};
use ledger_core::segment::ChainState;
use ledger_core::Timestamp;

use crate::file::FileDefect;
use crate::segment_index::{SegmentIndex, TIME_STRIDE};

fn differs(what: String) -> FileDefect {
    FileDefect::Segment { what }
}

fn unverified(f: &ledger_core::Finding) -> FileDefect {
    differs(format!(
        "the segment's records do not verify ({}: {})",
        f.kind, f.detail
    ))
}

impl SegmentIndex {
    /// Checks this index, read from a file, against `data`, the bytes of
    /// the sealed segment `name` it claims to index (whose content address
    /// the caller has checked): record count, offsets, time samples, kind
    /// lists and end, as above. The error names the first disagreement; a
    /// segment whose own records do not verify is one too (the index
    /// cannot be checked against it).
    ///
    /// ```
    /// use ledger_index::{FileDefect, SegmentIndex};
    ///
    /// // Not a segment at all: nothing can agree with it.
    /// let ix = SegmentIndex::default();
    /// assert!(matches!(ix.check_against("s.seg", &[0; 100]), Err(FileDefect::Segment { .. })));
    /// ```
    pub fn check_against(&self, name: &str, data: &[u8]) -> Result<(), FileDefect> {
        let header = SegmentHeader::decode(data)
            .map_err(|d| differs(format!("the segment's header does not decode: {d}")))?;
        if header.first_seq.get() != self.first_seq {
            return Err(differs(format!(
                "the index starts at sequence {}, the segment at {}",
                self.first_seq, header.first_seq
            )));
        }
        let Some(limit) = data
            .len()
            .checked_sub(FOOTER_LEN)
            .filter(|&l| l >= HEADER_LEN)
        else {
            return Err(differs(format!(
                "the segment is {} bytes: no room for a header and a footer",
                data.len()
            )));
        };
        let start = ChainState {
            next_seq: header.first_seq,
            prev_hash: header.prev_hash,
            last_ts: Timestamp::from_nanos(i64::MIN),
        };
        // Each kind's list, and how far the walk has consumed it: record `i`
        // of kind `k` must be the next entry of `k`'s list.
        let mut kinds: BTreeMap<u16, (&[u32], usize)> = self
            .kinds
            .iter()
            .map(|(k, v)| (*k, (v.as_slice(), 0)))
            .collect();
        let mut walker = Walker::new(name, Mode::Sealed, start, limit);
        let mut i: usize = 0;
        let end = loop {
            let rec = match walker.step(&data) {
                Step::Record {
                    rec, problem: None, ..
                } => rec,
                Step::Record {
                    problem: Some(f), ..
                } => return Err(unverified(&f)),
                Step::Damage(f) => return Err(unverified(&f)),
                Step::Stop(Stop::DataEnd { offset }) => break offset,
                Step::Stop(other) => {
                    return Err(differs(format!(
                        "the segment's walk stopped before its footer: {other:?}"
                    )))
                }
            };
            let seq = rec.seq;
            match self.offsets.get(i) {
                Some(&o) if o as usize == rec.offset => {}
                Some(&o) => {
                    return Err(differs(format!(
                        "record {seq} is at offset {}, the index says {o}",
                        rec.offset
                    )))
                }
                None => {
                    return Err(differs(format!(
                        "the index counts {} records, the segment holds more",
                        self.offsets.len()
                    )))
                }
            }
            let stride = TIME_STRIDE as usize;
            if i.is_multiple_of(stride) {
                let t = rec.timestamp.as_nanos();
                match self.times.get(i / stride) {
                    Some(&s) if s == t => {}
                    sample => {
                        return Err(differs(format!(
                            "the time sample of record {seq} is {sample:?}, the record's time {t}"
                        )))
                    }
                }
            }
            let kind = rec.kind.get();
            match kinds.get_mut(&kind) {
                Some((list, next)) if list.get(*next).is_some_and(|&p| p as usize == i) => {
                    *next += 1;
                }
                _ => {
                    return Err(differs(format!(
                        "record {seq} is of kind {kind}, but is not next in the index's list of that kind"
                    )))
                }
            }
            i += 1;
        };
        if i != self.offsets.len() {
            return Err(differs(format!(
                "the index counts {} records, the segment holds {i}",
                self.offsets.len()
            )));
        }
        if self.times.len() != i.div_ceil(TIME_STRIDE as usize) {
            return Err(differs(format!(
                "{} time samples for {i} records",
                self.times.len()
            )));
        }
        if u64::from(self.end) != end {
            return Err(differs(format!(
                "the index ends at offset {}, the segment's records at {end}",
                self.end
            )));
        }
        if let Some((kind, (list, next))) = kinds.iter().find(|(_, (l, n))| *n != l.len()) {
            return Err(differs(format!(
                "the list of kind {kind} names {} records the segment does not have of that kind",
                list.len() - next
            )));
        }
        Ok(())
    }
}
