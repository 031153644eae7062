//! `ledger inspect SEGMENT`: one segment file on its own: header, durable
//! watermark, footer, the first records, and what is wrong with it, as the
//! engine's segment walker judges it (the same findings `ledger verify`
//! reports). Reads the file whole and never changes it; needs no ledger
//! folder around it. Only a regular file no larger than a segment may be is
//! read: a FIFO, a device (`/dev/zero`) or a directory is refused at once.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::cli::InspectArgs;
use crate::error::{finish, io_err, ToolError};
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, time};
use crate::summary::kind_name;
use crate::times::rfc3339;
use ledger_core::segment::names::SegmentName;
use ledger_core::segment::walk::{walk_segment, Expect, Role, SegmentWalk, Stop};
use ledger_core::storage::regular::read_regular;
use ledger_core::Finding;
use ledger_core::{ChainHash, Kind, SchemaVersion, Seq, Timestamp};

/// A record as listed by `ledger inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// Sequence number.
    pub seq: Seq,
    /// Offset in the file.
    pub offset: u64,
    /// Kind.
    pub kind: Kind,
    /// Schema version.
    pub version: SchemaVersion,
    /// Time.
    pub time: Timestamp,
    /// Payload bytes.
    pub payload_len: u64,
    /// Stored chain hash.
    pub chain_hash: ChainHash,
}

/// One segment file judged by the engine's segment walker, with the first
/// records listed.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// What the file's name says it is, if it is a segment name.
    pub name: Option<SegmentName>,
    /// The walker's judgement.
    pub walk: SegmentWalk,
    /// The first records, as many as asked.
    pub records: Vec<RecordInfo>,
    /// Everything wrong, in file order (for a preallocated file, every
    /// finding is a notice: it never holds committed data).
    pub findings: Vec<Finding>,
}

impl Inspection {
    /// Judges the bytes `data` of a file called `file_name` (its name gives
    /// its role: see [`Role::of_name`]), listing its first `keep` records.
    /// Chain hashes are recomputed from the header's previous hash.
    pub fn of(file_name: &str, data: &[u8], keep: usize) -> Inspection {
        let name = SegmentName::parse(file_name);
        let expect = Expect {
            role: Role::of_name(file_name),
            ordinal: name.as_ref().map(SegmentName::ordinal),
            ledger: None,
            check_chain: true,
        };
        let mut records = Vec::new();
        let walk = walk_segment(file_name, data, &expect, |r, _| {
            if records.len() < keep {
                records.push(RecordInfo {
                    seq: r.seq,
                    offset: r.offset as u64,
                    kind: r.kind,
                    version: r.version,
                    time: r.timestamp,
                    payload_len: r.payload.len() as u64,
                    chain_hash: r.chain_hash,
                });
            }
        });
        let findings = walk.findings.clone();
        Inspection {
            name,
            walk,
            records,
            findings,
        }
    }

    fn prealloc(&self) -> bool {
        matches!(self.name, Some(SegmentName::Prealloc(_)))
    }

    /// Whether a finding counts as damage here.
    pub fn is_damage(&self, f: &Finding) -> bool {
        f.kind.is_damage() && !self.prealloc()
    }

    /// Whether any finding is damage.
    pub fn is_damaged(&self) -> bool {
        self.findings.iter().any(|f| self.is_damage(f))
    }
}

/// Runs `ledger inspect` on the file `args.segment`.
pub fn run(args: &InspectArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let path = &args.segment;
    let data = read_regular(path, ledger_core::MAX_SEGMENT_SIZE).map_err(io_err("read", path))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let check = Inspection::of(&name, &data, args.records);
    let exit = if check.is_damaged() {
        Exit::Damage
    } else {
        Exit::Success
    };
    let written = if args.json {
        writeln!(out, "{:#}", to_json(path, &check))
    } else {
        write_text(path, &check, out)
    };
    finish(exit, written)
}

