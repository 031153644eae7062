//! Recovery on open: finds where the chain ends and makes the folder ready
//! for appends, cutting only a torn tail of the active segment.
//!
//! The rules (docs/FORMAT.md, "Recovery"):
//! - Only the active segment's tail may be torn. Its header's durable
//!   watermark says how far records are known durable. An invalid record (or
//!   a missing one) *before* the watermark is damage to committed data: an
//!   error naming segment, offset and sequence, and nothing is changed.
//! - An invalid record at or after the watermark starts a torn tail when a
//!   crash can have left the bytes from there on (the walker's rule,
//!   "Torn tail or damage": whole records after it must be explained by
//!   lost sectors); if not, it is damage like the above, and an edit that
//!   lowered the watermark cuts nothing. The tail's bytes are first saved
//!   to `cut-<ordinal>-<offset>.bin`, then zeroed; the report says the
//!   sequence and offset of the cut, how many bytes it removed, and how
//!   many valid-looking records were among them.
//! - A footer found in the active segment means a crash interrupted sealing:
//!   the seal is completed. The same holds for every full segment the
//!   sealer thread had not sealed yet (`.active` files before the last).
//! - A full segment without its footer (a power loss before the sealer made
//!   it durable) is sealed if the next segment links to its records, and
//!   otherwise becomes the active segment after its torn tail is cut; every
//!   later segment then holds nothing that was promised durable (their
//!   watermarks must say so, or it is damage) and is saved to a cut file
//!   and removed. So is a last segment whose header page never became
//!   durable (all zeros) behind a full one.
//! - Preallocated and temporary files hold no committed data and are removed.
//! - The last sealed segment is checked (content address, header, footer)
//!   and must link to the active one; other sealed segments are checked by
//!   verification and whenever a reader opens them, so opening costs the
//!   same whatever the ledger's size.

use crate::chain;
use crate::error::{Defect, Error, IoContext, Result};
use crate::finding::FindingKind;
use crate::layout::{Layout, SealedFile};
use crate::sealed::SealedSegment;
use crate::segment::footer::FOOTER_LEN;
use crate::segment::header::SegmentHeader;
use crate::segment::names::cut_file_name;
use crate::segment::walk::{self, walk_segment, Expect, Role, Stop};
use crate::segment::ChainState;
use crate::storage::{SegmentMap, Storage};
use crate::types::{SegmentOrdinal, Seq, Timestamp};
use crate::writer::active::{self, ActiveSegment};

/// What recovery cut from a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailCut {
    /// The active segment's file name.
    pub segment: String,
    /// Offset of the first invalid byte that was cut.
    pub offset: u64,
    /// The sequence number the first cut record would have had.
    pub seq: Seq,
    /// How many bytes were cut.
    pub bytes: u64,
    /// Why the record at `offset` was invalid.
    pub reason: String,
    /// How many valid-looking records (CRC-correct, with sequences that
    /// could follow the cut) were among the cut bytes: non-zero when a power
    /// loss persisted later sectors but not earlier ones.
    pub valid_looking_records: u64,
    /// The file the cut bytes were saved to.
    pub saved_to: String,
}

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The torn tail that was cut, if any.
    pub cut: Option<TailCut>,
    /// Segments whose seal was completed (a crash interrupted it, or the
    /// sealer thread had not reached them yet), in order.
    pub completed_seals: Vec<String>,
    /// Segments after a full segment's torn tail, which held nothing
    /// promised durable: saved whole to cut files and removed.
    pub discarded: Vec<TailCut>,
    /// Leftover preallocated and temporary files removed.
    pub removed: Vec<String>,
    /// Whether a fresh active segment was started.
    pub started_segment: bool,
}

impl RecoveryReport {
    /// Whether recovery changed nothing.
    pub fn is_clean(&self) -> bool {
        self.cut.is_none() && self.completed_seals.is_empty() && self.discarded.is_empty()
    }
}

/// The writer's starting point, produced by recovery.
pub(crate) struct Recovered {
    pub active: ActiveSegment,
    pub state: ChainState,
    pub report: RecoveryReport,
}

fn corrupt(segment: &str, offset: usize, seq: Option<Seq>, defect: impl Into<Defect>) -> Error {
    Error::Corrupt {
        segment: segment.to_owned(),
        offset: offset as u64,
        seq,
        defect: defect.into(),
    }
}

/// The chain state at the end of the sealed segments.
fn state_after_sealed(storage: &dyn Storage, layout: &Layout) -> Result<ChainState> {
    match layout.sealed.last() {
        None => Ok(ChainState {
            next_seq: Seq::FIRST,
            prev_hash: chain::genesis(&layout.meta.id),
            last_ts: Timestamp::from_nanos(i64::MIN),
        }),
        Some(file) => {
            let seg = SealedSegment::open(storage, file, &layout.meta.id)?;
            Ok(ChainState {
                next_seq: seg.footer.last_seq.next(),
                prev_hash: seg.footer.last_hash,
                last_ts: seg.footer.last_ts,
            })
        }
    }
}

