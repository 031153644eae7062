//! Events to record payloads and back, with upcasting of old schema versions.
//!
//! A record's kind says which event it is and its schema version which
//! layout the payload has. Decoding an old version goes through its legacy
//! struct and an upcaster to the current struct, so history is never
//! rewritten to change a schema. An unknown kind or a version newer than
//! this build knows is an error, never a panic.
//!
//! | kind | versions | change |
//! | --- | --- | --- |
//! | `system` | 1, 2 | v2 added `fields` |
//! | `metric` | 1, 2 | v2 renamed `metric` to `name` and added `tags` |
//! | every other kind | 1 | |

use serde::{Deserialize, Serialize};

use crate::events::*;
use ledger_core::{Kind, SchemaVersion};
use ledger_core::{UpcastError, Upcaster};

/// Why a record's payload is not an event this build can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record kind is not a trading event.
    #[error("record kind {code} is not a trading event kind this build knows")]
    UnknownKind {
        /// The kind code.
        code: u16,
    },
    /// The schema version is newer than this build knows.
    #[error("{kind} schema version {found} is newer than this build knows (it reads 1..={current}); upgrade the tool")]
    NewerVersion {
        /// The kind.
        kind: EventKind,
        /// The version found.
        found: u16,
        /// The newest this build knows.
        current: u16,
    },
    /// The version is not one this kind ever had.
    #[error("{kind} has no schema version {found}")]
    NoSuchVersion {
        /// The kind.
        kind: EventKind,
        /// The version found.
        found: u16,
    },
    /// The payload does not decode.
    #[error("{kind} v{version} payload does not decode: {reason}")]
    Malformed {
        /// The kind.
        kind: EventKind,
        /// The version.
        version: u16,
        /// Why.
        reason: String,
    },
}

/// Schemas as they were in earlier versions, kept to read old records.
pub mod legacy {
    use super::*;
    use crate::decimal::Decimal;
    use crate::ids::SessionId;

    /// `system` v1: no structured fields yet.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct SystemEventV1 {
        /// The session.
        pub session: SessionId,
        /// The component.
        pub component: String,
        /// The level.
        pub level: Level,
        /// The message.
        pub message: String,
    }

    impl From<SystemEventV1> for SystemEvent {
        fn from(v1: SystemEventV1) -> Self {
            SystemEvent {
                session: v1.session,
                component: v1.component,
                level: v1.level,
                message: v1.message,
                fields: Vec::new(),
            }
        }
    }

    /// `metric` v1: the name was called `metric`; no tags yet.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct MetricV1 {
        /// The session.
        pub session: SessionId,
        /// The metric's name (renamed `name` in v2).
        pub metric: String,
        /// Its value.
        pub value: Decimal,
    }

    impl From<MetricV1> for Metric {
        fn from(v1: MetricV1) -> Self {
            Metric {
                session: v1.session,
                name: v1.metric,
                value: v1.value,
                tags: Vec::new(),
            }
        }
    }
}

/// An event that cannot be encoded (postcard refused it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} event cannot be encoded: {reason}")]
pub struct EncodeError {
    /// The kind.
    pub kind: EventKind,
    /// Why.
    pub reason: String,
}

fn to_payload<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let mut buf = std::mem::take(out);
    buf.clear();
    *out = postcard::to_extend(value, buf)?;
    Ok(())
}

/// Encodes `event` into `out` (cleared first); returns the record kind and
/// the schema version to store with it.
pub fn encode(event: &Event, out: &mut Vec<u8>) -> Result<(Kind, SchemaVersion), EncodeError> {
    let result = match event {
        Event::SessionStarted(e) => to_payload(e, out),
        Event::SessionEnded(e) => to_payload(e, out),
        Event::Decision(e) => to_payload(e, out),
        Event::Execution(e) => to_payload(e, out),
        Event::TradeOpened(e) => to_payload(e, out),
        Event::TradeFilled(e) => to_payload(e, out),
        Event::TradeClosed(e) => to_payload(e, out),
        Event::PositionSnapshot(e) => to_payload(e, out),
        Event::Risk(e) => to_payload(e, out),
        Event::System(e) => to_payload(e, out),
        Event::Metric(e) => to_payload(e, out),
        Event::Audit(e) => to_payload(e, out),
    };
    let kind = event.kind();
    result.map_err(|e| EncodeError {
        kind,
        reason: e.to_string(),
    })?;
    Ok((
        Kind::new(kind.code()),
        SchemaVersion::new(kind.current_version()),
    ))
}

