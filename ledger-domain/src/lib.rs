//! # ledger-domain
//!
//! The trading domain on top of the [`ledger_core`] storage engine: typed
//! events with schema versions, exact money, validation, projections,
//! replay, the performance report, projection snapshots, and the
//! per-session logger an engine embeds.
//!
//! The engine stores records (kind, schema version, timestamp, payload
//! bytes) and knows no trading word; this crate gives them meaning. Each
//! trading event kind is a record kind ([`EventKind::code`]) and its payload
//! is the postcard encoding of the event's struct ([`codec`]; old schema
//! versions are upcast when read).
//!
//! - [`Event`] and its twelve kinds ([`Decision`], [`Execution`],
//!   [`TradeOpened`], ...), with [`Decimal`] for every amount (never a binary
//!   float) and newtype ids ([`Symbol`], [`TradeId`], [`SessionId`], ...).
//! - [`validate`] and [`check_time`]: what an event must satisfy before it
//!   is appended; a refusal names the field and the reason.
//! - [`TradingLedger`]: the engine's [`Writer`](ledger_core::Writer) with
//!   validation and [`Projections`] kept current, rebuilt on open by folding
//!   the log (or, for a process holding a [`SnapshotKey`], from the newest
//!   [`snapshot`] it authenticates); [`SessionLogger`] is the cheap per-session
//!   handle an engine keeps (one call per event).
//! - [`replay()`] folds the log up to a sequence or a time, reading each
//!   record through a borrowed [`EventView`] (no allocation but what the
//!   views keep) and, for a long fold, decoding on the other cores
//!   ([`Decoding`]);
//!   [`PerformanceReport`] computes the performance figures from the
//!   projected trades (`docs/REPORT.md`).
//! - [`TradingKeys`]: the keys `ledger-index` finds trading events by
//!   (symbol, trade, decision, order, session); [`EventHit`] decodes a hit,
//!   [`decision_chain`] follows a trade back to its decision.
//! - `tracing_layer` (cargo feature `tracing`): records an engine's
//!   `tracing` events as system events.
//!
//! - [`event_json`]: the JSON line form of an event (`docs/EVENTS.md`),
//!   written by `ledger export` and read by `ledger append` and the Python
//!   package; [`times`]: RFC 3339 times in and out; [`views_json`]: the
//!   JSON objects of the replayed state and of a verification.
//!
//! The JSON form of every event is in `docs/EVENTS.md`.
//!
//! ```
//! use ledger_domain::{Decimal, Direction, TradeOpened, TradingLedger};
//! use ledger_core::{Durability, WriterOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let opts = WriterOptions::default().durability(Durability::NoSync);
//! let log = TradingLedger::open(dir.path(), opts)?.into_handle().session("s1");
//! log.start("engine 1.0", "cfg", Decimal::from_int(10_000))?;
//! log.open_trade(TradeOpened {
//!     trade_id: "T1".into(),
//!     symbol: "BTC-USD".into(),
//!     direction: Direction::Long,
//!     qty: "0.5".parse()?,
//!     price: "40000".parse()?,
//!     fees: "10".parse()?,
//!     ..Default::default()
//! })?;
//! let (_, pnl) = log.close_trade("T1", "40600".parse()?, "10".parse()?, None)?;
//! assert_eq!(pnl, "280".parse()?);
//! // Closing it again is refused, naming the field and the reason.
//! let err = log.close_trade("T1", "40700".parse()?, "0".parse()?, None).unwrap_err();
//! assert!(err.to_string().contains("already closed"));
//!
//!
//! // The views are a fold over the log: reopening rebuilds them.
//! let handle = log.ledger().clone();
//! drop(log);
//! handle.into_inner().map_err(|_| "still shared")?.close()?;
//! let ledger = TradingLedger::open(dir.path(), WriterOptions::default())?;
//! assert_eq!(ledger.projections().trades.len(), 1);
//! # Ok(())
//! # }
//! ```

pub mod codec;
mod decimal;
mod error;
pub mod event_json;
mod events;
mod ids;
mod index;
mod ledger;
mod projections;
pub mod replay;
pub mod report;
pub mod snapshot;
pub mod times;
#[cfg(feature = "tracing")]
pub mod tracing_layer;
mod trade;
mod validate;
pub mod view;
pub mod views_json;

pub use codec::{decode, encode, DecodeError, EncodeError, TradingUpcaster};
pub use decimal::{Decimal, DecimalError};
pub use error::DomainError;
pub use events::*;
pub use ids::{DecisionId, OrderId, SessionId, Symbol, TradeId};
pub use index::{decision_chain, trade_events, EventHit, TradingKeys};
pub use ledger::{LedgerHandle, OpenReport, SessionLogger, TradingLedger};
pub use projections::{
    At, DecisionChain, MetricSeries, PositionView, Projections, SessionView, TradeStory, Unfolded,
};
pub use replay::{replay, replay_with, Decoding, ReplayOptions};
pub use report::{
    annualized, min_periods_to_annualize, slippage_bps, total_net_pnl, Annualized, Distribution,
    DrawdownFigures, ExecutionFigures, ExecutionReport, Performance, PerformanceReport, Period,
    ReportError, ReportFilter, ReturnPoint, SideFigures, TimeStats, TradeFigure, WorstExecution,
};
pub use snapshot::{SnapshotDefect, SnapshotError, SnapshotKey};
pub use trade::{Fill, Trade, TradeStatus};
pub use validate::{check_time, validate, ValidationError};
pub use view::{decode_view, EventView};
