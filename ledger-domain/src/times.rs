//! Times on the command line and in exported events: RFC 3339 (any
//! offset, any fraction of a second down to nanoseconds) or a date
//! (`YYYY-MM-DD`, midnight UTC) in; RFC 3339 in UTC with nanoseconds out,
//! so that an exported time reads back to the same nanosecond.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use ledger_core::Timestamp;

/// Why a time does not parse; each variant holds the text given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Shaped like a date, but no such day exists.
    #[error("{input:?} is not a valid date")]
    InvalidDate {
        /// The text given.
        input: String,
    },
    /// Neither an RFC 3339 time nor a date.
    #[error("{input:?} is neither an RFC 3339 time (e.g. 2026-01-05T14:30:00Z) nor a date (e.g. 2026-01-05)")]
    Format {
        /// The text given.
        input: String,
    },
    /// A time a ledger timestamp (i64 nanoseconds) cannot hold.
    #[error("{input:?} is outside the years 1677 to 2262 a ledger time can hold")]
    OutOfRange {
        /// The text given.
        input: String,
    },
}

/// Parses a time given as RFC 3339 (`2026-01-05T14:30:00Z`,
/// `2026-01-05T15:30:00.5+01:00`) or as a date (`2026-01-05`, midnight
/// UTC). The error says what was expected; clap adds which argument it was.
///
/// ```
/// use ledger_domain::times::{parse_time, TimeError};
/// let t = parse_time("2026-01-05T14:30:00.000000001Z").unwrap();
/// assert_eq!(t.as_nanos(), 1_767_623_400_000_000_001);
/// assert_eq!(parse_time("2026-01-05").unwrap().as_nanos(), 1_767_571_200_000_000_000);
/// assert!(matches!(parse_time("yesterday"), Err(TimeError::Format { .. })));
/// ```
pub fn parse_time(s: &str) -> Result<Timestamp, TimeError> {
    let t = s.trim();
    let input = || s.to_owned();
    let dt: DateTime<Utc> = if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        dt.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc())
            .ok_or_else(|| TimeError::InvalidDate { input: input() })?
    } else {
        return Err(TimeError::Format { input: input() });
    };
    dt.timestamp_nanos_opt()
        .map(Timestamp::from_nanos)
        .ok_or_else(|| TimeError::OutOfRange { input: input() })
}

/// A timestamp as RFC 3339 in UTC with all nine digits of nanoseconds
/// (`2026-01-05T14:30:00.000000000Z`): the form `ledger export` writes.
///
/// ```
/// use ledger_core::Timestamp;
/// use ledger_domain::times::{parse_time, rfc3339};
/// let t = Timestamp::from_nanos(1_767_623_400_123_456_789);
/// assert_eq!(rfc3339(t), "2026-01-05T14:30:00.123456789Z");
/// assert_eq!(parse_time(&rfc3339(t)), Ok(t));
/// ```
pub fn rfc3339(t: Timestamp) -> String {
    let nanos = t.as_nanos();
    DateTime::from_timestamp(
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000) as u32,
    )
    .map_or_else(
        || format!("{nanos}ns"),
        |dt| dt.to_rfc3339_opts(SecondsFormat::Nanos, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_fractions_and_dates() {
        let z = parse_time("2026-01-05T14:30:00Z").unwrap_or(Timestamp::from_nanos(0));
        assert_eq!(parse_time("2026-01-05T15:30:00+01:00"), Ok(z));
        assert_eq!(
            parse_time("2026-01-05T14:30:00.25Z").map(|t| t.as_nanos() - z.as_nanos()),
            Ok(250_000_000)
        );
        assert_eq!(
            parse_time(" 2026-01-05 ").map(|t| t.as_nanos() % 86_400_000_000_000),
            Ok(0)
        );
        for bad in ["", "2026-13-01", "2026-01-05T25:00:00Z", "1/5/2026"] {
            assert_eq!(
                parse_time(bad),
                Err(TimeError::Format { input: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(
            parse_time("3000-01-01"),
            Err(TimeError::OutOfRange {
                input: "3000-01-01".into()
            })
        );
        assert_eq!(
            rfc3339(Timestamp::from_nanos(0)),
            "1970-01-01T00:00:00.000000000Z"
        );
    }
}
