//! Sessions to demonstrate and measure with: the scripted demo session
//! `ledger demo` writes, and a deterministic generator of large, realistic
//! sessions (`ledger demo --events N`, the benchmarks and the index tests).

use std::collections::HashMap;

use ledger_core::{Seq, Timestamp};
use ledger_domain::*;

/// 2026-01-05T14:30:00Z, when the demo session starts.
pub const DEMO_START: Timestamp = Timestamp::from_nanos(1_767_623_400_000_000_000);

fn d(s: &str) -> Decimal {
    // Only literals of this file are parsed here, all valid.
    s.parse().unwrap_or_default()
}

fn snapshot(sym: &str, qty: &str, avg: &str, mark: &str, unreal: &str, real: &str) -> Event {
    Event::PositionSnapshot(PositionSnapshot {
        session: SessionId::default(),
        symbol: sym.into(),
        qty: d(qty),
        avg_entry: d(avg),
        mark: d(mark),
        unrealized_pnl: d(unreal),
        realized_pnl: d(real),
    })
}

#[allow(clippy::too_many_arguments)]
fn decision(
    id: &str,
    sym: &str,
    action: Action,
    size: &str,
    conf: &str,
    why: &[&str],
    m: [&str; 4],
    ind: &[(&str, &str)],
) -> Event {
    Event::Decision(Decision {
        session: SessionId::default(),
        decision_id: id.into(),
        symbol: sym.into(),
        action,
        size: d(size),
        confidence: d(conf),
        reasoning: why.iter().map(|s| (*s).to_owned()).collect(),
        market: MarketSnapshot {
            bid: d(m[0]),
            ask: d(m[1]),
            last: d(m[2]),
            volume: d(m[3]),
            indicators: ind
                .iter()
                .map(|(n, v)| Indicator {
                    name: (*n).into(),
                    value: d(v),
                })
                .collect(),
        },
    })
}

#[allow(clippy::too_many_arguments)]
fn execution(
    order: &str,
    dec: &str,
    sym: &str,
    side: Side,
    status: ExecutionStatus,
    req: &str,
    filled: &str,
    price: Option<&str>,
    fees: &str,
    latency_us: u64,
    error: Option<&str>,
) -> Event {
    Event::Execution(Execution {
        session: SessionId::default(),
        order_id: order.into(),
        decision_id: dec.into(),
        symbol: sym.into(),
        side,
        status,
        requested_qty: d(req),
        filled_qty: d(filled),
        avg_price: price.map(d),
        fees: d(fees),
        latency_us,
        error: error.map(str::to_owned),
    })
}

fn close(trade: &str, symbol: &str, price: &str, fees: &str, pnl: &str, order: &str) -> Event {
    Event::TradeClosed(TradeClosed {
        session: SessionId::default(),
        trade_id: trade.into(),
        symbol: symbol.into(),
        price: d(price),
        fees: d(fees),
        realized_pnl: d(pnl),
        order_id: Some(order.into()),
    })
}

fn field(k: &str, v: &str) -> Field {
    Field {
        key: k.into(),
        value: v.into(),
    }
}

