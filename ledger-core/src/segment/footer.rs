//! The footer a sealed segment ends with.
//!
//! ```text
//! offset  size  field (relative to the footer's start, 8-byte aligned)
//! 0       4     marker: u32 LE 0xFFFF_FFFF (where a record's length word would be)
//! 4       4     zero
//! 8       8     record count: u64 LE
//! 16      8     first sequence: u64 LE
//! 24      8     last sequence: u64 LE
//! 32      8     first record's timestamp: i64 LE
//! 40      8     last record's timestamp: i64 LE
//! 48      32    last chain hash
//! 80      8     footer offset: u64 LE (= end of the record data)
//! 88      4     crc32 of bytes [0, 88)
//! 92      4     zero
//! 96      8     trailing magic "LGRSEAL\n"
//! ```
//!
//! A sealed segment file is exactly `footer offset + 104` bytes long.

use crate::le;
use crate::types::{ChainHash, Seq, Timestamp};

/// Length of the footer.
pub const FOOTER_LEN: usize = 104;
/// The trailing magic.
pub const SEAL_MAGIC: [u8; 8] = *b"LGRSEAL\n";

/// The footer's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentFooter {
    /// Records in the segment.
    pub count: u64,
    /// First sequence.
    pub first_seq: Seq,
    /// Last sequence.
    pub last_seq: Seq,
    /// The first record's timestamp.
    pub first_ts: Timestamp,
    /// The last record's timestamp.
    pub last_ts: Timestamp,
    /// The last record's chain hash.
    pub last_hash: ChainHash,
    /// Offset of the footer (end of record data).
    pub offset: u64,
}

/// Why a footer is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FooterDefect {
    /// Not enough bytes.
    #[error("footer truncated: {available} of {FOOTER_LEN} bytes")]
    Truncated {
        /// Bytes present.
        available: usize,
    },
    /// CRC mismatch.
    #[error("footer CRC mismatch: stored {stored:08x}, computed {computed:08x}")]
    Crc {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
    /// Marker, reserved bytes, magic or stored offset wrong.
    #[error("footer field at +{field} is invalid")]
    Field {
        /// Offset of the field inside the footer.
        field: usize,
    },
}

impl SegmentFooter {
    /// Encodes the footer.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[0..4].copy_from_slice(&crate::segment::record::FOOTER_MARKER.to_le_bytes());
        b[8..16].copy_from_slice(&self.count.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_seq.get().to_le_bytes());
        b[24..32].copy_from_slice(&self.last_seq.get().to_le_bytes());
        b[32..40].copy_from_slice(&self.first_ts.as_nanos().to_le_bytes());
        b[40..48].copy_from_slice(&self.last_ts.as_nanos().to_le_bytes());
        b[48..80].copy_from_slice(self.last_hash.as_bytes());
        b[80..88].copy_from_slice(&self.offset.to_le_bytes());
        let crc = crc32fast::hash(&b[..88]);
        b[88..92].copy_from_slice(&crc.to_le_bytes());
        b[96..104].copy_from_slice(&SEAL_MAGIC);
        b
    }

    /// Decodes the footer at `offset` of `data`.
    pub fn decode(data: &[u8], offset: usize) -> Result<SegmentFooter, FooterDefect> {
        let available = data.len().saturating_sub(offset);
        let f = data
            .get(offset..)
            .and_then(|d| d.get(..FOOTER_LEN))
            .ok_or(FooterDefect::Truncated { available })?;
        let stored = le::u32_at(f, 88).unwrap_or_default();
        let computed = crc32fast::hash(f.get(..88).unwrap_or_default());
        if stored != computed {
            return Err(FooterDefect::Crc { stored, computed });
        }
        if le::u32_at(f, 0) != Some(crate::segment::record::FOOTER_MARKER) {
            return Err(FooterDefect::Field { field: 0 });
        }
        if le::u32_at(f, 4) != Some(0) {
            return Err(FooterDefect::Field { field: 4 });
        }
        if le::u32_at(f, 92) != Some(0) {
            return Err(FooterDefect::Field { field: 92 });
        }
        if le::array::<8>(f, 96) != Some(SEAL_MAGIC) {
            return Err(FooterDefect::Field { field: 96 });
        }
        let u = |at| le::u64_at(f, at).unwrap_or_default();
        if u(80) != offset as u64 {
            return Err(FooterDefect::Field { field: 80 });
        }
        Ok(SegmentFooter {
            count: u(8),
            first_seq: Seq::new(u(16)),
            last_seq: Seq::new(u(24)),
            first_ts: Timestamp::from_nanos(u(32) as i64),
            last_ts: Timestamp::from_nanos(u(40) as i64),
            last_hash: ChainHash::from_bytes(le::array(f, 48).unwrap_or_default()),
            offset: u(80),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_flip_detected() {
        let footer = SegmentFooter {
            count: 3,
            first_seq: Seq::new(5),
            last_seq: Seq::new(7),
            first_ts: Timestamp::from_nanos(10),
            last_ts: Timestamp::from_nanos(20),
            last_hash: ChainHash::from_bytes([2; 32]),
            offset: 4096 + 64,
        };
        let mut data = vec![0u8; 4096 + 64];
        data.extend_from_slice(&footer.encode());
        assert_eq!(SegmentFooter::decode(&data, 4160), Ok(footer));
        for i in 4160..data.len() {
            let mut t = data.clone();
            t[i] ^= 0x08;
            assert!(SegmentFooter::decode(&t, 4160).is_err(), "flip at {i}");
        }
        assert!(SegmentFooter::decode(&data[..4200], 4160).is_err());
    }
}
