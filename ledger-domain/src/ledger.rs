//! [`TradingLedger`]: the writer with the trading domain on top. It
//! validates every event, keeps the projections current, and rebuilds them
//! on open by folding the log ([`TradingLedger::open`]), or, for a process
//! that holds a snapshot key, from the newest snapshot that key
//! authenticates, folding only what came after
//! ([`TradingLedger::open_with_snapshots`]). A snapshot decides what
//! validation accepts, so one that could be forged is never read.
//! [`SessionLogger`] is the handle an engine keeps per session: one line per
//! event.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::codec;
use crate::decimal::Decimal;
use crate::error::DomainError;
use crate::events::*;
use crate::ids::{OrderId, SessionId, TradeId};
use crate::projections::Projections;
use crate::replay::{self, ReplayOptions};
use crate::snapshot::{self, SnapshotError, SnapshotKey};
use crate::validate::{check_time, validate, ValidationError};
use ledger_core::Reader;
use ledger_core::RecoveryReport;
use ledger_core::{Entry, Receipt, Writer, WriterOptions};
use ledger_core::{Seq, Timestamp};

/// What opening a trading ledger found and did.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// The storage engine's recovery report.
    pub recovery: RecoveryReport,
    /// The snapshot the views started from, if any (always `None` when
    /// opened without a snapshot key: the views are a fold of the log).
    pub snapshot: Option<Seq>,
    /// Snapshots passed over (file name, why), newest first (opened with a
    /// snapshot key only; without one, snapshot files are not read).
    pub rejected_snapshots: Vec<(String, SnapshotError)>,
    /// Events folded after the snapshot (or from the start).
    pub folded: u64,
}

/// The trading ledger: a [`Writer`] plus validated, projected events.
pub struct TradingLedger {
    writer: Writer,
    projections: Projections,
    buf: Vec<u8>,
    opened: OpenReport,
    snapshot_key: Option<SnapshotKey>,
}

impl std::fmt::Debug for TradingLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingLedger")
            .field("writer", &self.writer)
            .finish()
    }
}

impl TradingLedger {
    /// Opens (or creates, when `dir` is absent or empty) the ledger in `dir`
    /// and rebuilds the views by folding the whole log. Snapshot files are
    /// not read: nothing on disk but the records decides what validation
    /// accepts.
    pub fn open(dir: impl AsRef<Path>, opts: WriterOptions) -> Result<Self, DomainError> {
        Self::with_writer(Writer::open_or_create(dir, opts)?)
    }

    /// Opens (or creates) the ledger in `dir` and rebuilds the views from
    /// the newest snapshot `key` authenticates (and that is bound to this
    /// ledger's chain), folding only the records after it; any other
    /// snapshot is reported in [`OpenReport::rejected_snapshots`] and
    /// ignored. [`Self::save_snapshot`] then writes snapshots with `key`.
    pub fn open_with_snapshots(
        dir: impl AsRef<Path>,
        opts: WriterOptions,
        key: SnapshotKey,
    ) -> Result<Self, DomainError> {
        Self::with_writer_and_snapshots(Writer::open_or_create(dir, opts)?, key)
    }

    /// Wraps an open writer and rebuilds the views by folding its log.
    pub fn with_writer(writer: Writer) -> Result<Self, DomainError> {
        Self::build(writer, None)
    }

    /// Wraps an open writer and rebuilds the views from the newest snapshot
    /// `key` authenticates, as [`Self::open_with_snapshots`] does.
    pub fn with_writer_and_snapshots(
        writer: Writer,
        key: SnapshotKey,
    ) -> Result<Self, DomainError> {
        Self::build(writer, Some(key))
    }

    fn build(writer: Writer, snapshot_key: Option<SnapshotKey>) -> Result<Self, DomainError> {
        let reader = Reader::with_storage(Arc::clone(writer.storage()))?;
        let loaded = match &snapshot_key {
            Some(key) => snapshot::load_latest(&reader, key)?,
            None => snapshot::Loaded::default(),
        };
        let mut opened = OpenReport {
            recovery: writer.recovery_report().clone(),
            rejected_snapshots: loaded.rejected,
            ..OpenReport::default()
        };
        let mut projections = loaded.projections.unwrap_or_default();
        opened.snapshot = projections.last.map(|(seq, _, _)| seq);
        // The snapshot's check left a cursor right after it; without one the
        // fold starts at the first record.
        let cursor = match loaded.cursor {
            Some(c) => c,
            None => reader.cursor()?,
        };
        opened.folded = replay::fold_cursor(cursor, &mut projections, &ReplayOptions::default())?;
        Ok(TradingLedger {
            writer,
            projections,
            buf: Vec::with_capacity(512),
            opened,
            snapshot_key,
        })
    }

