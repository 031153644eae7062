"""Shared fixtures: a fresh ledger folder and the ``ledger`` command line."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any, List

import pytest

REPO = Path(__file__).resolve().parents[2]


def ledger_command() -> List[str]:
    """The ``ledger`` binary: ``$LEDGER_BIN`` (set by .ci/python-tests), else ``cargo run``."""
    given = os.environ.get("LEDGER_BIN")
    if given:
        return shlex.split(given)
    return ["cargo", "run", "-q", "-p", "ledger-tools", "--bin", "ledger", "--"]


class Cli:
    """Runs the ``ledger`` command line on a folder."""

    def __init__(self) -> None:
        self.cmd = ledger_command()

    def run(self, path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs ``ledger -d PATH ARGS...``; fails the test on a non-zero exit when ``check``."""
        p = subprocess.run(
            [*self.cmd, "-d", str(path), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and p.returncode != 0:
            pytest.fail(f"ledger {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def json(self, path: Path, *args: str) -> Any:
        """The JSON output of ``ledger -d PATH ARGS... --json``, decimals exact."""
        out = self.run(path, *args, "--json").stdout
        return json.loads(out, parse_float=Decimal)


@pytest.fixture(scope="session")
def cli() -> Cli:
    """The command line."""
    return Cli()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A folder for a new ledger."""
    return tmp_path / "ledger"


def plain(x: Any) -> Any:
    """``x`` with every Decimal as its string, for comparing with the CLI's JSON."""
    if isinstance(x, Decimal):
        return str(x)
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


MARKET = {"bid": "39990", "ask": "40010", "last": "40000", "volume": "1250.5", "indicators": []}


def decision(s: Any, did: str = "D1", **over: Any) -> Any:
    """Logs a valid decision, with fields overridden by ``over``."""
    fields = dict(
        decision_id=did,
        symbol="BTC-USD",
        action="buy",
        size="0.5",
        confidence="0.8",
        reasoning=["a reason"],
        market=MARKET,
    )
    fields.update(over)
    return s.decision(**fields)
