//! `ledger sink --check`: the database compared with the ledger, in one
//! read-only snapshot (`REPEATABLE READ`), so a sink loading meanwhile
//! does not disturb it.
//!
//! - The position: the ledger's record at the sink's position must have
//!   the chain hash the database recorded.
//! - Counts per kind: the ledger's events up to the position, the rows of
//!   `ledger_events` by kind, and the rows of each kind's table (for
//!   `trade_closed` and `session_ended`: the closed rows of `trades` and
//!   `sessions`).
//! - Every row of every table, column by column: each row is derived again
//!   from the ledger's record (the same mapping the loader used,
//!   [`crate::sink::rows`]) and compared with the database's row, text
//!   exactly, numbers and decimals by value, `jsonb` as JSON values, times
//!   to the microsecond. A row deleted, added or edited in any column of
//!   any table is a difference naming the table, the sequence and the
//!   column. The ledger is read once; each table is read once, in
//!   sequence order, through a cursor (portal), so memory stays bounded
//!   but for the open trades and sessions being folded.
//!
//! Records after the position are not a difference: they are the sink's
//! lag, reported as such.

use std::collections::{BTreeMap, HashMap, VecDeque};

use ledger_core::{Kind, Reader, Seq};
use ledger_domain::{Decimal, EventKind};
use postgres::{Client, IsolationLevel, Portal, Transaction};

use crate::error::ToolError;
use crate::export_cmd::head_seq;
use crate::sink::copy_text::micros;
use crate::sink::error::{db_err, SinkError};
use crate::sink::position::{self, Position};
use crate::sink::rows::{
    event_row, kind_row, Cell, KindRow, Place, SESSION_END_AT, TRADE_CLOSE_AT,
};
use crate::sink::schema;
use crate::sink::tables::{ColType, Table};

/// Differences kept in the report (the rest are counted).
pub const KEPT: usize = 1000;

/// Rows fetched from a table's cursor at a time.
const FETCH: i32 = 2000;

/// One difference between the database and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The table (or `sink_position`, `sink_schema`).
    pub table: String,
    /// The record concerned, if one.
    pub seq: Option<u64>,
    /// What differs.
    pub what: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "{} seq {}: {}", self.table, seq, self.what),
            None => write!(f, "{}: {}", self.table, self.what),
        }
    }
}

/// Counts of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    /// The kind.
    pub kind: EventKind,
    /// Events of the kind in the ledger, up to the position.
    pub ledger: u64,
    /// Rows of `ledger_events` of the kind.
    pub ledger_events: u64,
    /// The kind's table.
    pub table: Table,
    /// Its rows for the kind (closed rows for `trade_closed` and `session_ended`).
    pub table_rows: u64,
}

/// What `--check` found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The ledger's id.
    pub ledger: String,
    /// The database.
    pub database: String,
    /// Its sink schema version (0: none).
    pub schema_version: i32,
    /// The sink's position, if any.
    pub position: Option<Position>,
    /// The ledger's last record.
    pub head: u64,
    /// Counts per kind.
    pub counts: Vec<KindCount>,
    /// Rows compared column by column.
    pub rows_compared: u64,
    /// The first [`KEPT`] differences.
    pub differences: Vec<Difference>,
    /// How many differences in all.
    pub difference_count: u64,
}

impl CheckReport {
    /// Whether the database holds exactly what the ledger gives up to the position.
    pub fn equal(&self) -> bool {
        self.difference_count == 0
    }

    /// Records of the ledger after the position (not sunk yet).
    pub fn lag(&self) -> u64 {
        self.head
            .saturating_sub(self.position.as_ref().map_or(0, |p| p.seq))
    }

    fn differ(&mut self, table: impl Into<String>, seq: Option<u64>, what: String) {
        self.difference_count += 1;
        if self.differences.len() < KEPT {
            self.differences.push(Difference {
                table: table.into(),
                seq,
                what,
            });
        }
    }
}

type DbRow = Vec<Option<String>>;

