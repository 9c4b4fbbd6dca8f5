"""The demo's two shortcuts on the embedded (SQLite) Dagster instance, for ``research-lab demo
run`` only (``--full-bookkeeping`` turns both off).

Dagster's SQLite storage opens a new connection for every event it stores and commits each one
(it has no batch path), and a range run records two events per partition: one "planned" when
the run is created, one materialization. Since market data is partitioned by symbol × year,
the demo's two range runs (7 symbols × 1 year of ``market_data`` and of ``anomaly_scores``) are
a few dozen events (~7,300 under the former symbol × session partitions), so these shortcuts
now save little.

1. :func:`unsynced_instance_writes` sets ``PRAGMA synchronous=OFF`` on every SQLite connection
   opened to a database file under the instance's folder, so that commits no longer wait for
   the disk (``fsync``).

   **Crash risk.** With ``synchronous=OFF`` SQLite hands writes to the operating system
   without waiting for them to reach the disk. A crash of the *program* loses nothing (the OS
   still holds the writes), but an operating-system crash or a power loss during ``demo run``
   can lose the last events or corrupt the instance's SQLite files under ``DAGSTER_HOME``; the
   remedy is to delete that folder and run the demo again (the demo builds everything from
   embedded defaults). Nothing else is affected: the market-data store, the MLflow database
   and every instance outside ``demo run`` (the UI, the daemon, ``data ingest``, a PostgreSQL
   instance) keep SQLite's default, and the setting ends with the context. Hand-written
   because neither Dagster nor SQLAlchemy has an option for it: Dagster's SQLite storage
   creates its engines internally, so the setting is a SQLAlchemy ``connect`` listener on
   every ``Engine`` (SQLAlchemy's public event API), limited by the database's file path.

2. :func:`one_planned_event_per_range` sets Dagster's
   ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``: a range run records one planned event
   for the whole range instead of one per partition. **Trade-off** (Dagster's): when such a
   run fails, its partitions read "missing" in the UI, not "failed" (the demo still lists the
   failed step and exits 1).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SYNCHRONOUS = "OFF"  # the value set during `demo run` (SQLite's default is FULL)
PLANNED_EVENTS_VARIABLE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def _database_file(dbapi_connection) -> Path | None:
    """The file of the ``main`` database of a sqlite3 connection (``None`` in memory)."""
    for _, name, filename in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if name == "main" and filename:
            return Path(filename).resolve()
    return None


@contextmanager
def unsynced_instance_writes(instance_dir: str | Path) -> Iterator[list[Path]]:
    """While the context is open, SQLite connections to files under ``instance_dir`` run with
    ``PRAGMA synchronous=OFF``; yields the list of database files it applied to (for tests and
    the demo's log). See the module docstring for the crash risk."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    root = Path(instance_dir).resolve()
    applied: list[Path] = []

    def on_connect(dbapi_connection, _record) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        path = _database_file(dbapi_connection)
        if path is None or not path.is_relative_to(root):
            return
        dbapi_connection.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        if path not in applied:
            applied.append(path)

    event.listen(Engine, "connect", on_connect)
    try:
        yield applied
    finally:
        event.remove(Engine, "connect", on_connect)


@contextmanager
def one_planned_event_per_range() -> Iterator[None]:
    """While the context is open, Dagster records one planned event per range run and asset
    (see the module docstring for the trade-off); the variable's previous value is restored."""
    import os

    before = os.environ.get(PLANNED_EVENTS_VARIABLE)
    os.environ[PLANNED_EVENTS_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PLANNED_EVENTS_VARIABLE, None)
        else:
            os.environ[PLANNED_EVENTS_VARIABLE] = before
