"""Faults with real processes and servers: a writer killed in the middle of a write, a
webhook endpoint down and back, PostgreSQL refusing connections, the MLflow tracking server
down and back, and the real ``research-lab`` entry point in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from research_lab_tests.badinput.conftest import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
BAD_DAY = date(2019, 6, 14)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*argv: str, env: dict[str, str] | None = None, timeout: float = 300):
    exe = Path(sys.executable).parent / "research-lab"
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


# -- the real entry point --------------------------------------------------------------------
@pytest.mark.parametrize("argv, env, expected", [
    (["data", "show", "ACME", "--tail", "-5"], {}, "--tail"),
    (["data", "ingest", "--symbols", "../x", "--start", "2023-01-03"], {}, "not a valid symbol"),
    (["data", "symbols"], {"RESEARCH_LAB_SEED": "abc"}, "RESEARCH_LAB_SEED"),
    (["optimize", "--strategy", "sma_cross", "--symbols", "ACME", "--study-name", "../escaped",
      "--out", "out"], {}, "--study-name"),
])
def test_real_entry_point_one_line_exit_2(lab, argv, env, expected):
    before = lab.snapshot()
    done = _cli(*argv, env=env)
    assert done.returncode == 2, done.stderr
    assert_one_line_error(done.stderr, expected)
    lab.assert_unchanged(before)


# -- kill during a write ----------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys, time
    from datetime import date
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore

    url, factor = sys.argv[1], float(sys.argv[2])
    first, last = date(2005, 1, 3), date(2023, 12, 29)
    bars = make_source("synthetic", seed=1, symbols=["WAYNE"]).fetch("WAYNE", first, last)
    for col in ("open", "high", "low", "close", "adj_close"):
        bars[col] *= factor
    sessions = TradingCalendar("XNYS").sessions(first, last)
    print("ready", flush=True)
    while True:
        BarStore.from_url(url).write_partitions("WAYNE", sessions, bars, source="kill-test")
        print("wrote", flush=True)
""")


def test_a_writer_killed_mid_write_leaves_old_rows_or_new_never_half(lab):
    from research_lab.core.marketdata.store import BarStore

    def start(factor: float):
        return subprocess.Popen([sys.executable, "-c", WRITER, lab.store_url, str(factor)],
                                stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})

    first = start(1.0)
    assert first.stdout.readline().strip() == "ready"
    assert first.stdout.readline().strip() == "wrote"  # the old rows are in
    first.kill()
    first.wait(30)
    with BarStore.from_url(lab.store_url) as store:
        old = store.read_bars("WAYNE")
    assert len(old) > 4000

    for delay in (0.3, 0.8, 1.5):  # kill the second writer at different points of its write
        second = start(2.0)
        assert second.stdout.readline().strip() == "ready"
        time.sleep(delay)  # somewhere inside a write transaction
        second.send_signal(signal.SIGKILL)
        second.wait(30)
        with BarStore.from_url(lab.store_url) as store:
            now = store.read_bars("WAYNE")
        assert len(now) == len(old)
        ratio = (now["close"].to_numpy() / old["close"].to_numpy()).round(6)
        assert set(ratio) <= {1.0, 2.0} and len(set(ratio)) == 1, "half old, half new rows"


# -- webhook down and back ---------------------------------------------------------------------
@pytest.fixture
def store_with_critical(tmp_path):
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.quality.sentinel import score_partitions
    from research_lab_tests.core.quality.conftest import NO_PROPHET

    bars = SyntheticSource(seed=3, symbols=("ACME",), start="2018-01-02",
                           end="2019-12-31").fetch("ACME", date(2018, 1, 2), date(2019, 12, 31))
    store = BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}")
    store.write_partitions("ACME", bars["session"].dt.date, bars, source="test")
    row = bars[bars["session"] == pd.Timestamp(BAD_DAY)].copy()
    for col in ("open", "high", "low", "close", "adj_close"):
        row[col] *= 100.0
    store.write_partitions("ACME", [BAD_DAY], row, source="test")
    score_partitions(store, "ACME", [d.date() for d in pd.bdate_range("2019-06-10", "2019-06-21")],
                     calendar=TradingCalendar("XNYS"), config=NO_PROPHET)
    yield store
    store.close()


