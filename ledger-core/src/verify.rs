//! Verification: re-hashes every record's stored bytes and checks the whole
//! chain, every CRC, every content address, header and footer, and the links
//! between segments, reporting every finding with its kind and location.
//!
//! Each record stores its chain hash, so each link
//! `stored(n) == blake3(stored(n-1) || bytes(n))` can be checked on its own:
//! verification parses each segment's records (cheap), then re-hashes them
//! in parallel across all cores.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::chain;
use crate::checkpoint::Checkpoint;
use crate::error::{IoContext, Result};
use crate::meta::{LedgerMeta, META_FILE};
use crate::segment::footer::{SegmentFooter, FOOTER_LEN};
use crate::segment::header::{decode_watermark, SegmentHeader, HEADER_LEN};
use crate::segment::names::SegmentName;
use crate::segment::record::{self, RecordDefect, Slot};
use crate::storage::{FsStorage, Storage};
use crate::types::{ChainHash, ContentHash, LedgerId, SegmentOrdinal, Seq, Timestamp};
use crate::writer::Head;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// The `LEDGER` identity file is damaged.
    Meta,
    /// A segment's header is damaged.
    Header,
    /// A record's CRC (or envelope) does not hold.
    Crc,
    /// A record's stored chain hash is not the hash of its bytes and its predecessor.
    ChainHash,
    /// A segment does not continue the chain of the segment before it.
    Link,
    /// A sealed segment's bytes do not hash to its name.
    ContentAddress,
    /// A sequence number is missing or repeated.
    SequenceGap,
    /// A timestamp is earlier than the one before it.
    Timestamp,
    /// A sealed segment's footer is damaged or disagrees with its records.
    Footer,
    /// A segment file is missing.
    MissingSegment,
    /// A segment of another ledger.
    ForeignSegment,
    /// Bytes that should be zero (padding, after the data) are not.
    StrayBytes,
    /// The active segment ends in a torn tail (an unrecovered crash); the
    /// next open will cut it. Not damage to committed data.
    TornTail,
    /// The ledger does not hold the checkpointed record.
    Checkpoint,
    /// Records below the durable watermark are missing (zeroed or cut off).
    Truncated,
    /// A file could not be read (an I/O error). Not evidence of damage,
    /// but nothing can vouch for the file either: it counts as damage for
    /// [`VerifyReport::is_intact`] (so a repair or a checkpoint never goes
    /// over it), and `ledger verify` exits with its I/O-error code.
    Unreadable,
}

impl FindingKind {
    /// Short snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Meta => "meta",
            FindingKind::Header => "header",
            FindingKind::Crc => "crc",
            FindingKind::ChainHash => "chain_hash",
            FindingKind::Link => "link",
            FindingKind::ContentAddress => "content_address",
            FindingKind::SequenceGap => "sequence_gap",
            FindingKind::Timestamp => "timestamp",
            FindingKind::Footer => "footer",
            FindingKind::MissingSegment => "missing_segment",
            FindingKind::ForeignSegment => "foreign_segment",
            FindingKind::StrayBytes => "stray_bytes",
            FindingKind::TornTail => "torn_tail",
            FindingKind::Checkpoint => "checkpoint",
            FindingKind::Truncated => "truncated",
            FindingKind::Unreadable => "unreadable",
        }
    }

    /// Whether this finding means committed data is damaged or was tampered
    /// with (a torn tail is not: recovery cuts it by design).
    pub fn is_damage(self) -> bool {
        self != FindingKind::TornTail
    }

    /// Whether this finding is an I/O error rather than something found in
    /// the bytes.
    pub fn is_io_error(self) -> bool {
        self == FindingKind::Unreadable
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What is wrong.
    pub kind: FindingKind,
    /// The file (empty for findings about a checkpoint).
    pub segment: String,
    /// Byte offset in the file, when known.
    pub offset: Option<u64>,
    /// The sequence number concerned, when known.
    pub seq: Option<Seq>,
    /// Details.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.segment.is_empty() {
            write!(f, ": {}", self.segment)?;
        }
        if let Some(o) = self.offset {
            write!(f, " at offset {o}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " (sequence {s})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// The ledger's id, when the identity file or a header could be read.
    pub ledger_id: Option<LedgerId>,
    /// Segments examined.
    pub segments: u64,
    /// Records whose chain hash was recomputed.
    pub records: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The last valid record of the chain.
    pub head: Option<Head>,
    /// Everything wrong, in file order.
    pub findings: Vec<Finding>,
    /// Whether a checkpoint was given and the ledger holds its record.
    pub checkpoint_ok: Option<bool>,
}

impl VerifyReport {
    /// True when no finding is damage (a torn tail alone is not).
    pub fn is_intact(&self) -> bool {
        !self.findings.iter().any(|f| f.kind.is_damage())
    }
}

/// Options of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Verify against this checkpoint as well.
    pub checkpoint: Option<Checkpoint>,
    /// The public key the checkpoint must be signed with. Without it the
    /// signature is checked against the key the checkpoint names, which
    /// proves only that the checkpoint is self-consistent: whoever rewrote the
    /// ledger could have re-signed it.
    pub trusted_key: Option<crate::checkpoint::VerifyingKey>,
    /// Use at most this many threads (default: all cores).
    pub threads: Option<usize>,
}

