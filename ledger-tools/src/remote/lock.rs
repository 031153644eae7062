//! `--retain-days N`: S3 Object Lock retention on every shipped object
//! (write once, read many), as record-keeping rules ask.
//!
//! `object_store` has no call for Object Lock, so the two requests needed
//! are made here, signed with its own SigV4 signer ([`AwsAuthorizer`]) and
//! sent through its own HTTP client, with the credentials, region and
//! endpoint the store itself uses (the `AWS_*` environment):
//! - before anything is shipped, `GET /bucket?object-lock` must show Object
//!   Lock enabled on the bucket (it can only be enabled when a bucket is
//!   created); anything else refuses the ship, quoting the store's answer;
//! - after each upload, `PUT /bucket/key?retention` sets compliance-mode
//!   retention until N days from now.
//!
//! A `file://` store has no retention at all: refused, saying so.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::aws::AwsAuthorizer;
use object_store::client::{HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::ClientOptions;
use sha2::{Digest, Sha256};

use super::{Remote, StoreKind};
use crate::error::ToolError;

/// Refuses unless the store can hold objects under retention.
pub fn require_retention(remote: &Remote, days: u32) -> Result<(), ToolError> {
    if remote.kind() == StoreKind::File {
        return Err(ToolError::Refused(format!(
            "{}: --retain-days {days}: a file:// store has no Object Lock; retention needs an S3 bucket created with Object Lock enabled",
            remote.url
        )));
    }
    let (status, body) = request(remote, http::Method::GET, "?object-lock", None)?;
    let text = String::from_utf8_lossy(&body);
    if status.is_success() && text.contains("<ObjectLockEnabled>Enabled</ObjectLockEnabled>") {
        return Ok(());
    }
    Err(ToolError::Refused(format!(
        "{}: --retain-days {days}: the bucket has no Object Lock, so nothing could be kept from deletion (the store answered {status}: {}); create the bucket with Object Lock enabled, or ship without --retain-days",
        remote.url,
        short(&text)
    )))
}

/// Puts `name` under compliance-mode retention for `days` days from now.
pub fn retain(remote: &Remote, name: &str, days: u32) -> Result<(), ToolError> {
    let until = SystemTime::now() + Duration::from_secs(u64::from(days) * 86_400);
    let secs = until.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let body = format!(
        "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
        iso8601(secs)
    );
    let (status, answer) = request(
        remote,
        http::Method::PUT,
        &format!("/{name}?retention"),
        Some(body.into_bytes()),
    )?;
    if status.is_success() {
        Ok(())
    } else {
        Err(ToolError::Refused(format!(
            "{}: the store refused retention ({status}: {}); the object was uploaded but is not locked",
            remote.location(name),
            short(&String::from_utf8_lossy(&answer))
        )))
    }
}

/// One signed request to the bucket; `path_and_query` follows the prefix
/// (`?object-lock` addresses the bucket itself).
fn request(
    remote: &Remote,
    method: http::Method,
    path_and_query: &str,
    body: Option<Vec<u8>>,
) -> Result<(http::StatusCode, Vec<u8>), ToolError> {
    let failed = |what: String| ToolError::Refused(format!("{}: {what}", remote.url));
    let Some(s3) = remote.s3() else {
        return Err(failed("not an S3 store".into()));
    };
    // `?object-lock` addresses the bucket itself; an object's path
    // follows the prefix.
    let base = format!("{}/{}", s3.endpoint.trim_end_matches('/'), s3.bucket);
    let prefix = remote.prefix();
    let url = if path_and_query.starts_with('?') || prefix.is_empty() {
        format!("{base}{path_and_query}")
    } else {
        format!("{base}/{prefix}{path_and_query}")
    };
    remote.block_on(async move {
        let credential = s3
            .client
            .credentials()
            .get_credential()
            .await
            .map_err(|source| ToolError::Store {
                what: format!("cannot get credentials for {}", remote.url),
                source,
            })?;
        let bytes = body.unwrap_or_default();
        let mut req = http::Request::builder().method(method).uri(&url);
        if !bytes.is_empty() {
            let sum = Sha256::digest(&bytes);
            req = req.header("x-amz-checksum-sha256", base64_encode(&sum));
        }
        let mut req = req
            .body(HttpRequestBody::from(bytes))
            .map_err(|e| failed(format!("cannot build the request to {url}: {e}")))?;
        AwsAuthorizer::new(&credential, "s3", &s3.region).authorize(&mut req, None);
        let client = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(s3.allow_http))
            .map_err(|source| ToolError::Store {
                what: format!("cannot reach {url}"),
                source,
            })?;
        let response = client
            .execute(req)
            .await
            .map_err(|e| failed(format!("cannot reach {url}: {e}")))?;
        let status = response.status();
        let answer = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| failed(format!("cannot read the answer of {url}: {e}")))?;
        Ok((status, answer.to_vec()))
    })
}

/// The first 200 characters of an answer, on one line.
fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "no details".into();
    }
    one_line.chars().take(200).collect()
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (the engine's RFC 3339
/// form, to the second).
fn iso8601(secs: u64) -> String {
    let nanos = i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000_000) * 1_000_000_000;
    let full = ledger_core::Timestamp::from_nanos(nanos).to_string();
    format!("{}Z", full.get(..19).unwrap_or(&full))
}

/// Standard base64 with padding.
fn base64_encode(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        // 2026-12-01T06:30:00Z
        assert_eq!(iso8601(1_796_106_600), "2026-12-01T06:30:00Z");
        // A leap day.
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), want);
        }
    }
}
