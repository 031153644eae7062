//! `Ledger`: the trading ledger, shared by Python threads.
//!
//! Locking: the ledger is one `Mutex<Option<TradingLedger>>`. No Python
//! code ever runs while it is held (every argument is converted first), so
//! a thread that waits for it while holding the GIL always sees the holder
//! finish. An append that may wait (for the device, with
//! `sync_every_append`, or for another thread's append) waits with the GIL
//! released; so do verify, export batches, report and replay.

use std::path::PathBuf;
use std::time::Duration;

use ledger_core::{Durability, Reader, Receipt as CoreReceipt, Seq, Timestamp, WriterOptions};
use ledger_domain::event_json::parse_value;
use ledger_domain::views_json;
use ledger_domain::{
    replay, total_net_pnl, DomainError, Event, PerformanceReport, ReplayOptions, ReportFilter,
    SessionId, Symbol, TradeId, TradingLedger,
};
use parking_lot::Mutex;
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::{self, timestamp};
use crate::errors::{self, LedgerError};
use crate::read::{EventIter, Filters, VerifyReport};
use crate::session::{Receipt, Session};

/// Why a call on the ledger did not happen.
pub(crate) enum Failure {
    Domain(DomainError),
    Closed,
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        Failure::Domain(e)
    }
}

impl Failure {
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Domain(e) => errors::domain(py, e),
            Failure::Closed => LedgerError::new_err("the ledger is closed"),
        }
    }
}

/// A trading ledger in a folder, open for writing (one writer per folder:
/// a second one, in this process or another, raises `LockedError`).
///
/// Open it with `Ledger.open(path, durability=...)`; use it as a context
/// manager or call `close()`. Every method may be called from several
/// threads at once.
#[pyclass(frozen, module = "tradeledger")]
pub struct Ledger {
    dir: PathBuf,
    /// Whether an append waits for the device (then it releases the GIL).
    waits: bool,
    durability: &'static str,
    state: Mutex<Option<TradingLedger>>,
}

fn durability_of(name: &str) -> PyResult<(Durability, bool, &'static str)> {
    Ok(match name {
        "group_commit" => (
            Durability::GroupCommit {
                interval: Duration::from_millis(2),
            },
            false,
            "group_commit",
        ),
        "no_sync" => (Durability::NoSync, false, "no_sync"),
        "sync_every_append" => (Durability::SyncEveryAppend, true, "sync_every_append"),
        other => {
            return Err(PyValueError::new_err(format!(
                "durability: {other:?} is not a mode; use \"group_commit\" (a background flush every 2 ms; sync() waits for it), \"no_sync\" or \"sync_every_append\""
            )))
        }
    })
}

impl Ledger {
    /// Runs `f` on the open ledger (see the module docs for the GIL).
    pub(crate) fn with_ledger<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut TradingLedger) -> Result<R, DomainError> + Send,
    ) -> PyResult<R> {
        let run = |state: &mut Option<TradingLedger>| match state.as_mut() {
            Some(l) => f(l).map_err(Failure::Domain),
            None => Err(Failure::Closed),
        };
        let result = if self.waits {
            py.allow_threads(|| run(&mut self.state.lock()))
        } else if let Some(mut state) = self.state.try_lock() {
            run(&mut state)
        } else {
            py.allow_threads(|| run(&mut self.state.lock()))
        };
        result.map_err(|e| e.into_py(py))
    }

    /// Appends `event` (at `time`, or now).
    pub(crate) fn append_event(
        &self,
        py: Python<'_>,
        time: Option<Timestamp>,
        event: Event,
    ) -> PyResult<CoreReceipt> {
        self.with_ledger(py, move |l| match time {
            Some(t) => l.append_at(t, &event),
            None => l.append(&event),
        })
    }

    fn reader(&self) -> Result<Reader, DomainError> {
        Ok(Reader::open(&self.dir)?)
    }
}

fn opt_time(name: &str, t: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    t.filter(|t| !t.is_none())
        .map(|t| timestamp(name, t))
        .transpose()
}

/// One string or a list of strings.
fn strings(name: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match v {
        None => Ok(Vec::new()),
        Some(v) if v.is_none() => Ok(Vec::new()),
        Some(v) => {
            if let Ok(s) = v.downcast::<PyString>() {
                return Ok(vec![s.to_cow()?.into_owned()]);
            }
            v.extract::<Vec<String>>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "{name}: expected a str or a list of str"
                ))
            })
        }
    }
}

