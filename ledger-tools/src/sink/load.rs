//! Loading: records are mapped to rows ([`crate::sink::rows`]) and
//! gathered per table in `COPY` text; [`Loader::commit`] sends a batch in
//! ONE transaction: the position row locked and found where this process
//! left it, one `COPY` per table, the closes of trades and sessions opened
//! in earlier batches, the new position. A kill at any moment leaves either
//! the whole batch with its position or neither, so the next run goes on
//! from the last committed record: every event lands exactly once.
//!
//! A trade (session) opened and closed in the same batch is written once,
//! already closed: the batch holds its `trades` (`sessions`) rows until the
//! commit and folds each close into the open rows of its key before it
//! (as `--check` folds them). Every close is still sent as an `UPDATE` of
//! the rows of earlier batches (`seq` below the batch's first), which finds
//! nothing to change when the trade was opened in this batch (unless a
//! ledger written without validation opened the same trade id twice).

use std::collections::HashMap;
use std::io::Write;

use ledger_core::segment::record::RecordRef;
use ledger_core::Kind;
use postgres::Client;

use crate::sink::copy_text::{time_text, write_row};
use crate::sink::error::{db_err, SinkError};
use crate::sink::position::{self, Position};
use crate::sink::rows::{
    event_row, kind_row, Cell, KindRow, Place, SESSION_END_AT, SESSION_KEY_AT, TRADE_CLOSE_AT,
    TRADE_KEY_AT,
};
use crate::sink::tables::Table;

/// The closes of one batch, as the parameter arrays of one `UPDATE`.
#[derive(Debug, Default)]
struct Closes {
    seq: Vec<i64>,
    key: Vec<String>,
    time: Vec<String>,
    /// Further text columns (trades: price, fees, P&L, order; sessions: reason).
    cols: Vec<Vec<Option<String>>>,
}

impl Closes {
    fn new(cols: usize) -> Self {
        Closes {
            cols: vec![Vec::new(); cols],
            ..Closes::default()
        }
    }

    fn len(&self) -> usize {
        self.seq.len()
    }
}

// `$9` (`$6`): the batch's first sequence; rows from it on were folded.
const CLOSE_TRADES: &str = "
UPDATE trades AS t
SET closed_seq = v.seq, closed_at = v.time::timestamptz, exit_price = v.price::numeric,
    close_fees = v.fees::numeric, realized_pnl = v.pnl::numeric, close_order_id = v.order_id
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
     AS v(seq, trade_id, time, price, fees, pnl, order_id)
WHERE t.ledger_id = $1 AND t.trade_id = v.trade_id AND t.closed_seq IS NULL AND t.seq < v.seq
  AND t.seq < $9";

const END_SESSIONS: &str = "
UPDATE sessions AS t
SET ended_seq = v.seq, ended_at = v.time::timestamptz, end_reason = v.reason
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
     AS v(seq, session, time, reason)
WHERE t.ledger_id = $1 AND t.session = v.session AND t.ended_seq IS NULL AND t.seq < v.seq
  AND t.seq < $6";

/// The rows of `trades` or `sessions` in a batch, held until the commit so
/// that closes in the same batch fold into them.
#[derive(Debug)]
struct Held {
    /// The key's column (`trade_id`, `session`).
    key_at: usize,
    /// The first close column (`closed_seq`, `ended_seq`).
    close_at: usize,
    rows: Vec<Vec<Cell<'static>>>,
    /// The open rows of each key, in sequence order.
    open: HashMap<String, Vec<usize>>,
}

impl Held {
    fn new(key_at: usize, close_at: usize) -> Self {
        Held {
            key_at,
            close_at,
            rows: Vec::new(),
            open: HashMap::new(),
        }
    }

    fn push(&mut self, row: Vec<Cell<'_>>) {
        let row: Vec<Cell<'static>> = row.into_iter().map(Cell::into_owned).collect();
        if let Some(Cell::Str(key)) = row.get(self.key_at) {
            self.open
                .entry(key.to_string())
                .or_default()
                .push(self.rows.len());
        }
        self.rows.push(row);
    }

    /// Closes the open rows of `key` (all opened before the close: rows
    /// arrive in sequence order); returns how many.
    fn close(&mut self, key: &str, cells: &[Cell<'static>]) -> u64 {
        let Some(open) = self.open.remove(key) else {
            return 0;
        };
        for &i in &open {
            if let Some(row) = self.rows.get_mut(i) {
                for (j, c) in cells.iter().enumerate() {
                    if let Some(slot) = row.get_mut(self.close_at + j) {
                        *slot = c.clone();
                    }
                }
            }
        }
        open.len() as u64
    }

    fn write(&self, buf: &mut Vec<u8>) {
        for row in &self.rows {
            write_row(buf, row);
        }
    }
}

/// What has been loaded so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Records read (events and engine records).
    pub records: u64,
    /// Events loaded (rows of `ledger_events`).
    pub events: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Rows added per table ([`Table::ALL`] order).
    pub rows: [u64; 11],
    /// Rows closed: trades, then sessions.
    pub closed: [u64; 2],
}

