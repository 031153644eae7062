//! `sink`: events per second into PostgreSQL, `COPY` (what `ledger sink`
//! does) beside one `INSERT` per row, and the sink's lag under `--follow`.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-bench cargo run --release -p ledger-benches --bin sink -- [--events N] [--insert-events M] [--postgres URL]
//! ```
//!
//! Without `--postgres`, it starts its own throwaway cluster (the tests'
//! helper, `ledger-tools/tests/common/pg.rs`: initdb in a temporary folder,
//! fsync off) with one database per method. With `--postgres URL`, the
//! database named there is a scratch database: the sink's tables in it are
//! dropped before each method.
//!
//! 1. A demo ledger of N generated events (default 500,000).
//! 2. COPY: the sink's own loader ([`ledger_tools::sink::load`]) over every
//!    record, batches of 20,000 records, each committed with the position.
//! 3. INSERT ("one INSERT per event"): the same rows, written with one
//!    prepared `INSERT` statement per row of every table (no `COPY`), in
//!    the loader's transactions (20,000 records each, ending with the
//!    position), over the first M events (default 50,000). Like the
//!    loader, a trade or session closed in the same transaction is
//!    inserted closed, and a close of an earlier transaction's row is one
//!    `UPDATE`. Its rows are then compared with the ledger by `ledger sink
//!    --check`'s own comparison (not timed): the baseline writes exactly
//!    what the sink writes.
//! 4. INSERT with autocommit: the same, each statement its own
//!    transaction (every close an `UPDATE`), M / 10 events.
//! 5. Lag: a follow loop (the sink's own, polling every 100 ms as `ledger
//!    sink --follow` does, and every 10 ms) while this process appends
//!    events one at a time; the time from the append's return to the row
//!    being visible to another connection.
//!
//! Times include reading the records through a chain-checking cursor,
//! decoding and mapping them (the whole sink but the start-up verification).

#[path = "../../../ledger-tools/tests/common/pg.rs"]
mod pg;

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use ledger_benches::machine_description;
use ledger_core::{Kind, Reader};
use ledger_domain::{AuditNote, Event, TradingLedger};
use ledger_tools::cli::Cli;
use ledger_tools::progress::Progress;
use ledger_tools::sink::check::check;
use ledger_tools::sink::connect::connect;
use ledger_tools::sink::follow::{pump, FollowOptions};
use ledger_tools::sink::load::Loader;
use ledger_tools::sink::rows::{
    event_row, kind_row, KindRow, Place, SESSION_END_AT, SESSION_KEY_AT, TRADE_CLOSE_AT,
    TRADE_KEY_AT,
};
use ledger_tools::sink::schema;
use ledger_tools::sink::tables::{ColType, Table};
use postgres::types::Type;
use postgres::{Client, Statement};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const BATCH: u64 = 20_000;

/// The command line: `--events N`, `--insert-events M`, `--postgres URL`.
struct Args {
    events: u64,
    inserts: u64,
    postgres: Option<String>,
}

