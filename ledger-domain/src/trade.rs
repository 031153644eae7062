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

impl Trade {
    /// A trade from its opening event.
    pub fn open(seq: Seq, time: Timestamp, e: &TradeOpened) -> Result<Trade, TradeError> {
        let cost = e
            .price
            .checked_mul(e.qty)
            .ok_or_else(|| "price × qty overflows".to_owned())?;
        Ok(Trade {
            trade_id: e.trade_id.clone(),
            session: e.session.clone(),
            symbol: e.symbol.clone(),
            direction: e.direction,
            decision_id: e.decision_id.clone(),
            status: TradeStatus::Open,
            open_qty: e.qty,
            avg_entry: e.price,
            cost_basis: cost,
            max_qty: e.qty,
            realized_gross: Decimal::ZERO,
            fees: e.fees,
            fills: vec![Fill {
                seq,
                time,
                effect: FillEffect::Increase,
                qty: e.qty,
                price: e.price,
                fees: e.fees,
                realized: Decimal::ZERO,
                order_id: e.order_id.clone(),
            }],
            opened: (seq, time),
            closed: None,
            exit_price: None,
        })
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

    /// Checks a further fill without applying it.
    pub fn check_fill(&self, e: &TradeFilled) -> Result<(), TradeError> {
        self.require_open()?;
        if e.effect == FillEffect::Reduce && e.qty >= self.open_qty {
            return Err(format!(
                "a reducing fill of {} on trade {} with {} open: reduce by less, or close it",
                e.qty, self.trade_id, self.open_qty
            ));
        }
        Ok(())
    }

    /// Applies a further fill.
    pub fn fill(&mut self, seq: Seq, time: Timestamp, e: &TradeFilled) -> Result<(), TradeError> {
        self.check_fill(e)?;
        let overflow = || format!("amounts of trade {} overflow", self.trade_id);
        let new_fees = self.fees.checked_add(e.fees).ok_or_else(overflow)?;
        let mut realized = Decimal::ZERO;
        match e.effect {
            FillEffect::Increase => {
                let new_qty = self.open_qty.checked_add(e.qty).ok_or_else(overflow)?;
                let value = self
                    .avg_entry
                    .checked_mul(self.open_qty)
                    .and_then(|a| a.checked_add(e.price.checked_mul(e.qty)?))
                    .ok_or_else(overflow)?;
                self.avg_entry = value.checked_div(new_qty).ok_or_else(overflow)?;
                self.cost_basis = self
                    .cost_basis
                    .checked_add(e.price.checked_mul(e.qty).ok_or_else(overflow)?)
                    .ok_or_else(overflow)?;
                self.open_qty = new_qty;
                self.max_qty = self.max_qty.max(new_qty);
            }
            FillEffect::Reduce => {
                realized =
                    gross(self.direction, self.avg_entry, e.price, e.qty).ok_or_else(overflow)?;
                let gross_total = self
                    .realized_gross
                    .checked_add(realized)
                    .ok_or_else(overflow)?;
                let open = self.open_qty.checked_sub(e.qty).ok_or_else(overflow)?;
                self.realized_gross = gross_total;
                self.open_qty = open;
            }
        }
        self.fees = new_fees;
        self.fills.push(Fill {
            seq,
            time,
            effect: e.effect,
            qty: e.qty,
            price: e.price,
            fees: e.fees,
            realized,
            order_id: e.order_id.clone(),
        });
        Ok(())
    }

    /// The net P&L closing at `price` with `fees` would realize.
    pub fn pnl_if_closed(&self, price: Decimal, fees: Decimal) -> Result<Decimal, TradeError> {
        self.require_open()?;
        let overflow = || format!("amounts of trade {} overflow", self.trade_id);
        let last =
            gross(self.direction, self.avg_entry, price, self.open_qty).ok_or_else(overflow)?;
        self.realized_gross
            .checked_add(last)
            .and_then(|x| x.checked_sub(self.fees))
            .and_then(|x| x.checked_sub(fees))
            .ok_or_else(overflow)
    }

    /// Checks a close without applying it: the trade must be open and a
    /// given realized P&L must be the computed one.
    pub fn check_close(&self, e: &TradeClosed) -> Result<Decimal, TradeError> {
        let pnl = self.pnl_if_closed(e.price, e.fees)?;
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
        Ok(pnl)
    }

    /// Applies the close.
    pub fn close(&mut self, seq: Seq, time: Timestamp, e: &TradeClosed) -> Result<(), TradeError> {
        self.check_close(e)?;
        let overflow = || format!("amounts of trade {} overflow", self.trade_id);
        let last =
            gross(self.direction, self.avg_entry, e.price, self.open_qty).ok_or_else(overflow)?;
        self.realized_gross = self.realized_gross.checked_add(last).ok_or_else(overflow)?;
        self.fees = self.fees.checked_add(e.fees).ok_or_else(overflow)?;
        self.fills.push(Fill {
            seq,
            time,
            effect: FillEffect::Reduce,
            qty: self.open_qty,
            price: e.price,
            fees: e.fees,
            realized: last,
            order_id: e.order_id.clone(),
        });
        self.open_qty = Decimal::ZERO;
        self.status = TradeStatus::Closed;
        self.closed = Some((seq, time));
        self.exit_price = Some(e.price);
        Ok(())
    }

    /// Net P&L: realized gross minus all fees (final once closed).
    pub fn net_pnl(&self) -> Decimal {
        self.realized_gross
            .checked_sub(self.fees)
            .unwrap_or(self.realized_gross)
    }

    /// Return on the capital committed: net P&L / cost basis.
    pub fn return_on_cost(&self) -> Option<f64> {
        (!self.cost_basis.is_zero()).then(|| self.net_pnl().to_f64() / self.cost_basis.to_f64())
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
        assert_eq!(t.net_pnl(), d("280"));
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
