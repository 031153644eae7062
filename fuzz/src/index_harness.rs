//! The body of the `index_file` fuzz target.
//!
//! Shared like `harness.rs`: `ledger-domain/tests/fuzz_corpus.rs` includes
//! it with `#[path]`, and provides `crate::ix` (the `ledger-index` items it
//! uses), as the fuzz crate's library does.

use std::sync::Arc;

use ledger_core::storage::{MemStorage, SegmentMap, Storage};
use ledger_core::{ContentHash, Seq, Timestamp};
use ledger_domain::{EventKind, TradingKeys};

use crate::harness::Input;
use crate::ix::{file, Query, SegmentIndex};

const HEAD: usize = 72;

/// The key families the index files are read with: the trading domain's
/// (the corpus holds index files of trading ledgers).
const FAMILIES: [&str; 5] = TradingKeys::FAMILIES;

/// Arbitrary bytes as an index file, decoded with `ledger_index::file::decode`:
///
/// - the first input byte is a mode; with bit 0 the rest is taken as the
///   file's body (magic, version and the payload length field are fixed up
///   with bit 1, then the correct blake3 trailer is appended) so the checks
///   behind the checksum are reached; without it the rest is the file as is;
/// - the content address the caller expects is the file's own (bit 2 clear)
///   or another one.
///
/// An index that decodes must have as many offsets as its count says,
/// re-encode to bytes that decode to the same index, answer queries
/// against a segment map without panicking, and never be found to agree
/// with bytes that are not a segment. Query bounds are drawn full width
/// (sequences and times up to `u64::MAX` / `i64::MAX`).
pub fn index_file(data: &[u8]) {
    let mut inp = Input::new(data);
    let mode = inp.u8();
    let query_bytes = inp.bytes(48).to_vec();
    let mut body = inp.rest().to_vec();
    if mode & 1 == 1 {
        if mode & 2 == 2 {
            if body.len() < HEAD {
                body.resize(HEAD, 0);
            }
            body[..8].copy_from_slice(b"\x89LGRIDX\n");
            body[8..10].copy_from_slice(&file::VERSION.to_le_bytes());
            let n = (body.len() - HEAD) as u64;
            body[64..72].copy_from_slice(&n.to_le_bytes());
        }
        let sum = ContentHash::of(&body);
        body.extend_from_slice(sum.as_bytes());
    }
    let own = body
        .get(16..48)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map_or(ContentHash::from_bytes([0; 32]), ContentHash::from_bytes);
    let address = if mode & 4 == 0 {
        own
    } else {
        ContentHash::from_bytes([0x5a; 32])
    };
    let ix = match file::decode(&body, &address, FAMILIES.len()) {
        Ok(ix) => ix,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(ix.keys.len(), FAMILIES.len(), "one posting map per family");
    assert_eq!(
        ix.count() as usize,
        ix.offsets.len(),
        "count and offsets disagree"
    );
    let again = file::encode(&address, &ix)
        .unwrap_or_else(|e| panic!("a decoded index does not re-encode: {e}"));
    let back = file::decode(&again, &address, FAMILIES.len())
        .unwrap_or_else(|e| panic!("a re-encoded index does not decode: {e}"));
    assert_eq!(back, ix, "index round trip");
    query(&ix, &query_bytes);
}

/// Runs a query built from `q` against `ix` over a small segment map.
fn query(ix: &SegmentIndex, q: &[u8]) {
    let mut inp = Input::new(q);
    let st = MemStorage::new();
    let _ = st.create_root();
    // Plausible timestamps at the offsets the index names, where they fit.
    let mut bytes = vec![0u8; 8192];
    for (i, &off) in ix.offsets.iter().enumerate().take(64) {
        let at = off as usize + 16;
        if at + 8 <= bytes.len() {
            bytes[at..at + 8].copy_from_slice(&(i as i64 * 1000).to_le_bytes());
        }
    }
    // No index agrees with bytes that are not a segment (the check a
    // loaded index file must pass before a query uses it).
    assert!(
        ix.check_against("s", &bytes).is_err(),
        "an index agrees with a zeroed file"
    );
    if st.set_file_bytes("s", &bytes).is_err() {
        return;
    }
    let map: Arc<dyn SegmentMap> = match st.map_segment("s") {
        Ok(m) => m,
        Err(_) => return,
    };
    let flags = inp.u8();
    let opt = |on: bool, v: u64| on.then_some(v);
    // Full-width bounds (a 32-bit `to_seq` hid an overflow at u64::MAX).
    let mut query = Query {
        from_seq: opt(flags & 1 != 0, inp.u64()).map(Seq::new),
        to_seq: opt(flags & 2 != 0, inp.u64()).map(Seq::new),
        from_time: opt(flags & 4 != 0, inp.u64()).map(|t| Timestamp::from_nanos(t as i64)),
        to_time: opt(flags & 8 != 0, inp.u64()).map(|t| Timestamp::from_nanos(t as i64)),
        ..Query::default()
    };
    if flags & 16 != 0 {
        let k = EventKind::ALL[usize::from(inp.u8()) % EventKind::ALL.len()];
        query.kinds.push(k.into());
    }
    // A key of the symbol, trade and session families, as flagged.
    for (flag, family) in [(32, 0), (64, 1), (128, 4)] {
        if flags & flag != 0 {
            let i = usize::from(inp.u8());
            let postings = &ix.keys[family];
            if let Some(k) = postings.keys().nth(i % postings.len().max(1)) {
                query = query.key(FAMILIES[family], k.as_str());
            }
        }
    }
    // Positions must be usable as indexes into `offsets` (the query
    // iterator indexes with them). Their order is not asserted: see
    // `fuzz/README.md` ("Findings") on unsorted posting lists.
    let picks = ix.candidates(map.as_ref(), &query, &FAMILIES);
    for &i in &picks {
        assert!(
            (i as usize) < ix.offsets.len(),
            "candidate {i} past the {} records",
            ix.offsets.len()
        );
    }
    let _ = ix.position(Seq::new(inp.u64()));
}
