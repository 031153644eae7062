//! The threaded fold: a reading thread, decoding threads, and the calling
//! thread folding in log order.
//!
//! ```text
//! reader ──batch 0──▶ decoder 0 ──▶ ┐
//!        ──batch 1──▶ decoder 1 ──▶ ├─ calling thread: folds batch 0, 1, 2, ...
//!        ──batch 2──▶ decoder 0 ──▶ ┘
//! ```
//!
//! With one decoder, the reading thread decodes its batches itself.
//!
//! The reader walks the cursor and copies each record's payload into a
//! batch (the cursor's borrow ends at the next record); it stops where the
//! sequential fold stops (the options' limit, the log's end, a read error,
//! which ends the batch it happens in). Batches go to the decoders in turn,
//! and the folding thread takes them back in the same turn, so they arrive
//! in log order. A decoder checks every payload in full ([`view::decode_view`])
//! and records a verdict: fold it, leave it out (the session filter), fold
//! the owned event (an old schema version, upcast), or the decode error.
//! The folding thread then reads only the fields a view has from the
//! checked bytes and folds them, stopping at the first error exactly where
//! the sequential fold would.
//!
//! Every channel is bounded. When the folding thread stops early (an error
//! or a record past the limit) it drops its receivers: each decoder's next
//! send fails and it returns, dropping its own receiver, so the reader's
//! next send fails too and the scope's threads all end. A thread that
//! panics never sends its batch's end; the folding thread then stops, and
//! `std::thread::scope` re-raises the panic, so a partial fold is never
//! returned as a whole one.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::ReplayOptions;
use crate::codec::{self, DecodeError};
use crate::error::DomainError;
use crate::events::Event;
use crate::projections::Projections;
use crate::view;
use ledger_core::{ChainHash, Cursor, Kind, ReadError, SchemaVersion, Seq, Timestamp};

/// Records per batch, at most.
const BATCH_RECORDS: usize = 2048;
/// Payload bytes per batch: a batch is closed once it holds this many.
const BATCH_BYTES: usize = 512 << 10;
/// Batches waiting in each channel, at most.
const DEPTH: usize = 4;

/// A record copied out of the log.
struct Copied {
    seq: Seq,
    time: Timestamp,
    hash: ChainHash,
    kind: Kind,
    version: SchemaVersion,
    /// Its payload: `bytes[start..end]` of the batch.
    start: usize,
    end: usize,
}

/// What a decoder found a record to be.
enum Verdict {
    /// The current schema version, checked whole: fold its view.
    Fold,
    /// Another session's event (the session filter).
    Skip,
    /// An old schema version, upcast.
    Owned(Box<Event>),
    /// Not an event this build reads: the fold stops here.
    Bad(DecodeError),
}

/// Records read in a row, and what the decoder made of them.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    records: Vec<Copied>,
    verdicts: Vec<Verdict>,
    /// Set on the last batch: `Ok` where the fold ends (the log's end or
    /// the options' limit), `Err` when reading the next record failed.
    end: Option<Result<(), ReadError>>,
}

impl Batch {
    fn payload(&self, r: &Copied) -> &[u8] {
        self.bytes.get(r.start..r.end).unwrap_or_default()
    }

    /// Copies records from `cursor` until the batch is full (`false`) or
    /// the fold ends (`true`, with [`Self::end`] set).
    fn fill(&mut self, cursor: &mut Cursor, opts: &ReplayOptions) -> bool {
        while self.records.len() < BATCH_RECORDS && self.bytes.len() < BATCH_BYTES {
            let r = match cursor.next_ref() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.end = Some(Ok(()));
                    return true;
                }
                Err(e) => {
                    self.end = Some(Err(e));
                    return true;
                }
            };
            if opts.stops_at(r.seq, r.timestamp) {
                self.end = Some(Ok(()));
                return true;
            }
            if r.kind.get() >= Kind::RESERVED_START {
                continue;
            }
            let start = self.bytes.len();
            self.bytes.extend_from_slice(r.payload);
            self.records.push(Copied {
                seq: r.seq,
                time: r.timestamp,
                hash: r.chain_hash,
                kind: r.kind,
                version: r.version,
                start,
                end: self.bytes.len(),
            });
        }
        false
    }

    /// Decides each record's verdict, up to the first bad one.
    fn judge(&mut self, opts: &ReplayOptions) {
        let mut verdicts = std::mem::take(&mut self.verdicts);
        verdicts.clear();
        for r in &self.records {
            let payload = self.payload(r);
            let verdict = match view::decode_view(r.kind, r.version, payload) {
                Some(v) if opts.folds(v.session()) => Verdict::Fold,
                Some(_) => Verdict::Skip,
                None => match codec::decode(r.kind, r.version, payload) {
                    Ok(e) if opts.folds(e.session().as_str()) => Verdict::Owned(Box::new(e)),
                    Ok(_) => Verdict::Skip,
                    Err(e) => Verdict::Bad(e),
                },
            };
            let bad = matches!(verdict, Verdict::Bad(_));
            verdicts.push(verdict);
            if bad {
                break;
            }
        }
        self.verdicts = verdicts;
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
        self.verdicts.clear();
        self.end = None;
    }
}

