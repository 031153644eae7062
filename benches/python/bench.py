"""Events per second appended from Python: tradeledger beside the old design.

    python benches/python/bench.py [--events N]

(with ``tradeledger`` installed: ``pip install ./ledger-py``). Not part of
the tests. The same events go through:

1. ``tradeledger``: ``session.decision(...)``, ``execution``, ``position``
   and ``metric`` in turn (each validated, postcard-encoded, appended with
   the blake3 chain and indexed-ready, group commit), then ``sync()``; and
   ``decision`` alone.
2. The old design, faithfully in pure Python: a JSON-lines journal where
   each line carries the SHA-256 of the previous line's hash and this
   event's JSON (written and flushed per event), plus one SQLite row per
   event (seq, time, kind, session, JSON data, hash) in a table with
   indexes on kind, session and symbol, committed per event and, in the
   batched variant, every 1,000 events. SQLite keeps its default
   (synchronous=FULL, rollback journal) as the old engine did.

Prints one line per variant and the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal

import tradeledger

MARKET = {
    "bid": "39990.5",
    "ask": "40010.25",
    "last": "40000",
    "volume": "1250.5",
    "indicators": [{"name": "rsi_14", "value": "38.2"}],
}


def events(n: int):
    """``n`` events (kind, fields), about 200 bytes each, cycling four kinds."""
    out = []
    for i in range(n):
        k = i % 4
        if k == 0:
            out.append(("decision", dict(decision_id=f"D{i}", symbol="BTC-USD", action="buy",
                                         size="0.5", confidence="0.82",
                                         reasoning=["RSI leaving oversold"], market=MARKET)))
        elif k == 1:
            out.append(("execution", dict(order_id=f"O{i}", decision_id=f"D{i - 1}",
                                          symbol="BTC-USD", side="buy", status="filled",
                                          requested_qty="0.5", filled_qty="0.5",
                                          avg_price="40000", fees="6", latency_us=850,
                                          error=None)))
        elif k == 2:
            out.append(("position", dict(symbol="BTC-USD", qty="0.5", avg_entry="40000",
                                         mark="40150", unrealized_pnl="75", realized_pnl="0")))
        else:
            out.append(("metric", dict(name="fill_ratio", value=Decimal("0.8"),
                                       tags={"window": "session"})))
    return out


def bench_tradeledger(evs, decisions_only: bool = False) -> float:
    with tempfile.TemporaryDirectory() as d:
        with tradeledger.Ledger.open(os.path.join(d, "l"), durability="group_commit") as ledger:
            s = ledger.session("bench")
            if decisions_only:
                n = len(evs)
                t = time.perf_counter()
                for i in range(n):
                    s.decision(
                        decision_id=f"D{i}", symbol="BTC-USD", action="buy", size="0.5",
                        confidence="0.82", reasoning=["RSI leaving oversold"], market=MARKET)
                ledger.sync()
                return n / (time.perf_counter() - t)
            methods = {k: getattr(s, k) for k in ("decision", "execution", "position", "metric")}
            t = time.perf_counter()
            for kind, fields in evs:
                methods[kind](**fields)
            ledger.sync()
            return len(evs) / (time.perf_counter() - t)


class OldJournal:
    """The old design: SHA-256 JSON-lines journal + one SQLite row per event."""

    def __init__(self, d: str, batch: int) -> None:
        self.f = open(os.path.join(d, "journal.jsonl"), "a", encoding="utf-8")
        self.db = sqlite3.connect(os.path.join(d, "ledger.db"))
        self.db.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, time TEXT, kind TEXT, session TEXT, "
            "symbol TEXT, data TEXT, hash TEXT)"
        )
        for col in ("kind", "session", "symbol"):
            self.db.execute(f"CREATE INDEX events_{col} ON events ({col})")
        self.db.commit()
        self.prev = "0" * 64
        self.seq = 0
        self.batch = batch

    @staticmethod
    def _default(o):
        if isinstance(o, Decimal):
            return str(o)
        raise TypeError(type(o))

    def log(self, session: str, kind: str, fields: dict) -> str:
        self.seq += 1
        now = datetime.now(timezone.utc).isoformat()
        data = dict(fields, session=session)
        body = json.dumps({"seq": self.seq, "time": now, "kind": kind, "data": data},
                          sort_keys=True, default=self._default)
        h = hashlib.sha256((self.prev + body).encode()).hexdigest()
        self.f.write(json.dumps({"entry": body, "prev": self.prev, "hash": h}) + "\n")
        self.f.flush()
        self.prev = h
        self.db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.seq, now, kind, session, data.get("symbol"),
             json.dumps(data, default=self._default), h),
        )
        if self.seq % self.batch == 0:
            self.db.commit()
        return h

    def close(self) -> None:
        self.db.commit()
        self.db.close()
        self.f.close()


def bench_old(evs, batch: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        j = OldJournal(d, batch)
        t = time.perf_counter()
        for kind, fields in evs:
            j.log("bench", kind, fields)
        j.close()
        return len(evs) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--per-commit-events", type=int, default=2_000,
                    help="events for the old design committing per event (slow)")
    a = ap.parse_args()
    evs = events(a.events)
    few = evs[: a.per_commit_events]
    bench_tradeledger(evs[:5000])  # warm up
    rows = [
        ("tradeledger, session.decision(...) etc., group commit", bench_tradeledger(evs)),
        ("tradeledger, session.decision(...) only", bench_tradeledger(evs, decisions_only=True)),
        ("old design: JSONL+SHA-256 + SQLite, commit per 1000", bench_old(evs, 1000)),
        ("old design: JSONL+SHA-256 + SQLite, commit per event", bench_old(few, 1)),
    ]
    for name, rate in rows:
        print(f"{name:58s} {rate:>12,.0f} events/s")
    ours = rows[0][1]
    print(f"tradeledger vs old design batched:   {ours / rows[2][1]:6.1f}x")
    print(f"tradeledger vs old design per event: {ours / rows[3][1]:6.1f}x")
    print(f"target >= 200,000 events/s from one Python thread: "
          f"{'met' if ours >= 200_000 else 'MISSED'} ({ours:,.0f})")


if __name__ == "__main__":
    main()