fn args() -> Result<Args> {
    let mut out = Args {
        events: 500_000,
        inserts: 50_000,
        postgres: None,
    };
    let mut args = std::env::args().skip(1);
    let count = |flag: &str, v: Option<String>| -> Result<u64> {
        let v = v.ok_or_else(|| format!("{flag} needs a number"))?;
        let n: u64 = v
            .replace('_', "")
            .parse()
            .map_err(|e| format!("{flag} {v:?}: {e}"))?;
        if n == 0 {
            return Err(format!("{flag} must be at least 1").into());
        }
        Ok(n)
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--events" => out.events = count("--events", args.next())?,
            "--insert-events" => out.inserts = count("--insert-events", args.next())?,
            "--postgres" => out.postgres = Some(args.next().ok_or("--postgres needs a URL")?),
            "-h" | "--help" => {
                println!("usage: sink [--events N (500000)] [--insert-events M (50000)] [--postgres URL (a scratch database)]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(out)
}

/// Where the databases come from.
enum Server {
    Own(pg::Cluster),
    Given(String),
}

impl Server {
    /// A fresh database (or the given one, emptied of the sink's tables).
    fn database(&self, name: &str) -> Result<String> {
        match self {
            Server::Own(c) => Ok(c.create_db(name)),
            Server::Given(url) => {
                let mut db = connect(url)?;
                let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
                db.client.batch_execute(&format!(
                    "DROP TABLE IF EXISTS {}, sink_position, sink_schema CASCADE",
                    tables.join(", ")
                ))?;
                Ok(url.clone())
            }
        }
    }
}

fn main() -> Result<()> {
    let args = args()?;
    let events = args.events;
    let inserts = args.inserts.min(events);
    let server = match args.postgres {
        Some(url) => Server::Given(url),
        None => {
            Server::Own(pg::Cluster::start().ok_or("no PostgreSQL installed (initdb not found)")?)
        }
    };
    println!("machine: {}", machine_description());

    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("ledger");
    let dir_s = dir.to_str().ok_or("temp path is not UTF-8")?;
    let made = Instant::now();
    let demo = Cli::try_parse_from([
        "ledger",
        "-d",
        dir_s,
        "demo",
        "--events",
        &events.to_string(),
        "--segment-size",
        "64MiB",
    ])?;
    ledger_tools::run(&demo, &mut std::io::sink())?;
    let reader = Reader::open(&dir)?;
    let id = reader.ledger_id().to_hex();
    let records = ledger_tools::export_cmd::head_seq(&reader)?;
    println!(
        "ledger: {records} records (demo --events {events}), made in {:.1} s",
        made.elapsed().as_secs_f64()
    );

    // COPY, as `ledger sink` loads.
    let url = server.database("bench_copy")?;
    let mut db = connect(&url)?;
    schema::migrate(&mut db.client, &db.name, schema::CURRENT)?;
    let mut cursor = reader.cursor()?.verify_chain(true);
    let mut loader = Loader::new(id.clone(), db.name.clone(), None);
    let opts = FollowOptions {
        batch: BATCH,
        follow: false,
        poll: Duration::from_millis(100),
    };
    let t = Instant::now();
    pump(
        &mut db.client,
        &mut loader,
        &mut cursor,
        opts,
        None,
        &Progress::hidden(),
    )?;
    let copy_secs = t.elapsed().as_secs_f64();
    let copy_rate = loader.totals.events as f64 / copy_secs;
    println!(
        "COPY: {} events ({} rows) in {copy_secs:.2} s: {copy_rate:.0} events/s",
        loader.totals.events,
        loader.totals.rows.iter().sum::<u64>()
    );

    // One INSERT per row, a transaction per batch.
    let url = server.database("bench_insert")?;
    let (n, secs) = insert_rows(&url, &reader, &id, inserts, false)?;
    let insert_rate = n as f64 / secs;
    println!("INSERT per row, a transaction per {BATCH} records: {n} events in {secs:.2} s: {insert_rate:.0} events/s");

    // One INSERT per row, each its own transaction.
    let url = server.database("bench_autocommit")?;
    let (n_ac, secs_ac) = insert_rows(&url, &reader, &id, (inserts / 10).max(1), true)?;
    let ac_rate = n_ac as f64 / secs_ac;
    println!("INSERT per row, autocommit: {n_ac} events in {secs_ac:.2} s: {ac_rate:.0} events/s");

    // Lag under --follow.
    let mut lags = Vec::new();
    for poll_ms in [100u64, 10] {
        let url = server.database(&format!("bench_lag_{poll_ms}"))?;
        let l = lag(&url, tmp.path(), poll_ms, 40)?;
        lags.push((poll_ms, l));
    }

    let ratio = copy_rate / insert_rate;
    println!();
    println!("| measurement | events | events/s |");
    println!("| --- | ---: | ---: |");
    println!(
        "| `ledger sink` (COPY, {BATCH} records a transaction) | {} | {copy_rate:.0} |",
        loader.totals.events
    );
    println!("| one INSERT per row, a transaction per {BATCH} records | {n} | {insert_rate:.0} |");
    println!("| one INSERT per row, autocommit | {n_ac} | {ac_rate:.0} |");
    for (poll, l) in &lags {
        println!(
            "| sink lag under `--follow` (poll {poll} ms): append to visible row, p50 / p90 / max of {} | | {:.1} / {:.1} / {:.1} ms |",
            l.len(),
            pct(l, 50),
            pct(l, 90),
            pct(l, 100)
        );
    }
    println!();
    println!(
        "target COPY >= 10x INSERT: {:.1}x ({})",
        ratio,
        if ratio >= 10.0 { "met" } else { "NOT met" }
    );
    println!(
        "target >= 100k events/s: {copy_rate:.0} ({})",
        if copy_rate >= 100_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}

fn pct(sorted_ms: &[f64], p: usize) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let i = ((sorted_ms.len() - 1) * p) / 100;
    sorted_ms[i]
}

/// `INSERT INTO t (cols) VALUES ($1, $2::bigint, ...)`, every parameter text.
fn insert_statement(client: &mut Client, table: Table) -> Result<Statement> {
    let cols = table.columns();
    let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let params: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cast = match c.ty {
                ColType::Text => "",
                ColType::Int => "::bigint",
                ColType::Numeric => "::numeric",
                ColType::Json => "::jsonb",
                ColType::Time => "::timestamptz",
            };
            format!("${}{cast}", i + 1)
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.name(),
        names.join(", "),
        params.join(", ")
    );
    Ok(client.prepare_typed(&sql, &vec![Type::TEXT; cols.len()])?)
}

/// The rows of `trades` or `sessions` of the open transaction, held until
/// its end so that closes in it fold into them: the baseline writes the
/// very rows the loader writes (`ledger_tools::sink::load`).
#[derive(Default)]
struct Held {
    rows: Vec<Vec<Option<String>>>,
    open: std::collections::HashMap<String, Vec<usize>>,
}

impl Held {
    fn push(&mut self, key_at: usize, row: Vec<Option<String>>) {
        let key = row.get(key_at).cloned().flatten().unwrap_or_default();
        self.open.entry(key).or_default().push(self.rows.len());
        self.rows.push(row);
    }

    fn close(&mut self, key: &str, at: usize, cells: &[Option<String>]) {
        for i in self.open.remove(key).unwrap_or_default() {
            if let Some(row) = self.rows.get_mut(i) {
                for (j, c) in cells.iter().enumerate() {
                    if let Some(slot) = row.get_mut(at + j) {
                        slot.clone_from(c);
                    }
                }
            }
        }
    }
}

/// Loads the first `limit` events one statement per row: one `INSERT`
/// per row of every table, the same rows as the loader writes (a trade or
/// session closed in the same transaction is inserted closed; a close of
/// an earlier transaction's row is one `UPDATE`), in transactions of
/// [`BATCH`] records each ending with the position, as the loader's; or,
/// with `autocommit`, each statement its own transaction. Returns the
/// events loaded and the seconds it took.
fn insert_rows(
    url: &str,
    reader: &Reader,
    id: &str,
    limit: u64,
    autocommit: bool,
) -> Result<(u64, f64)> {
    let mut db = connect(url)?;
    schema::migrate(&mut db.client, &db.name, schema::CURRENT)?;
    let c = &mut db.client;
    // Plan each close with its parameters: a generic plan made while the
    // tables are empty scans `trades` for every close, which would make
    // this baseline look slower than one statement per row is.
    c.batch_execute("SET plan_cache_mode = force_custom_plan")?;
    let mut inserts = Vec::new();
    for t in Table::ALL {
        inserts.push(insert_statement(c, t)?);
    }
    let close_trade = c.prepare_typed(
        "UPDATE trades SET closed_seq = $2::bigint, closed_at = $3::timestamptz, exit_price = $4::numeric,
                close_fees = $5::numeric, realized_pnl = $6::numeric, close_order_id = $7
         WHERE ledger_id = $1 AND trade_id = $8 AND closed_seq IS NULL AND seq < $2::bigint
           AND seq < $9::bigint",
        &[Type::TEXT; 9],
    )?;
    let end_session = c.prepare_typed(
        "UPDATE sessions SET ended_seq = $2::bigint, ended_at = $3::timestamptz, end_reason = $4
         WHERE ledger_id = $1 AND session = $5 AND ended_seq IS NULL AND seq < $2::bigint
           AND seq < $6::bigint",
        &[Type::TEXT; 6],
    )?;
    let position = c.prepare(
        "INSERT INTO sink_position (ledger_id, seq, chain_hash) VALUES ($1, $2, $3)
         ON CONFLICT (ledger_id) DO UPDATE SET seq = EXCLUDED.seq, chain_hash = EXCLUDED.chain_hash",
    )?;
    let mut cursor = reader.cursor()?.verify_chain(true);
    let started = Instant::now();
    let mut n = 0u64;
    let mut in_tx = 0u64;
    // The first sequence of the open transaction; with autocommit every
    // row is its own, so nothing is held.
    let mut first: Option<u64> = None;
    let (mut trades, mut sessions) = (Held::default(), Held::default());
    let mut last: Option<(i64, String)> = None;
    let flush = |c: &mut Client, trades: &mut Held, sessions: &mut Held| -> Result<()> {
        for (held, table) in [(trades, Table::Trades), (sessions, Table::Sessions)] {
            for row in held.rows.drain(..) {
                execute(c, &inserts[table.index()], &row)?;
            }
            held.open.clear();
        }
        Ok(())
    };
    if !autocommit {
        c.batch_execute("BEGIN")?;
    }
    while n < limit {
        let Some(r) = cursor.next_ref()? else { break };
        if r.kind.get() >= Kind::RESERVED_START {
            continue;
        }
        let seq = r.seq.get();
        let first_text = Some(first.get_or_insert(seq).to_string());
        if autocommit {
            first = None;
        }
        let event = ledger_domain::decode(r.kind, r.version, r.payload)?;
        let hash = r.chain_hash.to_hex();
        let at = Place {
            ledger_id: id,
            seq,
            time: r.timestamp,
            version: r.version.get(),
            chain_hash: &hash,
        };
        let texts = |cells: &[ledger_tools::sink::rows::Cell<'_>]| -> Vec<Option<String>> {
            cells.iter().map(|c| c.text()).collect()
        };
        let row = texts(&event_row(&at, &event)?);
        execute(c, &inserts[Table::LedgerEvents.index()], &row)?;
        match kind_row(&at, &event)? {
            KindRow::Insert(cells) => {
                let table = Table::of_kind(event.kind());
                let row = texts(&cells);
                match (table, autocommit) {
                    (Table::Trades, false) => trades.push(TRADE_KEY_AT, row),
                    (Table::Sessions, false) => sessions.push(SESSION_KEY_AT, row),
                    _ => {
                        execute(c, &inserts[table.index()], &row)?;
                    }
                }
            }
            KindRow::CloseTrade(t) => {
                let cells = texts(&t.cells());
                trades.close(t.trade_id, TRADE_CLOSE_AT, &cells);
                let mut p = vec![Some(id.to_owned())];
                p.extend(cells);
                p.push(Some(t.trade_id.to_owned()));
                p.push(first_text);
                execute(c, &close_trade, &p)?;
            }
            KindRow::EndSession(e) => {
                let cells = texts(&e.cells());
                sessions.close(e.session, SESSION_END_AT, &cells);
                let mut p = vec![Some(id.to_owned())];
                p.extend(cells);
                p.push(Some(e.session.to_owned()));
                p.push(first_text);
                execute(c, &end_session, &p)?;
            }
        }
        n += 1;
        in_tx += 1;
        last = Some((i64::try_from(seq)?, hash.clone()));
        if !autocommit && in_tx == BATCH {
            flush(c, &mut trades, &mut sessions)?;
            let seq = i64::try_from(seq)?;
            c.execute(&position, &[&id, &seq, &hash])?;
            c.batch_execute("COMMIT; BEGIN")?;
            in_tx = 0;
            first = None;
        }
    }
    if !autocommit {
        flush(c, &mut trades, &mut sessions)?;
        if let Some((seq, hash)) = &last {
            c.execute(&position, &[&id, seq, hash])?;
        }
        c.batch_execute("COMMIT")?;
    }
    let secs = started.elapsed().as_secs_f64();
    // Not timed: the rows are the loader's rows (`ledger sink --check`).
    if autocommit {
        if let Some((seq, hash)) = &last {
            c.execute(&position, &[&id, seq, hash])?;
        }
    }
    let report = check(c, &db.name, reader)?;
    if !report.equal() {
        return Err(format!(
            "the INSERT baseline's rows differ from the ledger: {:?}",
            report.differences.first()
        )
        .into());
    }
    Ok((n, secs))
}

fn execute(c: &mut Client, st: &Statement, params: &[Option<String>]) -> Result<u64> {
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect();
    Ok(c.execute(st, &refs)?)
}

/// Appends `samples` events one at a time to a small ledger while a follow
/// loop polling every `poll_ms` sinks it; the milliseconds from each
/// append's return to its row being visible, sorted.
fn lag(url: &str, tmp: &std::path::Path, poll_ms: u64, samples: u32) -> Result<Vec<f64>> {
    let dir = tmp.join(format!("lag-{poll_ms}"));
    let dir_s = dir.to_str().ok_or("temp path is not UTF-8")?.to_owned();
    let demo = Cli::try_parse_from(["ledger", "-d", &dir_s, "demo", "--events", "1000"])?;
    ledger_tools::run(&demo, &mut std::io::sink())?;
    let reader = Reader::open(&dir)?;
    let id = reader.ledger_id().to_hex();

    {
        let mut db = connect(url)?;
        schema::migrate(&mut db.client, &db.name, schema::CURRENT)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let (url, id, stop, dir) = (url.to_owned(), id.clone(), Arc::clone(&stop), dir.clone());
        std::thread::spawn(move || -> Result<()> {
            let mut db = connect(&url)?;
            let reader = Reader::open(&dir)?;
            let mut cursor = reader.cursor()?.verify_chain(true);
            let mut loader = Loader::new(id, db.name.clone(), None);
            let opts = FollowOptions {
                batch: BATCH,
                follow: true,
                poll: Duration::from_millis(poll_ms),
            };
            pump(
                &mut db.client,
                &mut loader,
                &mut cursor,
                opts,
                Some(&stop),
                &Progress::hidden(),
            )?;
            Ok(())
        })
    };
    let mut watcher = connect(url)?;
    let visible = |c: &mut Client, seq: i64| -> Result<bool> {
        Ok(c.query_opt(
            "SELECT 1 FROM ledger_events WHERE ledger_id = $1 AND seq = $2",
            &[&id, &seq],
        )?
        .is_some())
    };
    let mut ledger = TradingLedger::open(&dir, ledger_core::WriterOptions::default())?;
    // Wait for the initial load.
    let head = i64::try_from(ledger_tools::export_cmd::head_seq(&reader)?)?;
    while !visible(&mut watcher.client, head)? {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut out = Vec::new();
    for i in 0..samples {
        let event = Event::Audit(AuditNote {
            session: "lag".into(),
            who: "bench".into(),
            action: "probe".into(),
            target: format!("sample {i}"),
            reason: "sink lag".into(),
        });
        let receipt = ledger.append(&event)?;
        let t = Instant::now();
        let seq = i64::try_from(receipt.seq.get())?;
        while !visible(&mut watcher.client, seq)? {
            std::thread::sleep(Duration::from_micros(500));
        }
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        // Appends land at varied points of the poll cycle.
        std::thread::sleep(Duration::from_millis(7 + u64::from(i * 13 % 31)));
    }
    stop.store(true, Ordering::Relaxed);
    follower
        .join()
        .map_err(|_| "the follow thread panicked")??;
    ledger.close()?;
    out.sort_by(f64::total_cmp);
    Ok(out)
}