    /// What opening found and did.
    pub fn open_report(&self) -> &OpenReport {
        &self.opened
    }

    /// The current views.
    pub fn projections(&self) -> &Projections {
        &self.projections
    }

    /// The storage writer underneath.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The storage writer underneath, mutably (e.g. to `sync`).
    pub fn writer_mut(&mut self) -> &mut Writer {
        &mut self.writer
    }

    /// Validates and appends `event`, stamped with the current time.
    pub fn append(&mut self, event: &Event) -> Result<Receipt, DomainError> {
        self.append_inner(None, event)
    }

    /// Validates and appends `event` with an explicit time (never before the
    /// previous record's).
    pub fn append_at(&mut self, time: Timestamp, event: &Event) -> Result<Receipt, DomainError> {
        self.append_inner(Some(time), event)
    }

    /// Validates an event against the field rules and the log so far,
    /// without appending it.
    pub fn check(&self, event: &Event) -> Result<(), DomainError> {
        validate(event)?;
        self.projections.check(event)?;
        Ok(())
    }

    fn append_inner(
        &mut self,
        time: Option<Timestamp>,
        event: &Event,
    ) -> Result<Receipt, DomainError> {
        if let Some(t) = time {
            check_time(event.kind(), t)?;
        }
        self.check(event)?;
        let (kind, version) = codec::encode(event, &mut self.buf)?;
        let mut entry = Entry::new(kind, version, &self.buf);
        entry.timestamp = time;
        let receipt = self.writer.append(&entry)?;
        self.projections
            .apply_ref(receipt.seq, receipt.chain_hash, receipt.timestamp, event);
        Ok(receipt)
    }

    /// Closes trade `trade_id` of `session` at `price` with `fees`: the
    /// ledger computes its realized P&L from the trade's fills (net of every
    /// fill's fees, `docs/REPORT.md`), appends the `trade_closed` event and
    /// returns its receipt with the P&L; `time` as in [`Self::append_at`]
    /// (`None`: now). An unknown or closed trade is
    /// refused by validation, which names the reason.
    pub fn close_trade(
        &mut self,
        session: SessionId,
        trade_id: TradeId,
        price: Decimal,
        fees: Decimal,
        order_id: Option<OrderId>,
        time: Option<Timestamp>,
    ) -> Result<(Receipt, Decimal), DomainError> {
        let mut event = TradeClosed {
            session,
            trade_id,
            symbol: Default::default(),
            price,
            fees,
            realized_pnl: Decimal::ZERO,
            order_id,
        };
        let Some(t) = self.projections.trades.get(&event.trade_id) else {
            return Err(ValidationError {
                kind: EventKind::TradeClosed,
                field: "trade_id".into(),
                reason: format!("no trade {} was opened", event.trade_id),
            }
            .into());
        };
        event.symbol = t.symbol.clone();
        if let Ok(pnl) = t.pnl_if_closed(price, fees) {
            event.realized_pnl = pnl;
        }
        let pnl = event.realized_pnl;
        self.append_inner(time, &Event::TradeClosed(event))
            .map(|r| (r, pnl))
    }

    /// Saves a snapshot of the views, authenticated with the snapshot key
    /// the ledger was opened with; returns the file name. Without a key
    /// ([`Self::open`]) it is refused ([`SnapshotError::NoKey`]).
    pub fn save_snapshot(&self) -> Result<String, DomainError> {
        let key = self.snapshot_key.as_ref().ok_or(SnapshotError::NoKey)?;
        let storage = self.writer.storage();
        Ok(snapshot::save(
            storage.as_ref(),
            &self.writer.ledger_id(),
            &self.projections,
            key,
        )?)
    }

    /// Flushes and closes the writer.
    pub fn close(self) -> Result<(), DomainError> {
        Ok(self.writer.close()?)
    }

    /// Shares the ledger between threads and sessions.
    pub fn into_handle(self) -> LedgerHandle {
        LedgerHandle {
            inner: Arc::new(Mutex::new(self)),
        }
    }
}

thread_local! {
    static IN_CALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside a call that holds the ledger's lock (a log
/// layer must not append then: it would deadlock).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn in_ledger_call() -> bool {
    IN_CALL.with(|c| c.get())
}

struct CallGuard(bool);

impl CallGuard {
    fn enter() -> Self {
        CallGuard(IN_CALL.with(|c| c.replace(true)))
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let was = self.0;
        IN_CALL.with(|c| c.set(was));
    }
}

/// A cloneable, thread-safe handle to a [`TradingLedger`].
#[derive(Clone, Debug)]
pub struct LedgerHandle {
    inner: Arc<Mutex<TradingLedger>>,
}

impl LedgerHandle {
    /// A logger for `session`.
    pub fn session(&self, session: impl Into<SessionId>) -> SessionLogger {
        SessionLogger {
            ledger: self.clone(),
            session: session.into(),
        }
    }

