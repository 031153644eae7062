//! The bodies of the fuzz targets over `ledger-core` and `ledger-domain`
//! (the index target is in `index_harness.rs`).
//!
//! This file is shared: the fuzz targets call it through the `ledger-fuzz`
//! library, and `ledger-domain/tests/fuzz_corpus.rs` includes it with
//! `#[path]` to replay the corpus in CI. It may therefore use only the
//! public APIs of `ledger-core` and `ledger-domain` and crates those depend
//! on (or `ledger-domain` has as dev-dependencies).
//!
//! Every function takes arbitrary bytes. A panic is a finding: either the
//! library panicked, or one of the invariants asserted here broke (each
//! assertion says which).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use ledger_core::chain::{genesis, link};
use ledger_core::segment::footer::{SegmentFooter, FOOTER_LEN, SEAL_MAGIC};
use ledger_core::segment::header::{
    decode_watermark, encode_watermark, FormatVersion, SegmentHeader, CRC_AT, HEADER_LEN, MAGIC,
    WATERMARK_AT,
};
use ledger_core::segment::names::SegmentName;
use ledger_core::segment::record::{
    self, encode_into, parse_at, NewRecord, RecordRef, Slot, FOOTER_MARKER, OVERHEAD, TRAILER_LEN,
};
use ledger_core::segment::walk::{walk_segment, Expect, Mode, Role, Step, Stop, Walker};
use ledger_core::segment::ChainState;
use ledger_core::storage::{CrashMode, MemStorage, Storage};
use ledger_core::LedgerMeta;
use ledger_core::{decode_object, encode_object, Manifest};
use ledger_core::{verify, VerifyOptions, VerifyReport};
use ledger_core::{
    ChainHash, Checkpoint, ContentHash, Durability, Entry, FindingKind, Kind, LedgerId, OpenMode,
    Reader, Record, SchemaVersion, Seq, Timestamp, Writer, WriterOptions, MIN_SEGMENT_SIZE,
};
use ledger_domain::{validate, Event, PerformanceReport, Projections, ReportFilter};

/// Reads structured values from fuzzer bytes; past the end, every read
/// yields zeros (so a short input still drives every step).
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's bytes.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Takes up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    /// Takes every remaining byte.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(usize::MAX)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let b = self.bytes(N);
        out[..b.len()].copy_from_slice(b);
        out
    }

    /// A byte.
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    let b = buf.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

const fn align8(n: usize) -> usize {
    (n + 7) & !7
}

// ---------------------------------------------------------------------------
// Repairs: a fuzzer cannot guess a CRC or a blake3 hash, so some modes fix
// them up after mutating, to reach the checks behind them.
// ---------------------------------------------------------------------------

/// Recomputes the header CRC; with `force`, also writes the magic, version,
/// header length, flags and zero reserved bytes (growing `buf` to a page).
pub fn fix_header(buf: &mut Vec<u8>, force: bool) {
    if force {
        if buf.len() < HEADER_LEN {
            buf.resize(HEADER_LEN, 0);
        }
        put(buf, 0, &MAGIC);
        put(buf, 8, &(FormatVersion::CURRENT as u16).to_le_bytes());
        put(buf, 10, &(HEADER_LEN as u16).to_le_bytes());
        put(buf, 12, &0u32.to_le_bytes());
        put(buf, 100, &[0u8; 28]);
        put(
            buf,
            WATERMARK_AT + 16,
            &[0u8; HEADER_LEN - WATERMARK_AT - 16],
        );
    }
    if let Some(fixed) = buf.get(..CRC_AT) {
        let crc = crc32fast::hash(fixed);
        put(buf, CRC_AT, &crc.to_le_bytes());
    }
}

/// Walks the record slots from the end of the header, recomputing each
/// record's CRC (and, with `chain`, its chain hash from the header's
/// previous hash on) and zeroing its padding. At a footer marker, repairs the
/// footer's fixed fields; with `footer_fields`, also fills its count,
/// sequences, times and hash from the records walked.
pub fn fix_records(buf: &mut [u8], chain: bool, footer_fields: bool) {
    let mut prev = ChainHash::from_bytes(
        buf.get(48..80)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 32]),
    );
    let first_seq = u64_at(buf, 40).unwrap_or(1);
    let mut walked: Option<(u64, u64, i64, i64)> = None; // count, last seq, first ts, last ts
    let mut pos = HEADER_LEN;
    while let Some(len) = u32_at(buf, pos) {
        if len == 0 {
            break;
        }
        if len == FOOTER_MARKER {
            if pos + FOOTER_LEN <= buf.len() {
                put(buf, pos + 4, &[0; 4]);
                if footer_fields {
                    let (count, last_seq, first_ts, last_ts) = walked.unwrap_or((0, 0, 0, 0));
                    put(buf, pos + 8, &count.to_le_bytes());
                    put(buf, pos + 16, &first_seq.to_le_bytes());
                    put(buf, pos + 24, &last_seq.to_le_bytes());
                    put(buf, pos + 32, &first_ts.to_le_bytes());
                    put(buf, pos + 40, &last_ts.to_le_bytes());
                    put(buf, pos + 48, prev.as_bytes());
                }
                put(buf, pos + 80, &(pos as u64).to_le_bytes());
                let crc = crc32fast::hash(&buf[pos..pos + 88]);
                put(buf, pos + 88, &crc.to_le_bytes());
                put(buf, pos + 92, &[0; 4]);
                put(buf, pos + 96, &SEAL_MAGIC);
            }
            break;
        }
        let n = len as usize;
        if n < OVERHEAD || pos + n > buf.len() {
            break;
        }
        let hash_at = pos + n - TRAILER_LEN;
        if chain {
            let h = link(&prev, &buf[pos..hash_at]);
            put(buf, hash_at, h.as_bytes());
        }
        let crc = crc32fast::hash(&buf[pos..pos + n - 4]);
        put(buf, pos + n - 4, &crc.to_le_bytes());
        let pad_end = (pos + align8(n)).min(buf.len());
        buf[pos + n..pad_end].fill(0);
        prev = ChainHash::from_bytes(buf[hash_at..hash_at + 32].try_into().unwrap_or([0; 32]));
        let seq = u64_at(buf, pos + 8).unwrap_or(0);
        let ts = u64_at(buf, pos + 16).unwrap_or(0) as i64;
        walked = Some(match walked {
            None => (1, seq, ts, ts),
            Some((c, _, f, _)) => (c + 1, seq, f, ts),
        });
        pos += align8(n);
    }
}