/// Runs recovery over a locked folder.
pub(crate) fn recover(storage: &dyn Storage, layout: &Layout, capacity: u64) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    for name in layout.prealloc.iter().chain(&layout.temps) {
        storage.remove(name).ctx("remove", storage.path_of(name))?;
        report.removed.push(name.clone());
    }
    let mut state = state_after_sealed(storage, layout)?;
    let mut ordinal = layout.next_ordinal();
    let mut unsealed: Vec<(SegmentOrdinal, String)> = layout.unsealed().cloned().collect();
    // The writer renames the next segment before the sealer flushes its
    // header: after a power loss the name can be durable and the header
    // not. Only behind a full segment, and only with nothing in it.
    if unsealed.len() > 1 {
        if let Some((o, name)) = unsealed.last() {
            if header_page_is_zero(storage, name)? {
                let cut = discard(
                    storage,
                    *o,
                    name,
                    state.next_seq,
                    "its header never became durable",
                )?;
                report.discarded.push(cut);
                unsealed.pop();
            }
        }
    }
    for (i, (active_ordinal, name)) in unsealed.iter().enumerate() {
        let later = &unsealed[i + 1..];
        match recover_active(
            storage,
            layout,
            (*active_ordinal, name),
            later,
            &mut state,
            &mut report,
        )? {
            ActiveOutcome::Ready(seg) => {
                for (o, n) in later {
                    let why = format!("it follows the torn tail of {name}");
                    report
                        .discarded
                        .push(discard(storage, *o, n, state.next_seq, &why)?);
                }
                return Ok(Recovered {
                    active: seg,
                    state,
                    report,
                });
            }
            ActiveOutcome::Sealed(file) => {
                report.completed_seals.push(file.name);
                ordinal = ordinal.next();
            }
        }
    }
    let header = SegmentHeader::continuing(layout.meta.id, ordinal, &state, capacity);
    let seg = active::create_active(storage, header, None)?;
    report.started_segment = true;
    Ok(Recovered {
        active: seg,
        state,
        report,
    })
}

/// Maps the segment file `name` for reading.
fn map_named(storage: &dyn Storage, name: &str) -> Result<std::sync::Arc<dyn SegmentMap>> {
    storage.map_segment(name).ctx("map", storage.path_of(name))
}

/// The header page of a mapped segment (shorter if the file is).
fn header_page(map: &dyn SegmentMap) -> &[u8] {
    let len = crate::segment::header::HEADER_LEN.min(map.len());
    map.raw(crate::storage::TOKEN, 0, len).unwrap_or_default()
}

/// Whether the first page of `name` holds only zeros (a header that was
/// never written durably).
fn header_page_is_zero(storage: &dyn Storage, name: &str) -> Result<bool> {
    let map = map_named(storage, name)?;
    Ok(header_page(map.as_ref()).iter().all(|&b| b == 0))
}

/// Saves a segment that holds nothing promised durable to a cut file and
/// removes it.
fn discard(
    storage: &dyn Storage,
    ordinal: SegmentOrdinal,
    name: &str,
    seq: Seq,
    why: &str,
) -> Result<TailCut> {
    let bytes = storage.read_file(name).ctx("read", storage.path_of(name))?;
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let upto = &bytes[..crate::le::align8(end).min(bytes.len())];
    // Whole records from the start of its data, one after the other.
    let mut valid_looking = 0;
    let mut at = crate::segment::header::HEADER_LEN;
    while let Ok(crate::segment::record::Slot::Record(r)) =
        crate::segment::record::parse_at(upto, at)
    {
        valid_looking += 1;
        at += r.padded_len();
    }
    let saved_to = cut_file_name(ordinal, 0);
    storage
        .write_file_atomic(&saved_to, &bytes[..end])
        .ctx("save cut bytes to", storage.path_of(&saved_to))?;
    storage.remove(name).ctx("remove", storage.path_of(name))?;
    storage.sync_dir().ctx("sync", storage.path_of(""))?;
    Ok(TailCut {
        segment: name.to_owned(),
        offset: 0,
        seq,
        bytes: end as u64,
        reason: format!("the whole segment was cut: {why}; nothing in it was durable"),
        valid_looking_records: valid_looking,
        saved_to,
    })
}

