//! `ledger backup create --to URL` and `backup restore --from URL`: backup
//! stores in an object store (the local-file backend and a real S3 server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::s3::S3Server;
use common::{assert_contains, bare, demo, files_under, json, on};

fn url(p: &Path) -> String {
    format!("file://{}", p.to_str().unwrap())
}

/// The object files of a backup store folder.
fn objects(store: &Path) -> Vec<std::path::PathBuf> {
    files_under(&store.join("objects"))
}

#[test]
fn backups_into_a_file_store_are_incremental_and_restore_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("bucket");
    demo(&live, 3000);
    let to = url(&store);

    let first = json(&on(&live, &["backup", "create", "--to", &to, "--json"]));
    let segments = first["segments"].as_u64().unwrap();
    assert_eq!(first["copied"], segments);
    let after_first = objects(&store).len();
    assert_eq!(after_first as u64, segments);
    assert_eq!(files_under(&store.join("manifests")).len(), 1);

    // More events, a second backup: only the new segments go up.
    demo(&live, 3000);
    let second = json(&on(&live, &["backup", "create", "--to", &to, "--json"]));
    let copied = second["copied"].as_u64().unwrap();
    assert_eq!(
        second["reused"].as_u64().unwrap() + copied,
        second["segments"].as_u64().unwrap()
    );
    assert!(second["reused"].as_u64().unwrap() > 0, "{second:#}");
    assert_eq!(objects(&store).len() as u64, after_first as u64 + copied);
    assert_eq!(files_under(&store.join("manifests")).len(), 2);

    let restored = tmp.path().join("restored");
    let staging = tmp.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let mut cmd = common::command(
        None,
        &[
            "backup",
            "restore",
            "--from",
            &to,
            "--to",
            restored.to_str().unwrap(),
        ],
    );
    cmd.env("LEDGER_STAGING", &staging);
    let run = common::finish(common::output(&mut cmd));
    assert_eq!(run.code, 0, "{}", run.all());
    let a = json(&on(&live, &["export", "--format", "json"]));
    let b = json(&on(&restored, &["export", "--format", "json"]));
    assert_eq!(a, b, "the restored ledger holds every event");
    assert!(
        std::fs::read_dir(&staging).unwrap().next().is_none(),
        "the staging copy is removed"
    );
}

#[test]
fn a_damaged_object_in_the_bucket_fails_the_restore_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("bucket");
    demo(&live, 3000);
    let to = url(&store);
    assert_eq!(on(&live, &["backup", "create", "--to", &to]).code, 0);
    let victim = objects(&store)[0].clone();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();

    let restored = tmp.path().join("restored");
    let run = bare(&[
        "backup",
        "restore",
        "--from",
        &to,
        "--to",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.all(),
        &victim.file_name().unwrap().to_string_lossy()[..16],
    );
    assert!(!restored.exists() || std::fs::read_dir(&restored).unwrap().next().is_none());
}

#[test]
fn restoring_from_a_place_with_no_backup_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let restored = tmp.path().join("restored");
    let run = bare(&[
        "backup",
        "restore",
        "--from",
        &url(&empty),
        "--to",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "no backup store there");
    let run = bare(&[
        "backup",
        "restore",
        "--from",
        &url(&tmp.path().join("absent")),
        "--to",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "no such folder");
    assert!(!restored.exists());
}

#[test]
fn s3_backup_and_restore_round_trip() {
    let Some(server) = S3Server::start("backups") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    let to = "s3://backups/desk-a";
    let run = server.ledger(Some(&live), &["backup", "create", "--to", to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let first = json(&run);
    assert!(first["uploaded"]["files"].as_u64().unwrap() > first["segments"].as_u64().unwrap());
    demo(&live, 3000);
    let run = server.ledger(Some(&live), &["backup", "create", "--to", to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let second = json(&run);
    // The new objects and the manifest, nothing the bucket had.
    assert_eq!(
        second["uploaded"]["files"].as_u64().unwrap(),
        second["copied"].as_u64().unwrap() + 1
    );
    assert_eq!(
        files_under(&server.folder("backups", "desk-a/manifests")).len(),
        2
    );

    let restored = tmp.path().join("restored");
    let run = server.ledger(
        None,
        &[
            "backup",
            "restore",
            "--from",
            to,
            "--to",
            restored.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(on(&restored, &["verify"]).code, 0);
    let a = json(&on(&live, &["export", "--format", "json"]));
    let b = json(&on(&restored, &["export", "--format", "json"]));
    assert_eq!(a, b);
}
