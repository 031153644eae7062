//! The PostgreSQL projection sink behind `ledger sink --postgres URL`
//! (`docs/SINK.md`): every verified event of a ledger, loaded with `COPY`
//! into `ledger_events` and one table per kind, exactly once, several
//! ledgers side by side in one database.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`error`] | [`SinkError`], with the database named without its password |
//! | [`connect`] | parsing the URL, connecting, naming the database safely |
//! | [`schema`] | the DDL of each schema version, the `sink_schema` table, migrations |
//! | [`tables`] | every table's columns and their types, shared by loading and checking |
//! | [`rows`] | event → row mapping (one row in `ledger_events`, one in the kind's table, or the close of a trade or session) |
//! | [`copy_text`] | PostgreSQL's `COPY` text format |
//! | [`position`] | the sink's position per ledger, and the check that the ledger still holds it |
//! | [`load`] | batches: `COPY` per table and the position, committed in one transaction |
//! | [`follow`] | reading the ledger (once, or following it) into batches; stopping on a signal |
//! | [`check`] | comparing the database with the ledger, row by row and column by column |
//!
//! Nothing here is in the writer's path: the sink reads the segment files
//! like `ledger tail` does, holding no lock of the ledger.

pub mod check;
pub mod connect;
pub mod copy_text;
pub mod error;
pub mod follow;
pub mod load;
pub mod position;
pub mod rows;
pub mod schema;
pub mod tables;

pub use error::SinkError;