/// The demo session: three trades (BTC-USD long in two fills, ETH-USD
/// short, SOL-USD long stopped out), two winners and one loser (win rate
/// 66.7 %, net P&L +225.00 after fees), nine position snapshots, a rejected
/// order, metrics, risk events, system events and an audit note. Events are
/// one second apart from `start` (e.g. [`DEMO_START`]); the session id is
/// `session`, and trade, decision and order ids are `prefix` followed by
/// `T1`, `D1`, `O1`, ...
pub fn demo_session(session: &str, prefix: &str, start: Timestamp) -> Vec<(Timestamp, Event)> {
    use ExecutionStatus::*;
    let ev = vec![
        Event::SessionStarted(SessionStarted {
            session: SessionId::default(),
            engine_version: "tradebot 3.2.1".into(),
            config_digest: "sha256:6f1c0a9e4b7d2c58".into(),
            starting_equity: d("10000"),
        }),
        Event::Audit(AuditNote {
            session: SessionId::default(),
            who: "alice".into(),
            action: "approved session start".into(),
            target: session.into(),
            reason: "pre-market checklist complete".into(),
        }),
        Event::System(SystemEvent {
            session: SessionId::default(),
            component: "engine".into(),
            level: Level::Info,
            message: "connected to venue".into(),
            fields: vec![field("venue", "paper"), field("latency_ms", "4")],
        }),
        decision(
            "D1",
            "BTC-USD",
            Action::Buy,
            "0.5",
            "0.82",
            &[
                "RSI(14) at 38.2 is leaving oversold",
                "EMA(20) 39800 crossed above EMA(50) 39500",
                "spread 20 is under 0.1 % of price",
                "size 0.5 BTC keeps notional under the 25000 limit",
            ],
            ["39990", "40010", "40000", "1250.5"],
            &[("rsi_14", "38.2"), ("ema_20", "39800"), ("ema_50", "39500")],
        ),
        execution(
            "O1",
            "D1",
            "BTC-USD",
            Side::Buy,
            PartiallyFilled,
            "0.5",
            "0.3",
            Some("40000"),
            "6",
            850,
            None,
        ),
        Event::TradeOpened(TradeOpened {
            session: SessionId::default(),
            trade_id: "T1".into(),
            symbol: "BTC-USD".into(),
            direction: Direction::Long,
            qty: d("0.3"),
            price: d("40000"),
            fees: d("6"),
            decision_id: Some("D1".into()),
            order_id: Some("O1".into()),
        }),
        snapshot("BTC-USD", "0.3", "40000", "40000", "0", "0"),
        execution(
            "O2",
            "D1",
            "BTC-USD",
            Side::Buy,
            Filled,
            "0.2",
            "0.2",
            Some("40000"),
            "4",
            910,
            None,
        ),
        Event::TradeFilled(TradeFilled {
            session: SessionId::default(),
            trade_id: "T1".into(),
            symbol: "BTC-USD".into(),
            effect: FillEffect::Increase,
            qty: d("0.2"),
            price: d("40000"),
            fees: d("4"),
            order_id: Some("O2".into()),
        }),
        snapshot("BTC-USD", "0.5", "40000", "40150", "75", "0"),
        decision(
            "D2",
            "ETH-USD",
            Action::Sell,
            "10",
            "0.74",
            &[
                "ETH/BTC ratio broke below its 30-day range",
                "funding rate turned positive: longs crowded",
                "short 10 ETH, stop at 2560",
            ],
            ["2499", "2501", "2500", "8400"],
            &[("eth_btc", "0.0625"), ("funding_8h", "0.0003")],
        ),
        execution(
            "O3",
            "D2",
            "ETH-USD",
            Side::Sell,
            Filled,
            "10",
            "10",
            Some("2500"),
            "5",
            780,
            None,
        ),
        Event::TradeOpened(TradeOpened {
            session: SessionId::default(),
            trade_id: "T2".into(),
            symbol: "ETH-USD".into(),
            direction: Direction::Short,
            qty: d("10"),
            price: d("2500"),
            fees: d("5"),
            decision_id: Some("D2".into()),
            order_id: Some("O3".into()),
        }),
        snapshot("ETH-USD", "-10", "2500", "2500", "0", "0"),
        Event::Risk(RiskEvent {
            session: SessionId::default(),
            rule: "max_gross_notional".into(),
            severity: Severity::Warning,
            limit: d("50000"),
            observed: d("45000"),
            action: "new orders capped at 5000 notional".into(),
        }),
        decision(
            "D3",
            "SOL-USD",
            Action::Buy,
            "100",
            "0.61",
            &[
                "breakout above 99.5 resistance on rising volume",
                "notional 10000 fits under the gross cap after the warning",
            ],
            ["99.95", "100.05", "100", "52000"],
            &[("volume_ratio", "1.8"), ("atr_14", "2.4")],
        ),
        execution(
            "O4",
            "D3",
            "SOL-USD",
            Side::Buy,
            Rejected,
            "100",
            "0",
            None,
            "0",
            120,
            Some("insufficient margin: retry after margin refresh"),
        ),
        execution(
            "O5",
            "D3",
            "SOL-USD",
            Side::Buy,
            Filled,
            "100",
            "100",
            Some("100"),
            "2.5",
            640,
            None,
        ),
        Event::TradeOpened(TradeOpened {
            session: SessionId::default(),
            trade_id: "T3".into(),
            symbol: "SOL-USD".into(),
            direction: Direction::Long,
            qty: d("100"),
            price: d("100"),
            fees: d("2.5"),
            decision_id: Some("D3".into()),
            order_id: Some("O5".into()),
        }),
        snapshot("SOL-USD", "100", "100", "100", "0", "0"),
        Event::Metric(Metric {
            session: SessionId::default(),
            name: "fill_ratio".into(),
            value: d("0.8"),
            tags: vec![field("window", "session")],
        }),
        snapshot("ETH-USD", "-10", "2500", "2480", "200", "0"),
        decision(
            "D4",
            "BTC-USD",
            Action::Close,
            "0.5",
            "0.77",
            &[
                "price reached the 1.5 % take-profit at 40600",
                "RSI(14) at 71 is overbought",
            ],
            ["40590", "40610", "40600", "1410.2"],
            &[("rsi_14", "71")],
        ),
        execution(
            "O6",
            "D4",
            "BTC-USD",
            Side::Sell,
            Filled,
            "0.5",
            "0.5",
            Some("40600"),
            "10",
            830,
            None,
        ),
        close("T1", "BTC-USD", "40600", "10", "280", "O6"),
        snapshot("BTC-USD", "0", "0", "40600", "0", "280"),
        decision(
            "D5",
            "ETH-USD",
            Action::Close,
            "10",
            "0.7",
            &["target 2470 reached", "funding normalised"],
            ["2469", "2471", "2470", "9100"],
            &[("funding_8h", "0.0001")],
        ),
        execution(
            "O7",
            "D5",
            "ETH-USD",
            Side::Buy,
            Filled,
            "10",
            "10",
            Some("2470"),
            "5",
            760,
            None,
        ),
        close("T2", "ETH-USD", "2470", "5", "290", "O7"),
        snapshot("ETH-USD", "0", "0", "2470", "0", "290"),
        snapshot("SOL-USD", "100", "100", "97.2", "-280", "0"),
        Event::Risk(RiskEvent {
            session: SessionId::default(),
            rule: "stop_loss".into(),
            severity: Severity::Critical,
            limit: d("97"),
            observed: d("96.6"),
            action: "close SOL-USD at market".into(),
        }),
        decision(
            "D6",
            "SOL-USD",
            Action::Close,
            "100",
            "0.95",
            &["stop loss at 97 breached", "exit at market"],
            ["96.55", "96.65", "96.6", "61000"],
            &[],
        ),
        execution(
            "O8",
            "D6",
            "SOL-USD",
            Side::Sell,
            Filled,
            "100",
            "100",
            Some("96.6"),
            "2.5",
            590,
            None,
        ),
        close("T3", "SOL-USD", "96.6", "2.5", "-345", "O8"),
        snapshot("SOL-USD", "0", "0", "96.6", "0", "-345"),
        Event::Metric(Metric {
            session: SessionId::default(),
            name: "net_pnl".into(),
            value: d("225"),
            tags: vec![field("window", "session")],
        }),
        Event::System(SystemEvent {
            session: SessionId::default(),
            component: "engine".into(),
            level: Level::Info,
            message: "flat: all positions closed".into(),
            fields: vec![],
        }),
        Event::SessionEnded(SessionEnded {
            session: SessionId::default(),
            reason: "end of demo session".into(),
        }),
    ];
    ev.into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.set_session(session.into());
            prefix_ids(&mut e, prefix);
            (
                Timestamp::from_nanos(start.as_nanos() + i as i64 * 1_000_000_000),
                e,
            )
        })
        .collect()
}

