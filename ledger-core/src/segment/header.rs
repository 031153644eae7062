//! The segment header: the first 4096 bytes of every segment file.
//!
//! ```text
//! offset  size  field
//! 0       8     magic  89 4C 47 52 0D 0A 1A 0A   ("\x89LGR\r\n\x1a\n")
//! 8       2     format version: u16 LE (1)
//! 10      2     header length: u16 LE (4096)
//! 12      4     flags: u32 LE (0)
//! 16      16    ledger id
//! 32      8     segment ordinal: u64 LE
//! 40      8     first sequence: u64 LE (the sequence its first record has)
//! 48      32    previous chain hash (genesis for segment 0)
//! 80      8     created at: i64 LE, nanoseconds since the Unix epoch
//! 88      8     capacity: u64 LE, the preallocated file size while active
//! 96      4     crc32 of bytes [0, 96)
//! 100     28    zero
//! 128     8     durable watermark: u64 LE, the offset up to which records are
//!               known durable (4096 = none yet); rewritten after each flush
//! 136     8     bitwise NOT of the watermark (detects a damaged watermark)
//! 144     3952  zero
//! ```
//!
//! The header fills a whole page so that watermark updates never touch a page
//! the writer is filling with records.

use crate::le;
use crate::types::{ChainHash, LedgerId, SegmentOrdinal, Seq, Timestamp};

/// The magic bytes, PNG style: the high bit catches 7-bit transfers, CR LF
/// catches line-ending conversion, 0x1A stops `type` on DOS, LF catches the
/// reverse conversion.
pub const MAGIC: [u8; 8] = *b"\x89LGR\r\n\x1a\n";
/// Length of the header; records start here.
pub const HEADER_LEN: usize = 4096;
/// Offset of the header CRC.
pub const CRC_AT: usize = 96;
/// Offset of the durable watermark.
pub const WATERMARK_AT: usize = 128;
/// Offset of the watermark's complement.
pub const WATERMARK_NOT_AT: usize = 136;

/// The on-disk format versions this code knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u16)]
pub enum FormatVersion {
    /// The first format, described in docs/FORMAT.md.
    V1 = 1,
}

impl FormatVersion {
    /// The version new segments are written in.
    pub const CURRENT: FormatVersion = FormatVersion::V1;
    /// The oldest version this code reads.
    pub const OLDEST_SUPPORTED: FormatVersion = FormatVersion::V1;
}

impl TryFrom<u16> for FormatVersion {
    type Error = u16;
    fn try_from(v: u16) -> Result<Self, u16> {
        match v {
            1 => Ok(FormatVersion::V1),
            other => Err(other),
        }
    }
}

/// The immutable fields of a segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version.
    pub version: FormatVersion,
    /// The ledger the segment belongs to.
    pub ledger_id: LedgerId,
    /// Position of the segment in the ledger.
    pub ordinal: SegmentOrdinal,
    /// Sequence number of the segment's first record.
    pub first_seq: Seq,
    /// The chain hash the first record links to.
    pub prev_hash: ChainHash,
    /// When the segment was started.
    pub created_at: Timestamp,
    /// Preallocated size while active.
    pub capacity: u64,
}

