//! Forging index files as an insider would: decode an `.idx` file, change
//! what it says, and write it back with a valid checksum (plain blake3,
//! which anyone can recompute). Shared by `ledger-index/tests/forged_index.rs`
//! and `ledger-tools/tests/hostile_index.rs` (included with `#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use ledger_core::{ContentHash, Durability, Entry, Reader, Seq, WriterOptions};
use ledger_domain::{codec, AuditNote, Decimal, Event, EventKind, TradeClosed, TradingKeys};
use ledger_index::{file, LedgerIndex, SegmentIndex};
use ledger_tools::sim::{demo_session, Generator, DEMO_START};

/// Positions of the trading domain's key families in an index file.
pub const SYMBOL: usize = 0;
/// The trade family.
pub const TRADE: usize = 1;
/// The session family.
pub const SESSION: usize = 4;

/// The index files of a ledger folder, in segment order.
pub fn idx_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    v.sort();
    v
}

/// The file name of a path.
pub fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// An index file decoded: the content address it names, and the index.
pub fn read(path: &Path) -> (ContentHash, SegmentIndex) {
    let bytes = std::fs::read(path).unwrap();
    let address = ContentHash::from_bytes(bytes[16..48].try_into().unwrap());
    let ix = file::decode(&bytes, &address, TradingKeys::FAMILIES.len()).unwrap();
    (address, ix)
}

/// Rewrites the index file at `path` as `change` makes it, with a valid
/// checksum.
pub fn forge(path: &Path, change: impl FnOnce(&mut SegmentIndex)) {
    let (address, mut ix) = read(path);
    let before = ix.clone();
    change(&mut ix);
    assert_ne!(ix, before, "the forgery changed nothing");
    std::fs::write(path, file::encode(&address, &ix).unwrap()).unwrap();
    // The forged file decodes: only its agreement with the segment tells.
    let _ = read(path);
}

/// The first index file whose `family` list for `key` holds at least `n`
/// records.
pub fn file_with(dir: &Path, family: usize, key: &str, n: usize) -> PathBuf {
    idx_files(dir)
        .into_iter()
        .find(|p| {
            read(p).1.keys[family]
                .get(key)
                .is_some_and(|v| v.len() >= n)
        })
        .unwrap_or_else(|| panic!("no index file lists {n} records of {key}"))
}

/// Inserts `p` into a sorted list.
fn insert(list: &mut Vec<u32>, p: u32) {
    if let Err(at) = list.binary_search(&p) {
        list.insert(at, p);
    }
}

/// Drops `n` of `from`'s records from its list and adds `n` records of
/// `to` in their place (`export --symbol BTC-USD` then shows ETH events and
/// misses BTC ones).
pub fn swap_key(ix: &mut SegmentIndex, family: usize, from: &str, to: &str, n: usize) {
    let theirs: Vec<u32> = ix.keys[family][to].iter().copied().take(n).collect();
    let list = ix.keys[family].get_mut(from).unwrap();
    list.drain(..n);
    for p in theirs {
        insert(list, p);
    }
}

/// Moves `n` of `from`'s records to `to`'s list: both lists stay sorted and
/// every entry is still a real record.
pub fn move_key(ix: &mut SegmentIndex, family: usize, from: &str, to: &str, n: usize) {
    let moved: Vec<u32> = ix.keys[family].get_mut(from).unwrap().drain(..n).collect();
    let list = ix.keys[family].get_mut(to).unwrap();
    for p in moved {
        insert(list, p);
    }
}

/// Keeps only the first `keep` records of `key`'s list.
pub fn truncate_key(ix: &mut SegmentIndex, family: usize, key: &str, keep: usize) {
    ix.keys[family].get_mut(key).unwrap().truncate(keep);
}

/// Keeps only the first `keep` records of `kind`'s list.
pub fn truncate_kind(ix: &mut SegmentIndex, kind: EventKind, keep: usize) {
    ix.kinds.get_mut(&kind.code()).unwrap().truncate(keep);
}

/// Sets every time sample to the first one: a query from a time inside the
/// segment then starts at its last sample, skipping the records before.
pub fn flatten_times(ix: &mut SegmentIndex) {
    let first = ix.times[0];
    for t in &mut ix.times {
        *t = first;
    }
    // Also nudge one sample so a single-sample segment changes too.
    if let Some(t) = ix.times.last_mut() {
        *t = t.saturating_add(1);
    }
}