fn prefix_ids(e: &mut Event, prefix: &str) {
    if prefix.is_empty() {
        return;
    }
    let p = |s: &mut String| s.insert_str(0, prefix);
    match e {
        Event::Decision(d) => p(&mut d.decision_id.0),
        Event::Execution(x) => {
            p(&mut x.order_id.0);
            p(&mut x.decision_id.0);
        }
        Event::TradeOpened(t) => {
            p(&mut t.trade_id.0);
            if let Some(d) = &mut t.decision_id {
                p(&mut d.0);
            }
            if let Some(o) = &mut t.order_id {
                p(&mut o.0);
            }
        }
        Event::TradeFilled(t) => {
            p(&mut t.trade_id.0);
            if let Some(o) = &mut t.order_id {
                p(&mut o.0);
            }
        }
        Event::TradeClosed(t) => {
            p(&mut t.trade_id.0);
            if let Some(o) = &mut t.order_id {
                p(&mut o.0);
            }
        }
        _ => {}
    }
}

/// One instrument of the generated sessions: its reference price and the
/// grids its prices and quantities move on.
#[derive(Debug, Clone)]
struct Instrument {
    symbol: Symbol,
    /// The reference price, in ticks.
    base_ticks: i64,
    /// Decimal places of a price: the tick is at most 0.1 bp of the
    /// reference price (0.01 for BTC at 40000, 0.000001 for ADA at 0.45).
    price_dp: u32,
    /// Decimal places of a quantity (the lot): whole units under 1000,
    /// 0.01 under 10000, 0.001 above.
    qty_dp: u32,
}

