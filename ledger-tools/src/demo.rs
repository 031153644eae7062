//! `ledger demo`: creates (or opens) a ledger, appends deterministic demo
//! records with group commit, waits until they are durable, closes the
//! writer and verifies the folder.
//!
//! The engine is payload-agnostic; the demo records are small JSON texts
//! describing a fake trading session (decisions, orders, executions,
//! trades, positions, risk and system events, metrics), so that the record
//! sizes and kinds look like a real session's. Money is written as exact
//! decimal text, never as binary floats.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ledger_core::verify::{verify_dir, VerifyOptions};
use ledger_core::{
    is_ledger, storage::FsStorage, Durability, Entry, Kind, SchemaVersion, Writer, WriterOptions,
};

use crate::cli::DemoArgs;
use crate::error::ToolError;
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, per_second, seconds};

/// The kinds the demo writes, with the event each stands for.
pub const DEMO_KINDS: [(u16, &str); 8] = [
    (1, "decision"),
    (2, "order_submitted"),
    (3, "execution"),
    (4, "trade"),
    (5, "position_snapshot"),
    (6, "risk_event"),
    (7, "system_event"),
    (8, "metrics"),
];

/// The schema version of every demo payload.
pub const DEMO_SCHEMA: SchemaVersion = SchemaVersion::new(1);

const SYMBOLS: [&str; 6] = ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT", "EUR-USD"];

/// A deterministic 64-bit mix of `x` (splitmix64).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Writes fixed-point `units` with `places` decimals, e.g. `6412350, 2` as `64123.50`.
fn decimal(out: &mut String, units: u64, places: u32) {
    let scale = 10u64.pow(places);
    let _ = write!(
        out,
        "{}.{:0w$}",
        units / scale,
        units % scale,
        w = places as usize
    );
}

