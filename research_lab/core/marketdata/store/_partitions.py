"""Replace (symbol, session) partitions of any table, and keep the ledger of what was written.

:func:`replace_partitions` is generic over a table that has ``symbol`` and ``session`` columns.
Inside one transaction from :func:`._backend.write_transaction` it

1. deletes exactly the table's rows of (symbol, s) for every s in ``sessions``, by session
   range, and not at all where nothing is stored (:func:`delete_sessions`),
2. bulk-inserts ``frame`` (one row per table row, columns named like the table's): binary
   ``COPY`` on PostgreSQL (:mod:`._pgcopy`), one ``executemany`` on SQLite (:func:`bulk_insert`),
3. replaces the ledger rows (dataset = the table's name, symbol, s) for every s, including
   sessions without rows, with the row count, data version, source and written_at, the same way.

:func:`replace_many` does this for many symbols at once (one delete per group of symbols asking
for the same sessions, one bulk insert per table): the path of ``BarStore.write_many``.

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

from ._backend import backend_name, insert_tuples
from ._bars import as_days
from ._tables import EpochNanos, PARTITIONED_TABLES, market_partitions

SYMBOL_CHUNK = 500  # symbols per ``symbol IN (...)``: well under SQLite's variable limit
SESSION_CHUNK = 1000  # sessions per ``session IN (...)`` when ranges do not fit
MAX_PIECES = 20  # more range deletes than this for one group: delete by listed sessions


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
    replace_many(conn, table, [(symbol, sessions, frame, versions)], source=source,
                 written_at=written_at)


def replace_many(
    conn: Connection,
    table: sa.Table,
    items: Sequence[tuple[str, Sequence[date], pd.DataFrame, Mapping[date, str]]],
    *,
    source: str,
    written_at: datetime,
) -> None:
    """:func:`replace_partitions` for several ``(symbol, sessions, frame, versions)`` at once,
    with one bulk insert per table (COPY on PostgreSQL, one ``executemany`` on SQLite) and
    deletes by session range (:func:`delete_sessions`). ``sessions`` sorted ascending."""
    pairs = [(symbol, tuple(sessions)) for symbol, sessions, _, _ in items]
    delete_sessions(conn, table, pairs)
    frames = [frame for _, _, frame, _ in items if len(frame)]
    if frames:
        bulk_insert(conn, table, frames[0] if len(frames) == 1 else
                    pd.concat(frames, ignore_index=True))
    delete_sessions(conn, market_partitions, pairs, dataset=table.name)
    bulk_insert(conn, market_partitions, _ledger_rows(table.name, items, source, written_at))


def _ledger_rows(dataset: str, items: Sequence[tuple], source: str,
                 written_at: datetime) -> pd.DataFrame:
    """One ledger row per (symbol, session) of ``items``, with the session's row count."""
    symbols, days, rows, versions = [], [], [], []
    for symbol, sessions, frame, by_session in items:
        wanted = as_days(sessions)
        if not len(wanted):
            continue
        if len(frame):
            have, n = np.unique(frame["session"].to_numpy().astype("datetime64[D]"),
                               return_counts=True)
            counts = np.zeros(len(wanted), dtype=np.int64)
            pos = np.searchsorted(wanted, have)
            counts[pos] = n  # the caller checked: every row's session is one of ``sessions``
        else:
            counts = np.zeros(len(wanted), dtype=np.int64)
        symbols.append(np.full(len(wanted), symbol, dtype=object))
        days.append(wanted)
        rows.append(counts)
        versions.extend(by_session.get(s, "empty") for s in sessions)
    if not days:
        return pd.DataFrame(columns=[c.name for c in market_partitions.columns])
    return pd.DataFrame({
        "dataset": str(dataset),  # a plain str: sqlite3 adapts str subclasses slowly
        "symbol": np.concatenate(symbols),
        "session": np.concatenate(days).astype("datetime64[ns]"),
        "rows": np.concatenate(rows),
        "data_version": np.array(versions, dtype=object),
        "source": source,
        "written_at": pd.Timestamp(written_at),
    })