impl Instrument {
    fn new(name: &str, base_cents: i64) -> Self {
        let (mut ticks, mut price_dp) = (base_cents.max(1), 2u32);
        while ticks < 100_000 {
            ticks *= 10;
            price_dp += 1;
        }
        let qty_dp = match base_cents {
            ..=99_999 => 0,
            100_000..=999_999 => 2,
            _ => 3,
        };
        Instrument {
            symbol: Symbol::from(name),
            base_ticks: ticks,
            price_dp,
            qty_dp,
        }
    }

    /// The smallest price step.
    fn tick(&self) -> Decimal {
        Decimal::new(1, self.price_dp).unwrap_or(Decimal::ONE)
    }

    /// The smallest quantity.
    fn lot(&self) -> Decimal {
        Decimal::new(1, self.qty_dp).unwrap_or(Decimal::ONE)
    }
}

/// How far, in bps of the reference price, the market moves in a trade's
/// favour by its exit on average: the strategy's small edge, about 2.5 bps
/// net of the spread, slippage and fees (positive expectancy, realistic
/// Sharpe; without it every symbol would only bleed its costs).
const EDGE_BPS: i64 = 9;

/// A deterministic generator of large sessions: many symbols, decisions with
/// reasoning and market snapshots, executions (some partial, some
/// rejected), trades long and short with scale-ins and partial exits,
/// position snapshots, metrics, risk and system events.
#[derive(Debug)]
pub struct Generator {
    rng: u64,
    session: SessionId,
    time: i64,
    symbols: Vec<Instrument>,
    open: HashMap<TradeId, Trade>,
    open_order: Vec<TradeId>,
    next_id: u64,
    queue: std::collections::VecDeque<Event>,
    started: bool,
    /// Net P&L realized so far per symbol (for the position snapshots).
    realized: HashMap<Symbol, Decimal>,
    /// Mean time between events, in nanoseconds.
    step: i64,
}

impl Generator {
    /// A generator for `session`, seeded.
    pub fn new(session: &str, seed: u64, start: Timestamp) -> Self {
        let names = [
            "BTC-USD",
            "ETH-USD",
            "SOL-USD",
            "ADA-USD",
            "XRP-USD",
            "DOT-USD",
            "AVAX-USD",
            "LINK-USD",
            "MATIC-USD",
            "ATOM-USD",
            "AAPL",
            "MSFT",
            "NVDA",
            "AMZN",
            "GOOGL",
            "TSLA",
            "META",
            "EURUSD",
            "GBPUSD",
            "USDJPY",
            "ES-MAR26",
            "NQ-MAR26",
            "CL-FEB26",
            "GC-FEB26",
        ];
        // Reference prices in cents.
        let bases = [
            4000000, 250000, 10000, 45, 60, 700, 3500, 1500, 80, 900, 19000, 41000, 88000, 17500,
            15000, 24000, 48000, 108, 127, 14800, 500000, 1750000, 7200, 205000,
        ];
        Generator {
            rng: seed | 1,
            session: session.into(),
            time: start.as_nanos(),
            symbols: names
                .iter()
                .zip(bases)
                .map(|(n, b)| Instrument::new(n, b))
                .collect(),
            open: HashMap::new(),
            open_order: Vec::new(),
            next_id: 1,
            queue: Default::default(),
            started: false,
            realized: HashMap::new(),
            step: 26_000_000,
        }
    }

    /// Spreads `events` events over `days` days (on average), so that daily
    /// statistics of the session mean something.
    #[must_use]
    pub fn over_days(mut self, days: u32, events: u64) -> Self {
        if days > 0 && events > 0 {
            // About 3.7 events per step (measured on the generator's mix).
            let span = i64::from(days).saturating_mul(86_400 * 1_000_000_000);
            let steps = i64::try_from(events).unwrap_or(i64::MAX) / 37 * 10;
            self.step = (span / steps.max(1)).max(26_000_000);
        }
        self
    }

    /// Half the spread around `mid`: 2 bps, at least a tick.
    fn half_spread(ins: &Instrument, mid: Decimal) -> Decimal {
        mid.checked_mul(d("0.0002"))
            .map_or(Decimal::ONE, |h| h.round_dp(ins.price_dp))
            .max(ins.tick())
    }

