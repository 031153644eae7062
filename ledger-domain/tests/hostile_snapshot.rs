//! A forged projection snapshot cannot change what validation accepts or
//! what the views show (issue 13, item 7). The insider's snapshot: empty
//! projections bound to the real head (its ledger id, sequence and chain
//! hash are public), with the plain checksum of format 1 that anyone can
//! recompute, or in format 2 authenticated with a key of the insider's
//! choosing. Before the fix, `TradingLedger::open` started from it and then
//! accepted a duplicate `trade_opened T1` and a `trade_closed` claiming a
//! P&L of 1,000,000.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use ledger_core::{ChainHash, Durability, Reader, Seq, Timestamp, WriterOptions};
use ledger_domain::snapshot::{self, SnapshotKey, PROJECTION_SCHEMA};
use ledger_domain::*;
use ledger_tools::sim::{demo_session, DEMO_START};

/// The head a snapshot is bound to: sequence, chain hash, time.
type Head = (Seq, ChainHash, Timestamp);

/// Writes a forged snapshot bound to a head; returns its file name.
type Forger = fn(&Path, Head) -> String;

fn opts() -> WriterOptions {
    WriterOptions::default().durability(Durability::NoSync)
}

/// The demo session in `dir`; returns its head.
fn build(dir: &Path) -> Head {
    let mut l = TradingLedger::open(dir, opts()).unwrap();
    for (t, e) in demo_session("demo-1", "", DEMO_START) {
        let _ = l.append_at(t, &e).unwrap();
    }
    let head = l.projections().last.unwrap();
    l.close().unwrap();
    head
}

/// Empty projections that claim to have folded up to `head`.
fn empty_views(head: Head) -> Projections {
    Projections {
        last: Some(head),
        ..Projections::default()
    }
}

/// The forgery of the issue: format 1, its checksum a plain blake3.
fn forge_v1(dir: &Path, head: Head) -> String {
    let id = Reader::open(dir).unwrap().ledger_id();
    let payload = postcard::to_allocvec(&empty_views(head)).unwrap();
    let mut b = Vec::new();
    b.extend_from_slice(b"\x89LGRSNP\n");
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&PROJECTION_SCHEMA.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(id.as_bytes());
    b.extend_from_slice(&head.0.get().to_le_bytes());
    b.extend_from_slice(head.1.as_bytes());
    b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    b.extend_from_slice(&payload);
    let sum = blake3::hash(&b);
    b.extend_from_slice(sum.as_bytes());
    let name = snapshot::file_name(head.0);
    std::fs::write(dir.join(&name), b).unwrap();
    name
}

/// The same forgery in format 2, authenticated with the insider's own key.
fn forge_v2(dir: &Path, head: Head) -> String {
    let id = Reader::open(dir).unwrap().ledger_id();
    let insider = SnapshotKey::from_bytes([0x66; 32]);
    let (seq, bytes) = snapshot::encode(&id, &empty_views(head), &insider).unwrap();
    let name = snapshot::file_name(seq);
    std::fs::write(dir.join(&name), bytes).unwrap();
    name
}

/// The trade T1 opened again (long 1 at 40,000, no fees).
fn duplicate_open() -> Event {
    Event::TradeOpened(TradeOpened {
        session: "demo-1".into(),
        trade_id: "T1".into(),
        symbol: "BTC-USD".into(),
        direction: Direction::Long,
        qty: Decimal::from_int(1),
        price: Decimal::from_int(40_000),
        fees: Decimal::ZERO,
        decision_id: None,
        order_id: None,
    })
}

/// T1 closed at 1,040,000: a P&L of 1,000,000 on the duplicate's fill.
fn bogus_close() -> Event {
    Event::TradeClosed(TradeClosed {
        session: "demo-1".into(),
        trade_id: "T1".into(),
        symbol: "BTC-USD".into(),
        price: Decimal::from_int(1_040_000),
        fees: Decimal::ZERO,
        realized_pnl: Decimal::from_int(1_000_000),
        order_id: None,
    })
}

