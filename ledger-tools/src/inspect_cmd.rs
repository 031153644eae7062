//! `ledger inspect SEGMENT`: one segment file on its own: header, durable
//! watermark, footer, the first records, and what is wrong with it. Reads
//! the file with `std::fs::read` and never changes it; needs no ledger
//! folder around it.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::cli::InspectArgs;
use crate::error::{finish, io_err, ToolError};
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, time};
use crate::segment_check::{check_segment, SegmentCheck, Severity, Stop};
use crate::summary::kind_name;
use crate::times::rfc3339;
use ledger_core::segment::names::SegmentName;

/// Runs `ledger inspect` on the file `args.segment`.
pub fn run(args: &InspectArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let path = &args.segment;
    let data = std::fs::read(path).map_err(io_err("read", path))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let check = check_segment(&name, &data, args.records, None);
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
        None => "not a segment file name (checked by content)".into(),
    }
}

fn stop_text(s: &Stop) -> String {
    match s {
        Stop::End(o) => format!("an empty slot at offset {o} (the end of the data)"),
        Stop::Footer(o) => format!("the footer at offset {o}"),
        Stop::OutOfData(o) => format!("the end of the file at offset {o}"),
        Stop::Invalid(o, why) => format!("an invalid record at offset {o}: {why}"),
    }
}

/// The check as one JSON object.
pub fn to_json(path: &Path, c: &SegmentCheck) -> serde_json::Value {
    let (state, ordinal) = match &c.name {
        Some(SegmentName::Sealed(o, _)) => ("sealed", Some(o.get())),
        Some(SegmentName::Active(o)) => ("active", Some(o.get())),
        Some(SegmentName::Prealloc(o)) => ("prealloc", Some(o.get())),
        None => ("unknown", None),
    };
    json!({
        "file": path.display().to_string(),
        "bytes": c.file_len,
        "name": { "state": state, "ordinal": ordinal,
                  "content_address": match &c.name { Some(SegmentName::Sealed(_, h)) => Some(h.to_hex()), _ => None },
                  "actual_address": c.actual_address.map(|h| h.to_hex()) },
        "header": match &c.header {
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
        "header_error": c.header.as_ref().err(),
        "watermark": c.watermark.as_ref().ok(),
        "watermark_error": c.watermark.as_ref().err(),
        "record_count": c.count,
        "first_seq": c.first.map(|f| f.0.get()),
        "last_seq": c.last.map(|l| l.0.get()),
        "first_time": c.first.map(|f| rfc3339(f.1)),
        "last_time": c.last.map(|l| rfc3339(l.1)),
        "last_chain_hash": c.last.map(|l| l.2.to_hex()),
        "data_end": c.end,
        "stop": stop_text(&c.stop),
        "footer": match &c.footer {
            Some((at, Ok(f))) => json!({
                "offset": at,
                "count": f.count,
                "first_seq": f.first_seq.get(),
                "last_seq": f.last_seq.get(),
                "first_time": rfc3339(f.first_ts),
                "last_time": rfc3339(f.last_ts),
                "last_chain_hash": f.last_hash.to_hex(),
            }),
            Some((at, Err(e))) => json!({ "offset": at, "error": e }),
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
        "problems": c.problems.iter().map(|p| json!({
            "severity": match p.severity { Severity::Damage => "damage", Severity::Notice => "notice" },
            "kind": p.kind,
            "offset": p.offset,
            "seq": p.seq.map(|s| s.get()),
            "detail": p.detail,
        })).collect::<Vec<_>>(),
        "damaged": c.is_damaged(),
    })
}

fn write_text(path: &Path, c: &SegmentCheck, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "file: {} ({} bytes, {})",
        path.display(),
        c.file_len,
        human_bytes(c.file_len)
    )?;
    writeln!(out, "name: {}", describe_name(c.name.as_ref()))?;
    if let (Some(SegmentName::Sealed(_, expected)), Some(actual)) = (&c.name, &c.actual_address) {
        if expected == actual {
            writeln!(out, "content address: the bytes hash to the name")?;
        } else {
            writeln!(out, "content address: MISMATCH: the bytes hash to {actual}")?;
        }
    }
    match &c.header {
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
    match &c.watermark {
        Ok(w) => writeln!(out, "durable watermark: offset {w}")?,
        Err(e) => writeln!(out, "durable watermark: DAMAGED: {e}")?,
    }
    match (c.first, c.last) {
        (Some((a, t0)), Some((b, t1, hash))) => {
            writeln!(
                out,
                "records: {} valid (sequences {a}..={b}), {} to {}; data ends at offset {}",
                c.count,
                time(t0),
                time(t1),
                c.end
            )?;
            writeln!(out, "  last chain hash {hash}")?;
        }
        _ => writeln!(out, "records: none (data ends at offset {})", c.end)?,
    }
    writeln!(out, "the walk stopped at {}", stop_text(&c.stop))?;
    match &c.footer {
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
    if c.problems.is_empty() {
        return writeln!(out, "result: OK, nothing wrong");
    }
    writeln!(out, "problems:")?;
    for p in &c.problems {
        let mut line = format!(
            "  {}: {}",
            match p.severity {
                Severity::Damage => "damage",
                Severity::Notice => "notice",
            },
            p.kind
        );
        if let Some(o) = p.offset {
            line.push_str(&format!(" at offset {o}"));
        }
        if let Some(s) = p.seq {
            line.push_str(&format!(" (sequence {s})"));
        }
        writeln!(out, "{line}: {}", p.detail)?;
    }
    let damage = c
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Damage)
        .count();
    if damage > 0 {
        writeln!(out, "result: DAMAGED: {damage} problem(s) of damage")
    } else {
        writeln!(
            out,
            "result: OK ({} notice(s): what the next open recovers from)",
            c.problems.len()
        )
    }
}
