"""Unsynced writes to the embedded (SQLite) Dagster instance, for ``research-lab demo run`` only.

Dagster's SQLite storage opens a new connection for every event it stores and commits each one;
SQLite then waits for the disk (``fsync``) at every commit. A demo range run records one event
per partition (7 symbols × 1 year × two partitioned assets is ~3,600 events), so the demo spends
most of its time waiting for the disk. :func:`unsynced_instance_writes` sets
``PRAGMA synchronous=OFF`` on every SQLite connection opened to a database file under the
instance's folder while the demo runs, so that commits no longer wait.

**Crash risk.** With ``synchronous=OFF`` SQLite hands writes to the operating system without
waiting for them to reach the disk. A crash of the *program* loses nothing (the OS still holds
the writes), but an operating-system crash or a power loss during ``demo run`` can lose the last
events or corrupt the instance's SQLite files under ``DAGSTER_HOME``; the remedy is to delete
that folder and run the demo again (the demo builds everything from embedded defaults).
Nothing else is affected: the market-data store, the MLflow database and every instance outside
``demo run`` (the UI, the daemon, ``data ingest``, a PostgreSQL instance) keep SQLite's default,
and the setting ends with the context. Hand-written because neither Dagster nor SQLAlchemy has
an option for it: Dagster's SQLite storage creates its engines internally, so the setting is a
SQLAlchemy ``connect`` listener on every ``Engine`` (SQLAlchemy's public event API), limited by
the database's file path.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SYNCHRONOUS = "OFF"  # the value set during `demo run` (SQLite's default is FULL)


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
