"""Several Python threads share one Ledger."""

from __future__ import annotations

import threading

import tradeledger


def test_threads_append_concurrently(path):
    n_threads, per_thread = 4, 500
    with tradeledger.Ledger.open(path) as ledger:
        receipts = [[] for _ in range(n_threads)]
        errors = []

        def work(i):
            try:
                s = ledger.session(f"t{i}")
                for j in range(per_thread):
                    receipts[i].append(s.metric(name="n", value=j).seq)
            except Exception as e:  # pragma: no cover (reported below)
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(ledger.events()))
        for t in threads:
            t.start()
        reader.start()
        for t in threads + [reader]:
            t.join(timeout=120)
            assert not t.is_alive(), "a thread hung"
        assert not errors
        all_seqs = sorted(s for r in receipts for s in r)
        assert all_seqs == list(range(1, n_threads * per_thread + 1))
        for r in receipts:
            assert r == sorted(r)  # each thread's appends are in its own order
        ledger.sync()
        assert ledger.verify().intact
        for i in range(n_threads):
            values = [int(e["data"]["value"]) for e in ledger.events(session=f"t{i}")]
            assert values == list(range(per_thread))


def test_sync_every_append_releases_the_gil(path):
    # With the device wait outside the GIL, a pure-Python thread keeps running.
    with tradeledger.Ledger.open(path, durability="sync_every_append") as ledger:
        s = ledger.session("s")
        stop = threading.Event()
        ticks = [0]

        def spin():
            while not stop.is_set():
                ticks[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        for i in range(50):
            s.metric(name="n", value=i)
        stop.set()
        t.join(timeout=30)
        assert ticks[0] > 0
        assert ledger.head.seq == 50