#[pymethods]
impl Ledger {
    /// Opens (or creates, when the folder is absent or empty) the ledger in
    /// `path`. `durability`: `"group_commit"` (default: appends return at
    /// once, a background thread flushes every 2 ms, `sync()` waits for
    /// it), `"no_sync"` (flushed on seal, `sync()` and `close()`), or
    /// `"sync_every_append"` (each append returns once on the device).
    /// Raises `LockedError` when another writer holds the ledger.
    #[staticmethod]
    #[pyo3(signature = (path, durability = "group_commit"))]
    fn open(py: Python<'_>, path: PathBuf, durability: &str) -> PyResult<Ledger> {
        let (mode, waits, name) = durability_of(durability)?;
        let opts = WriterOptions::default().durability(mode);
        let dir = path.clone();
        let ledger = py
            .allow_threads(|| TradingLedger::open(&dir, opts))
            .map_err(|e| errors::domain(py, e))?;
        Ok(Ledger {
            dir: path,
            waits,
            durability: name,
            state: Mutex::new(Some(ledger)),
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    /// Makes everything appended durable, closes the writer and releases
    /// the lock. Closing twice is allowed; reading methods still work.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.allow_threads(|| match self.state.lock().take() {
            Some(l) => l.close().map_err(Failure::Domain),
            None => Ok(()),
        })
        .map_err(|e| e.into_py(py))
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.allow_threads(|| self.state.lock().is_none())
    }

    /// The ledger's folder.
    #[getter]
    fn path(&self) -> PathBuf {
        self.dir.clone()
    }

