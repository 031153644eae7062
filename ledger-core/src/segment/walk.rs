//! The segment walker: the only code that walks a segment's bytes (header,
//! records, footer, watermark) and judges them. Verification, recovery,
//! opening a sealed segment, readers, the index, backups, `ledger inspect`,
//! `ledger repair` and the fuzz targets all ask it, so they cannot disagree.
//! The rules it implements are `docs/FORMAT.md`, "Verifying a ledger".
//!
//! Two layers:
//! - [`Walker`]: a resumable step machine over the slots of one segment's
//!   data area. It reads slots through a [`SlotSource`] (plain bytes, or a
//!   live segment map read by the commit protocol), judges each record
//!   (envelope, sequence, time, optionally the chain link), classifies what
//!   is not a record (the end, a torn tail, damage, a footer) and
//!   resynchronises after damage.
//! - [`walk_segment`]: a whole segment file's bytes judged at once: content
//!   address, header, watermark, every record, the footer and the bytes after
//!   the end, as a [`SegmentWalk`] with typed [`Finding`]s.

use crate::finding::{Finding, FindingKind};
use crate::le;
use crate::types::{ChainHash, ContentHash, LedgerId, SegmentOrdinal, Seq, Timestamp};

use super::footer::{FooterDefect, SegmentFooter, FOOTER_LEN};
use super::header::{decode_watermark, HeaderDefect, SegmentHeader, HEADER_LEN, WATERMARK_AT};
use super::record::{self, RecordDefect, RecordRef, Slot, OVERHEAD};
use super::ChainState;

/// Where slots are read from.
pub trait SlotSource<'a> {
    /// The slot at `offset`, reading no byte at or after `limit`.
    fn slot(&self, offset: usize, limit: usize) -> Result<Slot<'a>, RecordDefect>;

    /// All the bytes, when the source is plain bytes that nobody writes
    /// (a sealed segment, a copy). Resynchronisation after damage and the
    /// footer of an active segment need them; a live source (read by the
    /// commit protocol) has none, and a walk over it never needs them.
    fn plain(&self) -> Option<&'a [u8]>;
}

impl<'a> SlotSource<'a> for &'a [u8] {
    fn slot(&self, offset: usize, limit: usize) -> Result<Slot<'a>, RecordDefect> {
        let b: &'a [u8] = self;
        record::parse_at(b.get(..limit.min(b.len())).unwrap_or_default(), offset)
    }

    fn plain(&self) -> Option<&'a [u8]> {
        Some(self)
    }
}

/// How the walker judges what it finds; see `docs/FORMAT.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A sealed segment: the data area ends at the footer; anything in it
    /// that is not a valid record is damage.
    Sealed,
    /// An active segment, judged by its durable watermark: an invalid slot
    /// before the watermark is damage; the first invalid slot at or after it
    /// is a torn tail, where the walk stops, when a crash can have left the
    /// bytes from there on ([`not_a_lost_write`]), and damage otherwise.
    /// `None`: the watermark is not valid, so nothing can be called a torn
    /// tail and every invalid slot is damage.
    Active {
        /// The valid durable watermark, if any.
        watermark: Option<usize>,
    },
    /// A live segment read by a reader while the writer appends: an empty
    /// slot is the current end (the walk can be resumed later), a footer
    /// marker means the writer sealed the segment, and an invalid slot ends
    /// the walk (a reader cannot tell a torn tail from damage; it reports it).
    Live,
}

/// What one step of a walk produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// A record whose envelope (length, CRC, padding) holds.
    Record {
        /// The record.
        rec: RecordRef<'a>,
        /// The chain hash it must link to, when that is known (not after
        /// damage). When the walker checks links itself, already checked.
        prev: Option<ChainHash>,
        /// What is wrong with its sequence, time or link, if anything.
        problem: Option<Box<Finding>>,
    },
    /// A damaged region, from its first byte; the walk has resynchronised
    /// past it.
    Damage(Finding),
    /// The walk is over (for [`Mode::Live`] and an [`Stop::End`], a later
    /// step may find new records).
    Stop(Stop),
}

/// Where and why a walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// An empty slot (or the end of the file) in an active or live segment.
    End {
        /// Its offset.
        offset: u64,
    },
    /// The end of a sealed segment's data area (the footer's offset).
    DataEnd {
        /// The footer's offset.
        offset: u64,
    },
    /// The first invalid slot at or after the durable watermark of an active
    /// segment, when the bytes from there on can be the trace of a crash
    /// ([`not_a_lost_write`]); recovery cuts from here.
    TornTail {
        /// Offset of the invalid slot (where recovery cuts).
        offset: u64,
        /// Why the slot is not a valid record.
        reason: String,
    },
    /// A footer in an active segment that matches its records: sealing was
    /// interrupted (recovery completes it).
    InterruptedSeal {
        /// The footer's offset.
        offset: u64,
        /// The footer.
        footer: SegmentFooter,
    },
    /// A footer marker in a live segment: the writer sealed it.
    Sealed {
        /// The footer's offset.
        offset: u64,
    },
    /// An invalid slot in a live segment.
    Invalid(Finding),
    /// The segment's header (or, for a sealed file, its length) cannot be
    /// checked: its records were not walked.
    NotWalked,
}

impl Stop {
    /// The offset the walk stopped at, when it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Stop::End { offset }
            | Stop::DataEnd { offset }
            | Stop::TornTail { offset, .. }
            | Stop::InterruptedSeal { offset, .. }
            | Stop::Sealed { offset } => Some(*offset),
            Stop::Invalid(f) => f.offset,
            Stop::NotWalked => None,
        }
    }
}

/// A record's place and identity, kept by a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Offset in the file.
    pub offset: u64,
    /// Sequence number.
    pub seq: Seq,
    /// Timestamp.
    pub timestamp: Timestamp,
    /// Stored chain hash.
    pub chain_hash: ChainHash,
}

impl Mark {
    fn of(r: &RecordRef<'_>) -> Mark {
        Mark {
            offset: r.offset as u64,
            seq: r.seq,
            timestamp: r.timestamp,
            chain_hash: r.chain_hash,
        }
    }
}

