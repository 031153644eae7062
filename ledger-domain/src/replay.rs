//! Replay: folding the log up to a point.
//!
//! Replaying to sequence `k` gives exactly the views that existed when
//! record `k` had just been appended (tested against folding the first `k`
//! events). A session filter folds only that session's events.

use crate::codec;
use crate::error::DomainError;
use crate::ids::SessionId;
use crate::projections::Projections;
use ledger_core::{Cursor, Reader};
use ledger_core::{Kind, Seq, Timestamp};

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
    mut cursor: Cursor,
    p: &mut Projections,
    opts: &ReplayOptions,
) -> Result<u64, DomainError> {
    let mut folded = 0;
    while let Some(r) = cursor.next_ref()? {
        if opts.until_seq.is_some_and(|s| r.seq > s)
            || opts.until_time.is_some_and(|t| r.timestamp > t)
        {
            break;
        }
        if r.kind.get() >= Kind::RESERVED_START {
            continue;
        }
        let event = codec::decode(r.kind, r.version, r.payload)
            .map_err(|error| DomainError::Decode { seq: r.seq, error })?;
        if opts.session.as_ref().is_some_and(|s| s != event.session()) {
            continue;
        }
        p.apply(r.seq, r.chain_hash, r.timestamp, event);
        folded += 1;
    }
    Ok(folded)
}

/// The views at the point `opts` names, folded from the start.
pub fn replay(reader: &Reader, opts: &ReplayOptions) -> Result<Projections, DomainError> {
    let mut p = Projections::new();
    fold(reader, &mut p, Seq::FIRST, opts)?;
    Ok(p)
}
