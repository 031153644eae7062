//! Weak ed25519 public keys: a key file or checkpoint holding the identity
//! point (or another small-order point) is refused, so a checkpoint forged
//! "under" it never verifies. With the identity as the key, the signature
//! `R = identity, s = 0` satisfies the plain ed25519 equation for every
//! message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::{
    public_key_from_bytes, public_key_from_text, verify_dir, ChainHash, Checkpoint,
    CheckpointError, Durability, Entry, Kind, SchemaVersion, Seq, Timestamp, VerifyOptions, Writer,
    WriterOptions,
};

/// The identity point (order 1): y = 1.
const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// A point of order 4: y = 0 (x = sqrt(-1)).
const ORDER_4: [u8; 32] = [0u8; 32];

/// The point of order 2: (0, -1), y = p - 1 = 2^255 - 20.
const ORDER_2: [u8; 32] = {
    let mut b = [0xffu8; 32];
    b[0] = 0xec;
    b[31] = 0x7f;
    b
};

/// The signature that verifies under the identity key for any message
/// (non-strict verification): R = the identity, s = 0.
fn forged_signature() -> [u8; 64] {
    let mut s = [0u8; 64];
    s[..32].copy_from_slice(&IDENTITY);
    s
}

#[test]
fn weak_public_keys_are_refused_when_parsed() {
    for (name, point) in [
        ("identity", IDENTITY),
        ("order 4", ORDER_4),
        ("order 2", ORDER_2),
    ] {
        let err = public_key_from_text(&hex::encode(point)).unwrap_err();
        assert!(
            matches!(err, CheckpointError::WeakPublicKey { key } if key == point),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("weak"), "{name}: {err}");
        assert!(err.to_string().contains(&hex::encode(point)), "{err}");
        assert!(public_key_from_bytes(&point).is_err(), "{name}");
    }
    // A real key still parses.
    let key = ledger_core::generate_key().unwrap().verifying_key();
    let text = ledger_core::public_key_to_text(&key);
    assert_eq!(public_key_from_text(&text).unwrap(), key);
}

#[test]
fn a_checkpoint_forged_under_the_identity_key_does_not_verify() {
    // The attack is real: plain ed25519 verification accepts the forged
    // signature for any message under the identity key.
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&IDENTITY).unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&forged_signature());
    for msg in [&b"any message"[..], b"another one"] {
        assert!(
            ed25519_dalek::Verifier::verify(&weak, msg, &sig).is_ok(),
            "the forgery works against non-strict verification"
        );
    }

    // A real ledger, and a checkpoint of a head it never had, "signed" by
    // the identity key.
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(
        dir.path(),
        WriterOptions::default().durability(Durability::NoSync),
    )
    .unwrap();
    let _ = w
        .append(&Entry::new(Kind::new(1), SchemaVersion::new(1), b"x"))
        .unwrap();
    let id = w.ledger_id();
    w.close().unwrap();
    let forged = Checkpoint {
        ledger_id: id,
        seq: Seq::new(1),
        chain_hash: ChainHash::from_bytes([9; 32]),
        time: Timestamp::from_nanos(1),
        public_key: IDENTITY,
        signature: forged_signature(),
    };
    let err = forged.verify_signature().unwrap_err();
    assert!(
        matches!(err, CheckpointError::WeakPublicKey { .. }),
        "{err:?}"
    );
    // Trusting the weak key (built without the parser) changes nothing.
    let err = forged.verify_signed_by(&weak).unwrap_err();
    assert!(
        matches!(err, CheckpointError::WeakPublicKey { .. }),
        "{err:?}"
    );

    // Verification reports it: the checkpoint does not hold.
    for trusted in [None, Some(weak)] {
        let report = verify_dir(
            dir.path(),
            &VerifyOptions {
                checkpoint: Some(forged.clone()),
                trusted_key: trusted,
                threads: Some(1),
            },
        )
        .unwrap();
        assert!(!report.is_intact(), "{:?}", report.findings);
        assert!(
            report.findings.iter().any(|f| f.detail.contains("weak")),
            "{:?}",
            report.findings
        );
    }
    // Even with the right chain hash, a weak signer is refused.
    let head = ledger_core::Reader::open(dir.path())
        .unwrap()
        .cursor()
        .unwrap()
        .next_record()
        .unwrap()
        .unwrap();
    let forged = Checkpoint {
        chain_hash: head.chain_hash,
        ..forged
    };
    let report = verify_dir(
        dir.path(),
        &VerifyOptions {
            checkpoint: Some(forged),
            trusted_key: None,
            threads: Some(1),
        },
    )
    .unwrap();
    assert!(!report.is_intact(), "{:?}", report.findings);
}
