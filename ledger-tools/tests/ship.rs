//! `ledger ship --to URL [--follow]` and `ledger verify --remote URL`,
//! against the local-file backend of `object_store` and against a real
//! S3-protocol server (`s3s-fs`, see `common/s3.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Stdio;

use common::s3::{names_in, unreachable, S3Server};
use common::{assert_contains, demo, file_name, flip_middle_byte, json, on, sealed_segments};

/// `file://` URL of a folder.
fn url(p: &Path) -> String {
    format!("file://{}", p.to_str().unwrap())
}

/// The sealed segment objects in a folder, sorted.
fn segment_objects(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.ends_with(".seg"))
        .collect()
}

#[test]
fn shipping_twice_copies_nothing_the_second_time_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    demo(&live, 3000);
    let sealed = sealed_segments(&live);
    assert!(sealed.len() > 1, "the demo seals several segments");
    let to = url(&store);

    let run = on(&live, &["ship", "--to", &to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["shipped"], sealed.len());
    assert_eq!(v["present"], 0);
    let names: Vec<String> = sealed.iter().map(|p| file_name(p)).collect();
    assert_eq!(segment_objects(&store), names);
    for p in &sealed {
        assert_eq!(
            std::fs::read(p).unwrap(),
            std::fs::read(store.join(file_name(p))).unwrap()
        );
    }
    assert_eq!(
        std::fs::read(live.join("LEDGER")).unwrap(),
        std::fs::read(store.join("LEDGER")).unwrap()
    );
    assert!(
        !names_in(&store).iter().any(|n| n.ends_with(".active")),
        "the active segment is never shipped"
    );

    // Again: nothing is sent.
    let run = on(&live, &["ship", "--to", &to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["shipped"], 0, "{}", run.stdout);
    assert_eq!(v["bytes_sent"], 0);
    assert_eq!(v["present"], sealed.len());

    // An interrupted ship (one object missing) resumes with just that one.
    std::fs::remove_file(store.join(&names[1])).unwrap();
    let run = on(&live, &["ship", "--to", &to]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &format!("{}: shipped, read back and verified", names[1]),
    );
    assert_contains(&run.stdout, "1 shipped");
    assert_eq!(segment_objects(&store), names);
}

#[test]
fn a_truncated_object_in_the_store_is_found_on_the_next_ship() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    demo(&live, 3000);
    let to = url(&store);
    assert_eq!(on(&live, &["ship", "--to", &to]).code, 0);
    let victim = file_name(&sealed_segments(&live)[0]);
    let object = store.join(&victim);
    let bytes = std::fs::read(&object).unwrap();
    std::fs::write(&object, &bytes[..bytes.len() - 100]).unwrap();

    let run = on(&live, &["ship", "--to", &to]);
    assert_eq!(run.code, 1, "damage is exit 1: {}", run.all());
    assert_contains(&run.stderr, &format!("{to}/{victim}"));
    assert_contains(&run.stderr, "content address mismatch");
    assert_contains(&run.stderr, "the store's copy is damaged");

    // Removing the damaged copy and shipping again repairs the store.
    std::fs::remove_file(&object).unwrap();
    let run = on(&live, &["ship", "--to", &to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(json(&run)["shipped"], 1);
}

#[test]
fn verify_remote_gives_the_local_verdict_and_pinpoints_a_changed_object() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    demo(&live, 3000);
    let to = url(&store);
    assert_eq!(on(&live, &["ship", "--to", &to]).code, 0);

    let remote = json(&common::bare(&["verify", "--remote", &to, "--json"]));
    assert_eq!(remote["intact"], true, "{remote:#}");
    assert_eq!(remote["findings"], serde_json::json!([]));
    // The same ledger, the same records: the shipped segments are the
    // local ones without the active segment.
    let local = json(&on(&live, &["verify", "--json"]));
    assert_eq!(remote["ledger_id"], local["ledger_id"]);
    assert_eq!(
        remote["segments"].as_u64().unwrap() + 1,
        local["segments"].as_u64().unwrap()
    );
    assert!(remote["records"].as_u64().unwrap() > 1000);
    let sealed = sealed_segments(&live);
    let last = std::fs::read(sealed.last().unwrap()).unwrap();
    assert!(!last.is_empty());

    // One bit of one event changed in the bucket: found, named, exit 1.
    let victim = file_name(&sealed[1]);
    flip_middle_byte(&store.join(&victim));
    let run = common::bare(&["verify", "--remote", &to, "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["intact"], false);
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["segment"] == victim.as_str() && f["offset"].is_u64()),
        "{v:#}"
    );
    // The local ledger is untouched and still intact.
    assert_eq!(on(&live, &["verify"]).code, 0);
}

#[test]
fn verify_remote_of_a_missing_or_empty_place_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::bare(&["verify", "--remote", &url(&tmp.path().join("nothing"))]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "no such folder: nothing was shipped there");

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = common::bare(&["verify", "--remote", &url(&empty)]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &url(&empty));
}

#[test]
fn a_prefix_holding_another_ledger_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let store = tmp.path().join("store");
    demo(&a, 3000);
    demo(&b, 3000);
    let to = url(&store);
    assert_eq!(on(&a, &["ship", "--to", &to]).code, 0);
    let before = names_in(&store);
    let run = on(&b, &["ship", "--to", &to]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "the store holds another ledger there");
    assert_eq!(names_in(&store), before, "nothing of b was shipped");
}

