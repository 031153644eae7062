//! `ledger export`: streams the events a query selects as JSON lines, a
//! JSON array or CSV. Each event is written as soon as it is read.
//!
//! - With a key filter (`--kind`, `--symbol`, `--session`, `--trade`), the
//!   events come from the ledger's indexes
//!   ([`ledger_index::LedgerIndex::query`]), which read only the matching
//!   records.
//! - Without one, every record of the time window matches and an index
//!   would only add its own memory: the index finds the first record of the
//!   window (`--from`), and a [`Cursor`] streams from
//!   there until `--to`, in constant memory.
//!
//! An index file that does not hold up against its segment's records is
//! refused (the answer comes from the records); each refusal is a warning
//! on stderr naming the file ([`warn_refused`]).

use std::io::{self, Write};
use std::path::Path;

use ledger_core::{Cursor, Reader, Seq, Timestamp};
use ledger_domain::{EventHit, TradingKeys};
use ledger_index::{Hit, LedgerIndex, Query};

use crate::cli::{ExportArgs, ExportFormat};
use crate::error::ToolError;
use crate::event_json::{EventData, ExportedEvent};
use crate::exit::Exit;
use crate::outfile::OutFile;
use crate::progress::Progress;
use crate::times::rfc3339;

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 10] = [
    "seq",
    "time",
    "kind",
    "session",
    "symbol",
    "trade_id",
    "decision_id",
    "order_id",
    "chain_hash",
    "data",
];

/// The sequence number of the ledger's last record (0 when empty), found
/// by reading only the last segment.
pub fn head_seq(reader: &Reader) -> Result<u64, ToolError> {
    let cursor = reader.cursor_from(Seq::new(u64::MAX))?;
    Ok(cursor.next_seq().get().saturating_sub(1))
}

/// The query the options describe.
pub fn query_of(args: &ExportArgs) -> Query {
    let mut q = Query {
        from_time: args.from,
        to_time: args.to,
        kinds: args.kinds.iter().map(|&k| k.into()).collect(),
        ..Query::default()
    };
    for (family, keys) in [
        (TradingKeys::SYMBOL, &args.symbols),
        (TradingKeys::SESSION, &args.sessions),
        (TradingKeys::TRADE, &args.trades),
    ] {
        for key in keys {
            q = q.key(family, key.as_str());
        }
    }
    q
}

/// Runs `ledger export` on `dir`: to `--out`, or to `out`.
pub fn run(dir: &Path, args: &ExportArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let reader = Reader::open(dir)?;
    let head = head_seq(&reader)?;
    let progress = if head > 100_000 {
        Progress::bar(head, "exporting", "records")
    } else {
        Progress::hidden()
    };
    let query = query_of(args);
    let index = if query.has_keys() {
        Some(LedgerIndex::open(dir, TradingKeys)?)
    } else {
        None
    };
    let hits: Box<dyn Iterator<Item = Result<Hit, ToolError>> + '_> = if let Some(index) = &index {
        Box::new(index.query(&query)?.map(|h| h.map_err(ToolError::from)))
    } else {
        let start = match query.from_time {
            // The index's time map finds the window's first record; the
            // index (and the memory it holds) is dropped right after.
            Some(_) => {
                let window = LedgerIndex::open(dir, TradingKeys)?;
                let first = window.query(&query)?.next().transpose()?;
                warn_refused(&window);
                match first {
                    Some(first) => first.seq,
                    None => Seq::new(head + 1),
                }
            }
            None => Seq::FIRST,
        };
        Box::new(CursorHits {
            cursor: reader.cursor_from(start)?,
            to: query.to_time,
            done: false,
        })
    };
    let written = match &args.out {
        Some(path) => {
            let mut file = OutFile::create(path)?;
            let werr = |source: io::Error| ToolError::Io {
                op: "write",
                path: path.clone(),
                source,
            };
            let n = write_all(args.format, hits, &mut file, &progress, &werr);
            if let Some(index) = &index {
                warn_refused(index);
            }
            let n = n?;
            file.commit()?;
            progress.finish();
            writeln!(
                out,
                "exported {n} event(s) of ledger {} to {}",
                reader.ledger_id(),
                path.display()
            )
            .map_err(ToolError::Output)
        }
        None => write_all(args.format, hits, out, &progress, &ToolError::Output).map(drop),
    };
    if let Some(index) = &index {
        warn_refused(index);
    }
    written?;
    Ok(Exit::Success)
}

