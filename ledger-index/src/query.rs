//! [`Query`]: which records to find. The index and a full scan answer it
//! with the same rules: ranges, kinds, and keys of the domain's families.

use std::collections::BTreeMap;

use ledger_core::{Kind, Seq, Timestamp};

use crate::error::IndexError;

/// A query: every criterion given must hold (AND); inside one criterion,
/// any of the listed values may match (OR). An empty list does not filter.
///
/// Keys are named by their family, one of the domain's
/// [`KeyExtractor::families`](crate::KeyExtractor::families); a family the
/// domain does not have is refused when the query runs.
///
/// ```
/// use ledger_core::Kind;
/// use ledger_index::Query;
///
/// let q = Query::all().kind(Kind::new(7)).key("symbol", "AAPL").key("symbol", "MSFT");
/// assert_eq!(q.keys["symbol"], ["AAPL", "MSFT"]);
/// assert!(q.has_keys());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Records from this sequence on (inclusive).
    pub from_seq: Option<Seq>,
    /// Records up to this sequence (inclusive).
    pub to_seq: Option<Seq>,
    /// Records at or after this time.
    pub from_time: Option<Timestamp>,
    /// Records before this time.
    pub to_time: Option<Timestamp>,
    /// Record kinds.
    pub kinds: Vec<Kind>,
    /// Keys by family: a record matches when, for every family listed, it
    /// has one of the keys given.
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Query {
    /// Everything.
    pub fn all() -> Self {
        Query::default()
    }

    /// This query, also selecting records of `kind`.
    #[must_use]
    pub fn kind(mut self, kind: impl Into<Kind>) -> Self {
        self.kinds.push(kind.into());
        self
    }

    /// This query, also selecting records with `key` in `family`.
    #[must_use]
    pub fn key(mut self, family: &str, key: impl Into<String>) -> Self {
        self.keys
            .entry(family.to_owned())
            .or_default()
            .push(key.into());
        self
    }

    /// Whether `seq` and `time` are inside the query's ranges.
    pub fn in_range(&self, seq: Seq, time: Timestamp) -> bool {
        self.from_seq.is_none_or(|s| seq >= s)
            && self.to_seq.is_none_or(|s| seq <= s)
            && self.from_time.is_none_or(|t| time >= t)
            && self.to_time.is_none_or(|t| time < t)
    }

    /// Whether the query selects by anything other than ranges.
    pub fn has_keys(&self) -> bool {
        !self.kinds.is_empty() || self.keys.values().any(|k| !k.is_empty())
    }

    /// The key criteria as (family position in `families`, keys wanted);
    /// a family not in `families` is refused.
    pub fn key_filters<'q>(
        &'q self,
        families: &[&str],
    ) -> Result<Vec<(usize, &'q [String])>, IndexError> {
        self.keys
            .iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(family, keys)| {
                families
                    .iter()
                    .position(|f| f == family)
                    .map(|i| (i, keys.as_slice()))
                    .ok_or_else(|| IndexError::UnknownFamily {
                        family: family.clone(),
                        known: families.iter().map(|f| (*f).to_owned()).collect(),
                    })
            })
            .collect()
    }
}
