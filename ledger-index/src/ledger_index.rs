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

use crate::check::IndexFinding;
use crate::error::IndexError;
use crate::file::{self, FileDefect};
use crate::keys::KeyExtractor;
use crate::query::Query;
use crate::recheck::{mismatch, Refusal, Target};
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
    /// Read from its index file, and found to agree with its segment's
    /// records (count, offsets, times, kinds).
    Loaded,
    /// Built from the segment (the file was missing) and written.
    Built,
    /// Rebuilt because the file could not be trusted (why), and rewritten.
    Rebuilt(FileDefect),
}

/// A segment index; the checksum of the file it was read from (its key
/// lists are then proven complete by the queries that use them), or `None`
/// when it was built from the segment here; and which key families' lists
/// it holds (bit `i` for family `i`; read from a file, only those a query
/// needed are decoded: see [`file::decode_families`]).
type Indexed = (Arc<SegmentIndex>, Option<[u8; 32]>, u64);

/// An index as [`LedgerIndex::load_or_build`] obtained it: the index, how,
/// the checksum of its file (when read from one) and its families' mask.
type Obtained = (SegmentIndex, IndexSource, Option<[u8; 32]>, u64);

/// Every family, as a mask of [`Indexed`] (a domain with 64 families or
/// more always has all decoded).
const ALL_FAMILIES: u64 = u64::MAX;

/// The mask of family `f`.
fn family_bit(f: usize) -> u64 {
    u32::try_from(f)
        .ok()
        .and_then(|f| 1u64.checked_shl(f))
        .unwrap_or(ALL_FAMILIES)
}

/// A key list proven complete: segment, index file checksum, family, key.
type Proof = (String, [u8; 32], usize, String);

/// How many proofs that a key's list is complete a `LedgerIndex` remembers
/// (it forgets them all past this, and proves again).
const PROOFS: usize = 1 << 16;

struct Segment {
    name: String,
    map: Arc<dyn SegmentMap>,
    first_seq: Seq,
    /// Last sequence and the time span, from the footer.
    last_seq: Seq,
    first_ts: Timestamp,
    last_ts: Timestamp,
    /// The chain hash its first record links to (from its header).
    prev_hash: ChainHash,
    /// The content address its name claims.
    address: ledger_core::ContentHash,
    /// Set once the segment's bytes were checked against its content address.
    checked: OnceLock<()>,
    /// The checksum (blake3 trailer) of the index file last found to agree
    /// with this segment's records, or last written from them: that file is
    /// not walked against the segment again by this process.
    agreed: Mutex<Option<[u8; 32]>>,
    /// The index, kept once a point lookup needed it (queries stream
    /// without keeping indexes, so their memory stays bounded).
    index: Mutex<Option<(Indexed, IndexSource)>>,
}

/// An unsealed segment's in-memory index (the active segment, or a full one
/// the writer's sealer has not sealed yet), extended as records arrive.
struct Active {
    ordinal: SegmentOrdinal,
    name: String,
    map: Arc<dyn SegmentMap>,
    /// The chain hash its first record links to (from its header).
    prev_hash: ChainHash,
    index: SegmentIndex,
}

