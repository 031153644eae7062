//! The JSON form of a ledger event as `ledger export` writes it and
//! `ledger append` reads it: one object per event, one event per line.
//!
//! ```text
//! {"seq":12,"time":"2026-01-05T14:30:02.000000000Z","kind":"decision","session":"demo-1",
//!  "chain_hash":"<64 hex digits>","data":{...}}
//! ```
//!
//! | field | written by export | read by append |
//! | --- | --- | --- |
//! | `seq` | the record's sequence number | optional; ignored (the ledger numbers records itself) |
//! | `time` | the record's time, RFC 3339 in UTC with nine fractional digits | optional: RFC 3339 with any offset, or a date `YYYY-MM-DD` (midnight UTC); absent: the time of the append |
//! | `kind` | the event kind's snake_case name | required |
//! | `session` | the event's session (a copy of `data.session`) | optional; when given it must equal `data.session`, and it fills `data.session` when that is absent |
//! | `chain_hash` | the record's chain hash, 64 lowercase hex digits | optional; must be 64 hex digits when given; ignored (the new ledger has its own chain) |
//! | `data` | the event's fields, as in `docs/EVENTS.md` | required |
//!
//! Any other field is refused, as in `docs/EVENTS.md`: a typo is an error,
//! not a silently dropped value.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{Event, EventKind};
use ledger_core::{ChainHash, HexError, Seq, Timestamp};

use crate::times::{parse_time, rfc3339, TimeError};

/// An exported event: the record's place in the ledger and the event.
#[derive(Debug, Clone, Copy)]
pub struct ExportedEvent<'a> {
    /// The record's sequence number.
    pub seq: Seq,
    /// The record's time.
    pub time: Timestamp,
    /// The record's chain hash.
    pub chain_hash: ChainHash,
    /// The event.
    pub event: &'a Event,
}

impl Serialize for ExportedEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("seq", &self.seq.get())?;
        m.serialize_entry("time", &rfc3339(self.time))?;
        m.serialize_entry("kind", self.event.kind().name())?;
        m.serialize_entry("session", self.event.session().as_str())?;
        m.serialize_entry("chain_hash", &self.chain_hash.to_hex())?;
        m.serialize_entry("data", &EventData(self.event))?;
        m.end()
    }
}

/// An event's fields alone (the `data` object), without its kind.
#[derive(Debug, Clone, Copy)]
pub struct EventData<'a>(pub &'a Event);

impl Serialize for EventData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Event::SessionStarted(e) => e.serialize(s),
            Event::SessionEnded(e) => e.serialize(s),
            Event::Decision(e) => e.serialize(s),
            Event::Execution(e) => e.serialize(s),
            Event::TradeOpened(e) => e.serialize(s),
            Event::TradeFilled(e) => e.serialize(s),
            Event::TradeClosed(e) => e.serialize(s),
            Event::PositionSnapshot(e) => e.serialize(s),
            Event::Risk(e) => e.serialize(s),
            Event::System(e) => e.serialize(s),
            Event::Metric(e) => e.serialize(s),
            Event::Audit(e) => e.serialize(s),
        }
    }
}

/// One input line of `ledger append`, parsed: the event and its time, if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputEvent {
    /// The time to append the event at; `None`: the time of the append.
    pub time: Option<Timestamp>,
    /// The event.
    pub event: Event,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    time: Option<String>,
    kind: String,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    chain_hash: Option<String>,
    data: Value,
}

/// The names of every event kind, for error messages and help.
pub fn kind_names() -> String {
    EventKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses an event kind's snake_case name (for `--kind`).
pub fn parse_kind(s: &str) -> Result<EventKind, String> {
    EventKind::from_name(s.trim())
        .ok_or_else(|| format!("{s:?} is not an event kind (kinds: {})", kind_names()))
}

/// Why a line of `ledger append`'s input is refused; the message starts
/// with the field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Not a JSON object of the line format.
    #[error("not an event: {source}")]
    Json {
        /// serde_json's error (with the column).
        #[source]
        source: serde_json::Error,
    },
    /// `kind` names no event kind.
    #[error("kind: {found:?} is not an event kind (kinds: {})", kind_names())]
    Kind {
        /// The kind given.
        found: String,
    },
    /// `time` does not parse.
    #[error("time: {source}")]
    Time {
        /// Why.
        #[source]
        source: TimeError,
    },
    /// `chain_hash` is not 64 hexadecimal digits.
    #[error("chain_hash: {source}")]
    ChainHash {
        /// Why.
        #[source]
        source: HexError,
    },
    /// `data` is not an object.
    #[error("data: must be an object with the event's fields")]
    DataNotObject,
    /// `session` and `data.session` differ.
    #[error("session: {session:?} differs from data.session {data}")]
    SessionMismatch {
        /// The top-level session.
        session: String,
        /// `data.session`.
        data: Value,
    },
    /// `data` does not hold the fields of the event kind.
    #[error("data: {source}")]
    Data {
        /// serde_json's error (naming the field).
        #[source]
        source: serde_json::Error,
    },
}

