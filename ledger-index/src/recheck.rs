//! A query's answer re-derived from the records: every hit an index gives
//! is re-checked against its record's bytes and the query's predicate, and
//! the records an index file's key lists leave out are looked for in the
//! segment's bytes (`docs/FORMAT.md`, "An index file never changes an
//! answer").

use ledger_core::segment::record::RecordRef;
use ledger_core::storage::SegmentMap;
use ledger_core::{read_published, ChainHash, Kind, Published};

use crate::error::IndexError;
use crate::file::FileDefect;
use crate::keys::{KeyError, KeyExtractor};
use crate::ledger_index::Hit;
use crate::query::Query;
use crate::segment_index::SegmentIndex;

/// A query's key criteria: (family position, keys wanted).
pub(crate) type Filters<'q> = [(usize, &'q [String])];

/// Why a record does not match a query, if it does not: the one rule that
/// the index, its re-check and a full scan share.
pub(crate) fn mismatch(
    q: &Query,
    filters: &Filters<'_>,
    families: &[&str],
    extractor: &dyn KeyExtractor,
    r: &RecordRef<'_>,
) -> Result<Option<String>, KeyError> {
    if r.kind.get() >= Kind::RESERVED_START {
        return Ok(Some(format!("it is an engine record (kind {})", r.kind)));
    }
    if !q.in_range(r.seq, r.timestamp) {
        return Ok(Some(format!(
            "its sequence or time ({}) is outside the query's ranges",
            r.timestamp
        )));
    }
    if !(q.kinds.is_empty() || q.kinds.contains(&r.kind)) {
        return Ok(Some(format!("it is of kind {}", r.kind)));
    }
    if filters.is_empty() {
        return Ok(None);
    }
    let mut found = vec![false; filters.len()];
    extractor.keys(r.kind, r.version, r.payload, &mut |family, key| {
        for (hit, (f, keys)) in found.iter_mut().zip(filters) {
            *hit |= *f == family && keys.iter().any(|k| k == key);
        }
    })?;
    Ok(found.iter().position(|f| !f).map(|i| {
        let family = filters
            .get(i)
            .and_then(|(f, _)| families.get(*f))
            .copied()
            .unwrap_or("?");
        format!("it has none of the {family} keys asked for")
    }))
}

/// What re-checking an index against its segment can end in.
pub(crate) enum Refusal {
    /// The index cannot be trusted (it is then rebuilt from the segment).
    Index(FileDefect),
    /// Reading the segment or a record's keys failed (a scan would fail the
    /// same way).
    Error(IndexError),
}

impl From<IndexError> for Refusal {
    fn from(e: IndexError) -> Self {
        Refusal::Error(e)
    }
}

/// One segment, with the index a query uses for it.
pub(crate) struct Target<'a> {
    /// The segment file's name.
    pub name: &'a str,
    /// Its bytes.
    pub map: &'a dyn SegmentMap,
    /// The chain hash its first record links to (its header's).
    pub prev_hash: ChainHash,
    /// The index.
    pub index: &'a SegmentIndex,
}

impl Target<'_> {
    fn record(&self, i: u32) -> Result<RecordRef<'_>, String> {
        let offset = *self
            .index
            .offsets
            .get(i as usize)
            .ok_or_else(|| format!("position {i} is past the index's records"))?;
        match read_published(self.map, offset as usize) {
            Ok(Published::Record(r)) => Ok(r),
            Ok(_) => Err(format!("no record at offset {offset}")),
            Err(d) => Err(format!("no valid record at offset {offset}: {d}")),
        }
    }

    /// The record at position `i`, as a hit of `q`, re-checked: it must be a
    /// record whose envelope and CRC hold, at the sequence its position
    /// gives, linked to the record before it (or to the segment's header),
    /// and match `q` by its own bytes (kind and time from its header, keys
    /// re-extracted from its payload).
    pub fn hit(
        &self,
        i: u32,
        q: &Query,
        filters: &Filters<'_>,
        families: &[&str],
        extractor: &dyn KeyExtractor,
    ) -> Result<Hit, Refusal> {
        let seq = self.index.first_seq.saturating_add(u64::from(i));
        let false_hit = |why: String| Refusal::Index(FileDefect::FalseHit { seq, why });
        let r = self.record(i).map_err(false_hit)?;
        if r.seq.get() != seq {
            return Err(false_hit(format!(
                "the record at offset {} has sequence {}",
                r.offset, r.seq
            )));
        }
        let prev = match i.checked_sub(1) {
            None => self.prev_hash,
            Some(p) => self.record(p).map_err(false_hit)?.chain_hash,
        };
        if !r.links_to(&prev) {
            return Err(false_hit(format!(
                "the record at offset {} does not link to the record before it (a hash in no chain)",
                r.offset
            )));
        }
        let why =
            mismatch(q, filters, families, extractor, &r).map_err(|source| IndexError::Keys {
                segment: self.name.to_owned(),
                offset: r.offset as u64,
                seq: r.seq,
                source,
            })?;
        if let Some(why) = why {
            return Err(false_hit(why));
        }
        Hit::from_record(&r).ok_or_else(|| false_hit("it is an engine record".into()))
    }

    /// Proves that `key`'s list in `family` names every record of the
    /// segment that has the key, through `needle`, bytes every such
    /// record's payload holds ([`KeyExtractor::key_needle`]): every record
    /// where the needle is found is either in the list, or is read and asked
    /// its keys. One that has the key is a record the list left out.
    pub fn complete(
        &self,
        family: usize,
        key: &str,
        needle: &[u8],
        families: &[&str],
        extractor: &dyn KeyExtractor,
    ) -> Result<(), Refusal> {
        let ix = self.index;
        let (Some(&start), end) = (ix.offsets.first(), ix.end as usize) else {
            return Ok(());
        };
        let start = start as usize;
        let data = self
            .map
            .bytes(start, end.saturating_sub(start))
            .ok_or_else(|| IndexError::Segment {
                segment: self.name.to_owned(),
                offset: start as u64,
                reason: format!("bytes {start}..{end} cannot be read"),
            })?;
        let empty = Vec::new();
        let list = ix
            .keys
            .get(family)
            .and_then(|p| p.get(key))
            .unwrap_or(&empty);
        let mut last = None;
        for at in memchr::memmem::find_iter(data, needle) {
            // The record the match is in (offsets are the segment's record
            // starts: checked when the index was loaded).
            let Some(p) = ix
                .offsets
                .partition_point(|&o| o as usize <= start + at)
                .checked_sub(1)
                .map(|p| p as u32)
            else {
                continue;
            };
            if last == Some(p) || list.binary_search(&p).is_ok() {
                continue;
            }
            last = Some(p);
            let seq = ix.first_seq.saturating_add(u64::from(p));
            let r = self.record(p).map_err(|why| {
                Refusal::Index(FileDefect::Segment {
                    what: format!("record {seq}: {why}"),
                })
            })?;
            // Engine records have no keys (the index never lists them).
            if r.kind.get() >= Kind::RESERVED_START {
                continue;
            }
            let mut has = false;
            extractor
                .keys(r.kind, r.version, r.payload, &mut |f, k| {
                    has |= f == family && k == key;
                })
                .map_err(|source| IndexError::Keys {
                    segment: self.name.to_owned(),
                    offset: r.offset as u64,
                    seq: r.seq,
                    source,
                })?;
            if has {
                return Err(Refusal::Index(FileDefect::LeftOut {
                    seq,
                    family: families.get(family).copied().unwrap_or("?").to_owned(),
                    key: key.to_owned(),
                }));
            }
        }
        Ok(())
    }
}
