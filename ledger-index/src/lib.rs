//! # ledger-index
//!
//! Secondary indexes over a ledger, so that queries by time, sequence,
//! record kind and the keys a domain gives its records (for the trading
//! domain: symbol, trade, decision, order, session) do not scan the log.
//!
//! The index knows records, not what their payloads mean: a domain
//! implements [`KeyExtractor`] (which key families it has, and the keys of
//! one record), and the index keeps a posting list per key. The trading
//! domain's extractor is `ledger_domain::TradingKeys`.
//!
//! - Every sealed segment gets an index file beside it, named after the
//!   segment's content address (`0000000003-<blake3>.idx`): a sequence ->
//!   offset map, a sparse time -> sequence map, and posting lists for every
//!   kind and key. It is built off the append path, the first time a query
//!   needs it ([`LedgerIndex::build_all`] builds all at once), and carries
//!   its own version and checksum: a missing, stale or damaged index is
//!   rebuilt from the segment, never trusted.
//! - An index file is an accelerator that can never change an answer:
//!   anyone can rewrite one and recompute its checksum, so it is checked
//!   against its segment's records when loaded (count, offsets, time
//!   samples, kind lists), every hit is re-checked against its record and
//!   the query, and the records its key lists leave out are looked for
//!   through the domain's key needles ([`KeyExtractor::key_needle`]). A
//!   file that fails is refused and rebuilt
//!   ([`LedgerIndex::take_refused`]); [`check_index_files`] (`ledger
//!   verify`) rebuilds every index and reports a file that disagrees as
//!   forged.
//! - The active segment is indexed in memory; each query first indexes the
//!   records appended since the last one.
//! - [`LedgerIndex::query`] streams the matching records ([`Hit`]) in
//!   sequence order; [`LedgerIndex::get`] is a point lookup;
//!   [`LedgerIndex::scan`] answers the same query by reading everything.
//!
//! Index files are derived data: deleting them loses nothing. Their layout
//! is in `docs/FORMAT.md` ("Index files") and in [`file`](mod@file).
//!
//! ```
//! use ledger_core::{Durability, Entry, Kind, SchemaVersion, Writer, WriterOptions};
//! use ledger_index::{KeyError, KeyExtractor, LedgerIndex, Query};
//!
//! /// A small domain: payloads are `user:action` text, kind 1 for logins
//! /// and 2 for orders; one key family, the user.
//! struct Users;
//!
//! impl KeyExtractor for Users {
//!     fn families(&self) -> &'static [&'static str] {
//!         &["user"]
//!     }
//!     fn keys(
//!         &self,
//!         _kind: Kind,
//!         _version: SchemaVersion,
//!         payload: &[u8],
//!         emit: &mut dyn FnMut(usize, &str),
//!     ) -> Result<(), KeyError> {
//!         let (user, _) = std::str::from_utf8(payload)?.split_once(':').ok_or("no user")?;
//!         emit(0, user);
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut writer = Writer::create(dir.path(), WriterOptions::default().durability(Durability::NoSync))?;
//! for (kind, payload) in [(1, "ann:login"), (1, "bob:login"), (2, "ann:buy"), (2, "bob:sell")] {
//!     let _ = writer.append(&Entry::new(Kind::new(kind), SchemaVersion::new(1), payload.as_bytes()))?;
//! }
//! writer.close()?;
//!
//! let index = LedgerIndex::open(dir.path(), Users)?;
//! let q = Query::all().key("user", "ann").kind(Kind::new(2));
//! let hits: Vec<_> = index.query(&q)?.collect::<Result<_, _>>()?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].payload, b"ann:buy");
//! assert_eq!(index.scan(&q)?, hits);
//! // A family the domain does not have is refused.
//! assert!(index.query(&Query::all().key("symbol", "AAPL")).is_err());
//! # Ok(())
//! # }
//! ```

mod check;
mod diff;
mod error;
pub mod file;
mod keys;
mod ledger_index;
mod query;
mod recheck;
mod segment_index;
mod structure;

pub use check::{check_index_files, IndexCheck, IndexFinding};
pub use error::IndexError;
pub use file::FileDefect;
pub use keys::{KeyError, KeyExtractor};
pub use ledger_index::{Hit, IndexSource, LedgerIndex, QueryIter};
pub use query::Query;
pub use segment_index::{Postings, SegmentIndex, TIME_STRIDE};
