"""Temporary PostgreSQL databases for the benchmarks, and the Dagster storage that uses one.

    url = create_database("postgresql://postgres@127.0.0.1:5432/postgres", "rl_bench_1a2b3c4d")
    (home / "dagster.yaml").write_text(dagster_storage_yaml(url))
    ...
    drop_database("postgresql://postgres@127.0.0.1:5432/postgres", "rl_bench_1a2b3c4d")

``bench_name(prefix)`` gives ``$BENCH_DB_PREFIX`` (default ``prefix``) + a random suffix.
"""

from __future__ import annotations

import os
import uuid


def bench_name(prefix: str = "rl_bench_", digits: int = 8) -> str:
    """A new database name: ``$BENCH_DB_PREFIX`` (default ``prefix``) + ``digits`` hex digits."""
    return f"{os.environ.get('BENCH_DB_PREFIX', prefix)}{uuid.uuid4().hex[:digits]}"


def _admin(admin_url: str):
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    return conn


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; its URL."""
    conn = _admin(admin_url)
    try:
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` (its connections closed first), if it exists."""
    conn = _admin(admin_url)
    try:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def dagster_storage_yaml(url: str) -> str:
    """The ``dagster.yaml`` section that keeps runs, events and schedules in database ``url``."""
    return ("storage:\n  postgres:\n    postgres_url: "
            f"{url.replace('postgresql://', 'postgresql+psycopg2://')}\n")
