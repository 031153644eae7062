"""Type stubs of the native module ``tradeledger._native`` (PyO3)."""

from datetime import datetime
from decimal import Decimal
from os import PathLike
from types import TracebackType
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Type, Union

__version__: str

#: An exact amount: never a float.
Amount = Union[str, int, Decimal]
#: A time: a timezone-aware datetime, or RFC 3339 text.
Time = Union[datetime, str]
Durability = Literal["group_commit", "no_sync", "sync_every_append"]
Fields = Union[Mapping[str, Union[str, int, Decimal]], Sequence[Mapping[str, str]]]

class LedgerError(Exception):
    """Everything the ledger refuses or fails at."""

class ValidationError(LedgerError):
    """An event was refused; nothing was appended."""
    field: str
    reason: str
    kind: Optional[str]

class LockedError(LedgerError):
    """Another writer holds the ledger."""
    path: str

class CorruptError(LedgerError):
    """Committed data is damaged."""
    segment: str
    offset: int
    seq: Optional[int]

class Receipt:
    """What an append returns."""
    @property
    def seq(self) -> int: ...
    @property
    def chain_hash(self) -> str: ...
    @property
    def time(self) -> datetime: ...
    @property
    def time_ns(self) -> int: ...
    @property
    def realized_pnl(self) -> Optional[Decimal]: ...

class Finding:
    """One finding of a verification."""
    kind: str
    segment: str
    offset: int
    seq: Optional[int]
    detail: str

class VerifyReport:
    """The result of ``Ledger.verify()``."""
    intact: bool
    ledger_id: Optional[str]
    segments: int
    records: int
    bytes: int
    head_seq: Optional[int]
    head_chain_hash: Optional[str]
    findings: List[Finding]
    def to_dict(self) -> Dict[str, Any]: ...
    def __bool__(self) -> bool: ...

class EventIter(Iterator[Dict[str, Any]]):
    """Events as export-form dicts."""
    def __iter__(self) -> "EventIter": ...
    def __next__(self) -> Dict[str, Any]: ...

KeyFilter = Union[str, Sequence[str], None]

class Ledger:
    """A trading ledger open for writing."""
    @staticmethod
    def open(path: Union[str, "PathLike[str]"], durability: Durability = "group_commit") -> "Ledger": ...
    def __enter__(self) -> "Ledger": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def path(self) -> str: ...
    @property
    def durability(self) -> Durability: ...
    @property
    def ledger_id(self) -> str: ...
    @property
    def head(self) -> Optional[Receipt]: ...
    def sync(self) -> None: ...
    def session(
        self,
        session_id: str,
        starting_equity: Optional[Amount] = None,
        engine_version: str = "tradeledger",
        config_digest: str = "",
    ) -> "Session": ...
    def append(self, event: Mapping[str, Any]) -> Receipt: ...
    def events(
        self,
        kind: KeyFilter = None,
        symbol: KeyFilter = None,
        session: KeyFilter = None,
        trade: KeyFilter = None,
        start: Optional[Time] = None,
        end: Optional[Time] = None,
    ) -> EventIter: ...
    def to_pandas(
        self,
        kind: KeyFilter = None,
        symbol: KeyFilter = None,
        session: KeyFilter = None,
        trade: KeyFilter = None,
        start: Optional[Time] = None,
        end: Optional[Time] = None,
    ) -> Any: ...
    def verify(self) -> VerifyReport: ...
    def report(
        self,
        symbol: KeyFilter = None,
        session: Optional[str] = None,
        start: Optional[Time] = None,
        end: Optional[Time] = None,
    ) -> Dict[str, Any]: ...
    def replay(
        self,
        until_seq: Optional[int] = None,
        until: Optional[Time] = None,
        session: Optional[str] = None,
    ) -> Dict[str, Any]: ...
    def explain_trade(self, trade_id: str) -> Dict[str, Any]: ...

class Session:
    """A trading session: one method per event kind."""
    @property
    def id(self) -> str: ...
    @property
    def ledger(self) -> Ledger: ...
    def __enter__(self) -> "Session": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]] = None,
        exc: Optional[BaseException] = None,
        _tb: Optional[TracebackType] = None,
    ) -> bool: ...
    def start(self, *, time: Optional[Time] = None) -> Receipt: ...
    def end(self, reason: str = "end of session", *, time: Optional[Time] = None) -> Receipt: ...
    def decision(
        self,
        *,
        decision_id: str,
        symbol: str,
        action: Literal["buy", "sell", "hold", "close"],
        size: Amount,
        confidence: Amount,
        reasoning: Sequence[str],
        market: Mapping[str, Any],
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def execution(
        self,
        *,
        order_id: str,
        decision_id: str,
        symbol: str,
        side: Literal["buy", "sell"],
        status: Literal["filled", "partially_filled", "rejected", "cancelled"],
        requested_qty: Amount,
        filled_qty: Amount,
        avg_price: Optional[Amount] = None,
        fees: Amount = ...,
        latency_us: int = ...,
        error: Optional[str] = None,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def open_trade(
        self,
        *,
        trade_id: str,
        symbol: str,
        direction: Literal["long", "short"],
        qty: Amount,
        price: Amount,
        fees: Amount,
        decision_id: Optional[str] = None,
        order_id: Optional[str] = None,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def fill_trade(
        self,
        *,
        trade_id: str,
        symbol: str,
        effect: Literal["increase", "reduce"],
        qty: Amount,
        price: Amount,
        fees: Amount,
        order_id: Optional[str] = None,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def close_trade(
        self,
        trade_id: str,
        price: Amount,
        fees: Optional[Amount] = None,
        order_id: Optional[str] = None,
        *,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def position(
        self,
        *,
        symbol: str,
        qty: Amount,
        avg_entry: Amount,
        mark: Amount,
        unrealized_pnl: Amount,
        realized_pnl: Amount,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def risk(
        self,
        *,
        rule: str,
        severity: Literal["info", "warning", "critical"],
        limit: Amount,
        observed: Amount,
        action: str,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def system(
        self,
        *,
        component: str,
        level: Literal["trace", "debug", "info", "warn", "error"],
        message: str,
        fields: Optional[Fields] = None,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def metric(
        self,
        *,
        name: str,
        value: Amount,
        tags: Optional[Fields] = None,
        time: Optional[Time] = None,
    ) -> Receipt: ...
    def audit(
        self,
        *,
        who: str,
        action: str,
        target: str,
        reason: str,
        time: Optional[Time] = None,
    ) -> Receipt: ...
