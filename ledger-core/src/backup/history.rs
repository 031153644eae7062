//! The chain of manifests: each backup names the one before it with that
//! manifest's hash, and `backup prune` leaves a record of every backup it
//! removes (`manifests/<id>.pruned`), so that a manifest deleted or altered
//! anywhere but at the newest end is found ([`check_history`]).

use serde::{Deserialize, Serialize};

use super::manifest::{
    hashed_file, is_plain_id, split_hashed_file, FieldDefect, ManifestLink, MANIFEST_FORMAT,
};

/// The record `backup prune` leaves of a backup it removed: enough to keep
/// the chain of manifests checkable across it. File form as a manifest's:
/// JSON, then a line `blake3:<hex of the JSON>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrunedBackup {
    /// Format (the manifest format).
    pub format: u32,
    /// The removed backup's id.
    pub id: String,
    /// The hash its manifest had (what the next manifest's link names).
    pub hash: String,
    /// When the backup was made, nanoseconds since the Unix epoch.
    pub created_ns: i64,
    /// Its link to the backup before it.
    pub previous: Option<ManifestLink>,
    /// When it was pruned, nanoseconds since the Unix epoch.
    pub pruned_ns: i64,
}

impl PrunedBackup {
    /// The file form and its hash.
    pub fn to_file(&self) -> Result<(Vec<u8>, String), serde_json::Error> {
        Ok(hashed_file(serde_json::to_vec_pretty(self)?))
    }

    /// Parses the file form, checking its hash, its format and its fields.
    pub fn from_file(bytes: &[u8]) -> Result<PrunedBackup, String> {
        let (body, _) = split_hashed_file(bytes)?;
        let p: PrunedBackup = serde_json::from_str(body)
            .map_err(|e| format!("not a record of a pruned backup: {e}"))?;
        if p.format != MANIFEST_FORMAT {
            return Err(format!(
                "format {} is not supported (this build reads {MANIFEST_FORMAT})",
                p.format
            ));
        }
        p.check_fields().map_err(|d| d.to_string())?;
        Ok(p)
    }

    fn check_fields(&self) -> Result<(), FieldDefect> {
        const PLAIN: &str = "not a plain name (1 to 64 ASCII letters, digits, `-` or `_`)";
        for (field, value) in [
            ("id", Some(&self.id)),
            ("previous.id", self.previous.as_ref().map(|l| &l.id)),
        ] {
            if let Some(v) = value.filter(|v| !is_plain_id(v)) {
                return Err(FieldDefect {
                    field: field.into(),
                    value: v.clone(),
                    reason: PLAIN,
                });
            }
        }
        Ok(())
    }
}

/// One backup in the chain of manifests: kept (its manifest is there) or
/// pruned (a record of it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainEntry {
    /// The backup's id.
    pub id: String,
    /// Its manifest's hash.
    pub hash: String,
    /// Its link to the one before.
    pub previous: Option<ManifestLink>,
    /// Whether only a record of pruning it is left.
    pub pruned: bool,
}

/// Checks the chain of manifests, `entries` sorted by id (oldest first;
/// ids sort by creation time): each backup must link to the one before it,
/// with that manifest's hash, and the first to none; pruned backups must
/// all be older than every kept one (prune removes the oldest first).
/// `unreadable` are ids whose manifests are there but damaged (already
/// findings of their own). Returns the findings, each naming the manifest.
pub(crate) fn check_history(entries: &[ChainEntry], unreadable: &[String]) -> Vec<String> {
    let mut findings = Vec::new();
    let describe = |e: &ChainEntry| {
        if e.pruned {
            format!("the record of pruned backup {}", e.id)
        } else {
            format!("manifest {}", e.id)
        }
    };
    for (i, e) in entries.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| &entries[j]);
        match (&e.previous, before) {
            (None, None) => {}
            (None, Some(b)) => findings.push(format!(
                "{} names no previous backup, but backup {} is older: the chain of manifests restarts (a manifest was altered or replaced)",
                describe(e),
                b.id
            )),
            (Some(link), Some(b)) if link.id == b.id => {
                if link.hash != b.hash {
                    findings.push(format!(
                        "{} links to backup {} with hash {}, but that manifest hashes to {} (it was altered)",
                        describe(e),
                        b.id,
                        link.hash,
                        b.hash
                    ));
                }
            }
            (Some(link), _) if unreadable.contains(&link.id) => findings.push(format!(
                "{}: its previous backup {} is damaged",
                describe(e),
                link.id
            )),
            (Some(link), before) if entries.iter().any(|x| x.id == link.id) => {
                findings.push(format!(
                    "{} links to backup {}, but the backup before it is {} (the chain of manifests is out of order)",
                    describe(e),
                    link.id,
                    before.map_or("none", |b| b.id.as_str())
                ))
            }
            (Some(link), _) => findings.push(format!(
                "{}: its previous backup {} is missing: neither its manifest nor a record of pruning it is in the store (a manifest was deleted)",
                describe(e),
                link.id
            )),
        }
    }
    if let Some(kept) = entries.iter().position(|e| !e.pruned) {
        for e in entries[kept..].iter().filter(|e| e.pruned) {
            findings.push(format!(
                "backup {} is recorded as pruned, but the older backup {} is kept: prune removes the oldest first (a manifest was removed from the middle of the chain)",
                e.id, entries[kept].id
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, hash: &str, prev: Option<(&str, &str)>, pruned: bool) -> ChainEntry {
        ChainEntry {
            id: id.into(),
            hash: hash.into(),
            previous: prev.map(|(id, hash)| ManifestLink {
                id: id.into(),
                hash: hash.into(),
            }),
            pruned,
        }
    }

    #[test]
    fn an_unbroken_chain_has_no_findings() {
        let chain = [
            entry("a", "ha", None, true),
            entry("b", "hb", Some(("a", "ha")), false),
            entry("c", "hc", Some(("b", "hb")), false),
        ];
        assert!(check_history(&chain, &[]).is_empty());
    }

    #[test]
    fn a_missing_middle_an_altered_link_and_a_pruned_middle_are_found() {
        let missing = [
            entry("a", "ha", None, false),
            entry("c", "hc", Some(("b", "hb")), false),
        ];
        let f = check_history(&missing, &[]);
        assert!(f[0].contains("previous backup b is missing"), "{f:?}");
        let altered = [
            entry("a", "hx", None, false),
            entry("b", "hb", Some(("a", "ha")), false),
        ];
        assert!(check_history(&altered, &[])[0].contains("altered"));
        let pruned_middle = [
            entry("a", "ha", None, false),
            entry("b", "hb", Some(("a", "ha")), true),
            entry("c", "hc", Some(("b", "hb")), false),
        ];
        let f = check_history(&pruned_middle, &[]);
        assert!(f.iter().any(|f| f.contains("middle of the chain")), "{f:?}");
        let restarted = [entry("a", "ha", None, false), entry("b", "hb", None, false)];
        assert!(check_history(&restarted, &[])[0].contains("restarts"));
    }
}
