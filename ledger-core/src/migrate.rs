//! Migration: writing a ledger anew in the current format (and, on request,
//! with every event upcast to its current schema version), without ever
//! breaking the provenance chain.
//!
//! Most schema changes need no migration: old records are upcast when read.
//! When the format itself changes, [`migrate`] writes a new ledger whose
//! first record is a *provenance* record (kind [`Kind::PROVENANCE`]) naming
//! the old ledger's id, its head sequence and head chain hash. The old
//! ledger is only read. [`verify_migration`] recomputes that link: it
//! verifies the old ledger in full, checks that the provenance names
//! exactly its verified head, and that every old record is carried into
//! the new ledger with its content.
//!
//! The engine does not know what a payload means: re-encoding records at
//! their current schema versions (`--upcast`) takes an [`Upcaster`] that the
//! domain supplies (the trading domain's is `ledger_domain::TradingUpcaster`).
//!
//! The provenance payload (75 bytes, little-endian):
//!
//! ```text
//! offset  size  field
//! 0       16    old ledger id
//! 16      8     old head sequence (0 for an empty ledger)
//! 24      32    old head chain hash (the genesis hash for an empty ledger)
//! 56      2     old format version
//! 58      8     records copied
//! 66      8     migrated at: i64 nanoseconds since the Unix epoch
//! 74      1     flags: bit 0 = events were upcast to their current schema
//! ```
//!
//! The provenance record is stamped with the old ledger's first record's
//! time (times never decrease along a chain); its payload holds the real time.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::le;
use crate::reader::Reader;
use crate::types::{ChainHash, Kind, LedgerId, SchemaVersion, Timestamp};
use crate::verify::{verify_dir, VerifyOptions};
use crate::writer::{Durability, Entry, Writer, WriterOptions};

/// Length of the provenance payload.
pub const PROVENANCE_LEN: usize = 75;

/// Where a migrated ledger came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// The old ledger.
    pub old_ledger: LedgerId,
    /// Its head sequence when migrated (0: it was empty).
    pub old_head_seq: u64,
    /// Its head chain hash when migrated.
    pub old_head_hash: ChainHash,
    /// Its format version.
    pub old_format: u16,
    /// Records copied.
    pub records: u64,
    /// When the migration ran.
    pub migrated_at: Timestamp,
    /// Whether events were upcast to their current schema versions.
    pub upcast: bool,
}

impl Provenance {
    /// The payload bytes.
    pub fn encode(&self) -> [u8; PROVENANCE_LEN] {
        let mut b = [0u8; PROVENANCE_LEN];
        b[0..16].copy_from_slice(self.old_ledger.as_bytes());
        b[16..24].copy_from_slice(&self.old_head_seq.to_le_bytes());
        b[24..56].copy_from_slice(self.old_head_hash.as_bytes());
        b[56..58].copy_from_slice(&self.old_format.to_le_bytes());
        b[58..66].copy_from_slice(&self.records.to_le_bytes());
        b[66..74].copy_from_slice(&self.migrated_at.as_nanos().to_le_bytes());
        b[74] = u8::from(self.upcast);
        b
    }

    /// Decodes the payload.
    pub fn decode(b: &[u8]) -> Option<Provenance> {
        if b.len() != PROVENANCE_LEN || b.get(74).is_some_and(|f| f & !1 != 0) {
            return None;
        }
        Some(Provenance {
            old_ledger: LedgerId::from_bytes(le::array(b, 0)?),
            old_head_seq: le::u64_at(b, 16)?,
            old_head_hash: ChainHash::from_bytes(le::array(b, 24)?),
            old_format: le::u16_at(b, 56)?,
            records: le::u64_at(b, 58)?,
            migrated_at: Timestamp::from_nanos(le::i64_at(b, 66)?),
            upcast: b.get(74) == Some(&1),
        })
    }
}

/// Why an [`Upcaster`] could not re-encode a record (the domain's own
/// error, kept as the source).
pub type UpcastError = Box<dyn std::error::Error + Send + Sync>;

