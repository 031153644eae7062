//! Writes a small sample ledger: `cargo run -p ledger-core --example write_sample -- DIR [RECORDS]`.
//!
//! Segments are 16 KiB so that a few hundred records span several sealed
//! segments; the last one stays active.

use ledger_core::{Durability, Entry, Kind, SchemaVersion, Timestamp, Writer, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: write_sample DIR [RECORDS]")?;
    let n: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(300);
    let opts = WriterOptions::default()
        .segment_size(16 << 10)
        .durability(Durability::NoSync);
    let mut w = Writer::open_or_create(&dir, opts)?;
    let start = 1_700_000_000_000_000_000i64;
    for i in 0..n {
        let payload = format!(
            "{{\"sample\":{i},\"note\":\"{}\"}}",
            "x".repeat((i % 50) as usize)
        );
        let entry = Entry::new(
            Kind::new(1 + (i % 5) as u16),
            SchemaVersion::new(1),
            payload.as_bytes(),
        )
        .at(Timestamp::from_nanos(start + i as i64 * 1_000_000));
        let _ = w.append(&entry)?;
    }
    let head = w.head().ok_or("no records")?;
    w.close()?;
    println!("{} records, head {} {}", n, head.seq, head.chain_hash);
    Ok(())
}