def bulk_insert(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert ``frame``'s rows (columns named like ``table``'s) into ``table``: binary COPY on
    PostgreSQL (:mod:`._pgcopy`; CSV COPY for a column type it does not encode), one
    ``executemany`` of :func:`driver_rows` on SQLite."""
    if frame.empty:
        return
    if backend_name(conn) == "postgresql":
        from . import _pgcopy

        if not _pgcopy.encodable(table):
            insert_tuples(conn, table, [c.name for c in table.columns],
                          driver_rows(conn, table, frame))
            return
        import psycopg2

        sql = _pgcopy.copy_statement(table, conn.dialect)
        with conn.connection.dbapi_connection.cursor() as cursor:
            for buffer in _pgcopy.binary_buffers(table, frame):
                try:
                    cursor.copy_expert(sql, buffer)
                except psycopg2.IntegrityError as exc:  # the raw cursor bypasses SQLAlchemy
                    raise sa.exc.IntegrityError(sql, None, exc) from exc
        return
    insert_tuples(conn, table, [c.name for c in table.columns], driver_rows(conn, table, frame))


def delete_sessions(
    conn: Connection,
    table: sa.Table,
    pairs: Sequence[tuple[str, Sequence[date]]],
    *,
    dataset: str | None = None,
) -> None:
    """Delete exactly ``table``'s rows of (symbol, s) for s in sessions, for every
    ``(symbol, sessions)`` (sorted ascending) of ``pairs`` (and ``dataset``, for the ledger).

    By ranges, not lists: symbols asking for the same sessions are handled together; one
    ``SELECT DISTINCT session ... WHERE symbol IN (...) AND session BETWEEN first AND last``
    (on the (symbol, session) index) finds what is stored. Nothing stored: no delete (a first
    write pays nothing). Every stored session requested: ONE ``DELETE ... BETWEEN``. Otherwise
    the stored sessions that were not requested split the range, and only the pieces holding
    requested stored sessions are deleted, between those neighbours (exclusive), so the
    neighbours are never touched; when that would take more than :data:`MAX_PIECES`
    statements (requested and kept sessions interleave), the requested stored sessions are
    listed (``session IN (...)``, :data:`SESSION_CHUNK` at a time) instead.
    """
    groups: dict[tuple[date, ...], list[str]] = {}
    for symbol, sessions in pairs:
        if len(sessions):
            groups.setdefault(tuple(sessions), []).append(symbol)
    t = table
    for sessions, symbols in groups.items():
        lo, hi = sessions[0], sessions[-1]
        wanted = set(sessions)
        for start in range(0, len(symbols), SYMBOL_CHUNK):
            chunk = symbols[start:start + SYMBOL_CHUNK]
            where = [t.c.symbol.in_(chunk) if len(chunk) > 1 else t.c.symbol == chunk[0],
                     t.c.session.between(lo, hi)]
            if dataset is not None:
                where.append(t.c.dataset == dataset)
            stored = sorted(conn.execute(sa.select(t.c.session).where(*where).distinct())
                            .scalars())
            if not stored:
                continue
            pieces, inside, previous = [], False, None
            for s in stored:
                if s in wanted:
                    inside = True
                elif inside:  # a stored session that stays: close the piece before it
                    pieces.append((previous, s))
                    inside, previous = False, s
                else:
                    previous = s
            if inside:
                pieces.append((previous, None))
            if len(pieces) > MAX_PIECES:  # requested and kept sessions interleave: list them
                hit = [s for s in stored if s in wanted]
                for i in range(0, len(hit), SESSION_CHUNK):
                    conn.execute(sa.delete(t).where(
                        *where[:1], *where[2:], t.c.session.in_(hit[i:i + SESSION_CHUNK])))
                continue
            for a, b in pieces:
                piece = list(where)
                if a is not None:
                    piece.append(t.c.session > a)
                if b is not None:
                    piece.append(t.c.session < b)
                conn.execute(sa.delete(t).where(*piece))


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
            columns.append(stamps.as_unit("ns").asi8.tolist())
        elif isinstance(kind, sa.Date):
            days = pd.DatetimeIndex(values).to_numpy().astype("datetime64[D]")
            # SQLite keeps dates as the text SQLAlchemy writes: YYYY-MM-DD
            columns.append(days.astype(str).tolist() if sqlite else days.astype(object).tolist())
        elif isinstance(kind, sa.DateTime):
            instants = pd.DatetimeIndex(values)
            if instants.tz is None:
                raise ValueError(f"{table.name}.{column.name} needs timezone-aware datetimes")
            instants = instants.tz_convert("UTC")
            # SQLite: naive UTC text in SQLAlchemy's DateTime format; PostgreSQL: timestamptz
            distinct, inverse = np.unique(instants.as_unit("ns").asi8, return_inverse=True)
            distinct = pd.DatetimeIndex(pd.to_datetime(distinct, unit="ns", utc=True))  # often 1
            columns.append(
                np.asarray(distinct.strftime("%Y-%m-%d %H:%M:%S.%f"), dtype=object)[inverse]
                .tolist()
                if sqlite
                else np.asarray(distinct.to_pydatetime(), dtype=object)[inverse].tolist()
            )
        elif isinstance(kind, sa.Float):  # Double is a Float
            columns.append(values.to_numpy(dtype=np.float64).tolist())
        elif isinstance(kind, sa.Integer):  # BigInteger is an Integer
            columns.append(values.to_numpy(dtype=np.int64).tolist())
        else:
            columns.append(values.tolist())
    return list(zip(*columns))
