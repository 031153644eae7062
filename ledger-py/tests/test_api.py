"""Every method of Ledger and Session, and what each returns."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import tradeledger
from conftest import MARKET, decision


def test_open_creates_and_context_manager_closes(path):
    with tradeledger.Ledger.open(path) as ledger:
        assert not ledger.closed
        assert ledger.path == str(path) or str(ledger.path) == str(path)
        assert ledger.durability == "group_commit"
        assert len(ledger.ledger_id) == 32
        assert ledger.head is None
    assert ledger.closed
    ledger.close()  # twice is fine
    with pytest.raises(tradeledger.LedgerError, match="closed"):
        ledger.session("s").start()
    # Reading still works after close.
    assert ledger.verify().intact


@pytest.mark.parametrize("mode", ["group_commit", "no_sync", "sync_every_append"])
def test_durability_modes(path, mode):
    with tradeledger.Ledger.open(path, durability=mode) as ledger:
        r = ledger.session("s1").start()
        ledger.sync()
        assert r.seq == 1 and ledger.head.seq == 1
        assert ledger.durability == mode


def test_unknown_durability_is_refused(path):
    with pytest.raises(ValueError, match="durability"):
        tradeledger.Ledger.open(path, durability="fast")


def test_session_context_manager_writes_start_and_end(path):
    with tradeledger.Ledger.open(path) as ledger:
        with ledger.session("s1", starting_equity="10000", engine_version="e 1", config_digest="c") as s:
            assert s.id == "s1"
            assert s.ledger.path == ledger.path
        with pytest.raises(RuntimeError):
            with ledger.session("s2"):
                raise RuntimeError("engine crashed")
        events = list(ledger.events())
    kinds = [(e["session"], e["kind"]) for e in events]
    assert kinds == [
        ("s1", "session_started"),
        ("s1", "session_ended"),
        ("s2", "session_started"),
        ("s2", "session_ended"),
    ]
    assert events[0]["data"]["starting_equity"] == Decimal("10000")
    assert events[0]["data"]["engine_version"] == "e 1"
    assert events[1]["data"]["reason"] == "end of session"
    assert "RuntimeError: engine crashed" in events[3]["data"]["reason"]


def test_every_event_method_returns_a_receipt(path):
    with tradeledger.Ledger.open(path) as ledger:
        with ledger.session("s1", starting_equity=10000) as s:
            receipts = [
                decision(s),
                s.execution(order_id="O1", decision_id="D1", symbol="BTC-USD", side="buy",
                            status="filled", requested_qty="0.5", filled_qty="0.5",
                            avg_price="40000", fees="5", latency_us=800, error=None),
                s.open_trade(trade_id="T1", symbol="BTC-USD", direction="long", qty="0.3",
                             price="40000", fees="3", decision_id="D1", order_id="O1"),
                s.fill_trade(trade_id="T1", symbol="BTC-USD", effect="increase", qty="0.2",
                             price="40000", fees="2", order_id="O1"),
                s.position(symbol="BTC-USD", qty="0.5", avg_entry="40000", mark="40100",
                           unrealized_pnl="50", realized_pnl="0"),
                s.risk(rule="max_dd", severity="warning", limit="500", observed="450",
                       action="watch"),
                s.system(component="engine", level="info", message="hello",
                         fields={"venue": "paper", "latency_ms": 4}),
                s.metric(name="fill_ratio", value=Decimal("0.8"), tags={"window": "s"}),
                s.audit(who="alice", action="approve", target="s1", reason="ok"),
            ]
            closed = s.close_trade("T1", price="40600", fees="5", order_id="O2")
        head = ledger.head
    seqs = [r.seq for r in receipts] + [closed.seq]
    assert seqs == list(range(2, 12))
    for r in receipts + [closed]:
        assert len(r.chain_hash) == 64 and int(r.chain_hash, 16) >= 0
        assert r.time.tzinfo is not None
        assert r.time_ns // 1000 == int(r.time.timestamp() * 1_000_000) or abs(
            r.time_ns / 1e9 - r.time.timestamp()) < 1e-5
    assert receipts[0].realized_pnl is None
    # (40600 - 40000) x 0.5 - (3 + 2 + 5) = 290
    assert closed.realized_pnl == Decimal("290")
    assert head.seq == 12 and head.chain_hash != closed.chain_hash
    assert "Receipt(seq=2" in repr(receipts[0])


def test_explicit_times_and_system_fields_as_list(path):
    t0 = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc)
    with tradeledger.Ledger.open(path) as ledger:
        s = ledger.session("s1")
        r = s.start(time=t0)
        assert r.time == t0
        r = s.system(component="c", level="warn", message="m",
                     fields=[{"key": "k", "value": "v"}], time=t0 + timedelta(seconds=1))
        assert r.time == t0 + timedelta(seconds=1)
        # An offset other than UTC is the same instant.
        cet = timezone(timedelta(hours=1))
        r = s.end("done", time=datetime(2026, 1, 5, 15, 30, 2, tzinfo=cet))
        assert r.time == t0 + timedelta(seconds=2)
        e = list(ledger.events(kind="system"))[0]
        assert e["data"]["fields"] == [{"key": "k", "value": "v"}]
        assert e["time"] == t0 + timedelta(seconds=1)


def test_append_takes_the_json_line_form(path):
    t0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
    with tradeledger.Ledger.open(path) as ledger:
        r = ledger.append({"kind": "session_started", "time": t0, "data": {
            "session": "s1", "engine_version": "e", "config_digest": "c",
            "starting_equity": "10000"}})
        assert r.seq == 1 and r.time == t0
        r = ledger.append({"kind": "decision", "session": "s1", "time": "2026-01-05T00:00:01Z",
                           "data": {"decision_id": "D1", "symbol": "X", "action": "hold",
                                    "size": 1, "confidence": "0.5", "reasoning": [],
                                    "market": MARKET}})
        assert r.seq == 2
        exported = list(ledger.events())
    # What events() gives, append() takes back (the export form round-trips).
    other = path.parent / "copy"
    with tradeledger.Ledger.open(other) as copy:
        for e in exported:
            copy.append(e)
        again = list(copy.events())
    strip = lambda es: [{k: v for k, v in e.items() if k != "chain_hash"} for e in es]
    assert strip(again) == strip(exported)


def test_head_and_ledger_id_persist(path):
    with tradeledger.Ledger.open(path) as ledger:
        ledger.session("s").start()
        ident, head = ledger.ledger_id, ledger.head
    with tradeledger.Ledger.open(path) as again:
        assert again.ledger_id == ident
        assert again.head.seq == head.seq and again.head.chain_hash == head.chain_hash
        assert "tradeledger.Ledger" in repr(again)
