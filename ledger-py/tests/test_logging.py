"""LedgerHandler: Python log records as system events, never a deadlock."""

from __future__ import annotations

import logging
import threading

import tradeledger


def _system(ledger):
    return [e["data"] for e in ledger.events(kind="system")]


def test_records_become_system_events(path):
    with tradeledger.Ledger.open(path) as ledger:
        log = logging.getLogger("engine.orders")
        log.propagate = False
        handler = tradeledger.LedgerHandler(ledger, "s1", level=logging.INFO)
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
        try:
            log.debug("below the handler's level")
            log.info("order %s sent", "O1")
            log.warning("queue deep", extra={"fields": {"depth": 812}})
            log.error("venue down")
            log.critical("halt")
        finally:
            log.removeHandler(handler)
        events = _system(ledger)
    assert [(e["level"], e["message"]) for e in events] == [
        ("info", "order O1 sent"),
        ("warn", "queue deep"),
        ("error", "venue down"),
        ("error", "halt"),
    ]
    assert all(e["component"] == "engine.orders" and e["session"] == "s1" for e in events)
    fields = {f["key"]: f["value"] for f in events[1]["fields"]}
    assert fields["depth"] == "812" and fields["module"] == "test_logging"
    assert handler.dropped == 0


def test_logging_inside_the_handler_does_not_deadlock(path):
    """A formatter that logs (re-entering the handler on the same thread)."""
    with tradeledger.Ledger.open(path) as ledger:
        log = logging.getLogger("reentrant")
        log.propagate = False
        handler = tradeledger.LedgerHandler(ledger, ledger.session("s1"))

        class Chatty(logging.Formatter):
            def format(self, record):
                if record.msg != "inner":
                    log.warning("inner")
                return super().format(record)

        handler.setFormatter(Chatty())
        log.addHandler(handler)
        try:
            done = threading.Event()

            def run():
                log.warning("outer")
                done.set()

            t = threading.Thread(target=run)
            t.start()
            t.join(timeout=30)
            assert done.is_set(), "deadlocked"
        finally:
            log.removeHandler(handler)
        messages = [e["message"] for e in _system(ledger)]
    assert messages == ["outer", "inner"]


def test_logging_from_many_threads_while_appending(path):
    with tradeledger.Ledger.open(path) as ledger:
        log = logging.getLogger("threads")
        log.propagate = False
        handler = tradeledger.LedgerHandler(ledger, "s1")
        log.addHandler(handler)
        s = ledger.session("s1")
        try:
            def worker(i):
                for j in range(200):
                    log.warning("w%d %d", i, j)
                    s.metric(name="m", value=j)

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
                assert not t.is_alive(), "deadlocked"
        finally:
            log.removeHandler(handler)
        assert len(_system(ledger)) == 800
        assert ledger.head.seq == 1600
        assert handler.dropped == 0


def test_a_closed_ledger_drops_and_reports(path, capsys):
    ledger = tradeledger.Ledger.open(path)
    log = logging.getLogger("closed")
    log.propagate = False
    handler = tradeledger.LedgerHandler(ledger, "s1")
    log.addHandler(handler)
    ledger.close()
    try:
        log.error("after close")  # must not raise
    finally:
        log.removeHandler(handler)
    assert handler.dropped == 1
    assert "closed" in capsys.readouterr().err
