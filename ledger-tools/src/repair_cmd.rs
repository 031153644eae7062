//! `ledger repair`: for a ledger whose committed data is damaged (the
//! writer refuses to open it, or verification finds damage).
//!
//! Without `--truncate-after` it changes nothing: it verifies the ledger,
//! lists every finding, names the last good record (the last one before the
//! first damage, in chain order) and shows exactly what a cut after it
//! would remove: which segment files, which records, how many bytes.
//!
//! With `--truncate-after SEQ` (SEQ at most the last good record) it cuts
//! the ledger there, holding the writer's lock:
//!
//! 1. a folder `repair-<UTC time>/` is made inside the ledger folder;
//! 2. the segment `K` that holds record SEQ is rebuilt as an active segment
//!    in that folder: its header unchanged but for the durable watermark
//!    (set to the end of record SEQ), its records up to SEQ byte for byte,
//!    zeros up to its capacity, but never past the length of the file it
//!    replaces (a forged header could claim any capacity; one beyond the
//!    largest segment the format allows is refused); written and fsynced;
//! 3. every segment file after `K` (and their index files, projection
//!    snapshots past SEQ, preallocated files), then segment `K`'s own file as
//!    it was, are *moved* into the repair folder, highest ordinal first, so
//!    every byte the cut removes is kept there;
//! 4. the rebuilt segment is moved into the ledger as `K.active`, both
//!    folders are fsynced, and the ledger is verified.
//!
//! The repair folder also gets `REPAIR.txt`, saying what was moved and why.
//! A crash part way leaves every byte in one of the two folders; the worst
//! case (after step 3, before step 4) is a ledger that ends at segment
//! `K - 1`, with segment `K`'s kept records in the repair folder.

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ledger_core::segment::footer::FOOTER_LEN;
use ledger_core::segment::header::{encode_watermark, SegmentHeader, HEADER_LEN, WATERMARK_AT};
use ledger_core::segment::names::SegmentName;
use ledger_core::segment::walk::{readable_records, walk_segment, Expect, Role};
use ledger_core::storage::regular::{open_regular, read_regular};
use ledger_core::storage::{FsStorage, Storage};
use ledger_core::{verify_dir, FindingKind, VerifyOptions, VerifyReport};
use ledger_core::{Seq, MAX_SEGMENT_SIZE};

use crate::cli::RepairArgs;
use crate::error::{io_err, ToolError};
use crate::exit::Exit;
use crate::human::bytes as human_bytes;

/// A segment file found in the folder.
#[derive(Debug, Clone)]
struct SegFile {
    name: String,
    kind: SegmentName,
    len: u64,
}

/// One file's part in a cut.
#[derive(Debug, Clone)]
struct Loss {
    name: String,
    /// Whole file dropped, or cut from `offset` on.
    cut_from: Option<u64>,
    /// Bytes removed.
    bytes: u64,
    /// Sequence range removed, as far as it can be read.
    first: Option<u64>,
    last: Option<u64>,
}

/// What a cut after `seq` keeps and removes.
#[derive(Debug, Clone)]
struct Plan {
    seq: u64,
    /// The segment that is cut (becomes the active one).
    cut: SegFile,
    /// Its header (kept as is but for the watermark).
    header: SegmentHeader,
    /// Offset after record `seq` in it.
    keep_end: u64,
    /// The files after it, in ordinal order.
    dropped: Vec<SegFile>,
    losses: Vec<Loss>,
}

fn list_segments(dir: &Path) -> Result<Vec<SegFile>, ToolError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Some(kind) = SegmentName::parse(&name) {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(SegFile { name, kind, len });
        }
    }
    let rank = |k: &SegmentName| match k {
        SegmentName::Sealed(..) => 0,
        SegmentName::Active(_) => 1,
        SegmentName::Prealloc(_) => 2,
    };
    out.sort_by_key(|f| (f.kind.ordinal(), rank(&f.kind)));
    Ok(out)
}

/// A segment file's bytes: only a regular file, at most the largest a
/// segment may be (a FIFO of that name is refused, not waited on).
fn read(dir: &Path, name: &str) -> Result<Vec<u8>, ToolError> {
    let path = dir.join(name);
    read_regular(&path, MAX_SEGMENT_SIZE).map_err(io_err("read", path))
}

