//! The blake3 hash chain.
//!
//! `chain_hash(n) = blake3(chain_hash(n - 1) || hashed bytes of record n)`,
//! where the hashed bytes are the record exactly as stored, from its first
//! byte up to (not including) the chain hash field. Record 1 links to the
//! genesis hash, derived from the ledger's id. The chain runs on across
//! segments: a segment's header stores the hash its first record links to.

use crate::types::{ChainHash, LedgerId};

/// The blake3 `derive_key` context for the genesis hash.
pub const GENESIS_CONTEXT: &str = "tradeledger 2026-11 genesis chain hash v1";

/// The hash the first record of the ledger `id` links to:
/// `blake3::derive_key(GENESIS_CONTEXT, id)`.
pub fn genesis(id: &LedgerId) -> ChainHash {
    ChainHash::from_bytes(blake3::derive_key(GENESIS_CONTEXT, id.as_bytes()))
}

/// `blake3(prev || hashed)`.
#[inline]
pub fn link(prev: &ChainHash, hashed: &[u8]) -> ChainHash {
    let mut h = blake3::Hasher::new();
    h.update(prev.as_bytes());
    h.update(hashed);
    ChainHash::from_bytes(*h.finalize().as_bytes())
}

/// `blake3(prev || len || rest)`: [`link`] over hashed bytes given as the
/// record's length word and the bytes after it (the writer encodes a record
/// in place, its length word still unpublished).
#[inline]
pub fn link_parts(prev: &ChainHash, len: &[u8; 4], rest: &[u8]) -> ChainHash {
    let mut h = blake3::Hasher::new();
    h.update(prev.as_bytes());
    h.update(len);
    h.update(rest);
    ChainHash::from_bytes(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_depends_on_the_id_and_link_on_both_inputs() {
        let a = genesis(&LedgerId::from_bytes([1; 16]));
        let b = genesis(&LedgerId::from_bytes([2; 16]));
        assert_ne!(a, b);
        assert_ne!(link(&a, b"x"), link(&b, b"x"));
        assert_ne!(link(&a, b"x"), link(&a, b"y"));
        let mut concat = a.as_bytes().to_vec();
        concat.extend_from_slice(b"record");
        assert_eq!(
            link(&a, b"record").as_bytes(),
            blake3::hash(&concat).as_bytes()
        );
    }
}
