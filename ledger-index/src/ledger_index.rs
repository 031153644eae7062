//! [`LedgerIndex`]: queries over a ledger through per-segment indexes.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use ledger_core::segment::header::{SegmentHeader, WATERMARK_AT};
use ledger_core::segment::record::RecordRef;
use ledger_core::storage::{FsStorage, SegmentMap, Storage};
use ledger_core::{
    read_layout, read_published, ChainHash, Kind, LedgerId, Published, SchemaVersion, SealedFile,
    SealedSegment, SegmentOrdinal, Seq, Timestamp,
};
use parking_lot::Mutex;

use crate::error::IndexError;
use crate::file::{self, FileDefect};
use crate::keys::KeyExtractor;
use crate::query::Query;
use crate::segment_index::SegmentIndex;

/// A domain record found by a query: the record as stored (the domain
/// decodes its payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Its sequence.
    pub seq: Seq,
    /// Its time.
    pub time: Timestamp,
    /// The record's chain hash.
    pub chain_hash: ChainHash,
    /// Its kind.
    pub kind: Kind,
    /// Its payload's schema version.
    pub version: SchemaVersion,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Hit {
    /// The hit a record makes, or `None` for the engine's own records
    /// (reserved kinds, which belong to no domain).
    pub fn from_record(r: &RecordRef<'_>) -> Option<Hit> {
        (r.kind.get() < Kind::RESERVED_START).then(|| Hit {
            seq: r.seq,
            time: r.timestamp,
            chain_hash: r.chain_hash,
            kind: r.kind,
            version: r.version,
            payload: r.payload.to_vec(),
        })
    }
}

/// How an index was obtained for a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexSource {
    /// Read from its index file.
    Loaded,
    /// Built from the segment (the file was missing) and written.
    Built,
    /// Rebuilt because the file could not be trusted (why), and rewritten.
    Rebuilt(FileDefect),
}

struct Segment {
    name: String,
    map: Arc<dyn SegmentMap>,
    first_seq: Seq,
    /// Last sequence and the time span, from the footer.
    last_seq: Seq,
    first_ts: Timestamp,
    last_ts: Timestamp,
    /// The content address its name claims.
    address: ledger_core::ContentHash,
    /// Set once the segment's bytes were checked against its content address.
    checked: OnceLock<()>,
    /// The index, kept once a point lookup needed it (queries stream
    /// without keeping indexes, so their memory stays bounded).
    index: OnceLock<(Arc<SegmentIndex>, IndexSource)>,
}

/// The active segment's in-memory index, extended as records arrive.
struct Active {
    ordinal: SegmentOrdinal,
    name: String,
    map: Arc<dyn SegmentMap>,
    index: SegmentIndex,
}

/// Secondary indexes over one ledger. Sealed segments get an index file
/// beside them, built the first time a query needs it; the active segment
/// is indexed in memory, and each query first indexes what was appended
/// since the last one. Records are indexed by sequence, time, kind, and
/// the keys the domain's [`KeyExtractor`] gives them.
pub struct LedgerIndex {
    storage: Arc<dyn Storage>,
    extractor: Arc<dyn KeyExtractor>,
    ledger: LedgerId,
    sealed: Mutex<Vec<Arc<Segment>>>,
    active: Mutex<Option<Active>>,
    /// The indexes of the segments queried most recently (bounded, so a
    /// query over the whole ledger does not keep every index in memory).
    recent: Mutex<std::collections::VecDeque<(String, Arc<SegmentIndex>)>>,
}

/// How many segment indexes queries keep in memory.
const RECENT_INDEXES: usize = 8;

impl std::fmt::Debug for LedgerIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerIndex")
            .field("ledger", &self.ledger)
            .field("key_families", &self.extractor.families())
            .field("sealed_segments", &self.sealed.lock().len())
            .finish()
    }
}

impl LedgerIndex {
    /// Opens the index of the ledger in `dir`, whose records have the keys
    /// `extractor` gives them.
    pub fn open(dir: impl AsRef<Path>, extractor: impl KeyExtractor) -> Result<Self, IndexError> {
        Self::with_storage(Arc::new(FsStorage::new(dir.as_ref())), extractor)
    }

    /// Opens the index of the ledger in `storage`, whose records have the
    /// keys `extractor` gives them.
    pub fn with_storage(
        storage: Arc<dyn Storage>,
        extractor: impl KeyExtractor,
    ) -> Result<Self, IndexError> {
        let layout = read_layout(storage.as_ref())?;
        let ix = LedgerIndex {
            storage,
            extractor: Arc::new(extractor),
            ledger: layout.meta.id,
            sealed: Mutex::new(Vec::new()),
            active: Mutex::new(None),
            recent: Mutex::new(std::collections::VecDeque::new()),
        };
        ix.refresh_with(&layout)?;
        Ok(ix)
    }