/// Works out a cut after `seq`, refusing one that would keep damage.
fn plan(dir: &Path, report: &VerifyReport, seq: u64) -> Result<Plan, ToolError> {
    let refuse = |why: String| Err(ToolError::Refused(why));
    let head = report.head.map_or(0, |h| h.seq.get());
    if seq > head {
        return refuse(format!(
            "cannot keep record {seq}: the last good record is {head} (everything after it follows damage); use --truncate-after {head} or less"
        ));
    }
    if let Some(f) = report.findings.iter().find(|f| f.kind == FindingKind::Meta) {
        return refuse(format!(
            "the identity file is damaged ({f}); repair cannot rebuild it"
        ));
    }
    let segs = list_segments(dir)?;
    // The segment holding record `seq`: the last (non-preallocated) one
    // whose header starts at or before it; segment 0 for `seq` 0.
    let mut cut: Option<(SegFile, SegmentHeader)> = None;
    for f in segs
        .iter()
        .filter(|f| !matches!(f.kind, SegmentName::Prealloc(_)))
    {
        let data = read_head(dir, &f.name)?;
        if let Ok(h) = SegmentHeader::decode(&data) {
            if h.first_seq.get() <= seq.max(1) && (seq > 0 || f.kind.ordinal().get() == 0) {
                cut = Some((f.clone(), h));
            }
        }
    }
    let Some((cut, header)) = cut else {
        return refuse(format!(
            "no segment with a readable header holds record {seq}"
        ));
    };
    // The rebuilt segment is never made larger than the file it replaces
    // (see `rebuilt_len`), but a capacity no writer can have set shows a
    // forged or damaged header: repair does not rebuild from it.
    if header.capacity > MAX_SEGMENT_SIZE {
        return refuse(format!(
            "{}: its header claims a capacity of {} bytes, more than the {} bytes a segment may have \
             (a forged or damaged header); repair does not rebuild a segment from it",
            cut.name, header.capacity, MAX_SEGMENT_SIZE
        ));
    }
    let k = cut.kind.ordinal();
    // The kept segments must be free of damage.
    for f in report.findings.iter().filter(|f| f.kind.is_damage()) {
        if let Some(n) = SegmentName::parse(&f.segment) {
            if n.ordinal() < k {
                return refuse(format!(
                    "segment {} before the cut is damaged ({f}); cut before it",
                    f.segment
                ));
            }
        }
    }
    let data = read(dir, &cut.name)?;
    let survey = Survey::of(&cut.name, &data, Some(Seq::new(seq)));
    let keep_end = if seq + 1 == header.first_seq.get() {
        HEADER_LEN as u64
    } else {
        match survey.target_end {
            Some(e) => e,
            None => {
                return refuse(format!(
                    "record {seq} cannot be read whole in {}; choose an earlier record",
                    cut.name
                ))
            }
        }
    };
    let last_in_cut = survey.last.filter(|&l| l > seq);
    let mut losses = vec![Loss {
        name: cut.name.clone(),
        cut_from: Some(keep_end),
        bytes: cut.len.saturating_sub(keep_end),
        first: last_in_cut.map(|_| seq + 1),
        last: last_in_cut,
    }];
    let dropped: Vec<SegFile> = segs
        .iter()
        .filter(|f| f.kind.ordinal() > k)
        .cloned()
        .collect();
    for f in &dropped {
        let (first, last) = match f.kind {
            SegmentName::Prealloc(_) => (None, None),
            _ => {
                let data = read(dir, &f.name)?;
                let s = Survey::of(&f.name, &data, None);
                (s.first, s.last.filter(|l| s.first.is_none_or(|f| *l >= f)))
            }
        };
        losses.push(Loss {
            name: f.name.clone(),
            cut_from: None,
            bytes: f.len,
            first,
            last,
        });
    }
    Ok(Plan {
        seq,
        cut,
        header,
        keep_end,
        dropped,
        losses,
    })
}

