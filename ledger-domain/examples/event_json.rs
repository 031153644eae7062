//! Prints the JSON form of one event of each kind, taken from the demo
//! session: `cargo run -p ledger-domain --example event_json`.
//! `docs/EVENTS.md` shows this output; a test checks that every example in
//! that document still parses.

use ledger_tools::sim::{demo_session, DEMO_START};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seen = std::collections::BTreeSet::new();
    for (_, e) in demo_session("demo-1", "", DEMO_START) {
        if seen.insert(e.kind()) {
            println!("### `{}`\n", e.kind().name());
            println!("```json\n{}\n```\n", serde_json::to_string_pretty(&e)?);
        }
    }
    Ok(())
}
