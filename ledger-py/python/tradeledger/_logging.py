"""``LedgerHandler``: Python ``logging`` records as ``system`` events.

The counterpart of the Rust ``tracing`` layer (``ledger-domain``'s
``tracing_layer``): each record at the handler's level or above becomes a
``system`` event of the session, with ``component`` the logger's name,
``level`` mapped from the record's level, ``message`` the formatted message
and ``fields`` the record's origin (``module``, ``line``, ``thread``) plus
any ``extra={"fields": {...}}`` given to the logging call.

It never deadlocks: the ledger never calls back into Python while it holds
its lock, and a record emitted while this thread is already inside the
handler (a log call made by code the handler runs) is buffered and written
right after, in order, instead of re-entering.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, List, Union

from ._native import Session

_LEVELS = (
    (logging.ERROR, "error"),
    (logging.WARNING, "warn"),
    (logging.INFO, "info"),
    (logging.DEBUG, "debug"),
)


def ledger_level(levelno: int) -> str:
    """The ledger's level name for a ``logging`` level number."""
    for at_least, name in _LEVELS:
        if levelno >= at_least:
            return name
    return "trace"


class LedgerHandler(logging.Handler):
    """A ``logging.Handler`` that records log records as ``system`` events.

    ``LedgerHandler(ledger, session)``: ``session`` is a session id (str)
    or a ``Session`` of ``ledger``. Records that cannot be appended (a
    refused or failed append, a closed ledger) are counted in ``dropped``
    and reported through ``logging.Handler.handleError``.
    """

    def __init__(self, ledger: Any, session: Union[str, Session], level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.ledger = ledger
        self.session: Session = ledger.session(session) if isinstance(session, str) else session
        #: Records that could not be recorded.
        self.dropped = 0
        self._local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        """Appends ``record`` as a ``system`` event (buffered when re-entered)."""
        local = self._local
        pending: List[logging.LogRecord] = getattr(local, "pending", None) or []
        if getattr(local, "busy", False):
            pending.append(record)
            local.pending = pending
            return
        local.busy = True
        local.pending = [record]
        try:
            while local.pending:
                batch, local.pending = local.pending, []
                for r in batch:
                    self._append(r)
        finally:
            local.busy = False

    def _append(self, record: logging.LogRecord) -> None:
        try:
            fields = {
                "module": record.module,
                "line": str(record.lineno),
                "thread": record.threadName or "",
            }
            extra = getattr(record, "fields", None)
            if isinstance(extra, dict):
                fields.update({str(k): str(v) for k, v in extra.items()})
            message = self.format(record) if self.formatter else record.getMessage()
            self.session.system(
                component=record.name or "root",
                level=ledger_level(record.levelno),
                message=message or "(no message)",
                fields=fields,
            )
        except Exception:  # noqa: BLE001 (a log call must never raise)
            self.dropped += 1
            self.handleError(record)
