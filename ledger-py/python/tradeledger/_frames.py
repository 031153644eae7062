"""``Ledger.to_pandas``: events as a pandas DataFrame (pandas imported lazily)."""

from __future__ import annotations

from typing import Any, Iterable

#: The columns, as ``ledger export --format csv`` writes them.
COLUMNS = [
    "seq",
    "time",
    "kind",
    "session",
    "symbol",
    "trade_id",
    "decision_id",
    "order_id",
    "chain_hash",
    "data",
]


def _import_pandas() -> Any:
    """Imports pandas, or raises an ImportError that says how to get it."""
    try:
        import pandas  # noqa: PLC0415 (lazy by design: pandas is optional)
    except ImportError as e:
        raise ImportError(
            "Ledger.to_pandas needs pandas, which is not installed: "
            "pip install pandas (or pip install 'tradeledger[pandas]'); "
            "Ledger.events() gives the same events as dicts without it"
        ) from e
    return pandas


def to_pandas(events: Iterable[dict]) -> Any:
    """A DataFrame of export-form event dicts, one row per event.

    ``symbol``, ``trade_id``, ``decision_id`` and ``order_id`` are taken
    from the event's data (None where the kind has none); ``data`` keeps the
    whole dict, amounts as ``Decimal``.
    """
    pandas = _import_pandas()
    rows = []
    for e in events:
        data = e["data"]
        rows.append(
            {
                "seq": e["seq"],
                "time": e["time"],
                "kind": e["kind"],
                "session": e["session"],
                "symbol": data.get("symbol"),
                "trade_id": data.get("trade_id"),
                "decision_id": data.get("decision_id"),
                "order_id": data.get("order_id"),
                "chain_hash": e["chain_hash"],
                "data": data,
            }
        )
    return pandas.DataFrame(rows, columns=COLUMNS)
