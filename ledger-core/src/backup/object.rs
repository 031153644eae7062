//! Backup objects: a segment's bytes, zstd-compressed, named by the blake3
//! of the uncompressed bytes. Reading one never trusts it: it must
//! decompress to exactly the size its manifest states (never more: a
//! decompression bomb stops there) and hash to its name.

use std::io::{self, Read};

/// zstd level: fast, and ledger segments compress well at it.
pub(crate) const ZSTD_LEVEL: i32 = 3;
/// No object may decompress to more than this, whatever its manifest says.
pub const MAX_OBJECT: u64 = 16 << 30;

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

/// Decompresses the object `compressed`, which its manifest says holds
/// `size` bytes hashing to `address`; the error says why it cannot be
/// trusted.
///
/// ```
/// use ledger_core::backup::{decode_object, encode_object};
/// let bytes = b"segment bytes".to_vec();
/// let address = blake3::hash(&bytes).to_hex().to_string();
/// let object = encode_object(&bytes).unwrap();
/// assert_eq!(decode_object(&object[..], &address, 13).unwrap(), bytes);
/// assert!(decode_object(&object[..], &address, 12).is_err());
/// ```
pub fn decode_object(compressed: impl Read, address: &str, size: u64) -> Result<Vec<u8>, String> {
    if !is_address(address) {
        return Err("not an object address (64 lowercase hex digits)".into());
    }
    if size > MAX_OBJECT {
        return Err(format!(
            "claims {size} bytes, more than the {MAX_OBJECT} allowed"
        ));
    }
    let decoder =
        zstd::stream::read::Decoder::new(compressed).map_err(|e| format!("not zstd data: {e}"))?;
    // Grows as the bytes arrive: a size claimed by a damaged manifest costs
    // no memory up front.
    let mut out = Vec::with_capacity(size.min(1 << 20) as usize);
    decoder
        .take(size + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("does not decompress (truncated or damaged): {e}"))?;
    if out.len() as u64 != size {
        return Err(format!(
            "decompresses to {}{} bytes, the manifest says {size}",
            out.len(),
            if out.len() as u64 > size { "+" } else { "" }
        ));
    }
    let actual = crate::types::ContentHash::of(&out).to_hex();
    if actual != address {
        return Err(format!("its bytes hash to {actual}"));
    }
    Ok(out)
}
