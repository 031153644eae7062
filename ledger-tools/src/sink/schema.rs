//! The sink's schema, as numbered migrations recorded in `sink_schema`
//! (`docs/SINK.md`). A database is brought up to [`CURRENT`] by applying
//! each missing step in its own transaction, under a transaction-level
//! advisory lock, so two sinks starting at once migrate it once. A
//! database recorded at a version newer than this build knows is refused.
//!
//! | version | change |
//! | --- | --- |
//! | 1 | every table, keyed by `(ledger_id, seq)`; `sink_position`; the lookups the loader needs (`trades` by trade, `sessions` by session); ids and keys in the "C" collation (byte order: cheap to compare and index whatever the database's locale) |
//! | 2 | the indexes of `docs/EVENTS.md`'s filters on `ledger_events`: kind, session, symbol, trade (each after the ledger id), time (BRIN: times grow with the sequence); `trades` by symbol and close time, `decisions` and `executions` by decision |
//! | 3 | cheaper indexes, for loading speed: `ledger_events` by symbol then kind and by trade (the filter first, so a query without the ledger id uses them), by session and time as BRIN (summarized as ranges fill); no kind index (the kind's own table holds its sequences); `trades` by trade id first, closed trades by symbol and close time (partial) |

use postgres::{Client, GenericClient};

use crate::sink::error::{db_err, SinkError};

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version the database is at after it.
    pub version: i32,
    /// What it changes (recorded in `sink_schema`).
    pub description: &'static str,
    /// Its statements.
    pub sql: &'static str,
}

/// The newest schema version this build writes.
pub const CURRENT: i32 = 3;

/// An advisory lock key taken by migrations (any constant unlikely to be
/// used by another application: "tradeledger sink schema").
const MIGRATION_LOCK: i64 = 0x7472_6164_6573_6b01;

/// The `sink_schema` table itself (created before any step).
const SCHEMA_TABLE: &str = "
CREATE TABLE IF NOT EXISTS sink_schema (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);";

