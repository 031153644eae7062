//! Replay: folding the log up to a point.
//!
//! Replaying to sequence `k` gives exactly the views that existed when
//! record `k` had just been appended (tested against folding the first `k`
//! events). A session filter folds only that session's events.
//!
//! Records are decoded into borrowed views ([`crate::view`]), so the fold
//! allocates only what the views keep. A long fold also decodes on other
//! cores ([`Decoding`]): a reading thread copies records into batches,
//! decoding threads check every payload, and the calling thread folds the
//! batches in log order, so the views, the count folded and the error a
//! bad record gives are those of the sequential fold (tested).

use crate::codec;
use crate::error::DomainError;
use crate::ids::SessionId;
use crate::projections::Projections;
use crate::view::{self, EventView};
use ledger_core::{Cursor, Reader};
use ledger_core::{Kind, Seq, Timestamp};

mod threaded;

/// Where a replay stops, and what it folds.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Fold records up to and including this sequence.
    pub until_seq: Option<Seq>,
    /// Fold records with a time at or before this one.
    pub until_time: Option<Timestamp>,
    /// Fold only this session's events.
    pub session: Option<SessionId>,
}

impl ReplayOptions {
    /// Whether the record at `seq`, `time` is past the point to stop at.
    fn stops_at(&self, seq: Seq, time: Timestamp) -> bool {
        self.until_seq.is_some_and(|s| seq > s) || self.until_time.is_some_and(|t| time > t)
    }

    /// Whether an event of `session` is folded.
    fn folds(&self, session: &str) -> bool {
        self.session.as_ref().is_none_or(|s| s.as_str() == session)
    }
}

/// How a fold decodes the records it reads. Every choice folds the same
/// records in the same order into the same views, and stops at the same
/// bad record with the same error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decoding {
    /// The first [`Decoding::THREADS_AFTER`] records on the calling thread
    /// (the tail after a snapshot usually ends there), the rest as
    /// [`Decoding::Threads`] with one decoding thread fewer than the
    /// machine has cores, when it has at least [`Decoding::AUTO_MIN_CORES`];
    /// otherwise all on the calling thread. (On the project's two-core
    /// machine, under load, one decoding thread made the rebuild slower,
    /// 0.8–1.5 M events/s against 1.0–1.8 M/s: folding, not decoding, is
    /// most of its cost, and the threads compete for the same two cores.)
    #[default]
    Auto,
    /// Everything on the calling thread.
    Sequential,
    /// A reading thread and this many decoding threads (at least one)
    /// feeding the calling thread, which folds.
    Threads(usize),
}

impl Decoding {
    /// Records [`Decoding::Auto`] folds on the calling thread before it
    /// starts threads.
    pub const THREADS_AFTER: u64 = 32_768;

    /// Cores [`Decoding::Auto`] needs before it starts threads.
    pub const AUTO_MIN_CORES: usize = 3;
}

/// Folds records from `from` into `p` until the options say stop or the
/// log ends; returns how many events were folded. Engine records (kinds at
/// or above [`Kind::RESERVED_START`]) are skipped.
pub fn fold(
    reader: &Reader,
    p: &mut Projections,
    from: Seq,
    opts: &ReplayOptions,
) -> Result<u64, DomainError> {
    fold_cursor(reader.cursor_from(from)?, p, opts)
}

/// Folds the records `cursor` reads into `p`, as [`fold`] does.
pub fn fold_cursor(
    cursor: Cursor,
    p: &mut Projections,
    opts: &ReplayOptions,
) -> Result<u64, DomainError> {
    fold_cursor_with(cursor, p, opts, Decoding::Auto)
}

/// Folds the records `cursor` reads into `p`, as [`fold`] does, decoding
/// as `decoding` says. On an error, `p` holds every event before the bad
/// record, whichever the decoding.
pub fn fold_cursor_with(
    mut cursor: Cursor,
    p: &mut Projections,
    opts: &ReplayOptions,
    decoding: Decoding,
) -> Result<u64, DomainError> {
    let decoders = match decoding {
        Decoding::Sequential => return Ok(fold_sequential(&mut cursor, p, opts, None)?.0),
        Decoding::Threads(n) => n.max(1),
        Decoding::Auto => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let limit = (cores >= Decoding::AUTO_MIN_CORES).then_some(Decoding::THREADS_AFTER);
            let (folded, more) = fold_sequential(&mut cursor, p, opts, limit)?;
            if !more {
                return Ok(folded);
            }
            let rest = threaded::fold(cursor, p, opts, cores - 1)?;
            return Ok(folded + rest);
        }
    };
    threaded::fold(cursor, p, opts, decoders)
}

/// Folds on the calling thread, at most `limit` records; returns the
/// events folded and whether records may remain (the limit was reached).
fn fold_sequential(
    cursor: &mut Cursor,
    p: &mut Projections,
    opts: &ReplayOptions,
    limit: Option<u64>,
) -> Result<(u64, bool), DomainError> {
    let mut folded = 0;
    let mut read = 0u64;
    loop {
        if limit.is_some_and(|l| read >= l) {
            return Ok((folded, true));
        }
        let Some(r) = cursor.next_ref()? else {
            return Ok((folded, false));
        };
        read += 1;
        if opts.stops_at(r.seq, r.timestamp) {
            return Ok((folded, false));
        }
        if r.kind.get() >= Kind::RESERVED_START {
            continue;
        }
        let (seq, hash, time) = (r.seq, r.chain_hash, r.timestamp);
        let owned;
        let event = match view::decode_view(r.kind, r.version, r.payload) {
            Some(v) => v,
            None => {
                // An old schema version (upcast), or a record that does not
                // decode: the owned decoder decides, and names the error.
                owned = codec::decode(r.kind, r.version, r.payload)
                    .map_err(|error| DomainError::Decode { seq, error })?;
                owned.view()
            }
        };
        if fold_one(p, opts, seq, hash, time, &event) {
            folded += 1;
        }
    }
}

/// Folds `event` unless the session filter leaves it out; whether it did.
fn fold_one(
    p: &mut Projections,
    opts: &ReplayOptions,
    seq: Seq,
    hash: ledger_core::ChainHash,
    time: Timestamp,
    event: &EventView<'_>,
) -> bool {
    if !opts.folds(event.session()) {
        return false;
    }
    p.apply_view(seq, hash, time, event);
    true
}

/// The views at the point `opts` names, folded from the start.
pub fn replay(reader: &Reader, opts: &ReplayOptions) -> Result<Projections, DomainError> {
    replay_with(reader, opts, Decoding::Auto)
}

/// The views at the point `opts` names, folded from the start, decoding as
/// `decoding` says.
pub fn replay_with(
    reader: &Reader,
    opts: &ReplayOptions,
    decoding: Decoding,
) -> Result<Projections, DomainError> {
    let mut p = Projections::new();
    fold_cursor_with(reader.cursor()?, &mut p, opts, decoding)?;
    Ok(p)
}
