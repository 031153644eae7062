//! The commands' error type, its exit code, and how it is printed.

use std::io;
use std::path::PathBuf;

use crate::exit::Exit;

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The storage engine refused or failed.
    #[error(transparent)]
    Ledger(#[from] ledger_core::Error),
    /// The trading domain refused or failed (a validation error names the
    /// event's field; a decode error names the record).
    #[error(transparent)]
    Domain(ledger_domain::DomainError),
    /// A file outside the ledger (key, checkpoint, output file) could not be
    /// read or written.
    #[error("cannot {op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A key file given on the command line does not hold a key.
    #[error("{path}: {error}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (also in the message).
        #[source]
        error: ledger_core::CheckpointError,
    },
    /// The ledger is damaged, so the command refused to go on (for example,
    /// to sign a checkpoint of it).
    #[error("{what}: the ledger in {dir} is damaged ({findings} finding(s), the first: {first}); `ledger verify` shows them all")]
    Damaged {
        /// What was refused.
        what: &'static str,
        /// The ledger folder.
        dir: PathBuf,
        /// How many findings of damage.
        findings: usize,
        /// The first finding.
        first: String,
    },
    /// The command cannot do what was asked with this ledger.
    #[error("{0}")]
    Refused(String),
    /// The command line is incomplete in a way clap cannot check (the
    /// ledger folder, which may also come from `LEDGER_DIR`).
    #[error(transparent)]
    Usage(#[from] clap::Error),
    /// Writing the command's output failed.
    #[error("cannot write the output")]
    Output(#[source] io::Error),
    /// A line of `ledger append`'s input was refused: malformed JSON, an
    /// unknown kind, a bad field, or an event validation refused. The lines
    /// before it were appended and are intact; nothing after it was.
    #[error("{input}: line {line}: {reason}; {appended} event(s) before it were appended and are intact, nothing from this line on was appended")]
    BadLine {
        /// The input (a file name, or `standard input`).
        input: String,
        /// The line number, from 1.
        line: u64,
        /// Why it was refused.
        reason: String,
        /// Events appended from the lines before it.
        appended: u64,
    },
    /// The secondary index refused or failed.
    #[error(transparent)]
    Index(ledger_index::IndexError),
    /// An object store (`ledger ship --to URL`) could not be opened,
    /// reached, read or written.
    #[error("{what}")]
    Store {
        /// What was being done, naming the URL or the object.
        what: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },
    /// A segment's bytes (a local file or an object in a store) do not hash
    /// to the content address its name claims.
    #[error(
        "{object}: content address mismatch: the name says {expected}, the bytes hash to {actual}{}",
        if *.in_store { " (the store's copy is damaged: remove that object and ship again)" } else { "" }
    )]
    ContentAddress {
        /// Whether the bytes are an object in a store (not a local file).
        in_store: bool,
        /// The file or object (with its store's URL).
        object: String,
        /// The address in the name.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// `ledger sink` failed (the database, or the ledger against it).
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
}

impl ToolError {
    /// The exit code this error ends the program with.
    pub fn exit(&self) -> Exit {
        match self {
            ToolError::Ledger(e) => ledger_exit(e),
            ToolError::Domain(ledger_domain::DomainError::Ledger(e)) => ledger_exit(e),
            ToolError::Domain(ledger_domain::DomainError::Decode { .. }) => Exit::Damage,
            ToolError::Damaged { .. } => Exit::Damage,
            ToolError::ContentAddress { .. } => Exit::Damage,
            ToolError::Index(ledger_index::IndexError::Ledger(e)) => ledger_exit(e),
            ToolError::Index(ledger_index::IndexError::UnknownFamily { .. }) => Exit::Failure,
            ToolError::Index(_) => Exit::Damage,
            ToolError::Sink(e) => e.exit(),
            ToolError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
            _ => Exit::Failure,
        }
    }

    /// Whether this is a closed output pipe (the reader went away: not an error).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ToolError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl From<ledger_domain::ReportError> for ToolError {
    fn from(e: ledger_domain::ReportError) -> Self {
        ToolError::Domain(e.into())
    }
}

impl From<ledger_domain::DomainError> for ToolError {
    fn from(e: ledger_domain::DomainError) -> Self {
        match e {
            ledger_domain::DomainError::Ledger(e) => ToolError::Ledger(e),
            ledger_domain::DomainError::Index(e) => ToolError::from(e),
            other => ToolError::Domain(other),
        }
    }
}

