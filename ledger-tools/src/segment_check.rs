//! Examines one segment file's bytes on their own, with the engine's
//! decoders (`ledger_core::segment::{header, record, footer, names}`):
//! content address, header, durable watermark, every record (envelope,
//! sequence, time order and chain link from the header's previous hash),
//! footer, and the bytes after the data. Used by `ledger inspect` and
//! `ledger repair`. Takes `&[u8]`: it never needs, and never changes, the
//! file or the folder around it.

use ledger_core::segment::footer::{SegmentFooter, FOOTER_LEN};
use ledger_core::segment::header::{decode_watermark, SegmentHeader, HEADER_LEN};
use ledger_core::segment::names::SegmentName;
use ledger_core::segment::record::{self, Slot};
use ledger_core::segment::{check_and_advance, ChainState, RecordProblem};
use ledger_core::{ChainHash, ContentHash, Kind, SchemaVersion, Seq, Timestamp};

/// A record as listed by `ledger inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// Sequence number.
    pub seq: Seq,
    /// Offset in the file.
    pub offset: u64,
    /// Kind.
    pub kind: Kind,
    /// Schema version.
    pub version: SchemaVersion,
    /// Time.
    pub time: Timestamp,
    /// Payload bytes.
    pub payload_len: u64,
    /// Stored chain hash.
    pub chain_hash: ChainHash,
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Committed data is damaged or was tampered with.
    Damage,
    /// The trace of a crash that the next open recovers from (a torn tail,
    /// an interrupted seal): not damage.
    Notice,
}

/// Something wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Damage or notice.
    pub severity: Severity,
    /// Short snake_case name (`content_address`, `header`, `crc`, ...).
    pub kind: &'static str,
    /// Where, when known.
    pub offset: Option<u64>,
    /// The sequence number concerned, when known.
    pub seq: Option<Seq>,
    /// What is wrong.
    pub detail: String,
}

/// Where the walk over the records stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// An empty slot: the end of the data of an active segment.
    End(u64),
    /// The footer marker.
    Footer(u64),
    /// The file ended inside a record or before the header's end.
    OutOfData(u64),
    /// An invalid record.
    Invalid(u64, String),
}

/// What [`check_segment`] found.
#[derive(Debug, Clone)]
pub struct SegmentCheck {
    /// The file's size.
    pub file_len: u64,
    /// What the file's name says it is, if it is a segment name.
    pub name: Option<SegmentName>,
    /// For a sealed segment's name: the blake3 of the bytes.
    pub actual_address: Option<ContentHash>,
    /// The header, or why it does not decode.
    pub header: Result<SegmentHeader, String>,
    /// The durable watermark, or why it is invalid.
    pub watermark: Result<u64, String>,
    /// The first records, as many as asked.
    pub records: Vec<RecordInfo>,
    /// Valid records walked.
    pub count: u64,
    /// First and last valid record: sequence, time.
    pub first: Option<(Seq, Timestamp)>,
    /// The last valid record: sequence, time, chain hash.
    pub last: Option<(Seq, Timestamp, ChainHash)>,
    /// Offset after the last valid record.
    pub end: u64,
    /// Where the walk stopped.
    pub stop: Stop,
    /// The footer (at the walk's stop, or at the end of a file named
    /// sealed), or why it does not decode.
    pub footer: Option<(u64, Result<SegmentFooter, String>)>,
    /// Offset after record `target` (see [`check_segment`]), when walked.
    pub target_end: Option<u64>,
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
}

impl SegmentCheck {
    /// Whether any problem is damage.
    pub fn is_damaged(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Damage)
    }
}

fn damage(
    kind: &'static str,
    offset: Option<u64>,
    seq: Option<Seq>,
    detail: impl Into<String>,
) -> Problem {
    Problem {
        severity: Severity::Damage,
        kind,
        offset,
        seq,
        detail: detail.into(),
    }
}

fn problem_kind(p: &RecordProblem) -> &'static str {
    match p {
        RecordProblem::Defect(_) => "crc",
        RecordProblem::Sequence { .. } => "sequence_gap",
        RecordProblem::Chain => "chain_hash",
        RecordProblem::TimeWentBackwards { .. } => "timestamp",
        _ => "record",
    }
}