// ---------------------------------------------------------------------------
// Checks shared by the targets.
// ---------------------------------------------------------------------------

/// Checks that `rec`, returned by a decoder for the bytes of `buf`, is what
/// those bytes say: inside them, CRC correct, fields as stored, and what a
/// writer encoding the same fields would have produced.
fn check_record_bytes(buf: &[u8], rec: &RecordRef<'_>) {
    let end = rec.offset.checked_add(rec.len);
    assert!(
        rec.len >= OVERHEAD && end.is_some_and(|e| e <= buf.len()),
        "record at {} of length {} lies outside the {} bytes it was decoded from",
        rec.offset,
        rec.len,
        buf.len()
    );
    let bytes = &buf[rec.offset..rec.offset + rec.len];
    let n = rec.len;
    let stored_crc = u32_at(bytes, n - 4);
    assert_eq!(
        stored_crc,
        Some(crc32fast::hash(&bytes[..n - 4])),
        "a decoded record at {} has a wrong CRC",
        rec.offset
    );
    assert_eq!(u32_at(bytes, 0), Some(n as u32), "length word");
    assert_eq!(rec.hashed, &bytes[..n - TRAILER_LEN], "hashed bytes");
    assert_eq!(
        rec.payload,
        &bytes[record::HEADER_LEN..n - TRAILER_LEN],
        "payload"
    );
    assert_eq!(
        rec.chain_hash.as_bytes(),
        &bytes[n - TRAILER_LEN..n - 4],
        "chain hash"
    );
    assert_eq!(rec.padded_len(), align8(n), "padded length");
    let mut out = Vec::new();
    let _ = encode_into(
        &mut out,
        &NewRecord {
            seq: rec.seq,
            timestamp: rec.timestamp,
            kind: rec.kind,
            version: rec.version,
            payload: rec.payload,
        },
        &rec.chain_hash,
    );
    assert_eq!(
        &out[..n - TRAILER_LEN],
        rec.hashed,
        "re-encoding the decoded fields gives other bytes"
    );
    assert_eq!(out.len(), rec.padded_len(), "re-encoded length");
}

/// What a reader returned from a ledger.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// The records, in order.
    pub records: Vec<Record>,
    /// The error that stopped the reader, if any.
    pub error: Option<String>,
}

