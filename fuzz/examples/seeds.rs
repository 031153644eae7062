//! Writes the seed corpus: `cargo run --example seeds` in `fuzz/`
//! (writes `corpus/<target>/seed-*`, replacing earlier seeds of the same
//! name). Every seed is made from real files: a small ledger, its segments
//! and records, the demo trading session's events, an index file of a
//! sealed segment, a backup manifest and a signed checkpoint.

use std::path::{Path, PathBuf};

use ledger_core::key_from_text;
use ledger_core::segment::names::SegmentName;
use ledger_core::segment::record::{parse_at, Slot};
use ledger_core::{encode_object, Manifest, ManifestSegment, SegmentState};
use ledger_core::{Checkpoint, Durability, Head, LedgerId, Seq, WriterOptions, MIN_SEGMENT_SIZE};
use ledger_domain::codec::legacy::{MetricV1, SystemEventV1};
use ledger_domain::{encode, EventKind, TradingKeys, TradingLedger};
use ledger_fuzz::harness::{build_baseline, scan_mode};
use ledger_index::LedgerIndex;
use ledger_tools::sim::{demo_session, DEMO_START};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn write(target: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
    println!("{target}/seed-{name}: {} bytes", bytes.len());
    Ok(())
}

fn with_mode(mode: u16, bytes: &[u8]) -> Vec<u8> {
    let mut v = mode.to_le_bytes().to_vec();
    v.extend_from_slice(bytes);
    v
}

fn segment_seeds() -> Result<()> {
    let base = build_baseline(0);
    let sealed = base
        .files
        .iter()
        .find(|(n, _)| n.starts_with("0000000000-"))
        .ok_or("no sealed segment 0")?;
    let active = base
        .files
        .iter()
        .find(|(n, _)| n.ends_with(".active"))
        .ok_or("no active segment")?;
    use scan_mode::*;
    write(
        "segment_scan",
        "sealed-plain",
        &with_mode(CHECK_CHAIN, &sealed.1),
    )?;
    write(
        "segment_scan",
        "sealed-as-ledger",
        &with_mode(CHECK_CHAIN | AS_LEDGER | AS_SEALED, &sealed.1),
    )?;
    write(
        "segment_scan",
        "active-as-ledger",
        &with_mode(AS_LEDGER, &active.1),
    )?;
    // The first 2 KiB of records and no more: a torn, cut-short segment
    // whose CRCs and chain the harness repairs.
    let short = &sealed.1[..(4096 + 2048).min(sealed.1.len())];
    write(
        "segment_scan",
        "short-fixed",
        &with_mode(
            FIX_HEADER | FIX_RECORDS | FIX_CHAIN | CHECK_CHAIN | AS_LEDGER,
            short,
        ),
    )?;

    // record_decode: mode, offset (u16), length word (u32), sequence (u64), bytes.
    let Ok(Slot::Record(r)) = parse_at(&sealed.1, 4096) else {
        return Err("no record at 4096".into());
    };
    let first = &sealed.1[4096..4096 + r.padded_len()];
    let Ok(Slot::Record(r2)) = parse_at(&sealed.1, 4096 + r.padded_len()) else {
        return Err("no second record".into());
    };
    let two = &sealed.1[4096..4096 + r.padded_len() + r2.padded_len()];
    let seed = |mode: u8, offset: u16, len: u32, seq: u64, bytes: &[u8]| {
        let mut v = vec![mode];
        v.extend_from_slice(&offset.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&seq.to_le_bytes());
        v.extend_from_slice(bytes);
        v
    };
    write("record_decode", "one", &seed(1, 0, r.len as u32, 1, first))?;
    write(
        "record_decode",
        "second-of-two",
        &seed(1 | 16 | 32, r.padded_len() as u16, r2.len as u32, 2, two),
    )?;
    let footer_at = sealed.1.len() - 104;
    write(
        "record_decode",
        "footer",
        &seed(1, 0, 0, 0, &sealed.1[footer_at..]),
    )?;
    Ok(())
}