/// Secondary indexes over one ledger. Sealed segments get an index file
/// beside them, built the first time a query needs it; the active segment
/// is indexed in memory, and each query first indexes what was appended
/// since the last one. Records are indexed by sequence, time, kind, and
/// the keys the domain's [`KeyExtractor`] gives them.
///
/// An index file is never trusted as it is (anyone who can write it can
/// recompute its checksum): it is checked against its segment's records
/// when loaded, every hit a query returns is re-checked against its
/// record's bytes and the query, and the records its key lists leave out
/// are looked for in the segment. A file that fails is refused: the
/// segment's answer comes from an index rebuilt from the segment, which
/// replaces the file, and the refusal is kept for
/// [`take_refused`](Self::take_refused). See `docs/FORMAT.md`, "Index
/// files".
pub struct LedgerIndex {
    storage: Arc<dyn Storage>,
    extractor: Arc<dyn KeyExtractor>,
    ledger: LedgerId,
    sealed: Mutex<Vec<Arc<Segment>>>,
    /// The unsealed segments, in order: full ones awaiting the sealer, then
    /// the active one.
    active: Mutex<Vec<Active>>,
    /// The indexes of the segments queried most recently (bounded, so a
    /// query over the whole ledger does not keep every index in memory),
    /// and whether each was read from its file.
    recent: Mutex<std::collections::VecDeque<(String, Indexed)>>,
    /// Index files refused since the last [`LedgerIndex::take_refused`].
    refused: Mutex<Vec<IndexFinding>>,
    /// Key lists of loaded index files proven complete: (segment, file
    /// checksum, family, key). A list is searched for once per file.
    proven: Mutex<std::collections::HashSet<Proof>>,
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
            active: Mutex::new(Vec::new()),
            recent: Mutex::new(std::collections::VecDeque::new()),
            refused: Mutex::new(Vec::new()),
            proven: Mutex::new(std::collections::HashSet::new()),
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
        let mut now = Vec::new();
        for (ordinal, name) in layout.unsealed() {
            // An active segment that holds no record may have been replaced
            // by a larger file of the same name (the writer does that when a
            // record does not fit it): map the new one.
            let kept = active
                .iter()
                .position(|a| {
                    a.ordinal == *ordinal
                        && &a.name == name
                        && (a.index.count() > 0
                            || self
                                .storage
                                .file_len(name)
                                .is_ok_and(|l| l == a.map.len() as u64))
                })
                .map(|i| active.swap_remove(i));
            let mut a = match kept {
                Some(a) => a,
                None => {
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
                    Active {
                        ordinal: *ordinal,
                        name: name.clone(),
                        map,
                        prev_hash: header.prev_hash,
                        index: SegmentIndex::new(header.first_seq, self.extractor.families().len()),
                    }
                }
            };
            a.index
                .extend(a.map.as_ref(), &a.name, self.extractor.as_ref())?;
            now.push(a);
        }
        *active = now;
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
            prev_hash: header.prev_hash,
            address: f.address,
            checked: OnceLock::new(),
            agreed: Mutex::new(None),
            index: Mutex::new(None),
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

    /// The index of a sealed segment, holding at least the key families
    /// `need` (a mask): its file if it agrees with the segment, else built
    /// from the segment and written beside it. `keep` keeps it in memory
    /// for later lookups.
    fn sealed_index(&self, seg: &Segment, keep: bool, need: u64) -> Result<Indexed, IndexError> {
        let covers = |have: u64| have & need == need;
        let mut need = need;
        if let Some(((ix, file, have), _)) = seg.index.lock().as_ref() {
            if covers(*have) {
                return Ok((Arc::clone(ix), *file, *have));
            }
            need |= *have;
        }
        if !keep {
            let recent = self.recent.lock();
            if let Some((_, (ix, file, have))) = recent
                .iter()
                .find(|(n, (_, _, have))| *n == seg.name && covers(*have))
            {
                return Ok((Arc::clone(ix), *file, *have));
            }
        }
        self.check_address(seg)?;
        let (ix, source, file, have) = self.load_or_build(seg, need)?;
        let indexed = (Arc::new(ix), file, have);
        if keep {
            *seg.index.lock() = Some((indexed.clone(), source));
        } else {
            self.remember(&seg.name, indexed.clone());
        }
        Ok(indexed)
    }

    /// Keeps `ix` among the recent indexes, in place of any other of the
    /// same segment.
    fn remember(&self, name: &str, ix: Indexed) {
        let mut recent = self.recent.lock();
        recent.retain(|(n, _)| n != name);
        if recent.len() >= RECENT_INDEXES {
            recent.pop_front();
        }
        recent.push_back((name.to_owned(), ix));
    }

    fn index_name(seg: &Segment) -> Result<String, IndexError> {
        file::index_name(&seg.name).ok_or_else(|| IndexError::Segment {
            segment: seg.name.clone(),
            offset: 0,
            reason: "not a sealed segment".into(),
        })
    }

