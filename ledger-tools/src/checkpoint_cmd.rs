//! `ledger checkpoint`: verifies the ledger, then signs its head with a
//! secret key and writes the checkpoint text an auditor keeps elsewhere.

use std::fs;
use std::io::Write;
use std::path::Path;

use ledger_core::key_from_text;
use ledger_core::Checkpoint;
use ledger_core::{verify_dir, VerifyOptions};

use crate::cli::CheckpointArgs;
use crate::error::{io_err, ToolError};
use crate::exit::Exit;
use crate::outfile::OutFile;

/// Reads and parses a checkpoint file.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, ToolError> {
    let text = fs::read_to_string(path).map_err(io_err("read checkpoint", path))?;
    Checkpoint::from_text(&text).map_err(|error| {
        ToolError::Ledger(ledger_core::Error::Checkpoint {
            path: path.to_owned(),
            error: Box::new(error),
        })
    })
}

/// Runs `ledger checkpoint` on `dir`: the checkpoint goes to `--out`, or to
/// `out` without it.
pub fn run(dir: &Path, args: &CheckpointArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let key_text = fs::read_to_string(&args.key).map_err(io_err("read secret key", &args.key))?;
    let key = key_from_text(&key_text).map_err(|error| ToolError::BadKey {
        path: args.key.clone(),
        error,
    })?;
    let report = verify_dir(dir, &VerifyOptions::default())?;
    if let Some(first) = report.findings.iter().find(|f| f.kind.is_damage()) {
        return Err(ToolError::Damaged {
            what: "refusing to sign a checkpoint",
            dir: dir.to_owned(),
            findings: report
                .findings
                .iter()
                .filter(|f| f.kind.is_damage())
                .count(),
            first: first.to_string(),
        });
    }
    let (Some(id), Some(head)) = (report.ledger_id, report.head) else {
        return Err(ToolError::Refused(format!(
            "the ledger in {} holds no record yet: nothing to checkpoint",
            dir.display()
        )));
    };
    let cp = Checkpoint::sign(id, &head, &key);
    let text = cp.to_text();
    match &args.out {
        Some(path) => {
            // Written whole or not at all: the old checkpoint (if any) or
            // the new one, never half of one, and no temporary file left.
            let mut file = OutFile::create(path)?;
            file.write_all(text.as_bytes())
                .map_err(io_err("write", path))?;
            file.commit()?;
            writeln!(
                out,
                "checkpoint of ledger {id} at sequence {} (chain hash {}) written to {}",
                cp.seq,
                cp.chain_hash,
                path.display()
            )
            .map_err(ToolError::Output)?;
        }
        None => out.write_all(text.as_bytes()).map_err(ToolError::Output)?,
    }
    Ok(Exit::Success)
}
