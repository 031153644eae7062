//! Validation of events before they are appended: each problem is refused
//! with the field it concerns and the reason, and nothing is appended.
//!
//! Field rules are checked here; rules that depend on the log so far (a
//! trade must be open to be filled or closed, a trade id is used once, a
//! closing P&L must be the computed one) are checked against the
//! projections in [`crate::Projections::check`].

use crate::decimal::Decimal;
use crate::events::*;
use ledger_core::Timestamp;

/// An event refused by validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} event refused: {field}: {reason}")]
pub struct ValidationError {
    /// The event's kind.
    pub kind: EventKind,
    /// The field, as a path (`market.bid`, `reasoning[2]`).
    pub field: String,
    /// Why.
    pub reason: String,
}

/// The largest magnitude of a price, quantity, fee or P&L: 10^15. The
/// product of two such amounts (10^30) fits in [`Decimal`]'s exact range
/// (±1.7 × 10^30), and [`Decimal::checked_mul`] forms it without overflowing
/// in between. Sums the fold accumulates over many events (cost basis,
/// average entry × quantity, fees) can still leave the range: validation
/// runs the fold's own arithmetic ([`crate::Projections::check`]), so such
/// an event is refused, naming the trade, and whatever is accepted folds.
pub const MAX_AMOUNT: Decimal = Decimal::from_int(1_000_000_000_000_000);

struct Check {
    kind: EventKind,
}

type Res = Result<(), ValidationError>;

impl Check {
    fn fail(&self, field: &str, reason: impl Into<String>) -> Res {
        Err(ValidationError {
            kind: self.kind,
            field: field.to_owned(),
            reason: reason.into(),
        })
    }

    fn text(&self, field: &str, value: &str) -> Res {
        if value.trim().is_empty() {
            return self.fail(field, "must not be empty");
        }
        if value.len() > 4096 {
            return self.fail(
                field,
                format!("is {} bytes, at most 4096 are allowed", value.len()),
            );
        }
        Ok(())
    }

