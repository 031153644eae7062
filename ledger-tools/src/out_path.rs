//! Where a command may write. Every file or folder a command creates
//! (`export --out`, `report --html`, `checkpoint --out`, `keygen --out`,
//! `backup create --to`, `backup restore --to`, `migrate --to`) is refused,
//! before anything is written, when it lies inside a ledger folder or a
//! backup store, or when it would replace a ledger file anywhere: an output
//! file is renamed over whatever has its name, so `--out DIR/0000000003.active`
//! would otherwise destroy a segment and exit 0.
//!
//! The folder a path names is resolved first: symbolic links and `..` in
//! the part that exists are resolved by the operating system
//! (`canonicalize`); a `..` after a folder that does not exist yet is
//! refused (it cannot be resolved before the folders are created). Then the
//! resolved folder and every folder above it is judged:
//!
//! - a **ledger folder** holds a `LEDGER` file or a file named like a
//!   segment (`NNNNNNNNNN-<hash>.seg`, `.active`, `.prealloc`): a damaged
//!   ledger whose `LEDGER` file is gone is still protected;
//! - a **backup store** holds `objects` and `manifests` folders.
//!
//! An existing file at an output file's path is refused when it is a ledger
//! file: named `LEDGER` or like a segment, or starting with the magic bytes
//! of a segment or an identity file (a copy or a hard link elsewhere).

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use ledger_core::segment::header::MAGIC as SEGMENT_MAGIC;
use ledger_core::segment::names::SegmentName;
use ledger_core::{BackupStore, META_FILE, META_MAGIC};

use crate::cli::{BackupCommand, Cli, Command};
use crate::error::ToolError;

/// What an output may not be written into or over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protected {
    /// The path lies inside (or is) this ledger folder.
    LedgerFolder(PathBuf),
    /// The path lies inside (or is) this backup store.
    BackupStore(PathBuf),
    /// The path is an existing ledger file; why it is recognised as one.
    LedgerFile(&'static str),
}

impl std::fmt::Display for Protected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protected::LedgerFolder(d) => {
                write!(f, "it is inside the ledger folder {}", d.display())
            }
            Protected::BackupStore(d) => write!(f, "it is inside the backup store {}", d.display()),
            Protected::LedgerFile(why) => write!(f, "it is a ledger file ({why})"),
        }
    }
}

/// Whether `dir` is a ledger folder: it holds a `LEDGER` file (of any
/// kind, even a link) or a file named like a segment.
pub fn is_ledger_folder(dir: &Path) -> bool {
    if fs::symlink_metadata(dir.join(META_FILE)).is_ok() {
        return true;
    }
    // A folder that cannot be listed is judged by its LEDGER file alone.
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|e| {
        e.file_name()
            .to_str()
            .and_then(SegmentName::parse)
            .is_some()
    })
}

/// The folder `dir` names, resolved: the longest part of it that exists,
/// canonicalised (links and `..` resolved), then the rest, which must hold
/// no `..`. A relative path is taken from the current folder.
pub fn resolve_dir(dir: &Path) -> Result<PathBuf, String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let parts: Vec<Component<'_>> = dir.components().collect();
    for k in (0..=parts.len()).rev() {
        let prefix: PathBuf = parts[..k].iter().collect();
        let prefix = if prefix.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            prefix
        };
        let Ok(mut resolved) = fs::canonicalize(&prefix) else {
            continue;
        };
        for part in &parts[k..] {
            match part {
                Component::Normal(name) => resolved.push(name),
                Component::CurDir => {}
                _ => {
                    return Err(format!(
                        "{} has `..` after a folder that does not exist yet",
                        dir.display()
                    ))
                }
            }
        }
        return Ok(resolved);
    }
    Err(format!("{} cannot be resolved", dir.display()))
}

/// The protected folder `dir` (already resolved) is, or lies inside, if any.
fn protected_folder(dir: &Path) -> Option<Protected> {
    dir.ancestors().find_map(|a| {
        if is_ledger_folder(a) {
            Some(Protected::LedgerFolder(a.to_owned()))
        } else if BackupStore::is_store(a) {
            Some(Protected::BackupStore(a.to_owned()))
        } else {
            None
        }
    })
}

