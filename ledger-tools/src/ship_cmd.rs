//! `ledger ship --to URL [--follow]`: copies the ledger's immutable files
//! into an object store (see [`crate::remote`]) under their own names: the
//! identity file `LEDGER`, every sealed segment (named by its content
//! address), each sealed segment's `.idx` file, and the newest projection
//! snapshot. The active segment still changes and is never shipped.
//!
//! One listing of the prefix says what is there. `LEDGER` goes first and
//! must equal this ledger's (a prefix holding another ledger is refused).
//! A segment not there is read, its bytes hashed against the address in
//! its name, uploaded (one atomic put), then read back from the store and
//! re-hashed: an upload is verified before it counts. A segment already
//! there with its size is not sent again; `ledger verify --remote` re-hashes
//! everything in the store. Shipping is therefore idempotent, and resumes
//! after a kill or a network error without re-sending completed objects.
//!
//! `--follow` repeats a pass every `--interval` until killed: each segment
//! goes out once it is sealed. A pass that fails on the network is retried
//! with growing pauses (up to a minute); damage (a segment or an object
//! that does not match its address) stops it. It is another process that
//! only reads sealed files: the writer never waits for it.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ledger_core::storage::FsStorage;
use ledger_core::{read_layout, ContentHash, Layout};
use serde_json::json;

use crate::cli::ShipArgs;
use crate::error::{finish, io_err, ToolError};
use crate::exit::Exit;
use crate::remote::{Remote, Retries};

/// Uploads one file (and puts it under retention when asked).
type Upload<'a> = dyn Fn(&str, Vec<u8>) -> Result<(), ToolError> + 'a;

/// What a pass of `ledger ship` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipSummary {
    /// Sealed segments in the ledger.
    pub sealed: u64,
    /// Segments uploaded (and verified) by this pass.
    pub shipped: u64,
    /// Segments already in the store.
    pub present: u64,
    /// Other files uploaded (`LEDGER`, `.idx` files, a snapshot).
    pub extras: u64,
    /// Bytes uploaded.
    pub bytes_sent: u64,
}

/// Runs `ledger ship` on the ledger in `dir`.
pub fn run(dir: &Path, args: &ShipArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let retries = Retries {
        max: args.retries,
        ..Retries::default()
    };
    let remote = Remote::open(&args.to, retries, true)?;
    if let Some(days) = args.retain_days {
        crate::remote::lock::require_retention(&remote, days)?;
    }
    if !args.follow {
        let summary = ship_once(dir, &remote, args.retain_days, &mut |line| {
            if args.json {
                Ok(())
            } else {
                writeln!(out, "{line}")
            }
        })?;
        let written = if args.json {
            writeln!(
                out,
                "{}",
                json!({
                    "to": remote.url,
                    "sealed": summary.sealed,
                    "shipped": summary.shipped,
                    "present": summary.present,
                    "other_files": summary.extras,
                    "bytes_sent": summary.bytes_sent,
                })
            )
        } else {
            writeln!(
                out,
                "{} sealed segment(s) in {}: {} shipped and verified ({} bytes with {} other file(s)), {} already there",
                summary.sealed, remote.url, summary.shipped, summary.bytes_sent, summary.extras, summary.present
            )
        };
        return finish(Exit::Success, written);
    }
    follow(dir, &remote, args, out)
}

/// `--follow`: a pass every interval, until killed.
fn follow(
    dir: &Path,
    remote: &Remote,
    args: &ShipArgs,
    out: &mut dyn Write,
) -> Result<Exit, ToolError> {
    let interval = Duration::from_millis(args.interval_ms.max(10));
    let mut pause = interval;
    loop {
        let pass = ship_once(dir, remote, args.retain_days, &mut |line| {
            writeln!(out, "{line}").and_then(|()| out.flush())
        });
        match pass {
            Ok(_) => pause = interval,
            Err(e) if is_transient(&e) => {
                pause = (pause * 2).clamp(interval, Duration::from_secs(60));
                eprintln!(
                    "ledger ship: {}; trying again in {} s",
                    crate::error::error_chain(&e),
                    pause.as_secs_f64()
                );
            }
            Err(e) => return Err(e),
        }
        std::thread::sleep(pause);
    }
}

/// Whether a failed pass is worth another try: the network or the store,
/// not damage or a refusal.
fn is_transient(e: &ToolError) -> bool {
    matches!(e, ToolError::Store { .. })
}