/// Verifies the ledger in `dir`.
pub fn verify_dir(dir: impl AsRef<Path>, opts: &VerifyOptions) -> Result<VerifyReport> {
    verify(Arc::new(FsStorage::new(dir.as_ref())), opts)
}

struct SegFile {
    ordinal: SegmentOrdinal,
    name: String,
    sealed: Option<ContentHash>,
}

/// What one segment's pass found.
#[derive(Default)]
struct SegResult {
    header: Option<SegmentHeader>,
    findings: Vec<Finding>,
    records: u64,
    bytes: u64,
    /// The last record with a valid chain link, with its time.
    last: Option<(Seq, ChainHash, Timestamp)>,
    /// The hash and seq at the end of the segment's stored chain.
    end: Option<(Seq, ChainHash)>,
    /// Checkpoint lookup: the stored hash of the record with this seq.
    found_checkpoint: Option<ChainHash>,
    /// Whether any finding in this segment is damage.
    damaged: bool,
    /// First and last record timestamps.
    times: Option<(Timestamp, Timestamp)>,
}

/// One parsed record, waiting for its hash to be checked.
struct Pending<'a> {
    offset: usize,
    seq: Seq,
    hashed: &'a [u8],
    stored: ChainHash,
    prev: Option<ChainHash>,
}

/// Verifies the ledger in `storage`. Errors are reserved for failures to
/// read the folder at all; damage is reported as findings.
pub fn verify(storage: Arc<dyn Storage>, opts: &VerifyOptions) -> Result<VerifyReport> {
    match opts.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| crate::error::Error::Io {
                op: "start verification threads for",
                path: storage.path_of(""),
                error: std::io::Error::other(e),
            })?
            .install(|| verify_inner(storage.as_ref(), opts)),
        None => verify_inner(storage.as_ref(), opts),
    }
}

