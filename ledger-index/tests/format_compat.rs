//! Index files stay byte-compatible: `tests/fixtures/v1/demo-segment-0.idx`
//! was written by the index before key families came from a domain (the
//! trading keys were fixed fields then). It decodes with the trading
//! domain's five families, and encoding what it decodes to gives back the
//! very same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::ContentHash;
use ledger_domain::TradingKeys;
use ledger_index::{file, FileDefect, KeyExtractor};

fn fixture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v1/demo-segment-0.idx"
    );
    std::fs::read(path).unwrap()
}

/// The content address the file was built for (bytes 16..48).
fn address(b: &[u8]) -> ContentHash {
    ContentHash::from_bytes(b[16..48].try_into().unwrap())
}

#[test]
fn a_v1_index_file_decodes_and_reencodes_to_the_same_bytes() {
    let bytes = fixture();
    let families = TradingKeys.families();
    assert_eq!(
        families,
        ["symbol", "trade", "decision", "order", "session"]
    );
    let ix = file::decode(&bytes, &address(&bytes), families.len()).unwrap();
    assert_eq!(ix.first_seq, 1);
    assert_eq!(ix.count(), 31);
    assert_eq!(ix.keys.len(), 5);
    let (symbols, sessions) = (&ix.keys[0], &ix.keys[4]);
    assert_eq!(sessions.keys().collect::<Vec<_>>(), ["s1"]);
    assert_eq!(sessions["s1"].len(), 31, "every event has a session");
    assert!(symbols.contains_key("BTC-USD"), "{symbols:?}");
    assert_eq!(file::encode(&address(&bytes), &ix).unwrap(), bytes);
}

#[test]
fn a_v1_index_file_read_with_another_number_of_families_is_refused() {
    let bytes = fixture();
    for families in [0, 4, 6] {
        let err = file::decode(&bytes, &address(&bytes), families).unwrap_err();
        assert!(
            matches!(err, FileDefect::Payload(_) | FileDefect::Trailing(_)),
            "{families}: {err:?}"
        );
    }
}
