//! A [`tracing_subscriber::Layer`] that records an engine's log events, at a
//! chosen level and above, as system events of a session, so an engine's
//! existing `tracing` calls land in the ledger. Enabled by the `tracing`
//! cargo feature.
//!
//! ```
//! use ledger_domain::{Decimal, TradingLedger, tracing_layer::LedgerLayer};
//! use ledger_core::{Durability, WriterOptions};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let ledger = TradingLedger::open(dir.path(), WriterOptions::default().durability(Durability::NoSync))?
//!     .into_handle();
//! let layer = LedgerLayer::new(ledger.session("s1"), tracing::Level::WARN);
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!("not recorded: below WARN");
//!     tracing::warn!(queue_depth = 812, "order queue is deep");
//! });
//! ledger.with(|l| assert_eq!(l.projections().system_by_level.values().sum::<u64>(), 1));
//! # Ok(())
//! # }
//! ```

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::field::{Field as TracingField, Visit};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::events::{Field, Level};
use crate::ledger::{in_ledger_call, SessionLogger};

/// Records `tracing` events as system events.
#[derive(Debug)]
pub struct LedgerLayer {
    logger: SessionLogger,
    min: tracing::Level,
    dropped: Arc<AtomicU64>,
}

impl LedgerLayer {
    /// Records events at `min` and more severe into `logger`'s session.
    pub fn new(logger: SessionLogger, min: tracing::Level) -> Self {
        LedgerLayer {
            logger,
            min,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Events that could not be recorded: refused or failed appends, and
    /// events emitted while the same thread was inside a ledger call (which
    /// would deadlock).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A shared view of [`Self::dropped`] that stays readable after the
    /// layer moved into a subscriber.
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }
}

#[derive(Default)]
struct Collect {
    message: String,
    fields: Vec<Field>,
}

impl Visit for Collect {
    fn record_debug(&mut self, field: &TracingField, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.push(field, s);
    }

    fn record_str(&mut self, field: &TracingField, value: &str) {
        self.push(field, value.to_owned());
    }
}

impl Collect {
    fn push(&mut self, field: &TracingField, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.fields.push(Field {
                key: field.name().to_owned(),
                value,
            });
        }
    }
}

fn level(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        _ => Level::Trace,
    }
}

impl<S: Subscriber> Layer<S> for LedgerLayer {
    fn on_event(&self, event: &TracingEvent<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        // tracing orders levels by verbosity: ERROR < WARN < ... < TRACE.
        if *meta.level() > self.min {
            return;
        }
        if in_ledger_call() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut c = Collect::default();
        event.record(&mut c);
        if c.message.trim().is_empty() {
            c.message = "(no message)".into();
        }
        let component = if meta.target().is_empty() {
            "tracing"
        } else {
            meta.target()
        };
        if self
            .logger
            .system(level(meta.level()), component, &c.message, c.fields)
            .is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::{SessionId, TradingLedger};
    use ledger_core::{Durability, WriterOptions};

    #[test]
    fn fields_are_kept_and_logging_inside_a_ledger_call_does_not_deadlock() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = TradingLedger::open(
            dir.path(),
            WriterOptions::default().durability(Durability::NoSync),
        )
        .unwrap()
        .into_handle();
        let layer = LedgerLayer::new(ledger.session("s"), tracing::Level::INFO);
        let dropped = layer.dropped_counter();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "risk", limit = 5, "breach");
            ledger.with(|_| tracing::error!("while the ledger is held"));
            tracing::debug!("too verbose");
        });
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
        ledger.with(|l| {
            let p = l.projections();
            assert_eq!(p.system_by_level.get(&Level::Error), Some(&1));
            assert_eq!(p.sessions[&SessionId::from("s")].events, 1);
        });
    }
}
