//! Checking the index files of a ledger folder without using them: each
//! `.idx` file must belong to a sealed segment that is there, decode against
//! that segment's content address (checksum, version, address, payload),
//! and be the very index the segment's records give: the index is rebuilt
//! in memory from the segment (every key family) and compared with the
//! file. Index files are derived data: a damaged or forged one is never
//! trusted (a query refuses it and rebuilds it from its segment), but
//! `ledger verify` reports it, with the file and the reason; one that holds
//! a valid checksum yet disagrees with its segment is a forgery (no bit
//! flip makes one).

use ledger_core::segment::header::SegmentHeader;
use ledger_core::segment::names::SegmentName;
use ledger_core::storage::Storage;
use ledger_core::ContentHash;
use rayon::prelude::*;

use crate::diff::differences;
use crate::file;
use crate::keys::KeyExtractor;
use crate::segment_index::SegmentIndex;

/// A problem with one index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFinding {
    /// The index file.
    pub file: String,
    /// Why it cannot be trusted.
    pub reason: String,
    /// Whether the file is forged: its checksum holds and it names its
    /// segment, but it disagrees with the segment's records (see
    /// [`FileDefect::is_forgery`](crate::FileDefect::is_forgery)). A file
    /// that is only damaged, stale or left over is not.
    pub forged: bool,
}

impl std::fmt::Display for IndexFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

/// What [`check_index_files`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexCheck {
    /// Index files that are the index their segment's records give.
    pub good: usize,
    /// Index files that cannot be trusted.
    pub findings: Vec<IndexFinding>,
}

impl IndexCheck {
    /// How many index files are forged (see [`IndexFinding::forged`]).
    pub fn forged(&self) -> usize {
        self.findings.iter().filter(|f| f.forged).count()
    }
}

/// Checks every index file in the folder of `storage`, as the index of a
/// domain whose keys `extractor` gives would read them, against the index
/// its segment's records give (rebuilt in memory: this reads every record
/// and asks the domain for its keys, as a full scan does).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ledger_core::storage::{MemStorage, Storage};
/// # use ledger_core::{Kind, SchemaVersion};
/// # struct NoKeys;
/// # impl ledger_index::KeyExtractor for NoKeys {
/// #     fn families(&self) -> &'static [&'static str] { &[] }
/// #     fn keys(&self, _: Kind, _: SchemaVersion, _: &[u8], _: &mut dyn FnMut(usize, &str))
/// #         -> Result<(), ledger_index::KeyError> { Ok(()) }
/// # }
/// let st = MemStorage::new();
/// st.create_root()?;
/// st.write_file_atomic("0000000000-00.idx", b"not an index")?;
/// let check = ledger_index::check_index_files(&st, &NoKeys)?;
/// assert_eq!(check.findings.len(), 1);
/// # Ok(())
/// # }
/// ```
pub fn check_index_files(
    storage: &dyn Storage,
    extractor: &dyn KeyExtractor,
) -> std::io::Result<IndexCheck> {
    let names = storage.list()?;
    // Each file is rebuilt from its segment: in parallel, one file a thread.
    let checked: Vec<Option<IndexFinding>> = names
        .par_iter()
        .filter(|n| n.ends_with(".idx"))
        .map(|name| check_one(storage, extractor, &names, name))
        .collect();
    let mut out = IndexCheck::default();
    for finding in checked {
        match finding {
            None => out.good += 1,
            Some(f) => out.findings.push(f),
        }
    }
    Ok(out)
}

/// What is wrong with the index file `name` (of a folder holding `names`),
/// if anything.
fn check_one(
    storage: &dyn Storage,
    extractor: &dyn KeyExtractor,
    names: &[String],
    name: &str,
) -> Option<IndexFinding> {
    let finding = |reason: String, forged: bool| {
        Some(IndexFinding {
            file: name.to_owned(),
            reason,
            forged,
        })
    };
    let stem = name.strip_suffix(".idx")?;
    let segment = format!("{stem}.seg");
    let Some(SegmentName::Sealed(_, address)) = SegmentName::parse(&segment) else {
        return finding(
            "its name is not that of a sealed segment's index".into(),
            false,
        );
    };
    if !names.contains(&segment) {
        return finding(
            format!("no segment {segment} in the folder (left over, unused)"),
            false,
        );
    }
    let bytes = match storage.read_file(name) {
        Ok(bytes) => bytes,
        Err(e) => return finding(format!("cannot be read: {e}"), false),
    };
    let real = rebuild(storage, extractor, &segment, &address);
    // The file this build writes for the segment, byte for byte: good,
    // without decoding it.
    if let Ok(real) = &real {
        if file::encode(&address, real).is_ok_and(|b| b == bytes) {
            return None;
        }
    }
    let ix = match file::decode(&bytes, &address, extractor.families().len()) {
        Ok(ix) => ix,
        Err(d) => return finding(d.to_string(), d.is_forgery()),
    };
    let real = match real {
        Ok(real) => real,
        Err(why) => return finding(format!("cannot be compared with {segment}: {why}"), false),
    };
    // Other bytes for the same index (a non-canonical encoding) are good.
    let diff = differences(&ix, &real, extractor.families());
    (!diff.is_empty()).then(|| IndexFinding {
        file: name.to_owned(),
        reason: format!(
            "does not match its segment (forged or written wrong): {}",
            diff.join("; ")
        ),
        forged: true,
    })
}

/// The index the records of `segment` give, or why it cannot be built.
fn rebuild(
    storage: &dyn Storage,
    extractor: &dyn KeyExtractor,
    segment: &str,
    address: &ContentHash,
) -> Result<SegmentIndex, String> {
    let map = storage
        .map_segment(segment)
        .map_err(|e| format!("the segment cannot be read: {e}"))?;
    let bytes = map.bytes(0, map.len()).unwrap_or_default();
    if ContentHash::of(bytes) != *address {
        return Err("the segment does not match its content address (see its findings)".into());
    }
    let header = SegmentHeader::decode(bytes).map_err(|d| format!("the segment's header: {d}"))?;
    SegmentIndex::build(map.as_ref(), segment, header.first_seq, extractor)
        .map_err(|e| format!("the segment's records cannot be indexed: {e}"))
}
