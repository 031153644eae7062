//! [`SqliteChain`]: events as rows of an SQLite table, each row carrying the
//! hash chain.

use rusqlite::{params, Connection};
use tempfile::TempDir;

use super::{chain_row, now_nanos, KIND};
use crate::{temp_dir, BoxError, Room};

const CREATE: &str = "CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    payload BLOB NOT NULL,
    chain_hash BLOB NOT NULL
)";
const INSERT: &str =
    "INSERT INTO events (seq, ts, kind, payload, chain_hash) VALUES (?1, ?2, ?3, ?4, ?5)";

/// SQLite's `synchronous` setting (with the WAL journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=NORMAL`: a commit is not flushed (the WAL is synced at
    /// checkpoints); it survives a crash of the process, not of the machine.
    Normal,
    /// `synchronous=FULL`: every commit syncs the WAL, so it survives power loss.
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// An SQLite database in WAL mode with one table
/// `events (seq INTEGER PRIMARY KEY, ts INTEGER, kind INTEGER, payload BLOB, chain_hash BLOB)`.
///
/// Every insert goes through the connection's cached prepared statement;
/// each row's `chain_hash` is `blake3(previous row's chain_hash || seq || ts
/// || kind || payload)` (integers little-endian), computed as the row is
/// inserted. [`append`](Self::append) commits each row on its own
/// (autocommit); [`append_batch`](Self::append_batch) inserts a batch in
/// one transaction.
pub struct SqliteChain {
    conn: Connection,
    prev: [u8; 32],
    seq: i64,
    /// Events still to append before the benchmarks replace the database.
    pub room: u64,
    // Dropped after the connection (field order).
    dir: TempDir,
}

impl SqliteChain {
    /// A new, empty database in a temporary folder, with room for `room` events.
    pub fn new(sync: Synchronous, room: u64) -> Result<Self, BoxError> {
        let dir = temp_dir()?;
        let conn = Connection::open(dir.path().join("events.db"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("SQLite refused WAL mode (got {mode})").into());
        }
        conn.pragma_update(None, "synchronous", sync.pragma())?;
        conn.execute(CREATE, [])?;
        // Prepare the insert once; every later use finds it in the cache.
        let _ = conn.prepare_cached(INSERT)?;
        Ok(SqliteChain {
            conn,
            prev: [0; 32],
            seq: 0,
            room,
            dir,
        })
    }

    /// Inserts one event in its own transaction (autocommit).
    #[inline]
    pub fn append(&mut self, payload: &[u8]) -> Result<(), BoxError> {
        let mut st = self.conn.prepare_cached(INSERT)?;
        insert(&mut st, &mut self.prev, &mut self.seq, payload)?;
        Ok(())
    }

    /// Inserts `count` events with `payload` in one transaction.
    pub fn append_batch(&mut self, payload: &[u8], count: usize) -> Result<(), BoxError> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(INSERT)?;
            for _ in 0..count {
                insert(&mut st, &mut self.prev, &mut self.seq, payload)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The chain hash of the last row inserted.
    pub fn head(&self) -> [u8; 32] {
        self.prev
    }

    /// Rows inserted.
    pub fn rows(&self) -> u64 {
        self.seq as u64
    }

    /// Closes the database (checkpointing the WAL into it) and returns the
    /// bytes of its files.
    pub fn close(self) -> Result<u64, BoxError> {
        let SqliteChain { conn, dir, .. } = self;
        conn.close().map_err(|(_, e)| e)?;
        Ok(super::dir_bytes(dir.path())?)
    }
}

#[inline]
fn insert(
    st: &mut rusqlite::CachedStatement<'_>,
    prev: &mut [u8; 32],
    seq: &mut i64,
    payload: &[u8],
) -> rusqlite::Result<()> {
    let next = *seq + 1;
    let ts = now_nanos();
    let hash = chain_row(prev, next, ts, KIND, payload);
    st.execute(params![next, ts, KIND, payload, &hash[..]])?;
    *prev = hash;
    *seq = next;
    Ok(())
}

impl Room for SqliteChain {
    fn room(&mut self) -> &mut u64 {
        &mut self.room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_the_chain() {
        let mut db = SqliteChain::new(Synchronous::Normal, 100).unwrap();
        db.append(b"one").unwrap();
        db.append_batch(b"two", 3).unwrap();
        assert_eq!(db.rows(), 4);
        let mut st = db
            .conn
            .prepare("SELECT seq, ts, kind, payload, chain_hash FROM events ORDER BY seq")
            .unwrap();
        let mut prev = [0u8; 32];
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, u16>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .unwrap();
        let mut n = 0;
        for row in rows {
            let (seq, ts, kind, payload, hash) = row.unwrap();
            let want = chain_row(&prev, seq, ts, kind, &payload);
            assert_eq!(hash, want.to_vec());
            prev = want;
            n += 1;
        }
        assert_eq!(n, 4);
        drop(st);
        assert_eq!(prev, db.head());
        assert!(db.close().unwrap() > 0);
    }
}
