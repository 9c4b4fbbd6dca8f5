"""Replace (symbol, session) partitions of any table, and keep the ledger of what was written.

:func:`replace_partitions` is generic over a table that has ``symbol`` and ``session`` columns.
Inside one transaction from :func:`._backend.write_transaction` it

1. deletes exactly the table's rows of (symbol, s) for every s in ``sessions``,
2. bulk-inserts ``frame`` (one row per table row, columns named like the table's),
3. replaces the ledger rows (dataset = the table's name, symbol, s) for every s, including
   sessions without rows, with the row count, data version, source and written_at.

so a rewrite is idempotent, neighbours are untouched, and an exception anywhere rolls all of it
back. Reusing it for another dataset (e.g. anomaly scores, "stored with market data, same keys"):

.. code-block:: python

    anomaly_scores = sa.Table("anomaly_scores", metadata,
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("session", sa.Date, nullable=False),
        sa.Column("timestamp", EpochNanos, nullable=False),
        sa.Column("score", sa.Double, nullable=False), ...,
        sa.PrimaryKeyConstraint("symbol", "timestamp"),
        sa.Index("ix_anomaly_scores_symbol_session", "symbol", "session"))
    PARTITIONED_TABLES.append(anomaly_scores)       # delete_symbol clears it too

    with write_transaction(engine, lock_name=f"anomaly_scores:{symbol}") as conn:
        replace_partitions(conn, anomaly_scores, scores_frame, symbol=symbol,
                           sessions=sessions, versions=versions, source=source,
                           written_at=utc_now())

and read the ledger with ``ledger_query(anomaly_scores)``. Column values are converted for
the driver by the column's SQL type (:func:`driver_rows`): ``Date`` from ``datetime64`` (or
dates), :class:`EpochNanos` and ``DateTime`` from ``datetime64[ns, tz]``, numbers from numpy,
strings as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ._backend import backend_name, bulk_insert
from ._tables import EpochNanos, PARTITIONED_TABLES, market_partitions

DELETE_CHUNK = 1000  # sessions per DELETE ... IN (...): well under SQLite's variable limit


def replace_partitions(
    conn: Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    *,
    symbol: str,
    sessions: Sequence[date],
    versions: Mapping[date, str],
    source: str,
    written_at: datetime,
) -> None:
    """Make ``frame`` the whole content of ``table``'s partitions (symbol, s) for s in sessions.

    The caller has checked that every row of ``frame`` has this symbol and one of these
    sessions, and computed ``versions`` (a missing session gets ``"empty"``). Call inside
    :func:`._backend.write_transaction`; this function does not commit.
    """
    _delete_sessions(conn, table, symbol, sessions)
    bulk_insert(conn, table, [c.name for c in table.columns], driver_rows(conn, table, frame))
    _delete_sessions(conn, market_partitions, symbol, sessions, dataset=table.name)
    counts = pd.DatetimeIndex(frame["session"]).value_counts() if len(frame) else None
    days = pd.DatetimeIndex(pd.to_datetime(list(sessions)))
    ledger = pd.DataFrame(
        {
            "dataset": table.name,
            "symbol": symbol,
            "session": days,
            "rows": counts.reindex(days, fill_value=0).to_numpy() if counts is not None else 0,
            "data_version": [versions.get(s, "empty") for s in sessions],
            "source": source,
            "written_at": pd.Timestamp(written_at),
        }
    )
    bulk_insert(
        conn,
        market_partitions,
        [c.name for c in market_partitions.columns],
        driver_rows(conn, market_partitions, ledger),
    )


def delete_symbol_rows(conn: Connection, symbol: str) -> int:
    """Delete every partitioned table's rows and ledger rows of ``symbol``; rows of the first
    table (market bars) deleted."""
    deleted = [
        conn.execute(sa.delete(t).where(t.c.symbol == symbol)).rowcount
        for t in PARTITIONED_TABLES
    ]
    conn.execute(sa.delete(market_partitions).where(market_partitions.c.symbol == symbol))
    return deleted[0]


def ledger_query(table: sa.Table, symbol: str | None = None) -> sa.Select:
    """The ledger rows of ``table`` (optionally one symbol), sorted by symbol and session."""
    lp = market_partitions
    query = sa.select(
        lp.c.symbol, lp.c.session, lp.c.rows, lp.c.data_version, lp.c.source, lp.c.written_at
    ).where(lp.c.dataset == table.name)
    if symbol is not None:
        query = query.where(lp.c.symbol == symbol)
    return query.order_by(lp.c.symbol, lp.c.session)


def _delete_sessions(
    conn: Connection,
    table: sa.Table,
    symbol: str,
    sessions: Sequence[date],
    *,
    dataset: str | None = None,
) -> None:
    for start in range(0, len(sessions), DELETE_CHUNK):
        chunk = list(sessions[start : start + DELETE_CHUNK])
        where = [table.c.symbol == symbol, table.c.session.in_(chunk)]
        if dataset is not None:
            where.append(table.c.dataset == dataset)
        conn.execute(sa.delete(table).where(*where))


def driver_rows(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> list[tuple]:
    """``frame``'s rows as tuples of driver-ready values in ``table.columns`` order."""
    if frame.empty:
        return []
    sqlite = backend_name(conn) == "sqlite"
    columns = []
    for column in table.columns:
        values = frame[column.name]
        kind = column.type
        if isinstance(kind, EpochNanos):
            stamps = pd.DatetimeIndex(values)
            if stamps.tz is None:
                raise ValueError(f"{table.name}.{column.name} needs timezone-aware timestamps")
            columns.append(stamps.asi8.tolist())
        elif isinstance(kind, sa.Date):
            days = pd.DatetimeIndex(values)
            # SQLite keeps dates as the text SQLAlchemy writes: YYYY-MM-DD
            columns.append(days.strftime("%Y-%m-%d").tolist() if sqlite else days.date.tolist())
        elif isinstance(kind, sa.DateTime):
            instants = pd.DatetimeIndex(values)
            if instants.tz is None:
                raise ValueError(f"{table.name}.{column.name} needs timezone-aware datetimes")
            instants = instants.tz_convert("UTC")
            # SQLite: naive UTC text in SQLAlchemy's DateTime format; PostgreSQL: timestamptz
            columns.append(
                instants.strftime("%Y-%m-%d %H:%M:%S.%f").tolist()
                if sqlite
                else instants.to_pydatetime().tolist()
            )
        elif isinstance(kind, sa.Float):  # Double is a Float
            columns.append(values.to_numpy(dtype=np.float64).tolist())
        elif isinstance(kind, sa.Integer):  # BigInteger is an Integer
            columns.append(values.to_numpy(dtype=np.int64).tolist())
        else:
            columns.append(values.tolist())
    return list(zip(*columns))