fn event_seeds() -> Result<()> {
    let chunk = |out: &mut Vec<u8>, kind: u16, version: u16, payload: &[u8]| {
        if kind < 14 {
            out.push(kind as u8);
        } else {
            out.push(0xf0);
            out.extend_from_slice(&kind.to_le_bytes());
        }
        out.push(version as u8);
        if payload.len() < 255 {
            out.push(payload.len() as u8);
        } else {
            out.push(255);
            out.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(payload);
    };
    let mut session = Vec::new();
    let mut each = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut buf = Vec::new();
    for (_, e) in demo_session("s1", "", DEMO_START) {
        let (k, v) = encode(&e, &mut buf)?;
        chunk(&mut session, k.get(), v.get(), &buf);
        if seen.insert(e.kind()) {
            chunk(&mut each, k.get(), v.get(), &buf);
        }
    }
    write("event_decode", "demo-session", &session)?;
    write("event_decode", "one-of-each-kind", &each)?;
    // Old schema versions, upcast on decode.
    let mut legacy = Vec::new();
    let sys = postcard::to_allocvec(&SystemEventV1 {
        session: "s1".into(),
        component: "engine".into(),
        message: "started".into(),
        ..SystemEventV1::default()
    })?;
    chunk(&mut legacy, EventKind::System.code(), 1, &sys);
    let metric = postcard::to_allocvec(&MetricV1 {
        session: "s1".into(),
        metric: "sharpe".into(),
        ..MetricV1::default()
    })?;
    chunk(&mut legacy, EventKind::Metric.code(), 1, &metric);
    write("event_decode", "legacy-versions", &legacy)?;
    Ok(())
}

fn recovery_seeds() -> Result<()> {
    // baseline, number of operations, operations..., appends, payload sizes.
    write("recovery", "closed-untouched", &[0, 0, 2, 10, 200])?;
    write("recovery", "process-crash-untouched", &[1, 0, 1, 4])?;
    write("recovery", "power-loss-untouched", &[2, 0, 3, 1, 2, 3])?;
    write("recovery", "empty-untouched", &[3, 0, 3, 250, 250, 250])?;
    // Closed baseline; files sorted: 0 = sealed 0, 1 = sealed 1, 2 = active, 3 = LEDGER.
    // Flip bit 3 of byte 5000 of the active segment.
    let mut flip = vec![0, 1, 3, 2];
    flip.extend_from_slice(&5000u32.to_le_bytes());
    flip.extend_from_slice(&[3, 1, 8]);
    write("recovery", "flip-active", &flip)?;
    // Forge a record after the last one of the active segment.
    // op 10 on file 2: at the end, next sequence, time +0, kind 1, v1, 8 bytes.
    let forge = [
        1, 1, 10, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1,
    ];
    write("recovery", "forge-next-record", &forge)?;
    // Truncate the active segment to half, process-crash baseline.
    write(
        "recovery",
        "truncate-active",
        &[1, 1, 0, 2, 0, 0, 0x80, 1, 1],
    )?;
    Ok(())
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("ledger-fuzz-seeds-{}", std::process::id()))
}