def test_a_webhook_down_then_back_is_retried_until_delivered_and_each_try_recorded(
        store_with_critical, monkeypatch, caplog):
    from research_lab.core.marketdata.store import read_alerts
    from research_lab.core.quality.alerts import DeliveryPolicy, deliver_alerts
    from research_lab_tests.core.quality.webhook_server import webhook_server

    secret = "T0KEN-abc123-very-secret"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hooks/{secret}"
    policy = DeliveryPolicy(timeout_s=1.0, retries=1, backoff_s=0.0, max_wait_s=0.0)
    monkeypatch.setenv("RESEARCH_LAB_ALERT_WEBHOOK_URL", url)

    down = deliver_alerts(store_with_critical, url, policy=policy, sleep=lambda s: None)
    assert [o.delivery.ok for o in down] == [False]
    log = read_alerts(store_with_critical)
    assert list(log["status"]) == ["failed"] and list(log["attempts"]) == [2]
    assert secret not in log["detail"].iloc[0] and "127.0.0.1" in log["detail"].iloc[0]

    again = deliver_alerts(store_with_critical, url, policy=policy, sleep=lambda s: None)
    assert [o.delivery.ok for o in again] == [False]
    assert list(read_alerts(store_with_critical)["attempts"]) == [4]

    with webhook_server(path=f"/hooks/{secret}") as hook:
        up = deliver_alerts(store_with_critical, hook.url, policy=policy, sleep=lambda s: None)
        assert [o.delivery.ok for o in up] == [True]
        assert len(hook.bodies) == 1 and hook.bodies[0]["session"] == BAD_DAY.isoformat()
        log = read_alerts(store_with_critical)
        assert list(log["status"]) == ["sent"] and list(log["attempts"]) == [5]
        assert deliver_alerts(store_with_critical, hook.url, policy=policy) == []
        assert len(hook.bodies) == 1, "a sent alert is never posted again"
    assert secret not in caplog.text


def test_a_failing_alert_expires_after_its_attempts(store_with_critical):
    from research_lab.core.marketdata.store import read_alerts
    from research_lab.core.quality.alerts import DeliveryPolicy, deliver_alerts

    url = f"http://127.0.0.1:{_free_port()}/hooks/secret"
    policy = DeliveryPolicy(timeout_s=1.0, retries=0, backoff_s=0.0, max_wait_s=0.0,
                            expire_attempts=2)
    assert len(deliver_alerts(store_with_critical, url, policy=policy)) == 1
    assert len(deliver_alerts(store_with_critical, url, policy=policy)) == 1
    assert deliver_alerts(store_with_critical, url, policy=policy) == [], "expired"
    detail = read_alerts(store_with_critical)["detail"].iloc[0]
    assert detail.startswith("expired after 2 attempts")


def test_a_failed_alert_waits_for_its_backoff(store_with_critical):
    from datetime import datetime, timedelta, timezone

    from research_lab.core.quality.alerts import DeliveryPolicy, deliver_alerts, pending_alerts

    url = f"http://127.0.0.1:{_free_port()}/hooks/secret"
    policy = DeliveryPolicy(timeout_s=1.0, retries=0, backoff_s=60.0)
    deliver_alerts(store_with_critical, url, policy=policy)
    now = datetime.now(timezone.utc)
    assert pending_alerts(store_with_critical, policy=policy, now=now) == []
    later = pending_alerts(store_with_critical, policy=policy, now=now + timedelta(seconds=61))
    assert [(a.session, n) for a, n in later] == [(BAD_DAY, 1)]


# -- PostgreSQL refusing connections ---------------------------------------------------------
@pytest.mark.postgres
def test_postgres_refusing_connections_is_one_line_and_the_password_never_shown(
        lab, pg_url, capsys, monkeypatch):
    import psycopg2

    from research_lab.cli import main
    from research_lab.core.marketdata.store import BarStore

    BarStore.from_url(pg_url).close()  # the schema exists
    dbname = pg_url.rsplit("/", 1)[1]
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    with_password = pg_url.replace("://postgres@", "://postgres:s3cret@")
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", with_password)

    def allow(flag: bool) -> None:
        conn = psycopg2.connect(admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS {str(flag).lower()}')
        conn.close()

    allow(False)
    try:
        assert main(["data", "symbols"]) == 2
        err = capsys.readouterr().err
        line = assert_one_line_error(err, "database unavailable")
        assert dbname in line and "s3cret" not in err
    finally:
        allow(True)
    assert main(["data", "symbols"]) == 0  # back: the same command works


# -- the MLflow tracking server down and back ------------------------------------------------
def test_tracking_server_down_then_back_the_run_waits_and_is_written_once(lab, capsys):
    from mlflow.tracking import MlflowClient

    from research_lab.cli import main
    from research_lab.core.tracking.server import MlflowServer, ServerSpec

    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    argv = ["backtest", "--strategy", "sma_cross", "--symbols", "ACME", "--no-tearsheet",
            "--mlflow", uri, "--project", "Faults"]
    assert main(argv) == 0  # the server is down: the backtest goes on
    err = capsys.readouterr().err
    assert "waits in the outbox" in err and "Traceback" not in err

    spec = ServerSpec(backend_uri=f"sqlite:///{lab.root / 'server.db'}",
                      artifacts_dir=str(lab.root / "server_artifacts"), port=port)
    server = MlflowServer(spec, log_path=lab.root / "server.log")
    server.start(wait=180.0)
    try:
        assert main(["project", "replay-outbox", "--uri", uri]) == 0
        assert main(["project", "replay-outbox", "--uri", uri]) == 0  # nothing twice
        runs = MlflowClient(uri).search_runs(
            [e.experiment_id for e in MlflowClient(uri).search_experiments()])
        assert len(runs) == 1
    finally:
        server.stop()
    assert main(["project", "list", "--uri", uri]) == 2  # down again: one line, exit 2
    assert_one_line_error(capsys.readouterr().err, "MLflow")