/// One batch being gathered: the rows of its records in `COPY` text per
/// table, the closes of trades and sessions, and its last record. Built on
/// one thread while the previous batch is committed on another.
#[derive(Debug)]
pub struct Batch {
    ledger: String,
    last: Option<Position>,
    first: Option<u64>,
    bufs: Vec<Vec<u8>>,
    rows: [u64; 11],
    trades: Held,
    sessions: Held,
    /// Rows closed in the batch itself: trades, then sessions.
    folded: [u64; 2],
    trade_closes: Vec<(String, i64, String, [Option<String>; 4])>,
    session_ends: Vec<(String, i64, String, [Option<String>; 1])>,
    records: u64,
    events: u64,
}

impl Batch {
    /// An empty batch of ledger `ledger` (hex id).
    pub fn new(ledger: &str) -> Self {
        Batch {
            ledger: ledger.to_owned(),
            last: None,
            first: None,
            bufs: vec![Vec::new(); Table::ALL.len()],
            rows: [0; 11],
            trades: Held::new(TRADE_KEY_AT, TRADE_CLOSE_AT),
            sessions: Held::new(SESSION_KEY_AT, SESSION_END_AT),
            folded: [0; 2],
            trade_closes: Vec::new(),
            session_ends: Vec::new(),
            records: 0,
            events: 0,
        }
    }

    /// Records in the batch.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Adds a record: its rows, or nothing for an engine record (kinds
    /// from [`Kind::RESERVED_START`], such as a migration's provenance
    /// record), which only moves the position.
    pub fn push(&mut self, r: &RecordRef<'_>) -> Result<(), SinkError> {
        let seq = r.seq.get();
        let hash = r.chain_hash.to_hex();
        if r.kind.get() < Kind::RESERVED_START {
            let event = ledger_domain::decode(r.kind, r.version, r.payload)
                .map_err(|source| SinkError::Decode { seq, source })?;
            let at = Place {
                ledger_id: &self.ledger,
                seq,
                time: r.timestamp,
                version: r.version.get(),
                chain_hash: &hash,
            };
            let row = event_row(&at, &event)?;
            write_row(&mut self.bufs[Table::LedgerEvents.index()], &row);
            self.rows[Table::LedgerEvents.index()] += 1;
            let table = Table::of_kind(event.kind());
            match kind_row(&at, &event)? {
                KindRow::Insert(row) => {
                    match table {
                        Table::Trades => self.trades.push(row),
                        Table::Sessions => self.sessions.push(row),
                        _ => write_row(&mut self.bufs[table.index()], &row),
                    }
                    self.rows[table.index()] += 1;
                }
                KindRow::CloseTrade(c) => {
                    self.folded[0] += self.trades.close(c.trade_id, &c.cells());
                    self.trade_closes.push((
                        c.trade_id.to_owned(),
                        i64::try_from(c.seq).unwrap_or(i64::MAX),
                        time_text(c.time.as_nanos()),
                        [
                            Some(c.price.to_string()),
                            Some(c.fees.to_string()),
                            Some(c.realized_pnl.to_string()),
                            c.order_id.map(str::to_owned),
                        ],
                    ));
                }
                KindRow::EndSession(e) => {
                    self.folded[1] += self.sessions.close(e.session, &e.cells());
                    self.session_ends.push((
                        e.session.to_owned(),
                        i64::try_from(e.seq).unwrap_or(i64::MAX),
                        time_text(e.time.as_nanos()),
                        [Some(e.reason.to_owned())],
                    ));
                }
            }
            self.events += 1;
        }
        self.records += 1;
        self.first.get_or_insert(seq);
        self.last = Some(Position {
            seq,
            chain_hash: hash,
        });
        Ok(())
    }
}

/// Commits batches, each with the position, and keeps the totals.
#[derive(Debug)]
pub struct Loader {
    ledger: String,
    database: String,
    committed: Option<Position>,
    /// What has been committed.
    pub totals: Totals,
}

impl Loader {
    /// A loader of ledger `ledger` (hex id) whose committed position in
    /// `database` is `committed`.
    pub fn new(ledger: String, database: String, committed: Option<Position>) -> Self {
        Loader {
            ledger,
            database,
            committed,
            totals: Totals::default(),
        }
    }