fn index_seeds() -> Result<()> {
    let dir = temp_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let opts = WriterOptions::default()
        .segment_size(MIN_SEGMENT_SIZE)
        .durability(Durability::NoSync)
        .preallocate(false);
    let mut ledger = TradingLedger::open(&dir, opts)?;
    for (t, e) in demo_session("s1", "", DEMO_START) {
        let _ = ledger.append_at(t, &e)?;
    }
    ledger.close()?;
    LedgerIndex::open(&dir, TradingKeys)?.build_all()?;
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".idx"))
        .collect();
    names.sort();
    // mode, 48 query bytes, the file. The query bytes: flags, then
    // from_seq, to_seq, from_time and to_time as full-width u64 (here every
    // bound, up to u64::MAX and i64::MAX), a kind, key picks.
    let mut wide = [0u8; 48];
    wide[0] = 0xff;
    wide[1..9].copy_from_slice(&1u64.to_le_bytes());
    wide[9..17].copy_from_slice(&u64::MAX.to_le_bytes());
    wide[25..33].copy_from_slice(&(i64::MAX as u64).to_le_bytes());
    wide[33] = 4;
    let queries: [[u8; 48]; 2] = [[0; 48], wide];
    for (i, name) in names.iter().take(2).enumerate() {
        let file = std::fs::read(dir.join(name))?;
        let mut seed = vec![0u8];
        seed.extend_from_slice(&queries[i % 2]);
        seed.extend_from_slice(&file);
        write("index_file", &format!("segment-{i}"), &seed)?;
        // Without its checksum, for the fix-up mode.
        let mut body = vec![1u8];
        body.extend_from_slice(&queries[(i + 1) % 2]);
        body.extend_from_slice(&file[..file.len() - 32]);
        write("index_file", &format!("segment-{i}-body"), &body)?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn manifest_seeds() -> Result<()> {
    let base = build_baseline(0);
    let segments = base
        .files
        .iter()
        .filter_map(|(name, bytes)| {
            let seg = SegmentName::parse(name)?;
            let (state, capacity) = match seg {
                SegmentName::Sealed(..) => (SegmentState::Sealed, None),
                _ => (SegmentState::Active, Some(bytes.len() as u64)),
            };
            Some(ManifestSegment {
                ordinal: seg.ordinal().get(),
                name: name.clone(),
                state,
                object: ledger_core::ContentHash::of(bytes).to_hex(),
                size: bytes.len() as u64,
                capacity,
            })
        })
        .collect();
    let meta = &base
        .files
        .iter()
        .find(|(n, _)| n == "LEDGER")
        .ok_or("no LEDGER")?
        .1;
    let m = Manifest {
        format: 1,
        id: "20260101T000000Z-0001".into(),
        created_ns: 1_767_225_600_000_000_000,
        tool: "ledger 0.1.0".into(),
        ledger_id: LedgerId::from_bytes(*b"fuzz-ledger-id-0").to_hex(),
        ledger_format: 1,
        ledger_meta: meta.iter().map(|b| format!("{b:02x}")).collect(),
        segments,
        head: None,
        previous: None,
        added_bytes: 20_000,
        added_stored_bytes: 9_000,
    };
    let (file, _) = m.to_file()?;
    let mut raw = vec![0u8];
    raw.extend_from_slice(&file);
    write("backup_manifest", "file", &raw)?;
    // The JSON body alone, for the mode that appends its hash line.
    let body_end = file.len() - "\nblake3:".len() - 64 - 1;
    let mut body = vec![1u8];
    body.extend_from_slice(&file[..body_end]);
    write("backup_manifest", "body", &body)?;
    Ok(())
}

fn object_seeds() -> Result<()> {
    let base = build_baseline(0);
    let (_, sealed) = base
        .files
        .iter()
        .find(|(n, _)| matches!(SegmentName::parse(n), Some(SegmentName::Sealed(..))))
        .ok_or("no sealed segment")?;
    // 2 KiB of records of a sealed segment (after its header page): they
    // compress much as a whole segment does.
    let bytes = &sealed[4096.min(sealed.len())..sealed.len().min(4096 + 2048)];
    // Odd mode: damage at byte 40 by flipping bit 1 (how = 3 -> flip).
    let mut round_trip = vec![1u8];
    round_trip.extend_from_slice(&40u32.to_le_bytes());
    round_trip.push(3);
    round_trip.extend_from_slice(bytes);
    write("backup_object", "round-trip", &round_trip)?;
    // Even mode: a real object file, read with a claimed size and address.
    let mut stored = vec![0u8];
    stored.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    stored.extend_from_slice(&[0u8; 8]);
    stored.extend_from_slice(&encode_object(bytes)?);
    write("backup_object", "object-file", &stored)?;
    Ok(())
}

fn checkpoint_seeds() -> Result<()> {
    let key = key_from_text(&"07".repeat(32))?;
    let base = build_baseline(0);
    let (seq, rec) = base.records.iter().next_back().ok_or("no records")?;
    let head = Head {
        seq: Seq::new(*seq),
        chain_hash: rec.chain_hash,
        timestamp: rec.timestamp,
    };
    let id = LedgerId::from_bytes(*b"fuzz-ledger-id-0");
    let cp = Checkpoint::sign(id, &head, &key);
    write("checkpoint", "head-of-baseline", cp.to_text().as_bytes())?;
    let other = Checkpoint::sign(
        id,
        &Head {
            seq: Seq::new(3),
            ..head
        },
        &key,
    );
    write("checkpoint", "wrong-hash", other.to_text().as_bytes())?;
    write(
        "checkpoint",
        "fields-only",
        b"tradeledger-checkpoint v1\nledger-id: 00\nsequence: 18446744073709551615\ntime-ns: -1\n",
    )?;
    Ok(())
}

fn main() -> Result<()> {
    segment_seeds()?;
    event_seeds()?;
    recovery_seeds()?;
    index_seeds()?;
    manifest_seeds()?;
    object_seeds()?;
    checkpoint_seeds()?;
    Ok(())
}