/// Parses one line of `ledger append`'s input. The error says what is
/// wrong, naming the field; the caller adds the line number.
///
/// ```
/// use ledger_domain::event_json::{parse_line, LineError};
/// let line = r#"{"time":"2026-01-05","kind":"session_ended","data":{"session":"s1","reason":"done"}}"#;
/// let input = parse_line(line).unwrap();
/// assert_eq!(input.event.kind().name(), "session_ended");
/// let e = parse_line(r#"{"kind":"session_ended","data":{"session":"s1"}}"#).unwrap_err();
/// assert!(matches!(e, LineError::Data { .. }));
/// assert!(e.to_string().contains("missing field `reason`"));
/// ```
pub fn parse_line(line: &str) -> Result<InputEvent, LineError> {
    let raw: RawLine = serde_json::from_str(line).map_err(|source| LineError::Json { source })?;
    parse_raw(raw)
}

/// Parses one event of the line form already read as a JSON value (an
/// object with `kind`, `data` and optionally `time`, `session`, `seq`,
/// `chain_hash`), with the same rules and errors as [`parse_line`].
///
/// ```
/// use ledger_domain::event_json::parse_value;
/// let v = serde_json::json!({"kind": "session_ended", "data": {"session": "s1", "reason": "done"}});
/// assert_eq!(parse_value(v).map(|i| i.event.kind().name()).ok(), Some("session_ended"));
/// ```
pub fn parse_value(value: Value) -> Result<InputEvent, LineError> {
    let raw: RawLine =
        serde_json::from_value(value).map_err(|source| LineError::Json { source })?;
    parse_raw(raw)
}

fn parse_raw(raw: RawLine) -> Result<InputEvent, LineError> {
    let _ = raw.seq;
    let kind = EventKind::from_name(raw.kind.trim()).ok_or_else(|| LineError::Kind {
        found: raw.kind.clone(),
    })?;
    let time = raw
        .time
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(|source| LineError::Time { source })?;
    if let Some(h) = &raw.chain_hash {
        ChainHash::from_hex(h).map_err(|source| LineError::ChainHash { source })?;
    }
    let mut data = raw.data;
    let Some(fields) = data.as_object_mut() else {
        return Err(LineError::DataNotObject);
    };
    if let Some(session) = &raw.session {
        match fields.get("session") {
            None | Some(Value::Null) => {
                fields.insert("session".into(), Value::String(session.clone()));
            }
            Some(Value::String(inner)) if inner == session => {}
            Some(other) => {
                return Err(LineError::SessionMismatch {
                    session: session.clone(),
                    data: other.clone(),
                })
            }
        }
    }
    let event = event_from_data(kind, data).map_err(|source| LineError::Data { source })?;
    Ok(InputEvent { time, event })
}

/// The event of kind `kind` whose fields are `data`.
pub fn event_from_data(kind: EventKind, data: Value) -> Result<Event, serde_json::Error> {
    event_from_value(kind, &data)
}

/// The event of kind `kind` whose fields are `data`, read from a borrowed
/// value (the caller keeps it, e.g. to say which field was refused).
pub fn event_from_value(kind: EventKind, data: &Value) -> Result<Event, serde_json::Error> {
    fn v<'a, T: Deserialize<'a>>(data: &'a Value) -> Result<T, serde_json::Error> {
        T::deserialize(data)
    }
    Ok(match kind {
        EventKind::SessionStarted => Event::SessionStarted(v(data)?),
        EventKind::SessionEnded => Event::SessionEnded(v(data)?),
        EventKind::Decision => Event::Decision(v(data)?),
        EventKind::Execution => Event::Execution(v(data)?),
        EventKind::TradeOpened => Event::TradeOpened(v(data)?),
        EventKind::TradeFilled => Event::TradeFilled(v(data)?),
        EventKind::TradeClosed => Event::TradeClosed(v(data)?),
        EventKind::PositionSnapshot => Event::PositionSnapshot(v(data)?),
        EventKind::Risk => Event::Risk(v(data)?),
        EventKind::System => Event::System(v(data)?),
        EventKind::Metric => Event::Metric(v(data)?),
        EventKind::Audit => Event::Audit(v(data)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_name_what_is_wrong() {
        let cases = [
            ("not json", "not an event"),
            (
                r#"{"kind":"decisoin","data":{}}"#,
                "kind: \"decisoin\" is not an event kind",
            ),
            (
                r#"{"kind":"audit","data":{},"extra":1}"#,
                "unknown field `extra`",
            ),
            (r#"{"kind":"audit","time":"soon","data":{}}"#, "time: "),
            (
                r#"{"kind":"audit","chain_hash":"xyz","data":{}}"#,
                "chain_hash: ",
            ),
            (r#"{"kind":"audit","data":[1]}"#, "data: must be an object"),
            (
                r#"{"kind":"session_ended","session":"a","data":{"session":"b","reason":"r"}}"#,
                "session: \"a\" differs",
            ),
            (
                r#"{"kind":"session_ended","data":{"session":"a","reason":"r","why":1}}"#,
                "data: unknown field `why`",
            ),
        ];
        for (line, want) in cases {
            match parse_line(line) {
                Ok(_) => panic!("{line} was accepted"),
                Err(e) => assert!(e.to_string().contains(want), "{line}: {e}"),
            }
        }
        // The top-level session fills in a missing data.session.
        let ok = parse_line(r#"{"kind":"session_ended","session":"a","data":{"reason":"r"}}"#);
        assert!(
            matches!(ok, Ok(InputEvent { time: None, event }) if event.session().as_str() == "a")
        );
    }
}
