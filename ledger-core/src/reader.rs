//! Readers: iterate records from any sequence number across segments, in
//! this process or another, while the writer appends.
//!
//! A reader never takes the writer's lock. It sees a record only once the
//! record's length word is published (release store by the writer, acquire
//! load here), so it never sees a partial record. At the end of the active
//! segment it returns `None`; calling again later picks up records appended
//! since (tail following), and moves on to the next segment once the writer
//! has sealed this one.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Defect, Error, IoContext, Result};
use crate::layout::SealedFile;
use crate::meta::{LedgerMeta, META_FILE};
use crate::op_error::{OpenError, ReadError};
use crate::sealed::SealedSegment;
use crate::segment::footer::FOOTER_LEN;
use crate::segment::header::{SegmentHeader, HEADER_LEN, WATERMARK_AT};
use crate::segment::names::SegmentName;
use crate::segment::record::{self, RecordDefect, RecordRef, Slot, FOOTER_MARKER};
use crate::segment::walk::{Mode, SlotSource, Step, Stop, Walker};
use crate::segment::ChainState;
use crate::storage::{FsStorage, SegmentMap, Storage};
use crate::types::{ChainHash, Kind, LedgerId, SchemaVersion, SegmentOrdinal, Seq, Timestamp};

/// A record read from the ledger (owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: Seq,
    /// Timestamp.
    pub timestamp: Timestamp,
    /// Kind.
    pub kind: Kind,
    /// Schema version.
    pub version: SchemaVersion,
    /// Payload.
    pub payload: Vec<u8>,
    /// Chain hash.
    pub chain_hash: ChainHash,
}

impl From<&RecordRef<'_>> for Record {
    fn from(r: &RecordRef<'_>) -> Self {
        Record {
            seq: r.seq,
            timestamp: r.timestamp,
            kind: r.kind,
            version: r.version,
            payload: r.payload.to_vec(),
            chain_hash: r.chain_hash,
        }
    }
}

/// Opens a ledger for reading.
#[derive(Debug, Clone)]
pub struct Reader {
    storage: Arc<dyn Storage>,
    meta: LedgerMeta,
}

impl Reader {
    /// A reader of the ledger in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Reader, OpenError> {
        Self::with_storage(Arc::new(FsStorage::new(dir.as_ref())))
    }

    /// A reader of the ledger in `storage`.
    pub fn with_storage(storage: Arc<dyn Storage>) -> Result<Reader, OpenError> {
        // Checks that this is a ledger and reads its identity.
        let layout = crate::layout::read_layout(storage.as_ref())?;
        Ok(Reader {
            storage,
            meta: layout.meta,
        })
    }

    /// The ledger's identity file (id, format version, creation time).
    pub fn meta(&self) -> &LedgerMeta {
        &self.meta
    }

    /// The ledger's id.
    pub fn ledger_id(&self) -> LedgerId {
        self.meta.id
    }

    /// The storage read from.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// A cursor positioned at the first record.
    pub fn cursor(&self) -> Result<Cursor, ReadError> {
        self.cursor_from(Seq::FIRST)
    }

    /// A cursor positioned at record `from` (or at the end, if `from` is
    /// past the last record: it then yields records as they are appended).
    pub fn cursor_from(&self, from: Seq) -> Result<Cursor, ReadError> {
        let mut c = Cursor {
            storage: Arc::clone(&self.storage),
            ledger: self.meta.id,
            seg: None,
            state: ChainState {
                next_seq: Seq::FIRST,
                prev_hash: crate::chain::genesis(&self.meta.id),
                last_ts: Timestamp::from_nanos(i64::MIN),
            },
            verify_chain: false,
        };
        c.seek(from)?;
        Ok(c)
    }
}

/// A segment file found and mapped: its name, bytes and header.
type OpenedSegment = (String, Arc<dyn SegmentMap>, SegmentHeader);

struct CurSeg {
    ordinal: SegmentOrdinal,
    name: String,
    map: Arc<dyn SegmentMap>,
    /// The walk over its records: [`Mode::Sealed`] up to the footer of a
    /// sealed segment (checked whole when opened), [`Mode::Live`] over the
    /// active one.
    walker: Walker,
    sealed: bool,
}