    /// The durability mode the ledger was opened with.
    #[getter]
    fn durability(&self) -> &'static str {
        self.durability
    }

    /// The ledger's unique id (32 hex digits).
    #[getter]
    fn ledger_id(&self, py: Python<'_>) -> PyResult<String> {
        self.with_ledger(py, |l| Ok(l.writer().ledger_id().to_hex()))
    }

    /// The last record (a `Receipt`), or None when the ledger is empty.
    #[getter]
    fn head(&self, py: Python<'_>) -> PyResult<Option<Receipt>> {
        let head = self.with_ledger(py, |l| Ok(l.writer().head()))?;
        Ok(head.map(|h| {
            Receipt::new(
                CoreReceipt {
                    seq: h.seq,
                    chain_hash: h.chain_hash,
                    timestamp: h.timestamp,
                },
                None,
            )
        }))
    }

    /// Waits (with the GIL released) until every record appended so far is
    /// on the device.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        // The wait needs no exclusive access: other threads keep
        // appending while this one waits for the device.
        let (head, durable) = self.with_ledger(py, |l| {
            Ok((
                l.writer().head().map(|h| h.seq),
                l.writer().durability_handle(),
            ))
        })?;
        let Some(seq) = head else { return Ok(()) };
        py.allow_threads(|| durable.wait(seq))
            .map_err(|e| errors::core(py, e))
    }

    /// A session: `ledger.session("s1", starting_equity="10000")`. As a
    /// context manager it writes `session_started` on entry and
    /// `session_ended` on exit; `start()` and `end()` do it by hand.
    #[pyo3(signature = (session_id, starting_equity = None, engine_version = "tradeledger", config_digest = ""))]
    fn session<'py>(
        slf: &Bound<'py, Self>,
        session_id: &str,
        starting_equity: Option<&Bound<'_, PyAny>>,
        engine_version: &str,
        config_digest: &str,
    ) -> PyResult<Bound<'py, Session>> {
        let equity = match starting_equity {
            Some(v) => convert::to_json("starting_equity", v)?,
            None => serde_json::Value::String("0".into()),
        };
        let session = Session::new(
            slf.clone().unbind(),
            session_id,
            equity,
            engine_version,
            config_digest,
        )?;
        Session::install(Bound::new(slf.py(), session)?)
    }

    /// Appends one event given in the JSON-line form of `docs/EVENTS.md`:
    /// `{"kind": "decision", "data": {...}}`, optionally with `time` (an
    /// aware datetime or RFC 3339), `session`, `seq` and `chain_hash`
    /// (ignored). Returns its `Receipt`; raises `ValidationError`.
    fn append(&self, py: Python<'_>, event: &Bound<'_, PyDict>) -> PyResult<Receipt> {
        let value = serde_json::Value::Object(convert::dict_to_json("", event)?);
        let input = parse_value(value).map_err(|e| errors::line(py, e))?;
        let r = self.append_event(py, input.time, input.event)?;
        Ok(Receipt::new(r, None))
    }

    /// Iterates the events as dicts in the export form (`seq`, `time`,
    /// `kind`, `session`, `chain_hash`, `data`), amounts as `Decimal`, times
    /// as UTC datetimes. `kind`, `symbol`, `session`, `trade` (a str or a
    /// list) select through the index; `start` (inclusive) and `end`
    /// (exclusive) bound the time.
    #[pyo3(signature = (kind = None, symbol = None, session = None, trade = None, start = None, end = None))]
    #[allow(clippy::too_many_arguments)]
    fn events(
        &self,
        py: Python<'_>,
        kind: Option<&Bound<'_, PyAny>>,
        symbol: Option<&Bound<'_, PyAny>>,
        session: Option<&Bound<'_, PyAny>>,
        trade: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<EventIter> {
        let filters = Filters {
            kinds: strings("kind", kind)?,
            symbols: strings("symbol", symbol)?,
            sessions: strings("session", session)?,
            trades: strings("trade", trade)?,
            start: opt_time("start", start)?,
            end: opt_time("end", end)?,
        };
        EventIter::new(py, self.dir.clone(), filters)
    }

    /// The events `events(...)` selects as a pandas DataFrame with the
    /// columns of `ledger export --format csv` (`seq`, `time`, `kind`,
    /// `session`, `symbol`, `trade_id`, `decision_id`, `order_id`,
    /// `chain_hash`, `data`). pandas is imported now; without it this
    /// raises ImportError saying how to install it.
    #[pyo3(signature = (kind = None, symbol = None, session = None, trade = None, start = None, end = None))]
    #[allow(clippy::too_many_arguments)]
    fn to_pandas<'py>(
        &self,
        py: Python<'py>,
        kind: Option<&Bound<'py, PyAny>>,
        symbol: Option<&Bound<'py, PyAny>>,
        session: Option<&Bound<'py, PyAny>>,
        trade: Option<&Bound<'py, PyAny>>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let iter = self.events(py, kind, symbol, session, trade, start, end)?;
        py.import("tradeledger._frames")?
            .getattr("to_pandas")?
            .call1((iter,))
    }

    /// Re-hashes the whole ledger (with the GIL released) and returns a
    /// `VerifyReport`: `intact`, `head_seq`, `head_chain_hash`, `records`,
    /// `findings` (each with `kind`, `segment`, `offset`, `seq`, `detail`).
    fn verify(&self, py: Python<'_>) -> PyResult<VerifyReport> {
        let value = py
            .allow_threads(|| {
                // No append is half-written while the files are read.
                let _state = self.state.lock();
                ledger_core::verify_dir(&self.dir, &ledger_core::VerifyOptions::default())
                    .map(|r| views_json::verify_report(&r))
            })
            .map_err(|e| errors::core(py, e))?;
        VerifyReport::from_json(py, value)
    }

    /// The performance report, the figures of `ledger report --json`, as a
    /// dict: `starting_equity`, `total` and `by_symbol` (trades, wins,
    /// win_rate, net_pnl, ...). `symbol` (a str or a list) and `session`
    /// select; `start` (inclusive) and `end` (exclusive) bound the closing
    /// times.
    #[pyo3(signature = (symbol = None, session = None, start = None, end = None))]
    fn report<'py>(
        &self,
        py: Python<'py>,
        symbol: Option<&Bound<'py, PyAny>>,
        session: Option<&str>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let symbols = strings("symbol", symbol)?;
        let filter = ReportFilter {
            from: opt_time("start", start)?,
            to: opt_time("end", end)?,
            symbols: symbols.iter().map(|s| Symbol::new(s.as_str())).collect(),
            ..ReportFilter::default()
        };
        let session = session.map(SessionId::from);
        let value = py
            .allow_threads(|| -> Result<serde_json::Value, DomainError> {
                let reader = self.reader()?;
                let opts = ReplayOptions {
                    session,
                    ..ReplayOptions::default()
                };
                let p = replay(&reader, &opts)?;
                let report =
                    PerformanceReport::from_log(&reader, &p, opts.session.as_ref(), &filter)?;
                Ok(serde_json::to_value(&report).unwrap_or_default())
            })
            .map_err(|e| errors::domain(py, e))?;
        convert::to_py(py, &value)
    }

    /// The state after folding the log up to record `until_seq` or time
    /// `until` (optionally one session's events only), as `ledger replay
    /// --json` gives it: counts by kind, sessions, open trades, closed
    /// trades and their net P&L, positions, latest metrics.
    #[pyo3(signature = (until_seq = None, until = None, session = None))]
    fn replay<'py>(
        &self,
        py: Python<'py>,
        until_seq: Option<u64>,
        until: Option<&Bound<'py, PyAny>>,
        session: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = ReplayOptions {
            until_seq: until_seq.map(Seq::new),
            until_time: opt_time("until", until)?,
            session: session.map(SessionId::from),
        };
        let value = py
            .allow_threads(|| -> Result<serde_json::Value, DomainError> {
                let p = replay(&self.reader()?, &opts)?;
                let net = total_net_pnl(&p.closed_trades())?;
                Ok(views_json::replay_state(&p, &opts, net))
            })
            .map_err(|e| errors::domain(py, e))?;
        convert::to_py(py, &value)
    }

    /// "Why did we trade": the trade's story as `ledger replay --trade ID
    /// --json` gives it (`trade`, `decision` with its reasoning and market
    /// snapshot, `executions`, `last`). Raises KeyError for an unknown trade.
    fn explain_trade<'py>(&self, py: Python<'py>, trade_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = TradeId::new(trade_id);
        let value = py
            .allow_threads(|| -> Result<Option<serde_json::Value>, DomainError> {
                let reader = self.reader()?;
                let p = replay(&reader, &ReplayOptions::default())?;
                let story = p.explain_trade(&id, &reader)?;
                Ok(story.map(|s| views_json::trade_story(&p, &s)))
            })
            .map_err(|e| errors::domain(py, e))?;
        match value {
            Some(v) => convert::to_py(py, &v),
            None => Err(PyKeyError::new_err(format!(
                "no trade {trade_id:?} in the ledger in {}",
                self.dir.display()
            ))),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let closed = self.closed(py);
        format!(
            "<tradeledger.Ledger {} ({}{})>",
            self.dir.display(),
            self.durability,
            if closed { ", closed" } else { "" }
        )
    }
}

/// Registers the class.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Ledger>()
}
