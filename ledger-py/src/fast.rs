//! The session methods' fast path: keyword arguments straight into the
//! domain's typed event, with no JSON value in between.
//!
//! It takes only the plain cases: the event's own keyword names (looked up
//! with interned strings, so no key is copied), values of the exact types
//! `str`, `int`, `decimal.Decimal`, `list`/`tuple`, `dict` and `None`, and
//! values the event accepts (a decimal the ledger holds, an action it
//! knows). Anything else, a float or a subclass or a typo or a missing
//! field, makes it answer `None`, and the caller takes the JSON path
//! ([`crate::convert`] and the domain's JSON event parser), which raises the
//! documented errors. So a refused event is refused with exactly the
//! message it always had, and an accepted one is the same event.

use ledger_core::Timestamp;
use ledger_domain::{
    Action, AuditNote, Decimal, Decision, Direction, Event, EventKind, Execution, ExecutionStatus,
    Field, FillEffect, Indicator, Level, MarketSnapshot, Metric, PositionSnapshot, RiskEvent,
    SessionId, Severity, Side, SystemEvent, TradeFilled, TradeOpened,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple};

use crate::convert::{decimal_type, timestamp};

/// A value the fast path takes from a Python object, or `None` to leave
/// the object to the JSON path.
trait Fast: Sized {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self>;
}

/// `f` of the text of an exact `str`, read in place from its UTF-8 bytes
/// object (no `String` made for text that is only parsed).
fn with_str<R>(v: &Bound<'_, PyAny>, f: impl FnOnce(&str) -> Option<R>) -> Option<R> {
    let utf8 = v.downcast_exact::<PyString>().ok()?.encode_utf8().ok()?;
    f(std::str::from_utf8(utf8.as_bytes()).ok()?)
}

impl Fast for String {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        let s = v.downcast_exact::<PyString>().ok()?;
        Some(s.to_cow().ok()?.into_owned())
    }
}

macro_rules! fast_id {
    ($($t:ty),*) => {$(
        impl Fast for $t {
            fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
                String::fast(v).map(<$t>::from)
            }
        }
    )*};
}
fast_id!(
    ledger_domain::DecisionId,
    ledger_domain::OrderId,
    ledger_domain::TradeId,
    ledger_domain::Symbol
);

/// An amount: a `str` the ledger parses, an `int` of 64 bits, or a
/// `Decimal` whose `str` has no exponent (the JSON path's `format(d, "f")`
/// gives the same digits then).
impl Fast for Decimal {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        if v.is_exact_instance_of::<PyString>() {
            return with_str(v, |s| s.parse().ok());
        }
        if v.is_exact_instance_of::<PyInt>() {
            return v.extract::<i64>().ok().map(Decimal::from_int);
        }
        let ty = decimal_type(v.py()).ok()?;
        if v.get_type_ptr() == ty.as_type_ptr() {
            let text = v.str().ok()?;
            return with_str(text.as_any(), |s| s.parse().ok());
        }
        None
    }
}

impl Fast for u64 {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        if v.is_exact_instance_of::<PyInt>() {
            v.extract().ok()
        } else {
            None
        }
    }
}

macro_rules! fast_enum {
    ($t:ty { $($name:literal => $variant:expr),* $(,)? }) => {
        impl Fast for $t {
            fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
                with_str(v, |s| match s {
                    $($name => Some($variant),)*
                    _ => None,
                })
            }
        }
    };
}
fast_enum!(Action { "buy" => Action::Buy, "sell" => Action::Sell, "hold" => Action::Hold, "close" => Action::Close });
fast_enum!(Side { "buy" => Side::Buy, "sell" => Side::Sell });
fast_enum!(ExecutionStatus {
    "filled" => ExecutionStatus::Filled,
    "partially_filled" => ExecutionStatus::PartiallyFilled,
    "rejected" => ExecutionStatus::Rejected,
    "cancelled" => ExecutionStatus::Cancelled,
});
fast_enum!(Direction { "long" => Direction::Long, "short" => Direction::Short });
fast_enum!(FillEffect { "increase" => FillEffect::Increase, "reduce" => FillEffect::Reduce });
fast_enum!(Severity {
    "info" => Severity::Info,
    "warning" => Severity::Warning,
    "critical" => Severity::Critical,
});
fast_enum!(Level {
    "trace" => Level::Trace,
    "debug" => Level::Debug,
    "info" => Level::Info,
    "warn" => Level::Warn,
    "error" => Level::Error,
});

