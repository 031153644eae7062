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

fn undelta(p: &mut Postings) -> Result<(), String> {
    for v in p.values_mut() {
        let mut acc: u32 = 0;
        for x in v.iter_mut() {
            acc = acc.checked_add(*x).ok_or("posting list overflows")?;
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
pub fn encode(address: &ContentHash, ix: &SegmentIndex) -> Result<Vec<u8>, String> {
    let payload = postcard::to_allocvec(&delta_encoded(ix)).map_err(|e| e.to_string())?;
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
pub fn decode(b: &[u8], address: &ContentHash) -> Result<SegmentIndex, String> {
    if b.len() < HEAD + 32 {
        return Err(format!("{} bytes is too short for an index file", b.len()));
    }
    let (body, sum) = b.split_at(b.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err("checksum mismatch (damaged or truncated)".into());
    }
    if b.get(..8) != Some(&MAGIC[..]) {
        return Err("bad magic bytes".into());
    }
    let version = b.get(8..10).map(|v| u16::from_le_bytes([v[0], v[1]]));
    if version != Some(VERSION) {
        return Err(format!(
            "index format {version:?} is not this build's ({VERSION})"
        ));
    }
    if b.get(16..48) != Some(&address.as_bytes()[..]) {
        return Err("built from other bytes than this segment's (stale)".into());
    }
    let len = u64_at(b, 64).unwrap_or(u64::MAX) as usize;
    if HEAD.checked_add(len) != Some(body.len()) {
        return Err("payload length does not match the file".into());
    }
    let mut ix: SegmentIndex =
        postcard::from_bytes(&body[HEAD..]).map_err(|e| format!("payload does not decode: {e}"))?;
    for p in [
        &mut ix.symbols,
        &mut ix.trades,
        &mut ix.decisions,
        &mut ix.orders,
        &mut ix.sessions,
    ] {
        undelta(p)?;
    }
    if u64_at(b, 48) != Some(ix.first_seq) || u64_at(b, 56) != Some(u64::from(ix.count())) {
        return Err("header and payload disagree".into());
    }
    check_order(&ix)?;
    Ok(ix)
}

/// Every list must be strictly increasing and point inside the segment, so
/// a query never returns records twice or out of order.
fn check_order(ix: &SegmentIndex) -> Result<(), String> {
    let increasing = |v: &[u32]| v.windows(2).all(|w| w[0] < w[1]);
    if !increasing(&ix.offsets) || ix.offsets.first().is_some_and(|&o| o < 4096) {
        return Err("record offsets are not increasing".into());
    }
    let n = ix.count();
    let lists = ix
        .kinds
        .values()
        .chain(ix.symbols.values())
        .chain(ix.trades.values())
        .chain(ix.decisions.values())
        .chain(ix.orders.values())
        .chain(ix.sessions.values());
    for v in lists {
        if !increasing(v) || v.last().is_some_and(|&x| x >= n) {
            return Err("a posting list is out of order or points past the segment".into());
        }
    }
    Ok(())
}
