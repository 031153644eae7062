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

impl LedgerMeta {
    /// Encodes the file.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; META_LEN];
        b[0..8].copy_from_slice(&META_MAGIC);
        b[8..10].copy_from_slice(&(self.version as u16).to_le_bytes());
        b[16..32].copy_from_slice(self.id.as_bytes());
        b[32..40].copy_from_slice(&self.created_at.as_nanos().to_le_bytes());
        let crc = crc32fast::hash(&b[..40]);
        b[40..44].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes the file; the error says what is wrong.
    pub fn decode(b: &[u8]) -> Result<LedgerMeta, String> {
        if b.len() != META_LEN {
            return Err(format!("is {} bytes, expected {META_LEN}", b.len()));
        }
        if le::array::<8>(b, 0) != Some(META_MAGIC) {
            return Err("bad magic bytes (not a ledger identity file)".into());
        }
        let stored = le::u32_at(b, 40).unwrap_or_default();
        let computed = crc32fast::hash(b.get(..40).unwrap_or_default());
        if stored != computed {
            return Err(format!(
                "CRC mismatch: stored {stored:08x}, computed {computed:08x}"
            ));
        }
        let raw = le::u16_at(b, 8).unwrap_or_default();
        let version = FormatVersion::try_from(raw)
            .map_err(|v| format!("format version {v} is not supported by this build"))?;
        Ok(LedgerMeta {
            version,
            id: LedgerId::from_bytes(le::array(b, 16).unwrap_or_default()),
            created_at: Timestamp::from_nanos(le::i64_at(b, 32).unwrap_or_default()),
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
            assert!(LedgerMeta::decode(&t).is_err(), "flip at {i}");
        }
        assert!(LedgerMeta::decode(&b[..10]).is_err());
    }
}
