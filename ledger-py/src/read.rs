//! Reading: the events iterator (through the index for key filters, a
//! cursor otherwise, as `ledger export` does) and the verification report.

use std::collections::VecDeque;
use std::path::PathBuf;

use ledger_core::{Cursor, Reader, Seq, Timestamp};
use ledger_domain::event_json::{parse_kind, ExportedEvent};
use ledger_domain::{DomainError, EventHit, TradingKeys};
use ledger_index::{Hit, LedgerIndex, Query};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::Value;

use crate::convert;
use crate::errors;

/// Events decoded per batch (with the GIL released).
const BATCH: usize = 1024;

/// What `events()` selects.
#[derive(Debug, Default)]
pub struct Filters {
    /// Event kinds (snake_case names).
    pub kinds: Vec<String>,
    /// Symbols.
    pub symbols: Vec<String>,
    /// Sessions.
    pub sessions: Vec<String>,
    /// Trades.
    pub trades: Vec<String>,
    /// First time (inclusive).
    pub start: Option<Timestamp>,
    /// Last time (exclusive).
    pub end: Option<Timestamp>,
}

impl Filters {
    fn query(&self) -> PyResult<Query> {
        let mut q = Query {
            from_time: self.start,
            to_time: self.end,
            ..Query::default()
        };
        for k in &self.kinds {
            q = q.kind(parse_kind(k).map_err(|e| PyValueError::new_err(format!("kind: {e}")))?);
        }
        for (family, keys) in [
            (TradingKeys::SYMBOL, &self.symbols),
            (TradingKeys::SESSION, &self.sessions),
            (TradingKeys::TRADE, &self.trades),
        ] {
            for key in keys {
                q = q.key(family, key.as_str());
            }
        }
        Ok(q)
    }
}

enum Source {
    /// Through the index: the query re-run from the next sequence per batch.
    Index {
        index: LedgerIndex,
        query: Query,
    },
    /// Every record of a window, streamed.
    Cursor {
        cursor: Cursor,
        to: Option<Timestamp>,
    },
    Done,
}

impl Source {
    fn batch(&mut self, out: &mut VecDeque<EventHit>) -> Result<(), DomainError> {
        match self {
            Source::Index { index, query } => {
                let mut last = None;
                for hit in index.query(query)?.take(BATCH) {
                    let hit = EventHit::decode(&hit?)?;
                    last = Some(hit.seq);
                    out.push_back(hit);
                }
                match last {
                    Some(seq) => query.from_seq = Some(Seq::new(seq.get() + 1)),
                    None => *self = Source::Done,
                }
            }
            Source::Cursor { cursor, to } => {
                while out.len() < BATCH {
                    let Some(r) = cursor.next_ref()? else {
                        *self = Source::Done;
                        break;
                    };
                    if to.is_some_and(|t| r.timestamp >= t) {
                        *self = Source::Done;
                        break;
                    }
                    if let Some(hit) = Hit::from_record(&r) {
                        out.push_back(EventHit::decode(&hit)?);
                    }
                }
            }
            Source::Done => {}
        }
        Ok(())
    }
}

/// An iterator of a ledger's events as dicts in the export form
/// (`ledger.events(...)`). It reads in batches with the GIL released.
#[pyclass(module = "tradeledger")]
pub struct EventIter {
    source: Source,
    buf: VecDeque<EventHit>,
}

impl EventIter {
    /// The events of the ledger in `dir` that `filters` selects.
    pub fn new(py: Python<'_>, dir: PathBuf, filters: Filters) -> PyResult<Self> {
        let query = filters.query()?;
        let open = || -> Result<Source, DomainError> {
            if query.has_keys() {
                let index = LedgerIndex::open(&dir, TradingKeys)?;
                return Ok(Source::Index { index, query });
            }
            let reader = Reader::open(&dir)?;
            let start = match query.from_time {
                // The index's time map finds the window's first record.
                Some(_) => {
                    let window = LedgerIndex::open(&dir, TradingKeys)?;
                    let first = window.query(&query)?.next().transpose()?;
                    match first {
                        Some(h) => h.seq,
                        None => return Ok(Source::Done),
                    }
                }
                None => Seq::FIRST,
            };
            Ok(Source::Cursor {
                cursor: reader.cursor_from(start)?,
                to: query.to_time,
            })
        };
        let source = py.allow_threads(open).map_err(|e| errors::domain(py, e))?;
        Ok(EventIter {
            source,
            buf: VecDeque::new(),
        })
    }
}