    /// A fill price near `mid` for `side`: from 1 bp better to 5 bps worse
    /// than the mid, uniformly in steps of 0.1 bp, and one fill in 50 up
    /// to 20 bps worse still (a thin book): 2.2 bps on average, positive
    /// slippage costs. On the instrument's tick grid, which is at most
    /// 0.1 bp of its price.
    fn fill_price(&mut self, ins: &Instrument, mid: Decimal, side: Side) -> Decimal {
        let mut tenths = self.below(61) as i64 - 10;
        if self.below(50) == 0 {
            tenths += self.below(201) as i64;
        }
        let slip = mid
            .checked_mul(Decimal::new(tenths, 5).unwrap_or_default())
            .unwrap_or_default()
            .round_dp(ins.price_dp);
        let p = match side {
            Side::Buy => mid.checked_add(slip),
            Side::Sell => mid.checked_sub(slip),
        };
        p.filter(|p| p.is_positive()).unwrap_or(mid)
    }

    /// A quantity worth about `notional` at `price`, in the instrument's
    /// lots (at least one lot).
    fn qty_for(ins: &Instrument, notional: i64, price: Decimal) -> Decimal {
        Decimal::from_int(notional)
            .checked_div(price)
            .map_or(Decimal::ONE, |q| q.round_dp(ins.qty_dp))
            .max(ins.lot())
    }

    /// The fee of a fill: 1 bp of its notional, in cents.
    fn fee(price: Decimal, qty: Decimal) -> Decimal {
        price
            .checked_mul(qty)
            .and_then(|v| v.checked_mul(d("0.0001")))
            .unwrap_or_default()
            .round_dp(2)
    }

    /// The market a decision sees around `mid`: a 4 bp spread, the last
    /// trade at the bid, the mid or the ask.
    fn market(&mut self, ins: &Instrument, mid: Decimal, volume: i64) -> MarketSnapshot {
        let h = Self::half_spread(ins, mid);
        let last = match self.below(3) {
            0 => mid.checked_sub(h),
            1 => Some(mid),
            _ => mid.checked_add(h),
        }
        .filter(|l| l.is_positive())
        .unwrap_or(mid);
        MarketSnapshot {
            bid: mid
                .checked_sub(h)
                .filter(|b| b.is_positive())
                .unwrap_or(mid),
            ask: mid.checked_add(h).unwrap_or(mid),
            last,
            volume: Decimal::from_int(volume),
            indicators: Vec::new(),
        }
    }

    /// The symbol's net position over its open trades, marked at `mark`.
    fn net_snapshot(&self, sym: &Symbol, mark: Decimal) -> Event {
        let (mut qty, mut unreal) = (Decimal::ZERO, Decimal::ZERO);
        // Quantity and entry value of the long and of the short trades.
        let (mut side_qty, mut side_value) = ([Decimal::ZERO; 2], [Decimal::ZERO; 2]);
        for t in self.open.values().filter(|t| &t.symbol == sym) {
            let signed = t
                .open_qty
                .checked_mul(t.direction.sign())
                .unwrap_or_default();
            qty = qty.checked_add(signed).unwrap_or(qty);
            let k = usize::from(t.direction == Direction::Short);
            side_qty[k] = side_qty[k].checked_add(t.open_qty).unwrap_or(side_qty[k]);
            side_value[k] = t
                .avg_entry
                .checked_mul(t.open_qty)
                .and_then(|v| side_value[k].checked_add(v))
                .unwrap_or(side_value[k]);
            let u = mark
                .checked_sub(t.avg_entry)
                .and_then(|x| x.checked_mul(signed))
                .unwrap_or_default();
            unreal = unreal.checked_add(u).unwrap_or(unreal);
        }
        // The average entry of the side the net position is on (long and
        // short trades of a symbol may be open together).
        let k = usize::from(qty.is_negative());
        let avg = if qty.is_zero() {
            Decimal::ZERO
        } else {
            side_value[k]
                .checked_div(side_qty[k])
                .unwrap_or_default()
                .max(Decimal::ZERO)
        };
        Event::PositionSnapshot(PositionSnapshot {
            session: self.session.clone(),
            symbol: sym.clone(),
            qty,
            avg_entry: avg,
            mark,
            unrealized_pnl: unreal,
            realized_pnl: self.realized.get(sym).copied().unwrap_or_default(),
        })
    }

