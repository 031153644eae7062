//! `ledger append`: appends events given as JSON lines (the form `ledger
//! export` writes, see [`crate::event_json`]) through the trading domain,
//! so every event is validated against its field rules and the log so far.
//!
//! A line that is not an event, or an event validation refuses, stops the
//! append: the lines before it are appended, made durable and reported;
//! nothing from that line on is appended ([`ToolError::BadLine`], exit 2).

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;

use ledger_core::{Durability, LedgerId, Receipt, Seq, WriterOptions};
use ledger_domain::{DomainError, TradingLedger};

use crate::cli::AppendArgs;
use crate::error::{io_err, ToolError};
use crate::event_json::parse_line;
use crate::exit::Exit;
use crate::progress::Progress;
use crate::times::rfc3339;

/// What an append did, for the summary.
#[derive(Debug, Default)]
struct Outcome {
    appended: u64,
    first: Option<Seq>,
    last: Option<Receipt>,
}

/// Whether a domain error is about the event given (the line is refused)
/// rather than about the ledger (the command fails).
fn refuses_the_line(e: &DomainError) -> bool {
    match e {
        DomainError::Invalid(_) | DomainError::Encode(_) => true,
        DomainError::Ledger(e) => matches!(
            e,
            ledger_core::Error::TimeWentBackwards { .. }
                | ledger_core::Error::TimeTooFarAhead { .. }
                | ledger_core::Error::RecordTooLarge { .. }
        ),
        _ => false,
    }
}

