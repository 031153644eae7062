//! A trade's life and its P&L, computed the way a broker statement does
//! (average cost):
//!
//! - an increasing fill moves the average entry price:
//!   `avg = (avg × qty + price × fill) / (qty + fill)`, rounded half-to-even
//!   to 8 digits;
//! - a reducing fill, and the close, realize
//!   `(exit − avg) × qty × (+1 long, −1 short)` (gross);
//! - every fill's fees add up; the trade's net P&L is gross minus all fees.

use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;
use crate::events::{Direction, FillEffect, TradeClosed, TradeFilled, TradeOpened};
use crate::ids::{DecisionId, OrderId, SessionId, Symbol, TradeId};
use crate::view::{TradeClosedView, TradeFilledView, TradeOpenedView};
use ledger_core::{Seq, Timestamp};

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeStatus {
    /// Quantity remains.
    Open,
    /// Closed; its P&L is final.
    Closed,
}

/// One fill of a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// The record.
    pub seq: Seq,
    /// When.
    pub time: Timestamp,
    /// Adds or reduces (the opening fill adds, the closing one reduces).
    pub effect: FillEffect,
    /// Quantity.
    pub qty: Decimal,
    /// Price.
    pub price: Decimal,
    /// Fees.
    pub fees: Decimal,
    /// Gross P&L this fill realized (reducing fills).
    pub realized: Decimal,
    /// The order.
    pub order_id: Option<OrderId>,
}

/// A trade as the log tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// The trade.
    pub trade_id: TradeId,
    /// Its session.
    pub session: SessionId,
    /// The instrument.
    pub symbol: Symbol,
    /// Long or short.
    pub direction: Direction,
    /// The decision behind it.
    pub decision_id: Option<DecisionId>,
    /// Open or closed.
    pub status: TradeStatus,
    /// Quantity still open.
    pub open_qty: Decimal,
    /// Average entry price of the open quantity.
    pub avg_entry: Decimal,
    /// Sum of `price × qty` over increasing fills (the capital committed).
    pub cost_basis: Decimal,
    /// Largest quantity held.
    pub max_qty: Decimal,
    /// Gross P&L realized so far.
    pub realized_gross: Decimal,
    /// Fees of every fill.
    pub fees: Decimal,
    /// Every fill, in order.
    pub fills: Vec<Fill>,
    /// The opening record and time.
    pub opened: (Seq, Timestamp),
    /// The closing record and time.
    pub closed: Option<(Seq, Timestamp)>,
    /// Exit price of the closing fill.
    pub exit_price: Option<Decimal>,
}

/// Why a trade event does not fit the trade's state.
pub type TradeError = String;

fn gross(direction: Direction, avg: Decimal, exit: Decimal, qty: Decimal) -> Option<Decimal> {
    exit.checked_sub(avg)?
        .checked_mul(qty)?
        .checked_mul(direction.sign())
}

/// The amounts of a trade that its events change, computed before any is
/// stored: checking an event and applying it run the same arithmetic, so an
/// event validation accepts always folds, and one that cannot fold (possible
/// only in a log written without validation) changes nothing.
#[derive(Debug, Clone, Copy)]
struct Amounts {
    open_qty: Decimal,
    avg_entry: Decimal,
    cost_basis: Decimal,
    max_qty: Decimal,
    realized_gross: Decimal,
    fees: Decimal,
}

impl Amounts {
    /// The net P&L these amounts give, which must exist for them to be stored.
    fn checked(self, trade: &str) -> Result<Self, TradeError> {
        self.net(trade).map(|_| self)
    }

    /// The net P&L: realized gross minus all fees.
    fn net(&self, trade: &str) -> Result<Decimal, TradeError> {
        self.realized_gross
            .checked_sub(self.fees)
            .ok_or_else(|| overflow(trade))
    }
}

fn overflow(trade: &str) -> TradeError {
    format!("amounts of trade {trade} overflow")
}

impl Trade {
    /// The amounts an opening event starts a trade with.
    fn opening(e: &TradeOpenedView<'_>) -> Result<Amounts, TradeError> {
        let cost = e
            .price
            .checked_mul(e.qty)
            .ok_or_else(|| format!("price × qty of trade {} overflows", e.trade_id))?;
        Amounts {
            open_qty: e.qty,
            avg_entry: e.price,
            cost_basis: cost,
            max_qty: e.qty,
            realized_gross: Decimal::ZERO,
            fees: e.fees,
        }
        .checked(e.trade_id)
    }