/// What a segment file holds, as far as it can be read: the segment
/// walker's walk (which resynchronises past damage), or, when its header
/// cannot be read, every record whose envelope holds.
struct Survey {
    /// The first sequence: the header's, else the first readable record's.
    first: Option<u64>,
    /// The highest sequence among readable records and the footer.
    last: Option<u64>,
    /// The offset after record `target`, when it was walked.
    target_end: Option<u64>,
}

impl Survey {
    fn of(name: &str, data: &[u8], target: Option<Seq>) -> Survey {
        let expect = Expect {
            role: Role::of_name(name),
            ordinal: None,
            ledger: None,
            check_chain: false,
        };
        let mut first = None;
        let mut last = None;
        let mut target_end = None;
        let mut note = |seq: Seq, end: usize| {
            first.get_or_insert(seq.get());
            last = last.max(Some(seq.get()));
            if Some(seq) == target {
                target_end = Some(end as u64);
            }
        };
        let walk = walk_segment(name, data, &expect, |r, _| {
            note(r.seq, r.offset + r.padded_len())
        });
        if walk.header.is_err() {
            for r in readable_records(data, HEADER_LEN, data.len()) {
                note(r.seq, r.offset + r.padded_len());
            }
        }
        if let Some((_, Ok(f))) = &walk.footer {
            last = last.max(Some(f.last_seq.get()));
        }
        Survey {
            first: walk
                .header
                .as_ref()
                .ok()
                .map(|h| h.first_seq.get())
                .or(first),
            last,
            target_end,
        }
    }
}

fn read_head(dir: &Path, name: &str) -> Result<Vec<u8>, ToolError> {
    use std::io::Read;
    let path = dir.join(name);
    let mut buf = Vec::with_capacity(HEADER_LEN);
    open_regular(&path, fs::OpenOptions::new().read(true))
        .and_then(|f| f.take(HEADER_LEN as u64).read_to_end(&mut buf))
        .map_err(io_err("read", path))?;
    Ok(buf)
}

fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    let seq = plan.seq;
    let _ = writeln!(
        s,
        "a cut after sequence {seq} keeps records 1..={seq} and removes:"
    );
    let mut last_known = None;
    for l in &plan.losses {
        let range = match (l.first, l.last) {
            (Some(a), Some(b)) if b >= a => format!("records {a}..={b} ({})", b - a + 1),
            (Some(a), _) => format!("records from {a} on (the end cannot be read)"),
            _ => "no readable record".into(),
        };
        if let Some(b) = l.last {
            last_known = Some(last_known.map_or(b, |x: u64| x.max(b)));
        }
        match l.cut_from {
            Some(o) => {
                let _ = writeln!(
                    s,
                    "  {}: {range}, {} from offset {o} on; the segment becomes the active segment {:010}.active",
                    l.name,
                    human_bytes(l.bytes),
                    plan.cut.kind.ordinal().get()
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "  {}: {range}, the whole file ({})",
                    l.name,
                    human_bytes(l.bytes)
                );
            }
        }
    }
    match last_known {
        Some(last) if last > seq => {
            let _ = writeln!(
                s,
                "in all: {} record(s), sequences {}..={last} as far as they can be read",
                last - seq,
                seq + 1
            );
        }
        _ => {
            let _ = writeln!(s, "in all: no readable record after {seq}");
        }
    }
    s
}

