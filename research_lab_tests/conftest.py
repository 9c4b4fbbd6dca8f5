"""Fixtures shared by every test layer.

- ``shared_data``: the real daily bars in ``../shared/data`` (skips with a reason where that
  folder is absent, fails under ``CI=true``).
- ``pg_url``: a fresh, empty PostgreSQL database on the server at ``RESEARCH_LAB_TEST_PG_URL``
  (default ``postgresql://postgres@127.0.0.1:5432/postgres``), dropped afterwards. Skips where
  no server answers, fails under ``CI=true``. A test that gets a PostgreSQL database without
  the ``postgres`` marker fails (``_require_postgres_marker``).
- ``store_url``: parametrized over both store backends (embedded SQLite and PostgreSQL), so a
  test that takes it runs once per backend.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RESEARCH_LAB_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG_ADMIN_URL = os.environ.get(
    "RESEARCH_LAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be available in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "orcl-1995-2014.txt").exists():
        _missing(f"real market data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


# the test being set up or run: a PostgreSQL database is only made for a test marked `postgres`
_CURRENT: list = [None]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _CURRENT[0] = item


def _require_postgres_marker() -> None:
    item = _CURRENT[0]
    if item is not None and item.get_closest_marker("postgres") is None:
        pytest.fail(f"{item.nodeid} uses PostgreSQL but is not marked @pytest.mark.postgres",
                    pytrace=False)


def _pg_admin():
    import psycopg2

    _require_postgres_marker()
    try:
        conn = psycopg2.connect(PG_ADMIN_URL, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means no server to test against
        _missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    conn.autocommit = True
    return conn


def _with_database(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


@contextmanager
def temp_pg_database(prefix: str = "rl_test"):
    """A new empty PostgreSQL database (its URL), dropped on exit; for fixtures of any scope."""
    admin = _pg_admin()
    dbname = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_database(PG_ADMIN_URL, dbname)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url():
    """A new empty PostgreSQL database for one test; dropped afterwards."""
    with temp_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """Each store test runs against the embedded backend and against real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def fresh_discovery(monkeypatch):
    """Strategy discovery from scratch, and whatever a test imports from its own folders
    (sys.path, PYTHONPATH) forgotten afterwards."""
    import sys

    from research_lab.core.strategies import clear_cache, discovery

    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.setattr(sys, "path", list(sys.path))
    discovery._LOADED.clear()
    clear_cache()
    yield
    discovery._LOADED.clear()
    clear_cache()


@pytest.fixture(autouse=True)
def _strategy_exports_forgotten(monkeypatch):
    """A strategy loaded by reference exports its module to ``RESEARCH_LAB_STRATEGIES`` and its
    folder to ``PYTHONPATH`` for study workers (``discovery._export``); in a test process that
    would make it a registered strategy of every later test of the same worker."""
    for name in ("RESEARCH_LAB_STRATEGIES", "PYTHONPATH"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:  # recorded as absent (a bare delenv of an absent name records nothing)
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)
    yield
