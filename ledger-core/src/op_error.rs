//! Errors per operation, in redb's style: opening ([`OpenError`]),
//! appending ([`AppendError`]), reading ([`ReadError`]) and verifying
//! ([`VerifyError`]) each have an error type with exactly the cases that
//! operation can meet, and each converts into the crate's [`Error`].
//!
//! A case means the same thing, with the same fields and message, in every
//! type that has it and in [`Error`]; the variants are written once, below,
//! and each type lists the ones it has.

use std::io;
use std::path::PathBuf;

use crate::error::{Defect, Error};
use crate::meta::MetaDefect;
use crate::types::{ContentHash, LedgerId, SegmentOrdinal, Seq, Timestamp};

/// Defines an error type with the listed cases of [`Error`], the
/// conversion into [`Error`], and the conversion from it (a case the
/// operation cannot meet is kept whole as the source of an `Io` case: the
/// engine never produces it there).
macro_rules! op_error {
    ($(#[$meta:meta])* $name:ident { $($case:ident),+ $(,)? }) => {
        op_error!(@build [$(#[$meta])*] $name [] [] [] $($case)+);
    };
    (@build [$($meta:tt)*] $name:ident [$($variants:tt)*] [$($into:tt)*] [$($from:tt)*] $case:ident $($rest:ident)*) => {
        op_error!(@case $case, $name, [$($meta)*], [$($variants)*], [$($into)*], [$($from)*], [$($rest)*]);
    };
    (@build [$($meta:tt)*] $name:ident [$($variants:tt)*] [$($into:tt)*] [$($from:tt)*]) => {
        $($meta)*
        #[derive(Debug, thiserror::Error)]
        #[non_exhaustive]
        pub enum $name { $($variants)* }

        impl From<$name> for Error {
            fn from(e: $name) -> Error {
                match e { $($into)* }
            }
        }

        impl From<Error> for $name {
            fn from(e: Error) -> $name {
                match e {
                    $($from)*
                    other => $name::Io {
                        op: "(an engine error this operation does not produce)",
                        path: PathBuf::new(),
                        error: io::Error::other(other),
                    },
                }
            }
        }
    };
    // One case: its variant, and its arms both ways.
    (@case $case:ident, $name:ident, [$($meta:tt)*], [$($variants:tt)*], [$($into:tt)*], [$($from:tt)*], [$($rest:ident)*]) => {
        op_error!(@fields $case, $name, [$($meta)*], [$($variants)*], [$($into)*], [$($from)*], [$($rest)*]);
    };
    (@emit $case:ident, $name:ident, [$($meta:tt)*], [$($variants:tt)*], [$($into:tt)*], [$($from:tt)*], [$($rest:ident)*],
        [$($vattr:tt)*] { $($(#[$fattr:meta])* $field:ident : $ty:ty => $doc:literal),* }) => {
        op_error!(@build [$($meta)*] $name
            [$($variants)* $($vattr)* $case { $(#[doc = $doc] $(#[$fattr])* $field: $ty),* },]
            [$($into)* $name::$case { $($field),* } => Error::$case { $($field),* },]
            [$($from)* Error::$case { $($field),* } => $name::$case { $($field),* },]
            $($rest)*);
    };
    (@fields Io, $($t:tt)*) => { op_error!(@emit Io, $($t)*,
        [#[doc = "An I/O operation failed."] #[error("{op} {path}: {error}")]]
        { op: &'static str => "What was being done.", path: PathBuf => "On which file or folder.", error: io::Error => "The operating system's error (part of the message)." }); };
    (@fields NoSuchFolder, $($t:tt)*) => { op_error!(@emit NoSuchFolder, $($t)*,
        [#[doc = "The ledger folder does not exist."] #[error("ledger folder {path} does not exist")]]
        { path: PathBuf => "The folder." }); };
    (@fields NotALedger, $($t:tt)*) => { op_error!(@emit NotALedger, $($t)*,
        [#[doc = "The folder exists but holds no ledger."] #[error("{path} holds no ledger (no LEDGER file){detail}")]]
        { path: PathBuf => "The folder.", detail: String => "What the folder holds instead." }); };
    (@fields FolderNotEmpty, $($t:tt)*) => { op_error!(@emit FolderNotEmpty, $($t)*,
        [#[doc = "Refusing to create a ledger in a folder that holds other files."] #[error("{path} is not empty and holds no ledger; refusing to create a ledger there")]]
        { path: PathBuf => "The folder." }); };
    (@fields AlreadyExists, $($t:tt)*) => { op_error!(@emit AlreadyExists, $($t)*,
        [#[doc = "Refusing to create a ledger where one exists."] #[error("{path} already holds a ledger")]]
        { path: PathBuf => "The folder." }); };
    (@fields Locked, $($t:tt)*) => { op_error!(@emit Locked, $($t)*,
        [#[doc = "Another writer holds the ledger's lock."] #[error("another writer (in this or another process) holds the lock on {path}; a ledger has exactly one writer (the lock is on the LOCK and LEDGER files, which a hard-linked copy of the folder shares)")]]
        { path: PathBuf => "The lock file." }); };
    (@fields BadMeta, $($t:tt)*) => { op_error!(@emit BadMeta, $($t)*,
        [#[doc = "The `LEDGER` identity file is damaged."] #[error("ledger identity file {path} is damaged: {defect}")]]
        { path: PathBuf => "The file.", #[source] defect: MetaDefect => "What is wrong." }); };
    (@fields Corrupt, $($t:tt)*) => { op_error!(@emit Corrupt, $($t)*,
        [#[doc = "Committed data is damaged: never cut silently."] #[error("{segment}: damage at offset {offset}{}: {defect}", crate::error::fmt_seq(.seq))]]
        { segment: String => "The segment file.", offset: u64 => "Offset of the damage in the file.", seq: Option<Seq> => "The sequence number expected there, when known.", #[source] defect: Defect => "What is wrong." }); };
    (@fields MissingSegment, $($t:tt)*) => { op_error!(@emit MissingSegment, $($t)*,
        [#[doc = "A segment is missing from the sequence of segments."] #[error("segment {ordinal} is missing: {detail}")]]
        { ordinal: SegmentOrdinal => "The ordinal that has no file.", detail: String => "What was found instead." }); };
    (@fields ContentAddress, $($t:tt)*) => { op_error!(@emit ContentAddress, $($t)*,
        [#[doc = "A sealed segment's bytes do not hash to its name."] #[error("{segment}: content address mismatch: the name says {expected}, the bytes hash to {actual}")]]
        { segment: String => "The segment file.", expected: ContentHash => "The hash in the name.", actual: ContentHash => "The hash of the bytes." }); };
    (@fields ForeignSegment, $($t:tt)*) => { op_error!(@emit ForeignSegment, $($t)*,
        [#[doc = "A segment of another ledger is in the folder."] #[error("{segment} belongs to ledger {found}, not to this ledger {expected}")]]
        { segment: String => "The segment file.", expected: LedgerId => "This ledger.", found: LedgerId => "The id in the segment." }); };
    (@fields RecordTooLarge, $($t:tt)*) => { op_error!(@emit RecordTooLarge, $($t)*,
        [#[doc = "A record does not fit in a segment."] #[error("a record of {len} bytes cannot be stored: a segment holds records of at most {max} bytes")]]
        { len: usize => "Encoded record size.", max: usize => "Largest size that fits." }); };
    (@fields TimeWentBackwards, $($t:tt)*) => { op_error!(@emit TimeWentBackwards, $($t)*,
        [#[doc = "A record's timestamp is before the previous record's."] #[error("record {seq}: timestamp {found} is before the previous record's {last}; times never decrease along the chain")]]
        { seq: Seq => "The sequence the record would have had.", last: Timestamp => "The previous record's time.", found: Timestamp => "The refused time." }); };
    (@fields TimeTooFarAhead, $($t:tt)*) => { op_error!(@emit TimeTooFarAhead, $($t)*,
        [#[doc = "A record's timestamp is further ahead of the writer's clock than the writer allows."] #[error("record {seq}: timestamp {found} is more than {skew_secs} s ahead of this machine's clock ({clock}); times never decrease along the chain, so every later record would be held to it: correct the time (or the clock), or raise the writer's max_clock_skew")]]
        { seq: Seq => "The sequence the record would have had.", found: Timestamp => "The refused time.", clock: Timestamp => "The writer's clock when it refused.", skew_secs: u64 => "The allowed skew, in seconds." }); };
    (@fields Poisoned, $($t:tt)*) => { op_error!(@emit Poisoned, $($t)*,
        [#[doc = "The writer stopped after a failed flush, seal or segment start."] #[error("the writer stopped accepting appends after a failed write to disk ({cause}); the kernel may have dropped unflushed pages, so reopen the ledger to recover from what is on disk")]]
        { cause: String => "The flush error." }); };
    (@fields Closed, $($t:tt)*) => { op_error!(@emit Closed, $($t)*,
        [#[doc = "The writer was closed."] #[error("the writer is closed")]]
        { }); };
    (@fields NoSuchSeq, $($t:tt)*) => { op_error!(@emit NoSuchSeq, $($t)*,
        [#[doc = "A sequence number outside the ledger."] #[error("sequence {seq} is not in the ledger (it holds 1..={head})")]]
        { seq: Seq => "The sequence asked for.", head: u64 => "The last sequence of the ledger (0 when empty)." }); };
}

op_error! {
    /// Why a ledger could not be created or opened, by a writer
    /// ([`crate::Writer::open`] and friends, which also run recovery) or a
    /// reader ([`crate::Reader::open`]).
    OpenError {
        Io, NoSuchFolder, NotALedger, FolderNotEmpty, AlreadyExists, Locked, BadMeta, Corrupt,
        MissingSegment, ContentAddress, ForeignSegment,
    }
}

op_error! {
    /// Why an append (or a flush, a wait for durability of a sequence the
    /// writer has not given yet, closing the writer) failed. A segment is sealed and the next one started on the
    /// way, so file errors can occur.
    AppendError {
        Io, Corrupt, RecordTooLarge, TimeWentBackwards, TimeTooFarAhead, Poisoned, Closed,
        NoSuchSeq,
    }
}

op_error! {
    /// Why reading records failed: a cursor opens each segment as it comes
    /// to it (checking the sealed ones whole), and can be asked for a
    /// record the ledger does not hold.
    ReadError {
        Io, NoSuchFolder, NotALedger, BadMeta, Corrupt, MissingSegment, ContentAddress,
        ForeignSegment, NoSuchSeq,
    }
}

op_error! {
    /// Why a verification could not run at all (damage is never an error
    /// of verification: it is a finding of its report).
    VerifyError {
        Io, NoSuchFolder, NotALedger,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_case_converts_both_ways_with_the_same_message() {
        let locked = || Error::Locked {
            path: "/l/LOCK".into(),
        };
        let open = OpenError::from(locked());
        assert!(matches!(open, OpenError::Locked { .. }));
        assert_eq!(open.to_string(), locked().to_string());
        assert!(matches!(Error::from(open), Error::Locked { .. }));

        let closed = AppendError::from(Error::Closed);
        assert!(matches!(closed, AppendError::Closed {}));
        assert_eq!(closed.to_string(), Error::Closed.to_string());

        let seq = ReadError::from(Error::NoSuchSeq {
            seq: Seq::new(9),
            head: 3,
        });
        assert_eq!(
            seq.to_string(),
            "sequence 9 is not in the ledger (it holds 1..=3)"
        );
    }

    #[test]
    fn a_case_an_operation_cannot_meet_is_kept_whole_as_a_source() {
        let e = VerifyError::from(Error::Closed);
        let VerifyError::Io { error, .. } = &e else {
            panic!("{e:?}")
        };
        let inner = error.get_ref().map(ToString::to_string);
        assert_eq!(inner.as_deref(), Some("the writer is closed"));
    }
}
