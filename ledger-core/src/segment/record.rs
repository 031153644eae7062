//! The record envelope: the one place that knows how a record is laid out.
//!
//! ```text
//! offset  size  field
//! 0       4     len: u32 LE, the record's length without padding (60 + payload).
//!               It is the commit word: written last with a release store.
//!               0 = no record here (end of data); 0xFFFF_FFFF = the footer.
//! 4       2     kind: u16 LE
//! 6       2     schema version: u16 LE
//! 8       8     sequence: u64 LE
//! 16      8     timestamp: i64 LE, nanoseconds since the Unix epoch (UTC)
//! 24      n     payload
//! 24+n    32    chain hash = blake3(previous chain hash || bytes [0, 24+n))
//! 56+n    4     crc32 (IEEE, crc32fast) of bytes [0, 56+n)
//! 60+n    0..7  zero padding to the next multiple of 8
//! ```

use crate::le;
use crate::types::{ChainHash, Kind, SchemaVersion, Seq, Timestamp};

/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;
/// Chain hash plus CRC after the payload.
pub const TRAILER_LEN: usize = 36;
/// Envelope bytes around a payload.
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// The length word that marks the footer instead of a record.
pub const FOOTER_MARKER: u32 = u32::MAX;
/// Largest payload the format admits (a segment may admit less).
pub const MAX_PAYLOAD: usize = (u32::MAX as usize) - OVERHEAD - 8;

/// One record as stored, borrowed from the segment's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Offset of the record in its segment.
    pub offset: usize,
    /// Sequence number.
    pub seq: Seq,
    /// Timestamp.
    pub timestamp: Timestamp,
    /// Kind.
    pub kind: Kind,
    /// Schema version of the payload.
    pub version: SchemaVersion,
    /// The payload bytes.
    pub payload: &'a [u8],
    /// The bytes the chain hash covers: `[0, 24 + payload)`.
    pub hashed: &'a [u8],
    /// The stored chain hash.
    pub chain_hash: ChainHash,
    /// Stored length without padding.
    pub len: usize,
}

impl RecordRef<'_> {
    /// Length including padding: where the next record starts, relative to this one.
    pub fn padded_len(&self) -> usize {
        le::align8(self.len)
    }

    /// Whether the stored chain hash equals `blake3(prev || hashed bytes)`.
    pub fn links_to(&self, prev: &ChainHash) -> bool {
        crate::chain::link(prev, self.hashed) == self.chain_hash
    }
}

/// What a slot in the data area holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// A zero length word: no record was committed here.
    Empty,
    /// The footer marker.
    Footer,
    /// A record whose length and CRC hold (its chain link is checked by the caller).
    Record(RecordRef<'a>),
}

/// Why the bytes at an offset are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordDefect {
    /// The length word is smaller than the envelope.
    #[error("length word {len} is shorter than the {OVERHEAD}-byte envelope")]
    TooShort {
        /// The stored length word.
        len: u32,
    },
    /// The record runs past the end of the segment's data.
    #[error("length word {len} runs past the end of the data ({available} bytes left)")]
    Truncated {
        /// The stored length word.
        len: u32,
        /// Bytes available from the record's offset.
        available: usize,
    },
    /// The CRC does not match.
    #[error("CRC mismatch: stored {stored:08x}, computed {computed:08x}")]
    Crc {
        /// Stored CRC.
        stored: u32,
        /// CRC of the bytes as found.
        computed: u32,
    },
    /// The bytes after the record up to the next 8-byte boundary are not zero.
    #[error("non-zero padding after the record")]
    Padding,
    /// The length word stored in the record is not the length it was read
    /// with (only [`decode`] with a length from elsewhere can see this).
    #[error("the record's length word is {stored}, but it was read as {len} bytes")]
    LengthWord {
        /// The length word in the record's bytes.
        stored: u32,
        /// The length the record was read with.
        len: u32,
    },
}

/// Reads the slot at `offset` of `data`, where `data` is the segment's bytes
/// (or any prefix of them that contains the whole record).
pub fn parse_at(data: &[u8], offset: usize) -> Result<Slot<'_>, RecordDefect> {
    let Some(len) = le::u32_at(data, offset) else {
        return Err(RecordDefect::Truncated {
            len: 0,
            available: data.len().saturating_sub(offset),
        });
    };
    match len {
        0 => Ok(Slot::Empty),
        FOOTER_MARKER => Ok(Slot::Footer),
        len => decode(data, offset, len).map(Slot::Record),
    }
}

