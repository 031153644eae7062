//! `ledger checkpoint`: verifies the ledger, then signs its head with a
//! secret key and writes the checkpoint text an auditor keeps elsewhere.

use std::fs;
use std::io::Write;
use std::path::Path;

use ledger_core::checkpoint::key_from_text;
use ledger_core::verify::{verify_dir, VerifyOptions};
use ledger_core::Checkpoint;

use crate::cli::CheckpointArgs;
use crate::error::{io_err, ToolError};
use crate::exit::Exit;

/// Reads and parses a checkpoint file.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, ToolError> {
    let text = fs::read_to_string(path).map_err(io_err("read checkpoint", path))?;
    Checkpoint::from_text(&text).map_err(|reason| {
        ToolError::Ledger(ledger_core::Error::Checkpoint {
            path: path.to_owned(),
            reason,
        })
    })
}

/// Writes `text` to `path` through a temporary file and a rename, so the
/// file holds either the old or the new checkpoint, never half of one.
fn write_atomic(path: &Path, text: &str) -> Result<(), ToolError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let written = fs::File::create(tmp)
        .map_err(io_err("create", tmp))
        .and_then(|mut file| {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io_err("write", tmp))
        })
        .and_then(|()| fs::rename(tmp, path).map_err(io_err("rename into place", path)));
    if written.is_err() {
        // A full disk leaves the old checkpoint (if any) and no half file.
        let _ = fs::remove_file(tmp);
    }
    written
}

/// Runs `ledger checkpoint` on `dir`: the checkpoint goes to `--out`, or to
/// `out` without it.
pub fn run(dir: &Path, args: &CheckpointArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let key_text = fs::read_to_string(&args.key).map_err(io_err("read secret key", &args.key))?;
    let key = key_from_text(&key_text).map_err(|reason| ToolError::BadFile {
        path: args.key.clone(),
        reason,
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
            write_atomic(path, &text)?;
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
