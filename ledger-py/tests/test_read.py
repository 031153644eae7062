"""Reading back: events with every filter, pandas, replay, explain_trade."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import tradeledger
from conftest import decision

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc)


@pytest.fixture
def ledger(path):
    clock = iter(T0 + timedelta(seconds=i) for i in range(10_000))
    with tradeledger.Ledger.open(path) as ledger:
        for sid, sym, tid in (("s1", "BTC-USD", "T1"), ("s2", "ETH-USD", "T2")):
            s = ledger.session(sid, starting_equity="10000")
            s.start(time=next(clock))
            decision(s, did=f"D{tid}", symbol=sym, time=next(clock))
            s.open_trade(trade_id=tid, symbol=sym, direction="long", qty="1", price="100",
                         fees="1", decision_id=f"D{tid}", time=next(clock))
            s.close_trade(tid, price="110", fees="1", time=next(clock))
            s.end(time=next(clock))
        yield ledger


def test_events_in_export_form(ledger):
    events = list(ledger.events())
    assert [e["seq"] for e in events] == list(range(1, 11))
    e = events[2]
    assert set(e) == {"seq", "time", "kind", "session", "chain_hash", "data"}
    assert e["kind"] == "trade_opened" and e["session"] == "s1"
    assert e["time"] == T0 + timedelta(seconds=2)
    assert e["data"]["price"] == Decimal("100")
    assert e["chain_hash"] == next(x for x in ledger.events(trade="T1"))["chain_hash"]


def test_every_filter(ledger):
    def seqs(**f):
        return [e["seq"] for e in ledger.events(**f)]

    assert seqs(kind="trade_closed") == [4, 9]
    assert seqs(kind=["trade_opened", "trade_closed"]) == [3, 4, 8, 9]
    assert seqs(symbol="ETH-USD") == [7, 8, 9]
    assert seqs(session="s1") == [1, 2, 3, 4, 5]
    assert seqs(trade="T2") == [8, 9]
    assert seqs(session="s2", kind="decision") == [7]
    assert seqs(start=T0 + timedelta(seconds=3), end=T0 + timedelta(seconds=6)) == [4, 5, 6]
    assert seqs(start=T0 + timedelta(seconds=3)) == list(range(4, 11))
    assert seqs(symbol="BTC-USD", end=T0 + timedelta(seconds=3)) == [2, 3]
    assert seqs(symbol="NONE") == []
    assert seqs(start=T0 + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="kind"):
        ledger.events(kind="trade")


def test_many_events_stream_in_batches(path):
    with tradeledger.Ledger.open(path, durability="no_sync") as ledger:
        s = ledger.session("big")
        for i in range(5000):
            s.metric(name="n", value=i)
        it = ledger.events()
        assert iter(it) is it
        values = [e["data"]["value"] for e in it]
        assert values == [Decimal(i) for i in range(5000)]
        assert len(list(ledger.events(session="big"))) == 5000


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed")
def test_to_pandas(ledger):
    df = ledger.to_pandas(symbol="BTC-USD")
    assert list(df.columns) == ["seq", "time", "kind", "session", "symbol", "trade_id",
                                "decision_id", "order_id", "chain_hash", "data"]
    assert list(df["seq"]) == [2, 3, 4]
    assert list(df["trade_id"])[1:] == ["T1", "T1"]
    assert df["data"].iloc[1]["price"] == Decimal("100")
    assert len(ledger.to_pandas()) == 10


def test_to_pandas_without_pandas_says_how(ledger, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("No module named 'pandas'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    monkeypatch.delitem(__import__("sys").modules, "pandas", raising=False)
    with pytest.raises(ImportError, match="pip install pandas"):
        ledger.to_pandas()


def test_replay_until_and_by_session(ledger):
    full = ledger.replay()
    assert full["events"] == 10 and full["closed_trades"] == 2
    assert full["closed_net_pnl"] == Decimal("16")
    assert full["last"]["seq"] == 10
    part = ledger.replay(until_seq=3)
    assert part["events"] == 3 and part["closed_trades"] == 0
    assert [t["trade_id"] for t in part["open_trades"]] == ["T1"]
    assert part["open_trades"][0]["avg_entry"] == Decimal("100")
    timed = ledger.replay(until=T0 + timedelta(seconds=4))  # inclusive
    assert timed["events"] == 5
    assert ledger.replay(session="s2")["events"] == 5


def test_explain_trade(ledger):
    story = ledger.explain_trade("T2")
    assert story["trade"]["trade_id"] == "T2"
    assert story["decision"]["event"]["decision_id"] == "DT2"
    assert story["decision"]["event"]["market"]["bid"] == Decimal("39990")
    with pytest.raises(KeyError):
        ledger.explain_trade("T9")


def test_report_filters(ledger):
    rep = ledger.report()
    assert rep["total"]["trades"] == 2
    assert rep["total"]["net_pnl"] == Decimal("16")
    assert set(rep["by_symbol"]) == {"BTC-USD", "ETH-USD"}
    assert ledger.report(symbol="ETH-USD")["total"]["trades"] == 1
    assert ledger.report(session="s1")["total"]["trades"] == 1
    assert ledger.report(start=T0 + timedelta(seconds=5))["total"]["trades"] == 1
    assert ledger.report(end=T0 + timedelta(seconds=1))["total"]["trades"] == 0
    curve = rep["total"]["equity_curve"]
    # Two sessions of 10000 each: their capital adds up (docs/REPORT.md).
    assert rep["starting_equity"] == Decimal("10000")
    assert curve[-1][1] == Decimal("20016") and curve[-1][0].tzinfo is not None