/// The resumable state of a walk over one segment's data area.
#[derive(Debug, Clone)]
pub struct Walker {
    name: String,
    mode: Mode,
    pos: usize,
    limit: usize,
    state: ChainState,
    /// Whether the next record is judged against `state` (false right after
    /// damage: nothing before it can be trusted to judge it by).
    linked: bool,
    check_chain: bool,
    count: u64,
    first: Option<Mark>,
    /// Offset and sequence of the last valid record; its time and hash are
    /// `state`'s (the state is always the last valid record's).
    last: Option<(usize, Seq)>,
    damaged: bool,
    /// Whether the last thing walked was a valid record (so `state` is the
    /// chain's state after the segment's data).
    ends_on_record: bool,
    /// Where a finished walk stopped: a later step says it again.
    stopped: Option<Stop>,
    /// Whether a file that ends before the watermark was reported.
    cut_reported: bool,
    /// Where the walk ended at an empty slot past the watermark: the first
    /// non-zero byte after it, if any (scanned once, see
    /// [`Walker::nonzero_after_end`]).
    end_scan: Option<Option<usize>>,
    /// Bytes the search for a record after damage may still checksum
    /// ([`crc_budget`]); spent, the rest of the data area is damaged.
    crc_budget: usize,
}

/// How many bytes a search for whole records may run CRCs over in a
/// segment of `len` bytes: twice its size and a MiB. Honest bytes rarely
/// hold a slot whose length word and sequence both fit, so an honest
/// search never comes near it; crafted garbage with such a slot every 8
/// bytes would otherwise cost one CRC over the rest of the file per slot
/// (quadratic: about 75 minutes for 64 MiB), stalling `verify` and opening.
pub fn crc_budget(len: usize) -> usize {
    len.saturating_mul(2).saturating_add(1 << 20)
}

impl Walker {
    /// A walk over the data area `[HEADER_LEN, limit)` of segment `name`,
    /// starting from the chain state its header gives.
    pub fn new(name: &str, mode: Mode, start: ChainState, limit: usize) -> Walker {
        Walker {
            name: name.to_owned(),
            mode,
            pos: HEADER_LEN,
            limit,
            state: start,
            linked: true,
            check_chain: false,
            count: 0,
            first: None,
            last: None,
            damaged: false,
            ends_on_record: true,
            stopped: None,
            cut_reported: false,
            end_scan: None,
            crc_budget: crc_budget(limit),
        }
    }

    /// Starts the walk at `pos` instead of the first record (the chain state
    /// given to [`Walker::new`] must be the one before the record there).
    #[must_use]
    pub fn starting_at(mut self, pos: usize) -> Walker {
        self.pos = pos;
        self
    }

    /// Also recompute every record's chain hash during the walk (a mismatch
    /// is a problem of the record); by default the caller does it.
    #[must_use]
    pub fn check_chain(mut self, on: bool) -> Walker {
        self.check_chain = on;
        self
    }

    /// The offset of the next slot.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The chain state after the records walked so far.
    pub fn state(&self) -> ChainState {
        self.state
    }

    /// Valid records walked.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The first valid record walked.
    pub fn first(&self) -> Option<Mark> {
        self.first
    }

    /// The last valid record walked.
    pub fn last(&self) -> Option<Mark> {
        self.last.map(|(offset, seq)| Mark {
            offset: offset as u64,
            seq,
            timestamp: self.state.last_ts,
            chain_hash: self.state.prev_hash,
        })
    }

    /// Whether any damage was met.
    pub fn damaged(&self) -> bool {
        self.damaged
    }

    /// Whether the walk so far ends on a valid record (or met nothing at
    /// all), so that [`Walker::state`] is where the chain continues.
    pub fn ends_on_record(&self) -> bool {
        self.ends_on_record
    }

    fn finding(
        &self,
        kind: FindingKind,
        offset: usize,
        seq: Option<Seq>,
        detail: String,
    ) -> Finding {
        Finding {
            kind,
            segment: self.name.clone(),
            offset: Some(offset as u64),
            seq,
            detail,
        }
    }