/// Re-encodes a domain's records at their current schema versions. The
/// engine stores payloads it does not understand; a domain supplies this so
/// that [`migrate`] can upcast every record, and [`verify_migration`] can
/// tell that an upcast record carries its old record's content. Engine
/// records (kinds at or above [`Kind::RESERVED_START`]) are never passed.
pub trait Upcaster: Send + Sync {
    /// Writes the current-version encoding of the record (`kind`, `version`,
    /// `payload`) to `out` (empty when called) and returns its kind and
    /// version.
    /// Encoding is deterministic: two records with the same content upcast
    /// to the same bytes.
    fn upcast(
        &self,
        kind: Kind,
        version: SchemaVersion,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> std::result::Result<(Kind, SchemaVersion), UpcastError>;
}

/// Options of a migration.
#[derive(Clone)]
pub struct MigrateOptions {
    /// Re-encode every domain record at its current schema version with
    /// this upcaster (`None`: copy every payload as it is).
    pub upcast: Option<Arc<dyn Upcaster>>,
    /// Segment size of the new ledger.
    pub segment_size: u64,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            upcast: None,
            segment_size: crate::writer::DEFAULT_SEGMENT_SIZE,
        }
    }
}

impl std::fmt::Debug for MigrateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrateOptions")
            .field("upcast", &self.upcast.is_some())
            .field("segment_size", &self.segment_size)
            .finish()
    }
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// The provenance record written first.
    pub provenance: Provenance,
    /// The new ledger's id.
    pub new_ledger: LedgerId,
    /// Records whose payload was re-encoded.
    pub upcast_records: u64,
}

fn refuse(old: &Path, reason: String) -> Error {
    Error::Corrupt {
        segment: old.display().to_string(),
        offset: 0,
        seq: None,
        defect: crate::error::Defect::finding(crate::finding::FindingKind::Crc, reason),
    }
}

/// Migrates the ledger in `old` into a new ledger in `new` (absent or
/// empty). The old ledger must verify intact; it is only read.
pub fn migrate(old: &Path, new: &Path, opts: &MigrateOptions) -> Result<MigrationReport> {
    let report = verify_dir(old, &VerifyOptions::default())?;
    if !report.is_intact() {
        return Err(refuse(
            old,
            format!(
                "refusing to migrate a damaged ledger ({} finding(s); run `ledger verify`)",
                report.findings.len()
            ),
        ));
    }
    let old_id = report
        .ledger_id
        .ok_or_else(|| refuse(old, "no ledger id".into()))?;
    let reader = Reader::open(old)?;
    let (head_seq, head_hash) = match report.head {
        Some(h) => (h.seq.get(), h.chain_hash),
        None => (0, crate::chain::genesis(&old_id)),
    };
    let first_time = reader
        .cursor()?
        .next_ref()?
        .map_or_else(Timestamp::now, |r| r.timestamp);
    let provenance = Provenance {
        old_ledger: old_id,
        old_head_seq: head_seq,
        old_head_hash: head_hash,
        old_format: reader.meta().version as u16,
        records: head_seq,
        migrated_at: Timestamp::now(),
        upcast: opts.upcast.is_some(),
    };
    let mut w = Writer::create(
        new,
        WriterOptions::default()
            .segment_size(opts.segment_size)
            .durability(Durability::NoSync),
    )?;
    let _ = w.append(
        &Entry::new(
            Kind::PROVENANCE,
            SchemaVersion::new(1),
            &provenance.encode(),
        )
        .at(first_time),
    )?;
    let mut upcast_records = 0;
    let mut buf = Vec::new();
    let mut cursor = reader.cursor()?;
    while let Some(r) = cursor.next_ref()? {
        if r.seq.get() > head_seq {
            break;
        }
        let mut entry = Entry::new(r.kind, r.version, r.payload).at(r.timestamp);
        if let Some(upcaster) = opts.upcast.as_deref().filter(|_| is_domain(r.kind)) {
            buf.clear();
            let (kind, version) = upcaster
                .upcast(r.kind, r.version, r.payload, &mut buf)
                .map_err(|e| refuse(old, format!("record {}: {e}", r.seq)))?;
            if version != r.version {
                upcast_records += 1;
            }
            entry = Entry::new(kind, version, &buf).at(r.timestamp);
        }
        let _ = w.append(&entry)?;
    }
    let new_ledger = w.ledger_id();
    w.close()?;
    Ok(MigrationReport {
        provenance,
        new_ledger,
        upcast_records,
    })
}