/// Why a header is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderDefect {
    /// Fewer than 4096 bytes.
    #[error("file is {len} bytes, shorter than the {HEADER_LEN}-byte header")]
    Short {
        /// File length.
        len: usize,
    },
    /// Wrong magic bytes.
    #[error("bad magic bytes {found:02x?} (not a ledger segment)")]
    Magic {
        /// The bytes found.
        found: [u8; 8],
    },
    /// A format version this code cannot read.
    #[error("format version {found} is not supported (this build reads {oldest}..={current})")]
    Version {
        /// The version found.
        found: u16,
        /// Oldest supported.
        oldest: u16,
        /// Current.
        current: u16,
    },
    /// CRC mismatch over the fixed fields.
    #[error("header CRC mismatch: stored {stored:08x}, computed {computed:08x}")]
    Crc {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
    /// Reserved bytes are not zero, or the header length field is wrong.
    #[error("header field or reserved byte at offset {offset} is invalid")]
    Reserved {
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// The watermark and its complement disagree, or it points outside the file.
    #[error("durable watermark is damaged ({value} / !{complement})")]
    Watermark {
        /// The watermark.
        value: u64,
        /// The stored complement.
        complement: u64,
    },
}

impl SegmentHeader {
    /// The header of a new segment `ordinal` of ledger `ledger_id` that
    /// continues the chain at `state`, created now with `capacity` bytes.
    pub fn continuing(
        ledger_id: LedgerId,
        ordinal: SegmentOrdinal,
        state: &super::ChainState,
        capacity: u64,
    ) -> SegmentHeader {
        SegmentHeader {
            version: FormatVersion::CURRENT,
            ledger_id,
            ordinal,
            first_seq: state.next_seq,
            prev_hash: state.prev_hash,
            created_at: Timestamp::now(),
            capacity,
        }
    }

    /// Encodes the header page, with the watermark at "nothing durable yet".
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&(self.version as u16).to_le_bytes());
        b[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        b[16..32].copy_from_slice(self.ledger_id.as_bytes());
        b[32..40].copy_from_slice(&self.ordinal.get().to_le_bytes());
        b[40..48].copy_from_slice(&self.first_seq.get().to_le_bytes());
        b[48..80].copy_from_slice(self.prev_hash.as_bytes());
        b[80..88].copy_from_slice(&self.created_at.as_nanos().to_le_bytes());
        b[88..96].copy_from_slice(&self.capacity.to_le_bytes());
        let crc = crc32fast::hash(&b[..CRC_AT]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        b[WATERMARK_AT..WATERMARK_AT + 16].copy_from_slice(&encode_watermark(HEADER_LEN as u64));
        b
    }

    /// Decodes and checks the whole header page at the start of `data`,
    /// including that its reserved bytes are zero.
    pub fn decode(data: &[u8]) -> Result<SegmentHeader, HeaderDefect> {
        let page = data
            .get(..HEADER_LEN)
            .ok_or(HeaderDefect::Short { len: data.len() })?;
        let header = Self::decode_fixed(page)?;
        if let Some(i) = page
            .get(WATERMARK_AT + 16..HEADER_LEN)
            .and_then(|r| r.iter().position(|&b| b != 0))
        {
            return Err(HeaderDefect::Reserved {
                offset: WATERMARK_AT + 16 + i,
            });
        }
        Ok(header)
    }

    /// Decodes and checks the fixed fields, bytes `[0, 128)`: the part that
    /// never changes, which readers of a live segment may read while the
    /// writer updates the watermark.
    pub fn decode_fixed(data: &[u8]) -> Result<SegmentHeader, HeaderDefect> {
        let page = data
            .get(..WATERMARK_AT)
            .ok_or(HeaderDefect::Short { len: data.len() })?;
        let magic: [u8; 8] = le::array(page, 0).ok_or(HeaderDefect::Short { len: data.len() })?;
        if magic != MAGIC {
            return Err(HeaderDefect::Magic { found: magic });
        }
        let raw_version = le::u16_at(page, 8).unwrap_or_default();
        let version =
            FormatVersion::try_from(raw_version).map_err(|found| HeaderDefect::Version {
                found,
                oldest: FormatVersion::OLDEST_SUPPORTED as u16,
                current: FormatVersion::CURRENT as u16,
            })?;
        let stored = le::u32_at(page, CRC_AT).unwrap_or_default();
        let computed = crc32fast::hash(page.get(..CRC_AT).unwrap_or_default());
        if stored != computed {
            return Err(HeaderDefect::Crc { stored, computed });
        }
        if le::u16_at(page, 10) != Some(HEADER_LEN as u16) {
            return Err(HeaderDefect::Reserved { offset: 10 });
        }
        if le::u32_at(page, 12) != Some(0) {
            return Err(HeaderDefect::Reserved { offset: 12 });
        }
        if let Some(i) = page
            .get(100..WATERMARK_AT)
            .and_then(|r| r.iter().position(|&b| b != 0))
        {
            return Err(HeaderDefect::Reserved { offset: 100 + i });
        }
        let u64f = |at| le::u64_at(page, at).unwrap_or_default();
        Ok(SegmentHeader {
            version,
            ledger_id: LedgerId::from_bytes(le::array(page, 16).unwrap_or_default()),
            ordinal: SegmentOrdinal::new(u64f(32)),
            first_seq: Seq::new(u64f(40)),
            prev_hash: ChainHash::from_bytes(le::array(page, 48).unwrap_or_default()),
            created_at: Timestamp::from_nanos(u64f(80) as i64),
            capacity: u64f(88),
        })
    }
}

/// The 16 bytes of a watermark: the value and its complement.
pub fn encode_watermark(value: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&value.to_le_bytes());
    b[8..].copy_from_slice(&(!value).to_le_bytes());
    b
}

/// Reads the durable watermark from a header page.
pub fn decode_watermark(data: &[u8]) -> Result<u64, HeaderDefect> {
    let value = le::u64_at(data, WATERMARK_AT).ok_or(HeaderDefect::Short { len: data.len() })?;
    let complement =
        le::u64_at(data, WATERMARK_NOT_AT).ok_or(HeaderDefect::Short { len: data.len() })?;
    check_watermark(value, complement)
}

/// The watermark stored as `value` and `complement`, if they agree and it
/// points past the header page.
pub fn check_watermark(value: u64, complement: u64) -> Result<u64, HeaderDefect> {
    if value != !complement || value < HEADER_LEN as u64 {
        return Err(HeaderDefect::Watermark { value, complement });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SegmentHeader {
        SegmentHeader {
            version: FormatVersion::V1,
            ledger_id: LedgerId::from_bytes([9; 16]),
            ordinal: SegmentOrdinal::new(3),
            first_seq: Seq::new(1000),
            prev_hash: ChainHash::from_bytes([1; 32]),
            created_at: Timestamp::from_nanos(42),
            capacity: 1 << 20,
        }
    }

    #[test]
    fn round_trip_and_watermark() {
        let b = header().encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(header()));
        assert_eq!(decode_watermark(&b), Ok(HEADER_LEN as u64));
    }

    #[test]
    fn every_byte_flip_in_the_header_page_is_detected() {
        let b = header().encode();
        for i in 0..HEADER_LEN {
            let mut t = b.clone();
            t[i] ^= 0x40;
            let bad_header = SegmentHeader::decode(&t).is_err();
            let bad_mark = decode_watermark(&t).is_err();
            assert!(bad_header || bad_mark, "flip at {i} undetected");
        }
    }

    #[test]
    fn unknown_versions_are_refused_by_name() {
        let mut b = header().encode();
        b[8] = 9;
        assert!(matches!(
            SegmentHeader::decode(&b),
            Err(HeaderDefect::Version { found: 9, .. })
        ));
        assert!(matches!(
            SegmentHeader::decode(&b[..100]),
            Err(HeaderDefect::Short { len: 100 })
        ));
    }
}
