"""Type stubs of the ``tradeledger`` package."""

import logging
from typing import Any, Union

from ._native import (
    CorruptError as CorruptError,
    EventIter as EventIter,
    Finding as Finding,
    Ledger as Ledger,
    LedgerError as LedgerError,
    LockedError as LockedError,
    Receipt as Receipt,
    Session as Session,
    ValidationError as ValidationError,
    VerifyReport as VerifyReport,
    __version__ as __version__,
)

class LedgerHandler(logging.Handler):
    """Python log records as ``system`` events of a session."""
    ledger: Ledger
    session: Session
    dropped: int
    def __init__(self, ledger: Ledger, session: Union[str, Session], level: int = ...) -> None: ...
    def emit(self, record: logging.LogRecord) -> None: ...

__all__: list[str]
