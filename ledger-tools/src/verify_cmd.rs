//! `ledger verify`: re-hashes the whole ledger and reports every finding,
//! as text or as one JSON object.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::Arc;

use ledger_core::storage::{FetchedStorage, FsStorage, Storage};
use ledger_core::Checkpoint;
use ledger_core::{verify, VerifyOptions, VerifyReport};
use ledger_index::{check_index_files, IndexCheck};

use crate::checkpoint_cmd::read_checkpoint;
use crate::cli::VerifyArgs;
use crate::error::{finish, ToolError};
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, per_second, seconds};
use crate::keys::read_public_key;
use crate::remote::{Remote, RemoteFiles, Retries};

/// Runs `ledger verify` on `dir`, writing the report to `out`.
pub fn run(dir: &Path, args: &VerifyArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let progress = crate::progress::verifying(dir);
    verify_storage(Arc::new(FsStorage::new(dir)), dir, args, progress, out)
}

/// Runs `ledger verify --remote URL`: the same verification, on the
/// objects of a shipped ledger, fetched one segment at a time.
pub fn run_remote(url: &str, args: &VerifyArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let remote = Arc::new(Remote::open(url, Retries::default(), false)?);
    let label = remote.location_path("");
    let storage = Arc::new(FetchedStorage::new(Arc::new(RemoteFiles(remote))));
    let progress = crate::progress::Progress::spinner(&format!("verifying {url}"));
    verify_storage(storage, &label, args, progress, out)
}

