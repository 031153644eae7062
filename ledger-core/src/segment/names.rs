//! File names in a ledger folder.
//!
//! | file | meaning |
//! | --- | --- |
//! | `LEDGER` | the ledger's identity (see `meta`) |
//! | `LOCK` | carries the exclusive writer lock; empty |
//! | `0000000007-<64 hex>.seg` | sealed segment 7, named by the blake3 of its bytes |
//! | `0000000008.active` | the active segment (at most one) |
//! | `0000000009.prealloc` | the next segment, preallocated ahead of the writer; holds no data |
//! | `*.tmp` | a file being written atomically; never holds committed data |
//! | `cut-<ordinal>-<offset>.bin` | bytes recovery cut from a torn tail, kept for inspection |

use crate::types::{ContentHash, SegmentOrdinal};

/// What a file name in a ledger folder denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentName {
    /// A sealed segment and the content address its name claims.
    Sealed(SegmentOrdinal, ContentHash),
    /// The active segment.
    Active(SegmentOrdinal),
    /// A preallocated, not yet used segment.
    Prealloc(SegmentOrdinal),
}

impl SegmentName {
    /// The segment's ordinal.
    pub fn ordinal(&self) -> SegmentOrdinal {
        match *self {
            SegmentName::Sealed(o, _) | SegmentName::Active(o) | SegmentName::Prealloc(o) => o,
        }
    }

    /// Parses a file name; `None` for files that are not segments.
    pub fn parse(name: &str) -> Option<SegmentName> {
        fn ordinal(digits: &str) -> Option<SegmentOrdinal> {
            if digits.len() < 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok().map(SegmentOrdinal::new)
        }
        if let Some(stem) = name.strip_suffix(".seg") {
            let (o, h) = stem.split_once('-')?;
            return Some(SegmentName::Sealed(
                ordinal(o)?,
                ContentHash::from_hex(h).ok()?,
            ));
        }
        if let Some(o) = name.strip_suffix(".active") {
            return ordinal(o).map(SegmentName::Active);
        }
        if let Some(o) = name.strip_suffix(".prealloc") {
            return ordinal(o).map(SegmentName::Prealloc);
        }
        None
    }
}

impl std::fmt::Display for SegmentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SegmentName::Sealed(o, h) => write!(f, "{:010}-{}.seg", o.get(), h.to_hex()),
            SegmentName::Active(o) => write!(f, "{:010}.active", o.get()),
            SegmentName::Prealloc(o) => write!(f, "{:010}.prealloc", o.get()),
        }
    }
}

/// The name of the file that holds bytes cut from a torn tail.
pub fn cut_file_name(ordinal: SegmentOrdinal, offset: u64) -> String {
    format!("cut-{:010}-{offset}.bin", ordinal.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let h = ContentHash::from_bytes([0xab; 32]);
        for n in [
            SegmentName::Sealed(SegmentOrdinal::new(7), h),
            SegmentName::Active(SegmentOrdinal::new(12)),
            SegmentName::Prealloc(SegmentOrdinal::new(0)),
        ] {
            assert_eq!(SegmentName::parse(&n.to_string()), Some(n));
        }
        for bad in ["LEDGER", "7.active", "0000000001-xyz.seg", "x.prealloc", ""] {
            assert_eq!(SegmentName::parse(bad), None, "{bad}");
        }
    }
}