    fn stop(&mut self, stop: Stop) -> Step<'static> {
        // A live walk can be resumed: the writer may publish more.
        if self.mode != Mode::Live {
            self.stopped = Some(stop.clone());
        }
        Step::Stop(stop)
    }

    /// The next step of the walk.
    pub fn step<'a, S: SlotSource<'a>>(&mut self, src: &S) -> Step<'a> {
        if let Some(stop) = &self.stopped {
            return Step::Stop(stop.clone());
        }
        let pos = self.pos;
        if pos >= self.limit {
            // An active file that ends before its watermark lost records
            // that were durable (said once: the walk then ends).
            if let Mode::Active { watermark: Some(w) } = self.mode {
                if pos < w && !self.cut_reported {
                    self.cut_reported = true;
                    self.damaged = true;
                    self.ends_on_record = false;
                    return Step::Damage(self.finding(
                        FindingKind::Truncated,
                        pos,
                        Some(self.state.next_seq),
                        format!(
                            "records up to offset {w} were durable, but the file ends at {pos}"
                        ),
                    ));
                }
            }
            return match self.mode {
                Mode::Sealed => self.stop(Stop::DataEnd { offset: pos as u64 }),
                _ => self.stop(Stop::End { offset: pos as u64 }),
            };
        }
        let slot = src.slot(pos, self.limit);
        match (slot, self.mode) {
            (Ok(Slot::Record(rec)), _) => self.on_record(rec),
            (Ok(Slot::Empty), Mode::Live) => self.stop(Stop::End {
                offset: pos as u64,
            }),
            (Ok(Slot::Empty), Mode::Active { watermark }) if watermark.is_none_or(|w| pos >= w) => {
                // Past a valid watermark an empty slot ends the records,
                // unless whole records follow that no crash could leave
                // there (`docs/FORMAT.md`, "Torn tail or damage").
                if watermark.is_some() {
                    if let Some(why) = self.records_after_empty_slot(src) {
                        return self.damage(
                            src,
                            FindingKind::Truncated,
                            format!("an empty slot past the durable watermark, but {why}"),
                        );
                    }
                }
                self.stop(Stop::End {
                    offset: pos as u64,
                })
            }
            (Ok(Slot::Empty), Mode::Active { watermark }) => {
                let w = watermark.unwrap_or_default();
                let detail = format!(
                    "records up to offset {w} were durable, but an empty slot is here (zeroed or cut off)"
                );
                self.damage(src, FindingKind::Truncated, detail)
            }
            (Ok(Slot::Empty), Mode::Sealed) => self.damage(
                src,
                FindingKind::Truncated,
                "an empty slot inside a sealed segment's data: records before its footer are missing"
                    .into(),
            ),
            (Ok(Slot::Footer), Mode::Live) => self.stop(Stop::Sealed {
                offset: pos as u64,
            }),
            (Ok(Slot::Footer), Mode::Sealed) => self.damage(
                src,
                FindingKind::Footer,
                format!(
                    "a footer marker inside the data area; the footer belongs at offset {}",
                    self.limit
                ),
            ),
            (Ok(Slot::Footer), Mode::Active { .. }) => self.on_active_footer(src),
            (Err(defect), _) => {
                let kind = match defect {
                    RecordDefect::Padding => FindingKind::StrayBytes,
                    _ => FindingKind::Crc,
                };
                self.invalid(src, kind, defect.to_string())
            }
        }
    }

    /// Whether an invalid slot at the current position is past the durable
    /// watermark, where it may be a torn tail.
    fn is_torn(&self) -> bool {
        matches!(self.mode, Mode::Active { watermark: Some(w) } if self.pos >= w)
    }

    /// For an empty slot at the current position, past the watermark: why
    /// the non-zero bytes after it cannot be a torn tail (`None` when there
    /// are none, or when a crash can leave them). Scans the rest of the
    /// file once; on a clean segment that is the scan for bytes after the
    /// end that [`walk_segment`] makes anyway, and it reuses this one.
    fn records_after_empty_slot<'a, S: SlotSource<'a>>(&mut self, src: &S) -> Option<String> {
        let data = src.plain()?;
        let data = data.get(..self.limit.min(data.len()))?;
        let pos = self.pos;
        let nonzero = data
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b != 0))
            .map(|i| pos + i);
        let why = nonzero.and_then(|_| not_a_lost_write(data, pos, data.len(), &self.state));
        // Kept for the walk's end only (after damage the walk goes on).
        self.end_scan = why.is_none().then_some(nonzero);
        why
    }

    /// Where a walk that ended at an empty slot past the watermark found
    /// the first non-zero byte after it: `Some(None)` when the rest of the
    /// file is zero, `None` when it did not look.
    pub fn nonzero_after_end(&self) -> Option<Option<usize>> {
        self.end_scan
    }

    fn invalid<'a, S: SlotSource<'a>>(
        &mut self,
        src: &S,
        kind: FindingKind,
        reason: String,
    ) -> Step<'static> {
        if self.is_torn() {
            let why = src
                .plain()
                .and_then(|b| not_a_lost_write(b, self.pos, self.limit, &self.state));
            return match why {
                None => self.stop(Stop::TornTail {
                    offset: self.pos as u64,
                    reason,
                }),
                Some(why) => self.damage(src, kind, format!("{reason}; {why}")),
            };
        }
        if self.mode == Mode::Live {
            let f = self.finding(kind, self.pos, Some(self.state.next_seq), reason);
            return self.stop(Stop::Invalid(f));
        }
        self.damage(src, kind, reason)
    }

    fn on_record<'a>(&mut self, rec: RecordRef<'a>) -> Step<'a> {
        let problem = if self.linked { self.judge(&rec) } else { None };
        if let Some(p) = problem.as_ref().filter(|_| self.mode == Mode::Live) {
            return self.stop(Stop::Invalid(Finding::clone(p)));
        }
        // A record whose envelope holds but whose sequence, time or link is
        // wrong is damage wherever it is: a crash leaves a record missing
        // bytes (its CRC fails), never a whole one that does not belong.
        let prev = self.linked.then_some(self.state.prev_hash);
        self.damaged |= problem.is_some();
        self.linked = true;
        self.state = ChainState {
            next_seq: rec.seq.next(),
            prev_hash: rec.chain_hash,
            last_ts: rec.timestamp,
        };
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(Mark::of(&rec));
        }
        self.last = Some((rec.offset, rec.seq));
        self.ends_on_record = true;
        self.pos = rec.offset + rec.padded_len();
        Step::Record { rec, prev, problem }
    }

    /// The record's sequence, time and (when asked) link against the chain.
    fn judge(&self, rec: &RecordRef<'_>) -> Option<Box<Finding>> {
        let s = &self.state;
        let (kind, detail) = if rec.seq != s.next_seq {
            (
                FindingKind::SequenceGap,
                format!("sequence {} where {} was expected", rec.seq, s.next_seq),
            )
        } else if rec.timestamp < s.last_ts {
            (
                FindingKind::Timestamp,
                format!(
                    "timestamp {} is before the previous record's {}",
                    rec.timestamp, s.last_ts
                ),
            )
        } else if self.check_chain && !rec.links_to(&s.prev_hash) {
            (FindingKind::ChainHash, CHAIN_MISMATCH.to_owned())
        } else {
            return None;
        };
        Some(Box::new(self.finding(
            kind,
            rec.offset,
            Some(rec.seq),
            detail,
        )))
    }

    fn on_active_footer<'a, S: SlotSource<'a>>(&mut self, src: &S) -> Step<'static> {
        let pos = self.pos;
        let footer = footer_bytes(src, pos, self.limit);
        let verdict = match footer {
            None => Err("a footer marker without a whole footer after it".to_owned()),
            Some(Err(d)) => Err(format!("a footer marker, but the footer is damaged: {d}")),
            Some(Ok(f)) => match (self.damaged, self.first, self.last()) {
                (false, Some(first), Some(last)) => {
                    footer_mismatch(&f, self.count, first, last).map_or(Ok(f), Err)
                }
                _ => Err("a footer over no (or damaged) records: not a seal".to_owned()),
            },
        };
        match verdict {
            Ok(footer) => self.stop(Stop::InterruptedSeal {
                offset: pos as u64,
                footer,
            }),
            Err(reason) => self.invalid(src, FindingKind::Crc, reason),
        }
    }

    /// Reports the damaged region starting at the current position and
    /// resynchronises past it (`docs/FORMAT.md`, "Resynchronisation").
    fn damage<'a, S: SlotSource<'a>>(
        &mut self,
        src: &S,
        kind: FindingKind,
        detail: String,
    ) -> Step<'static> {
        let from = self.pos;
        let to = self.resync(src, from);
        let f = self.finding(
            kind,
            from,
            Some(self.state.next_seq),
            format!("{detail} (the damaged region runs to offset {to})"),
        );
        self.damaged = true;
        self.linked = false;
        self.ends_on_record = false;
        self.pos = to;
        Step::Damage(f)
    }

    /// Where the walk goes on after damage at `from`: after the damaged
    /// record when its length word leads to a slot that parses (a record,
    /// an empty slot, or the end of the data area), else at the next offset
    /// (in 8-byte steps) where a record whose envelope holds starts, else
    /// at the end of the data area.
    ///
    /// A slot is parsed only when its length word fits the data area, and
    /// the bytes such candidates cover are charged to the walk's CRC
    /// budget; when it is spent, the damage runs to the end of the data
    /// area (never a record missed that a search could prove, only a region
    /// reported whole).
    fn resync<'a, S: SlotSource<'a>>(&mut self, src: &S, from: usize) -> usize {
        let by_length = match src.slot(from, self.limit) {
            Err(
                RecordDefect::Crc { .. } | RecordDefect::Padding | RecordDefect::Truncated { .. },
            ) => len_word(src, from, self.limit).and_then(|len| {
                let next = slot_end(from, len, self.limit)?;
                let plausible = next == self.limit
                    || matches!(
                        src.slot(next, self.limit),
                        Ok(Slot::Record(_) | Slot::Empty)
                    );
                plausible.then_some(next)
            }),
            _ => None,
        };
        if let Some(next) = by_length {
            return next;
        }
        let mut q = from + 8;
        while q + 4 <= self.limit {
            if let Some(len) = len_word(src, q, self.limit) {
                let Some(end) = slot_end(q, len, self.limit) else {
                    // Not a record: no CRC to compute.
                    q += 8;
                    continue;
                };
                match self.crc_budget.checked_sub(end - q) {
                    Some(rest) => self.crc_budget = rest,
                    None => return self.limit,
                }
            }
            if matches!(src.slot(q, self.limit), Ok(Slot::Record(_))) {
                return q;
            }
            q += 8;
        }
        self.limit
    }
}