/// Whether the segment file `name` (after a full segment without its
/// footer) starts where `state` ends.
fn later_links(storage: &dyn Storage, name: &str, state: &ChainState) -> Result<bool> {
    let map = map_named(storage, name)?;
    let page = header_page(map.as_ref());
    let fixed = page
        .get(..crate::segment::header::WATERMARK_AT)
        .unwrap_or(page);
    Ok(SegmentHeader::decode_fixed(fixed)
        .is_ok_and(|h| h.first_seq == state.next_seq && h.prev_hash == state.prev_hash))
}

/// Refuses to cut a full segment's tail when a later segment's watermark
/// promises records after it: the writer never raises a segment's
/// watermark before the segments before it are durable, so that is damage.
fn check_later_promise_nothing(
    storage: &dyn Storage,
    name: &str,
    offset: usize,
    later: &[(SegmentOrdinal, String)],
    seq: Seq,
) -> Result<()> {
    for (_, n) in later {
        let map = map_named(storage, n)?;
        let zero = header_page(map.as_ref()).iter().all(|&b| b == 0);
        let promised = match active::load_watermark(map.as_ref()) {
            _ if zero => false,
            Some(w) => w > crate::segment::header::HEADER_LEN as u64,
            None => true,
        };
        if promised {
            return Err(corrupt(
                name,
                offset,
                Some(seq),
                Defect::finding(
                    FindingKind::Truncated,
                    format!(
                        "{name} ends without its footer at offset {offset}, but the later segment {n} \
                         has a durable watermark (or a damaged one): records it promised durable \
                         would follow a gap"
                    ),
                ),
            ));
        }
    }
    Ok(())
}

enum ActiveOutcome {
    Ready(ActiveSegment),
    Sealed(SealedFile),
}

fn recover_active(
    storage: &dyn Storage,
    layout: &Layout,
    (ordinal, name): (SegmentOrdinal, &str),
    later: &[(SegmentOrdinal, String)],
    state: &mut ChainState,
    report: &mut RecoveryReport,
) -> Result<ActiveOutcome> {
    let map = storage
        .map_writable(crate::storage::TOKEN, name)
        .ctx("map", storage.path_of(name))?;
    let data = map
        .raw(crate::storage::TOKEN, 0, map.len())
        .unwrap_or_default();
    // The walker judges the header (its ordinal must be the file name's:
    // trusting another would name the next sealed segments after ordinals
    // that already exist), the watermark and every record.
    let expect = Expect {
        role: Role::Active,
        ordinal: Some(ordinal),
        ledger: Some(layout.meta.id),
        check_chain: true,
    };
    let walk = walk_segment(name, data, &expect, |_, _| {});
    if let Some(f) = walk.findings.iter().find(|f| f.kind.is_damage()) {
        return Err(match (&walk.header, f.kind) {
            (Ok(h), FindingKind::ForeignSegment) => Error::ForeignSegment {
                segment: name.to_owned(),
                expected: layout.meta.id,
                found: h.ledger_id,
            },
            _ => crate::sealed::corrupt_from(f),
        });
    }
    let header = walk.header.clone().map_err(|d| corrupt(name, 0, None, d))?;
    if header.first_seq != state.next_seq || header.prev_hash != state.prev_hash {
        return Err(corrupt(
            name,
            40,
            Some(state.next_seq),
            Defect::finding(
                FindingKind::Link,
                format!(
                    "broken link: the segment starts at sequence {} after hash {}, \
                     but the chain before it ends with sequence {} and hash {}",
                    header.first_seq,
                    header.prev_hash,
                    state.next_seq.prev(),
                    state.prev_hash
                ),
            ),
        ));
    }
    if let Some(first) = walk.first.filter(|f| f.timestamp < state.last_ts) {
        return Err(corrupt(
            name,
            first.offset as usize,
            Some(first.seq),
            Defect::finding(
                FindingKind::Timestamp,
                format!(
                    "timestamp {} is before the previous segment's last record's {}",
                    first.timestamp, state.last_ts
                ),
            ),
        ));
    }
    if let Some(last) = walk.last {
        *state = ChainState {
            next_seq: last.seq.next(),
            prev_hash: last.chain_hash,
            last_ts: last.timestamp,
        };
    }
    let count = walk.count;
    let first_ts = walk.first.map(|f| f.timestamp);
    let torn = walk
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::TornTail);
    let (cut_at, reason) = match (&walk.stop, torn) {
        (Stop::InterruptedSeal { offset, .. }, _) => {
            let end = *offset as usize + FOOTER_LEN;
            let file = active::finish_seal(storage, name, header.ordinal, map.as_ref(), end)?;
            return Ok(ActiveOutcome::Sealed(file));
        }
        (Stop::TornTail { offset, reason }, _) => (*offset as usize, reason.clone()),
        (Stop::End { offset }, Some(_)) => (
            *offset as usize,
            "an empty slot followed by stray bytes".to_owned(),
        ),
        (Stop::End { offset }, None) => {
            let offset = *offset as usize;
            if let Some((_, next)) = later.first() {
                if count > 0 && later_links(storage, next, state)? {
                    // Every record is here and the next segment follows
                    // them: only the footer was lost. Seal it.
                    let map = ensure_room(storage, name, map, offset)?;
                    let seg = ActiveSegment {
                        name: name.to_owned(),
                        map,
                        header,
                        pos: offset,
                        count,
                        first_ts,
                    };
                    let end = active::write_footer(
                        &seg,
                        state.next_seq.prev(),
                        state.prev_hash,
                        state.last_ts,
                    );
                    let file =
                        active::finish_seal(storage, name, header.ordinal, seg.map.as_ref(), end)?;
                    return Ok(ActiveOutcome::Sealed(file));
                }
                check_later_promise_nothing(storage, name, offset, later, state.next_seq)?;
            }
            let map = ensure_room(storage, name, map, offset)?;
            return Ok(ActiveOutcome::Ready(ActiveSegment {
                name: name.to_owned(),
                map,
                header,
                pos: offset,
                count,
                first_ts,
            }));
        }
        (other, _) => {
            return Err(corrupt(
                name,
                other.offset().unwrap_or(0) as usize,
                Some(state.next_seq),
                Defect::finding(
                    FindingKind::Crc,
                    "the walk of the active segment stopped where no active segment can",
                ),
            ))
        }
    };
    check_later_promise_nothing(storage, name, cut_at, later, state.next_seq)?;
    let cut = cut_tail(
        storage,
        name,
        header.ordinal,
        map.as_ref(),
        cut_at,
        state.next_seq,
        reason,
    )?;
    report.cut = Some(cut);
    let map = ensure_room(storage, name, map, cut_at)?;
    Ok(ActiveOutcome::Ready(ActiveSegment {
        name: name.to_owned(),
        map,
        header,
        pos: cut_at,
        count,
        first_ts,
    }))
}