/// Reads every record of the ledger in `storage` with a chain-verifying
/// cursor and checks each one against the stored bytes: it must parse at
/// its offset (length, CRC, padding), carry the next sequence number and
/// link to the record before it. With `rooted`, the first record must also
/// be record 1 and link to the ledger's genesis hash.
pub fn read_and_check(storage: &Arc<dyn Storage>, rooted: bool) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    let reader = match Reader::with_storage(Arc::clone(storage)) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let id = reader.ledger_id();
    let mut cursor = match reader.cursor() {
        Ok(c) => c.verify_chain(true),
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    // A record takes at least 64 bytes: no reader can return more records
    // than the files hold.
    let total: usize = storage
        .list()
        .unwrap_or_default()
        .iter()
        .map(|n| storage.file_len(n).unwrap_or(0) as usize)
        .sum();
    let cap = total / 64 + 1;
    let mut prev: Option<(Seq, ChainHash)> = None;
    loop {
        let (rec, hashed, offset, len) = match cursor.next_ref() {
            Ok(Some(r)) => (Record::from(&r), r.hashed.to_vec(), r.offset, r.len),
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        let name = cursor.segment_name().map(str::to_owned).unwrap_or_default();
        let map = storage.map_segment(&name).unwrap_or_else(|e| {
            panic!("the reader returned a record of {name:?}, which does not map: {e}")
        });
        let copy = map.snapshot();
        let bytes = copy.as_slice();
        match parse_at(bytes, offset) {
            Ok(Slot::Record(r)) => {
                check_record_bytes(bytes, &r);
                assert_eq!(Record::from(&r), rec, "record at {name}:{offset} differs from its bytes");
                assert_eq!((r.len, r.hashed), (len, &hashed[..]), "record at {name}:{offset}");
            }
            other => panic!(
                "the reader returned record {} from {name}:{offset}, but the bytes there are {other:?}",
                rec.seq
            ),
        }
        match prev {
            Some((seq, hash)) => {
                assert_eq!(
                    Some(rec.seq.get()),
                    seq.get().checked_add(1),
                    "the reader skipped or repeated a sequence number at {name}:{offset}"
                );
                assert_eq!(
                    link(&hash, &hashed),
                    rec.chain_hash,
                    "the reader returned record {} ({name}:{offset}) that does not link to record {seq}",
                    rec.seq
                );
            }
            None if rooted => {
                assert_eq!(
                    rec.seq,
                    Seq::FIRST,
                    "the reader's first record is not record 1"
                );
                assert_eq!(
                    link(&genesis(&id), &hashed),
                    rec.chain_hash,
                    "the reader's first record ({name}:{offset}) does not link to the genesis hash"
                );
            }
            None => {}
        }
        prev = Some((rec.seq, rec.chain_hash));
        out.records.push(rec);
        assert!(
            out.records.len() <= cap,
            "the reader returned more records than {total} bytes of files can hold"
        );
    }
    out
}

/// Checks that a verification report and a reader agree: when verification
/// finds neither damage nor a notice (a torn tail, an interrupted seal),
/// the reader reads every record without error and ends at the reported
/// head.
fn check_report_against_reader(report: &VerifyReport, read: &ReadOutcome) {
    for f in &report.findings {
        let _ = f.to_string();
    }
    let notices = report.findings.iter().any(|f| !f.kind.is_damage());
    if report.is_intact() && !notices {
        assert!(
            read.error.is_none(),
            "verification found the ledger intact, but the reader fails: {:?}\n{:?}",
            read.error,
            report.findings
        );
        assert_eq!(
            read.records.last().map(|r| (r.seq, r.chain_hash)),
            report.head.map(|h| (h.seq, h.chain_hash)),
            "verification and the reader disagree on the head of an intact ledger"
        );
        assert_eq!(read.records.len() as u64, report.records, "record counts");
    }
}

fn writer_options() -> WriterOptions {
    WriterOptions::default()
        .segment_size(MIN_SEGMENT_SIZE)
        .durability(Durability::NoSync)
        .preallocate(false)
        // The harness stamps records at fixed times, some past the clock;
        // the skew limit has its own tests.
        .max_clock_skew(None)
}

/// Opens the ledger in `storage` for writing (running recovery). When that
/// succeeds: the reader and the writer agree on the head; `appends` records
/// (with payload lengths from the input, some large enough to rotate) are
/// appended; the writer is closed; the ledger must reopen with nothing cut
/// and end at the last receipt; and a reader that could read the ledger
/// before the appends reads it after them, ending with the new records.
/// `known` are the records the ledger may hold (`None` when the input may
/// have forged records): recovery must not invent others.
fn open_append_reopen(
    storage: &Arc<dyn Storage>,
    inp: &mut Input<'_>,
    known: Option<&BTreeMap<u64, Record>>,
    rooted: bool,
) {
    let mut w = match Writer::open_storage(Arc::clone(storage), OpenMode::Open, writer_options()) {
        Ok(w) => w,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = format!("{:?}", w.recovery_report());
    let head = w.head();
    if let (Some(known), Some(h)) = (known, head) {
        assert_eq!(
            known.get(&h.seq.get()).map(|r| r.chain_hash),
            Some(h.chain_hash),
            "recovery produced a head ({}) that was never written",
            h.seq
        );
    }
    let before = read_and_check(storage, rooted);
    if let Some(known) = known {
        for r in &before.records {
            assert_eq!(
                known.get(&r.seq.get()),
                Some(r),
                "the reader returned a record that was never written"
            );
        }
    }
    if before.error.is_none() {
        assert_eq!(
            before.records.last().map(|r| (r.seq, r.chain_hash)),
            head.map(|h| (h.seq, h.chain_hash)),
            "after recovery the reader ends at another record than the writer's head"
        );
    }
    let appends = inp.u8() % 4;
    let mut receipts = Vec::new();
    let base = head.map_or(1_800_000_000_000_000_000, |h| h.timestamp.as_nanos());
    for i in 0..appends {
        let len = usize::from(inp.u8()) * 16;
        let payload = vec![i; len];
        let ts = Timestamp::from_nanos(base.saturating_add(i64::from(i)));
        match w.append(&Entry::new(Kind::new(0x0fff), SchemaVersion::new(1), &payload).at(ts)) {
            Ok(r) => receipts.push(r),
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    if w.close().is_err() {
        return;
    }
    let w = Writer::open_storage(Arc::clone(storage), OpenMode::Open, writer_options())
        .unwrap_or_else(|e| {
            panic!("a ledger this writer recovered, appended to and closed does not reopen: {e}")
        });
    assert!(
        w.recovery_report().cut.is_none(),
        "reopening after a clean close cut a tail: {:?}",
        w.recovery_report()
    );
    let expected = receipts
        .last()
        .map(|r| (r.seq, r.chain_hash))
        .or(head.map(|h| (h.seq, h.chain_hash)));
    assert_eq!(
        w.head().map(|h| (h.seq, h.chain_hash)),
        expected,
        "the reopened ledger does not end at the last receipt"
    );
    drop(w);
    if before.error.is_none() {
        let after = read_and_check(storage, rooted);
        assert!(
            after.error.is_none(),
            "the reader read the recovered ledger, but fails after appends: {:?}",
            after.error
        );
        assert_eq!(
            after.records.len(),
            before.records.len() + receipts.len(),
            "records after appending"
        );
        assert_eq!(&after.records[..before.records.len()], &before.records[..]);
        for (r, receipt) in after.records[before.records.len()..].iter().zip(&receipts) {
            assert_eq!(
                (r.seq, r.chain_hash),
                (receipt.seq, receipt.chain_hash),
                "receipt"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Target: segment_scan
// ---------------------------------------------------------------------------

/// `segment_scan` mode bits (the first two input bytes, little-endian).
pub mod scan_mode {
    /// Recompute the header CRC.
    pub const FIX_HEADER: u16 = 1;
    /// Also force magic, version, length, flags and reserved bytes.
    pub const FORCE_HEADER: u16 = 2;
    /// Recompute record CRCs (and repair a footer's fixed fields).
    pub const FIX_RECORDS: u16 = 4;
    /// Also recompute chain hashes from the header's previous hash.
    pub const FIX_CHAIN: u16 = 8;
    /// Also fill the footer's fields from the records.
    pub const FIX_FOOTER: u16 = 16;
    /// Check chain links while scanning.
    pub const CHECK_CHAIN: u16 = 32;
    /// Also verify, read and recover the bytes as the active segment of a ledger.
    pub const AS_LEDGER: u16 = 64;
    /// With `AS_LEDGER`: as a sealed segment (named by its content) instead.
    pub const AS_SEALED: u16 = 128;
}

/// Arbitrary bytes as a segment file: header decode, scan, footer decode,
/// and (by mode) verification, reading and recovery of a one-segment ledger.
pub fn segment_scan(data: &[u8]) {
    use scan_mode::*;
    let mut inp = Input::new(data);
    let mode = inp.u16();
    let mut buf = inp.rest().to_vec();
    if mode & (FIX_HEADER | FORCE_HEADER) != 0 {
        fix_header(&mut buf, mode & FORCE_HEADER != 0);
    }
    if mode & FIX_RECORDS != 0 {
        fix_records(&mut buf, mode & FIX_CHAIN != 0, mode & FIX_FOOTER != 0);
    }
    check_segment_bytes(&buf, mode & CHECK_CHAIN != 0);
    if mode & AS_LEDGER != 0 {
        ledger_of_one_segment(&buf, mode & AS_SEALED != 0);
    }
}

fn check_segment_bytes(buf: &[u8], check_chain: bool) {
    let header = SegmentHeader::decode(buf);
    let fixed = SegmentHeader::decode_fixed(buf);
    if let Ok(h) = &header {
        assert_eq!(fixed.as_ref(), Ok(h), "decode and decode_fixed disagree");
    }
    if let Ok(h) = &fixed {
        let _ = h.ledger_id.to_hex();
        assert_eq!(
            &h.encode()[..WATERMARK_AT],
            &buf[..WATERMARK_AT],
            "a header that decodes re-encodes to other bytes"
        );
    }
    if let Err(e) = &header {
        let _ = e.to_string();
    }
    let _ = decode_watermark(buf).map_err(|e| e.to_string());

    // The one segment walker, over the bytes as an active and as a sealed
    // segment.
    for role in [Role::Active, Role::Sealed(ContentHash::of(buf))] {
        check_walk(buf, role, check_chain);
    }
    // The footer a sealed file of these bytes would have.
    if let Some(at) = buf.len().checked_sub(FOOTER_LEN) {
        if let Ok(f) = SegmentFooter::decode(buf, at) {
            assert_eq!(f.offset, at as u64, "footer offset field");
            assert_eq!(&f.encode()[..], &buf[at..], "footer re-encodes");
        }
    }
    let _ = SegmentFooter::decode(buf, usize::MAX);
    for meta in [buf, buf.get(..44).unwrap_or_default()] {
        if let Ok(m) = LedgerMeta::decode(meta) {
            assert_eq!(
                m.encode(),
                meta,
                "an identity file that decodes re-encodes to other bytes"
            );
        }
    }
}

/// The walk of `buf` in `role`: records in order inside the data area,
/// counts, findings located inside the file and in order, the head limit
/// below every damage, and the stop consistent with the role.
fn check_walk(buf: &[u8], role: Role, check_chain: bool) {
    let expect = Expect {
        role,
        ordinal: None,
        ledger: None,
        check_chain,
    };
    let mut offsets = Vec::new();
    let walk = walk_segment("fuzz", buf, &expect, |rec, prev| {
        check_record_bytes(buf, rec);
        if check_chain {
            if let Some(p) = prev {
                let _ = rec.links_to(&p);
            }
        }
        offsets.push((rec.offset, rec.padded_len()));
    });
    assert_eq!(walk.count, offsets.len() as u64, "walk count");
    let data_end = match role {
        Role::Sealed(_) => buf.len().saturating_sub(FOOTER_LEN),
        Role::Active => buf.len(),
    };
    let mut end = HEADER_LEN;
    for &(at, len) in &offsets {
        assert!(
            at >= end && at % 8 == 0,
            "record at {at} overlaps or is unaligned"
        );
        end = at + len;
        assert!(end <= data_end, "record at {at} runs past the data area");
    }
    for pair in walk.findings.windows(2) {
        assert!(pair[0].offset <= pair[1].offset, "findings out of order");
    }
    for f in &walk.findings {
        let _ = f.to_string();
        assert!(
            f.offset.is_none_or(|o| o <= buf.len() as u64),
            "finding outside the file: {f}"
        );
    }
    match walk.head_limit() {
        None => assert!(!walk.is_damaged(), "damage without a head limit"),
        Some(limit) => assert!(walk.is_damaged() && limit <= buf.len() as u64),
    }
    if walk.header.is_err() {
        assert_eq!(walk.stop, Stop::NotWalked, "a walk without a header");
        assert_eq!(walk.count, 0);
    }
    match (&walk.stop, role) {
        (Stop::DataEnd { offset }, Role::Sealed(_)) => {
            assert_eq!(*offset as usize, data_end, "sealed walk ends at the footer");
        }
        (Stop::End { offset } | Stop::TornTail { offset, .. }, Role::Active) => {
            assert!(
                *offset as usize >= end && (offset % 8 == 0 || *offset as usize == data_end),
                "stop at {offset}"
            );
        }
        (Stop::InterruptedSeal { offset, footer }, Role::Active) => {
            assert_eq!(footer.count, walk.count, "an interrupted seal's footer");
            assert_eq!(*offset as usize, end, "the footer follows the records");
            // A seal needs a walk that met no damage in the data area. A
            // header finding (here only an invalid watermark can be one:
            // no ordinal or ledger is expected) is damage of its own,
            // segment-wide, reported beside the interrupted seal: it does
            // not turn a footer that matches the records into an invalid
            // slot (`docs/FORMAT.md`, "The walk of one segment").
            for f in walk.findings.iter().filter(|f| f.kind.is_damage()) {
                assert!(
                    f.kind == FindingKind::Header
                        && f.offset == Some(WATERMARK_AT as u64)
                        && walk.watermark.is_err(),
                    "an interrupted seal after damage in the data area: {f}"
                );
            }
        }
        (Stop::NotWalked, _) => assert_eq!(walk.count, 0),
        (other, _) => panic!("a walk in role {role:?} stopped at {other:?}"),
    }
    if let (Role::Sealed(_), false) = (role, walk.is_damaged()) {
        let footer = walk.footer.as_ref().and_then(|(_, f)| f.as_ref().ok());
        assert_eq!(
            footer.map(|f| f.count),
            Some(walk.count),
            "an undamaged sealed segment's footer counts its records"
        );
    }
}

/// A ledger whose only segment is `buf` (active, or sealed under its
/// content address), with an identity file naming the header's ledger id.
fn ledger_of_one_segment(buf: &[u8], sealed: bool) {
    let id = SegmentHeader::decode_fixed(buf)
        .map(|h| h.ledger_id)
        .unwrap_or(LedgerId::from_bytes([0; 16]));
    let st = MemStorage::new();
    st.create_root().expect("in memory");
    let meta = LedgerMeta {
        version: FormatVersion::CURRENT,
        id,
        created_at: Timestamp::from_nanos(0),
    };
    st.set_file_bytes("LEDGER", &meta.encode())
        .expect("in memory");
    let name = if sealed {
        SegmentName::Sealed(ledger_core::SegmentOrdinal::new(0), ContentHash::of(buf)).to_string()
    } else {
        SegmentName::Active(ledger_core::SegmentOrdinal::new(0)).to_string()
    };
    st.set_file_bytes(&name, buf).expect("in memory");
    let storage: Arc<dyn Storage> = Arc::new(st);
    let report = verify(Arc::clone(&storage), &VerifyOptions::default()).unwrap_or_else(|e| {
        panic!("verification of a readable folder failed instead of reporting: {e}")
    });
    let read = read_and_check(&storage, false);
    check_report_against_reader(&report, &read);
    let mut inp = Input::new(&buf[buf.len().saturating_sub(4)..]);
    open_append_reopen(&storage, &mut inp, None, false);
}

// ---------------------------------------------------------------------------
// Target: record_decode
// ---------------------------------------------------------------------------

/// `parse_at` and `decode` at an input-chosen offset (sometimes near
/// `usize::MAX`) with an input-chosen length word, then `check_and_advance`
/// against an input-chosen chain state.
pub fn record_decode(data: &[u8]) {
    let mut inp = Input::new(data);
    let mode = inp.u8();
    let raw_offset = inp.u16() as usize;
    let len_word = inp.u32();
    let seq = inp.u64();
    let mut buf = inp.rest().to_vec();
    let offset = match mode & 3 {
        0 => raw_offset % (buf.len() + 8),
        1 => (raw_offset % (buf.len() + 8)) & !7,
        2 => usize::MAX - (raw_offset % 16),
        _ => raw_offset,
    };
    if mode & 4 != 0 {
        // Make the record at `offset` self-consistent, whatever its length.
        if let Some(len) = u32_at(&buf, offset) {
            let n = len as usize;
            if n >= OVERHEAD && offset + n <= buf.len() {
                let crc = crc32fast::hash(&buf[offset..offset + n - 4]);
                put(&mut buf, offset + n - 4, &crc.to_le_bytes());
                if mode & 8 != 0 {
                    let end = (offset + align8(n)).min(buf.len());
                    buf[offset + n..end].fill(0);
                }
            }
        }
    }
    match parse_at(&buf, offset) {
        Ok(Slot::Record(r)) => {
            assert_eq!(r.offset, offset);
            check_record_bytes(&buf, &r);
            assert_eq!(
                record::decode(&buf, offset, r.len as u32),
                Ok(r),
                "parse_at and decode disagree"
            );
            let pad_end = (offset + r.padded_len()).min(buf.len());
            assert!(
                buf[offset + r.len..pad_end].iter().all(|&b| b == 0),
                "non-zero padding accepted"
            );
            let state = ChainState {
                next_seq: Seq::new(if mode & 16 != 0 { r.seq.get() } else { seq }),
                prev_hash: ChainHash::from_bytes([0; 32]),
                last_ts: Timestamp::from_nanos(seq as i64),
            };
            let mut walker = Walker::new("fuzz", Mode::Live, state, buf.len())
                .starting_at(offset)
                .check_chain(mode & 32 != 0);
            match walker.step(&buf.as_slice()) {
                Step::Record { rec, problem, .. } => {
                    assert_eq!(rec, r, "the walker and parse_at disagree");
                    let ok = r.seq == state.next_seq
                        && r.timestamp >= state.last_ts
                        && (mode & 32 == 0 || r.links_to(&state.prev_hash));
                    assert_eq!(problem.is_none(), ok, "the walker's judgement");
                    assert_eq!(walker.state().prev_hash, r.chain_hash);
                    assert_eq!(walker.state().next_seq.get(), r.seq.get().saturating_add(1));
                }
                Step::Stop(Stop::Invalid(f)) => {
                    let ok = r.seq == state.next_seq
                        && r.timestamp >= state.last_ts
                        && (mode & 32 == 0 || r.links_to(&state.prev_hash));
                    assert!(!ok, "the walker refused a valid record: {f}");
                    assert_eq!(
                        walker.state(),
                        state,
                        "a refused record advanced the chain state"
                    );
                }
                other => panic!("one step over a record gave {other:?}"),
            }
        }
        Ok(Slot::Empty) => assert_eq!(u32_at(&buf, offset), Some(0)),
        Ok(Slot::Footer) => assert_eq!(u32_at(&buf, offset), Some(FOOTER_MARKER)),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match record::decode(&buf, offset, len_word) {
        Ok(r) => {
            assert_eq!(r.len, len_word as usize);
            check_record_bytes(&buf, &r);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------
// Target: event_decode
// ---------------------------------------------------------------------------

/// A stream of (kind, version, payload) chunks, each decoded with
/// `ledger_domain::codec::decode`. A decoded event must re-encode and decode to
/// itself, survive its JSON form, and is validated and folded into the
/// projections (as replaying a ledger written without validation would).
pub fn event_decode(data: &[u8]) {
    let mut inp = Input::new(data);
    let mut proj = Projections::new();
    let mut seq = 1u64;
    while !inp.is_empty() && seq <= 64 {
        let sel = inp.u8();
        let kind = if sel >= 0xf0 {
            inp.u16()
        } else {
            u16::from(sel % 14)
        };
        let version = u16::from(inp.u8() % 4);
        let len = match inp.u8() {
            255 => usize::from(inp.u16()),
            n => usize::from(n),
        };
        let payload = inp.bytes(len);
        let event =
            match ledger_domain::decode(Kind::new(kind), SchemaVersion::new(version), payload) {
                Ok(e) => e,
                Err(e) => {
                    let _ = e.to_string();
                    continue;
                }
            };
        check_event(&event, kind);
        // A close only folds with the exact 128-bit P&L, which random bytes
        // almost never hold: when the selector asks, the computed P&L is put
        // in, so closes (and the report's sums over them) are reached with
        // full-width amounts.
        let event = match event {
            Event::TradeClosed(mut c) if sel & 0x80 != 0 => {
                if let Some(pnl) = proj
                    .trades
                    .get(&c.trade_id)
                    .and_then(|t| t.pnl_if_closed(c.price, c.fees).ok())
                {
                    c.realized_pnl = pnl;
                }
                Event::TradeClosed(c)
            }
            other => other,
        };
        let accepted = validate(&event).is_ok() && proj.check(&event).is_ok();
        let time = Timestamp::from_nanos(seq as i64 * 1_000_000_000);
        let unfolded = proj.unfolded.len();
        proj.apply(Seq::new(seq), ChainHash::from_bytes([0; 32]), time, event);
        // What validation accepts always folds: a validated trade never
        // vanishes from the views.
        assert!(
            !accepted || proj.unfolded.len() == unfolded,
            "an accepted event was not folded: {:?}",
            proj.unfolded.last()
        );
        seq += 1;
    }
    // Checked all the way: an overflow is an error, never a panic.
    if let Ok(report) = PerformanceReport::compute(&proj, &ReportFilter::default()) {
        let _ = serde_json::to_string(&report);
    }
    for t in proj.closed_trades() {
        let _ = (t.net_pnl(), t.return_on_cost());
    }
    let _ = proj.total_events();
}

fn check_event(event: &Event, kind: u16) {
    assert_eq!(event.kind().code(), kind, "decoded as another kind");
    let mut out = Vec::new();
    let (k, v) = ledger_domain::encode(event, &mut out)
        .unwrap_or_else(|e| panic!("a decoded event does not re-encode: {e}"));
    assert_eq!(k.get(), kind);
    assert_eq!(v.get(), event.kind().current_version());
    assert_eq!(
        ledger_domain::decode(k, v, &out).as_ref(),
        Ok(event),
        "re-encoded event decodes to another"
    );
    let json = serde_json::to_string(event)
        .unwrap_or_else(|e| panic!("a decoded event has no JSON form: {e}"));
    let back: Event = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the JSON form of a decoded event does not parse: {e}\n{json}"));
    assert_eq!(&back, event, "JSON round trip changed the event: {json}");
    let _ = (
        event.session(),
        event.symbol(),
        event.trade_id(),
        event.decision_id(),
        event.order_id(),
    );
}

// ---------------------------------------------------------------------------
// Target: recovery
// ---------------------------------------------------------------------------

/// A small ledger, built once: its files and every record it was given.
#[derive(Debug)]
pub struct Baseline {
    /// The files, by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// Every record appended, by sequence number.
    pub records: BTreeMap<u64, Record>,
}

const BASELINE_KINDS: usize = 4;
const BASELINE_RECORDS: u64 = 60;
const BASELINE_START: i64 = 1_700_000_000_000_000_000;

/// Builds baseline `which`: 0 closed cleanly; 1 after a process crash (the
/// active segment's watermark at "nothing durable"); 2 after a power loss
/// with torn pages; 3 empty. Headers carry fixed creation times so the
/// bytes (and so the sealed names) are the same in every run.
pub fn build_baseline(which: usize) -> Baseline {
    let st = MemStorage::new();
    st.create_root().expect("in memory");
    let meta = LedgerMeta {
        version: FormatVersion::CURRENT,
        id: LedgerId::from_bytes(*b"fuzz-ledger-id-0"),
        created_at: Timestamp::from_nanos(BASELINE_START),
    };
    st.set_file_bytes("LEDGER", &meta.encode())
        .expect("in memory");
    let storage: Arc<dyn Storage> = Arc::new(st.clone());
    let mut w = Writer::open_storage(Arc::clone(&storage), OpenMode::Open, writer_options())
        .expect("open the baseline");
    let mut records = BTreeMap::new();
    let n = if which == 3 { 0 } else { BASELINE_RECORDS };
    for i in 0..n {
        let len = 20 + (i * 37 % 200) as usize;
        let payload: Vec<u8> = (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect();
        let ts = Timestamp::from_nanos(BASELINE_START + i as i64 * 1_000_000);
        let kind = Kind::new(1 + (i % 9) as u16);
        let r = w
            .append(&Entry::new(kind, SchemaVersion::new(1), &payload).at(ts))
            .expect("append");
        records.insert(
            r.seq.get(),
            Record {
                seq: r.seq,
                timestamp: ts,
                kind,
                version: SchemaVersion::new(1),
                payload,
                chain_hash: r.chain_hash,
            },
        );
    }
    let folder = match which {
        1 => st.crash(CrashMode::ProcessCrash).expect("crash"),
        2 => st
            .crash(CrashMode::PowerLossTornPages { seed: 7 })
            .expect("crash"),
        _ => {
            w.close().expect("close");
            st.clone()
        }
    };
    let mut files = Vec::new();
    for name in folder.list().expect("list") {
        let mut bytes = folder.file_bytes(&name).expect("bytes");
        let name = match SegmentName::parse(&name) {
            Some(seg) if bytes.len() >= HEADER_LEN => {
                put(&mut bytes, 80, &BASELINE_START.to_le_bytes());
                fix_header(&mut bytes, false);
                match seg {
                    SegmentName::Sealed(o, _) => {
                        SegmentName::Sealed(o, ContentHash::of(&bytes)).to_string()
                    }
                    _ => name,
                }
            }
            _ => name,
        };
        files.push((name, bytes));
    }
    Baseline { files, records }
}

fn baseline(which: usize) -> &'static Baseline {
    static CELLS: [OnceLock<Baseline>; BASELINE_KINDS] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let which = which % BASELINE_KINDS;
    CELLS[which].get_or_init(|| build_baseline(which))
}

/// Names an operation may create besides the files present.
const EXTRA_NAMES: [&str; 8] = [
    "0000000000.active",
    "0000000001.active",
    "0000000003.active",
    "0000000002.prealloc",
    "LEDGER.tmp",
    "0000000001-0000000000000000000000000000000000000000000000000000000000000000.seg",
    "cut-0000000000-4096.bin",
    "LEDGER",
];

/// Largest file an operation may produce (bounds the memory of a run).
const MAX_FILE: usize = 1 << 20;

fn pick_name(st: &MemStorage, inp: &mut Input<'_>) -> String {
    let mut names = st.list().unwrap_or_default();
    names.extend(EXTRA_NAMES.iter().map(|s| (*s).to_owned()));
    let i = usize::from(inp.u8()) % names.len();
    names.swap_remove(i)
}

/// The position and chain state where the valid records of a segment file
/// end (its header decoded without checks), and how many there are: a walk
/// in live mode stops at the first slot that is not a valid, linked record.
fn records_end(bytes: &[u8]) -> (usize, ChainState, u64, Option<Timestamp>) {
    let start = ChainState {
        next_seq: Seq::new(u64_at(bytes, 40).unwrap_or(1)),
        prev_hash: ChainHash::from_bytes(
            bytes
                .get(48..80)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 32]),
        ),
        last_ts: Timestamp::from_nanos(i64::MIN),
    };
    let mut walker = Walker::new("fuzz", Mode::Live, start, bytes.len()).check_chain(true);
    let at = loop {
        match walker.step(&bytes) {
            Step::Record { problem: None, .. } => {}
            Step::Record { rec, .. } => break rec.offset,
            Step::Damage(f) => break f.offset.unwrap_or(0) as usize,
            Step::Stop(stop) => break stop.offset().map_or(walker.position(), |o| o as usize),
        }
    };
    (
        at,
        walker.state(),
        walker.count(),
        walker.first().map(|m| m.timestamp),
    )
}

/// Applies one input-chosen operation to the folder; returns whether it
/// may have forged a valid record.
fn apply_op(st: &MemStorage, inp: &mut Input<'_>) -> bool {
    let op = inp.u8() % 13;
    let name = pick_name(st, inp);
    let mut bytes = st.file_bytes(&name).unwrap_or_default();
    let len = bytes.len();
    let mut forged = false;
    match op {
        // Truncate.
        0 => {
            let cut = if inp.u8() & 1 == 0 {
                len * usize::from(inp.u16()) / 65536
            } else {
                len.saturating_sub(usize::from(inp.u16()))
            };
            bytes.truncate(cut);
        }
        // Extend with a repeated byte.
        1 => {
            let n = usize::from(inp.u16() % 16384);
            let fill = inp.u8();
            bytes.resize(len + n, fill);
        }
        // Overwrite with input bytes.
        2 => {
            let mut at = inp.u32() as usize % (len + 1);
            if inp.u8() & 1 == 1 {
                at &= !7;
            }
            let k = usize::from(inp.u8() % 65);
            let src = inp.bytes(k);
            if bytes.len() < at + src.len() {
                bytes.resize(at + src.len(), 0);
            }
            bytes[at..at + src.len()].copy_from_slice(src);
        }
        // Flip one bit.
        3 => {
            let at = inp.u32() as usize;
            let bit = inp.u8() % 8;
            if len > 0 {
                bytes[at % len] ^= 1 << bit;
            }
        }
        // Zero a range.
        4 => {
            let at = inp.u32() as usize % (len + 1);
            let n = usize::from(inp.u16());
            bytes[at..(at + n).min(len)].fill(0);
        }
        // Remove.
        5 => {
            let _ = st.remove(&name);
            return false;
        }
        // Rename or copy to another name.
        6 | 7 => {
            let to = pick_name(st, inp);
            if st.file_bytes(&name).is_some() && to != name {
                if op == 6 {
                    let _ = st.rename(&name, &to);
                } else {
                    let _ = st.set_file_bytes(&to, &bytes);
                }
            }
            return false;
        }
        // Rename a segment to the content address of its bytes (what an
        // attacker who edits a sealed segment does).
        8 => {
            if let Some(seg) = SegmentName::parse(&name) {
                let to = SegmentName::Sealed(seg.ordinal(), ContentHash::of(&bytes)).to_string();
                let _ = st.rename(&name, &to);
            }
            return false;
        }
        // Set a header field, then fix the header CRC.
        9 => {
            let value = match inp.u8() % 4 {
                0 => u64::from(inp.u8()),
                1 => u64::MAX - u64::from(inp.u8()),
                2 => len as u64 + u64::from(inp.u8()) * 8,
                _ => inp.u64(),
            };
            match inp.u8() % 8 {
                0 => put(&mut bytes, 32, &value.to_le_bytes()),
                1 => put(&mut bytes, 40, &value.to_le_bytes()),
                2 => put(&mut bytes, 80, &value.to_le_bytes()),
                3 => put(&mut bytes, 88, &value.to_le_bytes()),
                4 => put(&mut bytes, 48, &[value as u8; 32]),
                // The watermark is outside the CRC: a consistent pair.
                5 | 6 => put(&mut bytes, WATERMARK_AT, &encode_watermark(value)),
                _ => {}
            }
            fix_header(&mut bytes, false);
        }
        // Append a record with a correct CRC and chain link after the valid
        // records, with input-chosen fields.
        10 => {
            let (at, state, _, _) = records_end(&bytes);
            let at = if inp.u8() & 1 == 0 {
                at
            } else {
                (inp.u32() as usize % (len + 1)) & !7
            };
            let seq = match inp.u8() % 4 {
                0 => state.next_seq.get(),
                1 => u64::MAX - u64::from(inp.u8() % 2),
                2 => state.next_seq.get().wrapping_add(u64::from(inp.u8())),
                _ => inp.u64(),
            };
            let ts = match inp.u8() % 3 {
                0 => state
                    .last_ts
                    .as_nanos()
                    .max(0)
                    .saturating_add(i64::from(inp.u16())),
                1 => i64::MIN + i64::from(inp.u8()),
                _ => inp.u64() as i64,
            };
            let kind = Kind::new(inp.u16());
            let version = SchemaVersion::new(inp.u16());
            let payload_len = usize::from(inp.u8());
            let payload = inp.bytes(payload_len).to_vec();
            let mut out = Vec::new();
            let _ = encode_into(
                &mut out,
                &NewRecord {
                    seq: Seq::new(seq),
                    timestamp: Timestamp::from_nanos(ts),
                    kind,
                    version,
                    payload: &payload,
                },
                &state.prev_hash,
            );
            if bytes.len() < at + out.len() {
                bytes.resize(at + out.len(), 0);
            }
            bytes[at..at + out.len()].copy_from_slice(&out);
            forged = true;
        }
        // Write a footer after the valid records, as sealing would (or
        // with one field off).
        11 => {
            let (at, state, count, first_ts) = records_end(&bytes);
            let mut footer = SegmentFooter {
                count,
                first_seq: Seq::new(u64_at(&bytes, 40).unwrap_or(1)),
                last_seq: Seq::new(state.next_seq.get().wrapping_sub(1)),
                first_ts: first_ts.unwrap_or(state.last_ts),
                last_ts: state.last_ts,
                last_hash: state.prev_hash,
                offset: at as u64,
            };
            match inp.u8() % 4 {
                0 => footer.count = footer.count.wrapping_add(1),
                1 => footer.last_seq = Seq::new(inp.u64()),
                _ => {}
            }
            let f = footer.encode();
            if bytes.len() < at + f.len() {
                bytes.resize(at + f.len(), 0);
            }
            bytes[at..at + f.len()].copy_from_slice(&f);
            if inp.u8() & 1 == 1 {
                // As sealing leaves it: trimmed, watermark at the footer.
                bytes.truncate(at + FOOTER_LEN);
                put(&mut bytes, WATERMARK_AT, &encode_watermark(at as u64));
            }
        }
        // Copy a range of this file over another place of it (records
        // moved to where they do not belong).
        _ => {
            let from = inp.u32() as usize % (len + 1);
            let to = (inp.u32() as usize % (len + 1)) & !7;
            let n = (usize::from(inp.u16()) % 512).min(len - from);
            let chunk = bytes[from..from + n].to_vec();
            if bytes.len() < to + n {
                bytes.resize(to + n, 0);
            }
            bytes[to..to + n].copy_from_slice(&chunk);
        }
    }
    bytes.truncate(MAX_FILE);
    let _ = st.set_file_bytes(&name, &bytes);
    forged
}

/// A small valid ledger (one of four baselines) in memory, damaged by up to
/// 8 input-chosen operations on its files (truncate, extend, overwrite,
/// flip, zero, remove, rename, copy, re-address, header fields, forged
/// records, footers), then: verification, a chain-checking reader, and
/// recovery by `Writer::open_storage` followed by appends, close and
/// reopen. See [`open_append_reopen`] for what is asserted. Without
/// operations, the ledger must open, verify intact and read completely.
pub fn recovery(data: &[u8]) {
    let mut inp = Input::new(data);
    let base = baseline(usize::from(inp.u8()));
    let st = MemStorage::new();
    st.create_root().expect("in memory");
    for (name, bytes) in &base.files {
        st.set_file_bytes(name, bytes).expect("in memory");
    }
    let ops = inp.u8() % 9;
    let mut forged = false;
    for _ in 0..ops {
        forged |= apply_op(&st, &mut inp);
    }
    let storage: Arc<dyn Storage> = Arc::new(st);
    let report = verify(Arc::clone(&storage), &VerifyOptions::default());
    let read = read_and_check(&storage, true);
    if !forged {
        for r in &read.records {
            assert_eq!(
                base.records.get(&r.seq.get()),
                Some(r),
                "the reader returned a record that was never written"
            );
        }
    }
    match &report {
        Ok(report) => {
            check_report_against_reader(report, &read);
            if ops == 0 {
                assert!(
                    report.is_intact(),
                    "the untouched baseline does not verify: {:?}",
                    report.findings
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if ops == 0 {
        let w = Writer::open_storage(Arc::clone(&storage), OpenMode::Open, writer_options());
        assert!(
            w.is_ok(),
            "the untouched baseline does not open: {:?}",
            w.err()
        );
    }
    open_append_reopen(&storage, &mut inp, (!forged).then_some(&base.records), true);
}

// ---------------------------------------------------------------------------
// Targets: backup_manifest, checkpoint
// ---------------------------------------------------------------------------

/// `Manifest::from_file` on the input after its first byte: as it is when
/// that byte is even; when odd, as a JSON body with its correct `blake3:`
/// line appended, so the JSON checks are reached. A manifest that parses must
/// write and parse back to itself.
pub fn backup_manifest(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = if mode & 1 == 1 {
        let mut f = rest.to_vec();
        let hash = ContentHash::of(rest).to_hex();
        f.extend_from_slice(format!("\nblake3:{hash}\n").as_bytes());
        f
    } else {
        rest.to_vec()
    };
    match Manifest::from_file(&file) {
        Ok((m, hash)) => {
            assert_eq!(hash.len(), 64, "manifest hash");
            // Judging the fields never panics; an accepted id is a plain name.
            if m.check_fields().is_ok() {
                assert!(ledger_core::is_plain_id(&m.id), "{:?}", m.id);
            }
            let (bytes, hash2) = m.to_file().expect("a parsed manifest serialises");
            let (m2, hash3) = Manifest::from_file(&bytes)
                .unwrap_or_else(|e| panic!("a manifest this build wrote does not parse: {e}"));
            assert_eq!(m2, m, "manifest round trip");
            assert_eq!(hash2, hash3);
        }
        Err(e) => assert!(!e.is_empty()),
    }
}

/// Backup objects. The first byte picks the mode. Even: the rest is an
/// object file as found in a store, read against an address and a size taken
/// from its first bytes (a damaged manifest can claim anything); reading
/// must refuse it or return exactly that many bytes hashing to that address.
/// Odd: the rest is a segment's bytes; they are stored as an object and read
/// back (which must give them back), then the object is damaged at a place
/// and in a way the next bytes choose, and reading must refuse it or give
/// back exactly the original bytes.
pub fn backup_object(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut input = Input::new(rest);
    if mode & 1 == 0 {
        // A claimed size up to 1 MiB (larger claims are refused by size or
        // stop where the bytes end; they cost no memory up front).
        let size = u64::from(input.u32() % (1 << 20));
        let address = ContentHash::of(input.bytes(8)).to_hex();
        let object = input.bytes(usize::MAX);
        if let Ok(out) = decode_object(object, &address, size) {
            assert_eq!(out.len() as u64, size, "object size");
            assert_eq!(ContentHash::of(&out).to_hex(), address, "object address");
        }
        assert!(decode_object(object, "not-an-address", size).is_err());
        return;
    }
    let at = input.u32() as usize;
    let how = input.u8();
    let original = input.bytes(usize::MAX);
    let address = ContentHash::of(original).to_hex();
    let size = original.len() as u64;
    let object = encode_object(original).expect("compressing bytes in memory");
    let back = decode_object(&object[..], &address, size)
        .unwrap_or_else(|e| panic!("an object this build wrote does not read back: {e}"));
    assert_eq!(back, original, "object round trip");
    assert!(
        decode_object(&object[..], &address, size + 1).is_err(),
        "size claimed too large"
    );
    if size > 0 {
        assert!(
            decode_object(&object[..], &address, size - 1).is_err(),
            "size claimed too small"
        );
    }
    let mut damaged = object.clone();
    if damaged.is_empty() {
        return;
    }
    let i = at % damaged.len();
    match how % 3 {
        0 => damaged[i] ^= 1 << (how % 8),
        1 => damaged.truncate(i),
        _ => damaged.insert(i, how),
    }
    if let Ok(out) = decode_object(&damaged[..], &address, size) {
        assert_eq!(out, original, "a damaged object read back as other bytes");
    }
}

/// `Checkpoint::from_text` on the input as (lossy) UTF-8. A checkpoint
/// that parses must print and parse back to itself; checking its signature
/// and verifying a ledger against it must not panic.
pub fn checkpoint(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Checkpoint::from_text(&text) {
        Ok(cp) => {
            let back = Checkpoint::from_text(&cp.to_text())
                .unwrap_or_else(|e| panic!("a checkpoint this build printed does not parse: {e}"));
            assert_eq!(back, cp, "checkpoint text round trip");
            let _ = cp.verify_signature();
            let base = baseline(0);
            let st = MemStorage::new();
            st.create_root().expect("in memory");
            for (name, bytes) in &base.files {
                st.set_file_bytes(name, bytes).expect("in memory");
            }
            let opts = VerifyOptions {
                checkpoint: Some(cp.clone()),
                ..VerifyOptions::default()
            };
            let report = verify(Arc::new(st), &opts).expect("verification of a readable folder");
            assert!(
                report.checkpoint_ok.is_some(),
                "a checkpoint was given but not judged"
            );
            if report.checkpoint_ok == Some(true) {
                let signed = cp.verify_signature();
                assert!(
                    signed.is_ok(),
                    "a checkpoint with a bad signature passed: {signed:?}"
                );
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
