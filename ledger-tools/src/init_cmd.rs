//! `ledger init`: creates an empty ledger, refusing a folder that holds a
//! ledger or anything else.

use std::io::Write;
use std::path::Path;

use ledger_core::{Durability, Writer, WriterOptions};

use crate::cli::InitArgs;
use crate::error::{finish, ToolError};
use crate::exit::Exit;

/// Runs `ledger init` on `dir`.
pub fn run(dir: &Path, args: &InitArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    // Nothing is appended: no group-commit thread, no preallocated segment.
    let opts = WriterOptions::default()
        .durability(Durability::SyncEveryAppend)
        .preallocate(false);
    let writer = Writer::create(dir, opts)?;
    let id = writer.ledger_id();
    writer.close()?;
    let written = if args.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "ledger_id": id.to_hex(), "dir": dir.display().to_string() })
        )
    } else {
        writeln!(out, "created an empty ledger {id} in {}", dir.display())
    };
    finish(Exit::Success, written)
}
