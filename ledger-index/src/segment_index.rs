//! The index of one segment: where each record is, a sparse time map, and
//! posting lists for every kind and every key (of the domain's families) a
//! query can ask for.
//!
//! Records are named by their position in the segment (`0..count`, so
//! record `i` has sequence `first_seq + i`). Posting lists hold positions in
//! ascending order.

use std::collections::BTreeMap;

use ledger_core::segment::header::HEADER_LEN;
use ledger_core::segment::walk::{Mode, Step, Stop, Walker};
use ledger_core::segment::ChainState;
use ledger_core::storage::SegmentMap;
use ledger_core::{ChainHash, Kind, LiveSlots, Seq, Timestamp};

use crate::error::IndexError;
use crate::keys::KeyExtractor;
use crate::query::Query;

/// The index error for a walker's finding in segment `name`.
fn segment_error(name: &str, f: &ledger_core::Finding) -> IndexError {
    IndexError::Segment {
        segment: name.to_owned(),
        offset: f.offset.unwrap_or(0),
        reason: format!("{}: {}", f.kind, f.detail),
    }
}

/// One time sample every this many records.
pub const TIME_STRIDE: u32 = 256;

/// Posting lists of one key family: key -> ascending record positions.
pub type Postings = BTreeMap<String, Vec<u32>>;

/// The index of one segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentIndex {
    /// Sequence of the segment's first record.
    pub first_seq: u64,
    /// Offset of every record in the segment file (the sequence -> offset map).
    pub offsets: Vec<u32>,
    /// Timestamp of records `0, TIME_STRIDE, 2 * TIME_STRIDE, ...` (the time
    /// -> sequence map; times never decrease along the chain).
    pub times: Vec<i64>,
    /// By record kind code.
    pub kinds: BTreeMap<u16, Vec<u32>>,
    /// By key: one posting map per family of the domain's
    /// [`KeyExtractor`], in its order.
    pub keys: Vec<Postings>,
    /// Offset after the last indexed record (where an active segment's next
    /// record goes).
    pub end: u32,
}