fn is_domain(kind: Kind) -> bool {
    kind.get() < Kind::RESERVED_START
}

/// The current-version encoding of a record, or `None` when it does not
/// upcast.
fn upcast_of(
    upcaster: &dyn Upcaster,
    kind: Kind,
    version: SchemaVersion,
    payload: &[u8],
) -> Option<(Kind, SchemaVersion, Vec<u8>)> {
    let mut out = Vec::new();
    let (k, v) = upcaster.upcast(kind, version, payload, &mut out).ok()?;
    Some((k, v, out))
}

/// At most this many differing records are named one by one; the rest are
/// counted.
const NAMED_DIFFERENCES: usize = 10;

/// Checks a migrated ledger against its old ledger, recomputing everything
/// it vouches for in the old one:
///
/// - the old ledger is verified in full (every record re-hashed, every
///   chain link, content address and segment checked): any damage there is
///   a problem of the link, since the provenance would vouch for records
///   that are not what was written;
/// - the new ledger starts with a provenance record naming the old ledger's
///   id and format, and exactly its verified head (sequence and chain hash;
///   an empty head only when the old ledger really holds no record), and
///   a record count equal to that head's sequence;
/// - every record of the old ledger, from the first to its verified head,
///   is carried into the new one, in order, with the same kind, time and
///   content. Both ledgers are read with their chain recomputed, so the
///   records compared are the ones the hashes vouch for. When the migration
///   upcast the records, the content is compared after upcasting both with
///   `upcaster` (the same event); without one, that check is reported as
///   not possible.
///
/// Records the new ledger holds after the carried-over ones were appended
/// after the migration and are not compared. Returns the problems found
/// (empty: the link holds); errors are reserved for folders that cannot be
/// opened or listed.
pub fn verify_migration(
    new: &Path,
    old: &Path,
    upcaster: Option<&dyn Upcaster>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let new_reader = Reader::open(new)?;
    let old_reader = Reader::open(old)?;
    let mut nc = new_reader.cursor()?.verify_chain(true);
    let first = match nc.next_record() {
        Ok(Some(first)) => first,
        Ok(None) => return Ok(vec!["the new ledger is empty: no provenance record".into()]),
        Err(e) => {
            return Ok(vec![format!(
                "the new ledger's record 1 cannot be read: {e}"
            )])
        }
    };
    let Some(p) = (first.kind == Kind::PROVENANCE)
        .then(|| Provenance::decode(&first.payload))
        .flatten()
    else {
        return Ok(vec![
            "record 1 of the new ledger is not a provenance record".into(),
        ]);
    };
    let old_id = old_reader.ledger_id();
    if p.old_ledger != old_id {
        problems.push(format!(
            "the provenance names ledger {}, the old ledger is {old_id}",
            p.old_ledger,
        ));
        return Ok(problems);
    }

    // What the provenance vouches for is recomputed: the old ledger in full.
    let report = verify_dir(old, &VerifyOptions::default())?;
    let damage: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind.is_damage())
        .collect();
    if let Some(f) = damage.first() {
        problems.push(format!(
            "the old ledger is damaged ({} finding(s), the first: {f}): the provenance cannot vouch for it; `ledger -d {} verify` shows them all",
            damage.len(),
            old.display()
        ));
        return Ok(problems);
    }
    let (head_seq, head_hash) = match report.head {
        Some(h) => (h.seq.get(), h.chain_hash),
        None => (0, crate::chain::genesis(&old_id)),
    };
    problems.extend(head_problems(
        &p,
        head_seq,
        &head_hash,
        old_reader.meta().version as u16,
    ));

    let upcaster = match (p.upcast, upcaster) {
        (true, None) => {
            problems.push(
                "the migration upcast the records: comparing their content needs the domain's upcaster"
                    .into(),
            );
            return Ok(problems);
        }
        (true, Some(u)) => Some(u),
        (false, _) => None,
    };
    let mut oc = old_reader.cursor()?.verify_chain(true);
    let mut differing = 0usize;
    for n in 1..=head_seq {
        let o = match oc.next_record() {
            Ok(Some(o)) => o,
            Ok(None) => {
                problems.push(format!(
                    "the old ledger ends before record {n}, though it verified to record {head_seq} (changed while being checked?)"
                ));
                break;
            }
            Err(e) => {
                problems.push(format!("the old ledger's record {n} cannot be read: {e}"));
                break;
            }
        };
        let m = match nc.next_record() {
            Ok(Some(m)) => m,
            Ok(None) => {
                problems.push(format!(
                    "the new ledger ends before old record {n}: old records {n} to {head_seq} were never carried over"
                ));
                break;
            }
            Err(e) => {
                problems.push(format!(
                    "the new ledger's record {} (old record {n}) cannot be read: {e}",
                    n.saturating_add(1)
                ));
                break;
            }
        };
        if !carried_over(&o, &m, upcaster) {
            differing += 1;
            if differing <= NAMED_DIFFERENCES {
                problems.push(format!(
                    "old record {} and new record {} differ",
                    o.seq, m.seq
                ));
            }
        }
        if n == p.old_head_seq && n < head_seq {
            // The old ledger grew after the migration, or was rewritten.
            problems.push(if o.chain_hash == p.old_head_hash {
                format!(
                    "old record {n} has the chain hash the provenance names: records {} to {head_seq} were appended to the old ledger after the migration",
                    n.saturating_add(1)
                )
            } else {
                format!(
                    "old record {n} has chain hash {}, the provenance names {}",
                    o.chain_hash, p.old_head_hash
                )
            });
        }
        if n == head_seq && o.chain_hash != head_hash {
            problems.push(format!(
                "the old ledger's record {n} read with chain hash {}, it verified as {head_hash} (changed while being checked?)",
                o.chain_hash
            ));
        }
    }
    if differing > NAMED_DIFFERENCES {
        problems.push(format!(
            "{} more old records differ from their new counterparts",
            differing - NAMED_DIFFERENCES
        ));
    }
    Ok(problems)
}

