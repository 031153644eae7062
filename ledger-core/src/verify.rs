//! Verification: re-hashes every record's stored bytes and checks the whole
//! chain, every CRC, every content address, header and footer, and the links
//! between segments, reporting every finding with its kind and location.
//!
//! Each segment is judged by the one segment walker
//! ([`crate::segment::walk`]); the rules are `docs/FORMAT.md`, "Verifying a
//! ledger". Each record stores its chain hash, so each link
//! `stored(n) == blake3(stored(n-1) || bytes(n))` can be checked on its own:
//! the walker parses each segment's records (cheap), then they are
//! re-hashed in parallel across all cores.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::chain;
use crate::checkpoint::Checkpoint;
use crate::error::{IoContext, Result};
use crate::meta::{LedgerMeta, META_FILE};
use crate::op_error::VerifyError;
use crate::segment::header::SegmentHeader;
use crate::segment::names::SegmentName;
use crate::segment::walk::{self, walk_segment, Expect, Mark, Role, CHAIN_MISMATCH};
use crate::segment::ChainState;
use crate::storage::{FsStorage, Storage};
use crate::types::{ChainHash, ContentHash, LedgerId, SegmentOrdinal, Seq};
use crate::writer::Head;

pub use crate::finding::{Finding, FindingKind};

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
pub fn verify_dir(
    dir: impl AsRef<Path>,
    opts: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
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
    /// The last record before the segment's own first damage.
    head_candidate: Option<Mark>,
    /// Whether the segment's own findings include damage.
    damaged: bool,
    /// Where the chain continues after the segment, when known.
    end: Option<ChainState>,
    /// The first and last valid records.
    first: Option<Mark>,
    last: Option<Mark>,
    /// Checkpoint lookup: the stored hash of the record with this seq.
    found_checkpoint: Option<ChainHash>,
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
pub fn verify(
    storage: Arc<dyn Storage>,
    opts: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    match opts.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| VerifyError::Io {
                op: "start verification threads for",
                path: storage.path_of(""),
                error: std::io::Error::other(e),
            })?
            .install(|| verify_inner(storage.as_ref(), opts)),
        None => verify_inner(storage.as_ref(), opts),
    }
}

