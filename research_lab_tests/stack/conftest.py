"""Fixtures for the stack tests: free ports, fresh PostgreSQL databases, a served Dagster.

These tests start real servers (Dagster webserver/daemon/code server, MLflow, Celery workers,
headless Chromium). Each waits for readiness by polling with a deadline and stops what it
started by process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from research_lab_tests.conftest import IN_CI, PG_ADMIN_URL, _pg_admin

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = ARTIFACTS / "browser"  # the browser tests' screenshots (gitignored)


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


def require_chromium() -> None:
    """Debian's Chromium, or skip (fail under CI=true): never a browser download of our own."""
    if not CHROMIUM.exists():
        missing_tool(f"{CHROMIUM} not found (scripts/install-browser installs Debian's chromium)")


@pytest.fixture
def page():
    """A page of headless Chromium driven by playwright (1440x900, 30 s timeouts)."""
    require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("the playwright Python client is not installed (scripts/install-browser)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1440, "height": 900})
        pg.set_default_timeout(30_000)
        try:
            yield pg
        finally:
            browser.close()


def ingested_dagster_home(tmp_path: Path, env: dict[str, str], end: str) -> dict[str, str]:
    """A Dagster home under ``tmp_path`` (the project's dagster.yaml, no newsletter pop-up)
    with ACME 2024-01-02..``end`` ingested by ``research-lab data ingest``; returns ``env``
    with ``DAGSTER_HOME`` set to it."""
    home = tmp_path / "dagster_home"
    (home / ".nux").mkdir(parents=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # no newsletter pop-up over the UI
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**env, "DAGSTER_HOME": str(home)}
    subprocess.run(
        [str(Path(sys.executable).parent / "research-lab"), "data", "ingest", "--symbols", "ACME",
         "--start", "2024-01-02", "--end", end],
        env=env, cwd=tmp_path, check=True, capture_output=True,
    )
    return env


# GraphQL a test sends a Dagster webserver: register a symbol partition, launch a run
ADD_SYMBOL = """mutation($s: RepositorySelector!, $k: String!) {
  addDynamicPartition(repositorySelector: $s, partitionsDefName: "symbol", partitionKey: $k) {
    __typename ... on PythonError { message } } }"""
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId status } }
  ... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""
# a sensor's id and status by name; stop it (the id is the sensor's compound id)
SENSOR = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  __typename ... on Sensor { id sensorState { status } } ... on PythonError { message } } }"""
STOP_SENSOR = """mutation($id: String!) { stopSensor(id: $id) {
  __typename ... on StopSensorMutationResult { instigationState { status } }
  ... on PythonError { message } } }"""