/// Decodes the record at `offset` whose length word is `len` (as a reader
/// loaded it); the record's own length word must say the same.
pub fn decode(data: &[u8], offset: usize, len: u32) -> Result<RecordRef<'_>, RecordDefect> {
    let available = data.len().saturating_sub(offset);
    let n = len as usize;
    if n < OVERHEAD {
        return Err(RecordDefect::TooShort { len });
    }
    // The record and its padding must lie in the data (docs/FORMAT.md).
    if le::align8(n) > available {
        return Err(RecordDefect::Truncated { len, available });
    }
    let rec = data
        .get(offset..offset + n)
        .ok_or(RecordDefect::Truncated { len, available })?;
    let crc_at = n - 4;
    let stored = le::u32_at(rec, crc_at).ok_or(RecordDefect::Truncated { len, available })?;
    let computed = crc32fast::hash(rec.get(..crc_at).unwrap_or_default());
    if stored != computed {
        return Err(RecordDefect::Crc { stored, computed });
    }
    let word = le::u32_at(rec, 0).ok_or(RecordDefect::Truncated { len, available })?;
    if word != len {
        return Err(RecordDefect::LengthWord { stored: word, len });
    }
    let pad_end = le::align8(n).min(available);
    if data
        .get(offset + n..offset + pad_end)
        .is_some_and(|pad| pad.iter().any(|&b| b != 0))
    {
        return Err(RecordDefect::Padding);
    }
    view(rec, 0)
        .map(|r| RecordRef { offset, ..r })
        .ok_or(RecordDefect::Truncated { len, available })
}

/// The fields of the record at `offset` of `data`, whose envelope is known
/// to hold (it was judged by [`decode`] before, and a published record's
/// bytes never change): no CRC is computed. `None` when the bytes are too
/// short for the length word they carry.
pub fn view(data: &[u8], offset: usize) -> Option<RecordRef<'_>> {
    let n = le::u32_at(data, offset)? as usize;
    if n < OVERHEAD {
        return None;
    }
    let rec = data.get(offset..offset.checked_add(n)?)?;
    let hash_at = n - TRAILER_LEN;
    Some(RecordRef {
        offset,
        seq: Seq::new(le::u64_at(rec, 8)?),
        timestamp: Timestamp::from_nanos(le::i64_at(rec, 16)?),
        kind: Kind::new(le::u16_at(rec, 4)?),
        version: SchemaVersion::new(le::u16_at(rec, 6)?),
        payload: rec.get(HEADER_LEN..hash_at)?,
        hashed: rec.get(..hash_at)?,
        chain_hash: ChainHash::from_bytes(le::array(rec, hash_at)?),
        len: n,
    })
}

/// The padded size a record with `payload_len` bytes of payload occupies.
pub const fn padded_size(payload_len: usize) -> usize {
    le::align8(payload_len + OVERHEAD)
}

/// The fields of a record to encode.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// Sequence number.
    pub seq: Seq,
    /// Timestamp.
    pub timestamp: Timestamp,
    /// Kind.
    pub kind: Kind,
    /// Schema version.
    pub version: SchemaVersion,
    /// Payload.
    pub payload: &'a [u8],
}

/// Encodes `rec`, linked to `prev`, into `out` (cleared first), padded to a
/// multiple of 8. Returns the chain hash. `out[0..4]` holds the length word.
pub fn encode_into(out: &mut Vec<u8>, rec: &NewRecord<'_>, prev: &ChainHash) -> ChainHash {
    let n = rec.payload.len() + OVERHEAD;
    out.clear();
    out.resize(le::align8(n), 0);
    out[0..4].copy_from_slice(&(n as u32).to_le_bytes());
    encode_body(&mut out[4..], rec, prev)
}

