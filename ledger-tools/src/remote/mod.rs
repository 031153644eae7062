//! Object stores, through Apache Arrow's `object_store` crate: a URL names
//! a store and a prefix in it (`file:///absolute/folder`,
//! `s3://bucket/prefix`), which holds one shipped ledger as a flat set of
//! objects named like the ledger folder's files (`LEDGER`, each sealed
//! segment under its content-addressed name, its `.idx` file, the newest
//! projection snapshot).
//!
//! Credentials, region and endpoint of `s3://` stores come from the
//! standard `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, ...), as every S3 tool reads them.
//!
//! Every call is retried by `object_store` with exponential backoff, a
//! bounded number of times ([`Remote::open`]'s `retries`), then fails with
//! an error naming the object and the URL.

pub mod backup;
mod fetch;
pub mod lock;

pub use fetch::RemoteFiles;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ObjectStore, PutPayload, RetryConfig};

use crate::error::{io_err, ToolError};

/// An object store and the prefix in it that holds one ledger, with the
/// runtime its calls run on (the tools are synchronous).
#[derive(Debug)]
pub struct Remote {
    /// The URL as given, without a trailing slash (for messages).
    pub url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    runtime: tokio::runtime::Runtime,
    kind: StoreKind,
    /// For `s3://`: what requests beyond `object_store`'s calls need
    /// (Object Lock, [`lock`]).
    s3: Option<S3Access>,
}

/// An S3 store as built from the URL and the `AWS_*` environment.
#[derive(Debug)]
pub(crate) struct S3Access {
    /// The store (its credentials sign the extra requests).
    pub client: Arc<object_store::aws::AmazonS3>,
    /// The bucket.
    pub bucket: String,
    /// The region requests are signed for.
    pub region: String,
    /// The endpoint, `https://s3.<region>.amazonaws.com` when not set.
    pub endpoint: String,
    /// Whether plain `http://` endpoints are allowed (`AWS_ALLOW_HTTP`).
    pub allow_http: bool,
}

/// Which backend a [`Remote`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A local folder (`file://`).
    File,
    /// S3 or an S3-compatible store (`s3://`).
    S3,
}

/// How the store is reached: the bounded retries of every call.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Retries of one call after its first attempt.
    pub max: usize,
    /// No retry starts later than this after the first attempt.
    pub timeout: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            max: 4,
            timeout: Duration::from_secs(60),
        }
    }
}

impl Remote {
    /// Opens the store `url` names; `create` makes a `file://` folder that
    /// does not exist yet (shipping; verifying only reads).
    pub fn open(url: &str, retries: Retries, create: bool) -> Result<Remote, ToolError> {
        let refused = |why: String| {
            ToolError::Refused(format!(
                "{url}: {why}; give file:///absolute/folder or s3://bucket/prefix"
            ))
        };
        let parsed =
            url::Url::parse(url).map_err(|e| refused(format!("not an object store URL ({e})")))?;
        let store_err = |source| ToolError::Store {
            what: format!("cannot open the object store {url}"),
            source,
        };
        let mut s3 = None;
        let (store, prefix, kind): (Arc<dyn ObjectStore>, ObjectPath, StoreKind) =
            match parsed.scheme() {
                "file" => {
                    let path = parsed
                        .to_file_path()
                        .map_err(|()| refused("not a local absolute path".into()))?;
                    if create {
                        std::fs::create_dir_all(&path).map_err(io_err("create", &path))?;
                    } else if !path.is_dir() {
                        return Err(ToolError::Refused(format!(
                            "{url}: no such folder: nothing was shipped there"
                        )));
                    }
                    let store = LocalFileSystem::new_with_prefix(&path).map_err(store_err)?;
                    (Arc::new(store), ObjectPath::default(), StoreKind::File)
                }
                "s3" | "s3a" => {
                    let bucket = parsed
                        .host_str()
                        .filter(|b| !b.is_empty())
                        .ok_or_else(|| refused("no bucket".into()))?;
                    let builder = AmazonS3Builder::from_env()
                        .with_bucket_name(bucket)
                        .with_retry(RetryConfig {
                            backoff: BackoffConfig {
                                init_backoff: Duration::from_millis(100),
                                max_backoff: Duration::from_secs(5),
                                base: 2.0,
                            },
                            max_retries: retries.max,
                            retry_timeout: retries.timeout,
                        });
                    let config = |key| builder.get_config_value(&key);
                    let region =
                        config(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
                    let endpoint = config(AmazonS3ConfigKey::Endpoint)
                        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
                    let allow_http = config(AmazonS3ConfigKey::Client(
                        object_store::ClientConfigKey::AllowHttp,
                    ))
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                    let client = Arc::new(builder.build().map_err(store_err)?);
                    let prefix = ObjectPath::parse(parsed.path().trim_matches('/'))
                        .map_err(|e| refused(format!("a bad prefix ({e})")))?;
                    s3 = Some(S3Access {
                        client: Arc::clone(&client),
                        bucket: bucket.to_string(),
                        region,
                        endpoint,
                        allow_http,
                    });
                    (client, prefix, StoreKind::S3)
                }
                other => {
                    return Err(refused(format!(
                        "the scheme {other}:// is not supported (only file:// and s3://)"
                    )))
                }
            };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("start the runtime for", url))?;
        Ok(Remote {
            url: url.trim_end_matches('/').to_string(),
            store,
            prefix,
            runtime,
            kind,
            s3,
        })
    }