fn verify_inner(st: &dyn Storage, opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport::default();
    // Fails with a precise error when this is not a ledger at all: a
    // missing folder, or a folder without a `LEDGER` file.
    let names = crate::layout::check_is_ledger(st)?;
    let mut ledger_id = None;
    match LedgerMeta::decode(&st.read_file(META_FILE).ctx("read", st.path_of(META_FILE))?) {
        Ok(m) => ledger_id = Some(m.id),
        Err(reason) => report.findings.push(Finding {
            kind: FindingKind::Meta,
            segment: META_FILE.into(),
            offset: None,
            seq: None,
            detail: format!(
                "{reason}; the genesis hash cannot be derived, so no record is vouched for"
            ),
        }),
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

    // Cross-segment checks, in chain order. The head is the last record
    // before the first damage in chain order (a damaged identity file
    // leaves none).
    let mut expect_ordinal = 0u64;
    let mut active_before: Option<String> = None;
    let mut prev: Option<SegResult> = None;
    let mut damaged = !report.findings.is_empty();
    let last_index = files.len().saturating_sub(1);
    for (i, (f, mut r)) in files.iter().zip(results).enumerate() {
        // A footer in an active segment with a later segment after it: the
        // writer moved on and its sealer thread has not sealed it yet.
        if f.sealed.is_none() && i < last_index {
            for x in &mut r.findings {
                if x.kind == FindingKind::InterruptedSeal {
                    x.kind = FindingKind::AwaitingSeal;
                    x.detail = "full, not yet sealed: a footer that matches the records, and a \
                        later segment after it; the writer's sealer thread (or the next open) seals it"
                        .to_owned();
                }
            }
        }
        report.segments += 1;
        report.records += r.records;
        report.bytes += r.bytes;
        let mut cross = Vec::new();
        if f.ordinal.get() != expect_ordinal {
            let detail = if f.ordinal.get() < expect_ordinal {
                format!("a second file for segment {}", f.ordinal)
            } else {
                format!(
                    "segments {}..{} are missing before this one",
                    expect_ordinal,
                    f.ordinal.get()
                )
            };
            cross.push(Finding {
                kind: FindingKind::MissingSegment,
                segment: f.name.clone(),
                offset: None,
                seq: None,
                detail,
            });
        }
        expect_ordinal = f.ordinal.get() + 1;
        // Only the last segment may be active.
        if let (Some(active), true) = (&active_before, f.sealed.is_some()) {
            cross.push(Finding {
                kind: FindingKind::MissingSegment,
                segment: f.name.clone(),
                offset: None,
                seq: None,
                detail: format!(
                    "a sealed segment after the active segment {active}: only the last segment may be active"
                ),
            });
        }
        if f.sealed.is_none() {
            active_before = Some(f.name.clone());
        }
        if let Some(h) = &r.header {
            let id = *ledger_id.get_or_insert(h.ledger_id);
            if h.ledger_id != id {
                cross.push(finding(
                    FindingKind::ForeignSegment,
                    f,
                    16,
                    None,
                    format!("belongs to ledger {}, not {id}", h.ledger_id),
                ));
            }
            let want = match &prev {
                None if f.ordinal.get() == 0 => Some((Seq::FIRST, chain::genesis(&id))),
                Some(p) => p.end.map(|s| (s.next_seq, s.prev_hash)),
                None => None,
            };
            if let Some((want_seq, want_hash)) = want {
                if h.first_seq != want_seq || h.prev_hash != want_hash {
                    cross.push(finding(
                        FindingKind::Link,
                        f,
                        40,
                        Some(want_seq),
                        format!(
                            "starts at sequence {} after hash {}, but the chain before it ends at sequence {} with hash {}",
                            h.first_seq,
                            h.prev_hash,
                            want_seq.prev(),
                            want_hash
                        ),
                    ));
                }
            }
            let prev_last = prev
                .as_ref()
                .filter(|p| p.end.is_some())
                .and_then(|p| p.last);
            if let (Some(before), Some(first)) = (prev_last, r.first) {
                if first.timestamp < before.timestamp {
                    cross.push(finding(
                        FindingKind::Timestamp,
                        f,
                        first.offset as usize,
                        Some(first.seq),
                        format!(
                            "the first record's timestamp {} is before the previous segment's last {}",
                            first.timestamp, before.timestamp
                        ),
                    ));
                }
            }
        }
        let cross_damage = cross.iter().any(|x| x.kind.is_damage());
        if !damaged && !cross_damage {
            if let Some(m) = r.head_candidate {
                report.head = Some(Head {
                    seq: m.seq,
                    chain_hash: m.chain_hash,
                    timestamp: m.timestamp,
                });
            }
        }
        damaged |= cross_damage || r.damaged;
        report.findings.extend(cross);
        report.findings.extend(r.findings.iter().cloned());
        if let (Some(cp), Some(found)) = (&opts.checkpoint, r.found_checkpoint) {
            report.checkpoint_ok = Some(found == cp.chain_hash);
        }
        // A segment whose header could not be read leaves the next one's
        // link unchecked rather than reported as broken.
        prev = r.header.is_some().then_some(r);
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
    // A sealed segment's bytes never change: they are mapped and read in
    // place. An active one may be written, sealed and cut by a writer in
    // this process or another: it is read with a plain read (a copy, which
    // a concurrent cut only shortens), never borrowed from a map.
    let read = match f.sealed {
        Some(_) => st.map_segment(&f.name).map(Source::Map),
        None => st.read_file(&f.name).map(Source::Copy),
    };
    let source = match read {
        Ok(s) => s,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound && f.sealed.is_none() {
                // A writer sealed the active segment after the listing:
                // verify it under its sealed name.
                if let Some(sealed) = sealed_file_of(st, f.ordinal) {
                    return verify_segment(st, &sealed, cp_seq);
                }
            }
            r.damaged = true;
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
    let data: &[u8] = match &source {
        Source::Map(map) => map.bytes(0, map.len()).unwrap_or_default(),
        Source::Copy(bytes) => bytes,
    };
    let expect = Expect {
        role: f.sealed.map_or(Role::Active, Role::Sealed),
        ordinal: Some(f.ordinal),
        ledger: None,
        check_chain: false,
    };
    let mut pending = Vec::new();
    let walk = walk_segment(&f.name, data, &expect, |rec, prev| {
        if Some(rec.seq) == cp_seq && r.found_checkpoint.is_none() {
            r.found_checkpoint = Some(rec.chain_hash);
        }
        pending.push(Pending {
            offset: rec.offset,
            seq: rec.seq,
            hashed: rec.hashed,
            stored: rec.chain_hash,
            prev,
        });
    });
    // Recompute every chain hash, in parallel.
    let bad: Vec<Finding> = pending
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
                        CHAIN_MISMATCH,
                    )
                })
            })
        })
        .collect();
    r.findings = walk.findings;
    r.findings.extend(bad);
    r.findings.sort_by_key(|x| x.offset);
    let limit = walk::head_limit(&r.findings);
    r.damaged = limit.is_some();
    r.head_candidate = pending
        .iter()
        .take_while(|p| limit.is_none_or(|l| (p.offset as u64) < l))
        .last()
        .and_then(|p| {
            let m = walk
                .last
                .filter(|m| m.seq == p.seq && m.offset == p.offset as u64);
            m.or_else(|| mark_at(data, p.offset))
        });
    r.records = walk.count;
    r.bytes = match (f.sealed, walk.stop.offset()) {
        (None, Some(end)) => end.min(walk.file_len),
        _ => walk.file_len,
    };
    r.header = walk.header.ok();
    r.end = walk.end_state.filter(|_| r.header.is_some());
    r.first = walk.first;
    r.last = walk.last;
    r
}

/// Where a segment's bytes come from.
enum Source {
    /// A sealed segment's map.
    Map(Arc<dyn crate::storage::SegmentMap>),
    /// A copy of an active segment.
    Copy(Vec<u8>),
}

/// The mark of the valid record at `offset`.
fn mark_at(data: &[u8], offset: usize) -> Option<Mark> {
    match crate::segment::record::parse_at(data, offset) {
        Ok(crate::segment::record::Slot::Record(rec)) => Some(Mark {
            offset: offset as u64,
            seq: rec.seq,
            timestamp: rec.timestamp,
            chain_hash: rec.chain_hash,
        }),
        _ => None,
    }
}
