//! `Session`: one method per event kind, keyword arguments named as the
//! fields of `docs/EVENTS.md`; `Receipt`: what an append returns.

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ledger_core::{ChainHash, Receipt as CoreReceipt, Seq, Timestamp};
use ledger_domain::event_json::event_from_data;
use ledger_domain::{Decimal, EventKind, OrderId, SessionId, TradeId};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyString, PyTuple};
use serde_json::{Map, Value};

use crate::convert::{self, timestamp, to_json};
use crate::errors::{self, field_of};
use crate::fast;
use crate::ledger::Ledger;

/// What an append returns: the record's `seq`, `chain_hash` (64 hex
/// digits) and `time` (a UTC datetime; `time_ns` holds the nanoseconds);
/// `realized_pnl` (a Decimal) for `close_trade`, else None.
#[pyclass(frozen, module = "tradeledger")]
pub struct Receipt {
    seq: Seq,
    hash: ChainHash,
    time: Timestamp,
    pnl: Option<Decimal>,
}

impl Receipt {
    /// A receipt of the engine's receipt.
    pub fn new(r: CoreReceipt, pnl: Option<Decimal>) -> Self {
        Receipt {
            seq: r.seq,
            hash: r.chain_hash,
            time: r.timestamp,
            pnl,
        }
    }
}

#[pymethods]
impl Receipt {
    /// The record's sequence number (1 for the first record).
    #[getter]
    fn seq(&self) -> u64 {
        self.seq.get()
    }

    /// The record's chain hash, 64 lowercase hex digits.
    #[getter]
    fn chain_hash(&self) -> String {
        self.hash.to_hex()
    }

    /// The record's time, a UTC datetime (microsecond resolution).
    #[getter]
    fn time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::datetime_of(py, self.time)
    }

    /// The record's time in nanoseconds since 1970-01-01 UTC.
    #[getter]
    fn time_ns(&self) -> i64 {
        self.time.as_nanos()
    }

    /// The realized P&L `close_trade` computed (a Decimal), else None.
    #[getter]
    fn realized_pnl<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.pnl
            .map(|p| convert::decimal_of(py, &p.to_string()))
            .transpose()
    }

    fn __repr__(&self) -> String {
        let pnl = self
            .pnl
            .map_or(String::new(), |p| format!(", realized_pnl={p}"));
        format!(
            "Receipt(seq={}, chain_hash='{}', time_ns={}{pnl})",
            self.seq.get(),
            self.hash.to_hex(),
            self.time.as_nanos()
        )
    }
}

/// A trading session of a ledger: `ledger.session("s1", starting_equity=...)`.
///
/// As a context manager it writes `session_started` on entry and
/// `session_ended` on exit (the reason names an exception that ended it).
/// Each event method takes the fields of `docs/EVENTS.md` as keyword
/// arguments (the session is filled in), plus `time=` (an aware datetime;
/// default: now), and returns a `Receipt`. Amounts are `str`, `int` or
/// `Decimal`; a `float` raises TypeError.
///
/// Each instance also holds, in its `__dict__`, the event methods as plain
/// callables of the keyword arguments (see [`Session::install`]): those are
/// what `session.decision` finds, and they reach [`fast`] with the
/// caller's keyword dict as it is; the class's methods below do the same
/// work after PyO3 has copied the arguments into a new dict.
#[pyclass(frozen, dict, module = "tradeledger")]
pub struct Session {
    w: Arc<Writer>,
    equity: Value,
    engine_version: String,
    config_digest: String,
    started: AtomicBool,
}

/// `{key: value}` (or a list of pairs) as `[{key, value}]` with text values.
fn pairs(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    let Ok(d) = v.downcast::<PyDict>() else {
        return to_json(name, v);
    };
    let mut out = Vec::with_capacity(d.len());
    for (k, item) in d.iter() {
        let key = k
            .downcast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("{name}: keys must be str")))?
            .to_cow()?
            .into_owned();
        let text = match to_json(&format!("{name}.{key}"), &item)? {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        out.push(serde_json::json!({"key": key, "value": text}));
    }
    Ok(Value::Array(out))
}