    /// Checks an opening event's arithmetic without opening the trade.
    pub fn check_open(e: &TradeOpened) -> Result<(), TradeError> {
        Self::opening(&e.into()).map(|_| ())
    }

    /// A trade from its opening event.
    pub fn open(seq: Seq, time: Timestamp, e: &TradeOpened) -> Result<Trade, TradeError> {
        Self::open_view(seq, time, &e.into())
    }

    /// A trade from its opening event's view: the strings the trade keeps
    /// are the only ones turned into owned values.
    pub(crate) fn open_view(
        seq: Seq,
        time: Timestamp,
        e: &TradeOpenedView<'_>,
    ) -> Result<Trade, TradeError> {
        let amounts = Self::opening(e)?;
        // Room for the opening fill and the closing one, the common life of
        // a trade: closing it then moves nothing (a trade with more fills
        // grows as before).
        let mut fills = Vec::with_capacity(2);
        fills.push(Fill {
            seq,
            time,
            effect: FillEffect::Increase,
            qty: e.qty,
            price: e.price,
            fees: e.fees,
            realized: Decimal::ZERO,
            order_id: e.order_id.map(OrderId::from),
        });
        Ok(Trade {
            trade_id: TradeId::from(e.trade_id),
            session: SessionId::from(e.session),
            symbol: Symbol::from(e.symbol),
            direction: e.direction,
            decision_id: e.decision_id.map(DecisionId::from),
            status: TradeStatus::Open,
            open_qty: amounts.open_qty,
            avg_entry: amounts.avg_entry,
            cost_basis: amounts.cost_basis,
            max_qty: amounts.max_qty,
            realized_gross: amounts.realized_gross,
            fees: amounts.fees,
            fills,
            opened: (seq, time),
            closed: None,
            exit_price: None,
        })
    }

    fn amounts(&self) -> Amounts {
        Amounts {
            open_qty: self.open_qty,
            avg_entry: self.avg_entry,
            cost_basis: self.cost_basis,
            max_qty: self.max_qty,
            realized_gross: self.realized_gross,
            fees: self.fees,
        }
    }

    fn store(&mut self, a: Amounts) {
        self.open_qty = a.open_qty;
        self.avg_entry = a.avg_entry;
        self.cost_basis = a.cost_basis;
        self.max_qty = a.max_qty;
        self.realized_gross = a.realized_gross;
        self.fees = a.fees;
    }

    fn require_open(&self) -> Result<(), TradeError> {
        match (self.status, self.closed) {
            (TradeStatus::Open, _) => Ok(()),
            (TradeStatus::Closed, Some((seq, _))) => Err(format!(
                "trade {} is already closed (record {seq})",
                self.trade_id
            )),
            (TradeStatus::Closed, None) => {
                Err(format!("trade {} is already closed", self.trade_id))
            }
        }
    }

    /// The amounts after a further fill, and the gross P&L it realizes.
    fn after_fill(&self, e: &TradeFilledView<'_>) -> Result<(Amounts, Decimal), TradeError> {
        self.require_open()?;
        if e.effect == FillEffect::Reduce && e.qty >= self.open_qty {
            return Err(format!(
                "a reducing fill of {} on trade {} with {} open: reduce by less, or close it",
                e.qty, self.trade_id, self.open_qty
            ));
        }
        let overflow = || overflow(self.trade_id.as_str());
        let mut a = self.amounts();
        a.fees = a.fees.checked_add(e.fees).ok_or_else(overflow)?;
        let mut realized = Decimal::ZERO;
        match e.effect {
            FillEffect::Increase => {
                let new_qty = a.open_qty.checked_add(e.qty).ok_or_else(overflow)?;
                let added = e.price.checked_mul(e.qty).ok_or_else(overflow)?;
                let value = a
                    .avg_entry
                    .checked_mul(a.open_qty)
                    .and_then(|v| v.checked_add(added))
                    .ok_or_else(overflow)?;
                a.avg_entry = value.checked_div(new_qty).ok_or_else(overflow)?;
                a.cost_basis = a.cost_basis.checked_add(added).ok_or_else(overflow)?;
                a.open_qty = new_qty;
                a.max_qty = a.max_qty.max(new_qty);
            }
            FillEffect::Reduce => {
                realized =
                    gross(self.direction, a.avg_entry, e.price, e.qty).ok_or_else(overflow)?;
                a.realized_gross = a
                    .realized_gross
                    .checked_add(realized)
                    .ok_or_else(overflow)?;
                a.open_qty = a.open_qty.checked_sub(e.qty).ok_or_else(overflow)?;
            }
        }
        Ok((a.checked(self.trade_id.as_str())?, realized))
    }

