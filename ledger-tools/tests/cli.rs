#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests: run the built `ledger` binary in temporary folders.

mod common;

use std::fs;
use std::path::Path;

use common::{
    assert_contains, bare, command, demo, file_name, finish, flip_middle_byte, json, ok, on,
    output, path_str, sealed_segments, ChildGuard, Run, PATIENCE,
};

fn keygen(path: &Path) -> Run {
    ok(bare(&["keygen", "--out", path_str(path)]))
}

fn checkpoint(dir: &Path, key: &Path, out: &Path) {
    ok(on(
        dir,
        &["checkpoint", "--key", path_str(key), "--out", path_str(out)],
    ));
}

#[test]
fn demo_then_verify_is_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let run = demo(&dir, 2000);
    let total = 2000 + ledger_tools::demo::scripted_events();
    assert_contains(&run.stdout, "created ledger");
    assert_contains(&run.stdout, &format!("appended {total} events"));
    assert_contains(&run.stdout, &format!("head: sequence {total}"));
    assert_contains(&run.stdout, ": intact");
    // The scripted session's report and the story of its losing trade.
    assert_contains(&run.stdout, "win rate");
    assert_contains(&run.stdout, "66.7 %");
    assert_contains(&run.stdout, "+225.00");
    assert_contains(&run.stdout, "why did we trade T3?");
    assert_contains(&run.stdout, "breakout above 99.5");
    let sealed = sealed_segments(&dir).len();
    assert!(sealed >= 3, "{sealed} sealed segments");
    assert_contains(&run.stdout, &format!("sealed {sealed} segment(s)"));

    let run = ok(on(&dir, &["verify"]));
    assert_contains(&run.stdout, &format!("{total} records"));
    assert_contains(&run.stdout, &format!("head: sequence {total}"));
    assert_contains(&run.stdout, "result: intact");

    let run = ok(on(&dir, &["verify", "--json", "--threads", "1"]));
    let v = json(&run);
    assert_eq!(v["intact"], true);
    assert_eq!(v["records"], total as u64);
    assert_eq!(v["head"]["seq"], total as u64);
    assert_eq!(v["head"]["chain_hash"].as_str().unwrap().len(), 64);
    assert_eq!(v["ledger_id"].as_str().unwrap().len(), 32);
    assert_eq!(v["segments"], sealed as u64 + 1);
    assert!(v["checkpoint_ok"].is_null());
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn demo_appends_to_an_existing_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 300);
    let run = demo(tmp.path(), 300);
    let total = 2 * (300 + ledger_tools::demo::scripted_events());
    assert_contains(&run.stdout, "opened ledger");
    assert_contains(&run.stdout, &format!("head: sequence {total}"));
    // The second run is its own session with its own ids.
    assert_contains(&run.stdout, "session demo-2");
    assert_contains(&run.stdout, "+225.00");
    let v = json(&on(tmp.path(), &["verify", "--json"]));
    assert_eq!(v["records"], total as u64);
    assert_eq!(v["intact"], true);
}

#[test]
fn demo_creates_a_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a").join("b").join("ledger");
    demo(&dir, 10);
    assert!(dir.join("LEDGER").is_file());
}

#[test]
fn demo_refuses_a_folder_holding_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), b"keep me").unwrap();
    let run = on(tmp.path(), &["demo", "--events", "10"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert_contains(&run.stderr, "not empty");
    assert_contains(&run.stderr, path_str(tmp.path()));
    assert_eq!(fs::read(tmp.path().join("notes.txt")).unwrap(), b"keep me");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing was added"
    );
}

#[test]
fn verify_of_a_missing_folder_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("no-such-ledger");
    let run = on(&dir, &["verify"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, path_str(&dir));
    assert_contains(&run.stderr, "does not exist");
    assert!(!dir.exists(), "verify created nothing");
}

