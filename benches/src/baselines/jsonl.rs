//! [`JsonlJournal`]: the audit journal as it is usually written, one JSON
//! line per event with a SHA-256 chain.

use std::fs::File;
use std::io::{BufWriter, Write};

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::{now_nanos, KIND};
use crate::{temp_dir, BoxError, Room};

/// When the journal hands its buffer to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// After every event (one `write` per event): a line survives a crash
    /// of the process as soon as it is appended, as a ledger record does.
    PerEvent,
    /// After each [`append_batch`](JsonlJournal::append_batch) (the
    /// `BufWriter` writes whenever its 8 KiB buffer fills, too).
    PerBatch,
}

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    ts: i64,
    kind: u16,
    payload: &'a str,
}

/// A JSON-lines file, one event per line:
///
/// ```text
/// {"seq":1,"ts":1767623400000000000,"kind":1,"payload":"<base64>","hash":"<hex sha256>"}
/// ```
///
/// where `hash` is `sha256(previous line's hash || the line's bytes up to
/// the closing brace without the hash field)`, so a verifier strips the
/// field and re-hashes exactly the bytes in the file. Written through a
/// `BufWriter`; never synced (no `fsync`), like the ledger without sync.
pub struct JsonlJournal {
    out: BufWriter<File>,
    line: Vec<u8>,
    b64: String,
    prev: [u8; 32],
    seq: u64,
    flush: Flush,
    /// Events still to append before the benchmarks replace the journal.
    pub room: u64,
    dir: TempDir,
}

impl JsonlJournal {
    /// A new, empty journal in a temporary folder, with room for `room` events.
    pub fn new(flush: Flush, room: u64) -> Result<Self, BoxError> {
        let dir = temp_dir()?;
        let file = File::create(dir.path().join("journal.jsonl"))?;
        Ok(JsonlJournal {
            out: BufWriter::new(file),
            line: Vec::with_capacity(1024),
            b64: String::with_capacity(1024),
            prev: [0; 32],
            seq: 0,
            flush,
            room,
            dir,
        })
    }

    /// Appends one event (and flushes it with [`Flush::PerEvent`]).
    #[inline]
    pub fn append(&mut self, payload: &[u8]) -> Result<(), BoxError> {
        self.write_line(payload)?;
        if self.flush == Flush::PerEvent {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Appends `count` events with `payload`, then flushes.
    pub fn append_batch(&mut self, payload: &[u8], count: usize) -> Result<(), BoxError> {
        for _ in 0..count {
            self.write_line(payload)?;
        }
        self.out.flush()?;
        Ok(())
    }

    #[inline]
    fn write_line(&mut self, payload: &[u8]) -> Result<(), BoxError> {
        self.seq += 1;
        self.b64.clear();
        base64::engine::general_purpose::STANDARD.encode_string(payload, &mut self.b64);
        self.line.clear();
        serde_json::to_writer(
            &mut self.line,
            &Line {
                seq: self.seq,
                ts: now_nanos(),
                kind: KIND,
                payload: &self.b64,
            },
        )?;
        let mut h = Sha256::new();
        h.update(self.prev);
        h.update(&self.line);
        self.prev = h.finalize().into();
        // Replace the closing brace by the hash field.
        self.line.pop();
        self.line.extend_from_slice(br#","hash":""#);
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.prev, &mut hex)?;
        self.line.extend_from_slice(&hex);
        self.line.extend_from_slice(b"\"}\n");
        self.out.write_all(&self.line)?;
        Ok(())
    }

    /// The hash of the last line.
    pub fn head(&self) -> [u8; 32] {
        self.prev
    }

    /// Flushes and closes the journal; returns the bytes of its file.
    pub fn close(self) -> Result<u64, BoxError> {
        let JsonlJournal { out, dir, .. } = self;
        out.into_inner().map_err(|e| e.into_error())?;
        Ok(super::dir_bytes(dir.path())?)
    }
}

impl Room for JsonlJournal {
    fn room(&mut self) -> &mut u64 {
        &mut self.room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verifies a journal the way an auditor would: strip each line's hash
    /// field, re-hash, compare.
    #[test]
    fn lines_carry_the_chain() {
        let mut j = JsonlJournal::new(Flush::PerBatch, 10).unwrap();
        j.append(b"one").unwrap();
        j.append_batch(b"two", 2).unwrap();
        // append_batch flushed every line.
        let text = std::fs::read_to_string(j.dir.path().join("journal.jsonl")).unwrap();
        let head = j.head();
        assert_eq!(j.close().unwrap(), text.len() as u64);
        let mut prev = [0u8; 32];
        for (i, line) in text.lines().enumerate() {
            let (body, hash) = line.split_once(r#","hash":""#).unwrap();
            let hash = hash.strip_suffix("\"}").unwrap();
            let mut h = Sha256::new();
            h.update(prev);
            h.update(format!("{body}}}").as_bytes());
            prev = h.finalize().into();
            assert_eq!(hex::encode(prev), hash, "line {i}");
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["seq"], i as u64 + 1);
        }
        assert_eq!(prev, head);
    }
}
