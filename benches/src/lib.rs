//! # ledger-benches
//!
//! Benchmarks of the `ledger-core` storage engine and its trading domain,
//! each beside the bare baseline of the same work; the alternatives a user
//! would otherwise build (SQLite, a JSON-lines journal, an existing event
//! store) doing the same work in the same run ([`baselines`]); a per-append
//! latency tool and a one-command comparison. Nothing here is published;
//! the crate exists to measure the targets in the design's "Performance it
//! must reach" (and issue 7) on the machine it runs on.
//!
//! Every ledger, database and journal lives in a temporary folder under the
//! system temporary directory (`$TMPDIR`, by default `/tmp`, on the real
//! disk), removed when the benchmark ends.
//!
//! ## `benches/append.rs`: the hot path
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p ledger-benches --bench append
//! ```
//!
//! Criterion reports time per append and appends per second
//! (`Throughput::Elements`).
//!
//! | group | what it measures |
//! | --- | --- |
//! | `append/no_sync/{64,200,1024}B` | one [`Writer::append`] with [`Durability::NoSync`] |
//! | `append/group_commit/{64,200,1024}B` | the same with group commit every 2 ms (the flusher thread runs beside the writer) |
//! | `append/sync_every_append/200B` | the same with a flush (msync) in every append: slow, few samples |
//! | `append/no_sync_fresh_segment/200B` | appends into the first segment of a newly created ledger, which the engine does not pre-fault |
//! | `append_batch/{no_sync,sync_every_append}/100x200B` | [`Writer::append_batch`] of 100 records |
//! | `shared_writer/no_sync_200B/threads/{1,2,4}` | [`SharedWriter::append`] from 1, 2 and 4 threads: total appends per second under contention |
//! | `append_rotation/no_sync_4MiB/200B` | appends with 4 MiB segments, so that sealing and rotation (one every ~15,800 records) are included |
//! | `baseline/chain_link/*` | [`ledger_core::chain::link`] alone over the same record bytes: the floor of this design |
//! | `baseline/encode_record/*` | encoding a record (layout, chain hash, CRC) into a buffer, without storing it |
//! | `baseline/mmap_copy/*` | copying the same encoded bytes into an already-touched memory-mapped file, no hashing |
//!
//! Except for the two groups named for it, the writer appends into a
//! pre-faulted 256 MiB segment ([`WarmLedger`]) and the ledger is recreated,
//! outside the measured time, before a segment would fill, so neither page
//! faults on fresh pages nor rotation are in those figures. The writer
//! benchmarks use criterion's flat sampling and `iter_custom`; see
//! [`first_ledger`] for why the first ledger is made before the benchmark.
//!
//! ## `benches/verify_open.rs`: whole-ledger work
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p ledger-benches --bench verify_open
//! ```
//!
//! | group | what it measures |
//! | --- | --- |
//! | `verify/{1_thread,all_cores}` | [`ledger_core::verify_dir`] of a ledger of ~200,000 records of 200 bytes in 7 segments of ~7.2 MiB (sized so that the last, active one is full too), in bytes per second of `VerifyReport::bytes` |
//! | `verify/blake3_baseline` | `blake3::hash` over the same files' bytes in one call per file: the large-buffer hashing rate |
//! | `read/cursor_next_ref` | reading every record of that ledger with a [`Cursor`](ledger_core::Cursor) (`next_ref`), in records per second |
//! | `open/segments/{1,2,65}` | [`Writer::open`] of ledgers of 4 MiB segments with 0, 1 and 64 sealed segments and the same active segment (10,000 records): open must not depend on the ledger's size (it checks the last sealed segment and re-hashes the active one) |
//!
//! ## `src/bin/latency.rs`: the latency distribution
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo run --release -p ledger-benches --bin latency -- [--appends N]
//! ```
//!
//! Times every append with `std::time::Instant` and prints a markdown table
//! (appends per second, p50, p99, p99.9, p99.99 and max in nanoseconds) for
//! no sync and group commit, back to back, at a steady 500,000 appends per
//! second and in bursts of 1,000; then durable appends per second under
//! group commit with a thread waiting on the latest receipt.
//!
//! ## `benches/baselines.rs`: the alternatives, side by side
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p ledger-benches --bench baselines
//! ```
//!
//! The same 200-byte events ([`payload`]), stamped with the current time
//! and hash-chained, in every store; criterion reports events per second
//! (`Throughput::Elements`). Batches are [`baselines::BATCH`] (1,000)
//! events. Each database or journal is replaced (outside the measured
//! time) after a million events, so none grows without bound.
//!
//! | group | what it measures |
//! | --- | --- |
//! | `limit/blake3_chain` | the bare chain hash over the ledger's own record bytes: the limit of this design |
//! | `limit/mmap_copy` | copying those bytes into a touched memory map, no hash |
//! | `ledger/{no_sync,group_commit}` | one [`Writer::append`] in a pre-faulted segment ([`WarmLedger`]) |
//! | `ledger/batch_1000/no_sync` | [`Writer::append_batch`] of 1,000 |
//! | `jsonl_sha256/flush_per_batch_1000` | [`baselines::JsonlJournal`]: a JSON line per event (base64 payload, SHA-256 chain), `BufWriter`, flushed per batch |
//! | `jsonl_sha256/flush_per_event` | the same, flushed after every line |
//! | `sqlite_wal/normal/commit_per_event` | [`baselines::SqliteChain`]: WAL, `synchronous=NORMAL`, one prepared `INSERT` per event, each row carrying the chain hash, autocommit |
//! | `sqlite_wal/normal/batch_1000` | the same, 1,000 inserts per transaction |
//! | `sqlite_wal/full/commit_per_event` | `synchronous=FULL`, a commit (and WAL sync) per event: the durable alternative to group commit |
//! | `batpak/{append,batch_1000}` | [`baselines::BatpakStore`]: batpak 0.10 with its default configuration, `Store::append` per event and `Store::append_batch` |
//!
//! ## `benches/domain.rs`: projections, snapshots, indexes, export
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p ledger-benches --bench domain
//! ```
//!
//! Runs over one ledger of 200,000 events from
//! [`sim::Generator`](ledger_tools::sim::Generator), appended
//! through a validating `TradingLedger` into 4 MiB segments, with a
//! projection snapshot taken 2,000 events before the end, built once per
//! run (about 20,000 and 200 in criterion's `--test` mode, so the smoke
//! run stays quick).
//!
//! | group | what it measures |
//! | --- | --- |
//! | `projection/rebuild` | [`replay`](ledger_domain::replay()) of the whole ledger, in events per second |
//! | `projection/open/snapshot_tail_2000` | `TradingLedger::open_with_snapshots`: load the snapshot (authenticated with the key it was written with), fold the 2,000 events after it |
//! | `projection/open/no_snapshot` | `TradingLedger::open` (which never reads snapshots) on the same files without the snapshot: fold every event |
//! | `index/query/{trades_1pct,one_symbol}` | `LedgerIndex::query` (index files built beforehand, `TradingKeys`) for trades whose events are about 1 % of the ledger, and for the most frequent symbol, each hit decoded (`EventHit::decode`); throughput in matches per second |
//! | `index/scan/{trades_1pct,one_symbol}` | `LedgerIndex::scan`: the same queries by decoding every record (to ask it its keys) |
//! | `index/get/random_seq` | `LedgerIndex::get` of a random sequence |
//! | `export/json_lines/{query_all,cursor}` | every event as a JSON line (`serde_json::to_writer`) into `io::sink()`, through the index's query of everything and straight from a cursor |
//!
//! ## `src/bin/compare.rs`: one table, every ratio
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo run --release -p ledger-benches --bin compare -- [--events N]
//! ```
//!
//! Runs the workloads of `benches/baselines.rs` once each (the ledger in
//! its default 64 MiB segments, rotations included; `N` = 4,000,000 events
//! for the fast modes, fewer for the slow ones), plus the ledger syncing
//! every append and the ledger appending inside one 256 MiB segment (no
//! rotation, to show what sealing costs), and prints a markdown table:
//! events per second, durable events per second, per-event latency (p50,
//! p99, p99.9, max, calls over 100 µs), bytes on disk per event, the
//! ledger's append rate over each row's, and what an appended event
//! survives; then every target of issue 7 and the design with its measured
//! ratio and whether it is met, and the machine. About a minute
//! on a 2-core machine.
//!
//! ## Running
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo bench -p ledger-benches
//! ```
//!
//! runs every benchmark file (about ten minutes on a 2-core machine, plus
//! the build); run nothing else meanwhile, the machine has few cores. With
//! `-- --test` every benchmark runs once, as a smoke test (what CI runs);
//! with `-- NAME` only the benchmarks whose id contains `NAME` (the setup
//! of every group in the file still runs). Criterion keeps its reports in
//! `$CARGO_TARGET_DIR/criterion/` (the median of each is in
//! `<id>/new/estimates.json`).