/// The first top-level amount of `data` that is not a decimal the ledger
/// holds (serde's message does not name it).
fn refused_amount(data: &Value) -> Option<String> {
    let fields = data.as_object()?;
    fields
        .iter()
        .find(|(k, v)| {
            convert::DECIMAL_KEYS.contains(&k.as_str())
                && (v.is_string() || v.is_number())
                && serde_json::from_value::<Decimal>((*v).clone()).is_err()
        })
        .map(|(k, _)| k.clone())
}

impl Session {
    /// A session of `ledger`.
    pub fn new(
        ledger: Py<Ledger>,
        id: &str,
        equity: Value,
        engine_version: &str,
        config_digest: &str,
    ) -> PyResult<Self> {
        Ok(Session {
            w: Arc::new(Writer {
                ledger,
                id: SessionId::from(id),
            }),
            equity,
            engine_version: engine_version.to_owned(),
            config_digest: config_digest.to_owned(),
            started: AtomicBool::new(false),
        })
    }

    /// `session` with its event methods installed in its `__dict__`: for
    /// each, a function of the keyword arguments that holds the ledger and
    /// the session id (not the session: no reference cycle).
    pub fn install(session: Bound<'_, Session>) -> PyResult<Bound<'_, Session>> {
        let py = session.py();
        for (name, cname, kind) in METHODS {
            let w = Arc::clone(&session.get().w);
            let f = PyCFunction::new_closure(
                py,
                Some(cname),
                Some(c"An event method of this session: see the Session class's method of this name."),
                move |args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>| {
                    if !args.is_empty() {
                        let n = args.len();
                        return Err(PyTypeError::new_err(format!(
                            "Session.{name}() takes 0 positional arguments but {n} {} given",
                            if n == 1 { "was" } else { "were" }
                        )));
                    }
                    w.log(args.py(), kind, kwargs)
                },
            )?;
            session.setattr(name, f)?;
        }
        Ok(session)
    }
}

/// The event methods that take keyword arguments, with their kinds.
const METHODS: [(&str, &CStr, EventKind); 9] = [
    ("decision", c"decision", EventKind::Decision),
    ("execution", c"execution", EventKind::Execution),
    ("open_trade", c"open_trade", EventKind::TradeOpened),
    ("fill_trade", c"fill_trade", EventKind::TradeFilled),
    ("position", c"position", EventKind::PositionSnapshot),
    ("risk", c"risk", EventKind::Risk),
    ("system", c"system", EventKind::System),
    ("metric", c"metric", EventKind::Metric),
    ("audit", c"audit", EventKind::Audit),
];

/// What a session's appends need: the ledger and the session id.
struct Writer {
    ledger: Py<Ledger>,
    id: SessionId,
}

impl Writer {
    fn append(
        &self,
        py: Python<'_>,
        kind: EventKind,
        mut map: Map<String, Value>,
        time: Option<Timestamp>,
        rebuild: impl FnOnce() -> Option<Value>,
    ) -> PyResult<Receipt> {
        map.insert("session".into(), Value::String(self.id.as_str().to_owned()));
        let data = Value::Object(map);
        // Moved into the event (no copy of its text) on the fast path; on a
        // refusal serde's message may not name the amount, so the data is
        // rebuilt from the arguments then to find it.
        let event = event_from_data(kind, data).map_err(|e| {
            let msg = e.to_string();
            let mut field = field_of(&msg);
            if field.is_empty() {
                field = rebuild()
                    .and_then(|d| refused_amount(&d))
                    .unwrap_or_default();
            }
            errors::validation(
                py,
                Some(kind),
                if field.is_empty() { "data" } else { &field },
                &msg,
            )
        })?;
        let r = self.ledger.get().append_event(py, time, event)?;
        Ok(Receipt::new(r, None))
    }