/// Forgets the segment's last record everywhere (a count that does not
/// match the segment's, every list consistent with it).
pub fn drop_last_record(ix: &mut SegmentIndex) {
    let last = ix.offsets.len() as u32 - 1;
    ix.offsets.pop();
    ix.times.truncate((last as usize).div_ceil(256));
    for list in ix
        .kinds
        .values_mut()
        .chain(ix.keys.iter_mut().flat_map(|p| p.values_mut()))
    {
        list.retain(|&p| p != last);
    }
    ix.kinds.retain(|_, v| !v.is_empty());
    for p in &mut ix.keys {
        p.retain(|_, v| !v.is_empty());
    }
}

/// Small segments: a few thousand events make several sealed ones.
pub fn opts() -> WriterOptions {
    WriterOptions::default()
        .segment_size(64 << 10)
        .durability(Durability::NoSync)
}

/// A trading ledger in `dir`: the demo session, then `n` generated events
/// (deterministic), with every sealed segment's index file built.
pub fn ledger(dir: &Path, n: usize) {
    let mut l = ledger_domain::TradingLedger::open(dir, opts()).unwrap();
    for (t, e) in demo_session("demo", "", DEMO_START) {
        let _ = l.append_at(t, &e).unwrap();
    }
    let last = l.writer().head().unwrap().timestamp;
    for (t, e) in Generator::new("gen", 11, last).take(n) {
        let _ = l.append_at(t, &e).unwrap();
    }
    l.close().unwrap();
    LedgerIndex::open(dir, TradingKeys)
        .unwrap()
        .build_all()
        .unwrap();
}

/// What [`hidden_record`] hid.
#[derive(Debug, Clone)]
pub struct Hidden {
    /// The trade whose forged answer would show the fabricated close.
    pub trade: String,
    /// The fabricated P&L, as `Decimal` prints it.
    pub pnl: String,
    /// The index file that points at it.
    pub idx: PathBuf,
    /// The sequence the fabricated record claims (the audit note's).
    pub seq: u64,
    /// The file offset where it starts, inside the audit note's payload.
    pub offset: u32,
}

impl Hidden {
    /// Forges the index file of the audit note's segment: the note's
    /// offset moved to the fabricated record inside it, and the note's
    /// position added to the trade's list.
    pub fn forge(&self) {
        forge(&self.idx, |ix| {
            let i = (self.seq - ix.first_seq) as u32;
            ix.offsets[i as usize] = self.offset;
            insert(ix.keys[TRADE].get_mut(self.trade.as_str()).unwrap(), i);
        });
    }
}

/// IEEE CRC-32 (as `crc32fast` computes it), for forging a record.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

/// A `Decimal` whose postcard varint is valid UTF-8: three two-byte
/// characters (`C2 80`) then the byte `top`, which sets the size.
fn utf8_decimal(top: u8) -> Decimal {
    let z: i128 = 0x42 + (0x42 << 14) + (0x42 << 28) + (i128::from(top) << 42);
    // Zigzag: an even z is the positive z / 2.
    Decimal::from_units(z / 2)
}