/// What is wrong with the provenance record's claims about the old ledger,
/// whose verified head is `head_seq` with `head_hash` (0 and the genesis
/// hash: it holds no record) and whose format is `format`.
fn head_problems(p: &Provenance, head_seq: u64, head_hash: &ChainHash, format: u16) -> Vec<String> {
    let mut problems = Vec::new();
    if p.old_head_seq == 0 && head_seq > 0 {
        problems.push(format!(
            "the provenance says the old ledger was empty, but it holds {head_seq} record(s) (head chain hash {head_hash}): none of them is vouched for"
        ));
    } else if p.old_head_seq < head_seq {
        problems.push(format!(
            "the provenance names old record {} as the head, but the old ledger verifies to record {head_seq}: records {} to {head_seq} are not vouched for and were never carried over",
            p.old_head_seq,
            p.old_head_seq.saturating_add(1)
        ));
    } else if p.old_head_seq > head_seq {
        problems.push(format!(
            "the provenance names old record {} as the head, but the old ledger verifies only to record {head_seq}: it was cut back or rewritten",
            p.old_head_seq
        ));
    } else if p.old_head_hash != *head_hash {
        problems.push(format!(
            "the old ledger's head, record {head_seq}, has chain hash {head_hash}, the provenance names {}: one of them was rewritten",
            p.old_head_hash
        ));
    }
    if p.records != head_seq {
        problems.push(format!(
            "the provenance says {} record(s) were copied, the old ledger holds {head_seq}",
            p.records
        ));
    }
    if p.old_format != format {
        problems.push(format!(
            "the provenance names format v{}, the old ledger is format v{format}",
            p.old_format
        ));
    }
    problems
}

/// Whether the new ledger's record `m` carries the old record `o`: the same
/// kind and time, and the same content (after upcasting both, when the
/// migration upcast).
fn carried_over(
    o: &crate::reader::Record,
    m: &crate::reader::Record,
    upcaster: Option<&dyn Upcaster>,
) -> bool {
    o.kind == m.kind
        && o.timestamp == m.timestamp
        && if let Some(u) = upcaster.filter(|_| is_domain(o.kind)) {
            // Migration upcast every old record, so both must upcast, to
            // the same bytes: two records that do not are not equal.
            match (
                upcast_of(u, o.kind, o.version, &o.payload),
                upcast_of(u, m.kind, m.version, &m.payload),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
        } else {
            o.version == m.version && o.payload == m.payload
        }
}