    /// The event's fields and time from keyword arguments.
    fn fields(
        &self,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(Map<String, Value>, Option<Timestamp>)> {
        let mut map = Map::new();
        let mut time = None;
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                let key = k.downcast::<PyString>()?.to_cow()?;
                match key.as_ref() {
                    "time" => {
                        if !v.is_none() {
                            time = Some(timestamp("time", &v)?);
                        }
                    }
                    "session" => {
                        return Err(PyTypeError::new_err(format!(
                            "session: set by the Session ({}); open another session for another id",
                            self.id
                        )))
                    }
                    "fields" | "tags" => {
                        let value = pairs(&key, &v)?;
                        map.insert(key.into_owned(), value);
                    }
                    _ => {
                        let value = to_json(&key, &v)?;
                        map.insert(key.into_owned(), value);
                    }
                }
            }
        }
        Ok((map, time))
    }

    /// Logs an event of `kind` from keyword arguments.
    fn log(
        &self,
        py: Python<'_>,
        kind: EventKind,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Receipt> {
        if let Some((event, time)) = kwargs.and_then(|kw| fast::event(kind, &self.id, kw)) {
            let r = self.ledger.get().append_event(py, time, event)?;
            return Ok(Receipt::new(r, None));
        }
        // Whatever the fast path does not take, this path takes or refuses
        // with the message naming the field.
        let (mut map, time) = self.fields(kwargs)?;
        // A log line or a metric without fields or tags has none.
        match kind {
            EventKind::System => {
                map.entry("fields")
                    .or_insert_with(|| Value::Array(Vec::new()));
            }
            EventKind::Metric => {
                map.entry("tags")
                    .or_insert_with(|| Value::Array(Vec::new()));
            }
            _ => {}
        }
        self.append(py, kind, map, time, || {
            self.fields(kwargs).ok().map(|(m, _)| Value::Object(m))
        })
    }
}

fn amount(py: Python<'_>, field: &str, v: &Bound<'_, PyAny>) -> PyResult<Decimal> {
    serde_json::from_value(to_json(field, v)?)
        .map_err(|e| errors::validation(py, Some(EventKind::TradeClosed), field, &e.to_string()))
}

#[pymethods]
impl Session {
    /// The session id.
    #[getter]
    fn id(&self) -> &str {
        self.w.id.as_str()
    }

    /// The ledger the session writes to.
    #[getter]
    fn ledger(&self, py: Python<'_>) -> Py<Ledger> {
        self.w.ledger.clone_ref(py)
    }

    /// Writes `session_started` (engine version, config digest, starting
    /// equity as given to `ledger.session`).
    #[pyo3(signature = (*, time = None))]
    fn start(&self, py: Python<'_>, time: Option<&Bound<'_, PyAny>>) -> PyResult<Receipt> {
        let time = time
            .filter(|t| !t.is_none())
            .map(|t| timestamp("time", t))
            .transpose()?;
        let mut map = Map::new();
        map.insert(
            "engine_version".into(),
            Value::String(self.engine_version.clone()),
        );
        map.insert(
            "config_digest".into(),
            Value::String(self.config_digest.clone()),
        );
        map.insert("starting_equity".into(), self.equity.clone());
        let r = self
            .w
            .append(py, EventKind::SessionStarted, map, time, || None)?;
        self.started.store(true, Ordering::Release);
        Ok(r)
    }

    /// Writes `session_ended` with `reason`.
    #[pyo3(signature = (reason = "end of session", *, time = None))]
    fn end(
        &self,
        py: Python<'_>,
        reason: &str,
        time: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Receipt> {
        let time = time
            .filter(|t| !t.is_none())
            .map(|t| timestamp("time", t))
            .transpose()?;
        let mut map = Map::new();
        map.insert("reason".into(), Value::String(reason.to_owned()));
        self.w
            .append(py, EventKind::SessionEnded, map, time, || None)
    }

    fn __enter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        slf.get().start(py, None)?;
        Ok(slf)
    }

