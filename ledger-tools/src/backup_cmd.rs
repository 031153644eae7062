//! `ledger backup ...` and `ledger migrate`: thin commands over
//! [`ledger_core::BackupStore`] and [`ledger_core::migrate()`].

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ledger_core::{migrate, verify_migration, MigrateOptions, Upcaster};
use ledger_core::{BackupError, BackupStore, Progress as BackupProgress};
use ledger_domain::TradingUpcaster;

use crate::cli::{BackupCommand, MigrateArgs};
use crate::error::ToolError;
use crate::exit::Exit;
use crate::human::{bytes as human_bytes, seconds, time};
use crate::progress::Progress;
use crate::remote::backup::{is_url, RemoteBackupStore};

fn backup_err(e: BackupError) -> ToolError {
    match e {
        BackupError::Ledger(e) => ToolError::Ledger(e),
        other => ToolError::Refused(other.to_string()),
    }
}

/// Shows a backup progress report on a bar.
fn show(p: &Progress, x: BackupProgress) {
    p.set_total(x.total);
    p.set(x.done);
}

/// Runs a `ledger backup` command; `dir` is the ledger folder (for `create`).
pub fn run(
    dir: Option<&Path>,
    cmd: &BackupCommand,
    out: &mut dyn Write,
) -> Result<Exit, ToolError> {
    let w = ToolError::Output;
    match cmd {
        BackupCommand::Create { to, json } => {
            let dir = dir.ok_or_else(|| {
                ToolError::Refused(
                    "backup create needs the ledger folder: -d DIR or LEDGER_DIR".into(),
                )
            })?;
            // An object store: the backup is made in a staging folder
            // holding the bucket's manifests, then what the bucket lacks
            // is uploaded (see `remote::backup`).
            let remote = is_url(to)
                .then(|| RemoteBackupStore::open(&to.to_string_lossy(), true))
                .transpose()?;
            if let Some(r) = &remote {
                r.pull(false)?;
            }
            let root = remote.as_ref().map_or(to.as_path(), |r| r.staging());
            let mut store = BackupStore::open_or_create(root).map_err(backup_err)?;
            if let Some(r) = &remote {
                store = store.with_objects_elsewhere(r.objects_there()?);
            }
            let started = Instant::now();
            let p = Progress::bytes(0, "backing up");
            let mut cb = |x| show(&p, x);
            let r = store.create_backup(dir, &mut cb).map_err(backup_err)?;
            p.finish();
            let pushed = remote.as_ref().map(RemoteBackupStore::push).transpose()?;
            let m = &r.manifest;
            if *json {
                let v = serde_json::json!({
                    "id": m.id, "segments": m.segments.len(), "copied": r.copied, "reused": r.reused,
                    "replaced_damaged": r.replaced,
                    "added_bytes": m.added_bytes, "added_stored_bytes": m.added_stored_bytes,
                    "head": m.head.as_ref().map(|h| serde_json::json!({"seq": h.seq, "chain_hash": h.chain_hash})),
                    "uploaded": pushed.map(|x| serde_json::json!({
                        "files": x.uploaded, "bytes": x.bytes,
                    })),
                });
                writeln!(out, "{v:#}").map_err(w)?;
            } else {
                if r.replaced > 0 {
                    writeln!(
                        out,
                        "{} object(s) in the store were damaged and were written anew from the ledger",
                        r.replaced
                    )
                    .map_err(w)?;
                }
                writeln!(
                    out,
                    "backup {} of ledger {}: {} segments ({} copied, {} already in the store{}), added {} ({} stored), head {} in {}",
                    m.id,
                    m.ledger_id,
                    m.segments.len(),
                    r.copied,
                    r.reused,
                    if remote.is_some() { "" } else { " and re-hashed" },
                    human_bytes(m.added_bytes),
                    human_bytes(m.added_stored_bytes),
                    m.head.as_ref().map_or("none".into(), |h| format!("sequence {} ({})", h.seq, &h.chain_hash[..16])),
                    seconds(started.elapsed())
                )
                .map_err(w)?;
                if let Some(x) = pushed {
                    writeln!(
                        out,
                        "uploaded to {}: {} file(s), {}, each read back and compared",
                        to.display(),
                        x.uploaded,
                        human_bytes(x.bytes),
                    )
                    .map_err(w)?;
                }
            }
            Ok(Exit::Success)
        }
        BackupCommand::List { store, json } => {
            let store = BackupStore::open(store).map_err(backup_err)?;
            let list = store.list().map_err(backup_err)?;
            if *json {
                let v: Vec<_> = list
                    .iter()
                    .map(|b| {
                        serde_json::json!({
                            "id": b.manifest.id, "created_ns": b.manifest.created_ns,
                            "ledger_id": b.manifest.ledger_id, "size": b.size,
                            "added_bytes": b.manifest.added_bytes, "added_stored_bytes": b.manifest.added_stored_bytes,
                            "head_seq": b.manifest.head.as_ref().map(|h| h.seq),
                        })
                    })
                    .collect();
                writeln!(out, "{:#}", serde_json::Value::Array(v)).map_err(w)?;
            } else {
                writeln!(
                    out,
                    "{:<30} {:<24} {:>12} {:>10} {:>10}",
                    "id", "time", "head", "size", "added"
                )
                .map_err(w)?;
                for b in &list {
                    let m = &b.manifest;
                    writeln!(
                        out,
                        "{:<30} {:<24} {:>12} {:>10} {:>10}",
                        m.id,
                        time(ledger_core::Timestamp::from_nanos(m.created_ns)),
                        m.head.as_ref().map_or("-".into(), |h| h.seq.to_string()),
                        human_bytes(b.size),
                        human_bytes(m.added_stored_bytes)
                    )
                    .map_err(w)?;
                }
                writeln!(out, "{} backup(s)", list.len()).map_err(w)?;
            }
            Ok(Exit::Success)
        }
        BackupCommand::Verify { store, id } => {
            let store = BackupStore::open(store).map_err(backup_err)?;
            let p = Progress::bytes(0, "verifying");
            let mut cb = |x| show(&p, x);
            let r = store.verify(id.as_deref(), &mut cb).map_err(backup_err)?;
            p.finish();
            for f in &r.findings {
                writeln!(out, "{f}").map_err(w)?;
            }
            writeln!(
                out,
                "{} manifest(s), {} object(s), {} decompressed and re-hashed: {}",
                r.manifests,
                r.objects,
                human_bytes(r.bytes),
                if r.findings.is_empty() {
                    "intact"
                } else {
                    "DAMAGED"
                }
            )
            .map_err(w)?;
            Ok(if r.findings.is_empty() {
                Exit::Success
            } else {
                Exit::Damage
            })
        }
        BackupCommand::Restore { from, id, to } => {
            // An object store: the whole store is fetched into a staging
            // folder, then restored (and verified) from there.
            let remote = is_url(from)
                .then(|| RemoteBackupStore::open(&from.to_string_lossy(), false))
                .transpose()?;
            if let Some(r) = &remote {
                if r.pull(true)? == 0 {
                    return Err(ToolError::Refused(format!(
                        "{}: no backup store there (no manifests)",
                        from.display()
                    )));
                }
            }
            let root = remote.as_ref().map_or(from.as_path(), |r| r.staging());
            let store = BackupStore::open(root).map_err(backup_err)?;
            let started = Instant::now();
            let p = Progress::bytes(0, "restoring");
            let mut cb = |x| show(&p, x);
            let r = store.restore(id.as_deref(), to, &mut cb);
            p.finish();
            match r {
                Ok(r) => {
                    writeln!(
                        out,
                        "restored backup {} into {}: {} segments, {}, {} records verified, in {}",
                        r.id,
                        to.display(),
                        r.segments,
                        human_bytes(r.bytes),
                        r.records,
                        seconds(started.elapsed())
                    )
                    .map_err(w)?;
                    Ok(Exit::Success)
                }
                Err(
                    e @ (BackupError::Object { .. }
                    | BackupError::RestoreFailed { .. }
                    | BackupError::BrokenChain { .. }
                    | BackupError::WrongLedger { .. }
                    | BackupError::UnsafeField { .. }
                    | BackupError::Manifest { .. }
                    | BackupError::ManifestMeta { .. }),
                ) => {
                    writeln!(out, "{e}").map_err(w)?;
                    Ok(Exit::Damage)
                }
                Err(e) => Err(backup_err(e)),
            }
        }
        BackupCommand::Prune {
            store,
            keep_last,
            keep_within,
        } => {
            let store = BackupStore::open(store).map_err(backup_err)?;
            let r = store.prune(*keep_last, *keep_within).map_err(backup_err)?;
            for u in &r.unexpected {
                writeln!(out, "{u}").map_err(w)?;
            }
            writeln!(
                out,
                "removed {} backup(s), {} object(s) and {} leftover temporary file(s) ({} freed); {} backup(s) kept",
                r.removed_backups.len(),
                r.removed_objects,
                r.removed_temps,
                human_bytes(r.freed_bytes),
                r.kept
            )
            .map_err(w)?;
            if r.unexpected.is_empty() {
                Ok(Exit::Success)
            } else {
                writeln!(
                    out,
                    "{} unexpected entr(y/ies) in the store (left alone, not followed): DAMAGED",
                    r.unexpected.len()
                )
                .map_err(w)?;
                Ok(Exit::Damage)
            }
        }
    }
}

