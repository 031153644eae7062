"""The session methods' fast path stores what the JSON path stores.

Each case goes once through ``session.<kind>(**fields)`` and once through
``ledger.append({"kind", "session", "data"})`` (the JSON form, which the
session methods also fall back to for anything unusual); the stored data
must be the same. The cases mix what the fast path takes (exact str, int,
Decimal, list, dict) with what it leaves to the JSON path (exponents,
subclasses, tuples of pairs, None where a list belongs).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import tradeledger
from conftest import MARKET


class Text(str):
    pass


class Dec(Decimal):
    pass


def pairs(d):
    return [{"key": k, "value": "" if v is None else v} for k, v in d.items()]


CASES = [
    ("decision", "decision", dict(decision_id="D1", symbol="BTC-USD", action="buy", size="0.5",
                                  confidence=Decimal("0.80"), reasoning=["a", "b"], market=MARKET)),
    ("decision", "decision", dict(decision_id=Text("D2"), symbol="BTC-USD", action="sell", size=2,
                                  confidence=Dec("1"), reasoning=("a",),
                                  market={**MARKET, "bid": Decimal("4E+4"), "indicators": []})),
    ("execution", "execution", dict(order_id="O1", decision_id="D1", symbol="BTC-USD", side="buy",
                                    status="partially_filled", requested_qty="1",
                                    filled_qty=Decimal("0.5"), avg_price="40000", fees=0,
                                    latency_us=2**63, error=None)),
    ("execution", "execution", dict(order_id="O2", decision_id="D1", symbol="BTC-USD",
                                    side="sell", status="rejected", requested_qty="1",
                                    filled_qty="0", fees="0", latency_us=5, error="no funds")),
    ("position", "position_snapshot", dict(symbol="BTC-USD", qty="-0.5", avg_entry="40000",
                                           mark=40150, unrealized_pnl="-75",
                                           realized_pnl=Decimal("-0"))),
    ("metric", "metric", dict(name="fill_ratio", value=Decimal("0.8"), tags={"w": "s", "n": None})),
    ("metric", "metric", dict(name="m", value="1")),
    ("system", "system", dict(component="router", level="warn", message="slow")),
    ("system", "system", dict(component="router", level="info", message="m",
                              fields={"k": Text("v")})),
    ("risk", "risk", dict(rule="max_pos", severity="critical", limit="10", observed="12",
                          action="halt")),
    ("audit", "audit", dict(who="op", action="pause", target="BTC-USD", reason="news")),
]


@pytest.mark.parametrize("method,kind,fields", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fast_path_stores_what_the_json_path_stores(path, method, kind, fields):
    with tradeledger.Ledger.open(path) as ledger:
        s = ledger.session("s1")
        getattr(s, method)(**fields)
        data = {k: v for k, v in fields.items()}
        for key in ("tags", "fields"):
            if isinstance(data.get(key), dict):
                data[key] = pairs(data[key])
        data.setdefault({"metric": "tags", "system": "fields"}.get(kind, "_"), [])
        data.pop("_", None)
        data["reasoning"] = list(data["reasoning"]) if "reasoning" in data else None
        if data["reasoning"] is None:
            del data["reasoning"]
        ledger.append({"kind": kind, "session": "s1", "data": data})
        a, b = (e["data"] for e in ledger.events(kind=kind))
        assert a == b
        assert [type(v) for v in a.values()] == [type(v) for v in b.values()]


def test_unusual_arguments_are_refused_as_before(path):
    with tradeledger.Ledger.open(path) as ledger:
        s = ledger.session("s1")
        base = dict(name="m", value="1")
        with pytest.raises(tradeledger.ValidationError) as e:
            s.metric(**base, colour="red")
        assert e.value.field == "colour"
        with pytest.raises(tradeledger.ValidationError) as e:
            s.metric(name="m")
        assert e.value.field == "value" and "missing field" in e.value.reason
        with pytest.raises(tradeledger.ValidationError):
            s.metric(name="m", value=True)
        with pytest.raises(tradeledger.ValidationError):
            s.metric(name="m", value=2**63)  # a u64 JSON number: out of range
        with pytest.raises(tradeledger.ValidationError) as e:
            s.metric(name="m", value="1", tags=None)
        assert e.value.field == "data"
        with pytest.raises(TypeError, match="session: set by the Session"):
            s.metric(**base, session="s2")
        with pytest.raises(TypeError, match="positional"):
            s.metric("m")
        assert ledger.head is None or ledger.head.seq == 0


def test_the_instance_methods_and_the_class_methods_agree(path):
    with tradeledger.Ledger.open(path) as ledger:
        s = ledger.session("s1")
        s.metric(name="m", value="1", tags={"w": "s"})
        tradeledger.Session.metric(s, name="m", value="1", tags={"w": "s"})
        a, b = (e["data"] for e in ledger.events(kind="metric"))
        assert a == b
        with pytest.raises(TypeError, match=r"Session\.metric\(\) takes 0 positional arguments"):
            s.metric("m")
        with pytest.raises(TypeError, match=r"Session\.metric\(\) takes 0 positional arguments"):
            tradeledger.Session.metric(s, "m")
