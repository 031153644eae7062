//! The index file of a sealed segment, stored beside it.
//!
//! Name: the segment's name with `.idx` for `.seg`
//! (`0000000003-<blake3 of the segment>.idx`), so an index can only ever be
//! applied to the bytes it was built from. Layout (all integers little-endian):
//!
//! ```text
//! offset  size  field
//! 0       8     magic "\x89LGRIDX\n"
//! 8       2     index format version (1)
//! 10      6     zero
//! 16      32    the segment's content address (blake3 of its bytes)
//! 48      8     first sequence of the segment
//! 56      8     record count
//! 64      8     payload length n
//! 72      n     payload: postcard of the segment index, posting lists
//!               delta-encoded (each entry minus the previous one)
//! 72+n    32    blake3 of bytes [0, 72+n)
//! ```
//!
//! A missing, damaged (checksum), stale (another segment's address, other
//! first sequence or count) or unknown-version index file is never trusted:
//! the index is rebuilt from the segment and the file rewritten.

use ledger_core::ContentHash;

use crate::segment_index::{Postings, SegmentIndex};

const MAGIC: [u8; 8] = *b"\x89LGRIDX\n";
/// The index format version this build writes and reads.
pub const VERSION: u16 = 1;
const HEAD: usize = 72;

/// Why an index file cannot be trusted (it is then rebuilt), or an index
/// cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexFileError {
    /// Shorter than a header and a checksum.
    #[error("{len} bytes is too short for an index file")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The blake3 trailer does not match the bytes before it.
    #[error("checksum mismatch (damaged or truncated): the blake3 at offset {offset} does not match the bytes before it")]
    Checksum {
        /// Where the trailer starts.
        offset: usize,
    },
    /// The magic bytes (offset 0) are wrong.
    #[error("bad magic bytes at offset 0")]
    Magic,
    /// Another index format version (offset 8) than this build's.
    #[error("index format {found} is not this build's ({VERSION})")]
    Version {
        /// The version in the file.
        found: u16,
    },
    /// The index was built from another segment's bytes (offset 16).
    #[error("built from other bytes than this segment's (stale): it names {built_from}")]
    Stale {
        /// The content address the file names.
        built_from: ContentHash,
    },
    /// The payload length (offset 64) does not match the file.
    #[error(
        "payload length {stated} (offset 64) does not match the file's {actual} bytes of payload"
    )]
    PayloadLength {
        /// The length the header states.
        stated: u64,
        /// The bytes between the header and the checksum.
        actual: usize,
    },
    /// The payload (offset 72) does not decode.
    #[error("payload does not decode: {source}")]
    Payload {
        /// postcard's error.
        #[source]
        source: postcard::Error,
    },
    /// A delta-encoded posting list adds up past `u32::MAX`.
    #[error("the {list} posting list {key:?} overflows")]
    PostingOverflow {
        /// The key family (`symbols`, `trades`, ...).
        list: &'static str,
        /// The key.
        key: String,
    },
    /// The header's first sequence or record count is not the payload's.
    #[error("header and payload disagree on the {field}: {header} in the header, {payload} in the payload")]
    HeaderMismatch {
        /// `first sequence` or `record count`.
        field: &'static str,
        /// The header's value.
        header: u64,
        /// The payload's value.
        payload: u64,
    },
    /// The record offsets are not strictly increasing after the segment
    /// header.
    #[error("record offsets are not increasing (at record {position})")]
    Offsets {
        /// The position of the first offset out of order.
        position: usize,
    },
    /// A posting list is not strictly increasing or names a record past
    /// the segment's.
    #[error("the {list} posting list {key:?} is out of order or points past the segment")]
    PostingOrder {
        /// The key family (`kinds`, `symbols`, ...).
        list: &'static str,
        /// The key.
        key: String,
    },
    /// The index does not encode.
    #[error("the index does not encode: {source}")]
    Encode {
        /// postcard's error.
        #[source]
        source: postcard::Error,
    },
}