/// Warns on stderr about every index file `index` refused: the answer did
/// not come from it (see [`LedgerIndex::take_refused`]).
pub fn warn_refused(index: &LedgerIndex) {
    for f in index.take_refused() {
        let what = if f.forged {
            "does not hold up against its segment's records (forged or written wrong)"
        } else {
            "cannot be used"
        };
        let _ = writeln!(
            io::stderr(),
            "warning: index file {} {what}: {}; answered from the records instead, and rebuilt",
            f.file,
            f.reason
        );
    }
}

/// Every event from a cursor's position until a time: the records of a
/// window, streamed without an index.
struct CursorHits {
    cursor: Cursor,
    to: Option<Timestamp>,
    done: bool,
}

impl CursorHits {
    fn next_hit(&mut self) -> Result<Option<Hit>, ToolError> {
        while let Some(r) = self.cursor.next_ref()? {
            if self.to.is_some_and(|t| r.timestamp >= t) {
                self.done = true;
                return Ok(None);
            }
            if let Some(hit) = Hit::from_record(&r) {
                return Ok(Some(hit));
            }
        }
        self.done = true;
        Ok(None)
    }
}

impl Iterator for CursorHits {
    type Item = Result<Hit, ToolError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.next_hit().transpose()
    }
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes every hit in `format`; returns how many.
fn write_all(
    format: ExportFormat,
    hits: impl Iterator<Item = Result<Hit, ToolError>>,
    w: &mut dyn Write,
    progress: &Progress,
    werr: &dyn Fn(io::Error) -> ToolError,
) -> Result<u64, ToolError> {
    let mut n = 0u64;
    match format {
        ExportFormat::Jsonl | ExportFormat::Json => {
            let array = format == ExportFormat::Json;
            if array {
                w.write_all(b"[").map_err(werr)?;
            }
            for hit in hits {
                let hit = EventHit::decode(&hit?)?;
                if array {
                    w.write_all(if n == 0 { b"\n" } else { b",\n" })
                        .map_err(werr)?;
                }
                let line = ExportedEvent {
                    seq: hit.seq,
                    time: hit.time,
                    chain_hash: hit.chain_hash,
                    event: &hit.event,
                };
                serde_json::to_writer(&mut *w, &line).map_err(|e| werr(e.into()))?;
                if !array {
                    w.write_all(b"\n").map_err(werr)?;
                }
                n += 1;
                if n.is_multiple_of(4096) {
                    progress.set(hit.seq.get());
                }
            }
            if array {
                w.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })
                    .map_err(werr)?;
            }
        }
        ExportFormat::Csv => {
            let mut csv = csv::Writer::from_writer(&mut *w);
            csv.write_record(CSV_COLUMNS)
                .map_err(|e| werr(csv_err(e)))?;
            let mut data = Vec::with_capacity(512);
            for hit in hits {
                let hit = EventHit::decode(&hit?)?;
                let e = &hit.event;
                data.clear();
                serde_json::to_writer(&mut data, &EventData(e)).map_err(|e| werr(e.into()))?;
                let seq = hit.seq.get().to_string();
                let time = rfc3339(hit.time);
                let hash = hit.chain_hash.to_hex();
                let fields: [&[u8]; 10] = [
                    seq.as_bytes(),
                    time.as_bytes(),
                    e.kind().name().as_bytes(),
                    e.session().as_str().as_bytes(),
                    e.symbol().map_or("", |s| s.as_str()).as_bytes(),
                    e.trade_id().map_or("", |s| s.as_str()).as_bytes(),
                    e.decision_id().map_or("", |s| s.as_str()).as_bytes(),
                    e.order_id().map_or("", |s| s.as_str()).as_bytes(),
                    hash.as_bytes(),
                    &data,
                ];
                csv.write_record(fields).map_err(|e| werr(csv_err(e)))?;
                n += 1;
                if n.is_multiple_of(4096) {
                    progress.set(hit.seq.get());
                }
            }
            csv.flush().map_err(werr)?;
        }
    }
    w.flush().map_err(werr)?;
    Ok(n)
}
