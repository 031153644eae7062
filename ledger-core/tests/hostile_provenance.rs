//! `verify_migration` (what `ledger verify --previous OLD` runs) cannot be
//! fooled: it recomputes what it vouches for in the old ledger. A
//! provenance record claiming an empty (or shorter) old ledger, a new
//! ledger cut short, a wrong head hash or count, and an edit made to both
//! ledgers (the old one's CRC and file name fixed, the new one's chain
//! recomputed) are all refused, each with a problem naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use ledger_core::chain::genesis;
use ledger_core::{migrate, verify_dir, verify_migration, MigrateOptions, Provenance};
use ledger_core::{
    ContentHash, Durability, Entry, Kind, Reader, Record, SchemaVersion, Timestamp, VerifyOptions,
    Writer, WriterOptions,
};

/// An old ledger of `n` plain records over several segments.
fn build_old(dir: &Path, n: u64) {
    let mut w = Writer::create(dir, small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, 0, n);
    w.close().unwrap();
}

/// Every record of the ledger in `dir` (CRCs checked, the chain not).
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
    let report = verify_dir(old, &VerifyOptions::default()).unwrap();
    let head = report.head.unwrap();
    Provenance {
        old_ledger: report.ledger_id.unwrap(),
        old_head_seq: head.seq.get(),
        old_head_hash: head.chain_hash,
        old_format: Reader::open(old).unwrap().meta().version as u16,
        records: head.seq.get(),
        migrated_at: Timestamp::from_nanos(1),
        upcast: false,
    }
}

/// What a forger with write access builds: a new ledger (its chain
/// computed by the writer, so it verifies intact) starting with
/// `provenance` and holding `copied`.
fn forge_new(new: &Path, provenance: &Provenance, copied: &[Record]) {
    let mut w =
        Writer::create(new, WriterOptions::default().durability(Durability::NoSync)).unwrap();
    let first = copied
        .first()
        .map_or(Timestamp::from_nanos(0), |r| r.timestamp);
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
    assert!(
        verify_dir(new, &VerifyOptions::default())
            .unwrap()
            .is_intact(),
        "the forged new ledger verifies on its own"
    );
}

#[track_caller]
fn assert_problem(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "no problem mentions {needle:?}: {problems:#?}"
    );
}

#[test]
fn an_honest_migration_still_holds() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (root.path().join("old"), root.path().join("new"));
    build_old(&old, 200);
    let _ = migrate(&old, &new, &MigrateOptions::default()).unwrap();
    assert_eq!(
        verify_migration(&new, &old, None).unwrap(),
        Vec::<String>::new()
    );
    // Records appended to the new ledger afterwards are its own.
    let mut w = Writer::open(
        &new,
        WriterOptions::default().durability(Durability::NoSync),
    )
    .unwrap();
    let _ = append_range(&mut w, 200, 210);
    w.close().unwrap();
    assert_eq!(
        verify_migration(&new, &old, None).unwrap(),
        Vec::<String>::new()
    );
}

/// Issue 13, item 2 (a): the provenance names sequence 0 and the genesis
/// hash, so nothing of the old ledger was compared.
#[test]
fn a_provenance_claiming_an_empty_old_ledger_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (root.path().join("old"), root.path().join("new"));
    build_old(&old, 300);
    let id = Reader::open(&old).unwrap().ledger_id();
    let empty = Provenance {
        old_head_seq: 0,
        old_head_hash: genesis(&id),
        records: 0,
        ..honest_provenance(&old)
    };
    // The new ledger: 20 records, one of them rewritten.
    let mut copied: Vec<_> = records(&old).into_iter().take(20).collect();
    copied[3].payload[0] ^= 0xff;
    forge_new(&new, &empty, &copied);
    let problems = verify_migration(&new, &old, None).unwrap();
    assert_problem(
        &problems,
        "the provenance says the old ledger was empty, but it holds 300 record(s)",
    );
    assert_problem(
        &problems,
        "says 0 record(s) were copied, the old ledger holds 300",
    );
    assert_problem(&problems, "old record 4 and new record 5 differ");
    assert_problem(
        &problems,
        "the new ledger ends before old record 21: old records 21 to 300 were never carried over",
    );
}

