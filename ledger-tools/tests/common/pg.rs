//! A throwaway PostgreSQL cluster for tests (and the `sink` benchmark,
//! which includes this file): a temporary folder, `initdb -A trust -U
//! postgres`, `pg_ctl start -w` listening on 127.0.0.1 at a free port and
//! on a socket in the folder, with fsync off. PostgreSQL refuses to run as
//! root: as root, initdb and pg_ctl run as the `postgres` system user
//! (`runuser`), which owns the folder. Stopped (`pg_ctl stop -m
//! immediate`) and removed when dropped; a cluster kept in a `static` (one
//! per test binary) is stopped by a watchdog when the process exits.
//!
//! No PostgreSQL installed: [`Cluster::start`] returns `None` and tests skip,
//! unless `LEDGER_REQUIRE_POSTGRES` is set (as `.ci/run` sets it): then
//! it panics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A running cluster.
pub struct Cluster {
    /// The temporary folder (data in `data/`, the socket and the log here).
    pub root: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
    stopped: bool,
}

/// The folder holding `initdb` and `pg_ctl`: /usr/lib/postgresql/<newest>/bin,
/// or wherever `initdb` is on the PATH.
pub fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Cluster {
    /// Starts a cluster; `None` when PostgreSQL is not installed (and
    /// `LEDGER_REQUIRE_POSTGRES` is not set).
    pub fn start() -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            assert!(
                std::env::var_os("LEDGER_REQUIRE_POSTGRES").is_none(),
                "LEDGER_REQUIRE_POSTGRES is set but no PostgreSQL (initdb) is installed"
            );
            eprintln!("skipped: no PostgreSQL (initdb not found under /usr/lib/postgresql or on the PATH)");
            return None;
        };
        let as_postgres = is_root();
        let root = tempfile::Builder::new()
            .prefix("ledger-pg-")
            .tempdir()
            .expect("temp folder")
            .keep();
        let mut cluster = Cluster {
            root,
            port: 0,
            bin,
            as_postgres,
            stopped: true,
        };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.root)
                .status()
                .expect("chown")
                .success();
            assert!(ok, "chown the cluster folder to postgres");
        }
        let data = cluster.root.join("data");
        let out = cluster
            .tool("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // A port taken between the probe and the start: try again.
        for attempt in 0..5 {
            cluster.port = free_port();
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50",
                cluster.port,
                cluster.root.display()
            );
            let out = cluster
                .tool("pg_ctl")
                .arg("start")
                .arg("-w")
                .args(["-t", "60"])
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.root.join("log"))
                .arg("-o")
                .arg(&opts)
                .stdin(Stdio::null())
                .output()
                .expect("run pg_ctl start");
            if out.status.success() {
                cluster.stopped = false;
                break;
            }
            let log = std::fs::read_to_string(cluster.root.join("log")).unwrap_or_default();
            assert!(
                attempt < 4,
                "pg_ctl start failed: {}{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(cluster)
    }

    /// `initdb` or `pg_ctl`, as the postgres user when we are root.
    fn tool(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// The URL of database `db` (over TCP, user postgres, no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A connection to database `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
            .expect("connect to the test cluster")
    }

    /// Creates database `name` and returns its URL.
    pub fn create_db(&self, name: &str) -> String {
        let mut c = self.client("postgres");
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop a database");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a database");
        self.url(name)
    }

    /// Stops the cluster and removes its folder.
    pub fn stop(&mut self) {
        if !self.stopped {
            let _ = self
                .tool("pg_ctl")
                .arg("stop")
                .args(["-m", "immediate", "-D"])
                .arg(self.root.join("data"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            self.stopped = true;
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }

    /// Stops the cluster when this process exits, even if the cluster is
    /// never dropped (kept in a `static`): a shell waits for this process
    /// to end, then stops the server and removes the folder.
    pub fn stop_on_exit(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let run = if self.as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {run}{pg} stop -m immediate -D '{data}' >/dev/null 2>&1; rm -rf '{root}'",
            pid = std::process::id(),
            pg = pg_ctl.display(),
            data = self.root.join("data").display(),
            root = self.root.display(),
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("log")).unwrap_or_default()
    }

    /// The data folder.
    pub fn data(&self) -> &Path {
        &self.root
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The cluster shared by every test of this test binary (started by the
/// first test that asks, stopped when the process exits); `None`: skip.
pub fn shared() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let c = Cluster::start()?;
            c.stop_on_exit();
            Some(c)
        })
        .as_ref()
}