/// The demo record number `i` (0-based): its kind, with its payload written
/// into `out` (cleared first). The same `i` always gives the same record.
///
/// ```
/// let mut a = String::new();
/// let mut b = String::new();
/// let kind = ledger_tools::demo::demo_record(7, &mut a);
/// assert_eq!(kind, ledger_tools::demo::demo_record(7, &mut b));
/// assert_eq!(a, b);
/// assert!(a.starts_with('{') && a.ends_with('}'));
/// ```
pub fn demo_record(i: u64, out: &mut String) -> Kind {
    out.clear();
    let r = mix(i);
    let (kind, name) = DEMO_KINDS[(r % 8) as usize];
    let symbol = SYMBOLS[((r >> 8) % SYMBOLS.len() as u64) as usize];
    let side = if (r >> 16) & 1 == 0 { "buy" } else { "sell" };
    let price = 1_000_000 + (r >> 20) % 9_000_000; // cents
    let qty = 1 + (r >> 40) % 50_000; // 1e-4 units
    let session = 1 + i / 100_000;
    // Writing into a String cannot fail; `write!` only returns fmt::Result.
    let _ = write!(
        out,
        "{{\"event\":\"{name}\",\"seq_hint\":{i},\"session\":{session},\"symbol\":\"{symbol}\""
    );
    match kind {
        1 => {
            let _ = write!(
                out,
                ",\"decision\":\"D{i:08}\",\"side\":\"{side}\",\"confidence_bp\":{},\"reasoning\":[\"momentum 5m above threshold\",\"spread {} bp within limit\",\"risk budget available\"],\"snapshot\":{{\"bid\":\"",
                5000 + (r >> 24) % 5000,
                1 + (r >> 32) % 9
            );
            decimal(out, price, 2);
            out.push_str("\",\"ask\":\"");
            decimal(out, price + 1 + (r >> 28) % 20, 2);
            out.push_str("\"}");
        }
        2 => {
            let _ = write!(
                out,
                ",\"order\":\"O{i:08}\",\"decision\":\"D{:08}\",\"side\":\"{side}\",\"type\":\"limit\",\"tif\":\"IOC\",\"qty\":\"",
                i.saturating_sub(1)
            );
            decimal(out, qty, 4);
            out.push_str("\",\"limit\":\"");
            decimal(out, price, 2);
            out.push('"');
        }
        3 => {
            let _ = write!(
                out,
                ",\"order\":\"O{:08}\",\"venue\":\"SIM\",\"status\":\"filled\",\"filled\":\"",
                i.saturating_sub(1)
            );
            decimal(out, qty, 4);
            out.push_str("\",\"avg_price\":\"");
            decimal(out, price, 2);
            out.push_str("\",\"fee\":\"");
            decimal(out, (price / 100) * qty / 10_000 + 1, 4);
            let _ = write!(out, "\",\"latency_us\":{}", 50 + (r >> 36) % 900);
        }
        4 => {
            let pnl = (r >> 24) % 200_000;
            let _ = write!(
                out,
                ",\"trade\":\"T{:06}\",\"state\":\"closed\",\"side\":\"{side}\",\"entry\":\"",
                i / 8
            );
            decimal(out, price, 2);
            out.push_str("\",\"exit\":\"");
            decimal(out, price + (r >> 44) % 5_000, 2);
            out.push_str("\",\"realized_pnl\":\"");
            if (r >> 17) & 1 == 1 {
                out.push('-');
            }
            decimal(out, pnl, 2);
            out.push('"');
        }
        5 => {
            out.push_str(",\"position\":\"");
            decimal(out, qty * 3, 4);
            out.push_str("\",\"avg_cost\":\"");
            decimal(out, price, 2);
            out.push_str("\",\"mark\":\"");
            decimal(out, price + (r >> 48) % 3_000, 2);
            out.push_str("\",\"unrealized_pnl\":\"");
            decimal(out, (r >> 12) % 90_000, 2);
            out.push('"');
        }
        6 => {
            let _ = write!(
                out,
                ",\"rule\":\"max_position\",\"severity\":\"{}\",\"limit\":\"250000.00\",\"exposure\":\"",
                if (r >> 18) & 1 == 0 { "warning" } else { "breach" }
            );
            decimal(out, 20_000_000 + (r >> 24) % 8_000_000, 2);
            out.push_str("\",\"action\":\"reduce_only\"");
        }
        7 => {
            let _ = write!(
                out,
                ",\"component\":\"market_data\",\"status\":\"{}\",\"message\":\"feed heartbeat {} ms, reconnects 0\"",
                if (r >> 18) & 1 == 0 { "ok" } else { "degraded" },
                1 + (r >> 30) % 250
            );
        }
        _ => {
            let _ = write!(
                out,
                ",\"window\":\"1h\",\"trades\":{},\"win_rate_bp\":{},\"sharpe_milli\":{},\"net_pnl\":\"",
                (r >> 20) % 400,
                3000 + (r >> 28) % 4000,
                (r >> 36) % 3000
            );
            decimal(out, (r >> 12) % 5_000_000, 2);
            out.push('"');
        }
    }
    out.push('}');
    Kind::new(kind)
}