    /// Checks a further fill without applying it: the trade must be open, a
    /// reducing fill must leave quantity open, and every amount must fit.
    pub fn check_fill(&self, e: &TradeFilled) -> Result<(), TradeError> {
        self.after_fill(&e.into()).map(|_| ())
    }

    /// Applies a further fill; a fill [`Self::check_fill`] refuses changes nothing.
    pub fn fill(&mut self, seq: Seq, time: Timestamp, e: &TradeFilled) -> Result<(), TradeError> {
        self.fill_view(seq, time, &e.into())
    }

    /// Applies a further fill from its view.
    pub(crate) fn fill_view(
        &mut self,
        seq: Seq,
        time: Timestamp,
        e: &TradeFilledView<'_>,
    ) -> Result<(), TradeError> {
        let (amounts, realized) = self.after_fill(e)?;
        self.store(amounts);
        self.fills.push(Fill {
            seq,
            time,
            effect: e.effect,
            qty: e.qty,
            price: e.price,
            fees: e.fees,
            realized,
            order_id: e.order_id.map(OrderId::from),
        });
        Ok(())
    }

    /// The amounts after closing at `price` with `fees`, and the gross P&L
    /// of the closing fill.
    fn after_close(&self, price: Decimal, fees: Decimal) -> Result<(Amounts, Decimal), TradeError> {
        self.require_open()?;
        let overflow = || overflow(self.trade_id.as_str());
        let mut a = self.amounts();
        let last = gross(self.direction, a.avg_entry, price, a.open_qty).ok_or_else(overflow)?;
        a.realized_gross = a.realized_gross.checked_add(last).ok_or_else(overflow)?;
        a.fees = a.fees.checked_add(fees).ok_or_else(overflow)?;
        a.open_qty = Decimal::ZERO;
        Ok((a.checked(self.trade_id.as_str())?, last))
    }

    /// The net P&L closing at `price` with `fees` would realize.
    pub fn pnl_if_closed(&self, price: Decimal, fees: Decimal) -> Result<Decimal, TradeError> {
        let (a, _) = self.after_close(price, fees)?;
        a.net(self.trade_id.as_str())
    }

    /// Checks a close without applying it: the trade must be open and a
    /// given realized P&L must be the computed one.
    pub fn check_close(&self, e: &TradeClosed) -> Result<Decimal, TradeError> {
        self.closing(&e.into()).map(|(_, _, pnl)| pnl)
    }

    /// The amounts after the close `e`, the gross P&L of its fill and the
    /// trade's net P&L, if `e` passes [`Self::check_close`].
    fn closing(&self, e: &TradeClosedView<'_>) -> Result<(Amounts, Decimal, Decimal), TradeError> {
        let (a, last) = self.after_close(e.price, e.fees)?;
        let pnl = a.net(self.trade_id.as_str())?;
        if e.realized_pnl != pnl {
            return Err(format!(
                "realized_pnl {} does not match {pnl}, the P&L of trade {} closed at {} with fees {} \
                 (average entry {}, {} open, {} realized before, {} fees before)",
                e.realized_pnl,
                self.trade_id,
                e.price,
                e.fees,
                self.avg_entry,
                self.open_qty,
                self.realized_gross,
                self.fees
            ));
        }
        Ok((a, last, pnl))
    }

    /// Applies the close; a close [`Self::check_close`] refuses changes nothing.
    pub fn close(&mut self, seq: Seq, time: Timestamp, e: &TradeClosed) -> Result<(), TradeError> {
        self.close_view(seq, time, &e.into())
    }

    /// Applies the close from its view.
    pub(crate) fn close_view(
        &mut self,
        seq: Seq,
        time: Timestamp,
        e: &TradeClosedView<'_>,
    ) -> Result<(), TradeError> {
        let (amounts, last, _) = self.closing(e)?;
        let closed_qty = self.open_qty;
        self.store(amounts);
        self.fills.push(Fill {
            seq,
            time,
            effect: FillEffect::Reduce,
            qty: closed_qty,
            price: e.price,
            fees: e.fees,
            realized: last,
            order_id: e.order_id.map(OrderId::from),
        });
        self.status = TradeStatus::Closed;
        self.closed = Some((seq, time));
        self.exit_price = Some(e.price);
        Ok(())
    }

