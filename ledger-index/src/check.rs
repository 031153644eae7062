//! Checking the index files of a ledger folder without using them: each
//! `.idx` file must belong to a sealed segment that is there, and decode
//! against that segment's content address (checksum, version, address,
//! payload). Index files are derived data: a damaged one is never trusted
//! (a query rebuilds it from its segment), but bit rot in one should still be
//! reported, with the file and the reason, by `ledger verify`.

use ledger_core::segment::names::SegmentName;
use ledger_core::storage::Storage;

use crate::file;
use crate::keys::KeyExtractor;

/// A problem with one index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFinding {
    /// The index file.
    pub file: String,
    /// Why it cannot be trusted.
    pub reason: String,
}

impl std::fmt::Display for IndexFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

/// What [`check_index_files`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexCheck {
    /// Index files that decoded and belong to their segment.
    pub good: usize,
    /// Index files that cannot be trusted.
    pub findings: Vec<IndexFinding>,
}

/// Checks every index file in the folder of `storage`, as the index of a
/// domain whose keys `extractor` gives would read them.
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
    let families = extractor.families().len();
    let names = storage.list()?;
    let mut out = IndexCheck::default();
    for name in names.iter().filter(|n| n.ends_with(".idx")) {
        let Some(stem) = name.strip_suffix(".idx") else {
            continue;
        };
        let segment = format!("{stem}.seg");
        let address = match SegmentName::parse(&segment) {
            Some(SegmentName::Sealed(_, address)) => address,
            _ => {
                out.findings.push(IndexFinding {
                    file: name.clone(),
                    reason: "its name is not that of a sealed segment's index".into(),
                });
                continue;
            }
        };
        if !names.contains(&segment) {
            out.findings.push(IndexFinding {
                file: name.clone(),
                reason: format!("no segment {segment} in the folder (left over, unused)"),
            });
            continue;
        }
        let reason = match storage.read_file(name) {
            Ok(bytes) => file::decode(&bytes, &address, families)
                .err()
                .map(|d| d.to_string()),
            Err(e) => Some(format!("cannot be read: {e}")),
        };
        match reason {
            None => out.good += 1,
            Some(reason) => out.findings.push(IndexFinding {
                file: name.clone(),
                reason,
            }),
        }
    }
    Ok(out)
}