#[test]
fn verify_of_a_folder_without_a_ledger_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let run = on(tmp.path(), &["verify"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "holds no ledger");

    fs::write(tmp.path().join("other.txt"), b"x").unwrap();
    let run = on(tmp.path(), &["verify", "--json"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "holds no ledger");
    assert_contains(&run.stderr, "other.txt");
}

/// The identity file: damaged is damage (exit 1, a `meta` finding, no head
/// vouched for), missing is "no ledger" (exit 2); `inspect` on a damaged
/// sealed segment and `verify` report the same finding kind.
#[test]
fn the_identity_file_damaged_exits_1_missing_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 300);
    let meta = tmp.path().join("LEDGER");
    let mut b = fs::read(&meta).unwrap();
    b[20] ^= 0x10;
    fs::write(&meta, &b).unwrap();
    let run = on(tmp.path(), &["verify", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["findings"][0]["kind"], "meta", "{}", run.stdout);
    assert!(v["head"].is_null(), "{}", run.stdout);
    fs::remove_file(&meta).unwrap();
    let run = on(tmp.path(), &["verify"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "holds no ledger");
}

#[test]
fn inspect_and_verify_name_the_same_finding() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 2000);
    let victim = sealed_segments(tmp.path())[0].clone();
    let mut b = fs::read(&victim).unwrap();
    let footer = b.len() - 104;
    b[footer] ^= 0x01; // the footer marker
    fs::write(&victim, &b).unwrap();
    let kinds = |v: &serde_json::Value, list: &str| -> Vec<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let v = json(&on(tmp.path(), &["verify", "--json"]));
    assert_eq!(kinds(&v, "findings"), ["content_address", "footer"], "{v}");
    let run = bare(&["inspect", "--json", path_str(&victim)]);
    assert_eq!(run.code, 1, "{}", run.all());
    let i = json(&run);
    assert_eq!(kinds(&i, "problems"), ["content_address", "footer"], "{i}");
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_found_and_located() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 2000);
    let sealed = sealed_segments(tmp.path());
    let victim = &sealed[1];
    let name = file_name(victim);
    flip_middle_byte(victim);

    let run = on(tmp.path(), &["verify"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("content_address: ") && l.contains(&name)),
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(
            |l| (l.starts_with("crc: ") || l.starts_with("chain_hash: "))
                && l.contains(&name)
                && l.contains("at offset")
                && l.contains("(sequence ")
        ),
        "{}",
        run.stdout
    );
    assert_contains(&run.stdout, "result: DAMAGED");
    // Only the damaged segment is named.
    for other in sealed.iter().filter(|p| *p != victim) {
        assert!(!run.stdout.contains(&file_name(other)), "{}", run.stdout);
    }
}

#[test]
fn verify_json_reports_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 2000);
    let victim = sealed_segments(tmp.path())[0].clone();
    flip_middle_byte(&victim);

    let run = on(tmp.path(), &["verify", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["intact"], false);
    let findings = v["findings"].as_array().unwrap();
    let name = file_name(&victim);
    assert!(findings
        .iter()
        .any(|f| f["kind"] == "content_address" && f["segment"] == name.as_str()));
    let record = findings
        .iter()
        .find(|f| f["kind"] == "crc" || f["kind"] == "chain_hash")
        .expect("a record-level finding");
    assert_eq!(record["segment"], name.as_str());
    assert!(record["offset"].is_u64());
    assert!(record["seq"].is_u64());
    assert!(record["detail"].is_string());
}

#[test]
fn a_damaged_ledger_is_not_checkpointed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 2000);
    flip_middle_byte(&sealed_segments(&dir)[0]);
    let key = tmp.path().join("auditor.key");
    keygen(&key);
    let out = tmp.path().join("head.checkpoint");
    let run = on(
        &dir,
        &[
            "checkpoint",
            "--key",
            path_str(&key),
            "--out",
            path_str(&out),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, "damaged");
    assert!(!out.exists());
}

#[test]
fn checkpoint_then_verify_against_it_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 500);
    let key = tmp.path().join("auditor.key");
    keygen(&key);
    let cp = tmp.path().join("head.checkpoint");
    checkpoint(&dir, &key, &cp);
    let text = fs::read_to_string(&cp).unwrap();
    assert!(text.starts_with("tradeledger-checkpoint v1\n"), "{text}");
    let total = 500 + ledger_tools::demo::scripted_events();
    assert_contains(&text, &format!("sequence: {total}\n"));

    let cp_arg = path_str(&cp);
    let run = ok(on(&dir, &["verify", "--checkpoint", cp_arg]));
    assert_contains(
        &run.stdout,
        &format!("checkpoint: the ledger holds record {total}"),
    );

    let public = tmp.path().join("auditor.key.pub");
    let run = ok(on(
        &dir,
        &[
            "verify",
            "--json",
            "--checkpoint",
            cp_arg,
            "--trusted-key",
            path_str(&public),
        ],
    ));
    assert_eq!(json(&run)["checkpoint_ok"], true);

    // Appending more keeps the checkpointed record: still verifies.
    demo(&dir, 100);
    ok(on(&dir, &["verify", "--checkpoint", cp_arg]));

    // Without --out, the checkpoint goes to standard output.
    let run = ok(on(&dir, &["checkpoint", "--key", path_str(&key)]));
    assert!(
        run.stdout.starts_with("tradeledger-checkpoint v1\n"),
        "{}",
        run.stdout
    );
    let total = 600 + 2 * ledger_tools::demo::scripted_events();
    assert_contains(&run.stdout, &format!("sequence: {total}\n"));
}

#[test]
fn a_checkpoint_of_another_ledger_fails_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    demo(&a, 200);
    demo(&b, 200);
    let key = tmp.path().join("k");
    keygen(&key);
    let cp_b = tmp.path().join("b.checkpoint");
    checkpoint(&b, &key, &cp_b);

    let run = on(&a, &["verify", "--checkpoint", path_str(&cp_b)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "checkpoint: MISMATCH");
    assert!(
        run.stdout.lines().any(|l| l.starts_with(&format!(
            "checkpoint (sequence {})",
            200 + ledger_tools::demo::scripted_events()
        ))),
        "{}",
        run.stdout
    );

    let run = on(&a, &["verify", "--json", "--checkpoint", path_str(&cp_b)]);
    assert_eq!(run.code, 1, "{}", run.all());
    let v = json(&run);
    assert_eq!(v["checkpoint_ok"], false);
    assert_eq!(v["intact"], false);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "checkpoint"));
}