/// The unit in which a write reaches the storage medium whole or not at
/// all (`docs/FORMAT.md`, "Assumptions about the storage medium"): after a
/// crash each sector of a segment holds what the writer had written into it
/// by some moment.
pub const SECTOR: usize = 512;

/// The smallest a record can be with its padding.
const MIN_PADDED_RECORD: usize = le::align8(OVERHEAD);

/// The end of the sector that holds offset `at`.
fn sector_end(at: usize) -> usize {
    (at / SECTOR).saturating_add(1).saturating_mul(SECTOR)
}

/// Whether the bytes of `data` from `o` on, where `o` is the first invalid
/// (or empty) slot at or after the durable watermark and the chain expects
/// `state.next_seq` there, can be what a crash left: records in flight that
/// reached the disk in part. `None` when they can (a torn tail), else why
/// not (damage). `docs/FORMAT.md`, "Torn tail or damage", is the rule.
///
/// A crash tears records by leaving sectors older than the writer's last
/// writes, so what is missing reads as zeros, and the writer stores a
/// record's length word after all its other bytes. Whole records after an
/// invalid slot are therefore possible (a later sector reached the disk
/// and an earlier one did not), but only where zeros account for every
/// record between. Costs nothing on a clean segment: it runs only when an
/// invalid slot, or non-zero bytes after the end, are past the watermark.
pub fn not_a_lost_write(data: &[u8], o: usize, limit: usize, state: &ChainState) -> Option<String> {
    let data = data.get(..limit.min(data.len()))?;
    let mut budget = crc_budget(data.len());
    let rec = match next_whole_record(data, o, state.next_seq.get(), &mut budget) {
        Ok(Some(rec)) => rec,
        Ok(None) => return None,
        Err(BudgetSpent) => {
            return Some(format!(
                "the bytes after offset {o} hold more record-like slots than a crash leaves \
                 (the search for whole records spent its budget of {} bytes): \
                 damage, not a torn tail; nothing is cut",
                crc_budget(data.len())
            ))
        }
    };
    let r = rec.offset;
    let why = if rec.timestamp < state.last_ts {
        Some(format!(
            "its time {} is before the last record's {}",
            rec.timestamp, state.last_ts
        ))
    } else {
        zeros_do_not_explain(data, o, r)
    };
    why.map(|why| {
        format!(
            "a whole record (sequence {}) starts at offset {r} after it and {why}, \
             which no crash leaves: damage, not a torn tail; nothing is cut \
             (`ledger repair` shows what a cut would remove)",
            rec.seq
        )
    })
}

/// The first record whose envelope holds at an offset `q = o + 8k`
/// (`k >= 1`) of `data` with a sequence that can follow the records missing
/// from `o` on: after `expected` (the one at `o`), by at most
/// `(q - o) / 64` (every record takes at least 64 bytes). Zero bytes are
/// skipped fast, and a slot's CRC is computed only when its length and
/// sequence fit, so a tail of garbage costs one pass, not one CRC per slot;
/// the bytes those CRCs cover are charged to `budget`, and a search that
/// would overspend it stops with [`BudgetSpent`] (crafted garbage).
fn next_whole_record<'d>(
    data: &'d [u8],
    o: usize,
    expected: u64,
    budget: &mut usize,
) -> Result<Option<RecordRef<'d>>, BudgetSpent> {
    let Some(mut q) = o.checked_add(8) else {
        return Ok(None);
    };
    loop {
        let Some(nz) = data
            .get(q..)
            .and_then(|rest| rest.iter().position(|&b| b != 0))
        else {
            return Ok(None);
        };
        // The slot holding the first non-zero byte in its length word.
        q = (q + nz) & !7;
        let end = le::u32_at(data, q).and_then(|len| slot_end(q, len, data.len()));
        let plausible = end.filter(|_| {
            le::u64_at(data, q + 8).is_some_and(|seq| {
                let most = ((q - o) / MIN_PADDED_RECORD) as u64;
                seq > expected && seq - expected <= most
            })
        });
        if let Some(end) = plausible {
            *budget = budget.checked_sub(end - q).ok_or(BudgetSpent)?;
            if let Ok(Slot::Record(rec)) = record::parse_at(data, q) {
                return Ok(Some(rec));
            }
        }
        let Some(next) = q.checked_add(8) else {
            return Ok(None);
        };
        q = next;
    }
}

/// A search for whole records stopped: it would have spent more than its
/// [`crc_budget`] on CRCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BudgetSpent;

/// How many whole records lie in `data` after `o`, where the chain expects
/// sequence `expected`: the records [`not_a_lost_write`] looks for, each
/// one after the last (what recovery counts among the bytes it cuts). One
/// pass over the bytes.
/// A search that spends its [`crc_budget`] counts what it found so far.
pub fn whole_records_after(data: &[u8], o: usize, expected: u64) -> u64 {
    let (mut at, mut seq, mut n) = (o, expected, 0);
    let mut budget = crc_budget(data.len());
    while let Ok(Some(rec)) = next_whole_record(data, at, seq, &mut budget) {
        n += 1;
        at = rec.offset;
        seq = rec.seq.get();
    }
    n
}