#[test]
fn a_damaged_local_segment_is_not_shipped() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    demo(&live, 3000);
    let first = sealed_segments(&live)[0].clone();
    flip_middle_byte(&first);
    let run = on(&live, &["ship", "--to", &url(&store)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, first.to_str().unwrap());
    assert_contains(&run.stderr, "content address mismatch");
    assert!(!store.join(file_name(&first)).exists());
}

#[test]
fn an_invalid_url_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);

    let run = on(&live, &["ship", "--to", "/not/a/url"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "/not/a/url: not an object store URL");
    assert_contains(&run.stderr, "file:///");

    let run = on(&live, &["ship", "--to", "ftp://host/x"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        "ftp://host/x: the scheme ftp:// is not supported",
    );

    // A "folder" under a regular file cannot be made.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let to = format!("{}/store", url(&file));
    let run = on(&live, &["ship", "--to", &to]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &file.join("store").display().to_string());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn retention_on_a_file_store_is_refused_before_anything_is_shipped() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    demo(&live, 3000);
    let run = on(&live, &["ship", "--to", &url(&store), "--retain-days", "7"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "a file:// store has no Object Lock");
    assert!(names_in(&store).is_empty());
}

#[test]
fn an_unreachable_s3_endpoint_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    // Nothing listens there: the connection is refused (after one retry).
    let run = unreachable(
        Some(&live),
        &["ship", "--to", "s3://bucket/desk", "--retries", "1"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "cannot list s3://bucket/desk/");
    assert_contains(&run.stderr, "127.0.0.1:1");

    let run = unreachable(None, &["verify", "--remote", "s3://bucket/desk"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "s3://bucket/desk");
}

#[test]
fn s3_ship_verify_and_a_corrupted_object() {
    let Some(server) = S3Server::start("ledgers") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    let to = "s3://ledgers/desk-a";
    let sealed: Vec<String> = sealed_segments(&live)
        .iter()
        .map(|p| file_name(p))
        .collect();

    let run = server.ledger(Some(&live), &["ship", "--to", to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(json(&run)["shipped"], sealed.len());
    let folder = server.folder("ledgers", "desk-a");
    assert_eq!(segment_objects(&folder), sealed);
    for name in &sealed {
        assert_eq!(
            std::fs::read(live.join(name)).unwrap(),
            std::fs::read(folder.join(name)).unwrap(),
            "{name} is stored byte for byte"
        );
    }

    // Idempotent.
    let run = server.ledger(Some(&live), &["ship", "--to", to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(json(&run)["shipped"], 0);
    assert_eq!(json(&run)["present"], sealed.len());

    let run = server.ledger(None, &["verify", "--remote", to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(json(&run)["intact"], true);

    // A bit flipped in the bucket's copy: verify --remote pinpoints it.
    let victim = &sealed[sealed.len() / 2];
    flip_middle_byte(&server.object("ledgers", &format!("desk-a/{victim}")));
    let run = server.ledger(None, &["verify", "--remote", to]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, victim);
}

#[test]
fn s3_ship_resumes_after_a_kill_mid_upload() {
    let Some(server) = S3Server::start("ledgers") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 30_000);
    let to = "s3://ledgers/desk-b";
    let total = sealed_segments(&live).len();
    assert!(total > 10, "{total}");
    let folder = server.folder("ledgers", "desk-b");

    let mut cmd = common::command(Some(&live), &["ship", "--to", to]);
    for (k, v) in server.env() {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some segments are in the bucket (or it finished first).
    common::wait_for_state("the first shipped segment", None, || {
        !segment_objects(&folder).is_empty() || child.try_wait().unwrap().is_some()
    });
    child.kill().ok();
    child.wait().unwrap();
    let before = segment_objects(&folder).len();
    assert!(before >= 1);

    let run = server.ledger(Some(&live), &["ship", "--to", to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["present"], before, "completed objects are not sent again");
    assert_eq!(v["shipped"].as_u64().unwrap() as usize, total - before);
    assert_eq!(segment_objects(&folder).len(), total);
    let run = server.ledger(None, &["verify", "--remote", to]);
    assert_eq!(
        run.code,
        0,
        "a killed upload left no partial object: {}",
        run.all()
    );
}

#[test]
fn s3_follow_ships_each_segment_as_it_is_sealed() {
    let Some(server) = S3Server::start("ledgers") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    let first = sealed_segments(&live).len();
    let to = "s3://ledgers/desk-c";
    let folder = server.folder("ledgers", "desk-c");
    let mut cmd = common::command(
        Some(&live),
        &["ship", "--to", to, "--follow", "--interval-ms", "50"],
    );
    for (k, v) in server.env() {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for_state("the first pass", Some(&mut child), || {
        segment_objects(&folder).len() == first
    });

    // The engine goes on writing; the follower picks up each new seal.
    demo(&live, 3000);
    let now = sealed_segments(&live).len();
    assert!(now > first);
    common::wait_for_state("the new seals", Some(&mut child), || {
        segment_objects(&folder).len() == now
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "--follow keeps running"
    );
    child.kill().ok();
    child.wait().unwrap();
    let run = server.ledger(None, &["verify", "--remote", to]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn s3_retention_where_the_bucket_has_no_object_lock_is_refused() {
    let Some(server) = S3Server::start("ledgers") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    let run = server.ledger(
        Some(&live),
        &["ship", "--to", "s3://ledgers/desk-d", "--retain-days", "30"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "the bucket has no Object Lock");
    assert!(segment_objects(&server.folder("ledgers", "desk-d")).is_empty());
}