/// One table read in sequence order through a portal.
struct Stream {
    table: Table,
    portal: Portal,
    buf: VecDeque<DbRow>,
    done: bool,
}

impl Stream {
    fn peek(&mut self, tx: &mut Transaction<'_>, db: &str) -> Result<Option<&DbRow>, SinkError> {
        if self.buf.is_empty() && !self.done {
            let rows = tx
                .query_portal(&self.portal, FETCH)
                .map_err(db_err(db, format!("read {}", self.table)))?;
            // Only an empty answer ends the portal (an answer may be short).
            if rows.is_empty() {
                self.done = true;
            }
            for row in rows {
                let mut cells = Vec::with_capacity(row.len());
                for i in 0..row.len() {
                    cells.push(
                        row.try_get::<_, Option<String>>(i)
                            .map_err(db_err(db, format!("read {}", self.table)))?,
                    );
                }
                self.buf.push_back(cells);
            }
        }
        Ok(self.buf.front())
    }
}

fn row_seq(row: &DbRow) -> u64 {
    row.get(1)
        .and_then(|s| s.as_deref())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Whether the database's text of a column holds the cell's value.
pub fn cell_matches(cell: &Cell<'_>, ty: ColType, db: Option<&str>) -> bool {
    let Some(db) = db else {
        return matches!(cell, Cell::Null);
    };
    match (cell, ty) {
        (Cell::Null, _) => false,
        (Cell::Str(s), _) => s.as_ref() == db,
        (Cell::Int(n), _) => db.parse::<i64>().ok() == Some(*n),
        (Cell::U64(n), _) => db.parse::<u64>().ok() == Some(*n),
        (Cell::Dec(d), _) => db.parse::<Decimal>().ok() == Some(*d),
        (Cell::Json(s), _) => {
            let a = serde_json::from_str::<serde_json::Value>(s).ok();
            let b = serde_json::from_str::<serde_json::Value>(db).ok();
            a.is_some() && a == b
        }
        (Cell::Time(t), _) => db.parse::<i64>().ok() == Some(micros(t.as_nanos())),
    }
}

struct Checker<'r> {
    report: &'r mut CheckReport,
    rows_compared: u64,
}

