//! Whatever an insider plants under the name of the temporary file that
//! `Storage::write_file_atomic` writes (`NAME.tmp`, for `LEDGER`, index
//! files, projection snapshots, the bytes recovery cuts): a symbolic link
//! used to be followed, so the write truncated and overwrote the link's
//! target, anywhere the writer may write. The temporary file is now created
//! exclusively after whatever was under its name is removed without
//! following it: the link's target is untouched, and the write lands where
//! it belongs. A FIFO there is removed, not waited on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::path::Path;

use ledger_core::storage::{FsStorage, Storage};
use ledger_core::{Durability, Writer, WriterOptions};

fn folder() -> (tempfile::TempDir, FsStorage) {
    let tmp = tempfile::tempdir().unwrap();
    let st = FsStorage::new(tmp.path().join("ledger"));
    st.create_root().unwrap();
    (tmp, st)
}

fn is_regular(p: &Path) -> bool {
    std::fs::symlink_metadata(p).unwrap().file_type().is_file()
}

#[test]
fn a_symlinked_tmp_file_does_not_redirect_write_file_atomic() {
    let (tmp, st) = folder();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"the victim's bytes").unwrap();
    symlink(&victim, st.path_of("snapshot-1.proj.tmp")).unwrap();

    st.write_file_atomic("snapshot-1.proj", b"new contents")
        .unwrap();

    assert_eq!(std::fs::read(&victim).unwrap(), b"the victim's bytes");
    let written = st.path_of("snapshot-1.proj");
    assert!(is_regular(&written), "the file itself, not a link");
    assert_eq!(std::fs::read(&written).unwrap(), b"new contents");
    assert!(
        std::fs::symlink_metadata(st.path_of("snapshot-1.proj.tmp")).is_err(),
        "no temporary file is left"
    );
}

#[test]
fn a_dangling_symlinked_tmp_file_creates_nothing_at_its_target() {
    let (tmp, st) = folder();
    let target = tmp.path().join("created-by-the-link");
    symlink(&target, st.path_of("x.idx.tmp")).unwrap();
    st.write_file_atomic("x.idx", b"index").unwrap();
    assert!(!target.exists(), "the link's target was created");
    assert_eq!(std::fs::read(st.path_of("x.idx")).unwrap(), b"index");
}

#[test]
fn a_fifo_as_the_tmp_file_is_replaced_not_waited_on() {
    let (_tmp, st) = folder();
    let fifo = st.path_of("x.idx.tmp");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(made);
    st.write_file_atomic("x.idx", b"index").unwrap();
    assert_eq!(std::fs::read(st.path_of("x.idx")).unwrap(), b"index");
    assert!(std::fs::symlink_metadata(&fifo).is_err());
}

#[test]
fn a_directory_as_the_tmp_file_is_an_error_and_nothing_is_written() {
    let (_tmp, st) = folder();
    std::fs::create_dir(st.path_of("x.idx.tmp")).unwrap();
    let err = st.write_file_atomic("x.idx", b"index").unwrap_err();
    assert!(err.to_string().contains("x.idx.tmp"), "{err}");
    assert!(!st.path_of("x.idx").exists());
}

/// Creating a ledger writes `LEDGER` through a temporary file: a link
/// planted as `LEDGER.tmp` in the (otherwise empty) folder is not followed.
#[test]
fn creating_a_ledger_does_not_write_through_a_planted_ledger_tmp_link() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ledger");
    std::fs::create_dir(&root).unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    symlink(&victim, root.join("LEDGER.tmp")).unwrap();
    let opts = WriterOptions::default().durability(Durability::NoSync);
    // Whether the folder is accepted or refused, the victim is untouched.
    if let Ok(w) = Writer::create(&root, opts) {
        drop(w);
        assert!(is_regular(&root.join("LEDGER")));
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
}
