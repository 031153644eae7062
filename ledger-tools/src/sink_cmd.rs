//! `ledger sink --postgres URL [--follow] [--check]`: the ledger's events
//! loaded into PostgreSQL tables (`docs/SINK.md`), or the database
//! compared with the ledger.
//!
//! 1. Connects (a bad URL, a refused connection or a failed login ends
//!    with exit code 2, naming the database without its password).
//! 2. Verifies the whole ledger as `ledger verify` does; a ledger that is
//!    not intact is refused (exit code 1) before anything is loaded.
//! 3. Loading: migrates the schema (`sink_schema`), takes the ledger's
//!    sink lock, reads the sink's position and checks that the ledger
//!    still holds that record with that chain hash (else exit code 1: not
//!    the ledger that was sunk, or rewritten), then loads every record
//!    after it in batches, each committed with the new position in one
//!    transaction ([`sink::load`]); with `--follow`, goes on with new
//!    records until SIGINT or SIGTERM ([`sink::follow`]).
//! 4. `--check`: compares the database with the ledger ([`sink::check`]);
//!    exit code 1 on any difference, 0 when equal.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ledger_core::{verify_dir, Reader, VerifyOptions};
use serde_json::json;

use crate::error::{finish, ToolError};
use crate::exit::Exit;
use crate::export_cmd::head_seq;
use crate::human::seconds;
use crate::progress::Progress;
use crate::sink::check::{check, CheckReport};
use crate::sink::connect::connect;
use crate::sink::follow::{pump, stop_flag, Ended, FollowOptions};
use crate::sink::load::Loader;
use crate::sink::tables::Table;
use crate::sink::{position, schema, SinkError};

/// The examples in `ledger sink --help`.
pub const SINK_EXAMPLES: &str = "\
Examples:
  ledger -d ./live sink --postgres postgresql://ledger@db.internal/trading
  ledger -d ./live sink --postgres postgresql://ledger@db.internal/trading --follow
  ledger -d ./live sink --postgres postgresql://ledger@db.internal/trading --check
  LEDGER_POSTGRES=postgresql://ledger:secret@localhost/trading ledger -d ./live sink --json

Loads every event after the sink's position into ledger_events and one table
per kind (docs/SINK.md), with COPY, each batch committed with the position in
one transaction: a run that is killed is resumed by the next, exactly once.
Several ledgers share one database, told apart by ledger_id. The ledger is
verified first; a damaged ledger is refused. --check compares every row of
every table with the ledger, and the chain hash at the position.

Exit codes: 0 loaded (or --check: equal), 1 the ledger is damaged, does not
hold the sink's position (rewritten or replaced), or --check found a
difference, 2 usage error, bad URL, unreachable server, failed login.";

/// Options of `ledger sink`.
#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// The database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or
    /// `host=... user=... dbname=...` (no TLS: a local server, a socket
    /// folder as host, or a tunnel).
    #[arg(
        long,
        value_name = "URL",
        env = "LEDGER_POSTGRES",
        hide_env_values = true
    )]
    pub postgres: String,

    /// Keep loading new events as they are appended, until SIGINT or SIGTERM.
    #[arg(long, conflicts_with = "check")]
    pub follow: bool,

    /// Compare the database with the ledger instead of loading: counts per
    /// kind, every row's columns, the chain hash at the position.
    #[arg(long)]
    pub check: bool,

    /// Records per transaction, at most.
    #[arg(long, value_name = "N", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// How often to look for new events while following, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100, hide = true)]
    pub poll_ms: u64,

    /// Migrate the schema only up to this version (to test migrations).
    #[arg(long, value_name = "V", default_value_t = schema::CURRENT, hide = true)]
    pub schema_version: i32,
}

/// Runs `ledger sink` on `dir`.
pub fn run(dir: &Path, args: &SinkArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let reader = Reader::open(dir)?;
    let mut db = connect(&args.postgres)?;
    refuse_damaged(dir)?;
    if args.check {
        let report = check(&mut db.client, &db.name, &reader)?;
        let exit = if report.equal() {
            Exit::Success
        } else {
            Exit::Damage
        };
        let written = if args.json {
            writeln!(out, "{:#}", check_json(&report))
        } else {
            write_check(&report, out)
        };
        return finish(exit, written);
    }

    let started = Instant::now();
    let migrated = schema::migrate(&mut db.client, &db.name, args.schema_version)?;
    let ledger = reader.ledger_id().to_hex();
    position::lock(&mut db.client, &db.name, &ledger)?;
    let pos = position::read(&mut db.client, &db.name, &ledger, false)?;
    if pos.is_none() && position::has_rows(&mut db.client, &db.name, &ledger)? {
        return Err(SinkError::NoPosition {
            ledger,
            database: db.name.clone(),
        }
        .into());
    }
    let mut cursor = position::resume(&reader, &db.name, pos.as_ref())?;
    let from = pos.as_ref().map_or(1, |p| p.seq + 1);
    let head = head_seq(&reader)?;
    let progress = if !args.follow && head.saturating_sub(from) > 100_000 {
        let p = Progress::bar(head, "sinking", "records");
        p.set(from.saturating_sub(1));
        p
    } else {
        Progress::hidden()
    };
    let stop = if args.follow {
        let _ = writeln!(
            std::io::stderr(),
            "following ledger {ledger} into {} from record {from}; Ctrl-C or SIGTERM stops",
            db.name
        );
        Some(stop_flag()?)
    } else {
        None
    };
    let mut loader = Loader::new(ledger.clone(), db.name.clone(), pos);
    let opts = FollowOptions {
        batch: args.batch,
        follow: args.follow,
        poll: Duration::from_millis(args.poll_ms.max(10)),
    };
    let ended = pump(
        &mut db.client,
        &mut loader,
        &mut cursor,
        opts,
        stop.as_deref(),
        &progress,
    )?;
    progress.finish();
    let took = started.elapsed();
    let t = &loader.totals;
    let position = loader.position();
    let written = if args.json {
        let rows: serde_json::Map<String, serde_json::Value> = Table::ALL
            .iter()
            .map(|tb| (tb.name().to_owned(), json!(t.rows[tb.index()])))
            .collect();
        let v = json!({
            "ledger_id": ledger,
            "database": db.name,
            "schema": {"from": migrated.from, "to": migrated.to},
            "from_seq": from,
            "records": t.records,
            "events": t.events,
            "batches": t.batches,
            "rows": rows,
            "trades_closed": t.closed[0],
            "sessions_ended": t.closed[1],
            "position": position.map(|p| json!({"seq": p.seq, "chain_hash": p.chain_hash})),
            "stopped_by_signal": ended == Ended::Signal,
            "seconds": took.as_secs_f64(),
        });
        writeln!(out, "{v:#}")
    } else {
        write_load(out, &db.name, &ledger, migrated, from, t, position, took)
    };
    finish(Exit::Success, written)
}