/// Adds record `i` to `key`'s list (once, if a domain gives a record the
/// same key twice: lists are strictly increasing).
fn post(p: &mut Postings, key: &str, i: u32) {
    match p.get_mut(key) {
        Some(v) => {
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
        None => {
            p.insert(key.to_owned(), vec![i]);
        }
    }
}

impl SegmentIndex {
    /// An empty index of a segment whose first record has `first_seq`,
    /// for a domain with `families` key families.
    pub fn new(first_seq: Seq, families: usize) -> Self {
        SegmentIndex {
            first_seq: first_seq.get(),
            keys: vec![Postings::new(); families],
            end: HEADER_LEN as u32,
            ..Default::default()
        }
    }

    /// The index of every record of the segment `name` in `map`, whose
    /// first record has `first_seq`, with the keys `extractor` gives.
    pub(crate) fn build(
        map: &dyn SegmentMap,
        name: &str,
        first_seq: Seq,
        extractor: &dyn KeyExtractor,
    ) -> Result<Self, IndexError> {
        let mut ix = Self::new(first_seq, extractor.families().len());
        ix.extend(map, name, extractor)?;
        Ok(ix)
    }

    /// Number of records indexed.
    pub fn count(&self) -> u32 {
        self.offsets.len() as u32
    }

    /// Indexes the records published after `self.end` in `map` (all of a
    /// sealed segment; the new ones of an active segment), with the keys
    /// `extractor` gives each domain record. `name` is for errors.
    pub fn extend(
        &mut self,
        map: &dyn SegmentMap,
        name: &str,
        extractor: &dyn KeyExtractor,
    ) -> Result<(), IndexError> {
        // The engine's segment walker, reading by the commit protocol from
        // where the index ends: it judges each record's envelope and
        // sequence (times and links are the engine's to verify).
        let start = ChainState {
            next_seq: Seq::new(self.first_seq.saturating_add(u64::from(self.count()))),
            prev_hash: ChainHash::from_bytes([0; 32]),
            last_ts: Timestamp::from_nanos(i64::MIN),
        };
        let mut walker =
            Walker::new(name, Mode::Live, start, map.len()).starting_at(self.end as usize);
        loop {
            let rec = match walker.step(&LiveSlots(map)) {
                Step::Record {
                    rec, problem: None, ..
                } => rec,
                Step::Stop(Stop::End { .. } | Stop::Sealed { .. }) => break,
                Step::Record {
                    problem: Some(f), ..
                } => return Err(segment_error(name, &f)),
                Step::Damage(f) | Step::Stop(Stop::Invalid(f)) => {
                    return Err(segment_error(name, &f))
                }
                Step::Stop(other) => {
                    return Err(IndexError::Segment {
                        segment: name.to_owned(),
                        offset: other.offset().unwrap_or(0),
                        reason: format!("the walk stopped at {other:?}"),
                    })
                }
            };
            let at = rec.offset;
            let i = self.count();
            self.offsets.push(at as u32);
            if i.is_multiple_of(TIME_STRIDE) {
                self.times.push(rec.timestamp.as_nanos());
            }
            self.kinds.entry(rec.kind.get()).or_default().push(i);
            if rec.kind.get() < Kind::RESERVED_START {
                let keys = &mut self.keys;
                extractor
                    .keys(rec.kind, rec.version, rec.payload, &mut |family, key| {
                        if let Some(p) = keys.get_mut(family) {
                            post(p, key, i);
                        }
                    })
                    .map_err(|source| IndexError::Keys {
                        segment: name.to_owned(),
                        offset: at as u64,
                        seq: rec.seq,
                        source,
                    })?;
            }
        }
        self.end = walker.position() as u32;
        Ok(())
    }

    /// The position of record `seq`, if it is in this segment.
    pub fn position(&self, seq: Seq) -> Option<u32> {
        let i = seq.get().checked_sub(self.first_seq)?;
        (i < u64::from(self.count())).then_some(i as u32)
    }

    /// The timestamp of record `i`, read from the segment.
    fn time_of(&self, map: &dyn SegmentMap, i: u32) -> Option<Timestamp> {
        let off = *self.offsets.get(i as usize)? as usize;
        // Records start 8-aligned: the timestamp word is an aligned u64 of
        // a published record.
        let nanos = map.load_u64_acquire(off.checked_add(16)?)?;
        Some(Timestamp::from_nanos(nanos as i64))
    }

    /// The first position whose time is at or after `t` (times never
    /// decrease): the sparse map narrows, the records decide.
    fn first_at_or_after(&self, map: &dyn SegmentMap, t: Timestamp) -> u32 {
        let block = self.times.partition_point(|&x| x < t.as_nanos());
        let lo = (block.saturating_sub(1) as u32).saturating_mul(TIME_STRIDE);
        let hi = (block as u32)
            .saturating_mul(TIME_STRIDE)
            .saturating_add(1)
            .min(self.count());
        let (mut lo, mut hi) = (lo, hi.max(lo));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.time_of(map, mid).is_some_and(|x| x < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The positions of the records matching `q`'s ranges, kinds and keys,
    /// in order; `families` are the domain's key families (those of the
    /// [`KeyExtractor`] the index was built with). A family not among them
    /// matches nothing ([`crate::LedgerIndex::query`] refuses it first).
    ///
    /// This is what the index says; [`crate::LedgerIndex::query`] re-checks
    /// every position against its record before answering.
    pub fn candidates(&self, map: &dyn SegmentMap, q: &Query, families: &[&str]) -> Vec<u32> {
        let Ok(filters) = q.key_filters(families) else {
            return Vec::new();
        };
        let (lo, hi) = self.range(map, q);
        self.pick(q, &filters, lo, hi)
    }

    /// The positions `[lo, hi)` inside `q`'s sequence and time ranges
    /// (empty when `lo >= hi`).
    fn range(&self, map: &dyn SegmentMap, q: &Query) -> (u32, u32) {
        let n = self.count();
        let mut lo = 0u32;
        let mut hi = n;
        if let Some(s) = q.from_seq {
            lo = lo.max(s.get().saturating_sub(self.first_seq).min(u64::from(n)) as u32);
        }
        if let Some(s) = q.to_seq {
            let end = s
                .get()
                .saturating_add(1)
                .saturating_sub(self.first_seq)
                .min(u64::from(n)) as u32;
            hi = hi.min(end);
        }
        if let Some(t) = q.from_time {
            lo = lo.max(self.first_at_or_after(map, t));
        }
        if let Some(t) = q.to_time {
            hi = hi.min(self.first_at_or_after(map, t));
        }
        (lo, hi)
    }

    /// The candidates among positions `[lo, hi)`: those the kind and key
    /// lists name for `q`.
    fn pick(&self, q: &Query, filters: &[(usize, &[String])], lo: u32, hi: u32) -> Vec<u32> {
        if lo >= hi {
            return Vec::new();
        }
        let mut sets: Vec<Vec<u32>> = Vec::new();
        if !q.kinds.is_empty() {
            // Engine records are not hits: their kinds select nothing.
            sets.push(union(
                q.kinds
                    .iter()
                    .filter(|k| k.get() < Kind::RESERVED_START)
                    .map(|k| self.kinds.get(&k.get())),
            ));
        }
        for &(family, keys) in filters {
            let postings = self.keys.get(family);
            sets.push(union(
                keys.iter()
                    .map(|k| postings.and_then(|p| p.get(k.as_str()))),
            ));
        }
        let in_range = |i: &u32| *i >= lo && *i < hi;
        if sets.is_empty() {
            // Only ranges: every domain record in them (engine records are
            // not events).
            let mut engine: Vec<u32> = self
                .kinds
                .iter()
                .filter(|(k, _)| **k >= Kind::RESERVED_START)
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            engine.sort_unstable();
            return (lo..hi)
                .filter(|i| engine.binary_search(i).is_err())
                .collect();
        }
        sets.sort_by_key(Vec::len);
        let mut result: Vec<u32> = sets[0].iter().copied().filter(in_range).collect();
        for s in &sets[1..] {
            result = intersect(&result, s);
            if result.is_empty() {
                break;
            }
        }
        result
    }
}

/// The sorted union of sorted lists.
fn union<'a>(lists: impl Iterator<Item = Option<&'a Vec<u32>>>) -> Vec<u32> {
    let mut all: Vec<u32> = Vec::new();
    let lists: Vec<&Vec<u32>> = lists.flatten().collect();
    if lists.len() == 1 {
        return lists[0].clone();
    }
    for l in lists {
        all.extend_from_slice(l);
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// The intersection of two sorted lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5, 8]), vec![3, 5]);
        let a = vec![1, 4];
        let b = vec![2, 4, 9];
        assert_eq!(
            union([Some(&a), None, Some(&b)].into_iter()),
            vec![1, 2, 4, 9]
        );
    }
}