/// Why the slots from `o` to the whole record at `r` are not records the
/// crash tore, following their length words from `o`; `None` when zeros
/// account for all of them.
fn zeros_do_not_explain(data: &[u8], o: usize, r: usize) -> Option<String> {
    let mut p = o;
    while p < r {
        let Some(word) = le::u32_at(data, p) else {
            return Some(format!("the slot at offset {p} is cut off"));
        };
        if word == 0 {
            // The sector holding a missing length word is older than that
            // record: nothing written after it can be in that sector.
            return (r < sector_end(p)).then(|| {
                format!(
                    "shares the {SECTOR}-byte sector of the empty slot at offset {p} \
                     (a record written after a missing one cannot reach the disk in its sector)"
                )
            });
        }
        let len = word as usize;
        let Some(next) = slot_end(p, word, r) else {
            return Some(format!(
                "the length word {word} at offset {p} does not lead to it"
            ));
        };
        // The length word reached the disk, so its sector was written after
        // the whole record: the bytes the record lacks are in a later
        // sector that reached the disk older, ending in zeros. That sector
        // ends before the next length word, unless that word is missing too.
        let end = p + len;
        let next_missing = next < r && le::u32_at(data, next) == Some(0);
        let mut w = sector_end(p);
        let mut explained = false;
        while w < end {
            let w_end = w.saturating_add(SECTOR);
            let holds_zero = data.get(w..end.min(w_end)).is_some_and(|b| b.contains(&0));
            if holds_zero && (w_end <= next || next_missing) {
                explained = true;
                break;
            }
            w = w_end;
        }
        if !explained {
            return Some(format!(
                "the invalid record at offset {p} has its length word, and no later \
                 sector of it is missing (a record whose length word reached the disk \
                 is whole in that sector)"
            ));
        }
        p = next;
    }
    None
}

/// The detail of a chain-hash finding.
pub const CHAIN_MISMATCH: &str = "stored chain hash is not blake3(previous hash || record bytes)";

/// Where the slot at `at` whose length word is `len` ends (with its
/// padding), when that length can be a record's and the slot ends by
/// `limit`: the test a length word passes before a slot is parsed (and a
/// CRC computed) at `at`.
fn slot_end(at: usize, len: u32, limit: usize) -> Option<usize> {
    let len = len as usize;
    at.checked_add(le::align8(len))
        .filter(|&end| len >= OVERHEAD && end <= limit)
}

/// The length word at `offset` of a plain source.
fn len_word<'a, S: SlotSource<'a>>(src: &S, offset: usize, limit: usize) -> Option<u32> {
    let b = src.plain()?;
    le::u32_at(b.get(..limit.min(b.len()))?, offset)
}

/// The footer at `at` of a plain source (`None` for a live one).
fn footer_bytes<'a, S: SlotSource<'a>>(
    src: &S,
    at: usize,
    limit: usize,
) -> Option<Result<SegmentFooter, FooterDefect>> {
    let _ = limit;
    Some(SegmentFooter::decode(src.plain()?, at))
}

/// How a footer disagrees with the records walked, if it does.
pub fn footer_mismatch(f: &SegmentFooter, count: u64, first: Mark, last: Mark) -> Option<String> {
    let mut wrong = Vec::new();
    if f.count != count {
        wrong.push(format!(
            "it counts {} records, the segment holds {count}",
            f.count
        ));
    }
    if f.first_seq != first.seq {
        wrong.push(format!(
            "its first sequence is {}, the first record's {}",
            f.first_seq, first.seq
        ));
    }
    if f.last_seq != last.seq {
        wrong.push(format!(
            "its last sequence is {}, the last record's {}",
            f.last_seq, last.seq
        ));
    }
    if f.first_ts != first.timestamp {
        wrong.push("its first time is not the first record's".to_owned());
    }
    if f.last_ts != last.timestamp {
        wrong.push("its last time is not the last record's".to_owned());
    }
    if f.last_hash != last.chain_hash {
        wrong.push("its last chain hash is not the last record's".to_owned());
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "the footer disagrees with the records: {}",
            wrong.join("; ")
        )
    })
}

/// The records whose envelope holds in `data[from..to]`, resynchronising
/// past anything else as a walk over a sealed segment's data does: what can
/// still be read of a damaged or cut region (their sequence, time and link
/// are not judged).
pub fn readable_records(data: &[u8], from: usize, to: usize) -> Vec<RecordRef<'_>> {
    let start = ChainState {
        next_seq: Seq::FIRST,
        prev_hash: ChainHash::from_bytes([0; 32]),
        last_ts: Timestamp::from_nanos(i64::MIN),
    };
    let mut walker = Walker::new("", Mode::Sealed, start, to.min(data.len())).starting_at(from);
    let mut out = Vec::new();
    loop {
        match walker.step(&data) {
            Step::Record { rec, .. } => out.push(rec),
            Step::Damage(_) => {}
            Step::Stop(_) => return out,
        }
    }
}

/// What a segment file is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A sealed segment; its name claims this content address.
    Sealed(ContentHash),
    /// The active segment.
    Active,
}

impl Role {
    /// The role a file name gives: a sealed segment's name claims its
    /// content address; an active, preallocated or unknown name is judged as
    /// an active segment.
    pub fn of_name(name: &str) -> Role {
        match super::names::SegmentName::parse(name) {
            Some(super::names::SegmentName::Sealed(_, address)) => Role::Sealed(address),
            _ => Role::Active,
        }
    }
}

/// What the walk of a whole segment is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// What the file is.
    pub role: Role,
    /// The ordinal its name carries.
    pub ordinal: Option<SegmentOrdinal>,
    /// The ledger it must belong to.
    pub ledger: Option<LedgerId>,
    /// Whether to recompute every chain hash during the walk (verification
    /// does it afterwards, in parallel).
    pub check_chain: bool,
}

/// A whole segment file judged: [`walk_segment`]'s result.
#[derive(Debug, Clone)]
pub struct SegmentWalk {
    /// The file's length.
    pub file_len: u64,
    /// For a sealed segment: the blake3 of its bytes.
    pub actual_address: Option<ContentHash>,
    /// The header, or why it is not valid.
    pub header: Result<SegmentHeader, HeaderDefect>,
    /// The durable watermark, or why it is not valid.
    pub watermark: Result<u64, HeaderDefect>,
    /// Valid records walked (envelope holds), whatever their sequence, time
    /// or link.
    pub count: u64,
    /// The first valid record.
    pub first: Option<Mark>,
    /// The last valid record.
    pub last: Option<Mark>,
    /// The chain state after the segment, when its walk ended on a valid
    /// record with no damage after it (else the next segment's link cannot
    /// be checked against it).
    pub end_state: Option<ChainState>,
    /// Where the walk stopped.
    pub stop: Stop,
    /// A sealed segment's footer (at the end of its data area), or why it
    /// is not valid.
    pub footer: Option<(u64, Result<SegmentFooter, FooterDefect>)>,
    /// Everything wrong (and the notices), in file order.
    pub findings: Vec<Finding>,
}

impl SegmentWalk {
    /// Whether any finding is damage.
    pub fn is_damaged(&self) -> bool {
        self.findings.iter().any(|f| f.kind.is_damage())
    }

