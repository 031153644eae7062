//! The JSON line form round-trips every event of the demo session
//! (`ledger_domain::event_json`, used by `ledger export` and `ledger append`).

use ledger_core::{ChainHash, Seq};
use ledger_domain::event_json::{parse_line, ExportedEvent, InputEvent};
use ledger_tools::sim::{demo_session, DEMO_START};

#[test]
fn every_demo_event_round_trips_through_its_line() {
    for (i, (t, e)) in demo_session("s1", "", DEMO_START).iter().enumerate() {
        let out = ExportedEvent {
            seq: Seq::new(i as u64 + 1),
            time: *t,
            chain_hash: ChainHash::from_bytes([7; 32]),
            event: e,
        };
        let line = serde_json::to_string(&out).unwrap_or_default();
        assert!(
            line.starts_with(&format!("{{\"seq\":{},\"time\":", i + 1)),
            "{line}"
        );
        let back = parse_line(&line).map_err(|e| e.to_string());
        assert_eq!(
            back,
            Ok(InputEvent {
                time: Some(*t),
                event: e.clone()
            }),
            "{line}"
        );
    }
}