    fn next_u64(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A mid price within 2 % of the instrument's reference price, on its
    /// tick grid, moved `edge_bps` basis points up (or down, when
    /// negative).
    fn price(&mut self, ins: &Instrument, edge_bps: i64) -> Decimal {
        let base = ins.base_ticks;
        let swing = (base / 50).max(1);
        let p = base + self.below(2 * swing as u64 + 1) as i64 - swing
            + base.saturating_mul(edge_bps) / 10_000;
        Decimal::new(p.max(1), ins.price_dp).unwrap_or(Decimal::ONE)
    }

    fn refill(&mut self) {
        let s = self.session.clone();
        if !self.started {
            self.started = true;
            let ev = Event::SessionStarted(SessionStarted {
                session: s,
                engine_version: "tradebot 3.2.1".into(),
                config_digest: "sha256:generated".into(),
                starting_equity: Decimal::from_int(1_000_000),
            });
            self.queue.push_back(ev);
            return;
        }
        let roll = self.below(100);
        if roll < 6 {
            let v = Decimal::new(self.below(10_000) as i64, 4).unwrap_or_default();
            let ev = Event::Metric(Metric {
                session: s,
                name: ["fill_ratio", "slippage_bps", "latency_p99_us", "exposure"]
                    [self.below(4) as usize]
                    .into(),
                value: v,
                tags: vec![field("window", "1m")],
            });
            self.queue.push_back(ev);
            return;
        }
        if roll < 8 {
            let n = self.below(1000);
            let ev = Event::System(SystemEvent {
                session: s,
                component: "order_router".into(),
                level: if n.is_multiple_of(7) {
                    Level::Warn
                } else {
                    Level::Info
                },
                message: format!("heartbeat {n}"),
                fields: vec![field("queue_depth", &n.to_string())],
            });
            self.queue.push_back(ev);
            return;
        }
        if roll < 9 {
            let ev = Event::Risk(RiskEvent {
                session: s,
                rule: "max_gross_notional".into(),
                severity: Severity::Warning,
                limit: Decimal::from_int(5_000_000),
                observed: Decimal::from_int(4_600_000 + self.below(300_000) as i64),
                action: "new orders capped".into(),
            });
            self.queue.push_back(ev);
            return;
        }
        // Close a trade when many are open, or at random.
        if !self.open_order.is_empty() && (self.open_order.len() > 40 || roll < 45) {
            let i = self.below(self.open_order.len() as u64) as usize;
            let tid = self.open_order.swap_remove(i);
            self.close_trade(tid);
            return;
        }
        if !self.open_order.is_empty() && roll < 52 {
            let i = self.below(self.open_order.len() as u64) as usize;
            let tid = self.open_order[i].clone();
            self.fill_trade(tid);
            return;
        }
        self.open_trade();
    }

    fn open_trade(&mut self) {
        let s = self.session.clone();
        let k = self.below(self.symbols.len() as u64) as usize;
        let ins = self.symbols[k].clone();
        let sym = ins.symbol.clone();
        let n = self.id();
        let (dec, ord, tid) = (
            DecisionId::new(format!("{}/D{n}", self.session)),
            OrderId::new(format!("{}/O{n}", self.session)),
            TradeId::new(format!("{}/T{n}", self.session)),
        );
        let mid = self.price(&ins, 0);
        // 5,000 to 100,000 of notional.
        let qty = Self::qty_for(&ins, 5_000 * (1 + self.below(20) as i64), mid);
        let long = self.below(2) == 0;
        let side = if long { Side::Buy } else { Side::Sell };
        let volume = 1000 + self.below(100_000) as i64;
        let market = self.market(&ins, mid, volume);
        let price = self.fill_price(&ins, mid, side);
        let fees = Self::fee(price, qty);
        let ev = Event::Decision(Decision {
            session: s.clone(),
            decision_id: dec.clone(),
            symbol: sym.clone(),
            action: if long { Action::Buy } else { Action::Sell },
            size: qty,
            confidence: Decimal::new(50 + self.below(50) as i64, 2).unwrap_or_default(),
            reasoning: vec![
                format!("signal {} crossed its threshold", self.below(9)),
                "spread and depth acceptable".into(),
                format!("size {qty} within the per-symbol limit"),
            ],
            market: MarketSnapshot {
                indicators: vec![
                    Indicator {
                        name: "rsi_14".into(),
                        value: Decimal::new(2000 + self.below(6000) as i64, 2).unwrap_or_default(),
                    },
                    Indicator {
                        name: "ema_ratio".into(),
                        value: Decimal::new(9500 + self.below(1000) as i64, 4).unwrap_or_default(),
                    },
                ],
                ..market
            },
        });
        self.queue.push_back(ev);
        if self.below(20) == 0 {
            let ev = Event::Execution(Execution {
                session: s,
                order_id: ord,
                decision_id: dec,
                symbol: sym,
                side: if long { Side::Buy } else { Side::Sell },
                status: ExecutionStatus::Rejected,
                requested_qty: qty,
                filled_qty: Decimal::ZERO,
                avg_price: None,
                fees: Decimal::ZERO,
                latency_us: 100 + self.below(500),
                error: Some("venue rejected: price band".into()),
            });
            self.queue.push_back(ev);
            return;
        }
        let ev = Event::Execution(Execution {
            session: s.clone(),
            order_id: ord.clone(),
            decision_id: dec.clone(),
            symbol: sym.clone(),
            side: if long { Side::Buy } else { Side::Sell },
            status: ExecutionStatus::Filled,
            requested_qty: qty,
            filled_qty: qty,
            avg_price: Some(price),
            fees,
            latency_us: 300 + self.below(2000),
            error: None,
        });
        self.queue.push_back(ev);
        let opened = TradeOpened {
            session: s.clone(),
            trade_id: tid.clone(),
            symbol: sym.clone(),
            direction: if long {
                Direction::Long
            } else {
                Direction::Short
            },
            qty,
            price,
            fees,
            decision_id: Some(dec),
            order_id: Some(ord),
        };
        if let Ok(t) = Trade::open(Seq::FIRST, Timestamp::from_nanos(self.time), &opened) {
            self.open.insert(tid.clone(), t);
            self.open_order.push(tid);
        }
        let ev = Event::TradeOpened(opened);
        self.queue.push_back(ev);
        let r = self.realized.entry(sym.clone()).or_default();
        *r = r.checked_sub(fees).unwrap_or(*r);
        let ev = self.net_snapshot(&sym, price);
        self.queue.push_back(ev);
    }

    fn instrument(&self, sym: &Symbol) -> Instrument {
        self.symbols
            .iter()
            .find(|i| &i.symbol == sym)
            .cloned()
            .unwrap_or_else(|| Instrument::new(sym.as_str(), 100))
    }

    fn fill_trade(&mut self, tid: TradeId) {
        let Some(t) = self.open.get(&tid) else { return };
        let symbol = t.symbol.clone();
        let direction = t.direction;
        let ins = self.instrument(&t.symbol);
        let open_qty = t.open_qty;
        let mid = self.price(&ins, 0);
        // A third of the position, or 5,000 to 25,000 more of notional.
        let third = open_qty
            .checked_div(Decimal::from_int(3))
            .unwrap_or_default()
            .round_dp(ins.qty_dp);
        let reduce = self.below(3) == 0 && third.is_positive() && third < open_qty;
        let qty = if reduce {
            third
        } else {
            Self::qty_for(&ins, 5_000 * (1 + self.below(5) as i64), mid)
        };
        // Adding to a long or covering a short buys.
        let buys = (direction == Direction::Long) != reduce;
        let side = if buys { Side::Buy } else { Side::Sell };
        let volume = 1000 + self.below(50_000) as i64;
        let market = self.market(&ins, mid, volume);
        let price = self.fill_price(&ins, mid, side);
        let fees = Self::fee(price, qty);
        let n = self.id();
        let dec = DecisionId::new(format!("{}/D{n}", self.session));
        let ord = OrderId::new(format!("{}/O{n}", self.session));
        let fill = TradeFilled {
            session: self.session.clone(),
            trade_id: tid.clone(),
            symbol: symbol.clone(),
            effect: if reduce {
                FillEffect::Reduce
            } else {
                FillEffect::Increase
            },
            qty,
            price,
            fees,
            order_id: Some(ord.clone()),
        };
        let Some(t) = self.open.get_mut(&tid) else {
            return;
        };
        let before = t.realized_gross;
        if t.fill(Seq::FIRST, Timestamp::from_nanos(self.time), &fill)
            .is_err()
        {
            return;
        }
        let realized = t
            .realized_gross
            .checked_sub(before)
            .and_then(|r| r.checked_sub(fees))
            .unwrap_or_default();
        let why = if reduce {
            format!("take partial profit: reduce {tid} by {qty}")
        } else {
            format!("scale into {tid}: add {qty} on confirmation")
        };
        let ev = Event::Decision(Decision {
            session: self.session.clone(),
            decision_id: dec.clone(),
            symbol: symbol.clone(),
            action: if buys { Action::Buy } else { Action::Sell },
            size: qty,
            confidence: Decimal::new(50 + self.below(50) as i64, 2).unwrap_or_default(),
            reasoning: vec![why, "spread and depth acceptable".into()],
            market,
        });
        self.queue.push_back(ev);
        let ev = Event::Execution(Execution {
            session: self.session.clone(),
            order_id: ord,
            decision_id: dec,
            symbol: symbol.clone(),
            side,
            status: ExecutionStatus::Filled,
            requested_qty: qty,
            filled_qty: qty,
            avg_price: Some(price),
            fees,
            latency_us: 300 + self.below(2000),
            error: None,
        });
        self.queue.push_back(ev);
        self.queue.push_back(Event::TradeFilled(fill));
        let r = self.realized.entry(symbol.clone()).or_default();
        *r = r.checked_add(realized).unwrap_or(*r);
        let ev = self.net_snapshot(&symbol, price);
        self.queue.push_back(ev);
    }

    fn close_trade(&mut self, tid: TradeId) {
        let Some(t) = self.open.remove(&tid) else {
            return;
        };
        let ins = self.instrument(&t.symbol);
        let side = match t.direction {
            Direction::Long => Side::Sell,
            Direction::Short => Side::Buy,
        };
        let edge = match t.direction {
            Direction::Long => EDGE_BPS,
            Direction::Short => -EDGE_BPS,
        };
        let mid = self.price(&ins, edge);
        let market = self.market(&ins, mid, 5000);
        let price = self.fill_price(&ins, mid, side);
        let fees = Self::fee(price, t.open_qty);
        let Ok(pnl) = t.pnl_if_closed(price, fees) else {
            self.open.insert(tid.clone(), t);
            self.open_order.push(tid);
            return;
        };
        // What the close realizes beyond the fills before it.
        let before = t.net_pnl().unwrap_or_default();
        let realized = pnl.checked_sub(before).unwrap_or_default();
        let n = self.id();
        let s = self.session.clone();
        let dec = DecisionId::new(format!("{}/D{n}", self.session));
        let ord = OrderId::new(format!("{}/O{n}", self.session));
        let ev = Event::Decision(Decision {
            session: s.clone(),
            decision_id: dec.clone(),
            symbol: t.symbol.clone(),
            action: Action::Close,
            size: t.open_qty,
            confidence: Decimal::new(60 + self.below(40) as i64, 2).unwrap_or_default(),
            reasoning: vec!["exit rule met".into()],
            market,
        });
        self.queue.push_back(ev);
        let ev = Event::Execution(Execution {
            session: s.clone(),
            order_id: ord.clone(),
            decision_id: dec,
            symbol: t.symbol.clone(),
            side,
            status: ExecutionStatus::Filled,
            requested_qty: t.open_qty,
            filled_qty: t.open_qty,
            avg_price: Some(price),
            fees,
            latency_us: 300 + self.below(2000),
            error: None,
        });
        self.queue.push_back(ev);
        let ev = Event::TradeClosed(TradeClosed {
            session: s.clone(),
            trade_id: tid,
            symbol: t.symbol.clone(),
            price,
            fees,
            realized_pnl: pnl,
            order_id: Some(ord),
        });
        self.queue.push_back(ev);
        let r = self.realized.entry(t.symbol.clone()).or_default();
        *r = r.checked_add(realized).unwrap_or(*r);
        let ev = self.net_snapshot(&t.symbol, price);
        self.queue.push_back(ev);
    }
}

impl Iterator for Generator {
    type Item = (Timestamp, Event);

    fn next(&mut self) -> Option<(Timestamp, Event)> {
        // The events of one step (a decision, its execution, the trade
        // event, the position) follow each other within milliseconds; the
        // steps themselves come `step` apart on average.
        let mut first = false;
        while self.queue.is_empty() {
            self.refill();
            first = true;
        }
        let step = if first { self.step } else { 26_000_000 };
        let spread = u64::try_from((step - 1_000_000).saturating_mul(2))
            .unwrap_or(0)
            .max(1);
        self.time += 1_000_000 + (self.next_u64() % spread) as i64;
        self.queue
            .pop_front()
            .map(|e| (Timestamp::from_nanos(self.time), e))
    }
}
