//! Backup objects: a segment's bytes, zstd-compressed, named by the blake3
//! of the uncompressed bytes. Reading one never trusts it: it must
//! decompress to exactly the size its manifest states (never more: a
//! decompression bomb stops there) and hash to its name.

use std::io::{self, Read};

/// zstd level: fast, and ledger segments compress well at it.
pub(crate) const ZSTD_LEVEL: i32 = 3;
/// No object may decompress to more than this, whatever its manifest says:
/// an object holds one segment's bytes.
pub const MAX_OBJECT: u64 = crate::segment::MAX_SEGMENT_SIZE;

/// Whether `s` is an object address: 64 lowercase hex digits.
pub fn is_address(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Compresses `bytes` into an object.
pub fn encode_object(bytes: &[u8]) -> io::Result<Vec<u8>> {
    zstd::bulk::compress(bytes, ZSTD_LEVEL)
}

/// Why a backup object cannot be trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The address is not 64 lowercase hexadecimal digits.
    #[error("not an object address (64 lowercase hex digits)")]
    BadAddress,
    /// The object file cannot be opened (missing or unreadable; returned by
    /// the store, which opens the file before decoding it).
    #[error("cannot open {path}: {source}")]
    Open {
        /// The object file.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The manifest claims more than [`MAX_OBJECT`] bytes.
    #[error("claims {size} bytes, more than the {MAX_OBJECT} allowed")]
    TooLarge {
        /// The size claimed.
        size: u64,
    },
    /// The object does not start as zstd data.
    #[error("not zstd data: {source}")]
    NotZstd {
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// Decompression failed part-way.
    #[error("does not decompress (truncated or damaged) after {offset} bytes: {source}")]
    Decompress {
        /// How many uncompressed bytes came out before the failure.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// The object decompresses to another size than its manifest states.
    #[error(
        "decompresses to {actual}{} bytes, the manifest says {expected}",
        if .actual > .expected { "+" } else { "" }
    )]
    WrongSize {
        /// The size the manifest states.
        expected: u64,
        /// The bytes that came out; reading stops one byte past `expected`,
        /// so a larger object shows as `expected + 1`.
        actual: u64,
    },
    /// The uncompressed bytes do not hash to the object's address.
    #[error("its bytes hash to {actual}")]
    WrongHash {
        /// The blake3 of the bytes.
        actual: crate::types::ContentHash,
    },
}

/// Decompresses the object `compressed`, which its manifest says holds
/// `size` bytes hashing to `address`; the error says why it cannot be
/// trusted.
///
/// ```
/// use ledger_core::{decode_object, encode_object, ObjectError};
/// let bytes = b"segment bytes".to_vec();
/// let address = blake3::hash(&bytes).to_hex().to_string();
/// let object = encode_object(&bytes).unwrap();
/// assert_eq!(decode_object(&object[..], &address, 13).unwrap(), bytes);
/// assert!(matches!(
///     decode_object(&object[..], &address, 12),
///     Err(ObjectError::WrongSize { expected: 12, actual: 13 })
/// ));
/// ```
pub fn decode_object(
    compressed: impl Read,
    address: &str,
    size: u64,
) -> Result<Vec<u8>, ObjectError> {
    if !is_address(address) {
        return Err(ObjectError::BadAddress);
    }
    if size > MAX_OBJECT {
        return Err(ObjectError::TooLarge { size });
    }
    let decoder = zstd::stream::read::Decoder::new(compressed)
        .map_err(|source| ObjectError::NotZstd { source })?;
    // Grows as the bytes arrive: a size claimed by a damaged manifest costs
    // no memory up front.
    let mut out = Vec::with_capacity(size.min(1 << 20) as usize);
    // On failure `out` keeps the bytes that came out before it.
    if let Err(source) = decoder.take(size + 1).read_to_end(&mut out) {
        return Err(ObjectError::Decompress {
            offset: out.len() as u64,
            source,
        });
    }
    if out.len() as u64 != size {
        return Err(ObjectError::WrongSize {
            expected: size,
            actual: out.len() as u64,
        });
    }
    let actual = crate::types::ContentHash::of(&out);
    if actual.to_hex() != address {
        return Err(ObjectError::WrongHash { actual });
    }
    Ok(out)
}