/// Runs `ledger append` on `dir`, reading `args.input` (or `stdin` for `-`
/// and when no file is given).
pub fn run(
    dir: &Path,
    args: &AppendArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<Exit, ToolError> {
    let from_file = args.input.as_deref().filter(|p| *p != Path::new("-"));
    let (input_name, reader, total): (String, Box<dyn Read + '_>, Option<u64>) = match from_file {
        Some(path) => {
            let file = File::open(path).map_err(io_err("read", path))?;
            let len = file.metadata().ok().map(|m| m.len());
            (path.display().to_string(), Box::new(file), len)
        }
        None => ("standard input".to_owned(), Box::new(stdin), None),
    };
    let mut lines = BufReader::with_capacity(1 << 16, reader);

    let opts = WriterOptions::default()
        .segment_size(args.segment_size)
        .durability(Durability::default())
        .preallocate(false)
        .max_clock_skew(args.max_clock_skew.0);
    let existed = ledger_core::is_ledger(&ledger_core::storage::FsStorage::new(dir));
    let mut ledger = TradingLedger::open(dir, opts)?;
    let id = ledger.writer().ledger_id();
    let mut notes = Vec::new();
    if !existed {
        notes.push(format!(
            "created ledger {} in {}",
            ledger.writer().ledger_id(),
            dir.display()
        ));
    }
    if let Some(cut) = &ledger.open_report().recovery.cut {
        notes.push(format!(
            "recovery cut a torn tail on open: {} bytes of {} at offset {} (sequence {}), saved to {}",
            cut.bytes, cut.segment, cut.offset, cut.seq, cut.saved_to
        ));
    }

    // A bar for a big file; a spinner for a pipe (not for a person typing).
    let progress = match total {
        Some(t) if t > 4 << 20 => Progress::bytes(t, "appending"),
        Some(_) => Progress::hidden(),
        None if std::io::stdin().is_terminal() => Progress::hidden(),
        None => Progress::spinner("appending events from standard input"),
    };
    let mut outcome = Outcome::default();
    let mut buf = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    let mut consumed = 0u64;
    let mut refused: Option<(u64, String)> = None;
    let mut failed: Option<ToolError> = None;
    loop {
        buf.clear();
        let n = match lines.read_until(b'\n', &mut buf) {
            Ok(n) => n,
            Err(e) => {
                failed = Some(io_err("read", input_name.clone())(e));
                break;
            }
        };
        if n == 0 {
            break;
        }
        line_no += 1;
        consumed += n as u64;
        if line_no.is_multiple_of(1024) {
            progress.set(consumed);
            if total.is_none() {
                progress.message(format!("appended {} events", outcome.appended));
            }
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_start_matches('\u{feff}').trim(),
            Err(e) => {
                refused = Some((line_no, format!("not UTF-8 text: {e}")));
                break;
            }
        };
        if text.is_empty() {
            continue;
        }
        let input = match parse_line(text) {
            Ok(i) => i,
            Err(reason) => {
                refused = Some((line_no, reason.to_string()));
                break;
            }
        };
        if let (Some(t), Some(h)) = (input.time, ledger.writer().head()) {
            if t < h.timestamp {
                refused = Some((
                    line_no,
                    format!(
                        "time: {} is before the time of the ledger's last record ({}, record {}); times never decrease along the chain",
                        rfc3339(t),
                        rfc3339(h.timestamp),
                        h.seq
                    ),
                ));
                break;
            }
        }
        let result = match input.time {
            Some(t) => ledger.append_at(t, &input.event),
            None => ledger.append(&input.event),
        };
        match result {
            Ok(r) => {
                outcome.appended += 1;
                outcome.first.get_or_insert(r.seq);
                outcome.last = Some(r);
            }
            Err(e) if refuses_the_line(&e) => {
                refused = Some((line_no, e.to_string()));
                break;
            }
            Err(e) => {
                failed = Some(e.into());
                break;
            }
        }
    }
    progress.finish();
    if let Some(e) = failed {
        // The input or the ledger failed: what was appended stays, made
        // durable as far as the ledger still can, and is reported.
        if let Some(r) = outcome.last {
            let _ = ledger.writer().wait_durable(r.seq);
        }
        let _ = ledger.close();
        notes.push(format!(
            "stopped at line {line_no}: {} event(s) appended before it",
            outcome.appended
        ));
        let _ = write_summary(dir, &id, args.json, &outcome, None, &notes, out);
        return Err(e);
    }
    if let Some(r) = outcome.last {
        ledger.writer().wait_durable(r.seq)?;
    }
    ledger.close()?;
    match write_summary(dir, &id, args.json, &outcome, refused.as_ref(), &notes, out) {
        // A closed pipe does not change the verdict.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(ToolError::Output(e)),
        _ => {}
    }
    match refused {
        Some((line, reason)) => Err(ToolError::BadLine {
            input: input_name,
            line,
            reason,
            appended: outcome.appended,
        }),
        None => Ok(Exit::Success),
    }
}

fn write_summary(
    dir: &Path,
    id: &LedgerId,
    json: bool,
    o: &Outcome,
    refused: Option<&(u64, String)>,
    notes: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if json {
        let v = serde_json::json!({
            "ledger_id": id.to_hex(),
            "dir": dir.display().to_string(),
            "appended": o.appended,
            "first_seq": o.first.map(Seq::get),
            "last_seq": o.last.map(|r| r.seq.get()),
            "head": o.last.map(|r| serde_json::json!({
                "seq": r.seq.get(),
                "chain_hash": r.chain_hash.to_hex(),
                "time": rfc3339(r.timestamp),
            })),
            "refused": refused.map(|(line, reason)| serde_json::json!({
                "line": line,
                "reason": reason,
            })),
            "notes": notes,
        });
        return writeln!(out, "{v:#}");
    }
    for n in notes {
        writeln!(out, "{n}")?;
    }
    match (o.first, o.last) {
        (Some(first), Some(last)) => {
            writeln!(
                out,
                "appended {} event(s) to ledger {id} in {}, sequences {first}..={}, durable (group commit)",
                o.appended,
                dir.display(),
                last.seq
            )?;
            writeln!(
                out,
                "head: sequence {}, chain hash {}",
                last.seq, last.chain_hash
            )
        }
        _ => writeln!(out, "appended no event"),
    }
}
