"""The scripted demo session of ``ledger demo``, written from Python.

Three trades (BTC-USD long in two fills, ETH-USD short, SOL-USD long
stopped out): win rate 66.7 %, net P&L +225.00 after fees, nine position
snapshots, a rejected order, metrics, risk, system and audit events. The
stop-loss warning goes through Python ``logging`` into the ledger, as the
Rust demo's goes through ``tracing``. Events are one second apart.

    python ledger-py/examples/demo.py LEDGER_DIR

Then ``ledger -d LEDGER_DIR verify`` and ``ledger -d LEDGER_DIR report``
accept it like a ledger the Rust demo wrote.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta, timezone

import tradeledger


def run(path: str, session_id: str = "demo-1") -> tradeledger.VerifyReport:
    """Writes the demo session into the ledger at ``path``; returns its verification."""
    start = datetime.now(timezone.utc).replace(microsecond=0)
    clock = iter(start + timedelta(seconds=i) for i in range(1000))

    def at() -> datetime:
        return next(clock)

    with tradeledger.Ledger.open(path) as ledger:
        log = logging.getLogger("engine.risk")
        log.propagate = False
        handler = tradeledger.LedgerHandler(ledger, session_id, level=logging.WARNING)
        log.addHandler(handler)
        s = ledger.session(
            session_id,
            starting_equity="10000",
            engine_version="tradebot 3.2.1",
            config_digest="sha256:6f1c0a9e4b7d2c58",
        )
        s.start(time=at())
        s.audit(who="alice", action="approved session start", target=session_id,
                reason="pre-market checklist complete", time=at())
        s.system(component="engine", level="info", message="connected to venue",
                 fields={"venue": "paper", "latency_ms": "4"}, time=at())

        def decision(did, sym, action, size, conf, why, m, ind):
            s.decision(decision_id=did, symbol=sym, action=action, size=size, confidence=conf,
                       reasoning=why,
                       market={"bid": m[0], "ask": m[1], "last": m[2], "volume": m[3],
                               "indicators": [{"name": n, "value": v} for n, v in ind]},
                       time=at())

        def execution(order, did, sym, side, status, req, filled, price, fees, latency, error=None):
            s.execution(order_id=order, decision_id=did, symbol=sym, side=side, status=status,
                        requested_qty=req, filled_qty=filled, avg_price=price, fees=fees,
                        latency_us=latency, error=error, time=at())

        def snapshot(sym, qty, avg, mark, unreal, real):
            s.position(symbol=sym, qty=qty, avg_entry=avg, mark=mark, unrealized_pnl=unreal,
                       realized_pnl=real, time=at())

        decision("D1", "BTC-USD", "buy", "0.5", "0.82",
                 ["RSI(14) at 38.2 is leaving oversold",
                  "EMA(20) 39800 crossed above EMA(50) 39500",
                  "spread 20 is under 0.1 % of price",
                  "size 0.5 BTC keeps notional under the 25000 limit"],
                 ["39990", "40010", "40000", "1250.5"],
                 [("rsi_14", "38.2"), ("ema_20", "39800"), ("ema_50", "39500")])
        execution("O1", "D1", "BTC-USD", "buy", "partially_filled", "0.5", "0.3", "40000", "6", 850)
        s.open_trade(trade_id="T1", symbol="BTC-USD", direction="long", qty="0.3", price="40000",
                     fees="6", decision_id="D1", order_id="O1", time=at())
        snapshot("BTC-USD", "0.3", "40000", "40000", "0", "0")
        execution("O2", "D1", "BTC-USD", "buy", "filled", "0.2", "0.2", "40000", "4", 910)
        s.fill_trade(trade_id="T1", symbol="BTC-USD", effect="increase", qty="0.2", price="40000",
                     fees="4", order_id="O2", time=at())
        snapshot("BTC-USD", "0.5", "40000", "40150", "75", "0")
        decision("D2", "ETH-USD", "sell", "10", "0.74",
                 ["ETH/BTC ratio broke below its 30-day range",
                  "funding rate turned positive: longs crowded",
                  "short 10 ETH, stop at 2560"],
                 ["2499", "2501", "2500", "8400"],
                 [("eth_btc", "0.0625"), ("funding_8h", "0.0003")])
        execution("O3", "D2", "ETH-USD", "sell", "filled", "10", "10", "2500", "5", 780)
        s.open_trade(trade_id="T2", symbol="ETH-USD", direction="short", qty="10", price="2500",
                     fees="5", decision_id="D2", order_id="O3", time=at())
        snapshot("ETH-USD", "-10", "2500", "2500", "0", "0")
        s.risk(rule="max_gross_notional", severity="warning", limit="50000", observed="45000",
               action="new orders capped at 5000 notional", time=at())
        decision("D3", "SOL-USD", "buy", "100", "0.61",
                 ["breakout above 99.5 resistance on rising volume",
                  "notional 10000 fits under the gross cap after the warning"],
                 ["99.95", "100.05", "100", "52000"],
                 [("volume_ratio", "1.8"), ("atr_14", "2.4")])
        execution("O4", "D3", "SOL-USD", "buy", "rejected", "100", "0", None, "0", 120,
                  "insufficient margin: retry after margin refresh")
        execution("O5", "D3", "SOL-USD", "buy", "filled", "100", "100", "100", "2.5", 640)
        s.open_trade(trade_id="T3", symbol="SOL-USD", direction="long", qty="100", price="100",
                     fees="2.5", decision_id="D3", order_id="O5", time=at())
        snapshot("SOL-USD", "100", "100", "100", "0", "0")
        s.metric(name="fill_ratio", value="0.8", tags={"window": "session"}, time=at())
        snapshot("ETH-USD", "-10", "2500", "2480", "200", "0")
        decision("D4", "BTC-USD", "close", "0.5", "0.77",
                 ["price reached the 1.5 % take-profit at 40600", "RSI(14) at 71 is overbought"],
                 ["40590", "40610", "40600", "1410.2"], [("rsi_14", "71")])
        execution("O6", "D4", "BTC-USD", "sell", "filled", "0.5", "0.5", "40600", "10", 830)
        r = s.close_trade("T1", price="40600", fees="10", order_id="O6", time=at())
        assert str(r.realized_pnl) == "280", r
        snapshot("BTC-USD", "0", "0", "40600", "0", "280")
        decision("D5", "ETH-USD", "close", "10", "0.7",
                 ["target 2470 reached", "funding normalised"],
                 ["2469", "2471", "2470", "9100"], [("funding_8h", "0.0001")])
        execution("O7", "D5", "ETH-USD", "buy", "filled", "10", "10", "2470", "5", 760)
        s.close_trade("T2", price="2470", fees="5", order_id="O7", time=at())
        snapshot("ETH-USD", "0", "0", "2470", "0", "290")
        snapshot("SOL-USD", "100", "100", "97.2", "-280", "0")
        # The engine's own logging lands in the ledger too (a record
        # without a time of its own is never stamped before the previous).
        log.warning("stop loss breached", extra={"fields": {"symbol": "SOL-USD", "stop": "97"}})
        s.risk(rule="stop_loss", severity="critical", limit="97", observed="96.6",
               action="close SOL-USD at market", time=at())
        decision("D6", "SOL-USD", "close", "100", "0.95",
                 ["stop loss at 97 breached", "exit at market"],
                 ["96.55", "96.65", "96.6", "61000"], [])
        execution("O8", "D6", "SOL-USD", "sell", "filled", "100", "100", "96.6", "2.5", 590)
        s.close_trade("T3", price="96.6", fees="2.5", order_id="O8", time=at())
        snapshot("SOL-USD", "0", "0", "96.6", "0", "-345")
        s.metric(name="net_pnl", value="225", tags={"window": "session"}, time=at())
        s.system(component="engine", level="info", message="flat: all positions closed", time=at())
        s.end("end of demo session", time=at())
        log.removeHandler(handler)
        ledger.sync()
        return ledger.verify()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: demo.py LEDGER_DIR")
    report = run(sys.argv[1])
    print(f"wrote the demo session: {report.records} records, intact: {report.intact}")
    sys.exit(0 if report.intact else 1)
