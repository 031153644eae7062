"""Every exception, with its fields."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tradeledger
from conftest import decision


def test_hierarchy():
    for cls in (tradeledger.ValidationError, tradeledger.LockedError, tradeledger.CorruptError):
        assert issubclass(cls, tradeledger.LedgerError)
    assert issubclass(tradeledger.LedgerError, Exception)


def test_validation_error_names_field_and_reason(path):
    with tradeledger.Ledger.open(path) as ledger:
        with ledger.session("s1") as s:
            with pytest.raises(tradeledger.ValidationError) as e:
                s.open_trade(trade_id="T1", symbol="X", direction="long", qty="1", price="-5",
                             fees="0")
            assert (e.value.field, e.value.kind) == ("price", "trade_opened")
            assert "positive" in e.value.reason
            assert "trade_opened event refused: price:" in str(e.value)
            with pytest.raises(tradeledger.ValidationError) as e:
                decision(s, market={"bid": "2", "ask": "1", "last": "1", "volume": "1",
                                    "indicators": []})
            assert e.value.field == "market.ask"
            with pytest.raises(tradeledger.ValidationError) as e:
                s.open_trade(trade_id="T1", symbol="X", direction="long", price="1", fees="0")
            assert e.value.field == "qty" and "missing field" in e.value.reason
            with pytest.raises(tradeledger.ValidationError) as e:
                s.audit(who="a", action="b", target="c", reason="d", colour="red")
            assert e.value.field == "colour" and "unknown field" in e.value.reason
            with pytest.raises(tradeledger.ValidationError) as e:
                s.close_trade("T9", price="1")
            assert e.value.field == "trade_id"
            with pytest.raises(tradeledger.ValidationError) as e:
                ledger.append({"kind": "decisoin", "data": {}})
            assert e.value.field == "kind"
            with pytest.raises(tradeledger.ValidationError) as e:
                ledger.append({"kind": "audit", "data": {"session": "s1", "who": "a"}})
            assert e.value.field == "data.action"
            with pytest.raises(tradeledger.ValidationError) as e:
                ledger.append({"kind": "audit", "time": "2000-01-01", "data": {
                    "session": "s1", "who": "a", "action": "b", "target": "c", "reason": "d"}})
            assert e.value.field == "time"
            with pytest.raises(TypeError, match="session: set by the Session"):
                s.audit(who="a", action="b", target="c", reason="d", session="other")
            head = ledger.head.seq
    assert head == 1  # nothing refused was appended


def test_second_writer_in_this_process_is_locked(path):
    with tradeledger.Ledger.open(path):
        with pytest.raises(tradeledger.LockedError) as e:
            tradeledger.Ledger.open(path)
        assert e.value.path.endswith("LOCK") or "LOCK" in e.value.path or e.value.path
        assert "another writer" in str(e.value)
    tradeledger.Ledger.open(path).close()  # free again


def test_second_writer_in_another_process_is_locked(path):
    code = (
        "import sys, tradeledger\n"
        "try:\n"
        f"    tradeledger.Ledger.open({str(path)!r})\n"
        "except tradeledger.LockedError as e:\n"
        "    print('locked', e.path); sys.exit(3)\n"
    )
    with tradeledger.Ledger.open(path):
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stderr
    assert p.stdout.startswith("locked")


def _damage_middle_record(path: Path) -> None:
    segs = sorted(f for f in os.listdir(path) if f not in ("LOCK", "LEDGER"))
    assert segs, os.listdir(path)
    seg = path / segs[0]
    data = bytearray(seg.read_bytes())
    # A byte inside an early record (past the header), not at the tail.
    at = 400
    data[at] ^= 0xFF
    seg.write_bytes(bytes(data))


def test_corrupt_error_and_verify_findings_locate_damage(path):
    with tradeledger.Ledger.open(path, durability="no_sync") as ledger:
        s = ledger.session("s1")
        s.start()
        for i in range(200):
            s.metric(name="m", value=i)
    _damage_middle_record(path)
    # Opening the writer refuses damage it must not cut.
    with pytest.raises(tradeledger.CorruptError) as e:
        tradeledger.Ledger.open(path)
    assert e.value.segment and e.value.offset > 0
    assert e.value.seq is None or e.value.seq >= 1
    assert isinstance(e.value, tradeledger.LedgerError)
    # verify() needs no writer: it reports every finding, located.
    report = ledger.verify()
    assert not report.intact and not report
    f = report.findings[0]
    assert f.segment and f.offset > 0 and f.kind
    assert report.to_dict()["intact"] is False