/// Runs `ledger migrate`.
pub fn run_migrate(dir: &Path, args: &MigrateArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let w = ToolError::Output;
    let started = Instant::now();
    let r = migrate(
        dir,
        &args.to,
        &MigrateOptions {
            upcast: args
                .upcast
                .then(|| Arc::new(TradingUpcaster) as Arc<dyn Upcaster>),
            ..MigrateOptions::default()
        },
    )?;
    let problems = verify_migration(&args.to, dir, Some(&TradingUpcaster))?;
    let p = r.provenance;
    writeln!(
        out,
        "migrated ledger {} (format v{}, head {} {}) into {} as ledger {}: {} records{} in {}",
        p.old_ledger,
        p.old_format,
        p.old_head_seq,
        p.old_head_hash,
        args.to.display(),
        r.new_ledger,
        p.records,
        if args.upcast {
            format!(", {} re-encoded at their current schema", r.upcast_records)
        } else {
            String::new()
        },
        seconds(started.elapsed())
    )
    .map_err(w)?;
    for pr in &problems {
        writeln!(out, "link: {pr}").map_err(w)?;
    }
    writeln!(
        out,
        "provenance link: {}",
        if problems.is_empty() {
            "holds"
        } else {
            "BROKEN"
        }
    )
    .map_err(w)?;
    Ok(if problems.is_empty() {
        Exit::Success
    } else {
        Exit::Damage
    })
}