    /// Runs `f` to completion on the store's runtime.
    pub(crate) fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }

    /// The S3 store's access, for requests `object_store` has no call for.
    pub(crate) fn s3(&self) -> Option<&S3Access> {
        self.s3.as_ref()
    }

    /// The prefix below the bucket, `/`-separated (empty for none).
    pub(crate) fn prefix(&self) -> String {
        self.prefix.to_string()
    }

    /// Which backend this is.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The object of the ledger's file `name`.
    fn key(&self, name: &str) -> ObjectPath {
        name.split('/')
            .fold(self.prefix.clone(), |path, part| path.child(part))
    }

    /// `name` as a URL, for messages.
    pub fn location(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    fn failed(&self, what: &str, name: &str, source: object_store::Error) -> ToolError {
        ToolError::Store {
            what: format!("cannot {what} {}", self.location(name)),
            source,
        }
    }

    /// The ledger's files in the store: name -> size (one listing; the
    /// objects directly under the prefix).
    pub fn list(&self) -> Result<BTreeMap<String, u64>, ToolError> {
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.prefix)))
            .map_err(|e| self.failed("list", "", e))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|o| Some((o.location.filename()?.to_string(), o.size)))
            .collect())
    }

    /// Every object below the prefix, at any depth: path below the prefix
    /// (`/`-separated) -> size.
    pub fn list_all(&self) -> Result<BTreeMap<String, u64>, ToolError> {
        use futures::TryStreamExt;
        let listed: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(self.store.list(Some(&self.prefix)).try_collect())
            .map_err(|e| self.failed("list", "", e))?;
        Ok(listed
            .into_iter()
            .filter_map(|o| {
                let parts: Vec<String> = o
                    .location
                    .prefix_match(&self.prefix)?
                    .map(|p| p.as_ref().to_string())
                    .collect();
                Some((parts.join("/"), o.size))
            })
            .collect())
    }

    /// Stores `bytes` as `name` (one atomic put: an interrupted upload
    /// leaves no object).
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), ToolError> {
        self.runtime
            .block_on(self.store.put(&self.key(name), PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| self.failed("upload", name, e))
    }

    /// What the store gives back for `name` right after an upload (gone is
    /// an error).
    pub fn read_back(&self, name: &str) -> Result<Vec<u8>, ToolError> {
        self.get(name)?.ok_or_else(|| {
            ToolError::Refused(format!(
                "{}: gone right after its upload",
                self.location(name)
            ))
        })
    }

    /// Checks that the store gives back exactly `sent` for `name`.
    pub fn check_read_back(&self, name: &str, sent: &[u8]) -> Result<(), ToolError> {
        if self.read_back(name)? == sent {
            Ok(())
        } else {
            Err(ToolError::Refused(format!(
                "{}: the store does not give back the bytes just uploaded",
                self.location(name)
            )))
        }
    }

    /// The whole of `name`; `Ok(None)` when the store does not hold it.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>, ToolError> {
        let got = self
            .runtime
            .block_on(async { self.store.get(&self.key(name)).await?.bytes().await });
        match got {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("read", name, e)),
        }
    }

    /// The size of `name`; `Ok(None)` when the store does not hold it.
    pub fn size(&self, name: &str) -> Result<Option<u64>, ToolError> {
        match self.runtime.block_on(self.store.head(&self.key(name))) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("look for", name, e)),
        }
    }

    /// A displayable location of `name`, as a path (for [`ledger_core`]'s
    /// errors and findings).
    pub fn location_path(&self, name: &str) -> PathBuf {
        PathBuf::from(if name.is_empty() {
            self.url.clone()
        } else {
            self.location(name)
        })
    }
}
