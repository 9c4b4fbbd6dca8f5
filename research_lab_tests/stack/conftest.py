"""Fixtures for the stack tests: free ports, fresh PostgreSQL databases, a served Dagster.

These tests start real servers (Dagster webserver/daemon/code server, MLflow, Celery workers,
headless Chromium). Each waits for readiness by polling with a deadline and stops what it
started by process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from research_lab_tests.conftest import IN_CI, PG_ADMIN_URL, _pg_admin

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None,
             log: Path | None = None, interval: float = 0.5):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            pytest.fail(f"{what}: the process exited with {proc.returncode}\n{tail}")
        time.sleep(interval)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{tail}")


def stop_group(proc: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGTERM the process group of ``proc`` (started with start_new_session), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return proc.wait()


@pytest.fixture
def pg_prefix():
    """A unique database-name prefix; every database that starts with it is dropped afterwards."""
    admin = _pg_admin()
    prefix = f"rl_test_{uuid.uuid4().hex[:8]}_"
    try:
        yield prefix
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))
            for (name,) in cur.fetchall():
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The test server's URL without a database part (what RESEARCH_LAB_PG_URL takes)."""
    return PG_ADMIN_URL.rpartition("/")[0]


@pytest.fixture
def lab_subprocess_env(tmp_path) -> dict[str, str]:
    """An environment for child processes: embedded defaults in tmp, synthetic source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESEARCH_LAB_", "DAGSTER_"))}
    env.update(
        RESEARCH_LAB_HOME=str(tmp_path / "lab_home"),
        RESEARCH_LAB_SOURCE="synthetic",
        RESEARCH_LAB_UNIVERSE="ACME",
        PYTHONUNBUFFERED="1",
    )
    return env


def missing_tool(reason: str) -> None:
    """Skip outside CI; fail under CI=true, where .ci/run installs the tool."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)")
    pytest.skip(reason)