const V1: &str = r#"
CREATE TABLE sink_position (
    ledger_id  text COLLATE "C" PRIMARY KEY,
    seq        bigint NOT NULL,
    chain_hash text COLLATE "C" NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_events (
    ledger_id      text COLLATE "C" NOT NULL,
    seq            bigint NOT NULL,
    time           timestamptz NOT NULL,
    time_ns        bigint NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    schema_version integer NOT NULL,
    session        text COLLATE "C" NOT NULL,
    symbol         text COLLATE "C",
    trade_id       text COLLATE "C",
    decision_id    text COLLATE "C",
    order_id       text COLLATE "C",
    chain_hash     text COLLATE "C" NOT NULL,
    data           jsonb NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE sessions (
    ledger_id       text COLLATE "C" NOT NULL,
    seq             bigint NOT NULL,
    time            timestamptz NOT NULL,
    session         text COLLATE "C" NOT NULL,
    engine_version  text NOT NULL,
    config_digest   text NOT NULL,
    starting_equity numeric NOT NULL,
    ended_seq       bigint,
    ended_at        timestamptz,
    end_reason      text,
    PRIMARY KEY (ledger_id, seq)
);
CREATE INDEX sessions_by_session ON sessions (ledger_id, session);

CREATE TABLE decisions (
    ledger_id   text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    time        timestamptz NOT NULL,
    session     text COLLATE "C" NOT NULL,
    decision_id text COLLATE "C" NOT NULL,
    symbol      text COLLATE "C" NOT NULL,
    action      text NOT NULL,
    size        numeric NOT NULL,
    confidence  numeric NOT NULL,
    reasoning   jsonb NOT NULL,
    market      jsonb NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE executions (
    ledger_id     text COLLATE "C" NOT NULL,
    seq           bigint NOT NULL,
    time          timestamptz NOT NULL,
    session       text COLLATE "C" NOT NULL,
    order_id      text COLLATE "C" NOT NULL,
    decision_id   text COLLATE "C" NOT NULL,
    symbol        text COLLATE "C" NOT NULL,
    side          text NOT NULL,
    status        text NOT NULL,
    requested_qty numeric NOT NULL,
    filled_qty    numeric NOT NULL,
    avg_price     numeric,
    fees          numeric NOT NULL,
    latency_us    numeric(20, 0) NOT NULL,
    error         text,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE trades (
    ledger_id      text COLLATE "C" NOT NULL,
    seq            bigint NOT NULL,
    time           timestamptz NOT NULL,
    session        text COLLATE "C" NOT NULL,
    trade_id       text COLLATE "C" NOT NULL,
    symbol         text COLLATE "C" NOT NULL,
    direction      text NOT NULL,
    qty            numeric NOT NULL,
    price          numeric NOT NULL,
    fees           numeric NOT NULL,
    decision_id    text COLLATE "C",
    order_id       text COLLATE "C",
    closed_seq     bigint,
    closed_at      timestamptz,
    exit_price     numeric,
    close_fees     numeric,
    realized_pnl   numeric,
    close_order_id text,
    PRIMARY KEY (ledger_id, seq)
);
CREATE INDEX trades_by_trade ON trades (ledger_id, trade_id);

CREATE TABLE trade_fills (
    ledger_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    time      timestamptz NOT NULL,
    session   text COLLATE "C" NOT NULL,
    trade_id  text COLLATE "C" NOT NULL,
    symbol    text COLLATE "C" NOT NULL,
    effect    text NOT NULL,
    qty       numeric NOT NULL,
    price     numeric NOT NULL,
    fees      numeric NOT NULL,
    order_id  text COLLATE "C",
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE position_snapshots (
    ledger_id      text COLLATE "C" NOT NULL,
    seq            bigint NOT NULL,
    time           timestamptz NOT NULL,
    session        text COLLATE "C" NOT NULL,
    symbol         text COLLATE "C" NOT NULL,
    qty            numeric NOT NULL,
    avg_entry      numeric NOT NULL,
    mark           numeric NOT NULL,
    unrealized_pnl numeric NOT NULL,
    realized_pnl   numeric NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE risk_events (
    ledger_id   text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    time        timestamptz NOT NULL,
    session     text COLLATE "C" NOT NULL,
    rule        text NOT NULL,
    severity    text NOT NULL,
    limit_value numeric NOT NULL,
    observed    numeric NOT NULL,
    action      text NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE system_events (
    ledger_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    time      timestamptz NOT NULL,
    session   text COLLATE "C" NOT NULL,
    component text NOT NULL,
    level     text NOT NULL,
    message   text NOT NULL,
    fields    jsonb NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE metrics (
    ledger_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    time      timestamptz NOT NULL,
    session   text COLLATE "C" NOT NULL,
    name      text NOT NULL,
    value     numeric NOT NULL,
    tags      jsonb NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);

CREATE TABLE audit_events (
    ledger_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    time      timestamptz NOT NULL,
    session   text COLLATE "C" NOT NULL,
    who       text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL,
    reason    text NOT NULL,
    PRIMARY KEY (ledger_id, seq)
);
"#;

const V2: &str = "
CREATE INDEX ledger_events_by_kind    ON ledger_events (ledger_id, kind, seq);
CREATE INDEX ledger_events_by_session ON ledger_events (ledger_id, session, seq);
CREATE INDEX ledger_events_by_symbol  ON ledger_events (ledger_id, symbol, seq) WHERE symbol IS NOT NULL;
CREATE INDEX ledger_events_by_trade   ON ledger_events (ledger_id, trade_id, seq) WHERE trade_id IS NOT NULL;
CREATE INDEX ledger_events_by_time    ON ledger_events USING brin (time);
CREATE INDEX trades_by_symbol_close   ON trades (ledger_id, symbol, closed_at);
CREATE INDEX decisions_by_decision    ON decisions (ledger_id, decision_id);
CREATE INDEX executions_by_decision   ON executions (ledger_id, decision_id);
";

/// Version 3: two B-trees fewer per event. `ledger_events` kept six
/// indexes (its key, four B-trees, a BRIN); the two B-trees over every row
/// (kind, session) cost as much as the key each. An engine's sessions
/// follow one another, so a BRIN of `session` finds a session's run of
/// sequences (interleaved sessions make it read more, never miss a row); a kind's events
/// are the key of its own table (joined on `(ledger_id, seq)`), and with a
/// symbol the symbol index holds the kind. The filter column leads each
/// B-tree so that a query naming no ledger (one ledger per database is the
/// common case) still uses it. BRIN ranges are summarized by autovacuum as
/// they fill (`autosummarize`): a range not yet summarized is read whole,
/// never missed.
const V3: &str = "
DROP INDEX ledger_events_by_kind;
DROP INDEX ledger_events_by_session;
DROP INDEX ledger_events_by_symbol;
DROP INDEX ledger_events_by_trade;
DROP INDEX ledger_events_by_time;
DROP INDEX trades_by_trade;
DROP INDEX trades_by_symbol_close;
CREATE INDEX ledger_events_by_symbol  ON ledger_events (symbol, kind, ledger_id, seq) WHERE symbol IS NOT NULL;
CREATE INDEX ledger_events_by_trade   ON ledger_events (trade_id, ledger_id, seq) WHERE trade_id IS NOT NULL;
CREATE INDEX ledger_events_by_session ON ledger_events USING brin (session) WITH (autosummarize = on);
CREATE INDEX ledger_events_by_time    ON ledger_events USING brin (time) WITH (autosummarize = on);
CREATE INDEX trades_by_trade          ON trades (trade_id, ledger_id);
CREATE INDEX trades_closed_by_symbol  ON trades (symbol, closed_at) WHERE closed_seq IS NOT NULL;
";

/// Every step, in order.
pub const MIGRATIONS: [Migration; 3] = [
    Migration {
        version: 1,
        description: "tables keyed by (ledger_id, seq), sink_position",
        sql: V1,
    },
    Migration {
        version: 2,
        description: "indexes of the export filters (kind, session, symbol, trade, time)",
        sql: V2,
    },
    Migration {
        version: 3,
        description: "cheaper indexes: symbol+kind and trade B-trees filter first, session and time BRIN, no kind index",
        sql: V3,
    },
];

/// What [`migrate`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The version before (0: no sink schema yet).
    pub from: i32,
    /// The version after.
    pub to: i32,
}

/// The database's recorded schema version (0 when it has none).
pub fn version(client: &mut impl GenericClient, database: &str) -> Result<i32, SinkError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('sink_schema') IS NOT NULL", &[])
        .map_err(db_err(database, "look for sink_schema"))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM sink_schema", &[])
        .map_err(db_err(database, "read the sink schema version"))?;
    Ok(row.get(0))
}

/// Brings the database's schema up to `target` (at most [`CURRENT`]; a
/// database already past `target` is left as it is). A database recorded
/// at a version newer than [`CURRENT`] is refused.
pub fn migrate(client: &mut Client, database: &str, target: i32) -> Result<Migrated, SinkError> {
    let target = target.clamp(1, CURRENT);
    let from = version(client, database)?;
    if from > CURRENT {
        return Err(SinkError::SchemaTooNew {
            database: database.to_owned(),
            found: from,
            known: CURRENT,
        });
    }
    let mut now = from;
    for step in MIGRATIONS.iter().filter(|m| m.version <= target) {
        let mut tx = client
            .transaction()
            .map_err(db_err(database, "begin a migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(db_err(database, "lock the schema for a migration"))?;
        tx.batch_execute(SCHEMA_TABLE)
            .map_err(db_err(database, "create sink_schema"))?;
        let applied: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM sink_schema WHERE version >= $1)",
                &[&step.version],
            )
            .map_err(db_err(database, "read sink_schema"))?
            .get(0);
        if applied {
            tx.commit().map_err(db_err(database, "end a migration"))?;
            now = now.max(step.version);
            continue;
        }
        tx.batch_execute(step.sql).map_err(db_err(
            database,
            format!("migrate the sink schema to version {}", step.version),
        ))?;
        tx.execute(
            "INSERT INTO sink_schema (version, description) VALUES ($1, $2)",
            &[&step.version, &step.description],
        )
        .map_err(db_err(database, "record the schema version"))?;
        tx.commit().map_err(db_err(
            database,
            format!("commit the migration to version {}", step.version),
        ))?;
        now = step.version;
    }
    Ok(Migrated {
        from,
        to: now.max(from),
    })
}
