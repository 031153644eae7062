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
//! The payload, in postcard order: `first_seq`, `offsets`, `times`, `kinds`,
//! then one posting map per key family of the domain's [`KeyExtractor`], in
//! its order (for the trading domain: symbols, trades, decisions, orders,
//! sessions), then `end`. The file does not name the families: it is read
//! with the extractor of the ledger's domain, which must keep its families
//! and their order (the payload must be consumed exactly, so a file written
//! with another number of families is refused).
//!
//! A missing, damaged (checksum), stale (another segment's address, other
//! first sequence) or unknown-version index file is never trusted: the
//! index is rebuilt from the segment and the file rewritten. The checksum
//! is plain blake3, which anyone can recompute: a file that decodes is
//! still checked against its segment's records before and while it is
//! used (`docs/FORMAT.md`, "An index file never changes an answer").
//!
//! [`KeyExtractor`]: crate::KeyExtractor

use std::collections::BTreeMap;

use ledger_core::ContentHash;

use crate::segment_index::{Postings, SegmentIndex};

const MAGIC: [u8; 8] = *b"\x89LGRIDX\n";
/// The index format version this build writes and reads.
pub const VERSION: u16 = 1;
const HEAD: usize = 72;

/// Why an index file cannot be trusted (it is then rebuilt from its segment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileDefect {
    /// Shorter than a header and a checksum.
    #[error("{len} bytes is too short for an index file")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The blake3 trailer does not match the bytes.
    #[error("checksum mismatch (damaged or truncated)")]
    Checksum,
    /// Not an index file.
    #[error("bad magic bytes")]
    Magic,
    /// An index format this build does not read.
    #[error("index format {found} is not this build's ({VERSION})")]
    Version {
        /// The version found.
        found: u16,
    },
    /// Built from another segment's bytes.
    #[error("built from other bytes than this segment's (stale)")]
    Stale,
    /// Built for a segment starting at another sequence.
    #[error("first sequence differs from the segment's")]
    FirstSeq,
    /// The payload length field disagrees with the file's length.
    #[error("payload length does not match the file")]
    Length,
    /// The payload is not a segment index of this domain's key families.
    #[error("payload does not decode: {0}")]
    Payload(#[source] postcard::Error),
    /// The payload decodes but leaves bytes over (written with more key
    /// families than the domain has).
    #[error("payload does not decode: {0} bytes left over")]
    Trailing(usize),
    /// A delta-encoded posting list sums past `u32::MAX`.
    #[error("posting list overflows")]
    Overflow,
    /// Header and payload name different first sequences or counts.
    #[error("header and payload disagree")]
    Disagree,
    /// Record offsets that do not increase or point into the header.
    #[error("record offsets are not increasing")]
    Offsets,
    /// A posting list out of order or past the segment's records.
    #[error("a posting list is out of order or points past the segment")]
    Postings,
    /// The index disagrees with the records of its segment (record count,
    /// offsets, time samples or kind lists; checked before it is used).
    #[error("does not match its segment: {what}")]
    Segment {
        /// The first disagreement found.
        what: String,
    },
    /// A record the index names for a query is not one the query selects,
    /// or not a record of the chain at that place.
    #[error("names record {seq} for a query it does not match: {why}")]
    FalseHit {
        /// The sequence the index gives the record.
        seq: u64,
        /// What the record's bytes say.
        why: String,
    },
    /// A record of the segment that has a key is missing from the key's
    /// list.
    #[error("leaves out record {seq} from the list of {family} {key:?}, which it has")]
    LeftOut {
        /// The record left out.
        seq: u64,
        /// The key's family.
        family: String,
        /// The key.
        key: String,
    },
}

