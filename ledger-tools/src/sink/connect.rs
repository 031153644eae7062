//! Connecting to PostgreSQL: the URL parsed by the driver (URL or
//! `key=value` form, as libpq takes), and the database named in messages
//! without its password.

use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::sink::error::SinkError;

/// How long a connection attempt may take when the URL does not say
/// (`connect_timeout=`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected database and its name for messages.
pub struct Database {
    /// The session.
    pub client: Client,
    /// `postgresql://USER@HOST:PORT/DATABASE`, never with a password.
    pub name: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("name", &self.name)
            .finish()
    }
}

/// Connects to `url` (TLS is not used: a local server, a socket, or a
/// tunnel). A refused connection, an unknown host, a failed login or a
/// missing database is [`SinkError::Connect`], naming the database
/// without its password.
///
/// ```
/// use ledger_tools::sink::connect::connect;
/// // Nothing listens on port 1: refused at once.
/// let e = connect("postgresql://me:secret@127.0.0.1:1/trades").unwrap_err();
/// let text = e.to_string();
/// assert!(text.contains("postgresql://me@127.0.0.1:1/trades"), "{text}");
/// assert!(!text.contains("secret"));
/// ```
pub fn connect(url: &str) -> Result<Database, SinkError> {
    let mut config = Config::from_str(url).map_err(|source| SinkError::BadUrl {
        url: redact(url),
        source,
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("ledger sink");
    }
    let name = describe(&config);
    let client = config.connect(NoTls).map_err(|source| SinkError::Connect {
        database: name.clone(),
        source,
    })?;
    Ok(Database { client, name })
}

/// The database a configuration names, as `postgresql://USER@HOST:PORT/DATABASE`
/// (a socket folder as host), without the password.
pub fn describe(config: &Config) -> String {
    let user = config.get_user().unwrap_or("");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    let at = if user.is_empty() { "" } else { "@" };
    format!("postgresql://{user}{at}{host}:{port}/{db}")
}

/// `url` with any password replaced by `***`: the `user:password@` of a
/// URL, and `password=...` in a URL's query or a `key=value` string.
///
/// ```
/// use ledger_tools::sink::connect::redact;
/// assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
/// assert_eq!(redact("host=h password=pw user=u"), "host=h password=*** user=u");
/// assert_eq!(redact("postgres://h/db?password=pw&x=1"), "postgres://h/db?password=***&x=1");
/// ```
pub fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    let mut from = 0;
    while let Some(i) = out[from..].find("password=") {
        let start = from + i + "password=".len();
        let end = out[start..]
            .find(['&', ' ', '\t'])
            .map_or(out.len(), |j| start + j);
        out.replace_range(start..end, "***");
        from = start + 3;
    }
    out
}