    /// The index of a sealed segment from its file (with the file's
    /// checksum, and only the key families `need` asks for decoded) if it
    /// agrees with the segment, else built (every family) and written.
    fn load_or_build(&self, seg: &Segment, need: u64) -> Result<Obtained, IndexError> {
        let name = Self::index_name(seg)?;
        let families = self.extractor.families().len();
        let wanted = |f: usize| family_bit(f) & need != 0;
        let why = match self.storage.read_file(&name) {
            Ok(bytes) => match file::decode_families(&bytes, &seg.address, families, &wanted) {
                Ok(ix) if ix.first_seq == seg.first_seq.get() => {
                    match self.agrees(seg, &bytes, &ix) {
                        Ok(()) => {
                            return Ok((ix, IndexSource::Loaded, checksum(&bytes), need));
                        }
                        Err(why) => Some(why),
                    }
                }
                Ok(_) => Some(FileDefect::FirstSeq),
                Err(why) => Some(why),
            },
            Err(_) => None,
        };
        if let Some(why) = &why {
            self.note_refused(&name, why);
        }
        let ix = self.build(seg, &name)?;
        let source = match why {
            None => IndexSource::Built,
            Some(w) => IndexSource::Rebuilt(w),
        };
        Ok((ix, source, None, ALL_FAMILIES))
    }

    /// Whether the index `ix`, decoded from the file `bytes`, agrees with
    /// its segment's records (once per file: see [`Segment::agreed`]).
    fn agrees(&self, seg: &Segment, bytes: &[u8], ix: &SegmentIndex) -> Result<(), FileDefect> {
        let sum = checksum(bytes);
        if sum.is_some() && *seg.agreed.lock() == sum {
            return Ok(());
        }
        ix.check_against(
            &seg.name,
            seg.map.bytes(0, seg.map.len()).unwrap_or_default(),
        )?;
        *seg.agreed.lock() = sum;
        Ok(())
    }

    /// Builds the index of a sealed segment from its records and writes it
    /// to `name`.
    fn build(&self, seg: &Segment, name: &str) -> Result<SegmentIndex, IndexError> {
        let ix = SegmentIndex::build(
            seg.map.as_ref(),
            &seg.name,
            seg.first_seq,
            self.extractor.as_ref(),
        )?;
        let bytes = file::encode(&seg.address, &ix).map_err(|e| IndexError::Segment {
            segment: seg.name.clone(),
            offset: 0,
            reason: format!("the index does not encode: {e}"),
        })?;
        // An index that cannot be written is still used; the next open
        // builds it again.
        if self.storage.write_file_atomic(name, &bytes).is_ok() {
            *seg.agreed.lock() = checksum(&bytes);
        }
        Ok(ix)
    }

    fn note_refused(&self, file: &str, why: &FileDefect) {
        self.refused.lock().push(IndexFinding {
            file: file.to_owned(),
            reason: why.to_string(),
            forged: why.is_forgery(),
        });
    }

    /// Refuses the index file of `seg` (why), and builds its index from the
    /// segment in its place: in memory and in the file.
    fn refuse(&self, seg: &Segment, why: FileDefect) -> Result<Arc<SegmentIndex>, IndexError> {
        let name = Self::index_name(seg)?;
        self.note_refused(&name, &why);
        *seg.agreed.lock() = None;
        let ix = Arc::new(self.build(seg, &name)?);
        let mut kept = seg.index.lock();
        if kept.is_some() {
            *kept = Some((
                (Arc::clone(&ix), None, ALL_FAMILIES),
                IndexSource::Rebuilt(why),
            ));
        }
        drop(kept);
        self.remember(&seg.name, (Arc::clone(&ix), None, ALL_FAMILIES));
        Ok(ix)
    }

    /// The index files refused since the last call (or since the index was
    /// opened): which file, and why. A refused file never changed an
    /// answer: the segment's answer came from an index rebuilt from its
    /// records, and the file was rewritten. A command line tool warns with
    /// them.
    pub fn take_refused(&self) -> Vec<IndexFinding> {
        std::mem::take(&mut *self.refused.lock())
    }