#[test]
fn a_checkpoint_signed_by_an_untrusted_key_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 100);
    let (mine, theirs) = (tmp.path().join("mine.key"), tmp.path().join("theirs.key"));
    keygen(&mine);
    keygen(&theirs);
    let cp = tmp.path().join("cp");
    checkpoint(&dir, &theirs, &cp);
    let trusted = tmp.path().join("mine.key.pub");
    let run = on(
        &dir,
        &[
            "verify",
            "--checkpoint",
            path_str(&cp),
            "--trusted-key",
            path_str(&trusted),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "another key than the trusted one");
}

#[test]
fn a_malformed_checkpoint_file_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 10);
    let cp = tmp.path().join("bad.checkpoint");
    fs::write(&cp, "not a checkpoint\n").unwrap();
    let run = on(&dir, &["verify", "--checkpoint", path_str(&cp)]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "bad.checkpoint");
    let run = on(&dir, &["verify", "--checkpoint", "/no/such/file"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "/no/such/file");
}

#[test]
fn keygen_writes_a_private_secret_and_a_public_key_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("auditor.key");
    let run = keygen(&key);
    let public = fs::read_to_string(tmp.path().join("auditor.key.pub")).unwrap();
    assert_eq!(run.stdout.trim(), public.trim());
    assert_eq!(public.trim().len(), 64);
    let secret = fs::read_to_string(&key).unwrap();
    assert_eq!(secret.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let again = bare(&["keygen", "--out", path_str(&key)]);
    assert_eq!(again.code, 2, "{}", again.all());
    assert_contains(&again.stderr, "refusing to overwrite");
    assert_eq!(fs::read_to_string(&key).unwrap(), secret);
}

#[test]
fn the_ledger_folder_can_come_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 10);
    let run = ok(finish(output(
        command(None, &["verify"]).env("LEDGER_DIR", tmp.path()),
    )));
    let total = 10 + ledger_tools::demo::scripted_events();
    assert_contains(&run.stdout, &format!("{total} records"));
}

#[test]
fn a_missing_ledger_folder_is_a_usage_error() {
    for cmd in ["demo", "verify"] {
        let run = bare(&[cmd]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert_contains(&run.stderr, "--dir");
        assert_contains(&run.stderr, "LEDGER_DIR");
    }
    let run = bare(&["checkpoint", "--key", "k"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn bad_options_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["demo", "--segment-size", "1k"][..],
        &["demo", "--events", "many"],
        &["verify", "--threads", "0"],
        &["verify", "--trusted-key", "k.pub"],
        &["frobnicate"],
    ] {
        let run = on(tmp.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
    }
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing was created"
    );
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in [
        None,
        Some("init"),
        Some("demo"),
        Some("append"),
        Some("verify"),
        Some("export"),
        Some("report"),
        Some("replay"),
        Some("stats"),
        Some("inspect"),
        Some("tail"),
        Some("repair"),
        Some("checkpoint"),
        Some("keygen"),
    ] {
        let args: Vec<&str> = cmd.into_iter().chain(["--help"]).collect();
        let run = bare(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        assert!(
            run.stdout.contains("Usage: ledger"),
            "{args:?}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("Examples:"), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn a_closed_output_pipe_keeps_the_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 2000);
    flip_middle_byte(&sealed_segments(tmp.path())[0]);
    let mut child = ChildGuard::new(
        command(Some(tmp.path()), &["verify"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Close the reading end at once; whether the output still fits in the
    // pipe or the writer sees a closed pipe, the verdict is the same.
    drop(child.child().stdout.take());
    let out = child.wait_with_output_by(std::time::Instant::now() + PATIENCE);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// A segment that cannot be read (here: a folder where the file should be,
/// which cannot be mapped) is an I/O error (exit 2), named, and not
/// reported as damage; once it reads again the ledger verifies.
#[test]
fn verify_reports_an_unreadable_segment_as_an_io_error_not_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 1500);
    let name = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("0000000001-"))
        .unwrap();
    let aside = tmp.path().join("aside");
    std::fs::rename(dir.join(&name), &aside).unwrap();
    std::fs::create_dir(dir.join(&name)).unwrap();
    let run = on(&dir, &["verify"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout.contains(&format!("unreadable: {name}")),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("result: UNREADABLE"), "{}", run.all());
    assert!(!run.stdout.contains("DAMAGED"), "{}", run.all());
    std::fs::remove_dir(dir.join(&name)).unwrap();
    std::fs::rename(&aside, dir.join(&name)).unwrap();
    ok(on(&dir, &["verify"]));
}
