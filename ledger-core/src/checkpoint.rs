//! Signed checkpoints: tamper evidence an auditor can take away.
//!
//! A hash chain proves integrity only relative to a head you trust: an
//! attacker who rewrites a record can recompute every later hash and every
//! content address. A checkpoint (ledger id, sequence, chain hash, time)
//! signed with ed25519 and kept elsewhere pins the head: verification against
//! it detects any rewrite at or before its sequence, and a ledger cut back
//! below it.
//!
//! The signed message is
//! `"tradeledger checkpoint v1\0" || ledger id (16) || seq (u64 LE) || chain hash (32) || time (i64 LE)`.
//! The file is text:
//!
//! ```text
//! tradeledger-checkpoint v1
//! ledger-id: <32 hex>
//! sequence: <decimal>
//! chain-hash: <64 hex>
//! time-ns: <decimal nanoseconds since the Unix epoch>
//! public-key: <64 hex>
//! signature: <128 hex>
//! ```

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::types::{ChainHash, LedgerId, Seq, Timestamp};
use crate::writer::Head;

const DOMAIN: &[u8] = b"tradeledger checkpoint v1\0";
const FIRST_LINE: &str = "tradeledger-checkpoint v1";

/// A signed statement that the ledger held `chain_hash` at `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The ledger.
    pub ledger_id: LedgerId,
    /// The checkpointed record.
    pub seq: Seq,
    /// Its chain hash.
    pub chain_hash: ChainHash,
    /// When the checkpoint was made.
    pub time: Timestamp,
    /// The signer's public key.
    pub public_key: [u8; 32],
    /// The ed25519 signature of the message above.
    pub signature: [u8; 64],
}

fn message(id: &LedgerId, seq: Seq, hash: &ChainHash, time: Timestamp) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + 64);
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(id.as_bytes());
    m.extend_from_slice(&seq.get().to_le_bytes());
    m.extend_from_slice(hash.as_bytes());
    m.extend_from_slice(&time.as_nanos().to_le_bytes());
    m
}

/// A fresh signing key from the operating system's random source.
pub fn generate_key() -> std::io::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(std::io::Error::other)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The text form of a secret key (64 hex digits of its seed).
pub fn key_to_text(key: &SigningKey) -> String {
    format!("{}\n", hex::encode(key.to_bytes()))
}

/// The text form of a public key (64 hex digits).
pub fn public_key_to_text(key: &VerifyingKey) -> String {
    format!("{}\n", hex::encode(key.to_bytes()))
}

/// Parses the text form of a public key.
pub fn public_key_from_text(text: &str) -> Result<VerifyingKey, String> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| "a public key file holds 64 hexadecimal digits".to_owned())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not a valid ed25519 public key: {e}"))
}

/// Parses the text form of a secret key.
pub fn key_from_text(text: &str) -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| "a secret key file holds 64 hexadecimal digits".to_owned())?;
    Ok(SigningKey::from_bytes(&seed))
}

impl Checkpoint {
    /// Signs the head of ledger `id`.
    pub fn sign(id: LedgerId, head: &Head, key: &SigningKey) -> Checkpoint {
        let time = Timestamp::now();
        let sig = key.sign(&message(&id, head.seq, &head.chain_hash, time));
        Checkpoint {
            ledger_id: id,
            seq: head.seq,
            chain_hash: head.chain_hash,
            time,
            public_key: key.verifying_key().to_bytes(),
            signature: sig.to_bytes(),
        }
    }

    /// Checks the signature; the error says why it fails.
    pub fn verify_signature(&self) -> Result<(), String> {
        let vk = VerifyingKey::from_bytes(&self.public_key)
            .map_err(|e| format!("the public key is invalid: {e}"))?;
        let sig = Signature::from_bytes(&self.signature);
        vk.verify(
            &message(&self.ledger_id, self.seq, &self.chain_hash, self.time),
            &sig,
        )
        .map_err(|_| "the signature does not match the checkpoint's contents".to_owned())
    }

