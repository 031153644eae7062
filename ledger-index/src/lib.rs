//! # ledger-index
//!
//! Secondary indexes over a ledger, so that queries by time, sequence,
//! event kind, symbol, trade, decision, order and session do not scan the
//! log.
//!
//! - Every sealed segment gets an index file beside it, named after the
//!   segment's content address (`0000000003-<blake3>.idx`): a sequence ->
//!   offset map, a sparse time -> sequence map, and posting lists for every
//!   key. It is built off the append path, the first time a query needs it
//!   ([`LedgerIndex::build_all`] builds all at once), and carries its own
//!   version and checksum: a missing, stale or damaged index is rebuilt from
//!   the segment, never trusted.
//! - The active segment is indexed in memory; each query first indexes the
//!   records appended since the last one.
//! - [`LedgerIndex::query`] streams matches in sequence order;
//!   [`LedgerIndex::get`], [`LedgerIndex::trade_events`] and
//!   [`LedgerIndex::decision_chain`] are point lookups.
//!
//! Index files are derived data: deleting them loses nothing. Their layout
//! is in `docs/FORMAT.md` ("Index files") and in [`file`].
//!
//! ```
//! use ledger_tools::sim::{demo_session, DEMO_START};
//! use ledger_domain::{EventKind, TradingLedger};
//! use ledger_core::{Durability, WriterOptions};
//! use ledger_index::{LedgerIndex, Query};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut ledger = TradingLedger::open(dir.path(), WriterOptions::default().durability(Durability::NoSync))?;
//! for (t, e) in demo_session("demo", "", DEMO_START) {
//!     ledger.append_at(t, &e)?;
//! }
//! let index = LedgerIndex::open(dir.path())?;
//! let closes: Vec<_> = index
//!     .query(&Query { kinds: vec![EventKind::TradeClosed], ..Query::default() })?
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(closes.len(), 3);
//! let story = index.decision_chain(&"T3".into())?; // decision, executions, the trade
//! assert_eq!(story.len(), 5);
//! # Ok(())
//! # }
//! ```

mod check;
mod error;
pub mod file;
mod ledger_index;
mod query;
mod segment_index;

pub use check::{check_index_files, IndexCheck, IndexFinding};
pub use error::IndexError;
pub use ledger_index::{Hit, IndexSource, LedgerIndex, QueryIter};
pub use query::Query;
pub use segment_index::{SegmentIndex, TIME_STRIDE};