fn verify_storage(
    storage: Arc<dyn Storage>,
    dir: &Path,
    args: &VerifyArgs,
    progress: crate::progress::Progress,
    out: &mut dyn Write,
) -> Result<Exit, ToolError> {
    let checkpoint = args
        .checkpoint
        .as_deref()
        .map(read_checkpoint)
        .transpose()?;
    let trusted = args
        .trusted_key
        .as_deref()
        .map(read_public_key)
        .transpose()?;
    let opts = VerifyOptions {
        checkpoint: checkpoint.clone(),
        trusted_key: trusted,
        threads: args.threads.map(NonZeroUsize::get),
    };
    let started = Instant::now();
    let report = verify(Arc::clone(&storage), &opts)?;
    progress.finish();
    let took = started.elapsed();
    // Index files are derived data: damage there is reported, not counted
    // against the ledger (a damaged index is never used; queries rebuild it).
    // Each is compared with the index its segment's records give: one that
    // disagrees with a valid checksum is forged, which ends with the damage
    // exit code (the records themselves may well be intact).
    let index =
        check_index_files(storage.as_ref(), &ledger_domain::TradingKeys).unwrap_or_else(|e| {
            IndexCheck {
                good: 0,
                findings: vec![ledger_index::IndexFinding {
                    file: dir.display().to_string(),
                    reason: format!("index files cannot be listed: {e}"),
                    forged: false,
                }],
            }
        });
    let link_problems = match &args.previous {
        Some(old) => Some(ledger_core::verify_migration(
            dir,
            old,
            Some(&ledger_domain::TradingUpcaster),
        )?),
        None => None,
    };
    let link_ok = link_problems.as_ref().is_none_or(|p| p.is_empty());
    let only_io_errors = report
        .findings
        .iter()
        .filter(|f| f.kind.is_damage())
        .all(|f| f.kind.is_io_error());
    let exit = if index.forged() > 0 {
        Exit::Damage
    } else if report.is_intact() && link_ok {
        Exit::Success
    } else if only_io_errors && link_ok {
        // Files that could not be read are not proof of damage: an I/O error.
        Exit::Failure
    } else {
        Exit::Damage
    };
    let written = if args.json {
        let mut v = to_json(&report);
        if let (Some(problems), Some(previous)) = (&link_problems, &args.previous) {
            v["provenance"] = serde_json::json!({
                "previous": previous.display().to_string(),
                "holds": problems.is_empty(),
                "problems": problems,
            });
        }
        v["index_files"] = serde_json::json!({
            "good": index.good,
            "forged": index.forged(),
            "findings": index.findings.iter().map(|f| serde_json::json!({
                "file": f.file,
                "reason": f.reason,
                "forged": f.forged,
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{v:#}")
    } else {
        write_text(&report, &index, checkpoint.as_ref(), took, out).and_then(|()| {
            match (&link_problems, &args.previous) {
                (Some(problems), Some(previous)) => write_link(problems, previous, out),
                _ => Ok(()),
            }
        })
    };
    finish(exit, written)
}

/// The report as one JSON object ([`ledger_domain::views_json::verify_report`]);
/// `ledger verify --json` adds `index_files`, and with `--previous` a
/// `provenance` object (`previous`, `holds`, `problems`).
pub fn to_json(report: &VerifyReport) -> serde_json::Value {
    ledger_domain::views_json::verify_report(report)
}

/// The provenance problems, one a line, then whether the link to
/// `previous` holds (after the ledger's own result: the link is judged
/// separately).
fn write_link(problems: &[String], previous: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    for p in problems {
        writeln!(out, "provenance: {p}")?;
    }
    if problems.is_empty() {
        writeln!(out, "provenance: the link to {} holds", previous.display())
    } else {
        writeln!(
            out,
            "provenance: the link to {} DOES NOT HOLD ({} problem(s))",
            previous.display(),
            problems.len()
        )
    }
}

fn write_text(
    report: &VerifyReport,
    index: &IndexCheck,
    checkpoint: Option<&Checkpoint>,
    took: Duration,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for f in &report.findings {
        writeln!(out, "{f}")?;
    }
    for f in &index.findings {
        if f.forged {
            writeln!(
                out,
                "index file {f} (FORGED derived data: queries refuse it and answer from the records; the next query rebuilds it)"
            )?;
        } else {
            writeln!(
                out,
                "index file {f} (derived data: never used as is, rebuilt from its segment at the next query)"
            )?;
        }
    }
    let id = report
        .ledger_id
        .map_or_else(|| "(unknown id)".to_owned(), |id| id.to_hex());
    writeln!(
        out,
        "ledger {id}: {} segments, {} records, {} bytes ({}) verified in {} ({}/s)",
        report.segments,
        report.records,
        report.bytes,
        human_bytes(report.bytes),
        seconds(took),
        human_bytes(per_second(report.bytes, took))
    )?;
    match report.head {
        Some(h) => writeln!(out, "head: sequence {}, chain hash {}", h.seq, h.chain_hash)?,
        None => writeln!(out, "head: none (the ledger holds no valid record)")?,
    }
    if let Some(cp) = checkpoint {
        match report.checkpoint_ok {
            Some(true) => writeln!(
                out,
                "checkpoint: the ledger holds record {} with the checkpointed chain hash; signed by {}",
                cp.seq,
                hex::encode(cp.public_key)
            )?,
            None if report.findings.iter().any(|f| f.kind.is_io_error()) => writeln!(
                out,
                "checkpoint: NOT CHECKED: record {} was not in what could be read",
                cp.seq
            )?,
            _ => writeln!(
                out,
                "checkpoint: MISMATCH at sequence {} (see the checkpoint findings above)",
                cp.seq
            )?,
        }
    }
    let damage = report
        .findings
        .iter()
        .filter(|f| f.kind.is_damage() && !f.kind.is_io_error())
        .count();
    let unreadable = report
        .findings
        .iter()
        .filter(|f| f.kind.is_io_error())
        .count();
    let other = report.findings.len() - damage - unreadable;
    if damage > 0 {
        writeln!(
            out,
            "result: DAMAGED: {damage} finding(s) of damage or tampering"
        )
    } else if unreadable > 0 {
        writeln!(
            out,
            "result: UNREADABLE: {unreadable} file(s) could not be read (I/O error); \
             no damage in what could be read, but the ledger is not verified"
        )
    } else if other > 0 {
        writeln!(
            out,
            "result: intact ({other} torn tail finding(s): the next open cuts the torn tail)"
        )
    } else {
        writeln!(out, "result: intact")
    }?;
    if index.forged() > 0 {
        let records = if damage == 0 && unreadable == 0 {
            "the records themselves are intact"
        } else {
            "the records' own findings are above"
        };
        writeln!(
            out,
            "index files: FORGED: {} disagree with their segments' records ({records}); {} more cannot be trusted, {} good",
            index.forged(),
            index.findings.len() - index.forged(),
            index.good
        )?;
    } else if !index.findings.is_empty() {
        writeln!(
            out,
            "index files: {} cannot be trusted and will be rebuilt, {} good",
            index.findings.len(),
            index.good
        )?;
    }
    Ok(())
}