use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, SamplingMode};
use ledger_core::segment::footer::FOOTER_LEN;
use ledger_core::segment::header::HEADER_LEN;
use ledger_core::segment::record;
use ledger_core::{
    Durability, Entry, Kind, SchemaVersion, Writer, WriterOptions, MIN_SEGMENT_SIZE,
};
use tempfile::TempDir;

pub use ledger_core::SharedWriter;

pub mod baselines;

/// The typical event size of the design (bytes of payload).
pub const TYPICAL_PAYLOAD: usize = 200;
/// Payload sizes the append benchmarks cover.
pub const PAYLOAD_SIZES: [usize; 3] = [64, TYPICAL_PAYLOAD, 1024];
/// Segment size of the append benchmarks: large, so rotation stays out of them.
pub const BENCH_SEGMENT_SIZE: u64 = 256 << 20;
/// Segment size of the benchmark that includes rotation.
pub const ROTATION_SEGMENT_SIZE: u64 = 4 << 20;
/// Group commit interval used throughout.
pub const GROUP_COMMIT_INTERVAL: Duration = Duration::from_millis(2);

/// The error type of the helpers.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Group commit with [`GROUP_COMMIT_INTERVAL`].
pub fn group_commit() -> Durability {
    Durability::GroupCommit {
        interval: GROUP_COMMIT_INTERVAL,
    }
}