impl FileDefect {
    /// Whether the file holds a valid checksum and names this segment's
    /// content address, yet contradicts itself or its segment: no bit flip
    /// makes that (the checksum would fail), so the file was forged or
    /// written wrong. A checksum mismatch is damage; another segment's
    /// address (stale), another index format version or another number of
    /// key families are files this ledger cannot use; none of them is a
    /// forgery.
    pub fn is_forgery(&self) -> bool {
        matches!(
            self,
            FileDefect::Segment { .. }
                | FileDefect::FalseHit { .. }
                | FileDefect::LeftOut { .. }
                | FileDefect::FirstSeq
                | FileDefect::Disagree
                | FileDefect::Offsets
                | FileDefect::Postings
                | FileDefect::Overflow
        )
    }
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

fn undelta(p: &mut Postings) -> Result<(), FileDefect> {
    for v in p.values_mut() {
        let mut acc: u32 = 0;
        for x in v.iter_mut() {
            acc = acc.checked_add(*x).ok_or(FileDefect::Overflow)?;
            *x = acc;
        }
    }
    Ok(())
}

/// The fields before the key families, in payload order.
type Head = (u64, Vec<u32>, Vec<i64>, BTreeMap<u16, Vec<u32>>);

/// Encodes the index file of the segment with content address `address`.
pub fn encode(address: &ContentHash, ix: &SegmentIndex) -> Result<Vec<u8>, postcard::Error> {
    // Postcard writes a struct as its fields one after the other, so the
    // parts written in turn are the bytes of the whole.
    let mut payload = postcard::to_allocvec(&(&ix.first_seq, &ix.offsets, &ix.times, &ix.kinds))?;
    for p in &ix.keys {
        payload = postcard::to_extend(&delta(p), payload)?;
    }
    payload = postcard::to_extend(&ix.end, payload)?;
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

/// A varint (postcard's encoding of integers) at the start of `b`, and
/// the bytes after it.
fn varint(b: &[u8]) -> Result<(u64, &[u8]), FileDefect> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, &b[i + 1..]));
        }
    }
    Err(FileDefect::Payload(postcard::Error::DeserializeBadVarint))
}

/// The bytes after one family's posting map at the start of `b`, read
/// without building it (each entry consumes bytes, so this ends).
fn skip_postings(b: &[u8]) -> Result<&[u8], FileDefect> {
    let short = || FileDefect::Payload(postcard::Error::DeserializeUnexpectedEnd);
    let (keys, mut b) = varint(b)?;
    for _ in 0..keys {
        let (len, r) = varint(b)?;
        b = usize::try_from(len)
            .ok()
            .and_then(|l| r.get(l..))
            .ok_or_else(short)?;
        let (n, r) = varint(b)?;
        b = r;
        for _ in 0..n {
            b = varint(b)?.1;
        }
    }
    Ok(b)
}

/// Decodes the payload: the head, `families` posting maps (those not
/// `wanted` are skipped and left empty), `end`.
fn decode_payload(
    mut rest: &[u8],
    families: usize,
    wanted: &dyn Fn(usize) -> bool,
) -> Result<SegmentIndex, FileDefect> {
    let ((first_seq, offsets, times, kinds), r) =
        postcard::take_from_bytes::<Head>(rest).map_err(FileDefect::Payload)?;
    rest = r;
    let mut keys = Vec::with_capacity(families.min(64));
    for family in 0..families {
        if !wanted(family) {
            rest = skip_postings(rest)?;
            keys.push(Postings::new());
            continue;
        }
        let (mut p, r) =
            postcard::take_from_bytes::<Postings>(rest).map_err(FileDefect::Payload)?;
        undelta(&mut p)?;
        keys.push(p);
        rest = r;
    }
    let (end, rest) = postcard::take_from_bytes::<u32>(rest).map_err(FileDefect::Payload)?;
    if !rest.is_empty() {
        return Err(FileDefect::Trailing(rest.len()));
    }
    Ok(SegmentIndex {
        first_seq,
        offsets,
        times,
        kinds,
        keys,
        end,
    })
}

