//! The exceptions: `LedgerError` and its three subclasses with fields, and
//! the mapping from the domain's typed errors to them.

use ledger_domain::event_json::LineError;
use ledger_domain::{DomainError, EventKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    tradeledger,
    LedgerError,
    PyException,
    "Everything the ledger refuses or fails at; the message says what and where."
);
create_exception!(
    tradeledger,
    ValidationError,
    LedgerError,
    "An event was refused; nothing was appended. Attributes: `field` (a path such as `market.bid`), `reason`, `kind` (the event kind, or None)."
);
create_exception!(
    tradeledger,
    LockedError,
    LedgerError,
    "Another writer (in this or another process) holds the ledger. Attribute: `path`."
);
create_exception!(
    tradeledger,
    CorruptError,
    LedgerError,
    "Committed data is damaged. Attributes: `segment`, `offset`, `seq` (None when unknown)."
);

/// A `ValidationError` with its attributes set.
pub fn validation(py: Python<'_>, kind: Option<EventKind>, field: &str, reason: &str) -> PyErr {
    let message = match kind {
        Some(k) => format!("{k} event refused: {field}: {reason}"),
        None => format!("event refused: {field}: {reason}"),
    };
    let err = ValidationError::new_err(message);
    let value = err.value(py);
    // Setting attributes on a fresh exception object cannot fail but for
    // memory exhaustion; the message carries the same facts.
    let _ = value.setattr("field", field);
    let _ = value.setattr("reason", reason);
    let _ = value.setattr("kind", kind.map(EventKind::name));
    err
}

/// The exception for a domain error.
pub fn domain(py: Python<'_>, e: DomainError) -> PyErr {
    match &e {
        DomainError::Invalid(v) => validation(py, Some(v.kind), &v.field, &v.reason),
        DomainError::Encode(_) => validation(py, None, "data", &e.to_string()),
        DomainError::Ledger(inner) => engine(py, inner, &e),
        _ => LedgerError::new_err(e.to_string()),
    }
}

fn engine(py: Python<'_>, inner: &ledger_core::Error, outer: &DomainError) -> PyErr {
    use ledger_core::Error as E;
    let message = outer.to_string();
    match inner {
        E::Locked { path } => {
            let err = LockedError::new_err(message);
            let _ = err.value(py).setattr("path", path.display().to_string());
            err
        }
        E::Corrupt {
            segment,
            offset,
            seq,
            ..
        } => {
            let err = CorruptError::new_err(message);
            let value = err.value(py);
            let _ = value.setattr("segment", segment.as_str());
            let _ = value.setattr("offset", *offset);
            let _ = value.setattr("seq", seq.map(|s| s.get()));
            err
        }
        E::TimeWentBackwards { .. } | E::TimeTooFarAhead { .. } => {
            validation(py, None, "time", &message)
        }
        E::RecordTooLarge { .. } => validation(py, None, "data", &message),
        _ => LedgerError::new_err(message),
    }
}

/// The exception for an engine error.
pub fn core(py: Python<'_>, e: impl Into<ledger_core::Error>) -> PyErr {
    domain(py, DomainError::Ledger(e.into()))
}

/// The exception for an event the JSON form refuses (`Ledger.append`).
pub fn line(py: Python<'_>, e: LineError) -> PyErr {
    let field = match &e {
        LineError::Kind { .. } => "kind".to_owned(),
        LineError::Time { .. } => "time".to_owned(),
        LineError::ChainHash { .. } => "chain_hash".to_owned(),
        LineError::SessionMismatch { .. } => "session".to_owned(),
        LineError::Data { source } => format!("data.{}", field_of(&source.to_string())),
        LineError::DataNotObject => "data".to_owned(),
        _ => field_of(&e.to_string()),
    };
    let text = e.to_string();
    let reason = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, r)| r)
        .to_owned();
    validation(py, None, field.trim_end_matches('.'), &reason)
}

/// The field serde names in a message (``missing field `x` ``, ``unknown
/// field `x` ``), or `""`.
pub fn field_of(message: &str) -> String {
    message
        .split_once('`')
        .and_then(|(_, rest)| rest.split_once('`'))
        .map_or(String::new(), |(f, _)| f.to_owned())
}

/// Registers the exceptions in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("LedgerError", py.get_type::<LedgerError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("LockedError", py.get_type::<LockedError>())?;
    m.add("CorruptError", py.get_type::<CorruptError>())?;
    Ok(())
}