fn from_payload<'a, T: Deserialize<'a>>(
    kind: EventKind,
    version: u16,
    payload: &'a [u8],
) -> Result<T, DecodeError> {
    let malformed = |reason: String| DecodeError::Malformed {
        kind,
        version,
        reason,
    };
    let (value, rest) =
        postcard::take_from_bytes::<T>(payload).map_err(|e| malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(malformed(format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

/// Decodes a record's payload into the current event schema, upcasting old
/// versions.
pub fn decode(kind: Kind, version: SchemaVersion, payload: &[u8]) -> Result<Event, DecodeError> {
    let k =
        EventKind::from_code(kind.get()).ok_or(DecodeError::UnknownKind { code: kind.get() })?;
    let v = version.get();
    let current = k.current_version();
    if v > current {
        return Err(DecodeError::NewerVersion {
            kind: k,
            found: v,
            current,
        });
    }
    if v == 0 {
        return Err(DecodeError::NoSuchVersion { kind: k, found: v });
    }
    let p = payload;
    Ok(match (k, v) {
        (EventKind::SessionStarted, _) => Event::SessionStarted(from_payload(k, v, p)?),
        (EventKind::SessionEnded, _) => Event::SessionEnded(from_payload(k, v, p)?),
        (EventKind::Decision, _) => Event::Decision(from_payload(k, v, p)?),
        (EventKind::Execution, _) => Event::Execution(from_payload(k, v, p)?),
        (EventKind::TradeOpened, _) => Event::TradeOpened(from_payload(k, v, p)?),
        (EventKind::TradeFilled, _) => Event::TradeFilled(from_payload(k, v, p)?),
        (EventKind::TradeClosed, _) => Event::TradeClosed(from_payload(k, v, p)?),
        (EventKind::PositionSnapshot, _) => Event::PositionSnapshot(from_payload(k, v, p)?),
        (EventKind::Risk, _) => Event::Risk(from_payload(k, v, p)?),
        (EventKind::System, 1) => {
            Event::System(from_payload::<legacy::SystemEventV1>(k, v, p)?.into())
        }
        (EventKind::System, _) => Event::System(from_payload(k, v, p)?),
        (EventKind::Metric, 1) => Event::Metric(from_payload::<legacy::MetricV1>(k, v, p)?.into()),
        (EventKind::Metric, _) => Event::Metric(from_payload(k, v, p)?),
        (EventKind::Audit, _) => Event::Audit(from_payload(k, v, p)?),
    })
}

/// The trading domain's [`Upcaster`]: decodes a record (upcasting an old
/// schema version) and encodes the event at its current version. What
/// `ledger migrate --upcast` re-encodes with, and what
/// `ledger verify --migrated-from` compares upcast records with.
///
/// ```
/// use ledger_core::Upcaster;
/// use ledger_core::{Kind, SchemaVersion};
/// use ledger_domain::codec::legacy::MetricV1;
/// use ledger_domain::{Decimal, EventKind, TradingUpcaster};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let v1 = postcard::to_allocvec(&MetricV1 {
///     session: "s".into(),
///     metric: "sharpe".into(),
///     value: Decimal::from_int(2),
/// })?;
/// let kind = Kind::new(EventKind::Metric.code());
/// let mut out = Vec::new();
/// let (k, v) = TradingUpcaster.upcast(kind, SchemaVersion::new(1), &v1, &mut out)?;
/// assert_eq!((k, v), (kind, SchemaVersion::new(2)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TradingUpcaster;

impl Upcaster for TradingUpcaster {
    fn upcast(
        &self,
        kind: Kind,
        version: SchemaVersion,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(Kind, SchemaVersion), UpcastError> {
        let event = decode(kind, version, payload)?;
        Ok(encode(&event, out)?)
    }
}
