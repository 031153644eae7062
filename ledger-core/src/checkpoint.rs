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

use ed25519_dalek::{Signature, Signer};
pub use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::types::{ChainHash, HexError, LedgerId, Seq, Timestamp};
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

/// Why a key or checkpoint file does not parse, or a checkpoint does not
/// verify. Each variant names the line or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A public key file does not hold 64 hexadecimal digits.
    #[error("a public key file holds 64 hexadecimal digits: {source}")]
    PublicKeyText {
        /// Why the digits do not decode.
        #[source]
        source: hex::FromHexError,
    },
    /// A secret key file does not hold 64 hexadecimal digits.
    #[error("a secret key file holds 64 hexadecimal digits: {source}")]
    SecretKeyText {
        /// Why the digits do not decode.
        #[source]
        source: hex::FromHexError,
    },
    /// 32 bytes that are not an ed25519 public key (in a key file or a
    /// checkpoint's `public-key` field).
    #[error("not a valid ed25519 public key: {source}")]
    InvalidPublicKey {
        /// ed25519's refusal.
        #[source]
        source: ed25519_dalek::SignatureError,
    },
    /// A weak (small-order) ed25519 point, such as the identity: a
    /// signature "by" such a key proves nothing (with the identity, one
    /// signature verifies for every message), so it is never trusted.
    #[error(
        "{} is a weak (small-order) ed25519 public key: refused, a signature by it proves nothing",
        hex::encode(.key)
    )]
    WeakPublicKey {
        /// The key's 32 bytes.
        key: [u8; 32],
    },
    /// The first line is not the checkpoint format's.
    #[error("the first line must be {FIRST_LINE:?}")]
    FirstLine,
    /// A line that is not `name: value`.
    #[error("line {line}: expected `name: value`")]
    Syntax {
        /// The line number, from 1.
        line: usize,
    },
    /// A field is missing.
    #[error("missing field {field:?}")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field's value does not parse.
    #[error("field {field:?}: {source}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// Why its value does not parse.
        #[source]
        source: FieldError,
    },
    /// The signature does not match the checkpoint's contents (ed25519
    /// deliberately says no more than that).
    #[error("the signature does not match the checkpoint's contents")]
    BadSignature,
    /// The checkpoint was signed by another key than the trusted one.
    #[error(
        "signed by another key than the trusted one (the checkpoint names {}, the trusted key is {})",
        hex::encode(.found),
        hex::encode(.trusted)
    )]
    UntrustedKey {
        /// The key the checkpoint names.
        found: [u8; 32],
        /// The key the auditor trusts.
        trusted: [u8; 32],
    },
}

/// Why the value of a checkpoint field does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// Not the expected number of hexadecimal digits (`public-key`, `signature`).
    #[error(transparent)]
    Hex(#[from] hex::FromHexError),
    /// Not a 32- or 64-digit id or hash (`ledger-id`, `chain-hash`).
    #[error(transparent)]
    Digits(#[from] HexError),
    /// Not a decimal integer (`sequence`, `time-ns`).
    #[error(transparent)]
    Number(#[from] std::num::ParseIntError),
}

/// Parses the text form of a public key, refusing a weak (small-order)
/// point.
pub fn public_key_from_text(text: &str) -> Result<VerifyingKey, CheckpointError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|source| CheckpointError::PublicKeyText { source })?;
    public_key_from_bytes(&bytes)
}

/// An ed25519 public key from its 32 bytes: a point on the curve that is
/// not of small order ([`CheckpointError::WeakPublicKey`]). Every key this
/// crate trusts or checks a signature with comes through here.
pub fn public_key_from_bytes(bytes: &[u8; 32]) -> Result<VerifyingKey, CheckpointError> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|source| CheckpointError::InvalidPublicKey { source })?;
    if key.is_weak() {
        return Err(CheckpointError::WeakPublicKey { key: *bytes });
    }
    Ok(key)
}