/// Encodes `rec`, linked to `prev`, into `body`: the record's padded slot
/// **after its length word** (`align8(payload + OVERHEAD) - 4` bytes), so
/// that the writer can encode straight into the map without touching the
/// length word, which readers poll, and then publish the record with one
/// release store of it. The CRC and the chain hash cover the length word's
/// value all the same. The padding is zeroed. Returns the chain hash.
///
/// # Panics
/// If `body` is not that size (an engine bug).
pub fn encode_body(body: &mut [u8], rec: &NewRecord<'_>, prev: &ChainHash) -> ChainHash {
    let p = rec.payload.len();
    let n = p + OVERHEAD;
    assert_eq!(
        body.len(),
        le::align8(n) - 4,
        "the record's slot after its length word"
    );
    let len = (n as u32).to_le_bytes();
    // Offsets in `body` are the record's offsets minus the 4-byte length word.
    body[0..2].copy_from_slice(&rec.kind.get().to_le_bytes());
    body[2..4].copy_from_slice(&rec.version.get().to_le_bytes());
    body[4..12].copy_from_slice(&rec.seq.get().to_le_bytes());
    body[12..20].copy_from_slice(&rec.timestamp.as_nanos().to_le_bytes());
    let hashed_end = HEADER_LEN - 4 + p;
    body[HEADER_LEN - 4..hashed_end].copy_from_slice(rec.payload);
    let hash = crate::chain::link_parts(prev, &len, &body[..hashed_end]);
    body[hashed_end..hashed_end + 32].copy_from_slice(hash.as_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(&body[..hashed_end + 32]);
    body[hashed_end + 32..n - 4].copy_from_slice(&crc.finalize().to_le_bytes());
    body[n - 4..].fill(0);
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(payload: &[u8]) -> (Vec<u8>, ChainHash) {
        let mut out = Vec::new();
        let prev = ChainHash::from_bytes([3; 32]);
        let h = encode_into(
            &mut out,
            &NewRecord {
                seq: Seq::new(7),
                timestamp: Timestamp::from_nanos(1_700_000_000_000_000_000),
                kind: Kind::new(5),
                version: SchemaVersion::new(2),
                payload,
            },
            &prev,
        );
        (out, h)
    }

    /// The writer's in-place encoding (the body into a dirty slot, then the
    /// length word) gives the same bytes as encoding into a buffer, for every
    /// padding length, and never touches the length word.
    #[test]
    fn encoding_in_place_matches_the_buffer_and_spares_the_length_word() {
        let prev = ChainHash::from_bytes([9; 32]);
        for plen in 0..24 {
            let payload: Vec<u8> = (0..plen as u8).collect();
            let rec = NewRecord {
                seq: Seq::new(3),
                timestamp: Timestamp::from_nanos(42),
                kind: Kind::new(1),
                version: SchemaVersion::new(1),
                payload: &payload,
            };
            let mut buf = Vec::new();
            let h1 = encode_into(&mut buf, &rec, &prev);
            let mut slot = vec![0xAA; buf.len()];
            slot[0..4].fill(0);
            let h2 = encode_body(&mut slot[4..], &rec, &prev);
            assert_eq!(&slot[0..4], &[0, 0, 0, 0], "the length word is left alone");
            slot[0..4].copy_from_slice(&buf[0..4]);
            assert_eq!(slot, buf, "payload of {plen} bytes");
            assert_eq!(h1, h2);
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let (bytes, h) = sample(b"hello payload");
        assert_eq!(bytes.len() % 8, 0);
        let Ok(Slot::Record(r)) = parse_at(&bytes, 0) else {
            panic!("not a record")
        };
        assert_eq!(r.seq, Seq::new(7));
        assert_eq!(r.kind, Kind::new(5));
        assert_eq!(r.version, SchemaVersion::new(2));
        assert_eq!(r.payload, b"hello payload");
        assert_eq!(r.chain_hash, h);
        assert!(r.links_to(&ChainHash::from_bytes([3; 32])));
        assert!(!r.links_to(&ChainHash::from_bytes([4; 32])));
        assert_eq!(r.padded_len(), bytes.len());
    }

    #[test]
    fn every_single_byte_flip_is_caught_by_the_crc() {
        let (bytes, _) = sample(b"abcdefgh");
        let n = OVERHEAD + 8;
        for i in 4..n {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(
                matches!(parse_at(&b, 0), Err(RecordDefect::Crc { .. })),
                "flip at {i} undetected"
            );
        }
    }

    #[test]
    fn truncation_and_bad_lengths_are_defects_not_panics() {
        let (bytes, _) = sample(b"xyz");
        for cut in 4..bytes.len() - 5 {
            assert!(parse_at(&bytes[..cut], 0).is_err(), "cut at {cut}");
        }
        assert!(matches!(parse_at(&[0, 0, 0, 0], 0), Ok(Slot::Empty)));
        assert!(matches!(parse_at(&[255; 4], 0), Ok(Slot::Footer)));
        assert!(matches!(
            parse_at(&[5, 0, 0, 0, 0, 0], 0),
            Err(RecordDefect::TooShort { len: 5 })
        ));
        assert!(parse_at(&[1, 2], 0).is_err());
        assert!(parse_at(&bytes, usize::MAX - 1).is_err());
    }

    #[test]
    fn nonzero_padding_is_a_defect() {
        let (mut bytes, _) = sample(b"xyz");
        let last = bytes.len() - 1;
        bytes[last] = 1;
        assert_eq!(parse_at(&bytes, 0), Err(RecordDefect::Padding));
    }
}
