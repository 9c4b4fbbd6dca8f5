"""The tables of the market-data store, and how they are created.

One :data:`metadata` holds every table, so one ``create_all`` makes the whole store:

``market_bars``        one row per bar. Primary key (symbol, timestamp); index (symbol, session).
``market_partitions``  the ledger: one row per materialized (dataset, symbol, session), also for
                       sessions with no rows (a holiday is "materialized, 0 rows").

How values are stored, the same way on SQLite and PostgreSQL so that they round-trip exactly:

- ``session`` is a SQL ``DATE`` (SQLite keeps it as the text ``YYYY-MM-DD``, which sorts and
  compares like a date).
- ``timestamp`` is a ``BIGINT`` of nanoseconds since the epoch, UTC (:class:`EpochNanos`):
  exact to the nanosecond on both backends (``TIMESTAMPTZ`` stops at microseconds and SQLite has
  no time type), cheap to convert to ``datetime64[ns, UTC]``, and ordered like time.
- prices and volume are ``DOUBLE PRECISION`` / ``REAL`` (IEEE 754 binary64 on both): every
  float64 comes back bit for bit.
- ``written_at`` in the ledger is a ``TIMESTAMP WITH TIME ZONE`` (SQLite: naive UTC text).

A table keyed by (symbol, session) that should be written partition by partition (anomaly
scores, say) is defined on :data:`metadata` and appended to :data:`PARTITIONED_TABLES`; see
:mod:`._partitions` for the write helper it then gets for free.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ._backend import write_transaction

metadata = sa.MetaData()


class EpochNanos(sa.types.TypeDecorator):
    """An instant stored as BIGINT nanoseconds since 1970-01-01 UTC.

    Binds ``pd.Timestamp``/``datetime`` (timezone-aware; naive values are refused because their
    meaning is ambiguous) or plain ints; returns ``pd.Timestamp`` in UTC. Bulk paths convert
    whole columns with numpy instead of going through these per-value hooks.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> int | None:
        if value is None or isinstance(value, int):
            return value
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no timezone; pass a UTC-aware timestamp")
        return int(ts.value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> pd.Timestamp | None:
        return None if value is None else pd.Timestamp(int(value), unit="ns", tz="UTC")


market_bars = sa.Table(
    "market_bars",
    metadata,
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("session", sa.Date, nullable=False),
    sa.Column("timestamp", EpochNanos, nullable=False),
    sa.Column("open", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("close", sa.Double, nullable=False),
    sa.Column("adj_close", sa.Double, nullable=False),
    sa.Column("volume", sa.Double, nullable=False),
    sa.PrimaryKeyConstraint("symbol", "timestamp", name="pk_market_bars"),
    sa.Index("ix_market_bars_symbol_session", "symbol", "session"),
)

market_partitions = sa.Table(
    "market_partitions",
    metadata,
    sa.Column("dataset", sa.String, nullable=False),  # the data table's name, e.g. market_bars
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("session", sa.Date, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("data_version", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("dataset", "symbol", "session", name="pk_market_partitions"),
)

#: Tables keyed by (symbol, session) and written with :func:`._partitions.replace_partitions`;
#: ``delete_symbol`` clears all of them.
PARTITIONED_TABLES: list[sa.Table] = [market_bars]


def ensure_schema(engine: Engine) -> None:
    """Create any missing table or index; safe when several processes do it at once.

    A quick look first (nothing to do on an existing store); otherwise the creation runs in one
    write transaction, which takes the store-wide write lock on SQLite and an advisory lock on
    PostgreSQL, where concurrent ``CREATE TABLE`` of the same name would otherwise fail on the
    catalog's unique index. PostgreSQL DDL is transactional, so a second process sees the tables
    once it gets the lock and ``checkfirst`` skips them.
    """
    inspector = sa.inspect(engine)
    if all(inspector.has_table(t.name) for t in metadata.sorted_tables):
        return
    with write_transaction(engine, lock_name="research_lab.marketdata.store:schema") as conn:
        metadata.create_all(conn, checkfirst=True)


def utc_now() -> datetime:
    """The ``written_at`` clock (one value per write call)."""
    return pd.Timestamp.now(tz="UTC").to_pydatetime()
