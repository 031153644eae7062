//! Python objects to JSON values and back, exactly.
//!
//! In: `dict`, `list`/`tuple`, `str`, `int`, `bool`, `None`,
//! `decimal.Decimal` (as its plain decimal string) and timezone-aware
//! `datetime` (as RFC 3339). A `float` is refused anywhere with a
//! `TypeError` naming the field: a binary float cannot hold most decimal
//! amounts exactly (0.1 is 0.1000000000000000055...), and the ledger
//! stores exact decimals only.
//!
//! Out: the JSON the command line writes, with amounts (decimal strings at
//! the keys in [`DECIMAL_KEYS`]) as `Decimal`, times (RFC 3339 strings at
//! the keys in [`TIME_KEYS`]) as UTC `datetime`s, ratios as `float`.

use chrono::{DateTime, Datelike, Timelike, Utc};
use ledger_core::Timestamp;
use ledger_domain::times::parse_time;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Number, Value};

static DECIMAL: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static DATETIME: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static UTC: GILOnceCell<PyObject> = GILOnceCell::new();

/// `decimal.Decimal`.
pub fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

fn datetime_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DATETIME.import(py, "datetime", "datetime")
}

fn utc(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let tz = UTC.get_or_try_init(py, || -> PyResult<PyObject> {
        Ok(py
            .import("datetime")?
            .getattr("timezone")?
            .getattr("utc")?
            .unbind())
    })?;
    Ok(tz.bind(py))
}

fn float_refused(path: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    let shown = obj
        .repr()
        .map_or_else(|_| "?".to_owned(), |r| r.to_string());
    PyTypeError::new_err(format!(
        "{path}: a float ({shown}) is refused: binary floats cannot hold most decimal amounts \
         exactly (0.1 is stored as 0.1000000000000000055...), and the ledger keeps money exact; \
         pass a str, an int or a decimal.Decimal, e.g. Decimal(\"0.1\") or \"0.1\""
    ))
}

/// The plain decimal string of a `Decimal` (no exponent), refusing NaN and
/// infinities.
fn decimal_text(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let finite: bool = obj.call_method0("is_finite")?.extract()?;
    if !finite {
        return Err(PyValueError::new_err(format!(
            "{path}: {} is not a finite amount",
            obj.str()?
        )));
    }
    obj.py()
        .import("builtins")?
        .getattr("format")?
        .call1((obj, "f"))?
        .extract()
}

/// The RFC 3339 form of an aware `datetime`; a naive one is refused.
fn datetime_text(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if obj.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(format!(
            "{path}: a naive datetime ({}) is refused: give it a time zone, \
             e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=timezone.utc)",
            obj.str()?
        )));
    }
    obj.call_method0("isoformat")?.extract()
}

/// Whether `obj` is a `datetime.datetime`.
pub fn is_datetime(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    obj.is_instance(datetime_type(obj.py())?)
}

/// A ledger time from an aware `datetime` or an RFC 3339 / date string.
pub fn timestamp(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    let text = if is_datetime(obj)? {
        datetime_text(path, obj)?
    } else if let Ok(s) = obj.downcast::<PyString>() {
        s.to_cow()?.into_owned()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{path}: expected a timezone-aware datetime, got {}",
            obj.get_type().name()?
        )));
    };
    parse_time(&text).map_err(|e| PyValueError::new_err(format!("{path}: {e}")))
}