#[test]
fn records_appended_to_the_old_ledger_after_the_migration_break_the_link() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (root.path().join("old"), root.path().join("new"));
    build_old(&old, 100);
    let _ = migrate(&old, &new, &MigrateOptions::default()).unwrap();
    let mut w = Writer::open(&old, small(Durability::NoSync)).unwrap();
    let _ = append_range(&mut w, 100, 103);
    w.close().unwrap();
    let problems = verify_migration(&new, &old, None).unwrap();
    assert_problem(
        &problems,
        "the provenance names old record 100 as the head, but the old ledger verifies to record 103: records 101 to 103 are not vouched for and were never carried over",
    );
    assert_problem(
        &problems,
        "old record 100 has the chain hash the provenance names: records 101 to 103 were appended to the old ledger after the migration",
    );
}

#[test]
fn a_new_ledger_cut_short_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (root.path().join("old"), root.path().join("new"));
    build_old(&old, 120);
    let copied: Vec<_> = records(&old).into_iter().take(20).collect();
    forge_new(&new, &honest_provenance(&old), &copied);
    let problems = verify_migration(&new, &old, None).unwrap();
    assert_eq!(
        problems,
        vec!["the new ledger ends before old record 21: old records 21 to 120 were never carried over"
            .to_owned()]
    );
}

#[test]
fn a_provenance_naming_another_head_or_count_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    build_old(&old, 100);
    let all = records(&old);
    let honest = honest_provenance(&old);
    let cases = [
        (
            Provenance {
                old_head_seq: 60,
                old_head_hash: all[59].chain_hash,
                records: 60,
                ..honest
            },
            "records 61 to 100 were appended to the old ledger after the migration",
        ),
        (
            Provenance {
                old_head_seq: 101,
                records: 101,
                ..honest
            },
            "the provenance names old record 101 as the head, but the old ledger verifies only to record 100",
        ),
        (
            Provenance {
                old_head_hash: all[0].chain_hash,
                ..honest
            },
            "the old ledger's head, record 100, has chain hash",
        ),
        (
            Provenance {
                records: 7,
                ..honest
            },
            "the provenance says 7 record(s) were copied, the old ledger holds 100",
        ),
        (
            Provenance {
                old_format: 99,
                ..honest
            },
            "the provenance names format v99",
        ),
    ];
    for (i, (p, needle)) in cases.iter().enumerate() {
        let new = root.path().join(format!("new{i}"));
        forge_new(&new, p, &all);
        let problems = verify_migration(&new, &old, None).unwrap();
        assert_problem(&problems, needle);
    }
}

/// Issue 13, item 2 (b): record 36 edited in the old ledger (its CRC and
/// its segment's file name fixed, so only the chain shows it) and the same
/// edit in the new ledger, whose chain the writer recomputed.
#[test]
fn an_edit_in_the_old_ledger_copied_into_the_new_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (root.path().join("old"), root.path().join("new"));
    build_old(&old, 300);
    let honest = honest_provenance(&old);
    edit_sealed_record(&old, 36);
    let report = verify_dir(&old, &VerifyOptions::default()).unwrap();
    assert!(!report.is_intact(), "the old ledger's chain shows the edit");
    let copied = records(&old);
    assert_ne!(copied[35].payload, payload(35), "record 36 was edited");
    forge_new(&new, &honest, &copied);
    let problems = verify_migration(&new, &old, None).unwrap();
    assert_problem(&problems, "the old ledger is damaged");
    assert_problem(&problems, "the provenance cannot vouch for it");
}

/// Flips a byte of record `seq`'s payload in the sealed segment holding it,
/// fixes the record's CRC and renames the file to its new content address:
/// only the chain link to the next record shows the edit.
fn edit_sealed_record(dir: &Path, seq: u64) {
    for name in sealed_files(dir) {
        let path = dir.join(&name);
        let mut bytes = std::fs::read(&path).unwrap();
        let mut at = 4096;
        loop {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            if len == u32::MAX as usize {
                break;
            }
            let s = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap());
            if s == seq {
                bytes[at + 24] ^= 0x01;
                let crc = crc32fast::hash(&bytes[at..at + len - 4]);
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
