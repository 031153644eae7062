//! `ledger sink --postgres` against a real PostgreSQL server: a throwaway
//! cluster started by the first test ([`common::pg`]), one database per
//! test. Skipped when PostgreSQL is not installed, unless
//! `LEDGER_REQUIRE_POSTGRES` is set (as `.ci/run` sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::pg::{self, Cluster};
use common::{
    assert_contains, command, demo, flip_middle_byte, json, ok, on, sealed_segments, ChildGuard,
};

/// The running cluster, or `None` to skip.
fn cluster() -> Option<&'static Cluster> {
    pg::shared()
}

/// `ledger -d DIR sink --postgres URL <args>`.
fn sink(dir: &Path, url: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["sink", "--postgres", url];
    all.extend_from_slice(args);
    on(dir, &all)
}

fn count(c: &mut postgres::Client, sql: &str, ledger: &str) -> i64 {
    c.query_one(sql, &[&ledger]).unwrap().get(0)
}

fn ledger_id(dir: &Path) -> String {
    json(&ok(on(dir, &["stats", "--json"])))["ledger_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_demo_ledger_loads_with_its_counts_and_exact_money() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("load_demo");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 3000);
    let id = ledger_id(&dir);

    let run = ok(sink(&dir, &url, &["--json"]));
    let summary = json(&run);
    let stats = json(&ok(on(&dir, &["stats", "--json"])));
    let records = stats["records"].as_u64().unwrap();
    assert_eq!(summary["events"].as_u64(), Some(records));
    assert_eq!(summary["position"]["seq"].as_u64(), Some(records));
    assert_eq!(
        summary["position"]["chain_hash"],
        stats["head"]["chain_hash"]
    );
    assert_eq!(summary["schema"]["to"], 3);

    let mut c = pg.client("load_demo");
    // Counts per kind: ledger_events and each kind's table.
    for (kind, n) in stats["counts"].as_object().unwrap() {
        let n = n.as_i64().unwrap();
        let got: i64 = c
            .query_one(
                "SELECT count(*) FROM ledger_events WHERE ledger_id = $1 AND kind = $2",
                &[&id, kind],
            )
            .unwrap()
            .get(0);
        assert_eq!(got, n, "ledger_events of kind {kind}");
        let table_sql = match kind.as_str() {
            "session_started" => "SELECT count(*) FROM sessions WHERE ledger_id = $1",
            "session_ended" => {
                "SELECT count(*) FROM sessions WHERE ledger_id = $1 AND ended_seq IS NOT NULL"
            }
            "decision" => "SELECT count(*) FROM decisions WHERE ledger_id = $1",
            "execution" => "SELECT count(*) FROM executions WHERE ledger_id = $1",
            "trade_opened" => "SELECT count(*) FROM trades WHERE ledger_id = $1",
            "trade_filled" => "SELECT count(*) FROM trade_fills WHERE ledger_id = $1",
            "trade_closed" => {
                "SELECT count(*) FROM trades WHERE ledger_id = $1 AND closed_seq IS NOT NULL"
            }
            "position_snapshot" => "SELECT count(*) FROM position_snapshots WHERE ledger_id = $1",
            "risk" => "SELECT count(*) FROM risk_events WHERE ledger_id = $1",
            "system" => "SELECT count(*) FROM system_events WHERE ledger_id = $1",
            "metric" => "SELECT count(*) FROM metrics WHERE ledger_id = $1",
            "audit" => "SELECT count(*) FROM audit_events WHERE ledger_id = $1",
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(count(&mut c, table_sql, &id), n, "table of kind {kind}");
    }
    // Exact money: the report's net P&L and best trade, as numeric.
    let report = json(&ok(on(&dir, &["report", "--json"])));
    let net: String = c
        .query_one(
            "SELECT sum(realized_pnl)::text FROM trades WHERE ledger_id = $1 AND closed_seq IS NOT NULL",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(net, report["total"]["net_pnl"].as_str().unwrap());
    let best = &report["total"]["best_trade"];
    let pnl: String = c
        .query_one(
            "SELECT realized_pnl::text FROM trades WHERE ledger_id = $1 AND trade_id = $2",
            &[&id, &best["trade_id"].as_str().unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(pnl, best["net_pnl"].as_str().unwrap());
    // The scripted trade T1 of docs/EVENTS.md: 280 exactly.
    let t1: String = c
        .query_one(
            "SELECT realized_pnl::text FROM trades WHERE ledger_id = $1 AND trade_id = 'T1'",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(t1, "280");
    // jsonb: the decision's reasoning and market.
    let (steps, bid): (i32, String) = c
        .query_one(
            "SELECT jsonb_array_length(reasoning), market->>'bid' FROM decisions WHERE ledger_id = $1 AND decision_id = 'D1'",
            &[&id],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((steps, bid.as_str()), (4, "39990"));

    // Run again: nothing new, nothing twice.
    let again = json(&ok(sink(&dir, &url, &["--json"])));
    assert_eq!(again["events"], 0);
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM ledger_events WHERE ledger_id = $1",
            &id
        ),
        records as i64
    );
    let check = ok(sink(&dir, &url, &["--check"]));
    assert_contains(&check.stdout, "result: the database matches the ledger");
}

/// The rows of `trades` and `sessions` as text, in sequence order.
fn closable_rows(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT (t.*)::text FROM (SELECT seq, trade_id, closed_seq, closed_at, exit_price, close_fees,
                realized_pnl, close_order_id FROM trades ORDER BY seq) AS t
         UNION ALL
         SELECT (s.*)::text FROM (SELECT seq, session, ended_seq, ended_at, end_reason
                FROM sessions ORDER BY seq) AS s",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn closes_in_the_same_batch_or_a_later_one_give_the_same_rows() {
    let Some(pg) = cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 2000);
    let stats = json(&ok(on(&dir, &["stats", "--json"])));
    let closes = stats["counts"]["trade_closed"].as_u64().unwrap();
    assert!(closes > 20, "the demo closes trades");
    let mut tables = Vec::new();
    // One batch (every close folded into its row before the COPY), and
    // batches of 7 records (most closes are UPDATEs of an earlier batch).
    for (db, batch) in [("fold_one", "100000"), ("fold_seven", "7")] {
        let url = pg.create_db(db);
        let run = json(&ok(sink(&dir, &url, &["--json", "--batch", batch])));
        assert_eq!(run["trades_closed"].as_u64(), Some(closes), "{run}");
        ok(sink(&dir, &url, &["--check"]));
        tables.push(closable_rows(&mut pg.client(db)));
    }
    assert_eq!(tables[0], tables[1]);
    assert!(tables[0].len() > 20);
}

#[test]
fn a_killed_load_resumes_with_every_event_exactly_once() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("resume_kill");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 30_000);
    let id = ledger_id(&dir);
    let records = json(&ok(on(&dir, &["stats", "--json"])))["records"]
        .as_i64()
        .unwrap();

    let mut c = pg.client("resume_kill");
    let child = command(Some(&dir), &["sink", "--postgres", &url, "--batch", "100"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard::new(child);
    let position = |c: &mut postgres::Client| -> i64 {
        c.query_opt("SELECT seq FROM sink_position WHERE ledger_id = $1", &[&id])
            .ok()
            .flatten()
            .map_or(0, |r| r.get(0))
    };
    common::wait_for_state(
        "the first batches to be committed",
        Some(guard.child()),
        || position(&mut c) >= 500,
    );
    guard.child().kill().unwrap(); // SIGKILL, mid-load
    guard.child().wait().unwrap();
    let at_kill = position(&mut c);
    assert!(
        at_kill < records,
        "the load finished before the kill ({at_kill} of {records})"
    );
    let rows = count(
        &mut c,
        "SELECT count(*) FROM ledger_events WHERE ledger_id = $1",
        &id,
    );
    assert_eq!(
        rows, at_kill,
        "the committed rows are exactly those up to the position"
    );

    let resumed = json(&ok(sink(&dir, &url, &["--json", "--batch", "5000"])));
    assert_eq!(resumed["from_seq"].as_i64(), Some(at_kill + 1));
    let (n, distinct, max): (i64, i64, i64) = c
        .query_one(
            "SELECT count(*), count(DISTINCT seq), max(seq) FROM ledger_events WHERE ledger_id = $1",
            &[&id],
        )
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap();
    assert_eq!((n, distinct, max), (records, records, records));
    ok(sink(&dir, &url, &["--check"]));
}

#[test]
fn two_ledgers_share_one_database() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("two_ledgers");
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    demo(&a, 500);
    demo(&b, 900);
    ok(sink(&a, &url, &[]));
    ok(sink(&b, &url, &[]));
    let mut c = pg.client("two_ledgers");
    for dir in [&a, &b] {
        let id = ledger_id(dir);
        let records = json(&ok(on(dir, &["stats", "--json"])))["records"]
            .as_i64()
            .unwrap();
        assert_eq!(
            count(
                &mut c,
                "SELECT count(*) FROM ledger_events WHERE ledger_id = $1",
                &id
            ),
            records
        );
        // The same trade ids in both ledgers, told apart by ledger_id.
        assert_eq!(
            count(
                &mut c,
                "SELECT count(*) FROM trades WHERE ledger_id = $1 AND trade_id = 'T1'",
                &id
            ),
            1
        );
        ok(sink(dir, &url, &["--check"]));
    }
    let positions: i64 = c
        .query_one("SELECT count(*) FROM sink_position", &[])
        .unwrap()
        .get(0);
    assert_eq!(positions, 2);
}

/// Loads part of a ledger at schema version `from` (the hidden option
/// `--schema-version`), appends more, and runs the current tool: it must
/// migrate, load the rest and pass `--check`.
fn migrates_from(from: i32, db: &str) -> (&'static Cluster, String, tempfile::TempDir) {
    let pg = cluster().unwrap();
    let url = pg.create_db(db);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 200);
    let first = json(&ok(sink(
        &dir,
        &url,
        &["--json", "--schema-version", &from.to_string()],
    )));
    assert_eq!(
        (
            first["schema"]["from"].as_i64(),
            first["schema"]["to"].as_i64()
        ),
        (Some(0), Some(i64::from(from)))
    );
    ok(sink(&dir, &url, &["--check"]));
    // More events, then the current binary: migrates, then loads the rest.
    ok(on(
        &dir,
        &["demo", "--events", "100", "--segment-size", "64KiB"],
    ));
    let run = ok(sink(&dir, &url, &[]));
    assert_contains(&run.stdout, &format!("schema: version {from} -> 3"));
    let mut c = pg.client(db);
    let versions: Vec<i32> = c
        .query("SELECT version FROM sink_schema ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=3).collect::<Vec<i32>>());
    ok(sink(&dir, &url, &["--check"]));
    (pg, url, tmp)
}

/// The indexes of `ledger_events` and `trades` (name: definition).
fn indexes(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT indexname || ': ' || indexdef FROM pg_indexes
         WHERE tablename IN ('ledger_events', 'trades') ORDER BY indexname",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn a_version_1_schema_is_migrated_to_version_3_with_its_rows() {
    if cluster().is_none() {
        return;
    }
    let (pg, url, tmp) = migrates_from(1, "migrate");
    let dir = tmp.path().join("l");
    let mut c = pg.client("migrate");
    let all = indexes(&mut c).join("\n");
    assert_contains(&all, "ledger_events_by_symbol: CREATE INDEX");
    assert_contains(&all, "USING brin (session)");
    // A database newer than this build is refused.
    c.batch_execute("INSERT INTO sink_schema (version, description) VALUES (99, 'future')")
        .unwrap();
    let run = sink(&dir, &url, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        "sink schema version 99, newer than this build knows",
    );
}

#[test]
fn a_version_2_schema_is_migrated_to_version_3_with_its_rows_and_indexes() {
    if cluster().is_none() {
        return;
    }
    let (pg, _url, _tmp) = migrates_from(2, "migrate2");
    let mut c = pg.client("migrate2");
    // The same indexes as a database made at version 3.
    let fresh_url = pg.create_db("migrate2_fresh");
    let fresh_tmp = tempfile::tempdir().unwrap();
    let fresh_dir = fresh_tmp.path().join("l");
    demo(&fresh_dir, 10);
    ok(sink(&fresh_dir, &fresh_url, &[]));
    let mut fresh = pg.client("migrate2_fresh");
    assert_eq!(indexes(&mut c), indexes(&mut fresh));
    let all = indexes(&mut c).join("\n");
    for gone in ["ledger_events_by_kind", "trades_by_symbol_close"] {
        assert!(!all.contains(gone), "{gone} is still there:\n{all}");
    }
    // Rows of version 2 and of version 3 side by side, all closed as the
    // ledger says: no trade closed in the ledger is open in the table.
    let open: i64 = c
        .query_one(
            "SELECT count(*) FROM trades t JOIN ledger_events e
               ON e.ledger_id = t.ledger_id AND e.trade_id = t.trade_id AND e.kind = 'trade_closed'
             WHERE t.closed_seq IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(open, 0);
}

#[test]
fn check_catches_rows_deleted_or_edited_by_hand() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("tamper");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 400);
    let id = ledger_id(&dir);
    ok(sink(&dir, &url, &[]));
    ok(sink(&dir, &url, &["--check"]));
    let mut c = pg.client("tamper");
    let seq_of =
        |c: &mut postgres::Client, sql: &str| -> i64 { c.query_one(sql, &[&id]).unwrap().get(0) };

    // A row deleted.
    let fill = seq_of(
        &mut c,
        "SELECT min(seq) FROM trade_fills WHERE ledger_id = $1",
    );
    c.execute(
        "DELETE FROM trade_fills WHERE ledger_id = $1 AND seq = $2",
        &[&id, &fill],
    )
    .unwrap();
    let run = sink(&dir, &url, &["--check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &format!("difference: trade_fills seq {fill}: row missing"),
    );
    assert_contains(&run.stdout, "trade_filled: ");

    // Edits of one column each: numeric, jsonb, text, time, and the event's jsonb.
    let trade = seq_of(
        &mut c,
        "SELECT min(seq) FROM trades WHERE ledger_id = $1 AND closed_seq IS NOT NULL",
    );
    c.execute(
        "UPDATE trades SET realized_pnl = realized_pnl + 0.01 WHERE ledger_id = $1 AND seq = $2",
        &[&id, &trade],
    )
    .unwrap();
    let decision = seq_of(
        &mut c,
        "SELECT max(seq) FROM decisions WHERE ledger_id = $1",
    );
    c.execute(
        "UPDATE decisions SET market = jsonb_set(market, '{bid}', '\"1\"') WHERE ledger_id = $1 AND seq = $2",
        &[&id, &decision],
    )
    .unwrap();
    let audit = seq_of(
        &mut c,
        "SELECT min(seq) FROM audit_events WHERE ledger_id = $1",
    );
    c.execute(
        "UPDATE audit_events SET who = 'mallory' WHERE ledger_id = $1 AND seq = $2",
        &[&id, &audit],
    )
    .unwrap();
    let metric = seq_of(&mut c, "SELECT min(seq) FROM metrics WHERE ledger_id = $1");
    c.execute(
        "UPDATE metrics SET time = time + interval '1 second' WHERE ledger_id = $1 AND seq = $2",
        &[&id, &metric],
    )
    .unwrap();
    let event = seq_of(
        &mut c,
        "SELECT max(seq) FROM ledger_events WHERE ledger_id = $1 AND kind = 'execution'",
    );
    c.execute(
        "UPDATE ledger_events SET data = jsonb_set(data, '{fees}', '\"0\"') WHERE ledger_id = $1 AND seq = $2",
        &[&id, &event],
    )
    .unwrap();

    let run = sink(&dir, &url, &["--check", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = json(&run);
    assert_eq!(report["equal"], false);
    let diffs: Vec<String> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["table"].as_str().unwrap(),
                d["seq"],
                d["what"].as_str().unwrap()
            )
        })
        .collect();
    let has = |table: &str, seq: i64, column: &str| {
        assert!(
            diffs
                .iter()
                .any(|d| d.starts_with(&format!("{table} {seq} ")) && d.contains(column)),
            "no difference {table} seq {seq} {column}: {diffs:#?}"
        );
    };
    has("trade_fills", fill, "row missing");
    has("trades", trade, "column realized_pnl");
    has("decisions", decision, "column market");
    has("audit_events", audit, "column who");
    has("metrics", metric, "column time");
    has("ledger_events", event, "column data");
    assert_eq!(
        report["difference_count"].as_u64(),
        Some(diffs.len() as u64)
    );
}

#[test]
fn follow_loads_new_appends_and_stops_on_sigterm() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("follow");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 100);
    let id = ledger_id(&dir);
    let head = json(&ok(on(&dir, &["stats", "--json"])))["records"]
        .as_i64()
        .unwrap();

    let child = command(
        Some(&dir),
        &[
            "sink",
            "--postgres",
            &url,
            "--follow",
            "--json",
            "--poll-ms",
            "20",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut guard = ChildGuard::new(child);
    let pid = guard.child().id();
    let mut c = pg.client("follow");
    let mut position = || -> i64 {
        c.query_opt("SELECT seq FROM sink_position WHERE ledger_id = $1", &[&id])
            .ok()
            .flatten()
            .map_or(0, |r| r.get(0))
    };
    common::wait_for_state("the existing events", Some(guard.child()), || {
        position() == head
    });

    // An append by another process, while the sink follows.
    let line = r#"{"kind":"audit","data":{"session":"later","who":"bob","action":"flatten","target":"all","reason":"end of day"}}"#;
    let input = tmp.path().join("more.jsonl");
    std::fs::write(&input, format!("{line}\n")).unwrap();
    ok(on(&dir, &["append", input.to_str().unwrap()]));
    common::wait_for_state("the appended event", Some(guard.child()), || {
        position() == head + 1
    });
    let mut c2 = pg.client("follow");
    let who: String = c2
        .query_one(
            "SELECT who FROM audit_events WHERE ledger_id = $1 AND seq = $2",
            &[&id, &(head + 1)],
        )
        .unwrap()
        .get(0);
    assert_eq!(who, "bob");

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = guard.wait_with_output();
    let run = common::finish(out);
    assert_eq!(run.code, 0, "{}", run.all());
    let summary = json(&run);
    assert_eq!(summary["stopped_by_signal"], true);
    assert_eq!(summary["position"]["seq"].as_i64(), Some(head + 1));
    ok(sink(&dir, &url, &["--check"]));
}

#[test]
fn a_damaged_ledger_is_refused_before_anything_is_loaded() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("damaged");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 2000);
    flip_middle_byte(&sealed_segments(&dir)[1]);
    let run = sink(&dir, &url, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, "refusing to sink it");
    let mut c = pg.client("damaged");
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'ledger_events'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "nothing was created or loaded");
}