/// A short name for a durability mode (benchmark ids, table rows).
pub fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::NoSync => "no_sync",
        Durability::GroupCommit { .. } => "group_commit",
        Durability::SyncEveryAppend => "sync_every_append",
    }
}

/// Sets a criterion group to flat sampling with `samples` samples, `warm_up`
/// of warm-up and `measure` of measurement.
pub fn pace<M: Measurement>(
    g: &mut BenchmarkGroup<'_, M>,
    samples: usize,
    warm_up: Duration,
    measure: Duration,
) {
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(samples)
        .warm_up_time(warm_up)
        .measurement_time(measure);
}

/// Parses the command line of a tool whose only option is `flag N` (a
/// count of at least 1, `_` allowed as a separator; `default` without it);
/// `-h`/`--help` prints `usage: program [flag N]` and exits.
pub fn count_arg(program: &str, flag: &str, default: u64) -> Result<u64, BoxError> {
    let mut count = default;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            f if f == flag => {
                let v = args
                    .next()
                    .ok_or_else(|| format!("{flag} needs a number"))?;
                count = v
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("{flag} {v:?}: {e}"))?;
                if count == 0 {
                    return Err(format!("{flag} must be at least 1").into());
                }
            }
            "-h" | "--help" => {
                println!("usage: {program} [{flag} N]   (default {default})");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(count)
}

/// A deterministic payload of `len` bytes that looks like a serialised
/// event: mostly small numbers and short strings, not all zeros (which
/// would flatter nothing here, but keeps the bytes honest).
pub fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    (0..len)
        .map(|i| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 4 == 0 {
                b'a' + (x % 26) as u8
            } else {
                (x >> 56) as u8
            }
        })
        .collect()
}

/// The entry every benchmark appends: kind 1, schema version 1, stamped
/// with the time of the append (as the engine does by default).
pub fn entry(payload: &[u8]) -> Entry<'_> {
    Entry::new(Kind::new(1), SchemaVersion::new(1), payload)
}

/// Bytes one record with `payload_len` bytes of payload occupies on disk.
pub fn record_size(payload_len: usize) -> usize {
    record::padded_size(payload_len)
}

/// How many records with `payload_len` bytes of payload fit in one segment
/// of `segment_size` bytes before the writer rotates.
pub fn records_per_segment(segment_size: u64, payload_len: usize) -> u64 {
    let usable = (segment_size as usize).saturating_sub(HEADER_LEN + FOOTER_LEN);
    (usable / record_size(payload_len)) as u64
}

/// A fresh temporary folder for one ledger, under the system temporary
/// directory (on the real disk).
pub fn temp_dir() -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("ledger-bench-")
        .tempdir_in(std::env::temp_dir())
}

/// Waits until no `ledger-prealloc` thread of this process is running, so
/// that pre-faulting the next segment does not compete with a measurement
/// for the CPU. Gives up after `limit`. Linux only (elsewhere it returns at
/// once).
pub fn wait_for_preallocation(limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit && preallocation_running() {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Gives the kernel's background work after creating and removing large
/// files (journal commits, extent conversion, freeing pages) a moment to
/// finish before a measurement, on a machine with few cores.
fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}

fn preallocation_running() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("comm"))
            .is_ok_and(|name| name.trim_end() == "ledger-prealloc")
    })
}

