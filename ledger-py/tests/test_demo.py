"""The Python port of the demo session, judged by the command line."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo_port_is_accepted_by_ledger_verify_and_report(path, cli):
    p = subprocess.run([sys.executable, str(DEMO), str(path)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "intact: True" in p.stdout
    verify = cli.json(path, "verify")
    assert verify["intact"] is True and verify["records"] == 40
    report = cli.json(path, "report")
    total = report["total"]
    assert total["trades"] == 3 and total["wins"] == 2 and total["losses"] == 1
    assert f"{float(total['win_rate']) * 100:.1f}" == "66.7"
    assert Decimal(total["net_pnl"]) == Decimal("225")
    assert f"{Decimal(total['net_pnl']):+.2f}" == "+225.00"
    assert Decimal(total["max_drawdown"]) == Decimal("345")
    text = cli.run(path, "report").stdout
    assert "66.7 %" in text and "+225.00" in text
    replay = cli.json(path, "replay")
    assert replay["counts"]["position_snapshot"] == 9
    assert replay["counts"]["system"] == 3  # two scripted, one from Python logging