/// Iterates records in sequence order. See the module docs.
pub struct Cursor {
    storage: Arc<dyn Storage>,
    ledger: LedgerId,
    seg: Option<CurSeg>,
    state: ChainState,
    verify_chain: bool,
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("next_seq", &self.state.next_seq)
            .field("segment", &self.seg.as_ref().map(|s| &s.name))
            .field("offset", &self.seg.as_ref().map(|s| s.walker.position()))
            .finish()
    }
}

fn corrupt(segment: &str, offset: usize, seq: Seq, defect: impl Into<Defect>) -> Error {
    Error::Corrupt {
        segment: segment.to_owned(),
        offset: offset as u64,
        seq: Some(seq),
        defect: defect.into(),
    }
}

impl Cursor {
    /// Also re-hash every record and check its chain link while reading
    /// (off by default: the CRC already guards each record; verification
    /// checks the chain).
    #[must_use]
    pub fn verify_chain(mut self, on: bool) -> Self {
        self.verify_chain = on;
        if let Some(seg) = self.seg.take() {
            let walker = seg.walker.check_chain(on);
            self.seg = Some(CurSeg { walker, ..seg });
        }
        self
    }

    /// The sequence number the next record will have.
    pub fn next_seq(&self) -> Seq {
        self.state.next_seq
    }

    /// The file name of the segment being read, if any.
    pub fn segment_name(&self) -> Option<&str> {
        self.seg.as_ref().map(|s| s.name.as_str())
    }

