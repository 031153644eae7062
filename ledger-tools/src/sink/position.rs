//! The sink's position: per ledger, the last record loaded (sequence and
//! chain hash), in `sink_position`, written in the same transaction as
//! the batch it ends. On start the ledger must still hold that record with
//! that chain hash; loading continues right after it.

use ledger_core::{Cursor, Reader, Seq};
use postgres::GenericClient;

use crate::error::ToolError;
use crate::export_cmd::head_seq;
use crate::sink::error::{db_err, SinkError};

/// A position: the last record loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Its sequence.
    pub seq: u64,
    /// Its chain hash (hex).
    pub chain_hash: String,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} (chain hash {})", self.seq, self.chain_hash)
    }
}

/// The advisory lock key of one ledger's sink.
const LOCK_SQL: &str =
    "SELECT pg_try_advisory_lock(hashtextextended('tradeledger sink ' || $1, 0))";

/// Takes the ledger's sink lock for this session (released when the
/// connection ends); another `ledger sink` of the same ledger holding it
/// is [`SinkError::Busy`].
pub fn lock(
    client: &mut impl GenericClient,
    database: &str,
    ledger: &str,
) -> Result<(), SinkError> {
    let got: bool = client
        .query_one(LOCK_SQL, &[&ledger])
        .map_err(db_err(database, "take the sink's lock"))?
        .get(0);
    if got {
        Ok(())
    } else {
        Err(SinkError::Busy {
            ledger: ledger.to_owned(),
            database: database.to_owned(),
        })
    }
}

/// The ledger's position in the database, if it has one; with
/// `for_update`, the row is locked until the transaction ends.
pub fn read(
    client: &mut impl GenericClient,
    database: &str,
    ledger: &str,
    for_update: bool,
) -> Result<Option<Position>, SinkError> {
    let sql = if for_update {
        "SELECT seq, chain_hash FROM sink_position WHERE ledger_id = $1 FOR UPDATE"
    } else {
        "SELECT seq, chain_hash FROM sink_position WHERE ledger_id = $1"
    };
    let row = client
        .query_opt(sql, &[&ledger])
        .map_err(db_err(database, "read the sink's position"))?;
    Ok(row.map(|r| Position {
        seq: u64::try_from(r.get::<_, i64>(0)).unwrap_or(0),
        chain_hash: r.get(1),
    }))
}

/// Writes the position (inside the batch's transaction).
pub fn store(
    client: &mut impl GenericClient,
    database: &str,
    ledger: &str,
    pos: &Position,
) -> Result<(), SinkError> {
    let seq = i64::try_from(pos.seq).unwrap_or(i64::MAX);
    client
        .execute(
            "INSERT INTO sink_position (ledger_id, seq, chain_hash, updated_at)
             VALUES ($1, $2, $3, now())
             ON CONFLICT (ledger_id) DO UPDATE
             SET seq = EXCLUDED.seq, chain_hash = EXCLUDED.chain_hash, updated_at = now()",
            &[&ledger, &seq, &pos.chain_hash],
        )
        .map_err(db_err(database, "store the sink's position"))?;
    Ok(())
}

/// Whether the database holds any row of the ledger in `ledger_events`.
pub fn has_rows(
    client: &mut impl GenericClient,
    database: &str,
    ledger: &str,
) -> Result<bool, SinkError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM ledger_events WHERE ledger_id = $1 LIMIT 1",
            &[&ledger],
        )
        .map_err(db_err(database, "look for the ledger's rows"))?
        .is_some())
}

/// A chain-checking cursor right after `pos` (at the first record without
/// one), once the ledger is found to hold `pos`'s record with its chain
/// hash; [`SinkError::PositionMismatch`] or
/// [`SinkError::PositionBeyondHead`] otherwise.
pub fn resume(
    reader: &Reader,
    database: &str,
    pos: Option<&Position>,
) -> Result<Cursor, ToolError> {
    let Some(pos) = pos else {
        return Ok(reader.cursor_from(Seq::FIRST)?.verify_chain(true));
    };
    let ledger = reader.ledger_id().to_hex();
    let mut cursor = reader.cursor_from(Seq::new(pos.seq))?.verify_chain(true);
    let found = match cursor.next_ref()? {
        Some(r) if r.seq.get() == pos.seq => r.chain_hash.to_hex(),
        _ => {
            return Err(SinkError::PositionBeyondHead {
                ledger,
                database: database.to_owned(),
                seq: pos.seq,
                head: head_seq(reader)?,
            }
            .into())
        }
    };
    if found != pos.chain_hash {
        return Err(SinkError::PositionMismatch {
            ledger,
            database: database.to_owned(),
            seq: pos.seq,
            expected: pos.chain_hash.clone(),
            found,
        }
        .into());
    }
    Ok(cursor)
}
