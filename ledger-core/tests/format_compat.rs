//! Format compatibility: a ledger written by format version 1 (kept as a
//! fixture) still reads, verifies and continues; the record envelope still
//! encodes to the same bytes. A format change must bump the version and keep
//! this passing for the old fixture (docs/FORMAT.md, "Versions").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::chain_records;
use ledger_core::segment::record::{encode_into, NewRecord};
use ledger_core::{verify_dir, VerifyOptions};
use ledger_core::{
    ChainHash, Durability, Entry, Kind, Reader, SchemaVersion, Seq, Timestamp, Writer,
    WriterOptions,
};

const V1_HEAD: &str = "dc699a122145d25394e54de6d29847b90a84824d897982969f3d756078007bde";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

/// The payload `examples/write_sample.rs` wrote for record `i`.
fn sample_payload(i: u64) -> Vec<u8> {
    format!(
        "{{\"sample\":{i},\"note\":\"{}\"}}",
        "x".repeat((i % 50) as usize)
    )
    .into_bytes()
}

#[test]
fn the_v1_fixture_reads_and_verifies() {
    let report = verify_dir(fixture(), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.records, 120);
    assert_eq!(report.head.unwrap().chain_hash.to_hex(), V1_HEAD);
    let records = chain_records(Reader::open(fixture()).unwrap());
    assert_eq!(records.len(), 120);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.payload, sample_payload(i as u64));
        assert_eq!(r.kind, Kind::new(1 + (i % 5) as u16));
        assert_eq!(
            r.timestamp,
            Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 1_000_000)
        );
    }
}

#[test]
fn a_v1_ledger_continues_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let mut w = Writer::open(
        dir.path(),
        WriterOptions::default()
            .segment_size(16 << 10)
            .durability(Durability::NoSync),
    )
    .unwrap();
    assert!(w.recovery_report().is_clean());
    assert_eq!(w.head().unwrap().chain_hash.to_hex(), V1_HEAD);
    let r = w
        .append(&Entry::new(Kind::new(9), SchemaVersion::new(1), b"after"))
        .unwrap();
    assert_eq!(r.seq, Seq::new(121));
    w.close().unwrap();
    assert!(verify_dir(dir.path(), &VerifyOptions::default())
        .unwrap()
        .is_intact());
}

#[test]
fn the_record_envelope_encodes_to_the_same_bytes() {
    let mut out = Vec::new();
    let hash = encode_into(
        &mut out,
        &NewRecord {
            seq: Seq::new(1),
            timestamp: Timestamp::from_nanos(1_700_000_000_000_000_000),
            kind: Kind::new(3),
            version: SchemaVersion::new(2),
            payload: b"golden",
        },
        &ChainHash::from_bytes([0u8; 32]),
    );
    assert_eq!(out.len(), 72);
    assert_eq!(
        hex(&out[..30]),
        "4200000003000200010000000000000000002a36fe9c9717676f6c64656e"
    );
    assert_eq!(hash.to_hex(), hex(&out[30..62]));
    // The chain hash is blake3(prev || bytes [0, 30)).
    let mut input = vec![0u8; 32];
    input.extend_from_slice(&out[..30]);
    assert_eq!(blake3::hash(&input).as_bytes(), hash.as_bytes());
    assert_eq!(&out[62..66], &crc(&out[..62]).to_le_bytes());
    assert_eq!(&out[66..], &[0u8; 6]);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// CRC-32/ISO-HDLC, bit by bit: independent of the crc32fast crate.
fn crc(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}
