//! Newtypes for the values that must never be mixed up: sequence numbers,
//! segment ordinals, byte offsets, hashes, ids, kinds, schema versions and times.

use std::fmt;

/// The position of a record in the ledger. The first record is `Seq(1)`;
/// sequence numbers are dense and increase by one along the chain.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Seq(u64);

impl Seq {
    /// The sequence number of the first record of every ledger.
    pub const FIRST: Seq = Seq(1);

    /// Wraps a raw sequence number.
    pub const fn new(raw: u64) -> Self {
        Seq(raw)
    }

    /// The raw sequence number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The sequence number after this one (saturating: a damaged record
    /// claiming `u64::MAX` is then refused as out of sequence, never a panic).
    pub const fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }

    /// The sequence number before this one (saturating at 0).
    pub const fn prev(self) -> Seq {
        Seq(self.0.saturating_sub(1))
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The position of a segment in the ledger: 0 for the first segment, then 1, 2, ...
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SegmentOrdinal(u64);

impl SegmentOrdinal {
    /// Wraps a raw ordinal.
    pub const fn new(raw: u64) -> Self {
        SegmentOrdinal(raw)
    }

    /// The raw ordinal.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The ordinal of the segment after this one (saturating).
    pub const fn next(self) -> SegmentOrdinal {
        SegmentOrdinal(self.0.saturating_add(1))
    }
}

impl fmt::Display for SegmentOrdinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A byte offset inside one segment file.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Offset(u64);

impl Offset {
    /// Wraps a raw byte offset.
    pub const fn new(raw: u64) -> Self {
        Offset(raw)
    }

    /// The raw byte offset.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Error returned when a hexadecimal string does not decode to the expected bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} hexadecimal digits, got {input:?}")]
pub struct HexError {
    expected: usize,
    input: String,
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|_| HexError {
        expected: N * 2,
        input: s.chars().take(80).collect(),
    })?;
    Ok(out)
}

/// A 32-byte blake3 chain hash: `blake3(previous chain hash || record bytes)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// Wraps raw hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        ChainHash(bytes)
    }

    /// The raw hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hexadecimal form (64 digits).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the 64-digit hexadecimal form.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        parse_hex(s).map(ChainHash)
    }
}

impl serde::Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> serde::Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            ChainHash::from_hex(&s).map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(ChainHash)
        }
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

/// The content address of a sealed segment: blake3 of all of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Hashes `bytes` (on several cores when they are large).
    pub fn of(bytes: &[u8]) -> Self {
        if bytes.len() >= 1 << 20 {
            let mut h = blake3::Hasher::new();
            h.update_rayon(bytes);
            return ContentHash(*h.finalize().as_bytes());
        }
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps raw hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        ContentHash(bytes)
    }

    /// The raw hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hexadecimal form (64 digits).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the 64-digit hexadecimal form.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        parse_hex(s).map(ContentHash)
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

/// The unique id of a ledger, chosen at random when it is created.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LedgerId([u8; 16]);

impl LedgerId {
    /// A fresh random id from the operating system's random source.
    pub fn random() -> std::io::Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
        Ok(LedgerId(bytes))
    }

    /// Wraps raw id bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        LedgerId(bytes)
    }

    /// The raw id bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Lowercase hexadecimal form (32 digits).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the 32-digit hexadecimal form.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        parse_hex(s).map(LedgerId)
    }
}

impl fmt::Display for LedgerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for LedgerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LedgerId({})", self.to_hex())
    }
}

/// The kind of a record, chosen by the layer above the engine (the trading
/// domain). Kinds at or above [`Kind::RESERVED_START`] belong to the engine.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Kind(u16);

impl Kind {
    /// Kinds from here up are reserved for records the engine itself writes.
    pub const RESERVED_START: u16 = 0xFF00;
    /// The provenance record a migrated ledger starts with.
    pub const PROVENANCE: Kind = Kind(0xFF01);

    /// Wraps a raw kind.
    pub const fn new(raw: u16) -> Self {
        Kind(raw)
    }

    /// The raw kind.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The schema version of a record's payload, per kind.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SchemaVersion(u16);

impl SchemaVersion {
    /// Wraps a raw version.
    pub const fn new(raw: u16) -> Self {
        SchemaVersion(raw)
    }

    /// The raw version.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A point in time: nanoseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Wraps nanoseconds since the Unix epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The current wall-clock time. Times before 1970 or after 2262 (outside an
    /// `i64` of nanoseconds) are clamped to the representable range.
    pub fn now() -> Self {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(_) => Timestamp(0),
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with nanoseconds: `2026-01-05T14:30:00.000000000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let h = ChainHash::from_bytes([0xab; 32]);
        assert_eq!(ChainHash::from_hex(&h.to_hex()), Ok(h));
        assert!(ChainHash::from_hex("abcd").is_err());
        assert!(LedgerId::from_hex(&"zz".repeat(16)).is_err());
        let id = LedgerId::from_bytes([7; 16]);
        assert_eq!(LedgerId::from_hex(&id.to_hex()), Ok(id));
    }

    #[test]
    fn timestamps_display_as_rfc3339() {
        let t = |n: i64| Timestamp::from_nanos(n).to_string();
        assert_eq!(t(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            t(1_767_623_400_000_000_000),
            "2026-01-05T14:30:00.000000000Z"
        );
        assert_eq!(t(951_782_400_123_456_789), "2000-02-29T00:00:00.123456789Z");
        assert_eq!(t(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(t(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    }

    #[test]
    fn seq_orders_and_advances() {
        assert_eq!(Seq::FIRST.next(), Seq::new(2));
        assert!(Seq::new(3) > Seq::new(2));
    }
}