    /// The key families of the domain, in the order of the index files.
    pub fn key_families(&self) -> &'static [&'static str] {
        self.extractor.families()
    }

    /// Picks up segments sealed and records appended since the last call.
    pub fn refresh(&self) -> Result<(), IndexError> {
        self.refresh_with(&read_layout(self.storage.as_ref())?)
    }

    fn refresh_with(&self, layout: &ledger_core::Layout) -> Result<(), IndexError> {
        let mut sealed = self.sealed.lock();
        for f in layout.sealed.iter().skip(sealed.len()) {
            sealed.push(Arc::new(self.open_sealed(f)?));
        }
        let mut active = self.active.lock();
        match &layout.active {
            Some((ordinal, name)) => {
                // An active segment that holds no record may have been
                // replaced by a larger file of the same name (the writer does
                // that when a record does not fit it): map the new one.
                let keep = active.as_ref().is_some_and(|a| {
                    a.ordinal == *ordinal
                        && &a.name == name
                        && (a.index.count() > 0
                            || self
                                .storage
                                .file_len(name)
                                .is_ok_and(|l| l == a.map.len() as u64))
                });
                if !keep {
                    let map =
                        self.storage
                            .map_segment(name)
                            .map_err(|e| ledger_core::Error::Io {
                                op: "map",
                                path: self.storage.path_of(name),
                                error: e,
                            })?;
                    let header = SegmentHeader::decode_fixed(
                        &map.copy_range(0, WATERMARK_AT).unwrap_or_default(),
                    )
                    .map_err(|d| IndexError::Segment {
                        segment: name.clone(),
                        offset: 0,
                        reason: d.to_string(),
                    })?;
                    *active = Some(Active {
                        ordinal: *ordinal,
                        name: name.clone(),
                        map,
                        index: SegmentIndex::new(header.first_seq, self.extractor.families().len()),
                    });
                }
                if let Some(a) = active.as_mut() {
                    a.index
                        .extend(a.map.as_ref(), &a.name, self.extractor.as_ref())?;
                }
            }
            None => *active = None,
        }
        Ok(())
    }

    /// Maps a sealed segment and reads its header and footer; its content
    /// address is checked the first time its records are needed.
    fn open_sealed(&self, f: &SealedFile) -> Result<Segment, IndexError> {
        let st = self.storage.as_ref();
        let map = st
            .map_segment(&f.name)
            .map_err(|e| ledger_core::Error::Io {
                op: "map",
                path: st.path_of(&f.name),
                error: e,
            })?;
        let (header, footer) =
            SealedSegment::header_and_footer(&f.name, map.bytes(0, map.len()).unwrap_or_default())?;
        if header.ledger_id != self.ledger {
            return Err(ledger_core::Error::ForeignSegment {
                segment: f.name.clone(),
                expected: self.ledger,
                found: header.ledger_id,
            }
            .into());
        }
        Ok(Segment {
            name: f.name.clone(),
            map,
            first_seq: header.first_seq,
            last_seq: footer.last_seq,
            first_ts: footer.first_ts,
            last_ts: footer.last_ts,
            address: f.address,
            checked: OnceLock::new(),
            index: OnceLock::new(),
        })
    }

    /// Checks the segment's bytes against its content address, once.
    fn check_address(&self, seg: &Segment) -> Result<(), IndexError> {
        if seg.checked.get().is_some() {
            return Ok(());
        }
        let actual =
            ledger_core::ContentHash::of(seg.map.bytes(0, seg.map.len()).unwrap_or_default());
        if actual != seg.address {
            return Err(ledger_core::Error::ContentAddress {
                segment: seg.name.clone(),
                expected: seg.address,
                actual,
            }
            .into());
        }
        let _ = seg.checked.set(());
        Ok(())
    }

    /// The index of a sealed segment: its file if it can be trusted, else
    /// built from the segment and written beside it. `keep` keeps it in
    /// memory for later lookups.
    fn sealed_index(&self, seg: &Segment, keep: bool) -> Result<Arc<SegmentIndex>, IndexError> {
        if let Some((ix, _)) = seg.index.get() {
            return Ok(Arc::clone(ix));
        }
        if let Some((_, ix)) = self.recent.lock().iter().find(|(n, _)| *n == seg.name) {
            if !keep {
                return Ok(Arc::clone(ix));
            }
        }
        self.check_address(seg)?;
        let (ix, source) = self.load_or_build(seg)?;
        let ix = Arc::new(ix);
        if keep {
            let _ = seg.index.set((Arc::clone(&ix), source));
        } else {
            let mut recent = self.recent.lock();
            if recent.len() >= RECENT_INDEXES {
                recent.pop_front();
            }
            recent.push_back((seg.name.clone(), Arc::clone(&ix)));
        }
        Ok(ix)
    }

    fn load_or_build(&self, seg: &Segment) -> Result<(SegmentIndex, IndexSource), IndexError> {
        let address = seg.address;
        let Some(name) = file::index_name(&seg.name) else {
            return Err(IndexError::Segment {
                segment: seg.name.clone(),
                offset: 0,
                reason: "not a sealed segment".into(),
            });
        };
        let families = self.extractor.families().len();
        let why = match self.storage.read_file(&name) {
            Ok(bytes) => match file::decode(&bytes, &address, families) {
                Ok(ix) if ix.first_seq == seg.first_seq.get() => {
                    return Ok((ix, IndexSource::Loaded))
                }
                Ok(_) => Some(FileDefect::FirstSeq),
                Err(why) => Some(why),
            },
            Err(_) => None,
        };
        let mut ix = SegmentIndex::new(seg.first_seq, families);
        ix.extend(seg.map.as_ref(), &seg.name, self.extractor.as_ref())?;
        let bytes = file::encode(&address, &ix).map_err(|e| IndexError::Segment {
            segment: seg.name.clone(),
            offset: 0,
            reason: format!("the index does not encode: {e}"),
        })?;
        // An index that cannot be written is still used; the next open
        // builds it again.
        let _ = self.storage.write_file_atomic(&name, &bytes);
        Ok((
            ix,
            match why {
                None => IndexSource::Built,
                Some(w) => IndexSource::Rebuilt(w),
            },
        ))
    }

    /// Builds (or checks) the index file of every sealed segment; returns
    /// each segment's name and how its index was obtained.
    pub fn build_all(&self) -> Result<Vec<(String, IndexSource)>, IndexError> {
        self.refresh()?;
        let sealed: Vec<Arc<Segment>> = self.sealed.lock().clone();
        let mut out = Vec::new();
        for s in sealed {
            self.check_address(&s)?;
            let (_, src) = match s.index.get() {
                Some((ix, src)) => (Arc::clone(ix), src.clone()),
                None => {
                    let (ix, src) = self.load_or_build(&s)?;
                    (Arc::new(ix), src)
                }
            };
            out.push((s.name.clone(), src));
        }
        Ok(out)
    }

    /// Streams the records matching `q`, in sequence order, segment by
    /// segment (memory bounded by one segment's matches). A key family the
    /// domain does not have is refused.
    pub fn query(&self, q: &Query) -> Result<QueryIter<'_>, IndexError> {
        q.key_filters(self.extractor.families())?;
        self.refresh()?;
        let sealed: Vec<Arc<Segment>> = self
            .sealed
            .lock()
            .iter()
            .filter(|s| {
                q.from_seq.is_none_or(|f| s.last_seq >= f)
                    && q.to_seq.is_none_or(|t| s.first_seq <= t)
                    && q.from_time.is_none_or(|f| s.last_ts >= f)
                    && q.to_time.is_none_or(|t| s.first_ts < t)
            })
            .cloned()
            .collect();
        Ok(QueryIter {
            ix: self,
            query: q.clone(),
            sealed,
            next_sealed: 0,
            active_done: false,
            current: None,
        })
    }

    /// Record `seq`, found through the index in microseconds:
    /// the segment by binary search over the segments' first sequences, the
    /// offset from its index. Looks at the folder again only when `seq` is
    /// not among the segments known so far.
    pub fn get(&self, seq: Seq) -> Result<Option<Hit>, IndexError> {
        if let Some(hit) = self.get_known(seq)? {
            return Ok(Some(hit));
        }
        self.refresh()?;
        self.get_known(seq)
    }

    fn get_known(&self, seq: Seq) -> Result<Option<Hit>, IndexError> {
        let seg = {
            let sealed = self.sealed.lock();
            let i = sealed.partition_point(|s| s.first_seq <= seq);
            i.checked_sub(1)
                .and_then(|i| sealed.get(i))
                .filter(|s| seq <= s.last_seq)
                .cloned()
        };
        let (name, map, offset) = match seg {
            Some(s) => {
                let ix = self.sealed_index(&s, true)?;
                match ix.position(seq) {
                    Some(p) => (s.name.clone(), Arc::clone(&s.map), ix.offsets[p as usize]),
                    None => return Ok(None),
                }
            }
            None => {
                let active = self.active.lock();
                let Some(a) = active.as_ref() else {
                    return Ok(None);
                };
                match a.index.position(seq) {
                    Some(p) => (
                        a.name.clone(),
                        Arc::clone(&a.map),
                        a.index.offsets[p as usize],
                    ),
                    None => return Ok(None),
                }
            }
        };
        read_hit(&name, map.as_ref(), offset).map(Some)
    }

    /// The same query answered by reading every record and asking the
    /// domain for its keys (the reference the index is tested against, and
    /// the baseline it is measured against).
    pub fn scan(&self, q: &Query) -> Result<Vec<Hit>, IndexError> {
        let filters = q.key_filters(self.extractor.families())?;
        let reader = ledger_core::Reader::with_storage(Arc::clone(&self.storage))?;
        let mut cursor = reader.cursor_from(q.from_seq.unwrap_or(Seq::FIRST))?;
        let mut out = Vec::new();
        let mut found = vec![false; filters.len()];
        while let Some(r) = cursor.next_ref()? {
            if q.to_seq.is_some_and(|t| r.seq > t) {
                break;
            }
            if r.kind.get() >= Kind::RESERVED_START
                || !q.in_range(r.seq, r.timestamp)
                || !(q.kinds.is_empty() || q.kinds.contains(&r.kind))
            {
                continue;
            }
            if !filters.is_empty() {
                found.fill(false);
                self.extractor
                    .keys(r.kind, r.version, r.payload, &mut |family, key| {
                        for (hit, (f, keys)) in found.iter_mut().zip(&filters) {
                            *hit |= *f == family && keys.iter().any(|k| k == key);
                        }
                    })
                    .map_err(|source| IndexError::RecordKeys { seq: r.seq, source })?;
                if !found.iter().all(|&f| f) {
                    continue;
                }
            }
            out.extend(Hit::from_record(&r));
        }
        Ok(out)
    }

    /// How each sealed segment's index was obtained, for the indexes kept
    /// in memory (by point lookups).
    pub fn sources(&self) -> Vec<(String, Option<IndexSource>)> {
        self.sealed
            .lock()
            .iter()
            .map(|s| (s.name.clone(), s.index.get().map(|(_, src)| src.clone())))
            .collect()
    }
}