    /// Checks the signature and that it was made by `expected` (a key the
    /// auditor trusts, rather than the one the file names).
    pub fn verify_signed_by(&self, expected: &VerifyingKey) -> Result<(), String> {
        if expected.to_bytes() != self.public_key {
            return Err("signed by another key than the trusted one".into());
        }
        self.verify_signature()
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        format!(
            "{FIRST_LINE}\nledger-id: {}\nsequence: {}\nchain-hash: {}\ntime-ns: {}\npublic-key: {}\nsignature: {}\n",
            self.ledger_id,
            self.seq,
            self.chain_hash,
            self.time.as_nanos(),
            hex::encode(self.public_key),
            hex::encode(self.signature)
        )
    }

    /// Parses the text form; the error names the bad line.
    pub fn from_text(text: &str) -> Result<Checkpoint, String> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(FIRST_LINE) {
            return Err(format!("the first line must be {FIRST_LINE:?}"));
        }
        let mut fields = std::collections::HashMap::new();
        for (i, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: expected `name: value`", i + 2))?;
            fields.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        let get = |k: &str| {
            fields
                .get(k)
                .map(String::as_str)
                .ok_or_else(|| format!("missing field {k:?}"))
        };
        let bad = |k: &str, e: &dyn std::fmt::Display| format!("field {k:?}: {e}");
        let mut public_key = [0u8; 32];
        hex::decode_to_slice(get("public-key")?, &mut public_key)
            .map_err(|e| bad("public-key", &e))?;
        let mut signature = [0u8; 64];
        hex::decode_to_slice(get("signature")?, &mut signature)
            .map_err(|e| bad("signature", &e))?;
        Ok(Checkpoint {
            ledger_id: LedgerId::from_hex(get("ledger-id")?).map_err(|e| bad("ledger-id", &e))?,
            seq: Seq::new(get("sequence")?.parse().map_err(|e| bad("sequence", &e))?),
            chain_hash: ChainHash::from_hex(get("chain-hash")?)
                .map_err(|e| bad("chain-hash", &e))?,
            time: Timestamp::from_nanos(get("time-ns")?.parse().map_err(|e| bad("time-ns", &e))?),
            public_key,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Head {
        Head {
            seq: Seq::new(42),
            chain_hash: ChainHash::from_bytes([5; 32]),
            timestamp: Timestamp::from_nanos(1),
        }
    }

    #[test]
    fn sign_text_round_trip_verify() {
        let key = generate_key().unwrap();
        let cp = Checkpoint::sign(LedgerId::from_bytes([1; 16]), &head(), &key);
        let parsed = Checkpoint::from_text(&cp.to_text()).unwrap();
        assert_eq!(parsed, cp);
        assert_eq!(parsed.verify_signature(), Ok(()));
        assert!(parsed.verify_signed_by(&key.verifying_key()).is_ok());
        let other = generate_key().unwrap();
        assert!(parsed.verify_signed_by(&other.verifying_key()).is_err());
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let key = generate_key().unwrap();
        let cp = Checkpoint::sign(LedgerId::from_bytes([1; 16]), &head(), &key);
        let mut c = cp.clone();
        c.seq = Seq::new(41);
        assert!(c.verify_signature().is_err());
        let mut c = cp.clone();
        c.chain_hash = ChainHash::from_bytes([6; 32]);
        assert!(c.verify_signature().is_err());
        let mut c = cp;
        c.time = Timestamp::from_nanos(2);
        assert!(c.verify_signature().is_err());
    }

    #[test]
    fn malformed_text_names_the_problem() {
        assert!(Checkpoint::from_text("hello")
            .unwrap_err()
            .contains("first line"));
        let e = Checkpoint::from_text("tradeledger-checkpoint v1\nledger-id: zz\n").unwrap_err();
        assert!(
            e.contains("missing field") || e.contains("ledger-id"),
            "{e}"
        );
        assert!(key_from_text("abc").is_err());
        let k = generate_key().unwrap();
        assert_eq!(
            key_from_text(&key_to_text(&k)).unwrap().to_bytes(),
            k.to_bytes()
        );
    }
}