    /// An id or a symbol: text without control characters (a newline or a
    /// NUL in an id would break line-based output such as `tail` and CSV).
    fn id(&self, field: &str, value: &str) -> Res {
        self.text(field, value)?;
        if let Some((at, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
            return self.fail(
                field,
                format!("holds the control character {c:?} at byte {at}; ids and symbols may not"),
            );
        }
        Ok(())
    }

    fn in_range(&self, field: &str, v: Decimal) -> Res {
        if v.checked_abs().is_none_or(|a| a > MAX_AMOUNT) {
            return self.fail(
                field,
                format!("{v} is beyond the largest amount the ledger takes ({MAX_AMOUNT})"),
            );
        }
        Ok(())
    }

    fn positive(&self, field: &str, v: Decimal) -> Res {
        if !v.is_positive() {
            return self.fail(field, format!("must be positive, got {v}"));
        }
        self.in_range(field, v)
    }

    fn non_negative(&self, field: &str, v: Decimal) -> Res {
        if v.is_negative() {
            return self.fail(field, format!("must not be negative, got {v}"));
        }
        self.in_range(field, v)
    }
}

/// The earliest valid event time: 1970-01-01T00:00:00Z (exclusive).
pub fn check_time(kind: EventKind, ts: Timestamp) -> Result<(), ValidationError> {
    if ts.as_nanos() <= 0 {
        return Err(ValidationError {
            kind,
            field: "time".into(),
            reason: format!(
                "{} ns is not a valid event time (before 1970-01-01)",
                ts.as_nanos()
            ),
        });
    }
    Ok(())
}

/// Checks every field rule of `event`.
pub fn validate(event: &Event) -> Result<(), ValidationError> {
    let c = Check { kind: event.kind() };
    c.id("session", event.session().as_str())?;
    match event {
        Event::SessionStarted(e) => {
            c.text("engine_version", &e.engine_version)?;
            c.non_negative("starting_equity", e.starting_equity)
        }
        Event::SessionEnded(_) => Ok(()),
        Event::Decision(e) => {
            c.id("decision_id", e.decision_id.as_str())?;
            c.id("symbol", e.symbol.as_str())?;
            match e.action {
                Action::Hold => c.non_negative("size", e.size)?,
                _ => c.positive("size", e.size)?,
            }
            if e.confidence.is_negative() || e.confidence > Decimal::ONE {
                return c.fail(
                    "confidence",
                    format!("must be between 0 and 1, got {}", e.confidence),
                );
            }
            for (i, step) in e.reasoning.iter().enumerate() {
                c.text(&format!("reasoning[{i}]"), step)?;
            }
            let m = &e.market;
            c.positive("market.bid", m.bid)?;
            c.positive("market.ask", m.ask)?;
            c.positive("market.last", m.last)?;
            c.non_negative("market.volume", m.volume)?;
            if m.ask < m.bid {
                return c.fail(
                    "market.ask",
                    format!("ask {} is below bid {} (a crossed market)", m.ask, m.bid),
                );
            }
            for (i, ind) in m.indicators.iter().enumerate() {
                c.text(&format!("market.indicators[{i}].name"), &ind.name)?;
            }
            Ok(())
        }
        Event::Execution(e) => {
            c.id("order_id", e.order_id.as_str())?;
            c.id("decision_id", e.decision_id.as_str())?;
            c.id("symbol", e.symbol.as_str())?;
            c.positive("requested_qty", e.requested_qty)?;
            c.non_negative("filled_qty", e.filled_qty)?;
            c.non_negative("fees", e.fees)?;
            if e.filled_qty > e.requested_qty {
                return c.fail(
                    "filled_qty",
                    format!("{} exceeds requested_qty {}", e.filled_qty, e.requested_qty),
                );
            }
            match e.avg_price {
                Some(p) => c.positive("avg_price", p)?,
                None if e.filled_qty.is_positive() => {
                    return c.fail("avg_price", "is required when something filled")
                }
                None => {}
            }
            match e.status {
                ExecutionStatus::Filled if e.filled_qty != e.requested_qty => c.fail(
                    "filled_qty",
                    format!(
                        "status filled needs filled_qty = requested_qty ({}), got {}",
                        e.requested_qty, e.filled_qty
                    ),
                ),
                ExecutionStatus::PartiallyFilled
                    if !e.filled_qty.is_positive() || e.filled_qty >= e.requested_qty =>
                {
                    c.fail(
                        "filled_qty",
                        format!(
                            "status partially_filled needs 0 < filled_qty < requested_qty ({}), got {}",
                            e.requested_qty, e.filled_qty
                        ),
                    )
                }
                ExecutionStatus::Rejected if !e.filled_qty.is_zero() => c.fail(
                    "filled_qty",
                    format!("a rejected order fills nothing, got {}", e.filled_qty),
                ),
                _ => Ok(()),
            }
        }
        Event::TradeOpened(e) => {
            c.id("trade_id", e.trade_id.as_str())?;
            c.id("symbol", e.symbol.as_str())?;
            c.positive("qty", e.qty)?;
            c.positive("price", e.price)?;
            c.non_negative("fees", e.fees)
        }
        Event::TradeFilled(e) => {
            c.id("trade_id", e.trade_id.as_str())?;
            c.id("symbol", e.symbol.as_str())?;
            c.positive("qty", e.qty)?;
            c.positive("price", e.price)?;
            c.non_negative("fees", e.fees)
        }
        Event::TradeClosed(e) => {
            c.id("trade_id", e.trade_id.as_str())?;
            c.id("symbol", e.symbol.as_str())?;
            c.positive("price", e.price)?;
            c.non_negative("fees", e.fees)
        }
        Event::PositionSnapshot(e) => {
            c.id("symbol", e.symbol.as_str())?;
            c.non_negative("avg_entry", e.avg_entry)?;
            c.positive("mark", e.mark)
        }
        Event::Risk(e) => {
            c.text("rule", &e.rule)?;
            c.text("action", &e.action)
        }
        Event::System(e) => {
            c.text("component", &e.component)?;
            c.text("message", &e.message)?;
            for (i, f) in e.fields.iter().enumerate() {
                c.text(&format!("fields[{i}].key"), &f.key)?;
            }
            Ok(())
        }
        Event::Metric(e) => {
            c.text("name", &e.name)?;
            for (i, f) in e.tags.iter().enumerate() {
                c.text(&format!("tags[{i}].key"), &f.key)?;
            }
            Ok(())
        }
        Event::Audit(e) => {
            c.text("who", &e.who)?;
            c.text("action", &e.action)?;
            c.text("target", &e.target)
        }
    }
}
