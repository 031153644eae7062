//! [`KeyExtractor`]: the keys a domain indexes its records by. The index
//! knows records (kind, schema version, time, payload bytes), not what a
//! payload means; a domain tells it which keys each record has.

use ledger_core::{Kind, SchemaVersion};

/// Why an extractor could not read a record's keys (the domain's own error,
/// kept as the source).
pub type KeyError = Box<dyn std::error::Error + Send + Sync>;

/// The keys of a domain's records, grouped in families (for the trading
/// domain: symbol, trade, decision, order, session).
///
/// The families' order is part of the index files: each file stores one
/// posting map per family, in this order, without their names. A domain
/// must therefore keep its families and their order; changing them calls
/// for a new index format version (`docs/FORMAT.md`, "Index files").
///
/// ```
/// use ledger_core::{Kind, SchemaVersion};
/// use ledger_index::{KeyError, KeyExtractor};
///
/// /// Payloads are `user:action` text; one family, the user.
/// struct Users;
///
/// impl KeyExtractor for Users {
///     fn families(&self) -> &'static [&'static str] {
///         &["user"]
///     }
///     fn keys(
///         &self,
///         _kind: Kind,
///         _version: SchemaVersion,
///         payload: &[u8],
///         emit: &mut dyn FnMut(usize, &str),
///     ) -> Result<(), KeyError> {
///         let (user, _) = std::str::from_utf8(payload)?.split_once(':').ok_or("no user")?;
///         emit(0, user);
///         Ok(())
///     }
/// }
///
/// let mut seen = Vec::new();
/// Users.keys(Kind::new(1), SchemaVersion::new(1), b"ann:buy", &mut |f, k| seen.push((f, k.to_owned())))?;
/// assert_eq!(seen, [(0, "ann".to_owned())]);
/// assert!(Users.keys(Kind::new(1), SchemaVersion::new(1), b"garbage", &mut |_, _| {}).is_err());
/// # Ok::<(), KeyError>(())
/// ```
pub trait KeyExtractor: Send + Sync + 'static {
    /// The key families, in a fixed order (see above).
    fn families(&self) -> &'static [&'static str];

    /// Calls `emit(family, key)` for each key of one domain record (a kind
    /// below [`Kind::RESERVED_START`]), `family` being a position in
    /// [`families`](Self::families) (any other is ignored). A record may
    /// have any number of keys in a family, or none. A record the domain
    /// cannot read is an error: the index does not guess.
    fn keys(
        &self,
        kind: Kind,
        version: SchemaVersion,
        payload: &[u8],
        emit: &mut dyn FnMut(usize, &str),
    ) -> Result<(), KeyError>;

    /// Bytes that the payload of every record with `key` in family
    /// `family` contains, whatever else it holds (for a postcard payload
    /// that stores the key as a string field: the key's postcard encoding,
    /// its length as a varint then its bytes); `None` (the default) when
    /// the domain cannot promise any.
    ///
    /// An index file carries no secret: anyone can rewrite it with a valid
    /// checksum. A query proves that an index file's posting list for a key
    /// left out no matching record by searching the segment's bytes for
    /// these needles and asking the extractor for the keys of every record
    /// where one is found but which the list does not name
    /// (`docs/FORMAT.md`, "Index files"). Without needles a query can only
    /// prove that the records it returns match; the lists' completeness is
    /// then checked by `ledger verify` (which rebuilds every index).
    /// A needle must never be missing from a record that has the key (a
    /// needle that also appears elsewhere only costs a key extraction).
    fn key_needle(&self, family: usize, key: &str) -> Option<Vec<u8>> {
        let _ = (family, key);
        None
    }
}
