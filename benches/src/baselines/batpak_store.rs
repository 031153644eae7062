//! [`BatpakStore`]: the events in [batpak](https://crates.io/crates/batpak),
//! an embedded, hash-chained event store.

use batpak::prelude::{AppendOptions, Coordinate, EventKind, Store, StoreConfig};
use batpak::store::{BatchAppendItem, CausationRef};
use serde::{Serialize, Serializer};
use tempfile::TempDir;

use crate::{temp_dir, BoxError, Room};

/// The payload bytes as a MessagePack `bin` (what `serde_bytes` does), not
/// as an array of numbers: batpak stores them as they are.
struct Bin<'a>(&'a [u8]);

impl Serialize for Bin<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A batpak store used as its documentation shows: `Store::open` with
/// `StoreConfig::new(dir)` (its defaults: `sync_all` every 1,000 events),
/// one entity coordinate, [`Store::append`] per event and
/// [`Store::append_batch`] per batch. batpak keeps its own blake3 hash
/// chain per entity (every event hash-bound to its ancestor), stamps each
/// event with its own clock, and returns a receipt per event; nothing is
/// added on top. The batch limit is raised from its default of 256 events
/// to [`BATCH`](super::BATCH) so that a batch is the same 1,000 events as
/// in the other stores.
pub struct BatpakStore {
    // Dropped before the folder (field order).
    store: Option<Store>,
    coord: Coordinate,
    kind: EventKind,
    /// Events still to append before the benchmarks replace the store.
    pub room: u64,
    dir: TempDir,
}

impl BatpakStore {
    /// A new store in a temporary folder, with room for `room` events.
    pub fn new(room: u64) -> Result<Self, BoxError> {
        let dir = temp_dir()?;
        let config = StoreConfig::new(dir.path()).with_batch_max_size(super::BATCH as u32);
        let store = Store::open(config)?;
        Ok(BatpakStore {
            store: Some(store),
            coord: Coordinate::new("bench:entity", "bench:scope")?,
            kind: EventKind::custom(0xF, 1),
            room,
            dir,
        })
    }

    fn store(&self) -> Result<&Store, BoxError> {
        self.store
            .as_ref()
            .ok_or_else(|| "batpak store closed".into())
    }

    /// Appends one event and waits for its receipt.
    #[inline]
    pub fn append(&mut self, payload: &[u8]) -> Result<(), BoxError> {
        let _receipt = self
            .store()?
            .append(&self.coord, self.kind, &Bin(payload))?;
        Ok(())
    }

    /// Appends `count` events with `payload` as one atomic batch.
    pub fn append_batch(&mut self, payload: &[u8], count: usize) -> Result<(), BoxError> {
        let items = (0..count)
            .map(|_| {
                BatchAppendItem::new(
                    self.coord.clone(),
                    self.kind,
                    &Bin(payload),
                    AppendOptions::default(),
                    CausationRef::None,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let receipts = self.store()?.append_batch(items)?;
        debug_assert_eq!(receipts.len(), count);
        Ok(())
    }

    /// Closes the store; returns the bytes of its files.
    pub fn close(mut self) -> Result<u64, BoxError> {
        if let Some(store) = self.store.take() {
            let _closed = store.close()?;
        }
        Ok(super::dir_bytes(self.dir.path())?)
    }
}

impl Room for BatpakStore {
    fn room(&mut self) -> &mut u64 {
        &mut self.room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_closes() {
        let mut s = BatpakStore::new(100).unwrap();
        s.append(&[1; 200]).unwrap();
        s.append_batch(&[2; 200], 1000).unwrap();
        let bytes = s.close().unwrap();
        assert!(bytes > 1001 * 200, "{bytes}");
    }
}