/// Parses the text form of a secret key.
pub fn key_from_text(text: &str) -> Result<SigningKey, CheckpointError> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|source| CheckpointError::SecretKeyText { source })?;
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

    /// Checks the signature (strictly: a weak key, or a signature that is
    /// not canonical, is refused); the error says why it fails.
    pub fn verify_signature(&self) -> Result<(), CheckpointError> {
        let vk = public_key_from_bytes(&self.public_key)?;
        let sig = Signature::from_bytes(&self.signature);
        vk.verify_strict(
            &message(&self.ledger_id, self.seq, &self.chain_hash, self.time),
            &sig,
        )
        .map_err(|_| CheckpointError::BadSignature)
    }

    /// Checks the signature and that it was made by `expected` (a key the
    /// auditor trusts, rather than the one the file names).
    pub fn verify_signed_by(&self, expected: &VerifyingKey) -> Result<(), CheckpointError> {
        if expected.is_weak() {
            return Err(CheckpointError::WeakPublicKey {
                key: expected.to_bytes(),
            });
        }
        if expected.to_bytes() != self.public_key {
            return Err(CheckpointError::UntrustedKey {
                found: self.public_key,
                trusted: expected.to_bytes(),
            });
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

    /// Parses the text form; the error names the bad line or field.
    pub fn from_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(FIRST_LINE) {
            return Err(CheckpointError::FirstLine);
        }
        let mut fields = std::collections::HashMap::new();
        for (i, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or(CheckpointError::Syntax { line: i + 2 })?;
            fields.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        let get = |field: &'static str| {
            fields
                .get(field)
                .map(String::as_str)
                .ok_or(CheckpointError::MissingField { field })
        };
        fn bad<E: Into<FieldError>>(field: &'static str) -> impl FnOnce(E) -> CheckpointError {
            move |e| CheckpointError::BadField {
                field,
                source: e.into(),
            }
        }
        let mut public_key = [0u8; 32];
        hex::decode_to_slice(get("public-key")?, &mut public_key).map_err(bad("public-key"))?;
        let mut signature = [0u8; 64];
        hex::decode_to_slice(get("signature")?, &mut signature).map_err(bad("signature"))?;
        Ok(Checkpoint {
            ledger_id: LedgerId::from_hex(get("ledger-id")?).map_err(bad("ledger-id"))?,
            seq: Seq::new(get("sequence")?.parse().map_err(bad("sequence"))?),
            chain_hash: ChainHash::from_hex(get("chain-hash")?).map_err(bad("chain-hash"))?,
            time: Timestamp::from_nanos(get("time-ns")?.parse().map_err(bad("time-ns"))?),
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
        assert!(parsed.verify_signature().is_ok());
        assert!(parsed.verify_signed_by(&key.verifying_key()).is_ok());
        let other = generate_key().unwrap();
        assert!(matches!(
            parsed.verify_signed_by(&other.verifying_key()),
            Err(CheckpointError::UntrustedKey { found, trusted })
                if found == cp.public_key && trusted == other.verifying_key().to_bytes()
        ));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let key = generate_key().unwrap();
        let cp = Checkpoint::sign(LedgerId::from_bytes([1; 16]), &head(), &key);
        let mut c = cp.clone();
        c.seq = Seq::new(41);
        assert!(matches!(
            c.verify_signature(),
            Err(CheckpointError::BadSignature)
        ));
        let mut c = cp.clone();
        c.chain_hash = ChainHash::from_bytes([6; 32]);
        assert!(matches!(
            c.verify_signature(),
            Err(CheckpointError::BadSignature)
        ));
        let mut c = cp;
        c.time = Timestamp::from_nanos(2);
        assert!(matches!(
            c.verify_signature(),
            Err(CheckpointError::BadSignature)
        ));
    }

    #[test]
    fn malformed_text_names_the_problem() {
        let e = Checkpoint::from_text("hello").unwrap_err();
        assert!(matches!(e, CheckpointError::FirstLine));
        assert!(e.to_string().contains("first line"), "{e}");
        let e = Checkpoint::from_text("tradeledger-checkpoint v1\nledger-id: zz\n").unwrap_err();
        assert!(
            matches!(
                e,
                CheckpointError::MissingField {
                    field: "public-key"
                }
            ),
            "{e}"
        );
        let cp = Checkpoint::sign(
            LedgerId::from_bytes([1; 16]),
            &head(),
            &generate_key().unwrap(),
        );
        let text = cp.to_text().replace("sequence: 42", "sequence: forty-two");
        let e = Checkpoint::from_text(&text).unwrap_err();
        assert!(
            matches!(
                &e,
                CheckpointError::BadField {
                    field: "sequence",
                    source: FieldError::Number(_)
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("field \"sequence\": "), "{e}");
        let text = cp.to_text().replace("ledger-id: ", "ledger-id: zz");
        let e = Checkpoint::from_text(&text).unwrap_err();
        assert!(
            matches!(
                &e,
                CheckpointError::BadField {
                    field: "ledger-id",
                    source: FieldError::Digits(_)
                }
            ),
            "{e}"
        );
        let e = Checkpoint::from_text("tradeledger-checkpoint v1\n\nno colon\n").unwrap_err();
        assert!(matches!(e, CheckpointError::Syntax { line: 3 }), "{e}");
        assert!(matches!(
            key_from_text("abc"),
            Err(CheckpointError::SecretKeyText { .. })
        ));
        assert!(matches!(
            public_key_from_text("abc"),
            Err(CheckpointError::PublicKeyText { .. })
        ));
        let k = generate_key().unwrap();
        assert_eq!(
            key_from_text(&key_to_text(&k)).unwrap().to_bytes(),
            k.to_bytes()
        );
    }
}