/// Runs `ledger demo` on `dir`, writing what it did to `out`.
pub fn run(dir: &Path, args: &DemoArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let existed = is_ledger(&FsStorage::new(dir));
    let opts = WriterOptions::default()
        .segment_size(args.segment_size)
        .durability(Durability::GroupCommit {
            interval: Duration::from_millis(2),
        });
    let mut writer = Writer::open_or_create(dir, opts)?;
    let id = writer.ledger_id();
    let w = ToolError::Output;
    if existed {
        writeln!(out, "opened ledger {id} in {}", dir.display()).map_err(w)?;
        let rec = writer.recovery_report();
        if let Some(cut) = &rec.cut {
            writeln!(
                out,
                "recovery cut a torn tail: {} bytes from {} at offset {} (sequence {}); saved to {}",
                cut.bytes, cut.segment, cut.offset, cut.seq, cut.saved_to
            )
            .map_err(w)?;
        }
        if let Some(seg) = &rec.completed_seal {
            writeln!(out, "recovery completed the interrupted seal of {seg}").map_err(w)?;
        }
    } else {
        writeln!(out, "created ledger {id} in {}", dir.display()).map_err(w)?;
    }
    let sealed_before = writer.sealed_segments();
    let first_seq = writer.next_seq();

    let started = Instant::now();
    let mut payload = String::with_capacity(512);
    let mut payload_bytes = 0u64;
    let mut last = None;
    for i in 0..args.events {
        let kind = demo_record(first_seq.get() - 1 + i, &mut payload);
        payload_bytes += payload.len() as u64;
        last = Some(writer.append(&Entry::new(kind, DEMO_SCHEMA, payload.as_bytes()))?);
    }
    let appended = started.elapsed();
    if let Some(r) = last {
        writer.wait_durable(r.seq)?;
    }
    let durable = started.elapsed();
    let sealed = writer.sealed_segments() - sealed_before;
    writer.close()?;

    writeln!(
        out,
        "appended {} records (kinds 1-8, schema v1, {} payload bytes, {} per record on average) in {} ({} records/s)",
        args.events,
        payload_bytes,
        payload_bytes.checked_div(args.events).unwrap_or(0),
        seconds(appended),
        per_second(args.events, appended)
    )
    .map_err(w)?;
    match last {
        Some(r) => writeln!(
            out,
            "durable through sequence {} after {} (group commit)",
            r.seq,
            seconds(durable)
        )
        .map_err(w)?,
        None => writeln!(out, "nothing appended").map_err(w)?,
    }
    writeln!(
        out,
        "sealed {sealed} segment(s) during this run (segment size {})",
        human_bytes(args.segment_size)
    )
    .map_err(w)?;

    let started = Instant::now();
    let report = verify_dir(dir, &VerifyOptions::default())?;
    let took = started.elapsed();
    for f in &report.findings {
        writeln!(out, "{f}").map_err(w)?;
    }
    writeln!(
        out,
        "ledger now: {} segments, {} records, {} bytes ({})",
        report.segments,
        report.records,
        report.bytes,
        human_bytes(report.bytes)
    )
    .map_err(w)?;
    match report.head {
        Some(h) => {
            writeln!(out, "head: sequence {}, chain hash {}", h.seq, h.chain_hash).map_err(w)?
        }
        None => writeln!(out, "head: none (the ledger is empty)").map_err(w)?,
    }
    let head_matches = match (last, report.head) {
        (Some(r), Some(h)) => r.seq == h.seq && r.chain_hash == h.chain_hash,
        (Some(_), None) => false,
        (None, _) => true,
    };
    if !head_matches {
        writeln!(out, "the verified head is not the last record appended").map_err(w)?;
    }
    let intact = report.is_intact() && head_matches;
    writeln!(
        out,
        "verified in {} ({}/s): {}",
        seconds(took),
        human_bytes(per_second(report.bytes, took)),
        if intact { "intact" } else { "DAMAGED" }
    )
    .map_err(w)?;
    Ok(if intact { Exit::Success } else { Exit::Damage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_records_are_realistic_and_deterministic() {
        let mut buf = String::new();
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..10_000 {
            let kind = demo_record(i, &mut buf);
            kinds.insert(kind.get());
            assert!(
                (80..=320).contains(&buf.len()),
                "record {i}: {} bytes: {buf}",
                buf.len()
            );
            assert!(
                buf.starts_with("{\"event\":") && buf.ends_with('}'),
                "{buf}"
            );
            assert!(!buf.contains(".\""), "{buf}");
        }
        assert_eq!(kinds, (1..=8).collect());
        let mut again = String::new();
        demo_record(42, &mut buf);
        demo_record(42, &mut again);
        assert_eq!(buf, again);
    }

    #[test]
    fn decimals_are_exact() {
        let mut s = String::new();
        decimal(&mut s, 6_412_350, 2);
        s.push(' ');
        decimal(&mut s, 7, 4);
        assert_eq!(s, "64123.50 0.0007");
    }
}