#[test]
fn a_ledger_that_does_not_hold_the_position_is_refused() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("rewritten");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 100);
    let id = ledger_id(&dir);
    ok(sink(&dir, &url, &[]));
    let mut c = pg.client("rewritten");
    c.execute(
        "UPDATE sink_position SET chain_hash = repeat('0', 64) WHERE ledger_id = $1",
        &[&id],
    )
    .unwrap();
    let run = sink(&dir, &url, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, "not the ledger that was sunk");
    let run = sink(&dir, &url, &["--check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "difference: sink_position seq");
    // Rows without a position are not loaded twice.
    c.execute("DELETE FROM sink_position WHERE ledger_id = $1", &[&id])
        .unwrap();
    let run = sink(&dir, &url, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, "no position in sink_position");
}

#[test]
fn an_unreachable_server_or_a_bad_url_is_a_clear_error_with_exit_2() {
    // Needs no server: nothing listens on port 1.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 0);
    let run = sink(&dir, "postgresql://trader:hunter2@127.0.0.1:1/trading", &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        "cannot connect to PostgreSQL at postgresql://trader@127.0.0.1:1/trading",
    );
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    let run = sink(
        &dir,
        "postgresql://trader:hunter2@127.0.0.1:notaport/x",
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "is not a PostgreSQL URL");
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    // A database that does not exist (the server answers, and refuses).
    if let Some(pg) = cluster() {
        let run = sink(&dir, &pg.url("no_such_db"), &[]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert_contains(&run.stderr, "cannot connect to PostgreSQL");
        assert_contains(&run.stderr, "no_such_db");
    }
}

#[test]
fn the_queries_in_docs_sink_md_run() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("docs");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    demo(&dir, 1000);
    ok(sink(&dir, &url, &[]));
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SINK.md"))
            .unwrap();
    let mut c = pg.client("docs");
    let mut ran = 0;
    let mut explained = 0;
    for block in doc.split("```sql").skip(1) {
        let sql = block.split("```").next().unwrap();
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let rows = c.query(stmt, &[]).unwrap_or_else(|e| panic!("{stmt}: {e}"));
            assert!(!rows.is_empty(), "no rows: {stmt}");
            ran += 1;
            // Each filter of `ledger_events` has an index to use (a demo
            // this small is read whole when the planner may choose).
            if stmt.contains("ledger_events") {
                let mut tx = c.transaction().unwrap();
                tx.batch_execute("SET LOCAL enable_seqscan = off").unwrap();
                let plan: Vec<String> = tx
                    .query(&format!("EXPLAIN {stmt}"), &[])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let plan = plan.join("\n");
                assert!(
                    !plan.contains("Seq Scan on ledger_events"),
                    "{stmt}\n{plan}"
                );
                explained += 1;
            }
        }
    }
    assert!(ran >= 5, "docs/SINK.md has {ran} queries");
    assert!(
        explained >= 5,
        "docs/SINK.md has {explained} queries of ledger_events"
    );
}

#[test]
fn an_empty_ledger_sinks_nothing_and_checks_equal() {
    let Some(pg) = cluster() else { return };
    let url = pg.create_db("empty");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    ok(on(&dir, &["init"]));
    let run = json(&ok(sink(&dir, &url, &["--json"])));
    assert_eq!(run["events"], 0);
    assert!(run["position"].is_null());
    let check = ok(sink(&dir, &url, &["--check"]));
    assert_contains(
        &check.stdout,
        "result: the database matches the ledger up to record 0",
    );
}