/// A list (or tuple) of values.
impl<T: Fast> Fast for Vec<T> {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        if let Ok(l) = v.downcast_exact::<PyList>() {
            let mut out = Vec::with_capacity(l.len());
            for item in l.iter() {
                out.push(T::fast(&item)?);
            }
            Some(out)
        } else if let Ok(t) = v.downcast_exact::<PyTuple>() {
            t.iter().map(|item| T::fast(&item)).collect()
        } else {
            None
        }
    }
}

/// The keyword arguments (or a nested `dict`) of an event, read by name;
/// `seen` counts the names found, so a name the event does not have is
/// noticed (`len` differs) and left to the JSON path to name.
struct Args<'a, 'py> {
    d: &'a Bound<'py, PyDict>,
    seen: usize,
}

impl<'a, 'py> Args<'a, 'py> {
    /// The exact `dict` `v`.
    fn of(v: &'a Bound<'py, PyAny>) -> Option<Self> {
        let d = v.downcast_exact::<PyDict>().ok()?;
        Some(Args { d, seen: 0 })
    }

    fn item(&mut self, key: &Bound<'py, PyString>) -> Option<Option<Bound<'py, PyAny>>> {
        let v = self.d.get_item(key).ok()?;
        if v.is_some() {
            self.seen += 1;
        }
        Some(v)
    }

    /// A required field.
    fn req<T: Fast>(&mut self, key: &Bound<'py, PyString>) -> Option<T> {
        T::fast(&self.item(key)??)
    }

    /// An optional field (absent or `None`: `None`).
    fn opt<T: Fast>(&mut self, key: &Bound<'py, PyString>) -> Option<Option<T>> {
        match self.item(key)? {
            Some(v) if !v.is_none() => T::fast(&v).map(Some),
            _ => Some(None),
        }
    }

    /// Whether every name was the event's.
    fn all_seen(&self) -> bool {
        self.seen == self.d.len()
    }
}

impl Fast for Indicator {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        let py = v.py();
        let mut a = Args::of(v)?;
        let ind = Indicator {
            name: a.req(intern!(py, "name"))?,
            value: a.req(intern!(py, "value"))?,
        };
        a.all_seen().then_some(ind)
    }
}

impl Fast for MarketSnapshot {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        let py = v.py();
        let mut a = Args::of(v)?;
        let m = MarketSnapshot {
            bid: a.req(intern!(py, "bid"))?,
            ask: a.req(intern!(py, "ask"))?,
            last: a.req(intern!(py, "last"))?,
            volume: a.req(intern!(py, "volume"))?,
            indicators: a.req(intern!(py, "indicators"))?,
        };
        a.all_seen().then_some(m)
    }
}

/// `fields` / `tags` given as a `dict` of `str` (or `None`: empty text)
/// values; the list-of-pairs form and other values take the JSON path.
struct Pairs(Vec<Field>);

impl Fast for Pairs {
    fn fast(v: &Bound<'_, PyAny>) -> Option<Self> {
        let a = Args::of(v)?;
        let mut out = Vec::with_capacity(a.d.len());
        for (k, item) in a.d.iter() {
            let key = String::fast(&k)?;
            let value = if item.is_none() {
                String::new()
            } else {
                String::fast(&item)?
            };
            out.push(Field { key, value });
        }
        Some(Pairs(out))
    }
}

