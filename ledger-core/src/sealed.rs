//! Opening a sealed segment: the segment walker judges its bytes every time
//! (its name against the blake3 of its bytes, its header, every record's
//! envelope, sequence and time, and its footer against the records: a footer
//! that claims other records than the segment holds is refused, even in a
//! segment renamed to its new content address after being edited).

use std::sync::Arc;

use crate::error::{Defect, Error, IoContext, Result};
use crate::finding::{Finding, FindingKind};
use crate::layout::SealedFile;
use crate::segment::footer::SegmentFooter;
use crate::segment::header::SegmentHeader;
use crate::segment::walk::{walk_segment, Expect, Role};
use crate::storage::{SegmentMap, Storage};
use crate::types::LedgerId;

/// A sealed segment whose content address, header and footer were checked.
pub struct SealedSegment {
    /// The file.
    pub file: SealedFile,
    /// Its bytes.
    pub map: Arc<dyn SegmentMap>,
    /// Its header.
    pub header: SegmentHeader,
    /// Its footer.
    pub footer: SegmentFooter,
}

impl std::fmt::Debug for SealedSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSegment")
            .field("file", &self.file)
            .field("header", &self.header)
            .field("footer", &self.footer)
            .finish()
    }
}

/// The error for the first damage a walk found.
pub(crate) fn corrupt_from(f: &Finding) -> Error {
    Error::Corrupt {
        segment: f.segment.clone(),
        offset: f.offset.unwrap_or(0),
        seq: f.seq,
        defect: Defect::finding(f.kind, f.detail.clone()),
    }
}

impl SealedSegment {
    /// Maps and checks a sealed segment of the ledger `ledger`: the segment
    /// walker's judgement of its bytes (content address, header, every
    /// record's envelope, sequence and time, the footer against the
    /// records) must find nothing wrong. Chain hashes are not recomputed
    /// (verification does that).
    pub fn open(storage: &dyn Storage, file: &SealedFile, ledger: &LedgerId) -> Result<Self> {
        let map = storage
            .map_segment(&file.name)
            .ctx("map", storage.path_of(&file.name))?;
        let data = map.bytes(0, map.len()).unwrap_or_default();
        let (header, footer) = Self::check(&file.name, data, file, ledger)?;
        Ok(SealedSegment {
            file: file.clone(),
            map,
            header,
            footer,
        })
    }

    /// Decodes a sealed segment's header and the footer at its end, without
    /// walking its records (for callers that check the content address, and
    /// so everything, later): the first sequences must agree.
    pub fn header_and_footer(name: &str, data: &[u8]) -> Result<(SegmentHeader, SegmentFooter)> {
        let bad = |offset: usize, defect: Defect| Error::Corrupt {
            segment: name.to_owned(),
            offset: offset as u64,
            seq: None,
            defect,
        };
        let header = SegmentHeader::decode(data).map_err(|d| bad(0, d.into()))?;
        let at = data
            .len()
            .checked_sub(crate::segment::footer::FOOTER_LEN)
            .ok_or_else(|| {
                bad(
                    0,
                    Defect::finding(
                        FindingKind::Footer,
                        format!("a file of {} bytes has no footer", data.len()),
                    ),
                )
            })?;
        let footer = SegmentFooter::decode(data, at).map_err(|d| bad(at, d.into()))?;
        if footer.first_seq != header.first_seq {
            return Err(bad(
                at,
                Defect::finding(
                    FindingKind::Footer,
                    format!(
                        "the footer's first sequence is {}, the header's {}",
                        footer.first_seq, header.first_seq
                    ),
                ),
            ));
        }
        Ok((header, footer))
    }

    /// Judges the bytes a sealed segment `file` would hold (the sealed image
    /// of a full segment not yet sealed) like [`SealedSegment::open`]
    /// judges a file; returns its footer.
    pub(crate) fn check_bytes(
        file: &SealedFile,
        data: &[u8],
        ledger: &LedgerId,
    ) -> Result<SegmentFooter> {
        Self::check(&file.name, data, file, ledger).map(|(_, footer)| footer)
    }

    /// Judges a sealed segment's bytes with the segment walker.
    fn check(
        name: &str,
        data: &[u8],
        file: &SealedFile,
        ledger: &LedgerId,
    ) -> Result<(SegmentHeader, SegmentFooter)> {
        let expect = Expect {
            role: Role::Sealed(file.address),
            ordinal: Some(file.ordinal),
            ledger: Some(*ledger),
            check_chain: false,
        };
        let walk = walk_segment(name, data, &expect, |_, _| {});
        if let Some(f) = walk.findings.iter().find(|f| f.kind.is_damage()) {
            return Err(match f.kind {
                FindingKind::ContentAddress => Error::ContentAddress {
                    segment: name.to_owned(),
                    expected: file.address,
                    actual: walk.actual_address.unwrap_or(file.address),
                },
                FindingKind::ForeignSegment => match &walk.header {
                    Ok(h) => Error::ForeignSegment {
                        segment: name.to_owned(),
                        expected: *ledger,
                        found: h.ledger_id,
                    },
                    Err(_) => corrupt_from(f),
                },
                _ => corrupt_from(f),
            });
        }
        match (walk.header, walk.footer) {
            (Ok(h), Some((_, Ok(footer)))) => Ok((h, footer)),
            _ => Err(Error::Corrupt {
                segment: name.to_owned(),
                offset: 0,
                seq: None,
                defect: Defect::finding(
                    FindingKind::Footer,
                    "the segment's header or footer could not be read",
                ),
            }),
        }
    }
}
