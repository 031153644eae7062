//! The check that a backup's segments form one continuous chain: the one
//! check `backup verify` and `restore` both run, so that a backup verify
//! passes is a backup restore accepts.
//!
//! Each object is walked by the segment walker with every chain hash
//! recomputed ([`SegmentSummary::of`]); then the segments, in manifest
//! order, must start at ordinal 0 and sequence 1 with the genesis hash of
//! the manifest's ledger, and each must begin where the one before ended
//! (its ordinal one more, its first sequence one more than the previous
//! last, its previous-hash the previous last chain hash), all belong to the
//! manifest's ledger, only the last may be active, and the chain must end
//! at the manifest's head ([`Continuity`]).

use crate::chain;
use crate::segment::walk::{walk_segment, Expect, Role};
use crate::segment::ChainState;
use crate::types::{ChainHash, ContentHash, LedgerId, Seq};

use super::manifest::{ManifestHead, ManifestSegment, SegmentState};

/// What a segment object holds, as far as the chain is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    /// The header's ledger id.
    ledger: LedgerId,
    /// The header's ordinal.
    ordinal: u64,
    /// The header's first sequence.
    first_seq: Seq,
    /// The hash the first record links to.
    prev_hash: ChainHash,
    /// The next sequence and the hash it must link to, after the segment.
    end: (Seq, ChainHash),
}

impl SegmentSummary {
    /// Walks `bytes`, the object the manifest entry `entry` names (already
    /// checked to hash to its address), judged as the entry's state; the
    /// error is the first damage found.
    pub(crate) fn of(entry: &ManifestSegment, bytes: &[u8]) -> Result<SegmentSummary, String> {
        let address = ContentHash::from_hex(&entry.object)
            .map_err(|e| format!("object {}: {e}", entry.object))?;
        let expect = Expect {
            role: match entry.state {
                SegmentState::Sealed => Role::Sealed(address),
                SegmentState::Active => Role::Active,
            },
            ordinal: None,
            ledger: None,
            check_chain: true,
        };
        let walk = walk_segment(&entry.name, bytes, &expect, |_, _| {});
        if let Some(f) = walk.findings.iter().find(|f| f.kind.is_damage()) {
            return Err(format!("the segment is damaged: {f}"));
        }
        let header = walk
            .header
            .map_err(|d| format!("the segment's header is not valid: {d}"))?;
        let end: ChainState = walk
            .end_state
            .ok_or("the segment's records do not end on a valid record")?;
        Ok(SegmentSummary {
            ledger: header.ledger_id,
            ordinal: header.ordinal.get(),
            first_seq: header.first_seq,
            prev_hash: header.prev_hash,
            end: (end.next_seq, end.prev_hash),
        })
    }
}

/// The chain across a backup's segments, checked one segment at a time in
/// manifest order; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Continuity {
    ledger: LedgerId,
    /// The ordinal, first sequence and previous-hash the next segment must have.
    next_ordinal: u64,
    next: (Seq, ChainHash),
    /// The segment an active one ended the chain with.
    ended_by_active: Option<String>,
}

impl Continuity {
    /// A chain of the ledger `ledger`, from its genesis.
    pub(crate) fn new(ledger: LedgerId) -> Continuity {
        Continuity {
            ledger,
            next_ordinal: 0,
            next: (Seq::FIRST, chain::genesis(&ledger)),
            ended_by_active: None,
        }
    }

    /// Adds the next segment of the manifest; the error says how it breaks
    /// the chain.
    pub(crate) fn push(
        &mut self,
        entry: &ManifestSegment,
        seg: &SegmentSummary,
    ) -> Result<(), String> {
        if let Some(active) = &self.ended_by_active {
            return Err(format!(
                "follows the active segment {active}; only the last segment may be active"
            ));
        }
        if seg.ledger != self.ledger {
            return Err(format!(
                "belongs to ledger {}, the manifest's ledger_id is {}",
                seg.ledger, self.ledger
            ));
        }
        if seg.ordinal != entry.ordinal {
            return Err(format!(
                "its header says segment {}, the manifest {}",
                seg.ordinal, entry.ordinal
            ));
        }
        if seg.ordinal != self.next_ordinal {
            return Err(format!(
                "is segment {}, but the chain needs segment {} here (segments missing or out of order)",
                seg.ordinal, self.next_ordinal
            ));
        }
        let (seq, hash) = self.next;
        if seg.first_seq != seq {
            return Err(format!(
                "starts at sequence {}, but the chain continues at sequence {seq} (records missing or repeated)",
                seg.first_seq
            ));
        }
        if seg.prev_hash != hash {
            return Err(format!(
                "links to chain hash {}, but the chain before it ends at {hash}",
                seg.prev_hash
            ));
        }
        self.next_ordinal += 1;
        self.next = seg.end;
        if entry.state == SegmentState::Active {
            self.ended_by_active = Some(entry.name.clone());
        }
        Ok(())
    }

    /// Checks that the chain ends at the manifest's head.
    pub(crate) fn finish(&self, head: Option<&ManifestHead>) -> Result<(), String> {
        let (next, hash) = self.next;
        match head {
            None if next == Seq::FIRST => Ok(()),
            None => Err(format!(
                "the manifest names no head, but its segments hold records up to sequence {}",
                next.get() - 1
            )),
            Some(h) if h.seq.checked_add(1) == Some(next.get()) && h.chain_hash == hash.to_hex() => {
                Ok(())
            }
            Some(h) => Err(format!(
                "the manifest's head is sequence {} ({}), but its segments end at sequence {} ({hash})",
                h.seq,
                h.chain_hash,
                next.get().saturating_sub(1)
            )),
        }
    }
}
