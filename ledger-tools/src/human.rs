//! Numbers for people: byte sizes, durations and rates.

use std::time::Duration;

/// A byte count with a binary unit, e.g. `1.50 MiB`: indicatif's
/// [`BinaryBytes`](indicatif::BinaryBytes) (the progress bars' format) as a
/// `String`, so that width and alignment flags apply to it.
///
/// ```
/// assert_eq!(ledger_tools::human::bytes(512), "512 B");
/// assert_eq!(ledger_tools::human::bytes(3 << 19), "1.50 MiB");
/// ```
pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// A duration in the unit that suits it: `850 µs`, `12.3 ms`, `2.41 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// `count` per second over `d`, rounded down (0 when `d` is zero).
pub fn per_second(count: u64, d: Duration) -> u64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        (count as f64 / s) as u64
    } else {
        0
    }
}

/// A timestamp as RFC 3339 in UTC with millisecond precision
/// (`2026-01-05T14:30:00.000Z`), or its raw nanoseconds when out of range.
pub fn time(t: ledger_core::Timestamp) -> String {
    let nanos = t.as_nanos();
    match chrono::DateTime::from_timestamp(
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000) as u32,
    ) {
        Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => format!("{nanos}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(1 << 30), "1.00 GiB");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(u64::MAX), "16.00 EiB");
        assert_eq!(seconds(Duration::from_micros(850)), "850 µs");
        assert_eq!(seconds(Duration::from_micros(12_300)), "12.3 ms");
        assert_eq!(seconds(Duration::from_millis(2410)), "2.41 s");
        assert_eq!(per_second(10, Duration::from_millis(500)), 20);
        assert_eq!(per_second(10, Duration::ZERO), 0);
    }
}