/// Folds what `cursor` reads into `p` with `decoders` decoding threads (at
/// least one) and a reading thread; returns the events folded.
pub(super) fn fold(
    cursor: Cursor,
    p: &mut Projections,
    opts: &ReplayOptions,
    decoders: usize,
) -> Result<u64, DomainError> {
    let n = decoders.max(1);
    std::thread::scope(|s| {
        // Emptied batches go back to the reader, which reuses their buffers.
        let (recycle, recycled) = sync_channel::<Batch>(n * DEPTH * 2 + 2);
        if n == 1 {
            // One decoder: the reading thread decodes too (one hand-off
            // less, and no third thread on a two-core machine).
            let (done_tx, done_rx) = sync_channel::<Batch>(DEPTH);
            s.spawn(move || read(cursor, opts, vec![done_tx], recycled, true));
            return fold_batches(p, &[done_rx], recycle);
        }
        let mut to_decoders = Vec::with_capacity(n);
        let mut from_decoders = Vec::with_capacity(n);
        for _ in 0..n {
            let (raw_tx, raw_rx) = sync_channel::<Batch>(DEPTH);
            let (done_tx, done_rx) = sync_channel::<Batch>(DEPTH);
            s.spawn(move || decode(raw_rx, done_tx, opts));
            to_decoders.push(raw_tx);
            from_decoders.push(done_rx);
        }
        s.spawn(move || read(cursor, opts, to_decoders, recycled, false));
        fold_batches(p, &from_decoders, recycle)
        // Leaving the closure drops the receivers, which ends the other
        // threads if the fold stopped early; the scope then joins them.
    })
}

/// The reading thread: batches in turn to each decoder (or, when it
/// decodes them itself, to the folding thread).
fn read(
    mut cursor: Cursor,
    opts: &ReplayOptions,
    to: Vec<SyncSender<Batch>>,
    recycled: Receiver<Batch>,
    decodes: bool,
) {
    for next in to.iter().cycle() {
        let mut batch = recycled.try_recv().unwrap_or_default();
        batch.clear();
        let last = batch.fill(&mut cursor, opts);
        if decodes {
            batch.judge(opts);
        }
        if next.send(batch).is_err() || last {
            return;
        }
    }
}

/// A decoding thread: judges each batch and passes it on.
fn decode(from: Receiver<Batch>, to: SyncSender<Batch>, opts: &ReplayOptions) {
    for mut batch in from {
        batch.judge(opts);
        if to.send(batch).is_err() {
            return;
        }
    }
}

/// The calling thread: folds the decoders' batches in log order.
fn fold_batches(
    p: &mut Projections,
    from: &[Receiver<Batch>],
    recycle: SyncSender<Batch>,
) -> Result<u64, DomainError> {
    let mut folded = 0;
    for decoder in from.iter().cycle() {
        // A closed channel means a thread panicked before its batch's end:
        // stop, and let the scope re-raise the panic.
        let Ok(mut batch) = decoder.recv() else {
            return Ok(folded);
        };
        for (r, verdict) in batch.records.iter().zip(&batch.verdicts) {
            match verdict {
                Verdict::Fold => {
                    let payload = batch.payload(r);
                    if let Some(v) = view::decode_checked_view(r.kind, payload) {
                        p.apply_view(r.seq, r.hash, r.time, &v);
                    } else {
                        // Never for a checked payload; the owned decoder
                        // decides if it happens.
                        let e = codec::decode(r.kind, r.version, payload)
                            .map_err(|error| DomainError::Decode { seq: r.seq, error })?;
                        p.apply_view(r.seq, r.hash, r.time, &e.view());
                    }
                    folded += 1;
                }
                Verdict::Skip => {}
                Verdict::Owned(e) => {
                    p.apply_view(r.seq, r.hash, r.time, &e.view());
                    folded += 1;
                }
                Verdict::Bad(error) => {
                    return Err(DomainError::Decode {
                        seq: r.seq,
                        error: error.clone(),
                    })
                }
            }
        }
        match batch.end.take() {
            Some(Ok(())) => return Ok(folded),
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
        // The reader may have enough buffers already: then this one is freed.
        let _ = recycle.try_send(batch);
    }
    Ok(folded)
}
