//! `ledger stats`: what a ledger holds: segments (sealed and active),
//! records, bytes, the time span, events by kind and the head. Reads every
//! record once through a [`Cursor`](ledger_core::Cursor) (sealed segments are
//! checked against their content address on the way).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ledger_core::storage::FsStorage;
use ledger_core::{read_layout, ChainHash, Kind, Reader, Seq, Timestamp};
use serde_json::json;

use crate::cli::StatsArgs;
use crate::error::{finish, io_err, ToolError};
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, time};
use crate::progress::Progress;
use crate::summary::kind_name;
use crate::times::rfc3339;

/// One segment file's figures.
#[derive(Debug, Clone, Default)]
struct SegStat {
    name: String,
    sealed: bool,
    file_bytes: u64,
    records: u64,
    first: Option<Seq>,
    last: Option<Seq>,
    /// Offset after the last record.
    end: u64,
}

/// Runs `ledger stats` on `dir`.
pub fn run(dir: &Path, args: &StatsArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let reader = Reader::open(dir)?;
    let layout = read_layout(&FsStorage::new(dir))?;
    let mut segs: Vec<SegStat> = layout
        .sealed
        .iter()
        .map(|s| (s.name.clone(), true))
        .chain(layout.unsealed().map(|(_, n)| (n.clone(), false)))
        .map(|(name, sealed)| {
            let path = dir.join(&name);
            std::fs::metadata(&path)
                .map(|m| SegStat {
                    file_bytes: m.len(),
                    name,
                    sealed,
                    ..SegStat::default()
                })
                .map_err(io_err("read the size of", path))
        })
        .collect::<Result<_, _>>()?;
    let progress = if segs.len() > 8 {
        Progress::bar(segs.len() as u64, "reading", "segments")
    } else {
        Progress::hidden()
    };

    let mut counts: BTreeMap<u16, u64> = BTreeMap::new();
    let mut span: Option<(Timestamp, Timestamp)> = None;
    let mut head: Option<(Seq, ChainHash, Timestamp)> = None;
    let mut records = 0u64;
    let mut cursor = reader.cursor()?;
    let mut current = 0usize;
    while let Some((seq, ts, kind, hash, end)) = cursor.next_ref()?.map(|r| {
        (
            r.seq,
            r.timestamp,
            r.kind,
            r.chain_hash,
            (r.offset + r.padded_len()) as u64,
        )
    }) {
        if let Some(name) = cursor.segment_name() {
            if segs.get(current).is_none_or(|s| s.name != name) {
                if let Some(i) = segs.iter().position(|s| s.name == name) {
                    current = i;
                    progress.set(i as u64);
                }
            }
        }
        if let Some(s) = segs.get_mut(current) {
            s.records += 1;
            s.first.get_or_insert(seq);
            s.last = Some(seq);
            s.end = end;
        }
        records += 1;
        *counts.entry(kind.get()).or_default() += 1;
        span = Some(span.map_or((ts, ts), |(a, _)| (a, ts)));
        head = Some((seq, hash, ts));
    }
    progress.finish();

    let sealed = segs.iter().filter(|s| s.sealed).count();
    let active = segs.len() - sealed;
    let file_bytes: u64 = segs.iter().map(|s| s.file_bytes).sum();
    let record_bytes: u64 = segs
        .iter()
        .filter(|s| s.records > 0)
        .map(|s| s.end - ledger_core::segment::header::HEADER_LEN as u64)
        .sum();
    let by_kind: Vec<(String, u64)> = counts
        .iter()
        .map(|(k, n)| (kind_name(Kind::new(*k)), *n))
        .collect();

    let written = if args.json {
        let v = json!({
            "ledger_id": reader.ledger_id().to_hex(),
            "dir": dir.display().to_string(),
            "segments": {
                "total": segs.len(),
                "sealed": sealed,
                "active": active,
                "preallocated": layout.prealloc.len(),
                "files": segs.iter().map(|s| json!({
                    "name": s.name,
                    "state": if s.sealed { "sealed" } else { "active" },
                    "bytes": s.file_bytes,
                    "records": s.records,
                    "first_seq": s.first.map(Seq::get),
                    "last_seq": s.last.map(Seq::get),
                })).collect::<Vec<_>>(),
            },
            "records": records,
            "bytes": file_bytes,
            "record_bytes": record_bytes,
            "first_time": span.map(|s| rfc3339(s.0)),
            "last_time": span.map(|s| rfc3339(s.1)),
            "counts": by_kind
                .iter()
                .map(|(k, n)| (k.clone(), json!(n)))
                .collect::<serde_json::Map<_, _>>(),
            "head": head.map(|(seq, hash, t)| json!({
                "seq": seq.get(),
                "chain_hash": hash.to_hex(),
                "time": rfc3339(t),
            })),
        });
        writeln!(out, "{v:#}")
    } else {
        (|| {
            writeln!(out, "ledger {} in {}", reader.ledger_id(), dir.display())?;
            writeln!(
                out,
                "segments: {} ({sealed} sealed, {active} active), {} on disk",
                segs.len(),
                human_bytes(file_bytes)
            )?;
            match (head, span) {
                (Some((seq, hash, _)), Some((a, b))) => {
                    writeln!(
                        out,
                        "records: {records} (sequences 1..={seq}), {} of records",
                        human_bytes(record_bytes)
                    )?;
                    writeln!(out, "time span: {} to {}", time(a), time(b))?;
                    writeln!(out, "head: sequence {seq}, chain hash {hash}")?;
                }
                _ => writeln!(out, "records: none yet")?,
            }
            if !by_kind.is_empty() {
                writeln!(out, "events by kind:")?;
                for (k, n) in &by_kind {
                    writeln!(out, "  {k:<18} {n:>10}")?;
                }
            }
            writeln!(out, "segment files:")?;
            for s in &segs {
                let range = match (s.first, s.last) {
                    (Some(a), Some(b)) => format!("records {a}..={b} ({})", s.records),
                    _ => "no records".into(),
                };
                writeln!(
                    out,
                    "  {}  {}  {range}  {}",
                    s.name,
                    if s.sealed { "sealed" } else { "active" },
                    if s.sealed {
                        human_bytes(s.file_bytes)
                    } else {
                        format!(
                            "{} used of {}",
                            human_bytes(s.end.max(ledger_core::segment::header::HEADER_LEN as u64)),
                            human_bytes(s.file_bytes)
                        )
                    }
                )?;
            }
            Ok(())
        })()
    };
    finish(Exit::Success, written)
}
