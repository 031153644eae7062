//! `ledger ship --to URL`: copies the ledger's sealed segments into an
//! object store (the `object_store` crate: `file://` for local folders,
//! `s3://` for S3 and S3-compatible stores) under `segments/<name>`, where
//! the name carries the segment's content address (its blake3).
//!
//! Each sealed segment is first checked (HEAD) in the store: one not there
//! is read, its bytes hashed against the address in its name, and
//! uploaded; then, whether just uploaded or already there, the object is
//! read back and re-hashed, so a store that lost or changed an object is
//! caught on the next ship. Shipping is idempotent and resumes after an
//! interruption: what is already there (and verified) is not sent again.
//! Only sealed segments are shipped: the active segment still changes.
//!
//! Credentials and endpoints of `s3://` stores come from the standard
//! `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, ...).

use std::io::Write;
use std::path::Path;

use ledger_core::storage::FsStorage;
use ledger_core::{read_layout, ContentHash};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde_json::json;

use crate::cli::ShipArgs;
use crate::error::{finish, io_err, ToolError};
use crate::exit::Exit;

/// The folder of the store (under the URL's path) that holds segments.
pub const SEGMENTS: &str = "segments";

/// What a ship did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipSummary {
    /// Segments uploaded by this run.
    pub shipped: u64,
    /// Segments already in the store (verified, not sent again).
    pub present: u64,
    /// Bytes uploaded by this run.
    pub bytes_sent: u64,
}

/// The store a URL names and the path under it, from the URL and the
/// process's `AWS_*` environment variables.
pub fn open_store(url_text: &str) -> Result<(Box<dyn ObjectStore>, ObjectPath), ToolError> {
    let url = url::Url::parse(url_text).map_err(|e| {
        ToolError::Refused(format!(
            "{url_text}: not an object store URL ({e}); give file:///absolute/folder or s3://bucket/prefix"
        ))
    })?;
    // The builders read their options as lower-case keys (`aws_endpoint_url`).
    let env = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v));
    object_store::parse_url_opts(&url, env).map_err(|source| ToolError::Store {
        what: format!("cannot open the object store {url_text}"),
        source,
    })
}

/// Runs `ledger ship` on the ledger in `dir`.
pub fn run(dir: &Path, args: &ShipArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let layout = read_layout(&FsStorage::new(dir))?;
    let (store, prefix) = open_store(&args.to)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_err("start the runtime for", &args.to))?;
    let mut summary = ShipSummary::default();
    let mut lines = Vec::new();
    for seg in &layout.sealed {
        let key = prefix.child(SEGMENTS).child(seg.name.as_str());
        let object = format!(
            "{}/{}",
            args.to.trim_end_matches('/'),
            key_tail(&key, &prefix)
        );
        let present = runtime.block_on(exists(store.as_ref(), &key, &object))?;
        if present {
            summary.present += 1;
        } else {
            let path = dir.join(&seg.name);
            let bytes = std::fs::read(&path).map_err(io_err("read", &path))?;
            check_address(&path.display().to_string(), false, &seg.address, &bytes)?;
            let len = bytes.len() as u64;
            runtime
                .block_on(store.put(&key, PutPayload::from(bytes)))
                .map_err(|source| ToolError::Store {
                    what: format!("cannot upload {object}"),
                    source,
                })?;
            summary.shipped += 1;
            summary.bytes_sent += len;
        }
        // Read back and re-hash what the store holds, new or old.
        let stored = runtime
            .block_on(async { store.get(&key).await?.bytes().await })
            .map_err(|source| ToolError::Store {
                what: format!("cannot read back {object}"),
                source,
            })?;
        check_address(&object, true, &seg.address, &stored)?;
        lines.push((seg.name.clone(), present));
    }
    let written = if args.json {
        writeln!(
            out,
            "{}",
            json!({
                "to": args.to,
                "sealed": layout.sealed.len(),
                "shipped": summary.shipped,
                "present": summary.present,
                "bytes_sent": summary.bytes_sent,
            })
        )
    } else {
        (|| {
            for (name, present) in &lines {
                let what = if *present {
                    "present, verified"
                } else {
                    "shipped, verified"
                };
                writeln!(out, "{name}: {what}")?;
            }
            writeln!(
                out,
                "{} sealed segment(s) in {}: {} shipped ({} bytes), {} already there; every one re-hashed from the store",
                layout.sealed.len(),
                args.to,
                summary.shipped,
                summary.bytes_sent,
                summary.present
            )
        })()
    };
    finish(Exit::Success, written)
}

/// The object's path below the URL's own path, for messages.
fn key_tail(key: &ObjectPath, prefix: &ObjectPath) -> String {
    key.prefix_match(prefix)
        .map(|parts| {
            parts
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_else(|| key.to_string())
}

/// Whether the store holds `key` (a HEAD request).
async fn exists(
    store: &dyn ObjectStore,
    key: &ObjectPath,
    object: &str,
) -> Result<bool, ToolError> {
    match store.head(key).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(source) => Err(ToolError::Store {
            what: format!("cannot look for {object}"),
            source,
        }),
    }
}

/// Checks that `bytes` hash to the content address `expected`.
fn check_address(
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
