//! The active segment and the two transitions of its life: creation (from a
//! preallocated file) and sealing (footer, flush, trim, rename to its
//! content address).

use std::sync::Arc;

use crate::error::{Error, IoContext, Result};
use crate::layout::SealedFile;
use crate::segment::footer::{SegmentFooter, FOOTER_LEN};
use crate::segment::header::{
    check_watermark, SegmentHeader, HEADER_LEN, WATERMARK_AT, WATERMARK_NOT_AT,
};
use crate::segment::names::SegmentName;
use crate::segment::record::FOOTER_MARKER;
use crate::storage::TOKEN;
use crate::storage::{SegmentMap, Storage};
use crate::types::{ContentHash, SegmentOrdinal, Seq, Timestamp};

/// The segment the writer appends to.
pub(crate) struct ActiveSegment {
    pub name: String,
    pub map: Arc<dyn SegmentMap>,
    pub header: SegmentHeader,
    /// Offset where the next record goes.
    pub pos: usize,
    /// Records in the segment.
    pub count: u64,
    /// The first record's timestamp.
    pub first_ts: Option<Timestamp>,
}

/// Writes the durable watermark into a live header (complement first).
pub(crate) fn store_watermark(map: &dyn SegmentMap, value: u64) {
    map.store_u64_release(TOKEN, WATERMARK_NOT_AT, !value);
    map.store_u64_release(TOKEN, WATERMARK_AT, value);
}

/// Reads the watermark of a live header; `None` if damaged.
pub(crate) fn load_watermark(map: &dyn SegmentMap) -> Option<u64> {
    let v = map.load_u64_acquire(WATERMARK_AT)?;
    let c = map.load_u64_acquire(WATERMARK_NOT_AT)?;
    check_watermark(v, c).ok()
}

/// Creates the active segment `header.ordinal`, using `prepared` (the
/// preallocated file of that ordinal) when given: the header is written and
/// flushed before the file is renamed to its active name, and the folder is
/// synced, so the segment has a durable header and name (opening, recovery).
pub(crate) fn create_active(
    storage: &dyn Storage,
    header: SegmentHeader,
    prepared: Option<Arc<dyn SegmentMap>>,
) -> Result<ActiveSegment> {
    let pre_name = SegmentName::Prealloc(header.ordinal).to_string();
    let map = prepared_or_new(storage, &header, prepared)?;
    map.write(TOKEN, 0, &header.encode());
    map.flush(TOKEN, 0, HEADER_LEN)
        .ctx("flush header of", storage.path_of(&pre_name))?;
    let seg = name_active(storage, header, map)?;
    storage.sync_dir().ctx("sync", storage.path_of(""))?;
    Ok(seg)
}

/// Starts the next segment at rotation, on the writer's thread: the header
/// is written into `prepared` (or a new file) and the file renamed to its
/// active name; nothing is flushed. The sealer thread flushes the header and
/// syncs the folder before any record of this segment is called durable
/// (see [`super::sealer`]).
pub(crate) fn start_next(
    storage: &dyn Storage,
    header: SegmentHeader,
    prepared: Option<Arc<dyn SegmentMap>>,
) -> Result<ActiveSegment> {
    let map = prepared_or_new(storage, &header, prepared)?;
    map.write(TOKEN, 0, &header.encode());
    name_active(storage, header, map)
}

/// The preallocated file of `header.ordinal`, if it has the right size, or
/// a new one.
fn prepared_or_new(
    storage: &dyn Storage,
    header: &SegmentHeader,
    prepared: Option<Arc<dyn SegmentMap>>,
) -> Result<Arc<dyn SegmentMap>> {
    let pre_name = SegmentName::Prealloc(header.ordinal).to_string();
    Ok(match prepared {
        Some(m) if m.len() as u64 == header.capacity => m,
        _ => {
            let _ = storage.remove(&pre_name);
            storage
                .create_segment(TOKEN, &pre_name, header.capacity)
                .ctx("create", storage.path_of(&pre_name))?
        }
    })
}

/// Renames the `.prealloc` file holding `header` to its active name.
fn name_active(
    storage: &dyn Storage,
    header: SegmentHeader,
    map: Arc<dyn SegmentMap>,
) -> Result<ActiveSegment> {
    let pre_name = SegmentName::Prealloc(header.ordinal).to_string();
    let name = SegmentName::Active(header.ordinal).to_string();
    storage
        .rename(&pre_name, &name)
        .ctx("rename", storage.path_of(&pre_name))?;
    Ok(ActiveSegment {
        name,
        map,
        header,
        pos: HEADER_LEN,
        count: 0,
        first_ts: None,
    })
}