    /// Net P&L: realized gross minus all fees (final once closed). The fold
    /// never stores amounts without one; `None` only for a trade built
    /// otherwise (by hand, or decoded from a forged snapshot).
    pub fn net_pnl(&self) -> Option<Decimal> {
        self.realized_gross.checked_sub(self.fees)
    }

    /// Return on the capital committed: net P&L / cost basis.
    pub fn return_on_cost(&self) -> Option<f64> {
        let net = self.net_pnl()?;
        (!self.cost_basis.is_zero()).then(|| net.to_f64() / self.cost_basis.to_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn opened(dir: Direction, qty: &str, price: &str, fees: &str) -> Trade {
        Trade::open(
            Seq::new(1),
            Timestamp::from_nanos(1),
            &TradeOpened {
                trade_id: "T".into(),
                symbol: "X".into(),
                direction: dir,
                qty: d(qty),
                price: d(price),
                fees: d(fees),
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn fill(t: &mut Trade, effect: FillEffect, qty: &str, price: &str, fees: &str) {
        t.fill(
            Seq::new(2),
            Timestamp::from_nanos(2),
            &TradeFilled {
                trade_id: "T".into(),
                effect,
                qty: d(qty),
                price: d(price),
                fees: d(fees),
                ..Default::default()
            },
        )
        .unwrap();
    }

    fn close(t: &mut Trade, price: &str, fees: &str) -> Decimal {
        let pnl = t.pnl_if_closed(d(price), d(fees)).unwrap();
        t.close(
            Seq::new(3),
            Timestamp::from_nanos(3),
            &TradeClosed {
                trade_id: "T".into(),
                price: d(price),
                fees: d(fees),
                realized_pnl: pnl,
                ..Default::default()
            },
        )
        .unwrap();
        pnl
    }

    #[test]
    fn long_with_two_entries_and_fees() {
        let mut t = opened(Direction::Long, "0.3", "40000", "6");
        fill(&mut t, FillEffect::Increase, "0.2", "40000", "4");
        assert_eq!(t.avg_entry, d("40000"));
        assert_eq!(close(&mut t, "40600", "10"), d("280"));
        assert_eq!(t.net_pnl(), Some(d("280")));
        assert_eq!(t.cost_basis, d("20000"));
    }

    #[test]
    fn short_profits_when_the_price_falls() {
        let mut t = opened(Direction::Short, "10", "2500", "5");
        assert_eq!(close(&mut t, "2470", "5"), d("290"));
    }

    #[test]
    fn averaging_and_partial_exit_like_a_broker_statement() {
        // Buy 100 @ 10, buy 100 @ 12 -> avg 11; sell 50 @ 13 -> +100; close 150 @ 9 -> -300.
        let mut t = opened(Direction::Long, "100", "10", "1");
        fill(&mut t, FillEffect::Increase, "100", "12", "1");
        assert_eq!(t.avg_entry, d("11"));
        fill(&mut t, FillEffect::Reduce, "50", "13", "1");
        assert_eq!(t.realized_gross, d("100"));
        assert_eq!(t.open_qty, d("150"));
        assert_eq!(close(&mut t, "9", "1"), d("-204"));
    }

    #[test]
    fn closed_trades_refuse_more_and_a_wrong_pnl_is_refused() {
        let mut t = opened(Direction::Long, "1", "100", "0");
        let bad = TradeClosed {
            trade_id: "T".into(),
            price: d("110"),
            fees: d("0"),
            realized_pnl: d("11"),
            ..Default::default()
        };
        let e = t.check_close(&bad).unwrap_err();
        assert!(e.contains("does not match 10"), "{e}");
        close(&mut t, "110", "0");
        let e = t.pnl_if_closed(d("1"), d("0")).unwrap_err();
        assert!(e.contains("already closed (record 3)"), "{e}");
        let over = TradeFilled {
            effect: FillEffect::Reduce,
            qty: d("5"),
            ..Default::default()
        };
        assert!(t.check_fill(&over).is_err());
    }
}
