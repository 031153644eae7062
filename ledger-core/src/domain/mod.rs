//! The trading domain on top of the storage engine: typed events with
//! schema versions, validation, projections, replay, the performance report,
//! projection snapshots, and the per-session logger an engine embeds.
//!
//! The storage engine never depends on this module; it stores kinds,
//! versions, timestamps and payload bytes. Here each trading event kind is a
//! record kind ([`EventKind::code`]) and its payload is the postcard encoding
//! of the event's struct.
//!
//! ```
//! use ledger_core::domain::{Decimal, TradingLedger, TradeOpened, Direction};
//! use ledger_core::{WriterOptions, Durability};
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
//! # Ok(())
//! # }
//! ```

pub mod codec;
mod decimal;
mod error;
mod events;
mod ids;
mod ledger;
mod projections;
pub mod replay;
pub mod report;
pub mod sim;
pub mod snapshot;
#[cfg(feature = "tracing")]
pub mod tracing_layer;
mod trade;
mod validate;

pub use codec::{decode, encode, DecodeError, EncodeError};
pub use decimal::{Decimal, DecimalError};
pub use error::DomainError;
pub use events::*;
pub use ids::{DecisionId, OrderId, SessionId, Symbol, TradeId};
pub use ledger::{LedgerHandle, OpenReport, SessionLogger, TradingLedger};
pub use projections::{
    At, DecisionChain, MetricSeries, PositionView, Projections, SessionView, TradeStory,
};
pub use replay::{replay, ReplayOptions};
pub use report::{Performance, PerformanceReport, ReportFilter};
pub use trade::{Fill, Trade, TradeStatus};
pub use validate::{check_time, validate, ValidationError};