    /// The ledger (hex id).
    pub fn ledger(&self) -> &str {
        &self.ledger
    }

    /// The last committed position.
    pub fn position(&self) -> Option<&Position> {
        self.committed.as_ref()
    }

    /// Commits `batch` and its last record as the position, in one
    /// transaction; nothing when the batch is empty.
    pub fn commit(&mut self, client: &mut Client, mut batch: Batch) -> Result<(), SinkError> {
        let Some(last) = batch.last.clone().filter(|_| batch.records > 0) else {
            return Ok(());
        };
        let db = self.database.clone();
        let first = batch.first.unwrap_or(last.seq);
        let first_i64 = i64::try_from(first).unwrap_or(i64::MAX);
        batch.trades.write(&mut batch.bufs[Table::Trades.index()]);
        batch
            .sessions
            .write(&mut batch.bufs[Table::Sessions.index()]);
        let what = |w: &str| {
            format!(
                "{w} (records {first}..={} of ledger {})",
                last.seq, self.ledger
            )
        };
        let mut tx = client
            .transaction()
            .map_err(db_err(&db, what("begin the batch")))?;
        let found = position::read(&mut tx, &db, &self.ledger, true)?;
        if found != self.committed {
            let show =
                |p: &Option<Position>| p.as_ref().map_or("none".to_owned(), Position::to_string);
            return Err(SinkError::PositionMoved {
                ledger: self.ledger.clone(),
                database: db,
                expected: show(&self.committed),
                found: show(&found),
            });
        }
        for table in Table::ALL {
            let buf = &batch.bufs[table.index()];
            if buf.is_empty() {
                continue;
            }
            let mut w = tx
                .copy_in(&table.copy_statement())
                .map_err(db_err(&db, what(&format!("start the COPY into {table}"))))?;
            w.write_all(buf).map_err(|source| SinkError::Copy {
                database: db.clone(),
                table: table.name(),
                source,
            })?;
            w.finish()
                .map_err(db_err(&db, what(&format!("COPY into {table}"))))?;
        }
        let mut closed = batch.folded;
        for c in &rounds(&batch.trade_closes) {
            closed[0] += tx
                .execute(
                    CLOSE_TRADES,
                    &[
                        &self.ledger,
                        &c.seq,
                        &c.key,
                        &c.time,
                        &c.cols[0],
                        &c.cols[1],
                        &c.cols[2],
                        &c.cols[3],
                        &first_i64,
                    ],
                )
                .map_err(db_err(&db, what("close trades")))?;
        }
        for c in &rounds(&batch.session_ends) {
            closed[1] += tx
                .execute(
                    END_SESSIONS,
                    &[
                        &self.ledger,
                        &c.seq,
                        &c.key,
                        &c.time,
                        &c.cols[0],
                        &first_i64,
                    ],
                )
                .map_err(db_err(&db, what("end sessions")))?;
        }
        position::store(&mut tx, &db, &self.ledger, &last)?;
        tx.commit().map_err(db_err(&db, what("commit the batch")))?;

        self.totals.records += batch.records;
        self.totals.events += batch.events;
        self.totals.batches += 1;
        for (t, n) in self.totals.rows.iter_mut().zip(batch.rows) {
            *t += n;
        }
        self.totals.closed[0] += closed[0];
        self.totals.closed[1] += closed[1];
        self.committed = Some(last);
        Ok(())
    }
}

/// The closes of a batch in rounds: the k-th close of a key within the
/// batch goes into round k, so that each `UPDATE` meets each key once and
/// the rounds apply in sequence order (as the ledger's fold does).
fn rounds<const N: usize>(closes: &[(String, i64, String, [Option<String>; N])]) -> Vec<Closes> {
    let mut out: Vec<Closes> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (key, seq, time, cols) in closes {
        let k = seen.entry(key.as_str()).or_insert(0);
        if out.len() <= *k {
            out.push(Closes::new(N));
        }
        if let Some(round) = out.get_mut(*k) {
            round.seq.push(*seq);
            round.key.push(key.clone());
            round.time.push(time.clone());
            for (col, v) in round.cols.iter_mut().zip(cols) {
                col.push(v.clone());
            }
        }
        *k += 1;
    }
    out.retain(|r| r.len() > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_close_of_the_same_key_waits_for_the_next_round() {
        let c = |k: &str, seq| (k.to_owned(), seq, String::new(), [None]);
        let r = rounds(&[c("T1", 5), c("T2", 6), c("T1", 9)]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].seq, [5, 6]);
        assert_eq!(r[1].seq, [9]);
        assert_eq!(r[1].key, ["T1"]);
    }
}