    /// The offset before which this segment's records can be vouched for:
    /// `Some(0)` when a segment-wide finding (header, footer, content
    /// address, identity) leaves none, the first damaged offset otherwise,
    /// `None` when nothing is damaged.
    pub fn head_limit(&self) -> Option<u64> {
        head_limit(&self.findings)
    }
}

/// The offset before which records are vouched for, given a segment's
/// findings (see [`SegmentWalk::head_limit`]).
pub fn head_limit(findings: &[Finding]) -> Option<u64> {
    findings
        .iter()
        .filter(|f| f.kind.is_damage())
        .map(|f| {
            if f.kind.is_segment_wide() {
                0
            } else {
                f.offset.unwrap_or(0)
            }
        })
        .min()
}

/// The offset a header defect is located at.
pub fn header_defect_offset(d: &HeaderDefect) -> u64 {
    match d {
        HeaderDefect::Short { .. } | HeaderDefect::Magic { .. } => 0,
        HeaderDefect::Version { .. } => 8,
        HeaderDefect::Crc { .. } => super::header::CRC_AT as u64,
        HeaderDefect::Reserved { offset } => *offset as u64,
        HeaderDefect::Watermark { .. } => WATERMARK_AT as u64,
    }
}

/// Judges a whole segment file's bytes (`docs/FORMAT.md`, "Verifying a
/// ledger"), calling `on_record` for every valid record with the hash it
/// must link to (when known). Never panics, whatever the bytes.
pub fn walk_segment<'a>(
    name: &str,
    data: &'a [u8],
    expect: &Expect,
    mut on_record: impl FnMut(&RecordRef<'a>, Option<ChainHash>),
) -> SegmentWalk {
    let mut findings = Vec::new();
    let finding = |kind, offset: u64, seq: Option<Seq>, detail: String| Finding {
        kind,
        segment: name.to_owned(),
        offset: Some(offset),
        seq,
        detail,
    };
    let mut actual_address = None;
    if let Role::Sealed(address) = expect.role {
        let actual = ContentHash::of(data);
        actual_address = Some(actual);
        if actual != address {
            findings.push(Finding {
                kind: FindingKind::ContentAddress,
                segment: name.to_owned(),
                offset: None,
                seq: None,
                detail: format!(
                    "the name says {address}, the bytes hash to {actual}: the file changed after it was sealed"
                ),
            });
        }
    }
    let header = SegmentHeader::decode(data);
    let watermark = decode_watermark(data);
    let mut walk = SegmentWalk {
        file_len: data.len() as u64,
        actual_address,
        header,
        watermark: watermark.clone(),
        count: 0,
        first: None,
        last: None,
        end_state: None,
        stop: Stop::NotWalked,
        footer: None,
        findings: Vec::new(),
    };
    let header = match &walk.header {
        Ok(h) => *h,
        Err(d) => {
            findings.push(finding(
                FindingKind::Header,
                header_defect_offset(d),
                None,
                format!("{d}; the segment's records cannot be placed in the chain"),
            ));
            walk.findings = findings;
            return walk;
        }
    };
    if let Some(o) = expect.ordinal.filter(|&o| o != header.ordinal) {
        findings.push(finding(
            FindingKind::Header,
            32,
            None,
            format!(
                "the header says segment {}, the file name {o}",
                header.ordinal
            ),
        ));
    }
    if let Some(id) = expect.ledger.filter(|&id| id != header.ledger_id) {
        findings.push(finding(
            FindingKind::ForeignSegment,
            16,
            None,
            format!("belongs to ledger {}, not {id}", header.ledger_id),
        ));
    }
    if let Err(d) = &watermark {
        findings.push(finding(
            FindingKind::Header,
            WATERMARK_AT as u64,
            None,
            format!("{d}: the watermark is not valid and is ignored"),
        ));
    }
    let (mode, limit) = match expect.role {
        Role::Sealed(_) => {
            let Some(limit) = data
                .len()
                .checked_sub(FOOTER_LEN)
                .filter(|&l| l >= HEADER_LEN)
            else {
                findings.push(finding(
                    FindingKind::Footer,
                    0,
                    None,
                    format!(
                        "the file is {} bytes: no room for a header and a footer",
                        data.len()
                    ),
                ));
                findings.sort_by_key(|f| f.offset);
                walk.findings = findings;
                return walk;
            };
            if let Ok(w) = watermark.as_ref().map(|&w| w as usize) {
                if w != limit {
                    findings.push(finding(
                        FindingKind::Header,
                        WATERMARK_AT as u64,
                        None,
                        format!(
                            "the watermark of a sealed segment must be its footer offset {limit}, it is {w}"
                        ),
                    ));
                }
            }
            (Mode::Sealed, limit)
        }
        Role::Active => (
            Mode::Active {
                watermark: watermark.as_ref().ok().map(|&w| w as usize),
            },
            data.len(),
        ),
    };
    let start = ChainState {
        next_seq: header.first_seq,
        prev_hash: header.prev_hash,
        last_ts: Timestamp::from_nanos(i64::MIN),
    };
    let mut walker = Walker::new(name, mode, start, limit).check_chain(expect.check_chain);
    let stop = loop {
        match walker.step(&data) {
            Step::Record { rec, prev, problem } => {
                findings.extend(problem.map(|p| *p));
                on_record(&rec, prev);
            }
            Step::Damage(f) => findings.push(f),
            Step::Stop(stop) => break stop,
        }
    };
    walk.count = walker.count();
    walk.first = walker.first();
    walk.last = walker.last();
    walk.end_state = walker.ends_on_record().then(|| walker.state());
    match &stop {
        Stop::DataEnd { offset } => {
            let footer = SegmentFooter::decode(data, *offset as usize);
            match &footer {
                Err(d) => {
                    findings.push(finding(FindingKind::Footer, *offset, None, format!("{d}")))
                }
                Ok(f) => {
                    let mismatch = match (walker.first(), walker.last()) {
                        _ if f.first_seq != header.first_seq => Some(format!(
                            "the footer's first sequence is {}, the header's {}",
                            f.first_seq, header.first_seq
                        )),
                        (Some(first), Some(last)) if !walker.damaged() => {
                            footer_mismatch(f, walker.count(), first, last)
                        }
                        (None, _) if !walker.damaged() => {
                            Some("a sealed segment without records".to_owned())
                        }
                        _ => None,
                    };
                    if let Some(m) = mismatch {
                        findings.push(finding(FindingKind::Footer, *offset, None, m));
                    }
                }
            }
            walk.footer = Some((*offset, footer));
        }
        Stop::End { offset } => {
            let from = *offset as usize;
            let nonzero = walker.nonzero_after_end().unwrap_or_else(|| {
                data.get(from..)
                    .and_then(|r| r.iter().position(|&b| b != 0))
                    .map(|i| from + i)
            });
            if let Some(at) = nonzero {
                let i = at - from;
                match mode {
                    Mode::Active {
                        watermark: Some(_),
                    } => findings.push(finding(
                        FindingKind::TornTail,
                        *offset,
                        Some(walker.state().next_seq),
                        format!(
                            "non-zero bytes from offset {} after the last record; the next open cuts the tail from here",
                            from + i
                        ),
                    )),
                    _ => findings.push(finding(
                        FindingKind::StrayBytes,
                        (from + i) as u64,
                        Some(walker.state().next_seq),
                        format!("non-zero bytes after the end of the data at offset {from}"),
                    )),
                }
            }
        }
        Stop::TornTail { offset, reason } => findings.push(finding(
            FindingKind::TornTail,
            *offset,
            Some(walker.state().next_seq),
            format!("{reason}; the next open cuts the tail from here"),
        )),
        Stop::InterruptedSeal { offset, footer } => {
            walk.footer = Some((*offset, Ok(*footer)));
            findings.push(finding(
                FindingKind::InterruptedSeal,
                *offset,
                None,
                "a footer that matches the records in the active segment: sealing was interrupted; the next open completes it".to_owned(),
            ));
        }
        Stop::Sealed { .. } | Stop::Invalid(_) | Stop::NotWalked => {}
    }
    findings.sort_by_key(|f| f.offset);
    walk.stop = stop;
    walk.findings = findings;
    walk
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::record::{encode_into, NewRecord};
    use crate::types::{Kind, SchemaVersion};

    /// A data area of `n` chained records after a zero header page, and
    /// the offsets of the records.
    fn records(n: u64) -> (Vec<u8>, Vec<usize>, ChainState) {
        let start = ChainState {
            next_seq: Seq::FIRST,
            prev_hash: ChainHash::from_bytes([7; 32]),
            last_ts: Timestamp::from_nanos(i64::MIN),
        };
        let mut data = vec![0u8; HEADER_LEN];
        let mut offsets = Vec::new();
        let mut prev = start.prev_hash;
        let mut buf = Vec::new();
        for i in 1..=n {
            let payload = vec![i as u8; 10 + i as usize];
            prev = encode_into(
                &mut buf,
                &NewRecord {
                    seq: Seq::new(i),
                    timestamp: Timestamp::from_nanos(i as i64),
                    kind: Kind::new(1),
                    version: SchemaVersion::new(1),
                    payload: &payload,
                },
                &prev,
            );
            offsets.push(data.len());
            data.extend_from_slice(&buf);
        }
        (data, offsets, start)
    }

    fn walk_all(data: &[u8], mode: Mode, start: ChainState) -> (Vec<u64>, Vec<Finding>, Stop) {
        let mut w = Walker::new("t", mode, start, data.len()).check_chain(true);
        let (mut seqs, mut findings) = (Vec::new(), Vec::new());
        loop {
            match w.step(&data) {
                Step::Record { rec, problem, .. } => {
                    seqs.push(rec.seq.get());
                    findings.extend(problem.map(|p| *p));
                }
                Step::Damage(f) => findings.push(f),
                Step::Stop(s) => return (seqs, findings, s),
            }
        }
    }

    #[test]
    fn a_damaged_length_word_is_one_finding_and_the_next_record_is_intact() {
        let (mut data, offsets, start) = records(6);
        data[offsets[2]] = data[offsets[2]].wrapping_add(8);
        let (seqs, findings, stop) = walk_all(&data, Mode::Sealed, start);
        assert_eq!(seqs, [1, 2, 4, 5, 6]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].kind, FindingKind::Crc);
        assert_eq!(findings[0].offset, Some(offsets[2] as u64));
        assert!(matches!(stop, Stop::DataEnd { .. }));
    }

    #[test]
    fn in_an_active_segment_the_first_invalid_slot_past_the_watermark_is_a_torn_tail() {
        let (mut data, offsets, start) = records(5);
        let end = data.len();
        data.extend_from_slice(&[0; 64]);
        data[offsets[3] + 30] ^= 1;
        let below = Mode::Active {
            watermark: Some(end),
        };
        let (seqs, findings, _) = walk_all(&data, below, start);
        assert_eq!(
            (seqs.len(), findings.len()),
            (4, 1),
            "damage below the watermark"
        );
        // The last record torn, nothing whole after it: a torn tail.
        let (mut data, offsets, start) = records(5);
        data.extend_from_slice(&[0; 64]);
        data[offsets[4] + 30] ^= 1;
        let above = Mode::Active {
            watermark: Some(offsets[2]),
        };
        let (seqs, findings, stop) = walk_all(&data, above, start);
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert!(findings.is_empty());
        assert_eq!(
            stop.offset(),
            Some(offsets[4] as u64),
            "the torn tail starts at the invalid slot"
        );
        assert!(matches!(stop, Stop::TornTail { .. }));
    }

    /// A watermark lowered over durable records and one byte changed after
    /// it: the whole record after the changed one shows it is no torn write.
    #[test]
    fn a_whole_record_after_an_invalid_one_past_the_watermark_is_damage() {
        let (mut data, offsets, start) = records(5);
        data.extend_from_slice(&[0; 64]);
        data[offsets[3] + 30] ^= 1;
        let above = Mode::Active {
            watermark: Some(offsets[2]),
        };
        let (seqs, findings, stop) = walk_all(&data, above, start);
        assert_eq!(seqs, [1, 2, 3, 5], "the walk goes on after the damage");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].kind, FindingKind::Crc);
        assert_eq!(findings[0].offset, Some(offsets[3] as u64));
        assert_eq!(findings[0].seq, Some(Seq::new(4)));
        assert!(
            findings[0].detail.contains("sequence 5"),
            "{}",
            findings[0].detail
        );
        assert!(matches!(stop, Stop::End { .. }), "{stop:?}");
    }

    /// A record whose envelope holds but does not belong (wrong sequence or
    /// link) is damage past the watermark too.
    #[test]
    fn a_whole_record_that_does_not_belong_past_the_watermark_is_damage() {
        let (mut data, offsets, start) = records(5);
        data.extend_from_slice(&[0; 64]);
        // Record 4's payload changed and its CRC recomputed: its link fails.
        let (at, len) = (offsets[3], offsets[4] - offsets[3]);
        let n = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        assert!(n <= len);
        data[at + 30] ^= 1;
        let crc = crc32fast::hash(&data[at..at + n - 4]);
        data[at + n - 4..at + n].copy_from_slice(&crc.to_le_bytes());
        let above = Mode::Active {
            watermark: Some(offsets[2]),
        };
        let (seqs, findings, _) = walk_all(&data, above, start);
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].kind, FindingKind::ChainHash);
        assert_eq!(findings[0].offset, Some(at as u64));
    }

    /// Records in flight reach the disk by sectors, in any order: whole
    /// records after a lost sector are a torn tail; a lost record whose
    /// sector holds the next one is not.
    #[test]
    fn whole_records_after_a_lost_sector_are_a_torn_tail_only_when_zeros_explain_them() {
        let (data, offsets, start) = records(40);
        let mode = Mode::Active {
            watermark: Some(offsets[1]),
        };
        // The first record that starts in the second sector of the data.
        let i = offsets
            .iter()
            .position(|&o| o >= HEADER_LEN + SECTOR)
            .unwrap();
        let lost_from = offsets[i - 2];
        let sector = sector_end(lost_from);
        assert!(offsets[i] < sector + SECTOR && offsets[i - 1] < sector);
        // The sector holding record i-1 reached the disk older than its
        // last writes: zeros from record i-1 to the sector's end.
        let mut lost = data.clone();
        lost[lost_from..sector].fill(0);
        let (seqs, findings, stop) = walk_all(&lost, mode, start);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(seqs.len(), i - 2);
        assert_eq!(stop.offset(), Some(lost_from as u64));
        // Also when record i-1's length word reached the disk and the next
        // sector, with its end and record i's start, did not.
        assert!(
            offsets[i] > sector,
            "record i-1 crosses into the next sector"
        );
        let mut lost = data.clone();
        lost[sector..sector + SECTOR].fill(0);
        let (_, findings, stop) = walk_all(&lost, mode, start);
        assert!(findings.is_empty(), "{findings:?}");
        assert!(matches!(stop, Stop::TornTail { offset, .. } if offset == offsets[i - 1] as u64));
        // One record zeroed, the next one in the same sector whole: that
        // sector was written after the zeroed record, so it was zeroed later.
        let mut zeroed = data.clone();
        zeroed[offsets[3]..offsets[4]].fill(0);
        let (seqs, findings, _) = walk_all(&zeroed, mode, start);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].kind, FindingKind::Truncated);
        assert_eq!(findings[0].offset, Some(offsets[3] as u64));
        assert_eq!(seqs.len(), 39);
    }

    /// The search for a whole record after a torn slot is one pass: a long
    /// tail of garbage (whose length words often fit) is judged without a
    /// CRC per slot.
    #[test]
    fn a_garbage_tail_is_a_torn_tail_found_in_one_pass() {
        let (mut data, offsets, start) = records(5);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let tail = (0..16 << 20).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        });
        data.extend(tail);
        let mode = Mode::Active {
            watermark: Some(offsets[4]),
        };
        let (seqs, findings, stop) = walk_all(&data, mode, start);
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert!(findings.is_empty(), "{findings:?}");
        assert!(matches!(stop, Stop::TornTail { .. }), "{stop:?}");
    }

    /// Crafted garbage: every other slot's length word runs to the end of
    /// the data, and the slot after it holds a small, plausible sequence,
    /// so every such slot is a candidate whose CRC covers the rest of the
    /// file (without a budget: about a CRC of 8 MiB per slot, 10^6 slots).
    fn crafted_garbage(data: &mut Vec<u8>, from: usize, len: usize) {
        let start = data.len();
        data.resize(start + len, 0);
        let end = data.len();
        let mut q = (from + 8).max(start);
        while q + 16 <= end {
            let rest = (end - q) as u32;
            data[q..q + 4].copy_from_slice(&rest.to_le_bytes());
            data[q + 4..q + 8].copy_from_slice(&[0xAA; 4]);
            data[q + 8..q + 12].copy_from_slice(&7u32.to_le_bytes());
            q += 16;
        }
    }

    #[test]
    fn crafted_garbage_past_the_watermark_spends_the_crc_budget_and_is_damage() {
        let (mut data, offsets, start) = records(5);
        let o = data.len();
        crafted_garbage(&mut data, o, 16 << 20);
        let state = ChainState {
            next_seq: Seq::new(6),
            prev_hash: start.prev_hash,
            last_ts: Timestamp::from_nanos(5),
        };
        let why = not_a_lost_write(&data, o, data.len(), &state).expect("damage");
        assert!(why.contains("spent its budget"), "{why}");
        assert_eq!(whole_records_after(&data, o, 6), 0);
        // The walk says so too: damage, never a torn tail to cut.
        let mode = Mode::Active {
            watermark: Some(offsets[4]),
        };
        let (seqs, findings, stop) = walk_all(&data, mode, start);
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert!(!matches!(stop, Stop::TornTail { .. }), "{stop:?}");
        assert!(
            findings
                .iter()
                .any(|f| f.detail.contains("spent its budget")),
            "{findings:?}"
        );
    }

    #[test]
    fn crafted_garbage_after_damage_ends_the_resync_at_the_end_of_the_data() {
        let (mut data, offsets, start) = records(3);
        // The third record's length word now runs past the end: damage,
        // and no length to step over it by.
        data[offsets[2]..offsets[2] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let at = data.len();
        crafted_garbage(&mut data, at, 16 << 20);
        let (seqs, findings, _) = walk_all(&data, Mode::Sealed, start);
        assert_eq!(seqs, [1, 2]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .detail
                .contains(&format!("runs to offset {}", data.len())),
            "{findings:?}"
        );
        let readable = readable_records(&data, HEADER_LEN, data.len());
        assert_eq!(readable.len(), 2);
    }

    #[test]
    fn a_live_walk_resumes_after_the_end() {
        let (data, offsets, start) = records(3);
        let mut padded = data.clone();
        padded.extend_from_slice(&[0; 256]);
        let mut w = Walker::new("t", Mode::Live, start, padded.len());
        let short = &padded[..];
        for _ in 0..2 {
            assert!(matches!(w.step(&short), Step::Record { .. }));
        }
        // Hide the third record: the walk ends, then resumes once it is there.
        let mut hidden = padded.clone();
        hidden[offsets[2]..offsets[2] + 4].fill(0);
        assert!(matches!(
            w.step(&hidden.as_slice()),
            Step::Stop(Stop::End { .. })
        ));
        assert!(matches!(w.step(&short), Step::Record { rec, .. } if rec.seq == Seq::new(3)));
    }

    #[test]
    fn readable_records_steps_over_damage() {
        let (mut data, offsets, _) = records(5);
        data[offsets[1] + 20] ^= 1;
        let seqs: Vec<u64> = readable_records(&data, HEADER_LEN, data.len())
            .iter()
            .map(|r| r.seq.get())
            .collect();
        assert_eq!(seqs, [1, 3, 4, 5]);
    }
}