/// The index file name for a sealed segment file name.
pub fn index_name(segment: &str) -> Option<String> {
    segment
        .strip_suffix(".seg")
        .map(|stem| format!("{stem}.idx"))
}

fn delta(p: &Postings) -> Postings {
    p.iter()
        .map(|(k, v)| {
            let mut prev = 0;
            let d = v
                .iter()
                .map(|&x| {
                    let r = x - prev;
                    prev = x;
                    r
                })
                .collect();
            (k.clone(), d)
        })
        .collect()
}

fn undelta(p: &mut Postings, list: &'static str) -> Result<(), IndexFileError> {
    for (key, v) in p.iter_mut() {
        let mut acc: u32 = 0;
        for x in v.iter_mut() {
            acc = acc
                .checked_add(*x)
                .ok_or_else(|| IndexFileError::PostingOverflow {
                    list,
                    key: key.clone(),
                })?;
            *x = acc;
        }
    }
    Ok(())
}

fn delta_encoded(ix: &SegmentIndex) -> SegmentIndex {
    let mut out = ix.clone();
    out.symbols = delta(&ix.symbols);
    out.trades = delta(&ix.trades);
    out.decisions = delta(&ix.decisions);
    out.orders = delta(&ix.orders);
    out.sessions = delta(&ix.sessions);
    out
}

/// Encodes the index file of the segment with content address `address`.
pub fn encode(address: &ContentHash, ix: &SegmentIndex) -> Result<Vec<u8>, IndexFileError> {
    let payload = postcard::to_allocvec(&delta_encoded(ix))
        .map_err(|source| IndexFileError::Encode { source })?;
    let mut b = Vec::with_capacity(HEAD + payload.len() + 32);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&[0; 6]);
    b.extend_from_slice(address.as_bytes());
    b.extend_from_slice(&ix.first_seq.to_le_bytes());
    b.extend_from_slice(&u64::from(ix.count()).to_le_bytes());
    b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    b.extend_from_slice(&payload);
    let sum = blake3::hash(&b);
    b.extend_from_slice(sum.as_bytes());
    Ok(b)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)?.try_into().ok().map(u64::from_le_bytes)
}

/// Decodes an index file and checks that it belongs to the segment with
/// content address `address`; the error says why it cannot be trusted.
pub fn decode(b: &[u8], address: &ContentHash) -> Result<SegmentIndex, IndexFileError> {
    if b.len() < HEAD + 32 {
        return Err(IndexFileError::TooShort { len: b.len() });
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(IndexFileError::Checksum { offset: body.len() });
    }
    if b.get(..8) != Some(&MAGIC[..]) {
        return Err(IndexFileError::Magic);
    }
    let found = b.get(8..10).map_or(0, |v| u16::from_le_bytes([v[0], v[1]]));
    if found != VERSION {
        return Err(IndexFileError::Version { found });
    }
    if b.get(16..48) != Some(&address.as_bytes()[..]) {
        let built_from = b
            .get(16..48)
            .and_then(|a| <[u8; 32]>::try_from(a).ok())
            .map_or(ContentHash::from_bytes([0; 32]), ContentHash::from_bytes);
        return Err(IndexFileError::Stale { built_from });
    }
    let stated = u64_at(b, 64).unwrap_or(u64::MAX);
    if HEAD.checked_add(stated as usize) != Some(body.len()) {
        return Err(IndexFileError::PayloadLength {
            stated,
            actual: body.len() - HEAD,
        });
    }
    let mut ix: SegmentIndex =
        postcard::from_bytes(&body[HEAD..]).map_err(|source| IndexFileError::Payload { source })?;
    for (p, list) in [
        (&mut ix.symbols, "symbols"),
        (&mut ix.trades, "trades"),
        (&mut ix.decisions, "decisions"),
        (&mut ix.orders, "orders"),
        (&mut ix.sessions, "sessions"),
    ] {
        undelta(p, list)?;
    }
    for (field, at, payload) in [
        ("first sequence", 48, ix.first_seq),
        ("record count", 56, u64::from(ix.count())),
    ] {
        let header = u64_at(b, at).unwrap_or(u64::MAX);
        if header != payload {
            return Err(IndexFileError::HeaderMismatch {
                field,
                header,
                payload,
            });
        }
    }
    check_order(&ix)?;
    Ok(ix)
}