/// A writer in a temporary ledger whose active segment was pre-faulted by
/// the engine's own background preallocation, as in a long-running writer.
///
/// The engine pre-faults only the segments *after* the first one, so the
/// ledger is created with a tiny first segment, reopened with the wanted
/// options, and filled until it rotates into the pre-faulted second segment.
pub struct WarmLedger {
    /// The writer, positioned at the start of a pre-faulted, empty segment.
    pub writer: Writer,
    /// Records of the benchmark's payload size still fitting in the active segment.
    pub room: u64,
    payload_len: usize,
    // Dropped after the writer (field order).
    dir: TempDir,
}

impl WarmLedger {
    /// Creates one; `opts.segment_size` should be at least 64 KiB.
    pub fn new(opts: WriterOptions, payload_len: usize) -> Result<Self, BoxError> {
        let dir = temp_dir()?;
        let tiny = opts
            .clone()
            .segment_size(MIN_SEGMENT_SIZE)
            .preallocate(false)
            .durability(Durability::NoSync);
        Writer::create(dir.path(), tiny)?.close()?;
        let mut writer = Writer::open(dir.path(), opts.clone().preallocate(true))?;
        let filler = payload(64);
        while writer.active_ordinal().get() == 0 {
            let _ = writer.append(&entry(&filler))?;
        }
        writer.sync()?;
        Ok(Self::settled(dir, writer, &opts, payload_len))
    }

    /// A plain newly created ledger (first segment not pre-faulted).
    pub fn fresh(opts: WriterOptions, payload_len: usize) -> Result<Self, BoxError> {
        let dir = temp_dir()?;
        let writer = Writer::create(dir.path(), opts.clone())?;
        Ok(Self::settled(dir, writer, &opts, payload_len))
    }

    /// Waits for the background work of creating the ledger, then wraps it
    /// with the room of an empty active segment of `opts.segment_size`.
    fn settled(dir: TempDir, writer: Writer, opts: &WriterOptions, payload_len: usize) -> Self {
        wait_for_preallocation(Duration::from_secs(10));
        settle();
        WarmLedger {
            room: records_per_segment(opts.segment_size, payload_len).saturating_sub(1),
            writer,
            payload_len,
            dir,
        }
    }

    /// The ledger's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The payload size `room` is counted in.
    pub fn payload_len(&self) -> usize {
        self.payload_len
    }
}

/// A ledger that knows how many more records fit before it rotates.
pub trait Room {
    /// Records of the benchmark's payload size still fitting in the active segment.
    fn room(&mut self) -> &mut u64;
}

impl Room for WarmLedger {
    fn room(&mut self) -> &mut u64 {
        &mut self.room
    }
}

/// A [`WarmLedger`] whose writer is shared by threads.
pub struct SharedLedger {
    /// The shared writer.
    pub shared: SharedWriter,
    /// As [`WarmLedger::room`].
    pub room: u64,
    _dir: TempDir,
}

impl Room for SharedLedger {
    fn room(&mut self) -> &mut u64 {
        &mut self.room
    }
}

impl WarmLedger {
    /// Hands the writer to a [`SharedWriter`].
    pub fn into_shared(self) -> SharedLedger {
        SharedLedger {
            shared: SharedWriter::new(self.writer),
            room: self.room,
            _dir: self.dir,
        }
    }
}

/// Runs `n` measured steps in chunks that fit in a ledger's active segment,
/// replacing the ledger (outside the measured time) whenever it is full.
/// `step(ledger, k)` appends exactly `per_step` records `k` times and
/// returns the time it measured. Returns the summed measured time.
pub fn timed_in_room<L: Room>(
    ledger: &mut Option<L>,
    mut make: impl FnMut() -> Result<L, BoxError>,
    n: u64,
    per_step: u64,
    mut step: impl FnMut(&mut L, u64) -> Duration,
) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = n;
    while left > 0 {
        let room = ledger.as_mut().map_or(0, |l| *l.room() / per_step);
        if room == 0 {
            // Drop the old one first: its memory and files go before the next.
            *ledger = None;
            match make() {
                Ok(l) => *ledger = Some(l),
                Err(e) => panic!("creating a benchmark ledger: {e}"),
            }
            continue;
        }
        let Some(l) = ledger.as_mut() else { continue };
        let k = left.min(room);
        elapsed += step(l, k);
        *l.room() -= k * per_step;
        left -= k;
    }
    elapsed
}

