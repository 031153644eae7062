//! # tradeledger (ledger-py)
//!
//! The trading ledger embedded in Python: the native module
//! `tradeledger._native` of the `tradeledger` package, built with PyO3 and
//! maturin (`pip install ./ledger-py`). The Python side
//! (`python/tradeledger/`) re-exports it and adds the `logging` handler,
//! the pandas frame, the type stubs and `py.typed`.
//!
//! What it is made of, all from the Rust crates, so a ledger written from
//! Python is the same kind of ledger the `ledger` command writes:
//! - `Ledger` ([`ledger`]): a [`ledger_domain::TradingLedger`] behind one
//!   lock, shareable by threads; `append` takes the JSON-line form of
//!   `docs/EVENTS.md` ([`ledger_domain::event_json`]); `events`, `verify`,
//!   `report`, `replay` and `explain_trade` give what `ledger export`,
//!   `verify --json`, `report --json` and `replay --json` give
//!   ([`ledger_domain::views_json`]).
//! - `Session` ([`session`]): one method per event kind, keyword arguments
//!   named as the event's fields; `close_trade` computes the P&L.
//! - Exact values ([`convert`]): amounts are `str`, `int` or `Decimal` in
//!   and `Decimal` out; a `float` is refused with a `TypeError` that says
//!   why; times are timezone-aware `datetime`s.
//! - Exceptions ([`errors`]): `LedgerError`, `ValidationError(field,
//!   reason)`, `LockedError`, `CorruptError(segment, offset, seq)`.
//!
//! The GIL is released while an append waits for the device and while
//! verify, export batches, report and replay run.
//!
//! ```python
//! import tempfile
//! from decimal import Decimal
//! import tradeledger
//!
//! path = tempfile.mkdtemp() + "/ledger"
//! with tradeledger.Ledger.open(path, durability="group_commit") as ledger:
//!     with ledger.session("s1", starting_equity="10000") as s:
//!         s.decision(decision_id="D1", symbol="BTC-USD", action="buy", size="0.5",
//!                    confidence="0.8", reasoning=["RSI leaving oversold"],
//!                    market={"bid": "39990", "ask": "40010", "last": "40000",
//!                            "volume": "1250.5", "indicators": []})
//!         s.open_trade(trade_id="T1", symbol="BTC-USD", direction="long",
//!                      qty="0.5", price=Decimal("40000"), fees="10", decision_id="D1")
//!         receipt = s.close_trade("T1", price="40600", fees="10")
//!         assert receipt.realized_pnl == Decimal("280")
//!     assert ledger.verify().intact
//!     assert ledger.report()["total"]["net_pnl"] == Decimal("280")
//! ```

mod convert;
mod errors;
mod fast;
mod ledger;
mod read;
mod session;

use pyo3::prelude::*;

/// The native module `tradeledger._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    ledger::register(m)?;
    session::register(m)?;
    read::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
