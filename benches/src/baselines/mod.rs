//! The alternatives the ledger is compared with, each doing the same work
//! on the same events: stamp the event with the current time, link it into
//! a hash chain over its stored bytes, and store it.
//!
//! | type | what it is |
//! | --- | --- |
//! | [`SqliteChain`] | an SQLite table (bundled SQLite via rusqlite, WAL), a prepared `INSERT` per event, each row carrying `blake3(previous row's hash \|\| row bytes)`; a commit per event or per batch |
//! | [`JsonlJournal`] | a JSON-lines audit journal: one `serde_json` line per event with the payload in base64 and `sha256(previous hash \|\| line)` appended to the line, written through a `BufWriter`, flushed per batch or per event |
//! | [`BatpakStore`] | [batpak](https://crates.io/crates/batpak), an embedded hash-chained event store, used as its documentation shows (`Store::append`, `Store::append_batch`) with its default durability |
//! | [`chain_record`] / [`MmapCopy`](crate::MmapCopy) | the physical limits: the bare blake3 chain over the ledger's own record bytes, and copying those bytes into a memory map |
//!
//! Every store lives in a temporary folder (see [`temp_dir`](crate::temp_dir))
//! and counts the events it still has [`room`](crate::Room) for, so that the
//! benchmarks replace it before it grows without bound.

mod batpak_store;
mod jsonl;
mod sqlite;

use std::path::Path;

use ledger_core::segment::record::{self, NewRecord};
use ledger_core::{ChainHash, Kind, SchemaVersion, Seq, Timestamp};

pub use batpak_store::BatpakStore;
pub use jsonl::{Flush, JsonlJournal};
pub use sqlite::{SqliteChain, Synchronous};

/// Events per batch (one transaction, one flush, one `append_batch`) in
/// every batched mode, the ledger's included.
pub const BATCH: usize = 1000;

/// The kind every baseline stores (the ledger's entries are kind 1 too).
pub const KIND: u16 = 1;

/// The current time in nanoseconds since the Unix epoch, as the ledger
/// stamps its records.
#[inline]
pub fn now_nanos() -> i64 {
    Timestamp::now().as_nanos()
}

/// Bytes of every file under `dir` (their lengths, recursively).
pub fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let meta = e.metadata()?;
        if meta.is_dir() {
            total += dir_bytes(&e.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

/// The ledger's own encoding of one record with `payload` (sequence 1,
/// the current time, kind 1), and how many of its leading bytes the chain
/// hash covers: the bytes the bare-chain baseline hashes.
pub fn chain_record(payload: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let _ = record::encode_into(
        &mut out,
        &NewRecord {
            seq: Seq::new(1),
            timestamp: Timestamp::now(),
            kind: Kind::new(KIND),
            version: SchemaVersion::new(1),
            payload,
        },
        &ChainHash::from_bytes([7; 32]),
    );
    (out, record::HEADER_LEN + payload.len())
}

/// The bare chain hash of the design: `blake3(prev || hashed)`, nothing else.
#[inline]
pub fn link(prev: &ChainHash, hashed: &[u8]) -> ChainHash {
    ledger_core::chain::link(prev, hashed)
}

/// The row bytes the SQLite baseline chains over: sequence, time, kind
/// (little-endian), then the payload, hashed as `blake3(prev || bytes)`.
#[inline]
fn chain_row(prev: &[u8; 32], seq: i64, ts: i64, kind: u16, payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(prev);
    h.update(&seq.to_le_bytes());
    h.update(&ts.to_le_bytes());
    h.update(&kind.to_le_bytes());
    h.update(payload);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_row_depends_on_every_field() {
        let a = chain_row(&[0; 32], 1, 2, 3, b"x");
        assert_ne!(a, chain_row(&[1; 32], 1, 2, 3, b"x"));
        assert_ne!(a, chain_row(&[0; 32], 2, 2, 3, b"x"));
        assert_ne!(a, chain_row(&[0; 32], 1, 3, 3, b"x"));
        assert_ne!(a, chain_row(&[0; 32], 1, 2, 4, b"x"));
        assert_ne!(a, chain_row(&[0; 32], 1, 2, 3, b"y"));
    }

    #[test]
    fn chain_record_covers_header_and_payload() {
        let (rec, hashed) = chain_record(&[9; 200]);
        assert!(rec.len() >= hashed);
        assert_eq!(hashed, record::HEADER_LEN + 200);
    }
}