/// An active segment file too short to hold the footer after its records
/// (cut by something outside the ledger) is extended with zeros to the next
/// page boundary past the footer's end, so the writer can always seal it.
/// Nothing more: the header's `capacity` is not trusted (a damaged or forged
/// header could claim any size), and the writer rotates by the file's
/// length, so a short segment is simply sealed early (or, while it holds no
/// record, replaced by a full-size one).
fn ensure_room(
    storage: &dyn Storage,
    name: &str,
    map: std::sync::Arc<dyn SegmentMap>,
    pos: usize,
) -> Result<std::sync::Arc<dyn SegmentMap>> {
    let need = (pos + FOOTER_LEN) as u64;
    if map.len() as u64 >= need {
        return Ok(map);
    }
    let len = need.div_ceil(4096) * 4096;
    drop(map);
    storage
        .truncate(crate::storage::TOKEN, name, len)
        .ctx("extend", storage.path_of(name))?;
    storage
        .map_writable(crate::storage::TOKEN, name)
        .ctx("map", storage.path_of(name))
}

/// Saves the bytes from `offset` to the last non-zero byte, then zeroes them.
fn cut_tail(
    storage: &dyn Storage,
    name: &str,
    ordinal: SegmentOrdinal,
    map: &dyn SegmentMap,
    offset: usize,
    seq: Seq,
    reason: String,
) -> Result<TailCut> {
    let data = map
        .raw(crate::storage::TOKEN, 0, map.len())
        .unwrap_or_default();
    let rest = data.get(offset..).unwrap_or_default();
    let end = offset + rest.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let cut = data.get(offset..end).unwrap_or_default();
    // Up to the 8-byte boundary after the last non-zero byte: a record's
    // zero padding belongs to it. Whole records whose sequences could
    // follow, found in one pass (a tail of garbage costs no CRC per slot).
    let upto = data
        .get(..crate::le::align8(end).min(data.len()))
        .unwrap_or_default();
    let valid_looking = walk::whole_records_after(upto, offset, seq.get());
    let saved_to = cut_file_name(ordinal, offset as u64);
    storage
        .write_file_atomic(&saved_to, cut)
        .ctx("save cut bytes to", storage.path_of(&saved_to))?;
    let bytes = cut.len() as u64;
    if end > offset {
        map.write(crate::storage::TOKEN, offset, &vec![0u8; end - offset]);
        map.flush(crate::storage::TOKEN, offset, end - offset)
            .ctx("flush", storage.path_of(name))?;
    }
    Ok(TailCut {
        segment: name.to_owned(),
        offset: offset as u64,
        seq,
        bytes,
        reason,
        valid_looking_records: valid_looking,
        saved_to,
    })
}