/// Runs `ledger repair` on `dir`.
pub fn run(dir: &Path, args: &RepairArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let w = ToolError::Output;
    // A cut holds the writer's lock from before the verification on, so
    // no writer can append between what is checked and what is cut.
    let storage = FsStorage::new(dir);
    let lock = match args.truncate_after {
        Some(_) if storage.root_exists() && ledger_core::is_ledger(&storage) => Some(
            storage
                .try_lock()
                .map_err(|error| ledger_core::Error::Io {
                    op: "lock",
                    path: storage.path_of("LOCK"),
                    error,
                })?
                .ok_or_else(|| ledger_core::Error::Locked {
                    path: storage.path_of("LOCK"),
                })?,
        ),
        _ => None,
    };
    let progress = crate::progress::verifying(dir);
    let report = verify_dir(dir, &VerifyOptions::default())?;
    progress.finish();
    let damage: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind.is_damage())
        .collect();
    for f in &report.findings {
        writeln!(out, "{f}").map_err(w)?;
    }
    if damage.is_empty() {
        writeln!(
            out,
            "the ledger in {} is intact ({} records){}: nothing to repair",
            dir.display(),
            report.records,
            if report.findings.is_empty() {
                ""
            } else {
                "; the torn tail above is cut by the next open"
            }
        )
        .map_err(w)?;
        if let Some(seq) = args.truncate_after {
            return Err(ToolError::Refused(format!(
                "refusing --truncate-after {seq}: the ledger in {} is intact, and repair cuts only a damaged ledger",
                dir.display()
            )));
        }
        return Ok(Exit::Success);
    }
    writeln!(
        out,
        "DAMAGED: {} finding(s) of damage in the ledger in {}",
        damage.len(),
        dir.display()
    )
    .map_err(w)?;
    match report.head {
        Some(h) => writeln!(
            out,
            "the last good record (before the first damage): sequence {}, chain hash {}",
            h.seq, h.chain_hash
        ),
        None => writeln!(out, "no record before the first damage is good"),
    }
    .map_err(w)?;
    let head = report.head.map_or(0, |h| h.seq.get());

    let Some(seq) = args.truncate_after else {
        match plan(dir, &report, head) {
            Ok(p) => {
                write!(out, "{}", describe(&p)).map_err(w)?;
                writeln!(
                    out,
                    "nothing was changed. To cut the ledger there, moving every removed byte into {}/repair-<time>/ first:\n  ledger -d {} repair --truncate-after {head}",
                    dir.display(),
                    dir.display()
                )
                .map_err(w)?;
            }
            Err(e) => writeln!(out, "a cut after {head} is not possible: {e}").map_err(w)?,
        }
        return Ok(Exit::Damage);
    };

    let plan = plan(dir, &report, seq)?;
    write!(out, "{}", describe(&plan)).map_err(w)?;
    let saved = truncate(dir, &plan)?;
    drop(lock);
    writeln!(
        out,
        "cut the ledger after sequence {seq}; every removed byte was moved to {}",
        saved.display()
    )
    .map_err(w)?;
    let after = verify_dir(dir, &VerifyOptions::default())?;
    for f in &after.findings {
        writeln!(out, "{f}").map_err(w)?;
    }
    let intact = after.is_intact();
    writeln!(
        out,
        "verified {} records in {} segments: {}",
        after.records,
        after.segments,
        if intact { "intact" } else { "DAMAGED" }
    )
    .map_err(w)?;
    if let Some(h) = after.head {
        writeln!(out, "head: sequence {}, chain hash {}", h.seq, h.chain_hash).map_err(w)?;
    }
    Ok(if intact { Exit::Success } else { Exit::Damage })
}

/// A new folder `repair-<UTC time>[-n]` inside `dir`.
fn repair_folder(dir: &Path) -> Result<PathBuf, ToolError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    for n in 0..1000 {
        let name = if n == 0 {
            format!("repair-{stamp}")
        } else {
            format!("repair-{stamp}-{n}")
        };
        let path = dir.join(name);
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create", &path)(e)),
        }
    }
    Err(ToolError::Refused(format!(
        "cannot find a free name for a repair folder in {}",
        dir.display()
    )))
}

fn sync_dir(path: &Path) -> Result<(), ToolError> {
    // A folder only, never waiting on a FIFO put in its place.
    ledger_core::storage::regular::sync_dir(path).map_err(io_err("sync", path))
}

/// Derived files that belong to a dropped segment, or describe records
/// past the cut: index files and projection snapshots.
fn derived_past_cut(dir: &Path, plan: &Plan) -> Result<Vec<String>, ToolError> {
    let mut gone: Vec<String> = plan
        .dropped
        .iter()
        .chain([&plan.cut])
        .filter_map(|f| f.name.strip_suffix(".seg").map(|s| format!("{s}.idx")))
        .filter(|n| dir.join(n).is_file())
        .collect();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if let Some(name) = entry.file_name().to_str() {
            let seq = name
                .strip_prefix("snapshot-")
                .and_then(|s| s.strip_suffix(".proj"))
                .and_then(|s| s.parse::<u64>().ok());
            if seq.is_some_and(|s| s > plan.seq) {
                gone.push(name.to_owned());
            }
        }
    }
    Ok(gone)
}

