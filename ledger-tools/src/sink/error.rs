//! [`SinkError`]: everything that stops `ledger sink`, each naming the
//! database (never with its password), the ledger and the record concerned.

use crate::exit::Exit;

/// Why `ledger sink` stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The URL does not parse as a PostgreSQL connection string.
    #[error("{url} is not a PostgreSQL URL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE)")]
    BadUrl {
        /// The URL, its password replaced by `***`.
        url: String,
        /// The driver's reason.
        #[source]
        source: postgres::Error,
    },
    /// The server could not be reached, or refused the login.
    #[error("cannot connect to PostgreSQL at {database}")]
    Connect {
        /// The database, without its password.
        database: String,
        /// The driver's error (refused connection, failed authentication, ...).
        #[source]
        source: postgres::Error,
    },
    /// A statement failed.
    #[error("PostgreSQL at {database}: cannot {what}")]
    Database {
        /// The database, without its password.
        database: String,
        /// What was being done.
        what: String,
        /// The driver's error (with the server's message).
        #[source]
        source: postgres::Error,
    },
    /// The database's sink schema is newer than this build knows.
    #[error("the database at {database} has sink schema version {found}, newer than this build knows (it knows up to {known}); upgrade the tool")]
    SchemaTooNew {
        /// The database.
        database: String,
        /// The version recorded in `sink_schema`.
        found: i32,
        /// The newest this build knows.
        known: i32,
    },
    /// The ledger's record at the sink's position has another chain hash.
    #[error("ledger {ledger}: the database's position is record {seq} with chain hash {expected}, but the ledger's record {seq} has chain hash {found}: this is not the ledger that was sunk into {database}, or it was rewritten")]
    PositionMismatch {
        /// The ledger id.
        ledger: String,
        /// The database.
        database: String,
        /// The position's sequence.
        seq: u64,
        /// The chain hash the database recorded.
        expected: String,
        /// The ledger's chain hash at that sequence.
        found: String,
    },
    /// The sink's position is past the ledger's last record.
    #[error("ledger {ledger}: the database's position is record {seq}, but the ledger ends at record {head}: the ledger was cut or replaced since it was sunk into {database}")]
    PositionBeyondHead {
        /// The ledger id.
        ledger: String,
        /// The database.
        database: String,
        /// The position's sequence.
        seq: u64,
        /// The ledger's last record.
        head: u64,
    },
    /// The database holds rows of the ledger but no position for it.
    #[error("ledger {ledger}: {database} holds rows of this ledger in ledger_events but no position in sink_position (removed by hand?); refusing to load it twice")]
    NoPosition {
        /// The ledger id.
        ledger: String,
        /// The database.
        database: String,
    },
    /// Another process moved the position while this one was loading.
    #[error("ledger {ledger}: the sink's position in {database} moved under this process (expected {expected}, found {found}); is another `ledger sink` loading the same ledger?")]
    PositionMoved {
        /// The ledger id.
        ledger: String,
        /// The database.
        database: String,
        /// The position this process committed last.
        expected: String,
        /// The position found.
        found: String,
    },
    /// Another `ledger sink` holds the ledger's lock in this database.
    #[error("another `ledger sink` is loading ledger {ledger} into {database}")]
    Busy {
        /// The ledger id.
        ledger: String,
        /// The database.
        database: String,
    },
    /// A record of the ledger is not a trading event this build reads.
    #[error("record {seq}: {source}")]
    Decode {
        /// The record.
        seq: u64,
        /// Why it does not decode.
        #[source]
        source: ledger_domain::DecodeError,
    },
    /// An event's JSON could not be written (not expected to happen).
    #[error("record {seq}: cannot write its {column} as JSON")]
    Json {
        /// The record.
        seq: u64,
        /// The column.
        column: &'static str,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing a batch's rows to the server failed.
    #[error("PostgreSQL at {database}: cannot send the rows of table {table}")]
    Copy {
        /// The database.
        database: String,
        /// The table.
        table: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A signal handler could not be installed for `--follow`.
    #[error("cannot install the handler of signal {signal}")]
    Signal {
        /// The signal's number.
        signal: i32,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl SinkError {
    /// The exit code: 1 when the ledger and the database disagree about
    /// what was sunk (a rewritten or replaced ledger, a tampered position)
    /// or a record is not an event, 2 for everything else (URL, server,
    /// authentication, schema, a concurrent sink).
    pub fn exit(&self) -> Exit {
        match self {
            SinkError::PositionMismatch { .. }
            | SinkError::PositionBeyondHead { .. }
            | SinkError::NoPosition { .. }
            | SinkError::Decode { .. } => Exit::Damage,
            _ => Exit::Failure,
        }
    }
}

/// `Database` errors of one database: `db_err(&name, "load ...")`.
pub(crate) fn db_err(
    database: &str,
    what: impl Into<String>,
) -> impl FnOnce(postgres::Error) -> SinkError + '_ {
    let what = what.into();
    move |source| SinkError::Database {
        database: database.to_owned(),
        what,
        source,
    }
}