/// The event of `kind` (not a session's start or end, nor a close) of
/// keyword arguments `kw`, with its `time=`; `None`: take the JSON path.
pub fn event(
    kind: EventKind,
    session: &SessionId,
    kw: &Bound<'_, PyDict>,
) -> Option<(Event, Option<Timestamp>)> {
    let py = kw.py();
    let mut a = Args { d: kw, seen: 0 };
    let time = match a.item(intern!(py, "time"))? {
        Some(t) if !t.is_none() => Some(timestamp("time", &t).ok()?),
        _ => None,
    };
    let session = session.clone();
    let event = match kind {
        EventKind::Decision => Event::Decision(Decision {
            session,
            decision_id: a.req(intern!(py, "decision_id"))?,
            symbol: a.req(intern!(py, "symbol"))?,
            action: a.req(intern!(py, "action"))?,
            size: a.req(intern!(py, "size"))?,
            confidence: a.req(intern!(py, "confidence"))?,
            reasoning: a.req(intern!(py, "reasoning"))?,
            market: a.req(intern!(py, "market"))?,
        }),
        EventKind::Execution => Event::Execution(Execution {
            session,
            order_id: a.req(intern!(py, "order_id"))?,
            decision_id: a.req(intern!(py, "decision_id"))?,
            symbol: a.req(intern!(py, "symbol"))?,
            side: a.req(intern!(py, "side"))?,
            status: a.req(intern!(py, "status"))?,
            requested_qty: a.req(intern!(py, "requested_qty"))?,
            filled_qty: a.req(intern!(py, "filled_qty"))?,
            avg_price: a.opt(intern!(py, "avg_price"))?,
            fees: a.req(intern!(py, "fees"))?,
            latency_us: a.req(intern!(py, "latency_us"))?,
            error: a.opt(intern!(py, "error"))?,
        }),
        EventKind::TradeOpened => Event::TradeOpened(TradeOpened {
            session,
            trade_id: a.req(intern!(py, "trade_id"))?,
            symbol: a.req(intern!(py, "symbol"))?,
            direction: a.req(intern!(py, "direction"))?,
            qty: a.req(intern!(py, "qty"))?,
            price: a.req(intern!(py, "price"))?,
            fees: a.req(intern!(py, "fees"))?,
            decision_id: a.opt(intern!(py, "decision_id"))?,
            order_id: a.opt(intern!(py, "order_id"))?,
        }),
        EventKind::TradeFilled => Event::TradeFilled(TradeFilled {
            session,
            trade_id: a.req(intern!(py, "trade_id"))?,
            symbol: a.req(intern!(py, "symbol"))?,
            effect: a.req(intern!(py, "effect"))?,
            qty: a.req(intern!(py, "qty"))?,
            price: a.req(intern!(py, "price"))?,
            fees: a.req(intern!(py, "fees"))?,
            order_id: a.opt(intern!(py, "order_id"))?,
        }),
        EventKind::PositionSnapshot => Event::PositionSnapshot(PositionSnapshot {
            session,
            symbol: a.req(intern!(py, "symbol"))?,
            qty: a.req(intern!(py, "qty"))?,
            avg_entry: a.req(intern!(py, "avg_entry"))?,
            mark: a.req(intern!(py, "mark"))?,
            unrealized_pnl: a.req(intern!(py, "unrealized_pnl"))?,
            realized_pnl: a.req(intern!(py, "realized_pnl"))?,
        }),
        EventKind::Risk => Event::Risk(RiskEvent {
            session,
            rule: a.req(intern!(py, "rule"))?,
            severity: a.req(intern!(py, "severity"))?,
            limit: a.req(intern!(py, "limit"))?,
            observed: a.req(intern!(py, "observed"))?,
            action: a.req(intern!(py, "action"))?,
        }),
        // Without `fields` / `tags` a log line or a metric has none (as on
        // the JSON path); given as `None` they are left to it.
        EventKind::System => Event::System(SystemEvent {
            session,
            component: a.req(intern!(py, "component"))?,
            level: a.req(intern!(py, "level"))?,
            message: a.req(intern!(py, "message"))?,
            fields: pairs(&mut a, intern!(py, "fields"))?,
        }),
        EventKind::Metric => Event::Metric(Metric {
            session,
            name: a.req(intern!(py, "name"))?,
            value: a.req(intern!(py, "value"))?,
            tags: pairs(&mut a, intern!(py, "tags"))?,
        }),
        EventKind::Audit => Event::Audit(AuditNote {
            session,
            who: a.req(intern!(py, "who"))?,
            action: a.req(intern!(py, "action"))?,
            target: a.req(intern!(py, "target"))?,
            reason: a.req(intern!(py, "reason"))?,
        }),
        EventKind::SessionStarted | EventKind::SessionEnded | EventKind::TradeClosed => {
            return None
        }
    };
    a.all_seen().then_some((event, time))
}

/// `fields` / `tags`: absent, none; else a `dict` of text.
fn pairs<'py>(a: &mut Args<'_, 'py>, key: &Bound<'py, PyString>) -> Option<Vec<Field>> {
    match a.item(key)? {
        None => Some(Vec::new()),
        Some(v) => Pairs::fast(&v).map(|p| p.0),
    }
}
