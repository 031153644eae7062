//! Opening a sealed segment: its name is checked against the blake3 of its
//! bytes every time, then its header and footer.

use std::sync::Arc;

use crate::error::{Error, IoContext, Result};
use crate::layout::SealedFile;
use crate::segment::footer::{SegmentFooter, FOOTER_LEN};
use crate::segment::header::SegmentHeader;
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

    /// All bytes of the segment.
    pub fn data(&self) -> &[u8] {
        self.map.bytes(0, self.map.len()).unwrap_or_default()
    }
}