    /// The records of a segment that match `q`, through its index, each
    /// re-checked against its record. When the index was read from a file
    /// (`file`: its checksum), every key list the query uses is also proven
    /// complete (once per file and key: see [`LedgerIndex::proven`]).
    fn answer(
        &self,
        target: &Target<'_>,
        file: Option<[u8; 32]>,
        q: &Query,
    ) -> Result<Vec<Hit>, Refusal> {
        let families = self.extractor.families();
        let filters = q.key_filters(families)?;
        let extractor = self.extractor.as_ref();
        let picks = target.index.candidates(target.map, q, families);
        let hits = picks
            .iter()
            .map(|&i| target.hit(i, q, &filters, families, extractor))
            .collect::<Result<Vec<Hit>, Refusal>>()?;
        let Some(sum) = file else {
            return Ok(hits);
        };
        for &(family, keys) in &filters {
            for key in keys {
                let memo = (target.name.to_owned(), sum, family, key.clone());
                if self.proven.lock().contains(&memo) {
                    continue;
                }
                let Some(needle) = extractor.key_needle(family, key).filter(|n| !n.is_empty())
                else {
                    continue;
                };
                target.complete(family, key, &needle, families, extractor)?;
                let mut proven = self.proven.lock();
                if proven.len() >= PROOFS {
                    proven.clear();
                }
                proven.insert(memo);
            }
        }
        Ok(hits)
    }

    /// The answer of a sealed segment: through its index, or, when its
    /// index file is refused, through an index rebuilt from it.
    fn answer_sealed(&self, seg: &Segment, q: &Query) -> Result<Vec<Hit>, IndexError> {
        let need = q
            .key_filters(self.extractor.families())?
            .iter()
            .fold(0, |m, (f, _)| m | family_bit(*f));
        let (ix, file, _) = self.sealed_index(seg, false, need)?;
        let target = |index| Target {
            name: &seg.name,
            map: seg.map.as_ref(),
            prev_hash: seg.prev_hash,
            index,
        };
        let why = match self.answer(&target(&ix), file, q) {
            Ok(hits) => return Ok(hits),
            Err(Refusal::Error(e)) => return Err(e),
            Err(Refusal::Index(why)) => why,
        };
        let built = self.refuse(seg, why)?;
        self.answer(&target(&built), None, q)
            .map_err(|r| own_index_error(&seg.name, r))
    }