/// The next segment's file, prepared ahead of need on a background thread:
/// created (all blocks allocated) at the normal background priority, then
/// pre-faulted page range by page range in the idle class, so that it never
/// takes the writer's core. The writer takes the file at rotation without
/// waiting for the pre-faulting ([`Prepared::take`]).
pub(crate) struct Prepared {
    slot: Arc<parking_lot::Mutex<Option<Arc<dyn SegmentMap>>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl Prepared {
    /// Starts preparing the file of segment `ordinal`; `None` if no thread
    /// could be started (the writer then creates the file at rotation).
    pub(crate) fn start(
        storage: Arc<dyn Storage>,
        ordinal: SegmentOrdinal,
        capacity: u64,
    ) -> Option<Prepared> {
        use std::sync::atomic::Ordering;
        let slot: Arc<parking_lot::Mutex<Option<Arc<dyn SegmentMap>>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (slot2, stop2) = (Arc::clone(&slot), Arc::clone(&stop));
        let handle = std::thread::Builder::new()
            .name("ledger-prealloc".into())
            .spawn(move || {
                let _ = crate::storage::background_thread();
                let name = SegmentName::Prealloc(ordinal).to_string();
                let _ = storage.remove(&name);
                let Ok(map) = storage.create_segment(TOKEN, &name, capacity) else {
                    return;
                };
                *slot2.lock() = Some(Arc::clone(&map));
                // Pre-faulting is best effort (a kernel without
                // MADV_POPULATE_WRITE just faults later) and idle work.
                let _ = crate::storage::idle_thread();
                const CHUNK: usize = 1 << 20;
                let mut at = 0;
                while at < map.len() && !stop2.load(Ordering::Relaxed) {
                    if map.populate_range(TOKEN, at, CHUNK).is_err() {
                        break;
                    }
                    at += CHUNK;
                }
            })
            .ok()?;
        Some(Prepared { slot, stop, handle })
    }

    /// The file, if it was created: pre-faulting stops (the pages it did
    /// not reach fault on first write). Waits only if the file is not
    /// created yet (the creating part runs at the normal background
    /// priority). Returns the thread for whoever may wait for it later.
    pub(crate) fn take(self) -> (Option<Arc<dyn SegmentMap>>, std::thread::JoinHandle<()>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let taken = self.slot.lock().take();
        match taken {
            Some(map) => (Some(map), self.handle),
            None => {
                // Not created yet (or creation failed): wait for the thread,
                // which stops before pre-faulting, and look again.
                let handle = self.handle;
                while !handle.is_finished() && self.slot.lock().is_none() {
                    std::thread::yield_now();
                }
                let map = self.slot.lock().take();
                (map, handle)
            }
        }
    }
}

/// Writes the footer after the last record of a full segment (the writer's
/// part of sealing: a copy into the map, marker last). Returns the end of
/// the footer, where the sealed file will end.
pub(crate) fn write_footer(
    seg: &ActiveSegment,
    last_seq: Seq,
    last_hash: crate::types::ChainHash,
    last_ts: Timestamp,
) -> usize {
    let footer = SegmentFooter {
        count: seg.count,
        first_seq: seg.header.first_seq,
        last_seq,
        first_ts: seg.first_ts.unwrap_or(last_ts),
        last_ts,
        last_hash,
        offset: seg.pos as u64,
    };
    let bytes = footer.encode();
    seg.map.write(TOKEN, seg.pos + 4, &bytes[4..]);
    seg.map.store_u32_release(TOKEN, seg.pos, FOOTER_MARKER);
    seg.pos + FOOTER_LEN
}

/// The steps of sealing after the footer is in place: [`make_durable`],
/// then [`address_and_rename`]. Recovery re-runs this for a segment whose
/// seal a crash interrupted; every step is idempotent.
pub(crate) fn finish_seal(
    storage: &dyn Storage,
    name: &str,
    ordinal: SegmentOrdinal,
    map: &dyn SegmentMap,
    end: usize,
) -> Result<SealedFile> {
    make_durable(storage, name, map, end)?;
    address_and_rename(storage, name, ordinal, map, end)
}

/// Makes a full segment's records and footer durable: flush them, *then*
/// raise the watermark to the footer and flush the header (the watermark
/// never claims bytes that are not yet durable).
pub(crate) fn make_durable(
    storage: &dyn Storage,
    name: &str,
    map: &dyn SegmentMap,
    end: usize,
) -> Result<()> {
    let path = storage.path_of(name);
    let end_in_map = end.min(map.len());
    map.flush(TOKEN, HEADER_LEN, end_in_map.saturating_sub(HEADER_LEN))
        .ctx("flush", path.clone())?;
    let footer_at = (end - FOOTER_LEN) as u64;
    if load_watermark(map) != Some(footer_at) {
        store_watermark(map, footer_at);
    }
    map.flush(TOKEN, 0, HEADER_LEN)
        .ctx("flush header of", path)?;
    Ok(())
}

/// The last steps of sealing a durable full segment: hash its bytes, trim
/// the file to `end`, rename it to its content address, sync the folder.
pub(crate) fn address_and_rename(
    storage: &dyn Storage,
    name: &str,
    ordinal: SegmentOrdinal,
    map: &dyn SegmentMap,
    end: usize,
) -> Result<SealedFile> {
    let path = storage.path_of(name);
    let data = map.raw(TOKEN, 0, end).ok_or_else(|| Error::Corrupt {
        segment: name.to_owned(),
        offset: map.len() as u64,
        seq: None,
        defect: crate::error::Defect::finding(
            crate::finding::FindingKind::Footer,
            format!("the file ends before the footer's end at {end}"),
        ),
    })?;
    let address = ContentHash::of(data);
    storage
        .truncate(TOKEN, name, end as u64)
        .ctx("trim", path.clone())?;
    let sealed_name = SegmentName::Sealed(ordinal, address).to_string();
    storage.rename(name, &sealed_name).ctx("rename", path)?;
    storage.sync_dir().ctx("sync", storage.path_of(""))?;
    Ok(SealedFile {
        ordinal,
        address,
        name: sealed_name,
    })
}
