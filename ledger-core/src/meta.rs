//! The `LEDGER` file: the ledger's identity, written once when it is created.
//!
//! ```text
//! offset  size  field
//! 0       8     magic  89 4C 47 52 49 44 0D 0A   ("\x89LGRID\r\n")
//! 8       2     format version: u16 LE (1)
//! 10      6     zero
//! 16      16    ledger id
//! 32      8     created at: i64 LE, nanoseconds since the Unix epoch
//! 40      4     crc32 of bytes [0, 40)
//! ```

use crate::le;
use crate::segment::header::FormatVersion;
use crate::types::{LedgerId, Timestamp};

/// File name of the identity file.
pub const META_FILE: &str = "LEDGER";
/// Magic bytes of the identity file.
pub const META_MAGIC: [u8; 8] = *b"\x89LGRID\r\n";
/// Length of the identity file.
pub const META_LEN: usize = 44;

// Field offsets, chained: each field starts where the previous one ends.
const VERSION_AT: usize = META_MAGIC.len();
const RESERVED_AT: usize = VERSION_AT + 2;
const ID_AT: usize = RESERVED_AT + 6;
const CREATED_AT: usize = ID_AT + 16;
const CRC_AT: usize = CREATED_AT + 8;
const _: () = assert!(CRC_AT + 4 == META_LEN);

/// The ledger's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerMeta {
    /// Format version the ledger was created with.
    pub version: FormatVersion,
    /// The ledger's id.
    pub id: LedgerId,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Why an identity file cannot be used: each variant names the field at
/// fault, and [`MetaDefect::offset`] where it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetaDefect {
    /// The file is not [`META_LEN`] bytes long (short, or with bytes
    /// appended).
    #[error("is {len} bytes, expected {META_LEN}")]
    Length {
        /// Its length.
        len: usize,
    },
    /// The magic bytes (offset 0) are not [`META_MAGIC`].
    #[error("bad magic bytes at offset 0 (not a ledger identity file)")]
    Magic {
        /// The bytes found.
        found: [u8; 8],
    },
    /// The CRC (offset 40) does not match bytes `[0, 40)`.
    #[error("CRC mismatch at offset {CRC_AT}: stored {stored:08x}, computed {computed:08x}")]
    Crc {
        /// The CRC in the file.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// The format version (offset 8) is not one this build reads.
    #[error("format version {version} (offset {VERSION_AT}) is not supported by this build")]
    Version {
        /// The version in the file.
        version: u16,
    },
    /// A reserved byte (offsets 10 to 15) is not zero.
    #[error("reserved byte at offset {offset} is {value:#04x}, not zero")]
    Reserved {
        /// The first non-zero reserved byte.
        offset: usize,
        /// Its value.
        value: u8,
    },
}

impl MetaDefect {
    /// The offset in the file of the field at fault (for a file of the wrong
    /// length, the length).
    pub fn offset(&self) -> usize {
        match *self {
            MetaDefect::Length { len } => len,
            MetaDefect::Magic { .. } => 0,
            MetaDefect::Crc { .. } => CRC_AT,
            MetaDefect::Version { .. } => VERSION_AT,
            MetaDefect::Reserved { offset, .. } => offset,
        }
    }
}

impl LedgerMeta {
    /// Encodes the file.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; META_LEN];
        b[..VERSION_AT].copy_from_slice(&META_MAGIC);
        b[VERSION_AT..RESERVED_AT].copy_from_slice(&(self.version as u16).to_le_bytes());
        b[ID_AT..CREATED_AT].copy_from_slice(self.id.as_bytes());
        b[CREATED_AT..CRC_AT].copy_from_slice(&self.created_at.as_nanos().to_le_bytes());
        let crc = crc32fast::hash(&b[..CRC_AT]);
        b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes the file; the error says what is wrong, and where.
    pub fn decode(b: &[u8]) -> Result<LedgerMeta, MetaDefect> {
        if b.len() != META_LEN {
            return Err(MetaDefect::Length { len: b.len() });
        }
        let magic = le::array::<8>(b, 0).unwrap_or_default();
        if magic != META_MAGIC {
            return Err(MetaDefect::Magic { found: magic });
        }
        let stored = le::u32_at(b, CRC_AT).unwrap_or_default();
        let computed = crc32fast::hash(b.get(..CRC_AT).unwrap_or_default());
        if stored != computed {
            return Err(MetaDefect::Crc { stored, computed });
        }
        let raw = le::u16_at(b, VERSION_AT).unwrap_or_default();
        let version =
            FormatVersion::try_from(raw).map_err(|version| MetaDefect::Version { version })?;
        let reserved = b.get(RESERVED_AT..ID_AT).unwrap_or_default();
        if let Some(i) = reserved.iter().position(|&x| x != 0) {
            return Err(MetaDefect::Reserved {
                offset: RESERVED_AT + i,
                value: reserved[i],
            });
        }
        Ok(LedgerMeta {
            version,
            id: LedgerId::from_bytes(le::array(b, ID_AT).unwrap_or_default()),
            created_at: Timestamp::from_nanos(le::i64_at(b, CREATED_AT).unwrap_or_default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let m = LedgerMeta {
            version: FormatVersion::V1,
            id: LedgerId::from_bytes([4; 16]),
            created_at: Timestamp::from_nanos(99),
        };
        let b = m.encode();
        assert_eq!(LedgerMeta::decode(&b), Ok(m));
        for i in 0..b.len() {
            let mut t = b.clone();
            t[i] ^= 1;
            let defect = LedgerMeta::decode(&t).unwrap_err();
            let expected = match i {
                0..8 => 0,
                _ => CRC_AT,
            };
            assert_eq!(defect.offset(), expected, "flip at {i}: {defect}");
        }
        assert_eq!(
            LedgerMeta::decode(&b[..10]),
            Err(MetaDefect::Length { len: 10 })
        );
    }

    /// With the CRC made to match, the fields behind it are still checked.
    #[test]
    fn fields_behind_a_matching_crc_are_checked() {
        let m = LedgerMeta {
            version: FormatVersion::V1,
            id: LedgerId::from_bytes([4; 16]),
            created_at: Timestamp::from_nanos(99),
        };
        let with = |at: usize, byte: u8| {
            let mut b = m.encode();
            b[at] = byte;
            let crc = crc32fast::hash(&b[..CRC_AT]);
            b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
            LedgerMeta::decode(&b)
        };
        assert_eq!(with(VERSION_AT, 9), Err(MetaDefect::Version { version: 9 }));
        assert_eq!(
            with(RESERVED_AT + 3, 0x80),
            Err(MetaDefect::Reserved {
                offset: 13,
                value: 0x80
            })
        );
        let e = with(13, 0x80).unwrap_err();
        assert_eq!(e.offset(), 13);
        assert_eq!(
            e.to_string(),
            "reserved byte at offset 13 is 0x80, not zero"
        );
    }
}