impl Checker<'_> {
    fn compare(&mut self, table: Table, seq: u64, expected: &[Cell<'_>], db: &DbRow) {
        self.rows_compared += 1;
        for (i, col) in table.columns().iter().enumerate() {
            let cell = expected.get(i).unwrap_or(&Cell::Null);
            let got = db.get(i).and_then(|v| v.as_deref());
            if !cell_matches(cell, col.ty, got) {
                let shown = got.map_or_else(|| "NULL".to_owned(), |g| format!("{g:?}"));
                let want = match (cell, col.ty) {
                    (Cell::Time(t), _) => {
                        format!("{} µs since 1970 ({cell})", micros(t.as_nanos()))
                    }
                    _ => cell.to_string(),
                };
                self.report.differ(
                    table.name(),
                    Some(seq),
                    format!(
                        "column {}: the database has {shown}, the ledger gives {want}",
                        col.name
                    ),
                );
            }
        }
    }

    /// Matches the expected row `seq` against the stream's next rows:
    /// rows before it are extra, a row after it means it is missing.
    fn expect(
        &mut self,
        tx: &mut Transaction<'_>,
        db: &str,
        stream: &mut Stream,
        seq: u64,
        expected: &[Cell<'_>],
    ) -> Result<(), SinkError> {
        loop {
            let Some(row) = stream.peek(tx, db)? else {
                self.missing(stream.table, seq);
                return Ok(());
            };
            let at = row_seq(row);
            if at < seq {
                self.extra(stream.table, at);
                stream.buf.pop_front();
                continue;
            }
            if at > seq {
                self.missing(stream.table, seq);
                return Ok(());
            }
            let row = stream.buf.pop_front().unwrap_or_default();
            self.compare(stream.table, seq, expected, &row);
            return Ok(());
        }
    }

    fn missing(&mut self, table: Table, seq: u64) {
        self.report.differ(
            table.name(),
            Some(seq),
            "row missing: the ledger's record gives a row the database does not hold".to_owned(),
        );
    }

    fn extra(&mut self, table: Table, seq: u64) {
        self.report.differ(
            table.name(),
            Some(seq),
            "row not derived from the ledger: no record up to the position gives it".to_owned(),
        );
    }

    fn drain(
        &mut self,
        tx: &mut Transaction<'_>,
        db: &str,
        stream: &mut Stream,
    ) -> Result<(), SinkError> {
        while let Some(row) = stream.peek(tx, db)? {
            let at = row_seq(row);
            self.extra(stream.table, at);
            stream.buf.pop_front();
        }
        Ok(())
    }
}

/// A row being folded: opened by one record, closed by a later one.
struct Folded {
    seq: u64,
    cells: Vec<Cell<'static>>,
}

/// Compares the database with the ledger `reader` reads (which the caller
/// has verified). See the module docs.
pub fn check(
    client: &mut Client,
    database: &str,
    reader: &Reader,
) -> Result<CheckReport, ToolError> {
    let ledger = reader.ledger_id().to_hex();
    let head = head_seq(reader)?;
    let mut report = CheckReport {
        ledger: ledger.clone(),
        database: database.to_owned(),
        schema_version: 0,
        position: None,
        head,
        counts: Vec::new(),
        rows_compared: 0,
        differences: Vec::new(),
        difference_count: 0,
    };
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(db_err(database, "begin the check"))?;
    report.schema_version = schema::version(&mut tx, database)?;
    if report.schema_version == 0 {
        report.differ(
            "sink_schema",
            None,
            "the database holds no sink schema: nothing was ever sunk into it".to_owned(),
        );
        return Ok(report);
    }
    if report.schema_version > schema::CURRENT {
        return Err(SinkError::SchemaTooNew {
            database: database.to_owned(),
            found: report.schema_version,
            known: schema::CURRENT,
        }
        .into());
    }
    let pos = position::read(&mut tx, database, &ledger, false)?;
    report.position = pos.clone();
    let upto = match &pos {
        // An empty ledger sinks nothing and leaves no position.
        None if head == 0 => 0,
        None => {
            report.differ(
                "sink_position",
                None,
                format!("no position for ledger {ledger}: it was never sunk into this database, or its position row was removed"),
            );
            0
        }
        Some(p) if p.seq > head => {
            report.differ(
                "sink_position",
                Some(p.seq),
                format!("the position is past the ledger's last record {head}"),
            );
            head
        }
        Some(p) => {
            let mut c = reader.cursor_from(Seq::new(p.seq))?.verify_chain(true);
            match c.next_ref()? {
                Some(r) if r.chain_hash.to_hex() == p.chain_hash => {}
                Some(r) => report.differ(
                    "sink_position",
                    Some(p.seq),
                    format!(
                        "the database recorded chain hash {}, the ledger's record has {}",
                        p.chain_hash,
                        r.chain_hash.to_hex()
                    ),
                ),
                None => report.differ(
                    "sink_position",
                    Some(p.seq),
                    "the ledger does not hold the position's record".to_owned(),
                ),
            }
            p.seq
        }
    };

    // Counts, in the same snapshot.
    let mut db_kinds: HashMap<String, u64> = HashMap::new();
    for row in tx
        .query(
            "SELECT kind, count(*) FROM ledger_events WHERE ledger_id = $1 GROUP BY kind",
            &[&ledger],
        )
        .map_err(db_err(database, "count ledger_events by kind"))?
    {
        db_kinds.insert(row.get(0), u64::try_from(row.get::<_, i64>(1)).unwrap_or(0));
    }
    let mut table_rows: HashMap<Table, u64> = HashMap::new();
    for t in Table::ALL {
        let n: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE ledger_id = $1", t.name()),
                &[&ledger],
            )
            .map_err(db_err(database, format!("count {t}")))?
            .get(0);
        table_rows.insert(t, u64::try_from(n).unwrap_or(0));
    }
    let closed = |tx: &mut Transaction<'_>, sql: &str| -> Result<u64, SinkError> {
        let n: i64 = tx
            .query_one(sql, &[&ledger])
            .map_err(db_err(database, "count closed rows"))?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let trades_closed = closed(
        &mut tx,
        "SELECT count(*) FROM trades WHERE ledger_id = $1 AND closed_seq IS NOT NULL",
    )?;
    let sessions_ended = closed(
        &mut tx,
        "SELECT count(*) FROM sessions WHERE ledger_id = $1 AND ended_seq IS NOT NULL",
    )?;

    // Every row, one pass over the ledger and one over each table.
    let mut streams = Vec::with_capacity(Table::ALL.len());
    for t in Table::ALL {
        let portal = tx
            .bind(&t.check_query(), &[&ledger])
            .map_err(db_err(database, format!("read {t}")))?;
        streams.push(Stream {
            table: t,
            portal,
            buf: VecDeque::new(),
            done: false,
        });
    }
    let mut ledger_kinds: BTreeMap<EventKind, u64> = BTreeMap::new();
    let mut trades: Vec<Folded> = Vec::new();
    let mut sessions: Vec<Folded> = Vec::new();
    let mut open_trades: HashMap<String, Vec<usize>> = HashMap::new();
    let mut open_sessions: HashMap<String, Vec<usize>> = HashMap::new();
    let (mut expected_closed, mut expected_ended) = (0u64, 0u64);
    let mut checker = Checker {
        report: &mut report,
        rows_compared: 0,
    };
    if upto > 0 {
        let mut cursor = reader.cursor()?.verify_chain(true);
        while let Some(r) = cursor.next_ref()? {
            let seq = r.seq.get();
            if seq > upto {
                break;
            }
            if r.kind.get() >= Kind::RESERVED_START {
                continue;
            }
            let event = ledger_domain::decode(r.kind, r.version, r.payload)
                .map_err(|source| SinkError::Decode { seq, source })?;
            *ledger_kinds.entry(event.kind()).or_default() += 1;
            let hash = r.chain_hash.to_hex();
            let at = Place {
                ledger_id: &ledger,
                seq,
                time: r.timestamp,
                version: r.version.get(),
                chain_hash: &hash,
            };
            let row = event_row(&at, &event)?;
            checker.expect(&mut tx, database, &mut streams[0], seq, &row)?;
            let table = Table::of_kind(event.kind());
            match kind_row(&at, &event)? {
                KindRow::Insert(row) => match table {
                    Table::Trades | Table::Sessions => {
                        let (rows, open, key) = if table == Table::Trades {
                            (
                                &mut trades,
                                &mut open_trades,
                                event.trade_id().map(|t| t.as_str()),
                            )
                        } else {
                            (
                                &mut sessions,
                                &mut open_sessions,
                                Some(event.session().as_str()),
                            )
                        };
                        open.entry(key.unwrap_or_default().to_owned())
                            .or_default()
                            .push(rows.len());
                        rows.push(Folded {
                            seq,
                            cells: row.into_iter().map(Cell::into_owned).collect(),
                        });
                    }
                    _ => {
                        checker.expect(&mut tx, database, &mut streams[table.index()], seq, &row)?
                    }
                },
                KindRow::CloseTrade(c) => {
                    for i in open_trades.remove(c.trade_id).unwrap_or_default() {
                        if let Some(f) = trades.get_mut(i) {
                            close_cells(&mut f.cells, TRADE_CLOSE_AT, c.cells());
                            expected_closed += 1;
                        }
                    }
                }
                KindRow::EndSession(e) => {
                    for i in open_sessions.remove(e.session).unwrap_or_default() {
                        if let Some(f) = sessions.get_mut(i) {
                            close_cells(&mut f.cells, SESSION_END_AT, e.cells());
                            expected_ended += 1;
                        }
                    }
                }
            }
        }
    }
    for (table, rows) in [(Table::Trades, &trades), (Table::Sessions, &sessions)] {
        for f in rows {
            checker.expect(
                &mut tx,
                database,
                &mut streams[table.index()],
                f.seq,
                &f.cells,
            )?;
        }
    }
    for s in &mut streams {
        checker.drain(&mut tx, database, s)?;
    }
    let compared = checker.rows_compared;
    report.rows_compared = compared;

    // Counts per kind, and the tables' totals.
    for kind in EventKind::ALL {
        let table = Table::of_kind(kind);
        let table_rows = match kind {
            EventKind::TradeClosed => trades_closed,
            EventKind::SessionEnded => sessions_ended,
            _ if matches!(table, Table::Trades | Table::Sessions) => {
                table_rows.get(&table).copied().unwrap_or(0)
            }
            _ => table_rows.get(&table).copied().unwrap_or(0),
        };
        let count = KindCount {
            kind,
            ledger: ledger_kinds.get(&kind).copied().unwrap_or(0),
            ledger_events: db_kinds.remove(kind.name()).unwrap_or(0),
            table,
            table_rows,
        };
        let expected_table = match kind {
            EventKind::TradeClosed => expected_closed,
            EventKind::SessionEnded => expected_ended,
            _ => count.ledger,
        };
        if count.ledger_events != count.ledger {
            report.differ(
                "ledger_events",
                None,
                format!(
                    "{kind}: {} row(s), the ledger has {} event(s)",
                    count.ledger_events, count.ledger
                ),
            );
        }
        if count.table_rows != expected_table {
            let what = match kind {
                EventKind::TradeClosed => "closed row(s)",
                EventKind::SessionEnded => "ended row(s)",
                _ => "row(s)",
            };
            report.differ(
                table.name(),
                None,
                format!(
                    "{kind}: {} {what}, the ledger gives {expected_table}",
                    count.table_rows
                ),
            );
        }
        report.counts.push(count);
    }
    for (kind, n) in db_kinds {
        report.differ(
            "ledger_events",
            None,
            format!("{n} row(s) of kind {kind:?}, which is no event kind"),
        );
    }
    tx.commit().map_err(db_err(database, "end the check"))?;
    Ok(report)
}

