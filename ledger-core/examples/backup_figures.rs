//! Backup figures: `cargo run --release -p ledger-core --example backup_figures -- LEDGER_DIR STORE_DIR`.
//! Backs the ledger up twice (the second time unchanged) and restores it,
//! printing sizes, the compression ratio and throughput.

use std::time::Instant;

use ledger_core::BackupStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let ledger = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: backup_figures LEDGER_DIR STORE_DIR")?,
    );
    let store_dir = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: backup_figures LEDGER_DIR STORE_DIR")?,
    );
    let store = BackupStore::open_or_create(&store_dir)?;
    let t = Instant::now();
    let first = store.create_backup(&ledger, &mut |_| {})?;
    let took = t.elapsed().as_secs_f64();
    let raw: u64 = first.manifest.segments.iter().map(|s| s.size).sum();
    println!(
        "first backup: {} segments, {:.1} MB copied, {:.1} MB stored (ratio {:.2}), {:.2} s ({:.0} MB/s)",
        first.manifest.segments.len(),
        first.manifest.added_bytes as f64 / 1e6,
        first.manifest.added_stored_bytes as f64 / 1e6,
        first.manifest.added_bytes as f64 / first.manifest.added_stored_bytes.max(1) as f64,
        took,
        raw as f64 / 1e6 / took
    );
    let t = Instant::now();
    let second = store.create_backup(&ledger, &mut |_| {})?;
    println!(
        "unchanged ledger: {} segments reused, {} bytes copied, {:.1} ms",
        second.reused,
        second.manifest.added_bytes,
        t.elapsed().as_secs_f64() * 1e3
    );
    let target = store_dir.join("restored");
    let t = Instant::now();
    let r = store.restore(None, &target, &mut |_| {})?;
    let took = t.elapsed().as_secs_f64();
    println!(
        "restore + full verification: {} records, {:.1} MB, {:.2} s ({:.0} MB/s)",
        r.records,
        r.bytes as f64 / 1e6,
        took,
        r.bytes as f64 / 1e6 / took
    );
    Ok(())
}
