"""Money is exact: floats refused anywhere, decimals round-trip, times aware."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

import tradeledger
from conftest import MARKET, decision


@pytest.fixture
def session(path):
    with tradeledger.Ledger.open(path) as ledger:
        with ledger.session("s1", starting_equity="10000") as s:
            yield s


def test_a_float_is_refused_with_the_reason(session):
    with pytest.raises(TypeError, match=r"size: a float \(0\.5\) is refused: binary floats"):
        decision(session, size=0.5)
    with pytest.raises(TypeError, match=r"market\.bid: a float"):
        decision(session, market={**MARKET, "bid": 39990.0})
    with pytest.raises(TypeError, match=r"market\.indicators\[0\]\.value: a float"):
        decision(session, market={**MARKET, "indicators": [{"name": "rsi", "value": 38.2}]})
    with pytest.raises(TypeError, match="price: a float"):
        session.close_trade("T1", price=1.5)
    with pytest.raises(TypeError, match="starting_equity: a float"):
        session.ledger.session("s2", starting_equity=1e4)
    with pytest.raises(TypeError, match=r"data\.value: a float"):
        session.ledger.append({"kind": "metric", "data": {"session": "s1", "name": "m",
                                                           "value": 0.1, "tags": []}})
    with pytest.raises(TypeError, match="tags.w: a float"):
        session.metric(name="m", value="1", tags={"w": 0.5})
    # Nothing was appended by any of them.
    assert session.ledger.head.seq == 1


def test_decimals_round_trip_exactly(session):
    amounts = ["0.00000001", "123456789012345.12345678", "-0.5", "40000", "1E+3"]
    for i, a in enumerate(amounts):
        session.metric(name=f"m{i}", value=Decimal(a))
    session.metric(name="int", value=10**14)
    session.metric(name="str", value="0.1")
    values = [e["data"]["value"] for e in session.ledger.events(kind="metric")]
    assert all(isinstance(v, Decimal) for v in values)
    assert values == [Decimal(a) for a in amounts] + [Decimal(10**14), Decimal("0.1")]
    assert str(values[0]) in ("1E-8", "0.00000001")
    assert values[-1] == Decimal("0.1") and str(values[-1]) == "0.1"


def test_amounts_the_ledger_cannot_hold_are_refused(session):
    with pytest.raises(tradeledger.ValidationError) as e:
        session.metric(name="m", value=Decimal("0.000000001"))
    assert e.value.field == "value"
    with pytest.raises(ValueError, match="not a finite amount"):
        session.metric(name="m", value=Decimal("NaN"))
    with pytest.raises(TypeError, match="cannot be stored"):
        session.metric(name="m", value=object())


def test_report_and_replay_amounts_are_decimals_ratios_floats(session):
    session.open_trade(trade_id="T1", symbol="X", direction="long", qty="3", price="0.1", fees="0")
    r = session.close_trade("T1", price="0.3", fees="0")
    assert r.realized_pnl == Decimal("0.6")
    rep = session.ledger.report()
    assert rep["total"]["net_pnl"] == Decimal("0.6")
    assert isinstance(rep["total"]["win_rate"], float)
    assert session.ledger.replay()["closed_net_pnl"] == Decimal("0.6")


def test_naive_datetimes_are_refused(session):
    with pytest.raises(ValueError, match="naive datetime"):
        session.audit(who="a", action="b", target="c", reason="d", time=datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="naive datetime"):
        list(session.ledger.events(start=datetime(2026, 1, 5)))
    with pytest.raises(ValueError, match="naive datetime"):
        session.audit(who="a", action="b", target=datetime(2026, 1, 5), reason="d")


def test_aware_datetimes_as_values_are_rfc3339_text(session):
    t = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc)
    session.audit(who="a", action="b", target=t, reason="d")
    e = list(session.ledger.events(kind="audit"))[0]
    assert e["data"]["target"] == "2026-01-05T14:30:00+00:00"