fn describe_name(n: Option<&SegmentName>) -> String {
    match n {
        Some(SegmentName::Sealed(o, h)) => format!("sealed segment {o}, content address {h}"),
        Some(SegmentName::Active(o)) => format!("active segment {o}"),
        Some(SegmentName::Prealloc(o)) => {
            format!("preallocated segment {o} (holds no data)")
        }
        None => "not a segment file name (judged as an active segment)".into(),
    }
}

fn stop_text(s: &Stop) -> String {
    match s {
        Stop::End { offset } => format!("an empty slot at offset {offset} (the end of the data)"),
        Stop::DataEnd { offset } => format!("the footer's place at offset {offset}"),
        Stop::TornTail { offset, reason } => {
            format!("a torn tail at offset {offset}: {reason}")
        }
        Stop::InterruptedSeal { offset, .. } => {
            format!("the footer of an interrupted seal at offset {offset}")
        }
        Stop::NotWalked => "the header: the records were not walked".into(),
        other => format!("{other:?}"),
    }
}

fn severity(c: &Inspection, f: &Finding) -> &'static str {
    if c.is_damage(f) {
        "damage"
    } else {
        "notice"
    }
}

/// The inspection as one JSON object.
pub fn to_json(path: &Path, c: &Inspection) -> serde_json::Value {
    let (state, ordinal) = match &c.name {
        Some(SegmentName::Sealed(o, _)) => ("sealed", Some(o.get())),
        Some(SegmentName::Active(o)) => ("active", Some(o.get())),
        Some(SegmentName::Prealloc(o)) => ("prealloc", Some(o.get())),
        None => ("unknown", None),
    };
    let w = &c.walk;
    json!({
        "file": path.display().to_string(),
        "bytes": w.file_len,
        "name": { "state": state, "ordinal": ordinal,
                  "content_address": match &c.name { Some(SegmentName::Sealed(_, h)) => Some(h.to_hex()), _ => None },
                  "actual_address": w.actual_address.map(|h| h.to_hex()) },
        "header": match &w.header {
            Ok(h) => json!({
                "format_version": h.version as u16,
                "ledger_id": h.ledger_id.to_hex(),
                "ordinal": h.ordinal.get(),
                "first_seq": h.first_seq.get(),
                "prev_hash": h.prev_hash.to_hex(),
                "created_at": rfc3339(h.created_at),
                "capacity": h.capacity,
            }),
            Err(_) => serde_json::Value::Null,
        },
        "header_error": w.header.as_ref().err().map(ToString::to_string),
        "watermark": w.watermark.as_ref().ok(),
        "watermark_error": w.watermark.as_ref().err().map(ToString::to_string),
        "record_count": w.count,
        "first_seq": w.first.map(|f| f.seq.get()),
        "last_seq": w.last.map(|l| l.seq.get()),
        "first_time": w.first.map(|f| rfc3339(f.timestamp)),
        "last_time": w.last.map(|l| rfc3339(l.timestamp)),
        "last_chain_hash": w.last.map(|l| l.chain_hash.to_hex()),
        "data_end": w.stop.offset(),
        "stop": stop_text(&w.stop),
        "footer": match &w.footer {
            Some((at, Ok(f))) => json!({
                "offset": at,
                "count": f.count,
                "first_seq": f.first_seq.get(),
                "last_seq": f.last_seq.get(),
                "first_time": rfc3339(f.first_ts),
                "last_time": rfc3339(f.last_ts),
                "last_chain_hash": f.last_hash.to_hex(),
            }),
            Some((at, Err(e))) => json!({ "offset": at, "error": e.to_string() }),
            None => serde_json::Value::Null,
        },
        "records": c.records.iter().map(|r| json!({
            "seq": r.seq.get(),
            "offset": r.offset,
            "kind": kind_name(r.kind),
            "version": r.version.get(),
            "time": rfc3339(r.time),
            "payload_bytes": r.payload_len,
            "chain_hash": r.chain_hash.to_hex(),
        })).collect::<Vec<_>>(),
        "problems": c.findings.iter().map(|p| json!({
            "severity": severity(c, p),
            "kind": p.kind.as_str(),
            "offset": p.offset,
            "seq": p.seq.map(|s| s.get()),
            "detail": p.detail,
        })).collect::<Vec<_>>(),
        "damaged": c.is_damaged(),
    })
}