    /// Validates and appends an event.
    pub fn append(&self, event: &Event) -> Result<Receipt, DomainError> {
        let _g = CallGuard::enter();
        self.inner.lock().append(event)
    }

    /// The ledger back, when this is the last handle (every logger of it
    /// dropped); otherwise the handle itself.
    pub fn into_inner(self) -> Result<TradingLedger, LedgerHandle> {
        Arc::try_unwrap(self.inner)
            .map(Mutex::into_inner)
            .map_err(|inner| LedgerHandle { inner })
    }

    /// Runs `f` with exclusive access to the ledger.
    pub fn with<R>(&self, f: impl FnOnce(&mut TradingLedger) -> R) -> R {
        let _g = CallGuard::enter();
        f(&mut self.inner.lock())
    }
}

/// The handle an engine keeps per session: one call per event, each
/// returning the record's [`Receipt`]. The session is filled in.
#[derive(Clone, Debug)]
pub struct SessionLogger {
    ledger: LedgerHandle,
    session: SessionId,
}

impl SessionLogger {
    /// The session.
    pub fn session(&self) -> &SessionId {
        &self.session
    }

    /// The shared ledger.
    pub fn ledger(&self) -> &LedgerHandle {
        &self.ledger
    }

    /// Logs any event, setting its session.
    pub fn log(&self, mut event: Event) -> Result<Receipt, DomainError> {
        event.set_session(self.session.clone());
        self.ledger.append(&event)
    }

    /// Logs the start of the session.
    pub fn start(
        &self,
        engine_version: &str,
        config_digest: &str,
        starting_equity: Decimal,
    ) -> Result<Receipt, DomainError> {
        self.log(Event::SessionStarted(SessionStarted {
            session: SessionId::default(),
            engine_version: engine_version.into(),
            config_digest: config_digest.into(),
            starting_equity,
        }))
    }

    /// Logs the end of the session.
    pub fn end(&self, reason: &str) -> Result<Receipt, DomainError> {
        self.log(Event::SessionEnded(SessionEnded {
            session: SessionId::default(),
            reason: reason.into(),
        }))
    }

    /// Logs a decision.
    pub fn decision(&self, d: Decision) -> Result<Receipt, DomainError> {
        self.log(Event::Decision(d))
    }

    /// Logs an execution result.
    pub fn execution(&self, e: Execution) -> Result<Receipt, DomainError> {
        self.log(Event::Execution(e))
    }

    /// Logs the opening of a trade.
    pub fn open_trade(&self, t: TradeOpened) -> Result<Receipt, DomainError> {
        self.log(Event::TradeOpened(t))
    }

    /// Logs a further fill of a trade.
    pub fn fill_trade(&self, f: TradeFilled) -> Result<Receipt, DomainError> {
        self.log(Event::TradeFilled(f))
    }

    /// Closes a trade at `price` with `fees`; the ledger computes its
    /// realized P&L, which is returned with the receipt.
    pub fn close_trade(
        &self,
        trade_id: impl Into<TradeId>,
        price: Decimal,
        fees: Decimal,
        order_id: Option<OrderId>,
    ) -> Result<(Receipt, Decimal), DomainError> {
        let trade_id = trade_id.into();
        self.ledger
            .with(|l| l.close_trade(self.session.clone(), trade_id, price, fees, order_id, None))
    }

    /// Logs a position snapshot.
    pub fn position(&self, p: PositionSnapshot) -> Result<Receipt, DomainError> {
        self.log(Event::PositionSnapshot(p))
    }

    /// Logs a risk event.
    pub fn risk(&self, r: RiskEvent) -> Result<Receipt, DomainError> {
        self.log(Event::Risk(r))
    }

    /// Logs a system event.
    pub fn system(
        &self,
        level: Level,
        component: &str,
        message: &str,
        fields: Vec<Field>,
    ) -> Result<Receipt, DomainError> {
        self.log(Event::System(SystemEvent {
            session: SessionId::default(),
            component: component.into(),
            level,
            message: message.into(),
            fields,
        }))
    }

    /// Logs a metric.
    pub fn metric(
        &self,
        name: &str,
        value: Decimal,
        tags: Vec<Field>,
    ) -> Result<Receipt, DomainError> {
        self.log(Event::Metric(Metric {
            session: SessionId::default(),
            name: name.into(),
            value,
            tags,
        }))
    }

    /// Logs an operator's action.
    pub fn audit(
        &self,
        who: &str,
        action: &str,
        target: &str,
        reason: &str,
    ) -> Result<Receipt, DomainError> {
        self.log(Event::Audit(AuditNote {
            session: SessionId::default(),
            who: who.into(),
            action: action.into(),
            target: target.into(),
            reason: reason.into(),
        }))
    }
}