/// Refuses a ledger that `ledger verify` would not call intact.
fn refuse_damaged(dir: &Path) -> Result<(), ToolError> {
    let progress = crate::progress::verifying(dir);
    let report = verify_dir(dir, &VerifyOptions::default())?;
    progress.finish();
    let damage: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind.is_damage())
        .collect();
    match damage.first() {
        None => Ok(()),
        Some(first) => Err(ToolError::Damaged {
            what: "refusing to sink it",
            dir: dir.to_owned(),
            findings: damage.len(),
            first: first.to_string(),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn write_load(
    out: &mut dyn Write,
    database: &str,
    ledger: &str,
    migrated: schema::Migrated,
    from: u64,
    t: &crate::sink::load::Totals,
    position: Option<&position::Position>,
    took: Duration,
) -> std::io::Result<()> {
    if migrated.from != migrated.to {
        writeln!(
            out,
            "schema: version {} -> {} (recorded in sink_schema)",
            migrated.from, migrated.to
        )?;
    }
    writeln!(
        out,
        "sank {} event(s) ({} record(s) from record {from}) of ledger {ledger} into {database} in {} batch(es), {}",
        t.events,
        t.records,
        t.batches,
        seconds(took)
    )?;
    for table in Table::ALL {
        let n = t.rows[table.index()];
        if n > 0 {
            writeln!(out, "  {:<20} +{n}", table.name())?;
        }
    }
    if t.closed[0] > 0 {
        writeln!(out, "  trades closed        {}", t.closed[0])?;
    }
    if t.closed[1] > 0 {
        writeln!(out, "  sessions ended       {}", t.closed[1])?;
    }
    match position {
        Some(p) => writeln!(out, "position: {p}"),
        None => writeln!(out, "position: none (the ledger holds no record)"),
    }
}

fn write_check(r: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "ledger {} in {} (sink schema version {})",
        r.ledger, r.database, r.schema_version
    )?;
    match &r.position {
        Some(p) => writeln!(out, "position: {p}")?,
        None => writeln!(out, "position: none")?,
    }
    if !r.counts.is_empty() {
        writeln!(
            out,
            "{:<18} {:>10} {:>14}  table",
            "kind", "ledger", "ledger_events"
        )?;
        for c in &r.counts {
            writeln!(
                out,
                "{:<18} {:>10} {:>14}  {} {}",
                c.kind.name(),
                c.ledger,
                c.ledger_events,
                c.table.name(),
                c.table_rows
            )?;
        }
        writeln!(out, "rows compared column by column: {}", r.rows_compared)?;
    }
    let lag = r.lag();
    if lag > 0 && r.position.is_some() {
        writeln!(
            out,
            "lag: the ledger holds {lag} record(s) after the position, not sunk yet (not a difference)"
        )?;
    }
    for d in &r.differences {
        writeln!(out, "difference: {d}")?;
    }
    let kept = r.differences.len() as u64;
    if r.difference_count > kept {
        writeln!(
            out,
            "... and {} more difference(s)",
            r.difference_count - kept
        )?;
    }
    if r.equal() {
        let upto = r.position.as_ref().map_or(0, |p| p.seq);
        writeln!(
            out,
            "result: the database matches the ledger up to record {upto}"
        )
    } else {
        writeln!(
            out,
            "result: {} DIFFERENCE(S) between the database and the ledger",
            r.difference_count
        )
    }
}

fn check_json(r: &CheckReport) -> serde_json::Value {
    json!({
        "ledger_id": r.ledger,
        "database": r.database,
        "schema_version": r.schema_version,
        "position": r.position.as_ref().map(|p| json!({"seq": p.seq, "chain_hash": p.chain_hash})),
        "head": r.head,
        "lag": r.lag(),
        "counts": r.counts.iter().map(|c| json!({
            "kind": c.kind.name(),
            "ledger": c.ledger,
            "ledger_events": c.ledger_events,
            "table": c.table.name(),
            "table_rows": c.table_rows,
        })).collect::<Vec<_>>(),
        "rows_compared": r.rows_compared,
        "differences": r.differences.iter().map(|d| json!({
            "table": d.table,
            "seq": d.seq,
            "what": d.what,
        })).collect::<Vec<_>>(),
        "difference_count": r.difference_count,
        "equal": r.equal(),
    })
}
