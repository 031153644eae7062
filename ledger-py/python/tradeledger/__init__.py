"""tradeledger: the hash-chained trading ledger, embedded in Python.

The engine is the Rust workspace's (``ledger-core``, ``ledger-domain``),
running in-process: a ledger written from Python is the same kind of
ledger the ``ledger`` command line writes, verifies and reports on.

>>> import tradeledger, tempfile
>>> with tradeledger.Ledger.open(tempfile.mkdtemp() + "/l") as ledger:
...     with ledger.session("s1", starting_equity="10000") as s:
...         _ = s.metric(name="fill_ratio", value="0.8")
...     ledger.verify().intact
True

Amounts are exact: ``str``, ``int`` and ``decimal.Decimal`` are accepted
and ``Decimal`` comes back; a ``float`` raises ``TypeError``. Times are
timezone-aware ``datetime`` objects. See ``docs/EVENTS.md`` for the fields
of each event kind.
"""

from ._native import (
    CorruptError,
    EventIter,
    Finding,
    Ledger,
    LedgerError,
    LockedError,
    Receipt,
    Session,
    ValidationError,
    VerifyReport,
    __version__,
)
from ._logging import LedgerHandler

__all__ = [
    "CorruptError",
    "EventIter",
    "Finding",
    "Ledger",
    "LedgerError",
    "LedgerHandler",
    "LockedError",
    "Receipt",
    "Session",
    "ValidationError",
    "VerifyReport",
    "__version__",
]