/// One pass: ships what the store lacks, calling `line` with a line of
/// text for each file it ships.
pub fn ship_once(
    dir: &Path,
    remote: &Remote,
    retain_days: Option<u32>,
    line: &mut dyn FnMut(String) -> std::io::Result<()>,
) -> Result<ShipSummary, ToolError> {
    let storage = FsStorage::new(dir);
    let layout = read_layout(&storage)?;
    let listed = remote.list()?;
    let mut summary = ShipSummary {
        sealed: layout.sealed.len() as u64,
        ..ShipSummary::default()
    };
    let out = |e| ToolError::Output(e);
    let upload = |name: &str, bytes: Vec<u8>| -> Result<(), ToolError> {
        remote.put(name, bytes)?;
        if let Some(days) = retain_days {
            crate::remote::lock::retain(remote, name, days)?;
        }
        Ok(())
    };

    ship_identity(dir, remote, &listed, &mut summary, &upload)?;

    for seg in &layout.sealed {
        let path = dir.join(&seg.name);
        let local_len = std::fs::metadata(&path)
            .map_err(io_err("read", &path))?
            .len();
        match listed.get(&seg.name) {
            Some(&size) if size == local_len => {
                summary.present += 1;
                continue;
            }
            Some(_) => {
                // Same name, other size: the store's copy is damaged; say
                // so with the hash of what it holds.
                let stored = remote.get(&seg.name)?.unwrap_or_default();
                check_address(&remote.location(&seg.name), true, &seg.address, &stored)?;
            }
            None => {}
        }
        let bytes = std::fs::read(&path).map_err(io_err("read", &path))?;
        check_address(&path.display().to_string(), false, &seg.address, &bytes)?;
        let len = bytes.len() as u64;
        upload(&seg.name, bytes)?;
        let stored = remote.read_back(&seg.name)?;
        check_address(&remote.location(&seg.name), true, &seg.address, &stored)?;
        summary.shipped += 1;
        summary.bytes_sent += len;
        line(format!("{}: shipped, read back and verified", seg.name)).map_err(out)?;
    }

    for name in derived_files(&storage, &layout)? {
        if listed.contains_key(&name) {
            continue;
        }
        let path = dir.join(&name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // Index files and snapshots may be replaced or pruned while we
            // run: they are derived, and shipped on a later pass.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let len = bytes.len() as u64;
        upload(&name, bytes.clone())?;
        remote.check_read_back(&name, &bytes)?;
        summary.extras += 1;
        summary.bytes_sent += len;
        line(format!("{name}: shipped, read back and compared")).map_err(out)?;
    }
    Ok(summary)
}

/// Ships `LEDGER` when the store lacks it; refuses a store whose `LEDGER`
/// is another ledger's.
fn ship_identity(
    dir: &Path,
    remote: &Remote,
    listed: &BTreeMap<String, u64>,
    summary: &mut ShipSummary,
    upload: &Upload<'_>,
) -> Result<(), ToolError> {
    let name = ledger_core::META_FILE;
    let path = dir.join(name);
    let ours = std::fs::read(&path).map_err(io_err("read", &path))?;
    let theirs = if listed.contains_key(name) {
        remote.get(name)?
    } else {
        None
    };
    match theirs {
        Some(theirs) if theirs == ours => Ok(()),
        Some(theirs) => Err(ToolError::Refused(format!(
            "{}: the store holds another ledger there (its {name} is {}, this ledger's is {}); ship each ledger under its own prefix",
            remote.url,
            describe_meta(&theirs),
            describe_meta(&ours)
        ))),
        None => {
            let len = ours.len() as u64;
            upload(name, ours.clone())?;
            remote.check_read_back(name, &ours)?;
            summary.extras += 1;
            summary.bytes_sent += len;
            Ok(())
        }
    }
}

/// A `LEDGER` file's id, or why it has none.
fn describe_meta(bytes: &[u8]) -> String {
    match ledger_core::LedgerMeta::decode(bytes) {
        Ok(m) => format!("ledger {}", m.id),
        Err(d) => format!("not a valid identity file ({d})"),
    }
}

/// The derived files worth shipping: each sealed segment's `.idx` file,
/// and the newest projection snapshot.
fn derived_files(storage: &FsStorage, layout: &Layout) -> Result<Vec<String>, ToolError> {
    use ledger_core::storage::Storage;
    let names: HashSet<String> = storage
        .list()
        .map_err(io_err("list", storage.root()))?
        .into_iter()
        .collect();
    let mut files: Vec<String> = layout
        .sealed
        .iter()
        .filter_map(|s| {
            s.name
                .strip_suffix(".seg")
                .map(|stem| format!("{stem}.idx"))
        })
        .filter(|n| names.contains(n))
        .collect();
    if let Some(newest) = names
        .iter()
        .filter(|n| n.starts_with("snapshot-") && n.ends_with(".proj"))
        .max()
    {
        files.push(newest.clone());
    }
    Ok(files)
}

/// Checks that `bytes` hash to the content address `expected`.
pub(crate) fn check_address(
    object: &str,
    in_store: bool,
    expected: &ContentHash,
    bytes: &[u8],
) -> Result<(), ToolError> {
    let actual = ContentHash::of(bytes);
    if actual == *expected {
        Ok(())
    } else {
        Err(ToolError::ContentAddress {
            in_store,
            object: object.to_string(),
            expected: expected.to_hex(),
            actual: actual.to_hex(),
        })
    }
}