    /// Finds the file of segment `ordinal`: sealed (checked against its
    /// content address) or active. `None` if it does not exist yet. A file
    /// renamed between listing and mapping (the writer sealing it) is
    /// looked up again.
    fn open_segment(&self, ordinal: SegmentOrdinal) -> Result<Option<OpenedSegment>> {
        let mut attempts = 0;
        loop {
            match self.try_open_segment(ordinal) {
                Err(Error::Io { error: source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && attempts < 16 =>
                {
                    attempts += 1;
                    std::thread::yield_now();
                }
                other => return other,
            }
        }
    }

    fn try_open_segment(&self, ordinal: SegmentOrdinal) -> Result<Option<OpenedSegment>> {
        let st = self.storage.as_ref();
        let names = st.list().ctx("list", st.path_of(""))?;
        for name in names {
            match SegmentName::parse(&name) {
                Some(SegmentName::Sealed(o, address)) if o == ordinal => {
                    let file = SealedFile {
                        ordinal,
                        address,
                        name: name.clone(),
                    };
                    let seg = SealedSegment::open(st, &file, &self.ledger)?;
                    return Ok(Some((name, Arc::clone(&seg.map), seg.header)));
                }
                Some(SegmentName::Active(o)) if o == ordinal => {
                    let map = st.map_segment(&name).ctx("map", st.path_of(&name))?;
                    let fixed = map
                        .raw(crate::storage::TOKEN, 0, WATERMARK_AT)
                        .unwrap_or_default();
                    let header = SegmentHeader::decode_fixed(fixed)
                        .map_err(|d| corrupt(&name, 0, self.state.next_seq, d))?;
                    if header.ledger_id != self.ledger {
                        return Err(Error::ForeignSegment {
                            segment: name,
                            expected: self.ledger,
                            found: header.ledger_id,
                        });
                    }
                    return Ok(Some((name, map, header)));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// The first sequence of the segment file `name`, from its header,
    /// without the content check (for seeking).
    fn first_seq_of(&self, name: &str) -> Result<Seq> {
        let st = self.storage.as_ref();
        let map = st.map_segment(name).ctx("map", st.path_of(name))?;
        let h = SegmentHeader::decode_fixed(
            map.raw(crate::storage::TOKEN, 0, WATERMARK_AT)
                .unwrap_or_default(),
        )
        .map_err(|d| corrupt(name, 0, self.state.next_seq, d))?;
        Ok(h.first_seq)
    }

    fn seek(&mut self, from: Seq) -> Result<()> {
        // Binary search over the ordinals by their headers' first sequence.
        let layout = crate::layout::read_layout(self.storage.as_ref())?;
        let count = layout.segment_count();
        let unsealed: Vec<&(SegmentOrdinal, String)> = layout.unsealed().collect();
        let (mut lo, mut hi) = (0u64, count);
        // The folder is listed once; a file the sealer renames meanwhile is
        // looked up again by ordinal when it is entered.
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let first = match layout.sealed.get(mid as usize) {
                Some(f) => self.first_seq_of(&f.name)?,
                None => match unsealed.get(mid as usize - layout.sealed.len()) {
                    Some((o, name)) => match self.first_seq_of(name) {
                        Err(Error::Io { error, .. })
                            if error.kind() == std::io::ErrorKind::NotFound =>
                        {
                            match self.open_segment(*o)? {
                                Some((_, _, h)) => h.first_seq,
                                None => break,
                            }
                        }
                        other => other?,
                    },
                    None => break,
                },
            };
            if first <= from {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if count == 0 {
            return Ok(());
        }
        self.enter(SegmentOrdinal::new(lo))?;
        while self.state.next_seq < from {
            if self.next_ref()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn enter(&mut self, ordinal: SegmentOrdinal) -> Result<bool> {
        let Some((name, map, header)) = self.open_segment(ordinal)? else {
            return Ok(false);
        };
        if ordinal.get() == 0
            && (header.first_seq != Seq::FIRST
                || header.prev_hash != crate::chain::genesis(&self.ledger))
        {
            return Err(corrupt(
                &name,
                40,
                Seq::FIRST,
                Defect::finding(
                    crate::finding::FindingKind::Link,
                    "the first segment does not start the chain (sequence 1 after the genesis hash)",
                ),
            ));
        }
        if self.seg.is_some()
            && (header.first_seq != self.state.next_seq || header.prev_hash != self.state.prev_hash)
        {
            // Continuing from a previous segment: the link must hold.
            return Err(corrupt(
                &name,
                40,
                self.state.next_seq,
                Defect::finding(
                    crate::finding::FindingKind::Link,
                    "broken link to the previous segment",
                ),
            ));
        }
        self.state.next_seq = header.first_seq;
        self.state.prev_hash = header.prev_hash;
        let sealed = name.ends_with(".seg");
        let (mode, limit) = if sealed {
            (Mode::Sealed, map.len().saturating_sub(FOOTER_LEN))
        } else {
            (Mode::Live, map.len())
        };
        let walker = Walker::new(&name, mode, self.state, limit).check_chain(self.verify_chain);
        self.seg = Some(CurSeg {
            ordinal,
            name,
            map,
            walker,
            sealed,
        });
        Ok(true)
    }

    /// The next record, borrowed from the segment's bytes; `Ok(None)` at the
    /// current end of the ledger.
    pub fn next_ref(&mut self) -> Result<Option<RecordRef<'_>>, ReadError> {
        let Some((offset, len)) = self.advance()? else {
            return Ok(None);
        };
        // The walker has judged the record at `offset`; borrow it again
        // (a published record's bytes never change).
        let Some(seg) = self.seg.as_ref() else {
            return Ok(None);
        };
        let bytes = seg
            .map
            .raw(crate::storage::TOKEN, offset, len)
            .unwrap_or_default();
        let rec = record::view(bytes, 0)
            .map(|r| RecordRef { offset, ..r })
            .ok_or_else(|| {
                corrupt(
                    &seg.name,
                    offset,
                    self.state.next_seq,
                    Defect::finding(
                        crate::finding::FindingKind::Crc,
                        "the record the walk judged cannot be read again",
                    ),
                )
            })?;
        Ok(Some(rec))
    }

    /// Walks to the next valid record: its offset and padded length.
    fn advance(&mut self) -> Result<Option<(usize, usize)>> {
        loop {
            let Some(seg) = &mut self.seg else {
                if !self.enter(SegmentOrdinal::new(0))? {
                    return Ok(None);
                }
                continue;
            };
            let step = if seg.sealed {
                let bytes = seg.map.bytes(0, seg.map.len()).unwrap_or_default();
                seg.walker.step(&bytes)
            } else {
                seg.walker.step(&LiveSlots(seg.map.as_ref()))
            };
            match step {
                Step::Record {
                    rec, problem: None, ..
                } => {
                    self.state = seg.walker.state();
                    return Ok(Some((rec.offset, rec.padded_len())));
                }
                Step::Record {
                    problem: Some(f), ..
                } => return Err(crate::sealed::corrupt_from(&f)),
                Step::Damage(f) | Step::Stop(Stop::Invalid(f)) => {
                    return Err(crate::sealed::corrupt_from(&f))
                }
                Step::Stop(Stop::End { offset }) => {
                    // An active segment that holds no record may have been
                    // replaced by a larger file (the writer does that when
                    // a record does not fit it): map the new one.
                    let replaced = offset == HEADER_LEN as u64
                        && self
                            .storage
                            .file_len(&seg.name)
                            .is_ok_and(|l| l != seg.map.len() as u64);
                    let ordinal = seg.ordinal;
                    if replaced && self.enter(ordinal)? {
                        continue;
                    }
                    return Ok(None);
                }
                Step::Stop(Stop::Sealed { .. } | Stop::DataEnd { .. }) => {
                    let next = seg.ordinal.next();
                    if !self.enter(next)? {
                        // Sealed, but the next segment is not created yet.
                        return Ok(None);
                    }
                    continue;
                }
                Step::Stop(other) => {
                    let name = seg.name.clone();
                    return Err(corrupt(
                        &name,
                        other.offset().unwrap_or(0) as usize,
                        self.state.next_seq,
                        Defect::finding(
                            crate::finding::FindingKind::Crc,
                            format!(
                                "a segment's walk stopped where a reader cannot go on: {other:?}"
                            ),
                        ),
                    ));
                }
            }
        }
    }

    /// The next record, owned; `Ok(None)` at the current end.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        Ok(self.next_ref()?.map(|r| Record::from(&r)))
    }
}

impl Iterator for Cursor {
    type Item = Result<Record, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Whether `storage` holds a ledger (its identity file exists).
pub fn is_ledger(storage: &dyn Storage) -> bool {
    storage.root_exists() && storage.read_file(META_FILE).is_ok()
}

/// A live segment map read by the commit protocol: a slot's length word is
/// loaded with acquire ordering before any other byte of it is read, so a
/// walk over it never sees a partial record. It exposes no plain bytes.
pub struct LiveSlots<'a>(pub &'a dyn SegmentMap);

impl<'a> SlotSource<'a> for LiveSlots<'a> {
    fn slot(&self, offset: usize, limit: usize) -> std::result::Result<Slot<'a>, RecordDefect> {
        let map = self.0;
        match map.load_u32_acquire(offset) {
            None => Err(RecordDefect::Truncated {
                len: 0,
                available: limit.saturating_sub(offset),
            }),
            Some(0) => Ok(Slot::Empty),
            Some(FOOTER_MARKER) => Ok(Slot::Footer),
            Some(len) => {
                let end = limit.min(map.len());
                let padded = crate::le::align8(len as usize).min(end.saturating_sub(offset));
                let bytes = map
                    .raw(crate::storage::TOKEN, offset, padded)
                    .unwrap_or_default();
                record::decode(bytes, 0, len).map(|r| Slot::Record(RecordRef { offset, ..r }))
            }
        }
    }

    fn plain(&self) -> Option<&'a [u8]> {
        None
    }
}

/// What [`read_published`] found at an offset.
/// What [`read_published`] found at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published<'a> {
    /// No record is published here (yet).
    Nothing,
    /// The segment's footer: it is sealed.
    Footer,
    /// A whole record (its CRC holds).
    Record(RecordRef<'a>),
}

/// Reads the slot at `offset` of a live or sealed segment map, following
/// the commit protocol (acquire-load the length word, then read): it never
/// returns a partial record. Used by secondary indexes that walk segments
/// themselves.
pub fn read_published(
    map: &dyn SegmentMap,
    offset: usize,
) -> std::result::Result<Published<'_>, record::RecordDefect> {
    match LiveSlots(map).slot(offset, map.len()) {
        Ok(Slot::Empty) => Ok(Published::Nothing),
        Ok(Slot::Footer) => Ok(Published::Footer),
        Ok(Slot::Record(r)) => Ok(Published::Record(r)),
        Err(RecordDefect::Truncated { len: 0, .. }) => Ok(Published::Nothing),
        Err(d) => Err(d),
    }
}
