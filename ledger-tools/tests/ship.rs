//! `ledger ship --to URL` against the local-file backend of `object_store`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{assert_contains, demo, file_name, flip_middle_byte, json, on, sealed_segments};

/// `file://` URL of a folder.
fn url(p: &Path) -> String {
    format!("file://{}", p.to_str().unwrap())
}

/// The object names under the store's `segments/`, sorted.
fn objects(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.join("segments"))
        .unwrap()
        .map(|e| file_name(&e.unwrap().path()))
        .collect();
    names.sort();
    names
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
    assert_eq!(objects(&store), names);
    for p in &sealed {
        let copy = store.join("segments").join(file_name(p));
        assert_eq!(std::fs::read(p).unwrap(), std::fs::read(copy).unwrap());
    }

    // Again: nothing is sent, everything is re-hashed from the store.
    let run = on(&live, &["ship", "--to", &to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["shipped"], 0, "{}", run.stdout);
    assert_eq!(v["bytes_sent"], 0);
    assert_eq!(v["present"], sealed.len());

    // An interrupted ship (one object missing) resumes with just that one.
    std::fs::remove_file(store.join("segments").join(&names[1])).unwrap();
    let run = on(&live, &["ship", "--to", &to]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stdout, &format!("{}: shipped, verified", names[1]));
    assert_contains(&run.stdout, "1 shipped");
    assert_eq!(objects(&store), names);
}

#[test]
fn a_corrupted_object_in_the_store_is_found_on_the_next_ship() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = tmp.path().join("store");
    demo(&live, 3000);
    let to = url(&store);
    assert_eq!(on(&live, &["ship", "--to", &to]).code, 0);
    let victim = file_name(&sealed_segments(&live)[0]);
    let object = store.join("segments").join(&victim);
    flip_middle_byte(&object);

    let run = on(&live, &["ship", "--to", &to]);
    assert_eq!(run.code, 1, "damage is exit 1: {}", run.all());
    assert_contains(&run.stderr, &format!("{to}/segments/{victim}"));
    assert_contains(&run.stderr, "content address mismatch");
    assert_contains(&run.stderr, "the store's copy is damaged");

    // Removing the damaged copy and shipping again repairs the store.
    std::fs::remove_file(&object).unwrap();
    let run = on(&live, &["ship", "--to", &to, "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(json(&run)["shipped"], 1);
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
    assert!(!store.join("segments").join(file_name(&first)).exists());
}

#[test]
fn an_invalid_or_unreachable_url_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);

    let run = on(&live, &["ship", "--to", "/not/a/url"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "/not/a/url: not an object store URL");
    assert_contains(&run.stderr, "file:///");

    let run = on(&live, &["ship", "--to", "ftp://host/x"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "cannot open the object store ftp://host/x");

    // A "folder" under a regular file cannot be reached.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let to = format!("{}/store", url(&file));
    let run = on(&live, &["ship", "--to", &to]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &format!("{to}/segments/"));
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn an_unreachable_s3_endpoint_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    // Port 1 on the loopback: nothing listens, the connection is refused
    // (object_store retries with backoff first: about two seconds).
    let mut cmd = common::command(Some(&live), &["ship", "--to", "s3://bucket/desk"]);
    for (k, v) in [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        cmd.env(k, v);
    }
    let run = common::finish(common::output(&mut cmd));
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "cannot look for s3://bucket/desk/segments/");
    assert_contains(&run.stderr, "Connection refused");
}