fn verify_inner(st: &dyn Storage, opts: &VerifyOptions) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    // Fails with a precise error when this is not a ledger at all.
    if !st.root_exists() {
        return Err(crate::error::Error::NoSuchFolder {
            path: st.path_of(""),
        });
    }
    let names = st.list().ctx("list", st.path_of(""))?;
    if !names.iter().any(|n| n == META_FILE) {
        crate::layout::read_layout(st)?;
    }
    let meta = st
        .read_file(META_FILE)
        .ctx("read", st.path_of(META_FILE))
        .map(|b| LedgerMeta::decode(&b).map_err(|d| d.to_string()));
    let mut ledger_id = None;
    match meta {
        Ok(Ok(m)) => ledger_id = Some(m.id),
        Ok(Err(reason)) => report.findings.push(Finding {
            kind: FindingKind::Meta,
            segment: META_FILE.into(),
            offset: None,
            seq: None,
            detail: reason,
        }),
        Err(e) => return Err(e),
    }

    let mut files: Vec<SegFile> = names
        .iter()
        .filter_map(|n| match SegmentName::parse(n)? {
            SegmentName::Sealed(o, h) => Some(SegFile {
                ordinal: o,
                name: n.clone(),
                sealed: Some(h),
            }),
            SegmentName::Active(o) => Some(SegFile {
                ordinal: o,
                name: n.clone(),
                sealed: None,
            }),
            SegmentName::Prealloc(_) => None,
        })
        .collect();
    files.sort_by_key(|f| (f.ordinal, f.sealed.is_none()));

    let cp_seq = opts.checkpoint.as_ref().map(|c| c.seq);
    let results: Vec<SegResult> = files
        .par_iter()
        .map(|f| verify_segment(st, f, cp_seq))
        .collect();

    // Cross-segment checks, in order.
    let mut expect_ordinal = 0u64;
    let mut prev_end: Option<(Seq, ChainHash)> = None;
    // The head is the last record up to which the whole chain holds: it
    // stops advancing at the first damage (a damaged identity file counts).
    let mut damaged = report.findings.iter().any(|x| x.kind.is_damage());
    let mut prev_last_ts: Option<Timestamp> = None;
    for (f, r) in files.iter().zip(results) {
        let checked = report.findings.len();
        if let (Some(prev), Some((first, last))) = (prev_last_ts, r.times) {
            if first < prev {
                report.findings.push(Finding {
                    kind: FindingKind::Timestamp,
                    segment: f.name.clone(),
                    offset: Some(HEADER_LEN as u64),
                    seq: r.header.map(|h| h.first_seq),
                    detail: format!(
                        "the first record's timestamp {first} is before the previous segment's last {prev}"
                    ),
                });
            }
            prev_last_ts = Some(last);
        } else if let Some((_, last)) = r.times {
            prev_last_ts = Some(last);
        }
        report.segments += 1;
        report.records += r.records;
        report.bytes += r.bytes;
        if f.ordinal.get() != expect_ordinal {
            let kind = FindingKind::MissingSegment;
            let detail = if f.ordinal.get() < expect_ordinal {
                format!("a second file for segment {}", f.ordinal)
            } else {
                format!(
                    "segments {}..{} are missing before this one",
                    expect_ordinal,
                    f.ordinal.get()
                )
            };
            report.findings.push(Finding {
                kind,
                segment: f.name.clone(),
                offset: None,
                seq: None,
                detail,
            });
        }
        expect_ordinal = f.ordinal.get() + 1;
        if let Some(h) = &r.header {
            if ledger_id.is_none() {
                ledger_id = Some(h.ledger_id);
            }
            if let Some(id) = ledger_id {
                if h.ledger_id != id {
                    report.findings.push(Finding {
                        kind: FindingKind::ForeignSegment,
                        segment: f.name.clone(),
                        offset: Some(16),
                        seq: None,
                        detail: format!("belongs to ledger {}, not {id}", h.ledger_id),
                    });
                }
                let (want_seq, want_hash) = match prev_end {
                    Some((s, hsh)) => (s.next(), hsh),
                    None if f.ordinal.get() == 0 => (Seq::FIRST, chain::genesis(&id)),
                    None => (h.first_seq, h.prev_hash),
                };
                if h.first_seq != want_seq || h.prev_hash != want_hash {
                    report.findings.push(Finding {
                        kind: FindingKind::Link,
                        segment: f.name.clone(),
                        offset: Some(40),
                        seq: Some(want_seq),
                        detail: format!(
                            "starts at sequence {} after hash {}, but the chain before it ends at sequence {} with hash {}",
                            h.first_seq,
                            h.prev_hash,
                            want_seq.prev(),
                            want_hash
                        ),
                    });
                }
            }
        }
        // Damage found by the cross-segment checks of this segment.
        let link_broken = report.findings[checked..]
            .iter()
            .any(|x| x.kind.is_damage());
        if !damaged && !link_broken {
            if let Some((seq, hash, ts)) = r.last {
                report.head = Some(Head {
                    seq,
                    chain_hash: hash,
                    timestamp: ts,
                });
            }
        }
        damaged |= link_broken || r.damaged;
        report.findings.extend(r.findings);
        prev_end = if r.header.is_some() {
            r.end.or(prev_end)
        } else {
            // The segment could not be read (or its header is damaged, which
            // is its own finding): the chain across it cannot be checked, so
            // the next segment's link is taken as it stands rather than
            // reported as broken against an older segment.
            None
        };
        if let (Some(cp), Some(found)) = (&opts.checkpoint, r.found_checkpoint) {
            let ok = found == cp.chain_hash;
            report.checkpoint_ok = Some(ok);
        }
    }
    report.ledger_id = ledger_id;

    if let Some(cp) = &opts.checkpoint {
        let mut problems = Vec::new();
        let signed = match &opts.trusted_key {
            Some(key) => cp.verify_signed_by(key),
            None => cp.verify_signature(),
        };
        if let Err(e) = signed {
            problems.push(e.to_string());
        }
        if Some(cp.ledger_id) != ledger_id {
            problems.push(format!(
                "the checkpoint is of ledger {}, this is {}",
                cp.ledger_id,
                ledger_id.map_or("unknown".into(), |i| i.to_hex())
            ));
        }
        let unreadable = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Unreadable)
            .map(|f| f.segment.clone());
        match (report.checkpoint_ok, unreadable) {
            (None, Some(segment)) => {
                // Not evidence of a rollback: the record may be in the file
                // that could not be read.
                report.findings.push(Finding {
                    kind: FindingKind::Unreadable,
                    detail: format!(
                        "the checkpointed record {} was not found in what could be read; {segment} could not be read",
                        cp.seq
                    ),
                    segment,
                    offset: None,
                    seq: Some(cp.seq),
                });
            }
            (None, None) => problems.push(format!(
                "the ledger does not hold the checkpointed record {} (it ends at {}): truncated or rolled back",
                cp.seq,
                report.head.map_or(0, |h| h.seq.get())
            )),
            (Some(false), _) => problems.push(format!(
                "record {} has another chain hash than the checkpoint's {}: the ledger was rewritten",
                cp.seq, cp.chain_hash
            )),
            (Some(true), _) => {}
        }
        if !problems.is_empty() {
            report.checkpoint_ok = Some(false);
            for detail in problems {
                report.findings.push(Finding {
                    kind: FindingKind::Checkpoint,
                    segment: String::new(),
                    offset: None,
                    seq: Some(cp.seq),
                    detail,
                });
            }
        }
    }
    Ok(report)
}