/// An event in the export form, as a Python dict.
pub fn export_form<'py>(py: Python<'py>, hit: &EventHit) -> PyResult<Bound<'py, PyAny>> {
    let line = ExportedEvent {
        seq: hit.seq,
        time: hit.time,
        chain_hash: hit.chain_hash,
        event: &hit.event,
    };
    let value = serde_json::to_value(line)
        .map_err(|e| errors::LedgerError::new_err(format!("record {}: {e}", hit.seq)))?;
    convert::to_py(py, &value)
}

#[pymethods]
impl EventIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.buf.is_empty() {
            let (source, buf) = (&mut self.source, &mut self.buf);
            py.allow_threads(|| source.batch(buf))
                .map_err(|e| errors::domain(py, e))?;
        }
        match self.buf.pop_front() {
            Some(hit) => export_form(py, &hit).map(Some),
            None => Ok(None),
        }
    }
}

/// One finding of a verification: what is wrong and where.
#[pyclass(frozen, get_all, module = "tradeledger")]
#[derive(Clone, Debug)]
pub struct Finding {
    /// What kind of problem (`crc`, `chain`, `torn_tail`, ...).
    pub kind: String,
    /// The segment file.
    pub segment: String,
    /// The offset in the file.
    pub offset: u64,
    /// The sequence number, when known.
    pub seq: Option<u64>,
    /// Details.
    pub detail: String,
}

#[pymethods]
impl Finding {
    fn __repr__(&self) -> String {
        format!(
            "Finding(kind={:?}, segment={:?}, offset={}, seq={:?}, detail={:?})",
            self.kind, self.segment, self.offset, self.seq, self.detail
        )
    }
}

/// The result of `ledger.verify()`: the figures of `ledger verify --json`.
#[pyclass(frozen, module = "tradeledger")]
#[derive(Debug)]
pub struct VerifyReport {
    /// Whether nothing is damaged.
    #[pyo3(get)]
    pub intact: bool,
    /// The ledger's id (32 hex digits), when readable.
    #[pyo3(get)]
    pub ledger_id: Option<String>,
    /// Segments read.
    #[pyo3(get)]
    pub segments: u64,
    /// Records verified.
    #[pyo3(get)]
    pub records: u64,
    /// Bytes verified.
    #[pyo3(get)]
    pub bytes: u64,
    /// The last good record's sequence number.
    #[pyo3(get)]
    pub head_seq: Option<u64>,
    /// The last good record's chain hash.
    #[pyo3(get)]
    pub head_chain_hash: Option<String>,
    /// The findings, in file order.
    #[pyo3(get)]
    pub findings: Vec<Finding>,
    json: Value,
}

impl VerifyReport {
    /// The report of the JSON `ledger verify --json` writes.
    pub fn from_json(_py: Python<'_>, v: Value) -> PyResult<Self> {
        let u = |v: &Value| v.as_u64().unwrap_or(0);
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let findings = v["findings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|f| Finding {
                kind: s(&f["kind"]),
                segment: s(&f["segment"]),
                offset: u(&f["offset"]),
                seq: f["seq"].as_u64(),
                detail: s(&f["detail"]),
            })
            .collect();
        Ok(VerifyReport {
            intact: v["intact"].as_bool().unwrap_or(false),
            ledger_id: v["ledger_id"].as_str().map(str::to_owned),
            segments: u(&v["segments"]),
            records: u(&v["records"]),
            bytes: u(&v["bytes"]),
            head_seq: v["head"]["seq"].as_u64(),
            head_chain_hash: v["head"]["chain_hash"].as_str().map(str::to_owned),
            findings,
            json: v,
        })
    }
}

#[pymethods]
impl VerifyReport {
    /// The report as a dict, in the shape of `ledger verify --json`
    /// (without `index_files`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.json)
    }

    fn __bool__(&self) -> bool {
        self.intact
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifyReport(intact={}, records={}, head_seq={}, findings={})",
            if self.intact { "True" } else { "False" },
            self.records,
            self.head_seq.map_or("None".to_owned(), |s| s.to_string()),
            self.findings.len()
        )
    }
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EventIter>()?;
    m.add_class::<Finding>()?;
    m.add_class::<VerifyReport>()
}
