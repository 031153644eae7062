//! The trading domain's side of `ledger-index`: [`TradingKeys`], the keys
//! the index finds trading events by, and [`EventHit`], a hit decoded.
//! The decision chain of a trade through the index is [`decision_chain`].
//!
//! ```
//! use ledger_core::{Durability, WriterOptions};
//! use ledger_domain::{decision_chain, Decimal, Direction, EventHit, EventKind, TradeOpened, TradingKeys, TradingLedger};
//! use ledger_index::{LedgerIndex, Query};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let opts = WriterOptions::default().durability(Durability::NoSync);
//! let log = TradingLedger::open(dir.path(), opts)?.into_handle().session("s1");
//! log.start("engine 1.0", "cfg", Decimal::from_int(10_000))?;
//! for (id, symbol) in [("T1", "BTC-USD"), ("T2", "ETH-USD")] {
//!     log.open_trade(TradeOpened {
//!         trade_id: id.into(),
//!         symbol: symbol.into(),
//!         direction: Direction::Long,
//!         qty: "1".parse()?,
//!         price: "100".parse()?,
//!         ..Default::default()
//!     })?;
//! }
//! log.close_trade("T2", "110".parse()?, "0".parse()?, None)?;
//!
//! let index = LedgerIndex::open(dir.path(), TradingKeys)?;
//! let eth = Query::all().key(TradingKeys::SYMBOL, "ETH-USD");
//! let events: Vec<EventHit> = index
//!     .query(&eth)?
//!     .map(|hit| EventHit::decode(&hit?))
//!     .collect::<Result<_, _>>()?;
//! let kinds: Vec<_> = events.iter().map(|h| h.event.kind()).collect();
//! assert_eq!(kinds, [EventKind::TradeOpened, EventKind::TradeClosed]);
//! assert_eq!(decision_chain(&index, &"T1".into())?.len(), 1); // no decision: the trade's own event
//! # Ok(())
//! # }
//! ```

use ledger_core::{ChainHash, Kind, SchemaVersion, Seq, Timestamp};
use ledger_index::{Hit, KeyError, KeyExtractor, LedgerIndex, Query};

use crate::codec;
use crate::error::DomainError;
use crate::events::Event;
use crate::ids::TradeId;

/// The keys of trading events, for `ledger-index`: five families, in the
/// order the index files store them (`docs/FORMAT.md`, "Index files").
/// Every event has a session; the other keys are those the event names
/// ([`Event::symbol`], [`Event::trade_id`], [`Event::decision_id`],
/// [`Event::order_id`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TradingKeys;

impl TradingKeys {
    /// The instrument family.
    pub const SYMBOL: &'static str = "symbol";
    /// The trade family.
    pub const TRADE: &'static str = "trade";
    /// The decision family.
    pub const DECISION: &'static str = "decision";
    /// The order family.
    pub const ORDER: &'static str = "order";
    /// The session family.
    pub const SESSION: &'static str = "session";
    /// The families, in index-file order.
    pub const FAMILIES: [&'static str; 5] = [
        Self::SYMBOL,
        Self::TRADE,
        Self::DECISION,
        Self::ORDER,
        Self::SESSION,
    ];

    /// Calls `emit(family, key)` for each key of `event`.
    pub fn event_keys(event: &Event, emit: &mut dyn FnMut(usize, &str)) {
        if let Some(s) = event.symbol() {
            emit(0, s.as_str());
        }
        if let Some(t) = event.trade_id() {
            emit(1, t.as_str());
        }
        if let Some(d) = event.decision_id() {
            emit(2, d.as_str());
        }
        if let Some(o) = event.order_id() {
            emit(3, o.as_str());
        }
        emit(4, event.session().as_str());
    }
}

impl KeyExtractor for TradingKeys {
    fn families(&self) -> &'static [&'static str] {
        &Self::FAMILIES
    }

    fn keys(
        &self,
        kind: Kind,
        version: SchemaVersion,
        payload: &[u8],
        emit: &mut dyn FnMut(usize, &str),
    ) -> Result<(), KeyError> {
        let event = codec::decode(kind, version, payload)?;
        Self::event_keys(&event, emit);
        Ok(())
    }

    /// Every key is a string field of the event's postcard payload (in
    /// every schema version): the payload holds its postcard encoding, the
    /// length as a varint then the bytes. The length prefix keeps `T1` from
    /// matching inside `T10`.
    fn key_needle(&self, _family: usize, key: &str) -> Option<Vec<u8>> {
        postcard::to_allocvec(key).ok()
    }
}

/// A trading event found through the index: a [`Hit`] decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHit {
    /// Its record.
    pub seq: Seq,
    /// Its time.
    pub time: Timestamp,
    /// The record's chain hash.
    pub chain_hash: ChainHash,
    /// The event.
    pub event: Event,
}

impl EventHit {
    /// Decodes the event a hit's record carries (upcasting an old schema
    /// version); an undecodable record is an error naming it.
    pub fn decode(hit: &Hit) -> Result<EventHit, DomainError> {
        let event = codec::decode(hit.kind, hit.version, &hit.payload).map_err(|error| {
            DomainError::Decode {
                seq: hit.seq,
                error,
            }
        })?;
        Ok(EventHit {
            seq: hit.seq,
            time: hit.time,
            chain_hash: hit.chain_hash,
            event,
        })
    }
}

/// The events a query of `index` finds, decoded.
fn events(index: &LedgerIndex, q: &Query) -> Result<Vec<EventHit>, DomainError> {
    index.query(q)?.map(|hit| EventHit::decode(&hit?)).collect()
}

/// Every event of one trade, in order.
pub fn trade_events(index: &LedgerIndex, trade: &TradeId) -> Result<Vec<EventHit>, DomainError> {
    events(index, &Query::all().key(TradingKeys::TRADE, trade.as_str()))
}

/// The decision chain of one trade, through the index: its decision and
/// that decision's executions, then the trade's own events, in sequence
/// order.
pub fn decision_chain(index: &LedgerIndex, trade: &TradeId) -> Result<Vec<EventHit>, DomainError> {
    let own = trade_events(index, trade)?;
    let decision = own.iter().find_map(|h| match &h.event {
        Event::TradeOpened(t) => t.decision_id.clone(),
        _ => None,
    });
    let mut out = match decision {
        Some(d) => events(index, &Query::all().key(TradingKeys::DECISION, d.as_str()))?
            .into_iter()
            .filter(|h| !matches!(&h.event, Event::TradeOpened(t) if &t.trade_id == trade))
            .collect(),
        None => Vec::new(),
    };
    out.extend(own);
    out.sort_by_key(|h| h.seq);
    out.dedup_by_key(|h| h.seq);
    Ok(out)
}