/// Examines the bytes `data` of a segment file called `file_name`, listing
/// its first `keep` records and noting where record `target` ends.
pub fn check_segment(
    file_name: &str,
    data: &[u8],
    keep: usize,
    target: Option<Seq>,
) -> SegmentCheck {
    let name = SegmentName::parse(file_name);
    let mut problems = Vec::new();
    let mut actual_address = None;
    if let Some(SegmentName::Sealed(_, expected)) = name {
        let actual = ContentHash::of(data);
        actual_address = Some(actual);
        if actual != expected {
            problems.push(damage(
                "content_address",
                None,
                None,
                format!(
                    "the name says {expected}, the bytes hash to {actual}: the file was changed after it was sealed"
                ),
            ));
        }
    }
    let header = SegmentHeader::decode(data).map_err(|d| d.to_string());
    if let Err(d) = &header {
        problems.push(damage("header", Some(0), None, d.clone()));
    }
    let watermark = decode_watermark(data).map_err(|d| d.to_string());
    if let (Ok(h), Some(n)) = (&header, &name) {
        if h.ordinal != n.ordinal() {
            problems.push(damage(
                "header",
                Some(32),
                None,
                format!(
                    "the header says ordinal {}, the name {}",
                    h.ordinal,
                    n.ordinal()
                ),
            ));
        }
    }

    // Walk the records.
    let mut state: Option<ChainState> = header.as_ref().ok().map(|h| ChainState {
        next_seq: h.first_seq,
        prev_hash: h.prev_hash,
        last_ts: Timestamp::from_nanos(i64::MIN),
    });
    let mut records = Vec::new();
    let mut count = 0u64;
    let mut first = None;
    let mut last = None;
    let mut target_end = None;
    let mut off = HEADER_LEN;
    let stop = loop {
        if off + 4 > data.len() {
            break Stop::OutOfData(off as u64);
        }
        match record::parse_at(data, off) {
            Ok(Slot::Empty) => break Stop::End(off as u64),
            Ok(Slot::Footer) => break Stop::Footer(off as u64),
            Err(d) => break Stop::Invalid(off as u64, d.to_string()),
            Ok(Slot::Record(r)) => {
                let st = state.get_or_insert(ChainState {
                    // Without a header, the first record seeds the chain.
                    next_seq: r.seq,
                    prev_hash: r.chain_hash,
                    last_ts: Timestamp::from_nanos(i64::MIN),
                });
                let check_chain = count > 0 || header.is_ok();
                if let Err(p) = check_and_advance(&r, st, check_chain) {
                    problems.push(damage(
                        problem_kind(&p),
                        Some(off as u64),
                        Some(st.next_seq),
                        p.to_string(),
                    ));
                    break Stop::Invalid(off as u64, p.to_string());
                }
                count += 1;
                first.get_or_insert((r.seq, r.timestamp));
                last = Some((r.seq, r.timestamp, r.chain_hash));
                if records.len() < keep {
                    records.push(RecordInfo {
                        seq: r.seq,
                        offset: off as u64,
                        kind: r.kind,
                        version: r.version,
                        time: r.timestamp,
                        payload_len: r.payload.len() as u64,
                        chain_hash: r.chain_hash,
                    });
                }
                off += r.padded_len();
                if Some(r.seq) == target {
                    target_end = Some(off as u64);
                }
            }
        }
    };
    let end = off as u64;
    let expected_next = state.map(|s| s.next_seq);

    // The footer: where the walk stopped, or at the end of a sealed file.
    let named_sealed = matches!(name, Some(SegmentName::Sealed(..)));
    let footer_at = match &stop {
        Stop::Footer(o) => Some(*o),
        _ if named_sealed => {
            (data.len() >= HEADER_LEN + FOOTER_LEN).then(|| (data.len() - FOOTER_LEN) as u64)
        }
        _ => None,
    };
    let footer = footer_at.map(|at| {
        (
            at,
            SegmentFooter::decode(data, at as usize).map_err(|d| d.to_string()),
        )
    });

    let wm = watermark.as_ref().ok().copied();
    let sealed_like = named_sealed || matches!(stop, Stop::Footer(_));
    match &stop {
        Stop::Invalid(o, why) => {
            let torn = !sealed_like && wm.is_some_and(|w| *o >= w);
            if !problems.iter().any(|p| p.offset == Some(*o)) {
                problems.push(Problem {
                    severity: if torn {
                        Severity::Notice
                    } else {
                        Severity::Damage
                    },
                    kind: if torn { "torn_tail" } else { "crc" },
                    offset: Some(*o),
                    seq: expected_next,
                    detail: why.clone(),
                });
            } else if torn {
                if let Some(p) = problems.iter_mut().find(|p| p.offset == Some(*o)) {
                    p.severity = Severity::Notice;
                    p.detail = format!("torn tail above the durable watermark: {}", p.detail);
                    p.kind = "torn_tail";
                }
            }
        }
        Stop::OutOfData(o) => {
            let torn = !sealed_like && wm.is_some_and(|w| *o >= w) && data.len() >= HEADER_LEN;
            problems.push(Problem {
                severity: if torn {
                    Severity::Notice
                } else {
                    Severity::Damage
                },
                kind: if torn { "torn_tail" } else { "truncated" },
                offset: Some(*o),
                seq: expected_next,
                detail: if data.len() < HEADER_LEN {
                    format!("the file is {} bytes, shorter than the header", data.len())
                } else {
                    "the file ends inside a record".into()
                },
            });
        }
        Stop::End(o) => {
            if named_sealed {
                problems.push(damage(
                    "footer",
                    Some(*o),
                    expected_next,
                    "a sealed segment whose records end without a footer",
                ));
            } else {
                if let Some(w) = wm {
                    if *o < w {
                        problems.push(damage(
                            "truncated",
                            Some(*o),
                            expected_next,
                            format!("records up to offset {w} were durable, but the data ends at offset {o}"),
                        ));
                    }
                }
                if let Some(i) = data
                    .get(*o as usize..)
                    .and_then(|rest| rest.iter().position(|&b| b != 0))
                {
                    let at = *o + i as u64;
                    let torn = wm.is_some_and(|w| *o >= w);
                    problems.push(Problem {
                        severity: if torn {
                            Severity::Notice
                        } else {
                            Severity::Damage
                        },
                        kind: if torn { "torn_tail" } else { "stray_bytes" },
                        offset: Some(at),
                        seq: expected_next,
                        detail: format!("non-zero bytes after the end of the data at offset {o}"),
                    });
                }
            }
        }
        Stop::Footer(_) => {}
    }
    if let Some((at, f)) = &footer {
        match f {
            Err(d) => problems.push(damage("footer", Some(*at), None, d.clone())),
            Ok(f) => {
                let walked_to_it = stop == Stop::Footer(*at);
                let mut wrong = Vec::new();
                if walked_to_it && f.count != count {
                    wrong.push(format!("count {} but {count} records", f.count));
                }
                if let Ok(h) = &header {
                    if f.first_seq != h.first_seq {
                        wrong.push(format!(
                            "first sequence {} but the header says {}",
                            f.first_seq, h.first_seq
                        ));
                    }
                }
                if walked_to_it {
                    if let Some((seq, ts, hash)) = last {
                        if f.last_seq != seq {
                            wrong.push(format!(
                                "last sequence {} but the last record is {seq}",
                                f.last_seq
                            ));
                        }
                        if f.last_hash != hash {
                            wrong.push("last chain hash differs from the last record's".into());
                        }
                        if f.last_ts != ts || first.is_some_and(|(_, t)| t != f.first_ts) {
                            wrong.push("first or last time differs from the records'".into());
                        }
                    }
                }
                let file_end = at + FOOTER_LEN as u64;
                if named_sealed && file_end != data.len() as u64 {
                    wrong.push(format!(
                        "the file is {} bytes, it should end at {file_end} after the footer",
                        data.len()
                    ));
                }
                if named_sealed && wm.is_some_and(|w| w != *at) {
                    wrong.push(format!(
                        "the durable watermark is {}, not the footer offset {at}",
                        wm.unwrap_or_default()
                    ));
                }
                if !wrong.is_empty() {
                    problems.push(damage("footer", Some(*at), None, wrong.join("; ")));
                }
                if !named_sealed && walked_to_it && wrong.is_empty() {
                    problems.push(Problem {
                        severity: Severity::Notice,
                        kind: "interrupted_seal",
                        offset: Some(*at),
                        seq: None,
                        detail: "a footer in an unsealed file: sealing was interrupted; the next open completes it".into(),
                    });
                }
            }
        }
    }
    if let Err(d) = &watermark {
        if header.is_ok() {
            problems.push(damage("header", Some(128), None, d.clone()));
        }
    }
    if matches!(name, Some(SegmentName::Prealloc(_))) {
        // A preallocated file never holds committed data.
        for p in &mut problems {
            p.severity = Severity::Notice;
        }
    }
    problems.sort_by_key(|p| p.offset.unwrap_or(0));
    SegmentCheck {
        file_len: data.len() as u64,
        name,
        actual_address,
        header,
        watermark,
        records,
        count,
        first,
        last,
        end,
        stop,
        footer,
        target_end,
        problems,
    }
}

/// Records whose envelope (length and CRC) holds, found by scanning
/// `data` from `offset` in 8-byte steps past damage: how many, and the
/// highest sequence number among them. What a cut at `offset` would
/// remove, as far as it can be read.
pub fn readable_after(data: &[u8], offset: u64) -> (u64, Option<Seq>) {
    let from = usize::try_from(offset).unwrap_or(usize::MAX);
    record::salvage(data, from, data.len(), true).fold((0, None), |(count, max), r| {
        (count + 1, Some(max.map_or(r.seq, |m: Seq| m.max(r.seq))))
    })
}
