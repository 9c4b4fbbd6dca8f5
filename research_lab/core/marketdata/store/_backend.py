"""Everything that differs between the two backends, and nothing else.

- :func:`parse_store_url` accepts ``sqlite:///path/to/market.db`` (parent folders are created),
  ``sqlite://`` (in memory, one shared connection), ``postgresql://user@host:port/db``,
  ``postgresql+psycopg2://...`` and ``postgres://...``; anything else is a ``ValueError``.
- :func:`make_engine` opens SQLite in WAL mode (readers never block the writer, the writer never
  blocks readers) with a 30 s busy timeout and ``synchronous=NORMAL`` (durable across a process
  crash; the last commits may be lost on power failure), and PostgreSQL with a small
  pre-pinged pool.
- :func:`write_transaction` is the one way to write: SQLite starts ``BEGIN IMMEDIATE`` (takes
  the database's single write lock up front, waiting up to the busy timeout, so two writers
  queue instead of failing); PostgreSQL takes a transaction-scoped advisory lock named after what
  is written (writers of the same symbol queue; different symbols write in parallel).
  Commit on success, rollback on any exception.
- :func:`insert_tuples` is ``COPY ... FROM STDIN`` (CSV) on PostgreSQL (one statement streams
  every row; floats written with ``repr`` so they round-trip bit for bit, NaN as ``NaN``, None
  as NULL) and one ``executemany`` on SQLite. Frames of the store's tables go through
  ``_partitions.bulk_insert`` (binary COPY, :mod:`._pgcopy`).

Reads on SQLite run outside any explicit transaction (the driver only opens one before DML),
so a read is exactly one statement on both backends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_S = 30.0
_EXAMPLES = "sqlite:///path/to/market.db or postgresql://user@host:5432/dbname"


def parse_store_url(url: str | URL) -> URL:
    """Parse and normalize a store URL (see the module docstring for what is accepted)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        # the text may hold a password, so it is not echoed
        raise ValueError(f"could not parse the store URL; expected {_EXAMPLES}") from None
    name, _, driver = parsed.drivername.partition("+")
    if name in ("postgresql", "postgres") and driver in ("", "psycopg2"):
        return parsed.set(drivername="postgresql+psycopg2")
    if name == "sqlite" and driver in ("", "pysqlite"):
        return parsed.set(drivername="sqlite")
    raise ValueError(
        f"unsupported store URL scheme {parsed.drivername!r} in {mask_url(parsed)}; "
        f"expected {_EXAMPLES}"
    )


def mask_url(url: URL) -> str:
    """The URL as text with any password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def backend_name(engine_or_conn: Engine | Connection) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return engine_or_conn.dialect.name


def make_engine(url: URL) -> Engine:
    """An engine for a URL from :func:`parse_store_url`, tuned per backend."""
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    database = url.database or ""
    if database in ("", ":memory:"):
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent, so usually already done).

    SQLite answers ``database is locked`` at once, without its busy handler, when another
    process switches the mode or opens the file at the same moment; retry with backoff.
    """
    import sqlite3
    import time

    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock`` (same in every process)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def write_transaction(
    engine: Engine, *, lock_name: str, more_locks: Sequence[str] = ()
) -> Iterator[Connection]:
    """One write transaction holding the lock for ``lock_name`` (see the module docstring), and
    on PostgreSQL also those of ``more_locks`` (pass all names sorted: a fixed order cannot
    deadlock with other writers)."""
    with engine.begin() as conn:
        if backend_name(conn) == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            for name in (lock_name, *more_locks):
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(advisory_lock_key(name))))
        yield conn


def insert_tuples(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, driver-ready values) into ``table``: CSV
    COPY on PostgreSQL, one ``executemany`` on SQLite. (Frames of the store's tables take the
    faster binary COPY of ``_partitions.bulk_insert``.)"""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    target = conn.dialect.identifier_preparer.format_table(table)
    names = ", ".join(quote(c) for c in columns)
    if backend_name(conn) == "postgresql":
        import psycopg2

        sql = f"COPY {target} ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with conn.connection.dbapi_connection.cursor() as cursor:
            try:
                cursor.copy_expert(sql, _copy_buffer(rows))
            except psycopg2.IntegrityError as exc:  # the raw cursor bypasses SQLAlchemy's wrapping
                raise sa.exc.IntegrityError(sql, None, exc) from exc
    else:
        import sqlite3

        marks = ", ".join("?" for _ in columns)
        cursor = conn.connection.dbapi_connection.cursor()  # the driver's own executemany
        try:
            cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})", rows)
        except sqlite3.IntegrityError as exc:  # the raw cursor bypasses SQLAlchemy's wrapping
            raise sa.exc.IntegrityError("INSERT", None, exc) from exc
        finally:
            cursor.close()


def _copy_buffer(rows: Sequence[tuple]):
    """``rows`` as COPY CSV text: None -> ``\\N``, floats by ``repr`` (exact), dates ISO."""
    import csv
    import io
    import math
    from datetime import date, datetime

    def text(v):
        if v is None:
            return "\\N"
        if isinstance(v, float):
            return "NaN" if math.isnan(v) else repr(v)
        if isinstance(v, (datetime, date)):
            return v.isoformat()
        return v

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([tuple(text(v) for v in row) for row in rows])
    buffer.seek(0)
    return buffer