/// Creates the first ledger of a benchmark ahead of time.
///
/// Criterion's warm-up times `iter_custom` by the wall clock, not by the
/// returned duration, so a ledger created inside the first call would make
/// it believe one iteration takes a second and run one append per sample.
pub fn first_ledger<L>(make: impl FnOnce() -> Result<L, BoxError>) -> Option<L> {
    match make() {
        Ok(l) => Some(l),
        Err(e) => panic!("creating a benchmark ledger: {e}"),
    }
}

/// Times `f`.
pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Builds a ledger of `records` records of `payload_len` bytes with
/// `segment_size` segments in `dir`, and closes it.
pub fn build_ledger(
    dir: &Path,
    segment_size: u64,
    payload_len: usize,
    records: u64,
) -> Result<(), BoxError> {
    let opts = WriterOptions::default()
        .segment_size(segment_size)
        .durability(Durability::NoSync);
    let mut w = Writer::create(dir, opts)?;
    let p = payload(payload_len);
    let batch: Vec<Entry<'_>> = (0..1000).map(|_| entry(&p)).collect();
    let mut left = records;
    while left > 0 {
        let k = left.min(batch.len() as u64) as usize;
        let _ = w.append_batch(&batch[..k])?;
        left -= k as u64;
    }
    w.close()?;
    Ok(())
}

/// The number of cores and the CPU model, from `/proc/cpuinfo`.
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let mhz = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("cpu MHz").and_then(|r| r.split_once(':')))
        .map(|(_, m)| format!(", {} MHz", m.trim()))
        .unwrap_or_default();
    format!("{cores} cores (nproc), {model}{mhz}")
}

/// The baseline of storing a record without the engine: copying bytes into
/// a memory-mapped file whose pages were all touched beforehand.
pub struct MmapCopy {
    map: memmap2::MmapMut,
    pos: usize,
    _dir: TempDir,
}

impl MmapCopy {
    /// Maps a new file of `len` bytes in a temporary folder and touches
    /// every page.
    pub fn new(len: usize) -> io::Result<Self> {
        let dir = temp_dir()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.path().join("baseline.map"))?;
        file.set_len(len as u64)?;
        let mut map = map_file(&file)?;
        for page in map.chunks_mut(4096) {
            page[0] = 1;
        }
        map.fill(0);
        Ok(MmapCopy {
            map,
            pos: 0,
            _dir: dir,
        })
    }

    /// Copies `bytes` after the previous copy, wrapping around at the end.
    #[inline]
    pub fn copy(&mut self, bytes: &[u8]) {
        if self.pos + bytes.len() > self.map.len() {
            self.pos = 0;
        }
        let end = self.pos + bytes.len();
        if let Some(dst) = self.map.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }
}

#[allow(unsafe_code)]
fn map_file(file: &std::fs::File) -> io::Result<memmap2::MmapMut> {
    // SAFETY: the file was just created with `create_new` in a private
    // temporary folder that only this process knows of; nothing truncates or
    // writes it while the map lives (the map owns the only use of it).
    unsafe { memmap2::MmapMut::map_mut(file) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_per_segment_matches_the_engine() {
        let opts = WriterOptions::default()
            .segment_size(64 << 10)
            .durability(Durability::NoSync)
            .preallocate(false);
        let dir = temp_dir().unwrap();
        let mut w = Writer::create(dir.path(), opts).unwrap();
        let p = payload(TYPICAL_PAYLOAD);
        let mut n = 0;
        while w.active_ordinal().get() == 0 {
            let _ = w.append(&entry(&p)).unwrap();
            n += 1;
        }
        // The record that rotated went into segment 1.
        assert_eq!(n - 1, records_per_segment(64 << 10, TYPICAL_PAYLOAD));
    }

    #[test]
    fn warm_ledger_starts_in_an_empty_second_segment() {
        let l = WarmLedger::new(
            WriterOptions::default()
                .segment_size(1 << 20)
                .durability(Durability::NoSync),
            TYPICAL_PAYLOAD,
        )
        .unwrap();
        assert_eq!(l.writer.active_ordinal().get(), 1);
        assert!(l.room > 3000);
    }

    #[test]
    fn mmap_copy_wraps() {
        let mut m = MmapCopy::new(8192).unwrap();
        for _ in 0..100 {
            m.copy(&[7u8; 264]);
        }
        assert!(m.pos <= 8192);
    }
}