/// Why the existing file `path` is a ledger file, if it is one.
fn ledger_file(path: &Path) -> Option<&'static str> {
    let meta = fs::symlink_metadata(path).ok()?;
    // A link is replaced by the rename, never written through.
    if !meta.is_file() {
        return None;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name == META_FILE {
        return Some("named LEDGER, a ledger's identity file");
    }
    if SegmentName::parse(name).is_some() {
        return Some("named like a segment file");
    }
    let mut head = [0u8; 8];
    // Opened as a regular file only, without blocking: a FIFO swapped in
    // since the check above is refused, not waited on.
    let read = ledger_core::storage::regular::open_regular(path, fs::OpenOptions::new().read(true))
        .and_then(|f| f.take(8).read_exact(&mut head).map(|()| head));
    match read {
        Ok(h) if h == SEGMENT_MAGIC => Some("it starts with a segment's magic bytes"),
        Ok(h) if h == META_MAGIC => Some("it starts with an identity file's magic bytes"),
        _ => None,
    }
}

fn refuse(what: &str, path: &Path, why: impl std::fmt::Display) -> ToolError {
    ToolError::Refused(format!(
        "refusing to write {what} {}: {why}; nothing was written",
        path.display()
    ))
}

/// Checks `path` as an output file of `what` (e.g. `export --out`): not
/// inside a ledger folder or a backup store, and not over a ledger file.
pub fn check_output_file(what: &str, path: &Path) -> Result<(), ToolError> {
    let Some(name) = path.file_name() else {
        return Err(refuse(what, path, "it does not end in a file name"));
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    let dir = resolve_dir(parent).map_err(|why| refuse(what, path, why))?;
    if let Some(p) = protected_folder(&dir) {
        return Err(refuse(what, path, p));
    }
    if let Some(why) = ledger_file(&dir.join(name)) {
        return Err(refuse(what, path, Protected::LedgerFile(why)));
    }
    Ok(())
}

/// Checks `path` as a folder `what` creates or fills (a restore or
/// migration target, a backup store): not a ledger folder nor inside one,
/// not inside a backup store, and, unless `store` (it is a backup store
/// itself), not a backup store.
pub fn check_output_dir(what: &str, path: &Path, store: bool) -> Result<(), ToolError> {
    let dir = resolve_dir(path).map_err(|why| refuse(what, path, why))?;
    if is_ledger_folder(&dir) {
        return Err(refuse(
            what,
            path,
            "it holds a ledger (a LEDGER file or segment files)",
        ));
    }
    if !store && BackupStore::is_store(&dir) {
        return Err(refuse(what, path, "it is a backup store"));
    }
    if let Some(p) = dir.parent().and_then(protected_folder) {
        return Err(refuse(what, path, p));
    }
    Ok(())
}

/// Checks every path the command `cli` will write, before it starts; see
/// the module docs.
pub fn check_command(cli: &Cli) -> Result<(), ToolError> {
    match &cli.command {
        Command::Export(a) => a
            .out
            .as_deref()
            .map_or(Ok(()), |p| check_output_file("export --out", p)),
        Command::Report(a) => a
            .html
            .as_deref()
            .map_or(Ok(()), |p| check_output_file("report --html", p)),
        Command::Checkpoint(a) => a
            .out
            .as_deref()
            .map_or(Ok(()), |p| check_output_file("checkpoint --out", p)),
        Command::Keygen(a) => {
            check_output_file("keygen --out", &a.out)?;
            let mut public = OsString::from(a.out.as_os_str());
            public.push(".pub");
            check_output_file("keygen --out", Path::new(&public))
        }
        Command::Backup(BackupCommand::Create { to, .. }) => {
            check_output_dir("backup create --to", to, true)
        }
        Command::Backup(BackupCommand::Restore { to, .. }) => {
            check_output_dir("backup restore --to", to, false)
        }
        Command::Migrate(a) => check_output_dir("migrate --to", &a.to, false),
        _ => Ok(()),
    }
}
