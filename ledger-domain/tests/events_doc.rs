//! `docs/EVENTS.md` stays true: every JSON example in it parses as an
//! event, and every kind has one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_domain::{Event, EventKind};

#[test]
fn every_example_in_events_md_parses_and_every_kind_has_one() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/EVENTS.md")).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for block in doc.split("```json").skip(1) {
        let json = block.split("```").next().unwrap();
        let e: Event = serde_json::from_str(json).unwrap_or_else(|err| panic!("{err}:\n{json}"));
        ledger_domain::validate(&e).unwrap();
        kinds.insert(e.kind());
    }
    assert_eq!(kinds.len(), EventKind::ALL.len());
}