fn close_cells<const N: usize>(cells: &mut [Cell<'static>], at: usize, values: [Cell<'static>; N]) {
    for (slot, v) in cells.iter_mut().skip(at).zip(values) {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::Timestamp;
    use std::borrow::Cow;

    #[test]
    fn cells_match_the_database_text_by_value() {
        let dec = |s: &str| Cell::Dec(s.parse().unwrap_or(Decimal::ZERO));
        assert!(cell_matches(&dec("280"), ColType::Numeric, Some("280.00")));
        assert!(!cell_matches(&dec("280"), ColType::Numeric, Some("280.01")));
        assert!(cell_matches(&Cell::Null, ColType::Text, None));
        assert!(!cell_matches(&Cell::Null, ColType::Text, Some("")));
        assert!(!cell_matches(
            &Cell::Str(Cow::Borrowed("a")),
            ColType::Text,
            None
        ));
        let json = Cell::Json(r#"{"b":"1","a":[1,2]}"#.to_owned());
        assert!(cell_matches(
            &json,
            ColType::Json,
            Some(r#"{"a": [1, 2], "b": "1"}"#)
        ));
        assert!(!cell_matches(
            &json,
            ColType::Json,
            Some(r#"{"a": [1, 2], "b": "2"}"#)
        ));
        let t = Cell::Time(Timestamp::from_nanos(1_500_999));
        assert!(cell_matches(&t, ColType::Time, Some("1500")));
        assert!(!cell_matches(&t, ColType::Time, Some("1501")));
        assert!(cell_matches(
            &Cell::U64(u64::MAX),
            ColType::Numeric,
            Some("18446744073709551615")
        ));
    }
}
