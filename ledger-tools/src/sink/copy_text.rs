//! PostgreSQL's `COPY ... FROM STDIN` text format: one line per row,
//! columns separated by tabs, `\N` for NULL, and backslash, tab, newline
//! and carriage return escaped with a backslash. Times are written as
//! `YYYY-MM-DD HH:MM:SS.ffffff+00` (microseconds, rounded down: PostgreSQL
//! keeps no finer time; `ledger_events.time_ns` keeps the nanoseconds).

use std::io::Write;

use crate::sink::rows::Cell;

/// Appends one row (its cells in column order) and the line end.
pub fn write_row(buf: &mut Vec<u8>, cells: &[Cell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        write_cell(buf, cell);
    }
    buf.push(b'\n');
}

/// Appends one cell.
pub fn write_cell(buf: &mut Vec<u8>, cell: &Cell<'_>) {
    // Writing to a Vec cannot fail.
    match cell {
        Cell::Null => buf.extend_from_slice(b"\\N"),
        Cell::Str(s) => escape(buf, s),
        Cell::Json(s) => escape(buf, s),
        Cell::Int(n) => {
            let _ = write!(buf, "{n}");
        }
        Cell::U64(n) => {
            let _ = write!(buf, "{n}");
        }
        Cell::Dec(d) => {
            let _ = write!(buf, "{d}");
        }
        Cell::Time(t) => write_time(buf, t.as_nanos()),
    }
}

/// Appends `s` with COPY's escapes.
pub fn escape(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// Microseconds since 1970 of a time in nanoseconds (rounded down), as
/// PostgreSQL stores it.
pub const fn micros(nanos: i64) -> i64 {
    nanos.div_euclid(1000)
}

/// The time `nanos` (since 1970, UTC) as `YYYY-MM-DD HH:MM:SS.ffffff+00`.
pub fn time_text(nanos: i64) -> String {
    let mut buf = Vec::with_capacity(32);
    write_time(&mut buf, nanos);
    String::from_utf8_lossy(&buf).into_owned()
}

fn write_time(buf: &mut Vec<u8>, nanos: i64) {
    let us = micros(nanos);
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        buf,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}+00",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian;
/// H. Hinnant's `civil_from_days`).
const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_postgres_reads_them() {
        assert_eq!(time_text(0), "1970-01-01 00:00:00.000000+00");
        // 2026-01-05T14:30:02.123456789Z
        let t = ledger_domain::times::parse_time("2026-01-05T14:30:02.123456789Z")
            .map(|t| t.as_nanos())
            .unwrap_or_default();
        assert_eq!(time_text(t), "2026-01-05 14:30:02.123456+00");
        assert_eq!(
            time_text(951_782_400_000_000_000),
            "2000-02-29 00:00:00.000000+00"
        );
        assert_eq!(time_text(-1), "1969-12-31 23:59:59.999999+00");
    }

    #[test]
    fn escapes_what_copy_needs() {
        let mut b = Vec::new();
        escape(&mut b, "a\\b\tc\nd\re");
        assert_eq!(b, b"a\\\\b\\tc\\nd\\re");
        let mut b = Vec::new();
        write_row(&mut b, &[Cell::Null, Cell::Int(-5), Cell::Str("x".into())]);
        assert_eq!(b, b"\\N\t-5\tx\n");
    }
}
