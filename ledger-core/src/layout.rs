//! Reading a ledger folder: which files it holds and whether they form a
//! ledger (identity file, contiguous sealed segments, then the segments
//! still named `.active`: any full segments the sealer thread has not
//! sealed yet, and the active segment last).

use crate::error::{Error, IoContext, Result};
use crate::meta::{LedgerMeta, META_FILE};
use crate::segment::names::SegmentName;
use crate::storage::Storage;
use crate::types::{ContentHash, SegmentOrdinal};

/// A sealed segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFile {
    /// Its ordinal.
    pub ordinal: SegmentOrdinal,
    /// The content address its name claims.
    pub address: ContentHash,
    /// Its file name.
    pub name: String,
}

/// The files of a ledger folder, classified.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The identity.
    pub meta: LedgerMeta,
    /// Sealed segments in order, contiguous from ordinal 0.
    pub sealed: Vec<SealedFile>,
    /// Full segments not yet sealed, in order: `.active` files that end in
    /// a footer and are followed by a later segment (the writer has moved
    /// on; its sealer thread seals them in the background). Their ordinals
    /// follow the last sealed one. Usually empty or one.
    pub full: Vec<(SegmentOrdinal, String)>,
    /// The active segment, if any: the last `.active` file, whose ordinal
    /// follows the full ones (or the last sealed one).
    pub active: Option<(SegmentOrdinal, String)>,
    /// Preallocated segment files (never hold data).
    pub prealloc: Vec<String>,
    /// Temporary files of interrupted atomic writes (never hold committed data).
    pub temps: Vec<String>,
}

impl Layout {
    /// The ordinal the next segment after the sealed ones has.
    pub fn next_ordinal(&self) -> SegmentOrdinal {
        self.sealed
            .last()
            .map_or(SegmentOrdinal::new(0), |s| s.ordinal.next())
    }

    /// Every `.active` file in order: the full ones, then the active one.
    pub fn unsealed(&self) -> impl Iterator<Item = &(SegmentOrdinal, String)> {
        self.full.iter().chain(self.active.as_ref())
    }

    /// How many segment files the ledger has (sealed, full and active).
    pub fn segment_count(&self) -> u64 {
        (self.sealed.len() + self.full.len()) as u64 + u64::from(self.active.is_some())
    }
}

/// Describes what a folder without a `LEDGER` file holds, for the error.
fn describe_foreign(names: &[String]) -> String {
    let segments = names
        .iter()
        .filter(|n| SegmentName::parse(n).is_some())
        .count();
    match (names.len(), segments) {
        (0, _) => "; the folder is empty".to_owned(),
        (n, 0) => format!("; it holds {n} other file(s), e.g. {:?}", names[0]),
        (n, s) => format!(
            "; it holds {n} file(s), {s} of them segment files: the identity file was lost or removed"
        ),
    }
}

/// Checks that the folder exists and holds a `LEDGER` file (whatever its
/// content); returns the folder's file names.
pub(crate) fn check_is_ledger(storage: &dyn Storage) -> Result<Vec<String>> {
    if !storage.root_exists() {
        return Err(Error::NoSuchFolder {
            path: storage.path_of(""),
        });
    }
    let names = storage.list().ctx("list", storage.path_of(""))?;
    if !names.iter().any(|n| n == META_FILE) {
        return Err(Error::NotALedger {
            path: storage.path_of(""),
            detail: describe_foreign(&names),
        });
    }
    Ok(names)
}

/// Lists and checks the folder.
pub fn read_layout(storage: &dyn Storage) -> Result<Layout> {
    let names = check_is_ledger(storage)?;
    let raw = storage
        .read_file(META_FILE)
        .ctx("read", storage.path_of(META_FILE))?;
    let meta = LedgerMeta::decode(&raw).map_err(|defect| Error::BadMeta {
        path: storage.path_of(META_FILE),
        defect,
    })?;

    let mut sealed = Vec::new();
    let mut actives = Vec::new();
    let mut prealloc = Vec::new();
    let mut temps = Vec::new();
    for name in names {
        if name.ends_with(".tmp") {
            temps.push(name);
            continue;
        }
        match SegmentName::parse(&name) {
            Some(SegmentName::Sealed(ordinal, address)) => sealed.push(SealedFile {
                ordinal,
                address,
                name,
            }),
            Some(SegmentName::Active(o)) => actives.push((o, name)),
            Some(SegmentName::Prealloc(_)) => prealloc.push(name),
            None => {}
        }
    }
    sealed.sort_by_key(|s| s.ordinal);
    for (i, s) in sealed.iter().enumerate() {
        let expected = SegmentOrdinal::new(i as u64);
        if s.ordinal != expected {
            let detail = if s.ordinal < expected {
                format!(
                    "two sealed segments claim ordinal {}: {} and {}",
                    s.ordinal,
                    sealed[i - 1].name,
                    s.name
                )
            } else {
                format!("the next sealed segment found is {}", s.name)
            };
            return Err(Error::MissingSegment {
                ordinal: expected,
                detail,
            });
        }
    }
    actives.sort_by_key(|(o, _)| *o);
    let mut expect = sealed
        .last()
        .map_or(SegmentOrdinal::new(0), |s| s.ordinal.next());
    for (o, name) in &actives {
        if *o != expect {
            return Err(if *o > expect {
                Error::MissingSegment {
                    ordinal: expect,
                    detail: format!("the next segment found is {name}"),
                }
            } else {
                Error::Corrupt {
                    segment: name.clone(),
                    offset: 0,
                    seq: None,
                    defect: crate::error::Defect::finding(
                        crate::finding::FindingKind::MissingSegment,
                        format!(
                            "an active segment with ordinal {o}, but segment {o} is already sealed or active"
                        ),
                    ),
                }
            });
        }
        expect = o.next();
    }
    let active = actives.pop();
    let full = actives;
    Ok(Layout {
        meta,
        sealed,
        full,
        active,
        prealloc,
        temps,
    })
}