/// Decodes an index file of a domain with `families` key families and
/// checks that it belongs to the segment with content address `address`;
/// the error says why it cannot be trusted.
pub fn decode(
    b: &[u8],
    address: &ContentHash,
    families: usize,
) -> Result<SegmentIndex, FileDefect> {
    decode_families(b, address, families, &|_| true)
}

/// [`decode`], building only the posting maps of the families `wanted`
/// says (the others are read past and left empty: most of a file's bytes
/// and of its decoding time are the trade, decision and order maps, which
/// most queries do not use).
pub fn decode_families(
    b: &[u8],
    address: &ContentHash,
    families: usize,
    wanted: &dyn Fn(usize) -> bool,
) -> Result<SegmentIndex, FileDefect> {
    if b.len() < HEAD + 32 {
        return Err(FileDefect::TooShort { len: b.len() });
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(FileDefect::Checksum);
    }
    if b.get(..8) != Some(&MAGIC[..]) {
        return Err(FileDefect::Magic);
    }
    let version = b.get(8..10).map_or(0, |v| u16::from_le_bytes([v[0], v[1]]));
    if version != VERSION {
        return Err(FileDefect::Version { found: version });
    }
    if b.get(16..48) != Some(&address.as_bytes()[..]) {
        return Err(FileDefect::Stale);
    }
    let len = u64_at(b, 64).unwrap_or(u64::MAX) as usize;
    if HEAD.checked_add(len) != Some(body.len()) {
        return Err(FileDefect::Length);
    }
    let ix = decode_payload(&body[HEAD..], families, wanted)?;
    if u64_at(b, 48) != Some(ix.first_seq) || u64_at(b, 56) != Some(u64::from(ix.count())) {
        return Err(FileDefect::Disagree);
    }
    check_order(&ix)?;
    Ok(ix)
}

/// Every list must be strictly increasing and point inside the segment, so
/// a query never returns records twice or out of order.
fn check_order(ix: &SegmentIndex) -> Result<(), FileDefect> {
    let increasing = |v: &[u32]| v.windows(2).all(|w| w[0] < w[1]);
    if !increasing(&ix.offsets) || ix.offsets.first().is_some_and(|&o| o < 4096) {
        return Err(FileDefect::Offsets);
    }
    let n = ix.count();
    let lists = ix
        .kinds
        .values()
        .chain(ix.keys.iter().flat_map(|p| p.values()));
    for v in lists {
        if !increasing(v) || v.last().is_some_and(|&x| x >= n) {
            return Err(FileDefect::Postings);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_not_wanted_are_read_past_and_left_empty() {
        let mut ix = SegmentIndex::new(ledger_core::Seq::new(5), 3);
        ix.offsets = vec![4096, 4200, 4304];
        ix.times = vec![7];
        ix.kinds.insert(1, vec![0, 1, 2]);
        ix.keys[0].insert("a".into(), vec![0, 2]);
        ix.keys[1].insert("b".repeat(300), vec![1, 2]);
        ix.keys[1].insert("c".into(), vec![0]);
        ix.keys[2].insert("d".into(), vec![2]);
        ix.end = 4400;
        let address = ContentHash::from_bytes([7; 32]);
        let bytes = encode(&address, &ix).unwrap();
        assert_eq!(decode(&bytes, &address, 3).unwrap(), ix);
        let some = decode_families(&bytes, &address, 3, &|f| f == 1).unwrap();
        let mut expected = ix.clone();
        expected.keys[0].clear();
        expected.keys[2].clear();
        assert_eq!(some, expected);
        // A cut posting map is refused even when it is only read past.
        let mut cut = bytes[..bytes.len() - 40].to_vec();
        let n = (cut.len() - HEAD) as u64;
        cut[64..72].copy_from_slice(&n.to_le_bytes());
        let sum = blake3::hash(&cut);
        cut.extend_from_slice(sum.as_bytes());
        assert!(decode_families(&cut, &address, 3, &|_| false).is_err());
    }
}
