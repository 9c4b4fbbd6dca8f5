"""The read queries, shaped so that results turn into frames with numpy, not per-row Python.

A bar read selects ``session`` as days since 1970-01-01 and ``timestamp`` as its raw BIGINT
nanoseconds, both computed by the database; numpy then builds ``datetime64`` columns in one step
(:func:`._bars.bars_from_columns`). The index (symbol, session) serves the session filter and
the primary key (symbol, timestamp) the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import sqlalchemy as sa

from ..schema import NUMERIC_COLUMNS
from ._tables import market_bars

PARTITION_COLUMNS = ("symbol", "session", "rows", "data_version", "source", "written_at")
UNIX_EPOCH_JULIAN_DAY = 2440587.5


def bars_query(
    symbols: Sequence[str], start: date | None, end: date | None, *, backend: str
) -> sa.Select:
    """One SELECT of the bars of ``symbols`` with start <= session <= end, by (symbol, time)."""
    t = market_bars
    query = sa.select(
        t.c.symbol,
        epoch_days(t.c.session, backend),
        sa.type_coerce(t.c.timestamp, sa.BigInteger),  # raw ns, no per-row conversion
        *(t.c[name] for name in NUMERIC_COLUMNS),
    )
    if len(symbols) == 1:
        query = query.where(t.c.symbol == symbols[0])
    else:
        query = query.where(t.c.symbol.in_(symbols))
    if start is not None:
        query = query.where(t.c.session >= start)
    if end is not None:
        query = query.where(t.c.session <= end)
    return query.order_by(t.c.symbol, t.c.timestamp)


def epoch_days(session: sa.ColumnElement, backend: str) -> sa.ColumnElement[int]:
    """A DATE column as whole days since 1970-01-01, computed in SQL."""
    if backend == "sqlite":  # julianday of a YYYY-MM-DD text is an exact x.5
        return sa.cast(sa.func.julianday(session) - UNIX_EPOCH_JULIAN_DAY, sa.Integer)
    return sa.type_coerce(session - sa.literal_column("DATE '1970-01-01'"), sa.Integer)


def ledger_frame(rows: Sequence[sa.Row]) -> pd.DataFrame:
    """Ledger rows as a frame: session ``datetime64[ns]``, rows ``int64``, written_at UTC."""
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(PARTITION_COLUMNS))
    written = pd.to_datetime(frame["written_at"], utc=True)  # SQLite gives naive UTC
    return frame.astype(
        {
            "symbol": object,
            "session": "datetime64[ns]",
            "rows": "int64",
            "data_version": object,
            "source": object,
        }
    ).assign(written_at=written.astype("datetime64[ns, UTC]"))