    #[pyo3(signature = (exc_type = None, exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let reason = match (exc_type.filter(|t| !t.is_none()), exc) {
            (Some(t), Some(e)) => format!(
                "ended by {}: {}",
                t.getattr("__name__")
                    .map_or_else(|_| "an exception".to_owned(), |n| n.to_string()),
                e.str().map_or_else(|_| String::new(), |s| s.to_string())
            ),
            _ => "end of session".to_owned(),
        };
        self.end(py, &reason, None)?;
        Ok(false)
    }

    /// A trading decision: `decision_id`, `symbol`, `action` (`buy`,
    /// `sell`, `hold`, `close`), `size`, `confidence` (0..1), `reasoning`
    /// (a list of steps), `market` (`bid`, `ask`, `last`, `volume`,
    /// `indicators`: a list of `{name, value}`).
    #[pyo3(signature = (**fields))]
    fn decision(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::Decision, fields)
    }

    /// An order's result: `order_id`, `decision_id`, `symbol`, `side`,
    /// `status` (`filled`, `partially_filled`, `rejected`, `cancelled`),
    /// `requested_qty`, `filled_qty`, `avg_price`, `fees`, `latency_us`,
    /// `error`.
    #[pyo3(signature = (**fields))]
    fn execution(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::Execution, fields)
    }

    /// A trade opened: `trade_id`, `symbol`, `direction` (`long`,
    /// `short`), `qty`, `price`, `fees`, `decision_id`, `order_id`.
    #[pyo3(signature = (**fields))]
    fn open_trade(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::TradeOpened, fields)
    }

    /// A further fill: `trade_id`, `symbol`, `effect` (`increase`,
    /// `reduce`), `qty`, `price`, `fees`, `order_id`.
    #[pyo3(signature = (**fields))]
    fn fill_trade(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::TradeFilled, fields)
    }

    /// Closes trade `trade_id` at `price` with `fees`; the ledger computes
    /// the realized P&L from the trade's fills (net of all fees) and returns
    /// it as the receipt's `realized_pnl`.
    #[pyo3(signature = (trade_id, price, fees = None, order_id = None, *, time = None))]
    fn close_trade(
        &self,
        py: Python<'_>,
        trade_id: &str,
        price: &Bound<'_, PyAny>,
        fees: Option<&Bound<'_, PyAny>>,
        order_id: Option<&str>,
        time: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Receipt> {
        let price = amount(py, "price", price)?;
        let fees = match fees {
            Some(f) if !f.is_none() => amount(py, "fees", f)?,
            _ => Decimal::ZERO,
        };
        let time = time
            .filter(|t| !t.is_none())
            .map(|t| timestamp("time", t))
            .transpose()?;
        let session = self.w.id.clone();
        let trade = TradeId::new(trade_id);
        let order = order_id.map(OrderId::new);
        let (r, pnl) = self.w.ledger.get().with_ledger(py, move |l| {
            l.close_trade(session, trade, price, fees, order, time)
        })?;
        Ok(Receipt::new(r, Some(pnl)))
    }

    /// A position snapshot: `symbol`, signed `qty` (negative: short),
    /// `avg_entry`, `mark`, `unrealized_pnl`, `realized_pnl`.
    #[pyo3(signature = (**fields))]
    fn position(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::PositionSnapshot, fields)
    }

    /// A risk event: `rule`, `severity` (`info`, `warning`, `critical`),
    /// `limit`, `observed`, `action`.
    #[pyo3(signature = (**fields))]
    fn risk(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::Risk, fields)
    }

    /// A system event: `component`, `level` (`trace`, `debug`, `info`,
    /// `warn`, `error`), `message`, `fields` (a dict or a list of `{key,
    /// value}`; values become text).
    #[pyo3(signature = (**fields))]
    fn system(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::System, fields)
    }

    /// A metric: `name`, `value`, `tags` (a dict or a list of `{key,
    /// value}`).
    #[pyo3(signature = (**fields))]
    fn metric(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::Metric, fields)
    }

    /// An operator's action: `who`, `action`, `target`, `reason`.
    #[pyo3(signature = (**fields))]
    fn audit(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Receipt> {
        self.w.log(py, EventKind::Audit, fields)
    }

    fn __repr__(&self) -> String {
        format!(
            "<tradeledger.Session {} (started: {})>",
            self.w.id,
            self.started.load(Ordering::Acquire)
        )
    }
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Session>()?;
    m.add_class::<Receipt>()
}