fn finding(
    kind: FindingKind,
    f: &SegFile,
    offset: usize,
    seq: Option<Seq>,
    detail: impl ToString,
) -> Finding {
    Finding {
        kind,
        segment: f.name.clone(),
        offset: Some(offset as u64),
        seq,
        detail: detail.to_string(),
    }
}

/// The sealed file of segment `ordinal`, if the folder holds one now.
fn sealed_file_of(st: &dyn Storage, ordinal: SegmentOrdinal) -> Option<SegFile> {
    st.list()
        .ok()?
        .into_iter()
        .find_map(|name| match SegmentName::parse(&name) {
            Some(SegmentName::Sealed(o, address)) if o == ordinal => Some(SegFile {
                ordinal,
                name,
                sealed: Some(address),
            }),
            _ => None,
        })
}

fn verify_segment(st: &dyn Storage, f: &SegFile, cp_seq: Option<Seq>) -> SegResult {
    let mut r = SegResult::default();
    let map = match st.map_segment(&f.name, false) {
        Ok(m) => m,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound && f.sealed.is_none() {
                // A writer sealed the active segment after the listing:
                // verify it under its sealed name.
                if let Some(sealed) = sealed_file_of(st, f.ordinal) {
                    return verify_segment(st, &sealed, cp_seq);
                }
            }
            r.findings.push(Finding {
                kind: FindingKind::Unreadable,
                segment: f.name.clone(),
                offset: None,
                seq: None,
                detail: e.to_string(),
            });
            return r;
        }
    };
    let data = map.bytes(0, map.len()).unwrap_or_default();
    r.bytes = data.len() as u64;
    if let Some(address) = f.sealed {
        let actual = ContentHash::of(data);
        if actual != address {
            r.findings.push(Finding {
                kind: FindingKind::ContentAddress,
                segment: f.name.clone(),
                offset: None,
                seq: None,
                detail: format!("the name says {address}, the bytes hash to {actual}"),
            });
        }
    }
    let header = match SegmentHeader::decode(data) {
        Ok(h) => h,
        Err(d) => {
            r.findings.push(finding(FindingKind::Header, f, 0, None, d));
            // Without a header the chain start is unknown; records are still
            // checked for CRC, using the fixed fields if they decode.
            match SegmentHeader::decode_fixed(data) {
                Ok(h) => h,
                Err(_) => return r,
            }
        }
    };
    if header.ordinal != f.ordinal {
        r.findings.push(finding(
            FindingKind::Header,
            f,
            32,
            None,
            format!(
                "header says ordinal {}, the name {}",
                header.ordinal, f.ordinal
            ),
        ));
    }
    r.header = Some(header);
    let watermark = match decode_watermark(data) {
        Ok(w) => w as usize,
        Err(d) => {
            r.findings
                .push(finding(FindingKind::Header, f, 128, None, d));
            data.len()
        }
    };

    // Pass 1: parse envelopes in order, checking CRC, sequence and time.
    let mut pending = Vec::new();
    let mut pos = HEADER_LEN;
    let mut next_seq = header.first_seq;
    let mut prev: Option<ChainHash> = Some(header.prev_hash);
    let mut last_ts = Timestamp::from_nanos(i64::MIN);
    let mut first_ts = None;
    let mut end_state: Option<(Seq, ChainHash)> = None;
    let data_end = if f.sealed.is_some() {
        data.len().saturating_sub(FOOTER_LEN)
    } else {
        data.len()
    };
    let mut footer_at = None;
    let mut torn = false;
    while pos + 4 <= data.len() {
        match record::parse_at(data, pos) {
            Ok(Slot::Empty) => break,
            Ok(Slot::Footer) => {
                footer_at = Some(pos);
                break;
            }
            Ok(Slot::Record(rec)) if f.sealed.is_some() && pos + rec.len > data_end => {
                r.findings.push(finding(
                    FindingKind::Footer,
                    f,
                    pos,
                    Some(next_seq),
                    "a record runs into the footer's place",
                ));
                break;
            }
            Ok(Slot::Record(rec)) => {
                if rec.seq != next_seq {
                    r.findings.push(finding(
                        FindingKind::SequenceGap,
                        f,
                        pos,
                        Some(rec.seq),
                        format!("sequence {} where {next_seq} was expected", rec.seq),
                    ));
                }
                if rec.timestamp < last_ts {
                    r.findings.push(finding(
                        FindingKind::Timestamp,
                        f,
                        pos,
                        Some(rec.seq),
                        format!(
                            "timestamp {} is before the previous {last_ts}",
                            rec.timestamp
                        ),
                    ));
                }
                first_ts.get_or_insert(rec.timestamp);
                last_ts = rec.timestamp;
                if Some(rec.seq) == cp_seq {
                    r.found_checkpoint = Some(rec.chain_hash);
                }
                pending.push(Pending {
                    offset: pos,
                    seq: rec.seq,
                    hashed: rec.hashed,
                    stored: rec.chain_hash,
                    prev,
                });
                prev = Some(rec.chain_hash);
                next_seq = rec.seq.next();
                end_state = Some((rec.seq, rec.chain_hash));
                pos += rec.padded_len();
            }
            Err(defect) => {
                if f.sealed.is_none() && pos >= watermark {
                    torn = true;
                    r.findings.push(finding(
                        FindingKind::TornTail,
                        f,
                        pos,
                        Some(next_seq),
                        format!("{defect}; the next open cuts the tail from here"),
                    ));
                    break;
                }
                let kind = match defect {
                    RecordDefect::Padding => FindingKind::StrayBytes,
                    _ => FindingKind::Crc,
                };
                r.findings
                    .push(finding(kind, f, pos, Some(next_seq), &defect));
                // Resynchronise: skip by the length word if it is plausible,
                // else scan forward for the next record whose CRC holds.
                let skip = match defect {
                    RecordDefect::Crc { .. } | RecordDefect::Padding => {
                        crate::le::u32_at(data, pos)
                            .map(|l| crate::le::align8(l as usize))
                            .filter(|&l| {
                                pos + l <= data_end
                                    && matches!(
                                        record::parse_at(data, pos + l),
                                        Ok(Slot::Record(_) | Slot::Footer | Slot::Empty)
                                    )
                            })
                    }
                    _ => None,
                };
                let pos_before = pos;
                pos = match skip {
                    Some(l) => pos + l,
                    None => {
                        let mut q = pos + 8;
                        while q + 4 <= data_end
                            && !matches!(
                                record::parse_at(data, q),
                                Ok(Slot::Record(_)) | Ok(Slot::Footer)
                            )
                        {
                            q += 8;
                        }
                        q
                    }
                };
                // The damaged record's stored hash, if its length is
                // plausible, still lets the next record's link be checked.
                prev = crate::le::u32_at(data, pos_before)
                    .map(|l| l as usize)
                    .filter(|&l| l >= record::OVERHEAD && pos_before + l <= data.len())
                    .and_then(|l| {
                        crate::le::array::<32>(data, pos_before + l - record::TRAILER_LEN)
                    })
                    .map(ChainHash::from_bytes);
                next_seq = next_seq.next();
            }
        }
    }

    // The rest of an active segment must be zero (or a torn tail), and the
    // records must reach the durable watermark.
    if f.sealed.is_none() && !torn {
        let tail_from = pos.min(data.len());
        if pos < watermark {
            r.findings.push(finding(
                FindingKind::Truncated,
                f,
                pos,
                Some(next_seq),
                format!("records up to offset {watermark} were durable, but they end here"),
            ));
        } else if footer_at.is_some() {
            r.findings.push(finding(
                FindingKind::TornTail,
                f,
                pos,
                Some(next_seq),
                "a footer in the active segment: sealing was interrupted; the next open completes it",
            ));
        } else if let Some(i) = data[tail_from..].iter().position(|&b| b != 0) {
            r.findings.push(finding(
                FindingKind::TornTail,
                f,
                tail_from + i,
                Some(next_seq),
                "non-zero bytes after the last record; the next open cuts them",
            ));
        }
    }
    if f.sealed.is_some() && footer_at.is_some_and(|at| at != watermark) {
        r.findings.push(finding(
            FindingKind::Header,
            f,
            128,
            None,
            format!(
                "the watermark of a sealed segment must equal its footer offset, it is {watermark}"
            ),
        ));
    }
    if f.sealed.is_some() {
        match footer_at {
            Some(at) if at == data_end => match SegmentFooter::decode(data, at) {
                Ok(ft) => {
                    let want = end_state;
                    if ft.count != pending.len() as u64
                        || Some((ft.last_seq, ft.last_hash)) != want
                        || Some(ft.first_ts) != first_ts
                        || ft.last_ts != last_ts
                    {
                        r.findings.push(finding(
                            FindingKind::Footer,
                            f,
                            at,
                            None,
                            format!(
                                "footer says {} records ending at sequence {}, the segment holds {} ending at {}",
                                ft.count,
                                ft.last_seq,
                                pending.len(),
                                end_state.map_or(0, |(s, _)| s.get())
                            ),
                        ));
                    }
                }
                Err(d) => r
                    .findings
                    .push(finding(FindingKind::Footer, f, at, None, d)),
            },
            Some(at) => r.findings.push(finding(
                FindingKind::Footer,
                f,
                at,
                None,
                format!(
                    "footer found at {at}, but the file ends {} bytes later",
                    data.len() - at
                ),
            )),
            None => r.findings.push(finding(
                FindingKind::Footer,
                f,
                data_end,
                None,
                "no footer where the records end",
            )),
        }
    }

    if f.sealed.is_none() {
        // Count the data, not the preallocated zeros after it.
        r.bytes = pos.min(data.len()) as u64;
    }

    // Pass 2: recompute every chain hash, in parallel.
    r.records = pending.len() as u64;
    let mut bad: Vec<Finding> = pending
        .par_chunks(1024)
        .flat_map_iter(|chunk| {
            chunk.iter().filter_map(|p| {
                let prev = p.prev?;
                (chain::link(&prev, p.hashed) != p.stored).then(|| {
                    finding(
                        FindingKind::ChainHash,
                        f,
                        p.offset,
                        Some(p.seq),
                        "stored chain hash is not blake3(previous hash || record bytes)",
                    )
                })
            })
        })
        .collect();
    r.times = first_ts.map(|f| (f, last_ts));
    r.findings.append(&mut bad);
    r.findings.sort_by_key(|x| x.offset);
    let first_damage = r
        .findings
        .iter()
        .filter(|x| x.kind.is_damage())
        .filter_map(|x| x.offset)
        .min();
    r.damaged = r.findings.iter().any(|x| x.kind.is_damage());
    r.end = end_state;
    // The head is the last record up to which the chain holds.
    let last_good = pending
        .iter()
        .take_while(|p| first_damage.is_none_or(|d| (p.offset as u64) < d))
        .last();
    r.last = last_good.map(|p| {
        let ts = record::parse_at(data, p.offset)
            .ok()
            .and_then(|s| match s {
                Slot::Record(rr) => Some(rr.timestamp),
                _ => None,
            })
            .unwrap_or(last_ts);
        (p.seq, p.stored, ts)
    });
    r
}