/// The records of one segment a query selected.
struct Current {
    name: String,
    map: Arc<dyn SegmentMap>,
    offsets: Vec<u32>,
    next: usize,
}

/// A streaming query: see [`LedgerIndex::query`].
pub struct QueryIter<'a> {
    ix: &'a LedgerIndex,
    query: Query,
    sealed: Vec<Arc<Segment>>,
    next_sealed: usize,
    active_done: bool,
    current: Option<Current>,
}

impl std::fmt::Debug for QueryIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryIter")
            .field("query", &self.query)
            .finish()
    }
}

impl QueryIter<'_> {
    fn load_next_segment(&mut self) -> Result<bool, IndexError> {
        if let Some(seg) = self.sealed.get(self.next_sealed).cloned() {
            self.next_sealed += 1;
            let ix = self.ix.sealed_index(&seg, false)?;
            let picks = ix.candidates(seg.map.as_ref(), &self.query, self.ix.key_families());
            self.current = Some(Current {
                name: seg.name.clone(),
                map: Arc::clone(&seg.map),
                offsets: picks.iter().map(|&i| ix.offsets[i as usize]).collect(),
                next: 0,
            });
            return Ok(true);
        }
        if !self.active_done {
            self.active_done = true;
            let active = self.ix.active.lock();
            if let Some(a) = active.as_ref() {
                let picks = a
                    .index
                    .candidates(a.map.as_ref(), &self.query, self.ix.key_families());
                self.current = Some(Current {
                    name: a.name.clone(),
                    map: Arc::clone(&a.map),
                    offsets: picks.iter().map(|&i| a.index.offsets[i as usize]).collect(),
                    next: 0,
                });
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn next_hit(&mut self) -> Result<Option<Hit>, IndexError> {
        loop {
            if let Some(cur) = &mut self.current {
                if let Some(&off) = cur.offsets.get(cur.next) {
                    cur.next += 1;
                    return read_hit(&cur.name, cur.map.as_ref(), off).map(Some);
                }
                self.current = None;
            }
            if !self.load_next_segment()? {
                return Ok(None);
            }
        }
    }
}

impl Iterator for QueryIter<'_> {
    type Item = Result<Hit, IndexError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_hit().transpose()
    }
}

/// The hit of the record at `offset` of a segment.
fn read_hit(name: &str, map: &dyn SegmentMap, offset: u32) -> Result<Hit, IndexError> {
    let bad = |reason: String| IndexError::Segment {
        segment: name.to_owned(),
        offset: u64::from(offset),
        reason,
    };
    match read_published(map, offset as usize) {
        Ok(Published::Record(r)) => {
            Hit::from_record(&r).ok_or_else(|| bad("the index points at an engine record".into()))
        }
        Ok(_) => Err(bad("the index points at no record".into())),
        Err(d) => Err(bad(d.to_string())),
    }
}
