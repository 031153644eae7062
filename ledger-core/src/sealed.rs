//! Opening a sealed segment: its name is checked against the blake3 of its
//! bytes every time, then its header and footer, and the footer against the
//! records (a walk over their length words and CRCs: a footer that claims
//! other records than the segment holds is refused, even in a segment renamed
//! to its new content address after being edited).

use std::sync::Arc;

use crate::error::{Error, IoContext, Result};
use crate::layout::SealedFile;
use crate::segment::footer::{SegmentFooter, FOOTER_LEN};
use crate::segment::header::{SegmentHeader, HEADER_LEN};
use crate::segment::record::{self, RecordRef, Slot};
use crate::storage::{SegmentMap, Storage};
use crate::types::{ContentHash, LedgerId, Seq};

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

fn corrupt(name: &str, offset: usize, seq: Option<Seq>, reason: impl ToString) -> Error {
    Error::Corrupt {
        segment: name.to_owned(),
        offset: offset as u64,
        seq,
        reason: reason.to_string(),
    }
}

impl SealedSegment {
    /// Maps and checks a sealed segment of the ledger `ledger`.
    pub fn open(storage: &dyn Storage, file: &SealedFile, ledger: &LedgerId) -> Result<Self> {
        let map = storage
            .map_segment(&file.name, false)
            .ctx("map", storage.path_of(&file.name))?;
        let data = map.bytes(0, map.len()).unwrap_or_default();
        let actual = ContentHash::of(data);
        if actual != file.address {
            return Err(Error::ContentAddress {
                segment: file.name.clone(),
                expected: file.address,
                actual,
            });
        }
        let (header, footer) = Self::check_structure(&file.name, data)?;
        if header.ledger_id != *ledger {
            return Err(Error::ForeignSegment {
                segment: file.name.clone(),
                expected: *ledger,
                found: header.ledger_id,
            });
        }
        if header.ordinal != file.ordinal {
            return Err(corrupt(
                &file.name,
                32,
                None,
                format!(
                    "header says ordinal {}, the name {}",
                    header.ordinal, file.ordinal
                ),
            ));
        }
        Self::check_footer_against_records(&file.name, data, &footer)?;
        Ok(SealedSegment {
            file: file.clone(),
            map,
            header,
            footer,
        })
    }

    /// Checks the header and the footer of a sealed segment's bytes.
    pub fn check_structure(name: &str, data: &[u8]) -> Result<(SegmentHeader, SegmentFooter)> {
        let header = SegmentHeader::decode(data).map_err(|d| corrupt(name, 0, None, d))?;
        let footer_at = data.len().checked_sub(FOOTER_LEN).ok_or_else(|| {
            corrupt(
                name,
                0,
                None,
                format!("file of {} bytes has no room for a footer", data.len()),
            )
        })?;
        let footer = SegmentFooter::decode(data, footer_at)
            .map_err(|d| corrupt(name, footer_at, None, d))?;
        if footer.first_seq != header.first_seq {
            return Err(corrupt(
                name,
                footer_at,
                None,
                format!(
                    "footer says the first sequence is {}, the header {}",
                    footer.first_seq, header.first_seq
                ),
            ));
        }
        Ok((header, footer))
    }

    /// Walks the records from the header to the footer (length words and
    /// CRCs, not the chain) and checks the footer against them: the records
    /// end exactly at the footer, there are `count` of them (at least one),
    /// numbered from the first sequence without a gap, and the first and
    /// last records' times and the last one's chain hash are the footer's.
    pub fn check_footer_against_records(
        name: &str,
        data: &[u8],
        footer: &SegmentFooter,
    ) -> Result<()> {
        let footer_at = data.len().saturating_sub(FOOTER_LEN);
        let records = data.get(..footer_at).unwrap_or_default();
        let mut pos = HEADER_LEN;
        let mut count = 0u64;
        let mut first: Option<RecordRef<'_>> = None;
        let mut last: Option<RecordRef<'_>> = None;
        while pos < footer_at {
            match record::parse_at(records, pos) {
                Ok(Slot::Record(r)) => {
                    let expected = footer.first_seq.get().checked_add(count);
                    if Some(r.seq.get()) != expected {
                        return Err(corrupt(
                            name,
                            pos,
                            Some(r.seq),
                            format!(
                                "record {} of the segment has sequence {}, not {}",
                                count + 1,
                                r.seq,
                                footer.first_seq.get().saturating_add(count)
                            ),
                        ));
                    }
                    pos += r.padded_len();
                    count += 1;
                    first.get_or_insert(r);
                    last = Some(r);
                }
                Ok(_) => {
                    return Err(corrupt(
                        name,
                        pos,
                        None,
                        format!("the records end at {pos}, before the footer at {footer_at}"),
                    ))
                }
                Err(d) => return Err(corrupt(name, pos, None, d)),
            }
        }
        let (Some(first), Some(last)) = (first, last) else {
            return Err(corrupt(
                name,
                HEADER_LEN,
                None,
                "a sealed segment without records",
            ));
        };
        let mismatch = if pos != footer_at {
            Some(format!(
                "the last record runs past the footer at {footer_at}"
            ))
        } else if count != footer.count {
            Some(format!(
                "the footer counts {} records, the segment holds {count}",
                footer.count
            ))
        } else if last.seq != footer.last_seq {
            Some(format!(
                "the footer's last sequence is {}, the last record's {}",
                footer.last_seq, last.seq
            ))
        } else if last.chain_hash != footer.last_hash {
            Some("the footer's last chain hash is not the last record's".to_owned())
        } else if last.timestamp != footer.last_ts || first.timestamp != footer.first_ts {
            Some("the footer's times are not its records'".to_owned())
        } else {
            None
        };
        match mismatch {
            Some(reason) => Err(corrupt(name, footer_at, Some(footer.last_seq), reason)),
            None => Ok(()),
        }
    }
}
