//! A real S3-protocol server for the tests: `s3s-fs` (from crates.io,
//! installed by `.ci/s3-install`), serving a temporary folder on a free
//! loopback port, stopped when dropped. Each bucket is a folder under its
//! root, so a test can damage an object in place.
//!
//! Without `s3s-fs` the S3 tests print why and return, unless
//! `LEDGER_REQUIRE_S3=1` (set by `.ci/run`), which makes them fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Access key and secret of the test server.
pub const KEY: &str = "ledger-test";
/// The secret.
pub const SECRET: &str = "ledger-test-secret";

/// A running `s3s-fs`.
pub struct S3Server {
    child: Child,
    /// The folder it serves (buckets are its subfolders).
    pub root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// The `s3s-fs` binary: `LEDGER_S3S_FS`, then `PATH`, then the build
/// folder's `ci-tools/bin` (`.ci/s3-install`), then cargo's bin folder.
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LEDGER_S3S_FS") {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    // Where `.ci/s3-install` puts it: under the build folder.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    dirs.push(target.join("ci-tools/bin"));
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("s3s-fs"))
        .find(|p| p.is_file())
}

impl S3Server {
    /// Starts a server with one bucket, `bucket`; `None` (after saying why)
    /// when `s3s-fs` is not installed and not required.
    pub fn start(bucket: &str) -> Option<S3Server> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var("LEDGER_REQUIRE_S3").as_deref() != Ok("1"),
                "LEDGER_REQUIRE_S3=1 but no s3s-fs binary: run .ci/s3-install"
            );
            eprintln!("skipped: no S3 server (s3s-fs); .ci/s3-install installs it");
            return None;
        };
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(bucket)).unwrap();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        super::wait_listening("s3s-fs", &mut child, port);
        let server = S3Server {
            child,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        Some(server)
    }

    /// The environment an S3 client needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Runs `ledger` (in `dir`, if given) with this server's environment.
    pub fn ledger(&self, dir: Option<&Path>, args: &[&str]) -> super::Run {
        let mut cmd = super::command(dir, args);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        super::finish(super::output(&mut cmd))
    }

    /// The file behind object `key` of `bucket`.
    pub fn object(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.path().join(bucket).join(key)
    }

    /// The folder behind `prefix` of `bucket`.
    pub fn folder(&self, bucket: &str, prefix: &str) -> PathBuf {
        self.root.path().join(bucket).join(prefix)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ledger` aimed at an S3 endpoint where nothing listens (port 1 on the
/// loopback: the connection is refused).
pub fn unreachable(dir: Option<&Path>, args: &[&str]) -> super::Run {
    let mut cmd = super::command(dir, args);
    for (k, v) in [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        cmd.env(k, v);
    }
    super::finish(super::output(&mut cmd))
}

/// The file names directly in `dir` (none when it does not exist), sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