/// The length of the rebuilt segment: the header's `capacity`, but never
/// more than the file it replaces (rounded up to a page: an active segment
/// was preallocated to its capacity, a sealed one cut after its footer) nor
/// than the format allows, and always room for the kept records and a
/// footer. The header is a claim a forger can set to anything; the writer
/// rotates by the file's length, so a segment rebuilt shorter than its
/// header says is simply sealed early.
fn rebuilt_len(capacity: u64, file_len: u64, keep_end: u64) -> u64 {
    let page = HEADER_LEN as u64;
    let need = (keep_end + FOOTER_LEN as u64).div_ceil(page) * page;
    capacity
        .min(file_len.div_ceil(page).saturating_mul(page))
        .min(MAX_SEGMENT_SIZE)
        .max(need)
}

/// Carries out `plan`; returns the repair folder.
fn truncate(dir: &Path, plan: &Plan) -> Result<PathBuf, ToolError> {
    let original = read(dir, &plan.cut.name)?;
    let keep_end = plan.keep_end as usize;
    if keep_end > original.len() {
        return Err(ToolError::Refused(format!(
            "{}: the file ends at {} bytes, before its records up to offset {keep_end}",
            plan.cut.name,
            original.len()
        )));
    }
    let capacity = rebuilt_len(plan.header.capacity, original.len() as u64, plan.keep_end);
    let saved = repair_folder(dir)?;
    let active_name = SegmentName::Active(plan.cut.kind.ordinal()).to_string();

    // 1. The rebuilt segment, in the repair folder.
    let mut kept = original
        .get(..keep_end)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    if let Some(slot) = kept.get_mut(WATERMARK_AT..WATERMARK_AT + 16) {
        slot.copy_from_slice(&encode_watermark(plan.keep_end));
    }
    let rebuilt = saved.join(format!("{active_name}.rebuilt"));
    {
        let mut f = fs::File::create(&rebuilt).map_err(io_err("create", &rebuilt))?;
        f.write_all(&kept)
            .and_then(|()| ledger_core::storage::allocate(&f, capacity))
            .and_then(|()| f.sync_all())
            .map_err(io_err("write", &rebuilt))?;
    }

    // 2. Everything after the cut, then the cut segment as it was, moved
    //    into the repair folder, highest ordinal first.
    let mut moved = Vec::new();
    let mut to_move: Vec<String> = plan.dropped.iter().rev().map(|f| f.name.clone()).collect();
    to_move.push(plan.cut.name.clone());
    to_move.extend(derived_past_cut(dir, plan)?);
    let mut manifest = format!(
        "ledger repair --truncate-after {}\nledger folder: {}\ntime: {}\n\n\
         The ledger was cut after record {}. The files below were moved here from the\n\
         ledger folder, unchanged. {} is the cut segment as it was; the ledger now\n\
         holds its first {} bytes (records up to {}) as {}.\n\nmoved:\n",
        plan.seq,
        dir.display(),
        chrono::Utc::now().to_rfc3339(),
        plan.seq,
        plan.cut.name,
        plan.keep_end,
        plan.seq,
        active_name
    );
    for name in &to_move {
        let from = dir.join(name);
        let to = saved.join(name);
        fs::rename(&from, &to).map_err(io_err("move into the repair folder", &from))?;
        let _ = writeln!(manifest, "  {name}");
        moved.push(name.clone());
    }
    sync_dir(dir)?;

    // 3. The rebuilt segment into the ledger.
    let target = dir.join(&active_name);
    fs::rename(&rebuilt, &target).map_err(io_err("move the rebuilt segment to", &target))?;
    sync_dir(dir)?;
    let manifest_path = saved.join("REPAIR.txt");
    fs::write(&manifest_path, manifest).map_err(io_err("write", &manifest_path))?;
    sync_dir(&saved)?;
    Ok(saved)
}