    /// Builds (or checks) the index file of every sealed segment; returns
    /// each segment's name and how its index was obtained.
    pub fn build_all(&self) -> Result<Vec<(String, IndexSource)>, IndexError> {
        self.refresh()?;
        let sealed: Vec<Arc<Segment>> = self.sealed.lock().clone();
        let mut out = Vec::new();
        for s in sealed {
            self.check_address(&s)?;
            let kept = s.index.lock().as_ref().map(|(_, src)| src.clone());
            let src = match kept {
                Some(src) => src,
                None => self.load_or_build(&s, 0)?.1,
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
            actives: self.active.lock().iter().map(|a| a.ordinal).collect(),
            next_active: 0,
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
                let (ix, _, _) = self.sealed_index(&s, true, 0)?;
                match ix.position(seq) {
                    Some(p) => (s.name.clone(), Arc::clone(&s.map), ix.offsets[p as usize]),
                    None => return Ok(None),
                }
            }
            None => {
                let active = self.active.lock();
                let Some(a) = active.iter().find(|a| a.index.position(seq).is_some()) else {
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
        let hit = read_hit(&name, map.as_ref(), offset)?;
        // Offsets were checked against the segment's records; the record
        // says which it is all the same.
        if hit.seq != seq {
            return Err(IndexError::Segment {
                segment: name,
                offset: u64::from(offset),
                reason: format!("record {} where the index has record {seq}", hit.seq),
            });
        }
        Ok(Some(hit))
    }

    /// The same query answered by reading every record and asking the
    /// domain for its keys (the reference the index is tested against, and
    /// the baseline it is measured against).
    pub fn scan(&self, q: &Query) -> Result<Vec<Hit>, IndexError> {
        let filters = q.key_filters(self.extractor.families())?;
        let reader = ledger_core::Reader::with_storage(Arc::clone(&self.storage))?;
        let mut cursor = reader.cursor_from(q.from_seq.unwrap_or(Seq::FIRST))?;
        let mut out = Vec::new();
        let families = self.extractor.families();
        while let Some(r) = cursor.next_ref()? {
            if q.to_seq.is_some_and(|t| r.seq > t) {
                break;
            }
            let why = mismatch(q, &filters, families, self.extractor.as_ref(), &r)
                .map_err(|source| IndexError::RecordKeys { seq: r.seq, source })?;
            if why.is_none() {
                out.extend(Hit::from_record(&r));
            }
        }
        Ok(out)
    }

    /// How each sealed segment's index was obtained, for the indexes kept
    /// in memory (by point lookups).
    pub fn sources(&self) -> Vec<(String, Option<IndexSource>)> {
        self.sealed
            .lock()
            .iter()
            .map(|s| {
                let src = s.index.lock().as_ref().map(|(_, src)| src.clone());
                (s.name.clone(), src)
            })
            .collect()
    }
}

/// The records of one segment a query selected, re-checked.
struct Current {
    hits: std::vec::IntoIter<Hit>,
}

/// A streaming query: see [`LedgerIndex::query`].
pub struct QueryIter<'a> {
    ix: &'a LedgerIndex,
    query: Query,
    sealed: Vec<Arc<Segment>>,
    next_sealed: usize,
    /// The unsealed segments when the query started, and the next one to
    /// answer from (one sealed since is answered from its sealed file).
    actives: Vec<SegmentOrdinal>,
    next_active: usize,
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
            let hits = self.ix.answer_sealed(&seg, &self.query)?;
            self.current = Some(Current {
                hits: hits.into_iter(),
            });
            return Ok(true);
        }
        let Some(&ordinal) = self.actives.get(self.next_active) else {
            return Ok(false);
        };
        self.next_active += 1;
        {
            let active = self.ix.active.lock();
            if let Some(a) = active.iter().find(|a| a.ordinal == ordinal) {
                let target = Target {
                    name: &a.name,
                    map: a.map.as_ref(),
                    prev_hash: a.prev_hash,
                    index: &a.index,
                };
                let hits = self
                    .ix
                    .answer(&target, None, &self.query)
                    .map_err(|r| own_index_error(&a.name, r))?;
                self.current = Some(Current {
                    hits: hits.into_iter(),
                });
                return Ok(true);
            }
        }
        // Sealed since the query started (another query's refresh moved it
        // to the sealed segments): answer from the sealed file.
        let sealed = self
            .ix
            .sealed
            .lock()
            .iter()
            .find(|s| {
                matches!(ledger_core::segment::names::SegmentName::parse(&s.name),
                Some(ledger_core::segment::names::SegmentName::Sealed(o, _)) if o == ordinal)
            })
            .cloned();
        let Some(seg) = sealed else {
            return Err(IndexError::Segment {
                segment: ledger_core::segment::names::SegmentName::Active(ordinal).to_string(),
                offset: 0,
                reason: "the segment was neither active nor sealed when the query reached it"
                    .into(),
            });
        };
        let hits = self.ix.answer_sealed(&seg, &self.query)?;
        self.current = Some(Current {
            hits: hits.into_iter(),
        });
        Ok(true)
    }

    fn next_hit(&mut self) -> Result<Option<Hit>, IndexError> {
        loop {
            if let Some(cur) = &mut self.current {
                if let Some(hit) = cur.hits.next() {
                    return Ok(Some(hit));
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

/// The error when an index this process built from a segment's records
/// disagrees with them (the segment changed while it was read, or a bug):
/// never answered from.
fn own_index_error(segment: &str, r: Refusal) -> IndexError {
    match r {
        Refusal::Error(e) => e,
        Refusal::Index(why) => IndexError::Segment {
            segment: segment.to_owned(),
            offset: 0,
            reason: format!("the index built from this segment {why}"),
        },
    }
}

/// The checksum trailer of an index file's bytes.
fn checksum(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes
        .len()
        .checked_sub(32)
        .and_then(|at| bytes.get(at..))
        .and_then(|b| b.try_into().ok())
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