/// Where a value is, rendered only for an error message
/// (`market.indicators[0].value`).
#[derive(Clone, Copy)]
enum Loc<'a> {
    Top(&'a str),
    Key(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
}

impl Loc<'_> {
    fn render(&self) -> String {
        match self {
            Loc::Top(s) => (*s).to_owned(),
            Loc::Key(parent, k) => match parent.render() {
                p if p.is_empty() => (*k).to_owned(),
                p => format!("{p}.{k}"),
            },
            Loc::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// The JSON value of a Python object; `path` names it in errors.
pub fn to_json(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    value_at(Loc::Top(path), obj)
}

fn value_at(loc: Loc<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract()?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        // Beyond 64 bits: the exact digits, which the decimal parser judges.
        return Ok(Value::String(obj.str()?.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Err(float_refused(&loc.render(), obj));
    }
    let py = obj.py();
    if obj.is_instance(decimal_type(py)?)? {
        return Ok(Value::String(decimal_text(&loc.render(), obj)?));
    }
    if obj.is_instance(datetime_type(py)?)? {
        return Ok(Value::String(datetime_text(&loc.render(), obj)?));
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        return dict_at(loc, d).map(Value::Object);
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return seq_at(loc, l.iter());
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return seq_at(loc, t.iter());
    }
    Err(PyTypeError::new_err(format!(
        "{}: a {} cannot be stored; use str, int, decimal.Decimal, an aware datetime, bool, None, list or dict",
        loc.render(),
        obj.get_type().name()?
    )))
}

fn seq_at<'py>(loc: Loc<'_>, items: impl Iterator<Item = Bound<'py, PyAny>>) -> PyResult<Value> {
    items
        .enumerate()
        .map(|(i, v)| value_at(Loc::Index(&loc, i), &v))
        .collect::<PyResult<Vec<_>>>()
        .map(Value::Array)
}

/// The JSON object of a `dict` with `str` keys.
pub fn dict_to_json(path: &str, d: &Bound<'_, PyDict>) -> PyResult<Map<String, Value>> {
    dict_at(Loc::Top(path), d)
}

fn dict_at(loc: Loc<'_>, d: &Bound<'_, PyDict>) -> PyResult<Map<String, Value>> {
    let mut m = Map::new();
    for (k, v) in d.iter() {
        let key = k
            .downcast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("{}: keys must be str", loc.render())))?
            .to_cow()?
            .into_owned();
        let value = value_at(Loc::Key(&loc, &key), &v)?;
        m.insert(key, value);
    }
    Ok(m)
}

/// Keys whose decimal-string values are amounts, returned as `Decimal`
/// (`value` only where it is not a `{key, value}` text field).
pub const DECIMAL_KEYS: &[&str] = &[
    "starting_equity",
    "size",
    "confidence",
    "bid",
    "ask",
    "last",
    "volume",
    "requested_qty",
    "filled_qty",
    "avg_price",
    "fees",
    "qty",
    "price",
    "realized_pnl",
    "avg_entry",
    "mark",
    "unrealized_pnl",
    "limit",
    "observed",
    "value",
    "gross_profit",
    "gross_loss",
    "net_pnl",
    "average_win",
    "average_loss",
    "expectancy",
    "max_drawdown",
    "mid",
    "slippage_cost",
    "equity",
    "ending_equity",
    "max_drawdown_peak",
    "max_relative_drawdown",
    "max_relative_drawdown_peak",
    "open_qty",
    "realized_gross",
    "cost_basis",
    "max_qty",
    "exit_price",
    "realized",
    "closed_net_pnl",
];

/// Keys whose RFC 3339 string values are times, returned as `datetime`.
pub const TIME_KEYS: &[&str] = &[
    "time",
    "started",
    "ended",
    "first_time",
    "last_time",
    "opened_time",
    "until",
];

/// A UTC `datetime` of a ledger time (microseconds: Python's resolution;
/// the nanoseconds are dropped).
pub fn datetime_of<'py>(py: Python<'py>, t: Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let nanos = t.as_nanos();
    let dt = DateTime::<Utc>::from_timestamp(
        nanos.div_euclid(1_000_000_000),
        // Always below 10^9: fits.
        u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0),
    )
    .ok_or_else(|| PyValueError::new_err(format!("time {nanos} ns is out of range")))?;
    datetime_type(py)?.call1((
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() / 1000,
        utc(py)?,
    ))
}

/// A `Decimal` of a decimal string.
pub fn decimal_of<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    decimal_type(py)?.call1((text,))
}

/// The Python object of a JSON value: amounts as `Decimal`, times as
/// `datetime` (see the module docs), numbers as `int` or `float`.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    to_py_at(py, v, None, false)
}

fn to_py_at<'py>(
    py: Python<'py>,
    v: &Value,
    key: Option<&str>,
    text_field: bool,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        // A record's time in nanoseconds (`At` in a trade's story).
        Value::Number(n) if key == Some("time") => match n.as_i64() {
            Some(ns) => datetime_of(py, Timestamp::from_nanos(ns))?,
            None => number(py, n)?,
        },
        Value::Number(n) => number(py, n)?,
        Value::String(s) => match key {
            Some("value") if text_field => PyString::new(py, s).into_any(),
            Some(k) if DECIMAL_KEYS.contains(&k) && s.parse::<ledger_domain::Decimal>().is_ok() => {
                decimal_of(py, s)?
            }
            Some(k) if TIME_KEYS.contains(&k) => match parse_time(s) {
                Ok(t) => datetime_of(py, t)?,
                Err(_) => PyString::new(py, s).into_any(),
            },
            _ => PyString::new(py, s).into_any(),
        },
        Value::Array(items) => {
            if key == Some("equity_curve") {
                return equity_curve(py, items);
            }
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py_at(py, item, key, false)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            // `{key, value}` pairs (system fields, metric tags) hold text.
            let text = m.contains_key("key");
            let d = PyDict::new(py);
            for (k, item) in m {
                d.set_item(k, to_py_at(py, item, Some(k), text)?)?;
            }
            d.into_any()
        }
    })
}

fn number<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.into_pyobject(py)?.into_any());
    }
    // Ratios (win rate, Sharpe, ...) are floats by design.
    Ok(n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any())
}

/// The equity curve `[[time ns, amount], ...]` as `[(datetime, Decimal), ...]`.
fn equity_curve<'py>(py: Python<'py>, items: &[Value]) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        let point = match item.as_array().map(Vec::as_slice) {
            Some([Value::Number(t), Value::String(amount)]) => {
                let t = t.as_i64().map(Timestamp::from_nanos);
                match t {
                    Some(t) => {
                        PyTuple::new(py, [datetime_of(py, t)?, decimal_of(py, amount)?])?.into_any()
                    }
                    None => to_py(py, item)?,
                }
            }
            _ => to_py(py, item)?,
        };
        list.append(point)?;
    }
    Ok(list.into_any())
}