/// The worst forgery, prepared: a complete `trade_closed` record
/// with a huge P&L, hidden in an audit note's `reason` (so it is inside a
/// genuine, chained record's payload). Builds the ledger in `dir`, with its
/// index files; [`Hidden::forge`] then points the index at the record. The
/// fabricated record claims the audit note's sequence and a chain hash that
/// is in no chain.
pub fn hidden_record(dir: &Path) -> Hidden {
    let mut l = ledger_domain::TradingLedger::open(dir, opts()).unwrap();
    let mut closed = None;
    for (t, e) in demo_session("demo", "", DEMO_START) {
        if let Event::TradeClosed(c) = &e {
            closed.get_or_insert_with(|| c.clone());
        }
        let _ = l.append_at(t, &e).unwrap();
    }
    let real = closed.expect("the demo closes a trade");
    let mut gen = Generator::new("gen", 5, l.writer().head().unwrap().timestamp);
    // The audit note's sequence must be valid UTF-8 as bytes too.
    let utf8 = |s: u64| s.to_le_bytes().iter().all(|&b| b < 0x80);
    for (t, e) in gen.by_ref().take(300) {
        let _ = l.append_at(t, &e).unwrap();
    }
    while !utf8(l.writer().head().unwrap().seq.get() + 1) {
        let (t, e) = gen.next().unwrap();
        let _ = l.append_at(t, &e).unwrap();
    }
    let seq = l.writer().head().unwrap().seq.get() + 1;
    let fake = Event::TradeClosed(TradeClosed {
        session: real.session.clone(),
        trade_id: real.trade_id.clone(),
        symbol: real.symbol.clone(),
        price: utf8_decimal(3),
        fees: Decimal::ZERO,
        realized_pnl: utf8_decimal(45),
        order_id: None,
    });
    let mut payload = Vec::new();
    let (kind, version) = codec::encode(&fake, &mut payload).unwrap();
    let record = forge_record(kind, version, seq, &payload);
    let note_time = l.writer().head().unwrap().timestamp;
    let (note, at, note_kind) = (0..8)
        .find_map(|filler| {
            let mut reason = "x".repeat(filler);
            reason.push_str(std::str::from_utf8(&record).unwrap());
            let note = Event::Audit(AuditNote {
                session: real.session.clone(),
                who: "ops".into(),
                action: "note".into(),
                target: "books".into(),
                reason,
            });
            let mut p = Vec::new();
            let kind = codec::encode(&note, &mut p).unwrap();
            let at = p.windows(record.len()).position(|w| w == record).unwrap();
            // Records start 8-aligned; the payload starts 24 bytes into one.
            ((24 + at) % 8 == 0).then_some((p, at, kind))
        })
        .unwrap();
    // Through the engine's writer: the note is a genuine, chained record.
    let r = l
        .writer_mut()
        .append(&Entry::new(note_kind.0, note_kind.1, &note).at(note_time))
        .unwrap();
    assert_eq!(r.seq.get(), seq);
    // Seal the note's segment.
    for (t, e) in gen.take(600) {
        let _ = l.append_at(t.max(note_time), &e).unwrap();
    }
    l.close().unwrap();
    LedgerIndex::open(dir, TradingKeys)
        .unwrap()
        .build_all()
        .unwrap();

    // Where the note is.
    let reader = Reader::open(dir).unwrap();
    let mut cursor = reader.cursor_from(Seq::new(seq)).unwrap();
    let host = cursor.next_ref().unwrap().unwrap();
    assert_eq!(host.seq.get(), seq);
    let offset = (host.offset + 24 + at) as u32;
    let segment = cursor.segment_name().unwrap().to_owned();
    let idx = dir.join(segment.replace(".seg", ".idx"));
    Hidden {
        trade: real.trade_id.as_str().to_owned(),
        pnl: utf8_decimal(45).to_string(),
        idx,
        seq,
        offset,
    }
}

/// A record's bytes (envelope, payload, a chain hash in no chain, CRC,
/// padding) that are valid UTF-8, so they fit in a string field.
fn forge_record(
    kind: ledger_core::Kind,
    version: ledger_core::SchemaVersion,
    seq: u64,
    payload: &[u8],
) -> Vec<u8> {
    let n = payload.len() + 60;
    assert!(n < 0x80, "a length word of one ASCII byte");
    // A time whose bytes are ASCII, near the demo's.
    let ts = DEMO_START.as_nanos().to_le_bytes().map(|b| b & 0x7f);
    for nonce in 0..(95 * 95) {
        let mut b = Vec::new();
        b.extend_from_slice(&(n as u32).to_le_bytes());
        b.extend_from_slice(&kind.get().to_le_bytes());
        b.extend_from_slice(&version.get().to_le_bytes());
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&ts);
        b.extend_from_slice(payload);
        let mut hash = [b'A'; 32];
        hash[0] = 0x20 + (nonce % 95) as u8;
        hash[1] = 0x20 + (nonce / 95) as u8;
        b.extend_from_slice(&hash);
        let crc = crc32(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b.resize(n.div_ceil(8) * 8, 0);
        if std::str::from_utf8(&b).is_ok() {
            return b;
        }
    }
    panic!("no nonce makes the record valid UTF-8")
}
