//! `ledger tail`: the newest events, one line each, and with `-f` every
//! event appended after them, as it is appended (the cursor is polled; a
//! reader never takes the writer's lock). A closed output pipe ends it
//! quietly; so does Ctrl-C (the reader holds no lock and writes nothing).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ledger_core::{Reader, Seq};

use crate::cli::TailArgs;
use crate::error::ToolError;
use crate::exit::Exit;
use crate::export_cmd::head_seq;
use crate::summary::record_line;

/// Runs `ledger tail` on `dir`.
pub fn run(dir: &Path, args: &TailArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let reader = Reader::open(dir)?;
    let head = head_seq(&reader)?;
    let start = head.saturating_sub(args.lines) + 1;
    let mut cursor = reader.cursor_from(Seq::new(start))?;
    let poll = Duration::from_millis(args.poll_ms.max(10));
    loop {
        let mut wrote = false;
        while let Some(r) = cursor.next_ref()? {
            writeln!(out, "{}", record_line(&r)).map_err(ToolError::Output)?;
            wrote = true;
        }
        if wrote || !args.follow {
            out.flush().map_err(ToolError::Output)?;
        }
        if !args.follow {
            return Ok(Exit::Success);
        }
        std::thread::sleep(poll);
    }
}