/// Appends `events` in order, each attempt's outcome as text (`Ok` with
/// the sequence, or the error), stopping after the first refusal.
fn attempt(l: &mut TradingLedger, events: &[Event]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        match l.append(e) {
            Ok(r) => out.push(format!("appended as {}", r.seq)),
            Err(e) => {
                out.push(format!("refused: {e}"));
                break;
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The views a fold of `dir`'s log gives.
fn fold_of(dir: &Path) -> Projections {
    replay(&Reader::open(dir).unwrap(), &ReplayOptions::default()).unwrap()
}

#[test]
fn a_forged_snapshot_does_not_let_a_duplicate_open_or_a_bogus_close_through() {
    let root = tempfile::tempdir().unwrap();
    let honest = root.path().join("honest");
    let head = build(&honest);
    let cases: [(&str, Forger); 2] = [
        ("format 1", forge_v1),
        ("format 2, the insider's key", forge_v2),
    ];
    for (i, (what, forge)) in cases.iter().enumerate() {
        for (j, events) in [
            vec![duplicate_open()],
            vec![bogus_close()],
            vec![duplicate_open(), bogus_close()],
        ]
        .iter()
        .enumerate()
        {
            let clean = root.path().join(format!("clean-{i}-{j}"));
            let forged = root.path().join(format!("forged-{i}-{j}"));
            copy_dir(&honest, &clean);
            copy_dir(&honest, &forged);
            let name = forge(&forged, head);

            let mut l = TradingLedger::open(&clean, opts()).unwrap();
            let expected = attempt(&mut l, events);
            assert!(
                expected.iter().all(|o| o.starts_with("refused")),
                "{expected:?}"
            );
            drop(l);

            // Opened as the command line does: snapshot files are not read.
            let mut l = TradingLedger::open(&forged, opts()).unwrap();
            assert_eq!(l.open_report().snapshot, None, "{what}");
            assert_eq!(l.projections(), &fold_of(&forged), "{what}");
            assert_eq!(attempt(&mut l, events), expected, "{what}");
            assert_eq!(l.projections().last, Some(head), "nothing appended");
            drop(l);

            // Opened with a snapshot key: the forgery is reported and
            // ignored.
            let key = SnapshotKey::from_bytes([0x11; 32]);
            let mut l = TradingLedger::open_with_snapshots(&forged, opts(), key).unwrap();
            let report = l.open_report();
            assert_eq!(report.snapshot, None, "{what}");
            assert_eq!(report.rejected_snapshots.len(), 1, "{what}");
            let (rejected, why) = &report.rejected_snapshots[0];
            assert_eq!(rejected, &name);
            let expected_defect = if i == 0 {
                SnapshotDefect::Format { found: 1 }
            } else {
                SnapshotDefect::Unauthenticated
            };
            assert!(
                matches!(why, SnapshotError::Invalid { defect, .. } if *defect == expected_defect),
                "{what}: {why:?}"
            );
            assert!(why.to_string().contains(&name), "{why}");
            assert_eq!(l.projections(), &fold_of(&forged), "{what}");
            assert_eq!(attempt(&mut l, events), expected, "{what}");
            assert_eq!(l.projections().last, Some(head), "nothing appended");
        }
    }
}

#[test]
fn a_snapshot_is_trusted_only_under_the_key_it_was_written_with() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    let key = SnapshotKey::generate().unwrap();
    let mut l = TradingLedger::open_with_snapshots(&dir, opts(), key.clone()).unwrap();
    let events = demo_session("demo-1", "", DEMO_START);
    let (first, rest) = events.split_at(20);
    for (t, e) in first {
        let _ = l.append_at(*t, e).unwrap();
    }
    let name = l.save_snapshot().unwrap();
    for (t, e) in rest {
        let _ = l.append_at(*t, e).unwrap();
    }
    l.close().unwrap();
    let fold = fold_of(&dir);

    // The writer's key: the snapshot is used, and the views equal the fold.
    let l = TradingLedger::open_with_snapshots(&dir, opts(), key).unwrap();
    assert_eq!(l.open_report().snapshot, Some(Seq::new(20)));
    assert_eq!(l.open_report().folded, rest.len() as u64);
    assert_eq!(l.projections(), &fold);
    drop(l);

    // Another key: refused, rebuilt from the log.
    let other = SnapshotKey::from_bytes([0x22; 32]);
    let l = TradingLedger::open_with_snapshots(&dir, opts(), other).unwrap();
    let report = l.open_report();
    assert_eq!(report.snapshot, None);
    assert!(matches!(
        &report.rejected_snapshots[..],
        [(n, SnapshotError::Invalid { defect: SnapshotDefect::Unauthenticated, .. })] if *n == name
    ));
    assert_eq!(l.projections(), &fold);
    drop(l);

    // No key: not even read.
    let l = TradingLedger::open(&dir, opts()).unwrap();
    assert_eq!(l.open_report().snapshot, None);
    assert!(l.open_report().rejected_snapshots.is_empty());
    assert_eq!(l.open_report().folded, events.len() as u64);
    assert_eq!(l.projections(), &fold);
}

#[test]
fn a_key_derived_from_the_checkpoint_key_is_shared_by_its_holders() {
    let signing = ledger_core::generate_key().unwrap();
    let a = SnapshotKey::from_signing_key(&signing);
    let b = SnapshotKey::from_signing_key(&signing);
    assert_eq!(a, b);
    assert_ne!(
        a,
        SnapshotKey::from_signing_key(&ledger_core::generate_key().unwrap())
    );
    assert_ne!(
        SnapshotKey::from_bytes(signing.to_bytes()),
        a,
        "the snapshot key is not the signing seed itself"
    );
}