/// Every list must be strictly increasing and point inside the segment, so
/// a query never returns records twice or out of order.
fn check_order(ix: &SegmentIndex) -> Result<(), IndexFileError> {
    if ix.offsets.first().is_some_and(|&o| o < 4096) {
        return Err(IndexFileError::Offsets { position: 0 });
    }
    if let Some(i) = ix.offsets.windows(2).position(|w| w[0] >= w[1]) {
        return Err(IndexFileError::Offsets { position: i + 1 });
    }
    let n = ix.count();
    let bad = |v: &[u32]| !v.windows(2).all(|w| w[0] < w[1]) || v.last().is_some_and(|&x| x >= n);
    for (kind, v) in &ix.kinds {
        if bad(v) {
            return Err(IndexFileError::PostingOrder {
                list: "kinds",
                key: kind.to_string(),
            });
        }
    }
    for (list, postings) in [
        ("symbols", &ix.symbols),
        ("trades", &ix.trades),
        ("decisions", &ix.decisions),
        ("orders", &ix.orders),
        ("sessions", &ix.sessions),
    ] {
        if let Some((key, _)) = postings.iter().find(|(_, v)| bad(v)) {
            return Err(IndexFileError::PostingOrder {
                list,
                key: key.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn index() -> SegmentIndex {
        let mut ix = SegmentIndex::new(ledger_core::Seq::new(7));
        ix.offsets = vec![4096, 4160];
        ix.kinds.insert(3, vec![0, 1]);
        ix.symbols.insert("ABC".into(), vec![1]);
        ix
    }

    /// `b` with its checksum recomputed, so the checks behind it are reached.
    fn resealed(mut b: Vec<u8>) -> Vec<u8> {
        b.truncate(b.len() - 32);
        let sum = blake3::hash(&b);
        b.extend_from_slice(sum.as_bytes());
        b
    }

    #[test]
    fn each_defect_is_named() {
        let address = ContentHash::from_bytes([1; 32]);
        let good = encode(&address, &index()).unwrap();
        assert_eq!(decode(&good, &address).unwrap(), index());

        assert_eq!(
            decode(&good[..50], &address),
            Err(IndexFileError::TooShort { len: 50 })
        );
        let mut b = good.clone();
        b[HEAD] ^= 1;
        assert_eq!(
            decode(&b, &address),
            Err(IndexFileError::Checksum {
                offset: good.len() - 32
            })
        );
        let mut b = good.clone();
        b[8] = 2;
        assert_eq!(
            decode(&resealed(b), &address),
            Err(IndexFileError::Version { found: 2 })
        );
        let other = ContentHash::from_bytes([2; 32]);
        let e = decode(&good, &other).unwrap_err();
        assert_eq!(
            e,
            IndexFileError::Stale {
                built_from: address
            }
        );
        assert!(e.to_string().contains("stale"), "{e}");
        let mut b = good.clone();
        b[56] = 9;
        assert_eq!(
            decode(&resealed(b), &address),
            Err(IndexFileError::HeaderMismatch {
                field: "record count",
                header: 9,
                payload: 2
            })
        );

        let mut ix = index();
        ix.offsets = vec![4096, 4096];
        let b = encode(&address, &ix).unwrap();
        assert_eq!(
            decode(&b, &address),
            Err(IndexFileError::Offsets { position: 1 })
        );
        let mut ix = index();
        ix.symbols.insert("XYZ".into(), vec![0, 2]);
        let b = encode(&address, &ix).unwrap();
        assert_eq!(
            decode(&b, &address),
            Err(IndexFileError::PostingOrder {
                list: "symbols",
                key: "XYZ".into()
            })
        );
    }
}