impl From<ledger_index::IndexError> for ToolError {
    fn from(e: ledger_index::IndexError) -> Self {
        match e {
            ledger_index::IndexError::Ledger(e) => ToolError::Ledger(e),
            other => ToolError::Index(other),
        }
    }
}

/// The exit code of an engine error: damage to committed data is code 1,
/// everything else (missing folder, foreign folder, I/O, lock) code 2.
pub fn ledger_exit(e: &ledger_core::Error) -> Exit {
    use ledger_core::Error as E;
    match e {
        E::Corrupt { .. }
        | E::ContentAddress { .. }
        | E::MissingSegment { .. }
        | E::ForeignSegment { .. }
        | E::BadMeta { .. } => Exit::Damage,
        _ => Exit::Failure,
    }
}

/// The command's verdict once its output is written: a reader that closed
/// the pipe early (`ledger verify | head -1`) does not change the verdict.
pub(crate) fn finish(exit: Exit, written: io::Result<()>) -> Result<Exit, ToolError> {
    match written {
        Ok(()) => Ok(exit),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit),
        Err(e) => Err(ToolError::Output(e)),
    }
}

/// An I/O error with the operation and file it concerns.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> ToolError {
    let path = path.into();
    move |source| ToolError::Io { op, path, source }
}

/// The error's message followed by its causes, joined by `": "`.
///
/// A cause whose text the message already ends with is left out: some
/// errors (the engine's I/O errors) print their source themselves and also
/// return it as their cause.
///
/// ```
/// use ledger_tools::error::error_chain;
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let e = ledger_tools::ToolError::Io { op: "read", path: "k.key".into(), source: io };
/// assert_eq!(error_chain(&e), "cannot read k.key: no such file");
/// ```
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !part.is_empty() && !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_io_errors_are_not_printed_twice() {
        let e = ToolError::from(ledger_core::Error::Io {
            op: "list",
            path: "/x".into(),
            error: io::Error::new(io::ErrorKind::PermissionDenied, "denied"),
        });
        assert_eq!(error_chain(&e), "list /x: denied");
        assert_eq!(e.exit(), Exit::Failure);
    }

    #[test]
    fn typed_sources_are_printed_once() {
        let text = format!(
            "tradeledger-checkpoint v1\npublic-key: {}\nsignature: {}\nledger-id: {}\nsequence: x\n",
            "0".repeat(64),
            "0".repeat(128),
            "0".repeat(32)
        );
        let error = ledger_core::Checkpoint::from_text(&text).unwrap_err();
        let e = ToolError::from(ledger_core::Error::Checkpoint {
            path: "c.txt".into(),
            error: Box::new(error),
        });
        assert_eq!(
            error_chain(&e),
            "checkpoint c.txt: field \"sequence\": invalid digit found in string"
        );
        let key = ledger_core::public_key_from_text("zz").unwrap_err();
        let e = ToolError::BadKey {
            path: "k.pub".into(),
            error: key,
        };
        assert_eq!(
            error_chain(&e),
            "k.pub: a public key file holds 64 hexadecimal digits: Invalid string length"
        );
        assert_eq!(e.exit(), Exit::Failure);
    }

    #[test]
    fn damage_and_missing_folders_have_their_codes() {
        let missing = ledger_core::Error::NoSuchFolder { path: "/x".into() };
        assert_eq!(ToolError::from(missing).exit(), Exit::Failure);
        let corrupt = ledger_core::Error::Corrupt {
            segment: "s".into(),
            offset: 1,
            seq: None,
            defect: ledger_core::Defect::finding(ledger_core::FindingKind::Crc, "r"),
        };
        // The typed defect is the error's source, printed once.
        assert_eq!(error_chain(&corrupt), "s: damage at offset 1: crc: r");
        assert_eq!(ToolError::from(corrupt).exit(), Exit::Damage);
        let pipe = ToolError::Output(io::ErrorKind::BrokenPipe.into());
        assert!(pipe.is_broken_pipe());
        assert_eq!(pipe.exit(), Exit::Success);
    }
}

macro_rules! from_engine_op {
    ($($op:ident),*) => {$(
        impl From<ledger_core::$op> for ToolError {
            fn from(e: ledger_core::$op) -> Self {
                ToolError::Ledger(e.into())
            }
        }
    )*};
}
from_engine_op!(OpenError, ReadError, AppendError, VerifyError);
