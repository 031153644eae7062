#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ledger verify --previous OLD` cannot be fooled (issue 13, item 2): a
//! provenance record claiming an empty old ledger in front of a rewritten,
//! shortened new ledger, and an edit made to both ledgers (the old one's
//! CRC and file name fixed, the new one's chain recomputed), are refused
//! with a problem naming them and exit 1.

mod common;

use std::path::Path;

use common::{assert_contains, demo, json, ok, on, path_str, sealed_segments};
use ledger_core::chain::genesis;
use ledger_core::{
    ContentHash, Durability, Entry, Kind, Provenance, Reader, Record, SchemaVersion, Timestamp,
    Writer, WriterOptions,
};
use ledger_domain::{codec, Decimal, Event};

/// Every record of the ledger in `dir`.
fn records(dir: &Path) -> Vec<Record> {
    Reader::open(dir)
        .unwrap()
        .cursor()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The provenance an honest migration of `old` writes.
fn honest_provenance(old: &Path) -> Provenance {
    let v = json(&ok(on(old, &["verify", "--json"])));
    let seq = v["head"]["seq"].as_u64().unwrap();
    Provenance {
        old_ledger: Reader::open(old).unwrap().ledger_id(),
        old_head_seq: seq,
        old_head_hash: ledger_core::ChainHash::from_hex(v["head"]["chain_hash"].as_str().unwrap())
            .unwrap(),
        old_format: Reader::open(old).unwrap().meta().version as u16,
        records: seq,
        migrated_at: Timestamp::from_nanos(1),
        upcast: false,
    }
}

/// A new ledger starting with `provenance` and holding `copied`, its chain
/// computed by the writer (so it verifies intact on its own).
fn forge_new(new: &Path, provenance: &Provenance, copied: &[Record]) {
    let mut w =
        Writer::create(new, WriterOptions::default().durability(Durability::NoSync)).unwrap();
    let first = copied[0].timestamp;
    let _ = w
        .append(
            &Entry::new(
                Kind::PROVENANCE,
                SchemaVersion::new(1),
                &provenance.encode(),
            )
            .at(first),
        )
        .unwrap();
    for r in copied {
        let _ = w
            .append(&Entry::new(r.kind, r.version, &r.payload).at(r.timestamp))
            .unwrap();
    }
    w.close().unwrap();
    let run = ok(on(new, &["verify"]));
    assert_contains(&run.stdout, "result: intact");
}

/// Issue 13, item 2 (a): the provenance names sequence 0 with the genesis
/// hash; the new ledger holds 20 records, T3's close among them with its
/// P&L changed. Before the fix: "provenance: the link holds", exit 0.
#[test]
fn verify_previous_refuses_a_provenance_claiming_an_empty_old_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    demo(&old, 1000);
    let all = records(&old);
    let id = Reader::open(&old).unwrap().ledger_id();
    let forged = Provenance {
        old_head_seq: 0,
        old_head_hash: genesis(&id),
        records: 0,
        ..honest_provenance(&old)
    };
    // The first 19 records, then T3's close claiming a P&L of 1,000,000.
    let mut copied: Vec<_> = all.iter().take(19).cloned().collect();
    let mut close = all
        .iter()
        .find(|r| {
            matches!(codec::decode(r.kind, r.version, &r.payload),
                Ok(Event::TradeClosed(c)) if c.trade_id.as_str() == "T3")
        })
        .expect("T3 closes in the demo")
        .clone();
    let Ok(Event::TradeClosed(mut c)) = codec::decode(close.kind, close.version, &close.payload)
    else {
        unreachable!()
    };
    c.realized_pnl = Decimal::from_int(1_000_000);
    close.payload.clear();
    let _ = codec::encode(&Event::TradeClosed(c), &mut close.payload).unwrap();
    copied.push(close);
    forge_new(&new, &forged, &copied);

    let run = on(&new, &["verify", "--previous", path_str(&old)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &format!(
            "provenance: the provenance says the old ledger was empty, but it holds {} record(s)",
            all.len()
        ),
    );
    assert_contains(&run.stdout, "old record 20 and new record 21 differ");
    assert_contains(
        &run.stdout,
        &format!(
            "provenance: the new ledger ends before old record 21: old records 21 to {} were never carried over",
            all.len()
        ),
    );
    assert_contains(&run.stdout, "DOES NOT HOLD");
    assert!(!run.stdout.contains(" holds\n"), "{}", run.stdout);

    let run = on(&new, &["verify", "--json", "--previous", path_str(&old)]);
    assert_eq!(run.code, 1, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["intact"], true, "the new ledger alone verifies");
    assert_eq!(v["provenance"]["holds"], false);
    assert!(v["provenance"]["problems"].as_array().unwrap().len() >= 3);
}

/// Issue 13, item 2 (b): record 36 edited in the old ledger (CRC and file
/// name fixed) and the same edit in the new ledger, its chain recomputed.
/// Before the fix: "provenance: the link holds" while `ledger -d OLD
/// verify` said DAMAGED.
#[test]
fn verify_previous_refuses_an_edit_made_to_both_ledgers() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    demo(&old, 1000);
    let honest = honest_provenance(&old);
    edit_sealed_record(&old, 36);
    let run = on(&old, &["verify"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "result: DAMAGED");
    forge_new(&new, &honest, &records(&old));

    let run = on(&new, &["verify", "--previous", path_str(&old)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        "provenance: the old ledger is damaged (1 finding(s)",
    );
    assert_contains(&run.stdout, "the provenance cannot vouch for it");
    assert_contains(&run.stdout, "DOES NOT HOLD");
    assert!(!run.stdout.contains(" holds\n"), "{}", run.stdout);
}

/// An honest migration still holds, through the command line.
#[test]
fn verify_previous_accepts_an_honest_migration() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    demo(&old, 200);
    let _ = ok(on(&old, &["migrate", "--to", path_str(&new), "--upcast"]));
    let run = ok(on(&new, &["verify", "--previous", path_str(&old)]));
    assert_contains(&run.stdout, "provenance: the link to");
    assert!(run.stdout.trim_end().ends_with("holds"), "{}", run.stdout);
    let v = json(&ok(on(
        &new,
        &["verify", "--json", "--previous", path_str(&old)],
    )));
    assert_eq!(v["provenance"]["holds"], true);
}

/// CRC-32/ISO-HDLC, as records store it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Flips a byte of record `seq`'s payload in the sealed segment holding it,
/// fixes the record's CRC and renames the file to its new content address.
fn edit_sealed_record(dir: &Path, seq: u64) {
    for path in sealed_segments(dir) {
        let name = common::file_name(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        let mut at = 4096;
        loop {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            if len == u32::MAX as usize {
                break;
            }
            let s = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap());
            if s == seq {
                bytes[at + 24 + (len - 60) / 2] ^= 0x01;
                let crc = crc32(&bytes[at..at + len - 4]);
                bytes[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
                std::fs::remove_file(&path).unwrap();
                let renamed = format!("{}-{}.seg", &name[..10], ContentHash::of(&bytes).to_hex());
                std::fs::write(dir.join(renamed), &bytes).unwrap();
                return;
            }
            at += len.next_multiple_of(8);
        }
    }
    panic!("record {seq} is in no sealed segment");
}
