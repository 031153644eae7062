//! `ledger ship --retain-days N` against a store that has S3 Object Lock:
//! moto's S3 server (in the virtual environment `.ci/moto-install` makes;
//! `s3s-fs`, the other S3 test server, has no Object Lock), driven by boto3
//! for what the ledger tool does not do (creating a bucket with Object
//! Lock, trying to delete object versions).
//!
//! Without the environment the test says why and returns, unless
//! `LEDGER_REQUIRE_S3=1` (set by `.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{assert_contains, demo};

struct Moto {
    child: Child,
    python: PathBuf,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Option<Moto> {
    let venv = std::env::var_os("LEDGER_MOTO_VENV").map_or_else(
        || PathBuf::from("/tmp/tradeledger-moto-venv"),
        PathBuf::from,
    );
    let server = venv.join("bin/moto_server");
    if !server.is_file() {
        assert!(
            std::env::var("LEDGER_REQUIRE_S3").as_deref() != Ok("1"),
            "LEDGER_REQUIRE_S3=1 but no moto server in {}: run .ci/moto-install",
            venv.display()
        );
        eprintln!(
            "skipped: no moto server in {} (.ci/moto-install)",
            venv.display()
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_listening("moto", &mut child, port);
    let moto = Moto {
        child,
        python: venv.join("bin/python"),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    Some(moto)
}

impl Moto {
    fn env(&self, cmd: &mut Command) {
        for (k, v) in [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ] {
            cmd.env(k, v);
        }
    }

    /// Runs a boto3 script (`s3` is the client) and returns its output.
    fn boto(&self, script: &str) -> String {
        let full = format!(
            "import boto3, json, os\ns3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1')\n{script}"
        );
        let mut cmd = Command::new(&self.python);
        cmd.args(["-c", &full]);
        self.env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn ledger(&self, dir: &Path, args: &[&str]) -> common::Run {
        let mut cmd = common::command(Some(dir), args);
        self.env(&mut cmd);
        common::finish(common::output(&mut cmd))
    }

    /// For each object under `prefix` of `bucket`: whether deleting its
    /// version (what Object Lock forbids) was refused.
    fn delete_refused(&self, bucket: &str, prefix: &str) -> Vec<(String, bool)> {
        let out = self.boto(&format!(
            r#"
res = []
for v in s3.list_object_versions(Bucket='{bucket}', Prefix='{prefix}/').get('Versions', []):
    try:
        s3.delete_object(Bucket='{bucket}', Key=v['Key'], VersionId=v['VersionId'])
        res.append([v['Key'], False])
    except s3.exceptions.ClientError as e:
        res.append([v['Key'], e.response['Error']['Code'] == 'AccessDenied'])
print(json.dumps(res))
"#
        ));
        serde_json::from_str(&out).unwrap()
    }
}

#[test]
fn retained_objects_cannot_be_deleted_and_a_bucket_without_lock_is_refused() {
    let Some(moto) = start() else {
        return;
    };
    moto.boto(
        "s3.create_bucket(Bucket='locked', ObjectLockEnabledForBucket=True)\ns3.create_bucket(Bucket='plain')",
    );
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    demo(&live, 3000);
    let sealed = common::sealed_segments(&live).len();

    let run = moto.ledger(
        &live,
        &[
            "ship",
            "--to",
            "s3://locked/desk",
            "--retain-days",
            "30",
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(common::json(&run)["shipped"], sealed);
    let tried = moto.delete_refused("locked", "desk");
    assert_eq!(
        tried.len(),
        sealed + 1,
        "every segment and LEDGER: {tried:?}"
    );
    assert!(tried.iter().all(|(_, refused)| *refused), "{tried:?}");

    // The control: shipped without retention, the same store deletes them.
    let run = moto.ledger(&live, &["ship", "--to", "s3://locked/free"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let tried = moto.delete_refused("locked", "free");
    assert_eq!(tried.len(), sealed + 1);
    assert!(tried.iter().all(|(_, refused)| !*refused), "{tried:?}");

    // A bucket without Object Lock: refused before anything is shipped.
    let run = moto.ledger(
        &live,
        &["ship", "--to", "s3://plain/desk", "--retain-days", "30"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "the bucket has no Object Lock");
    assert_contains(&run.stderr, "ObjectLockConfigurationNotFoundError");
    let listed = moto.boto("print(s3.list_objects_v2(Bucket='plain').get('KeyCount', 0))");
    assert_eq!(listed.trim(), "0");
}
