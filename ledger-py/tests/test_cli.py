"""The Rust and Python writers make the same kind of ledger."""

from __future__ import annotations

import json
from decimal import Decimal

import tradeledger
from conftest import decision, plain


def _same_report(py, cli_json):
    """Compares ``Ledger.report()`` with ``ledger report --json``."""
    want = cli_json
    got = plain(py)
    for scope in [got["total"], *got["by_symbol"].values()]:
        scope["equity_curve"] = [[int(t.timestamp() * 1_000_000), v] for t, v in scope["equity_curve"]]
    for scope in [want["total"], *want["by_symbol"].values()]:
        scope["equity_curve"] = [[t // 1000, v] for t, v in scope["equity_curve"]]
    # The worst executions' times: datetimes in Python, nanoseconds in JSON.
    for w in got["execution"]["worst"]:
        w["time"] = int(w["time"].timestamp() * 1_000_000)
    for w in want["execution"]["worst"]:
        w["time"] = w["time"] // 1000
    # The CLI's floats were read as Decimal (its money is strings): compare
    # every ratio as a float.
    def ratios_float(d):
        if isinstance(d, Decimal):
            return float(d)
        if isinstance(d, dict):
            return {k: ratios_float(v) for k, v in d.items()}
        if isinstance(d, list):
            return [ratios_float(v) for v in d]
        return d
    assert got.keys() == want.keys()
    assert ratios_float(got) == ratios_float(want)


def test_python_ledger_is_verified_and_reported_by_the_cli(path, cli):
    with tradeledger.Ledger.open(path) as ledger:
        with ledger.session("s1", starting_equity="10000") as s:
            decision(s)
            s.open_trade(trade_id="T1", symbol="BTC-USD", direction="long", qty="0.5",
                         price="40000", fees="10", decision_id="D1")
            s.close_trade("T1", price="40600", fees="10")
            s.open_trade(trade_id="T2", symbol="ETH-USD", direction="short", qty="10",
                         price="2500", fees="5")
            s.close_trade("T2", price="2520", fees="5")
        py_report = ledger.report()
        py_verify = ledger.verify()
        py_events = list(ledger.events())
    verify = cli.json(path, "verify")
    assert verify["intact"] is True
    assert verify["records"] == py_verify.records == len(py_events)
    assert verify["head"]["chain_hash"] == py_verify.head_chain_hash == py_events[-1]["chain_hash"]
    assert verify["head"]["seq"] == py_verify.head_seq
    _same_report(py_report, cli.json(path, "report"))
    # Export gives the same events, line by line.
    lines = cli.run(path, "export").stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert [e["seq"] for e in exported] == [e["seq"] for e in py_events]
    assert [e["chain_hash"] for e in exported] == [e["chain_hash"] for e in py_events]
    assert [e["data"] for e in exported] == [plain(e["data"]) for e in py_events]


def test_cli_ledger_is_read_from_python(path, cli):
    cli.run(path, "demo", "--events", "300")
    with tradeledger.Ledger.open(path) as ledger:
        _same_report(ledger.report(), cli.json(path, "report"))
        replay = ledger.replay()
        want = cli.json(path, "replay")
        assert replay["events"] == want["events"]
        assert plain(replay["counts"]) == want["counts"]
        assert str(replay["closed_net_pnl"]) == want["closed_net_pnl"]
        assert ledger.verify().intact
        story = ledger.explain_trade("T3")
        want_story = cli.json(path, "replay", "--trade", "T3")
        assert plain(story["trade"]["fees"]) == want_story["trade"]["fees"]
        assert plain(story["decision"]["event"]) == want_story["decision"]["event"]
        # And the Python writer continues the Rust ledger.
        with ledger.session("py-after") as s:
            s.metric(name="m", value="1")
    assert cli.json(path, "verify")["intact"] is True