fn write_text(path: &Path, c: &Inspection, out: &mut dyn Write) -> std::io::Result<()> {
    let w = &c.walk;
    writeln!(
        out,
        "file: {} ({} bytes, {})",
        path.display(),
        w.file_len,
        human_bytes(w.file_len)
    )?;
    writeln!(out, "name: {}", describe_name(c.name.as_ref()))?;
    if let (Some(SegmentName::Sealed(_, expected)), Some(actual)) = (&c.name, &w.actual_address) {
        if expected == actual {
            writeln!(out, "content address: the bytes hash to the name")?;
        } else {
            writeln!(out, "content address: MISMATCH: the bytes hash to {actual}")?;
        }
    }
    match &w.header {
        Ok(h) => {
            writeln!(
                out,
                "header: format v{}, ledger {}, ordinal {}, first sequence {}, created {}, capacity {} bytes",
                h.version as u16,
                h.ledger_id,
                h.ordinal,
                h.first_seq,
                time(h.created_at),
                h.capacity
            )?;
            writeln!(out, "  previous chain hash {}", h.prev_hash)?;
        }
        Err(e) => writeln!(out, "header: DAMAGED: {e}")?,
    }
    match &w.watermark {
        Ok(m) => writeln!(out, "durable watermark: offset {m}")?,
        Err(e) => writeln!(out, "durable watermark: DAMAGED: {e}")?,
    }
    match (w.first, w.last) {
        (Some(a), Some(b)) => {
            writeln!(
                out,
                "records: {} valid (sequences {}..={}), {} to {}",
                w.count,
                a.seq,
                b.seq,
                time(a.timestamp),
                time(b.timestamp),
            )?;
            writeln!(out, "  last chain hash {}", b.chain_hash)?;
        }
        _ => writeln!(out, "records: none")?,
    }
    writeln!(out, "the walk stopped at {}", stop_text(&w.stop))?;
    match &w.footer {
        Some((at, Ok(f))) => writeln!(
            out,
            "footer at offset {at}: {} records, sequences {}..={}, {} to {}, last chain hash {}",
            f.count,
            f.first_seq,
            f.last_seq,
            time(f.first_ts),
            time(f.last_ts),
            f.last_hash
        )?,
        Some((at, Err(e))) => writeln!(out, "footer at offset {at}: DAMAGED: {e}")?,
        None => writeln!(out, "footer: none (not sealed)")?,
    }
    if !c.records.is_empty() {
        writeln!(
            out,
            "first {} record(s):\n  {:>10} {:>10}  {:<18} {:>3}  {:<24} {:>8}  chain hash",
            c.records.len(),
            "seq",
            "offset",
            "kind",
            "ver",
            "time",
            "payload"
        )?;
        for r in &c.records {
            writeln!(
                out,
                "  {:>10} {:>10}  {:<18} {:>3}  {:<24} {:>8}  {}",
                r.seq.get(),
                r.offset,
                kind_name(r.kind),
                r.version.get(),
                time(r.time),
                r.payload_len,
                r.chain_hash
            )?;
        }
    }
    if c.findings.is_empty() {
        return writeln!(out, "result: OK, nothing wrong");
    }
    writeln!(out, "problems:")?;
    for p in &c.findings {
        let mut line = format!("  {}: {}", severity(c, p), p.kind);
        if let Some(o) = p.offset {
            line.push_str(&format!(" at offset {o}"));
        }
        if let Some(s) = p.seq {
            line.push_str(&format!(" (sequence {s})"));
        }
        writeln!(out, "{line}: {}", p.detail)?;
    }
    let damage = c.findings.iter().filter(|p| c.is_damage(p)).count();
    if damage > 0 {
        writeln!(out, "result: DAMAGED: {damage} problem(s) of damage")
    } else {
        writeln!(
            out,
            "result: OK ({} notice(s): what the next open recovers from)",
            c.findings.len()
        )
    }
}
