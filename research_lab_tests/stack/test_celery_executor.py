"""``lab_executor``: multiprocess by default, Celery with two real workers on this machine.

The Celery test starts two workers (``research-lab stack celery-worker``) on the machine's
RabbitMQ (else Redis), runs a fan-out job on a PostgreSQL Dagster instance with the celery
preset, and asserts from the run's engine events that both workers executed steps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from research_lab.defs.executors import CELERY_RUN_CONFIG, celery_urls, resolve_kind
from research_lab_tests.stack.conftest import (
    ROOT, missing_tool, port_open, stop_group, wait_for,
)

BROKERS = ((5672, "pyamqp://guest@127.0.0.1:5672//"), (6379, "redis://127.0.0.1:6379/0"))


def test_resolve_kind_run_config_then_environment_then_multiprocess():
    assert resolve_kind(None, env={}) == "multiprocess"
    assert resolve_kind(None, env={"RESEARCH_LAB_EXECUTOR": "celery"}) == "celery"
    assert resolve_kind("multiprocess", env={"RESEARCH_LAB_EXECUTOR": "celery"}) == "multiprocess"
    assert resolve_kind(None, env={"RESEARCH_LAB_EXECUTOR": "k8s"}) == "k8s"
    with pytest.raises(ValueError, match="RESEARCH_LAB_EXECUTOR='nomad' is not one of"):
        resolve_kind(None, env={"RESEARCH_LAB_EXECUTOR": "nomad"})


def test_celery_urls_from_environment_with_matching_backend():
    assert celery_urls(env={}) == ("pyamqp://guest@127.0.0.1:5672//", "rpc://")
    redis = "redis://127.0.0.1:6379/3"
    assert celery_urls(env={"RESEARCH_LAB_CELERY_BROKER": redis}) == (redis, redis)
    with pytest.raises(ValueError, match="neither an AMQP"):
        celery_urls(env={"RESEARCH_LAB_CELERY_BROKER": "http://x"})


def _instance_env(home: Path, pg_url: str) -> dict[str, str]:
    from research_lab.cli.stack_up import DAGSTER_YAML, PgServer

    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    server = PgServer.from_url(pg_url)
    return {
        "DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(server.port), "DAGSTER_PG_USER": server.user,
        "DAGSTER_PG_PASSWORD": server.password, "DAGSTER_PG_DB": pg_url.rpartition("/")[2],
        "DAGSTER_STORAGE_DIR": str(home / "storage"), "DAGSTER_LOGS_DIR": str(home / "logs"),
    }


def _workers(run_id: str, instance: dg.DagsterInstance) -> dict[str, str]:
    """step key -> the Celery worker that executed it (from the run's engine events)."""
    out = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.is_engine_event or record.step_key is None:
            continue
        worker = event.engine_event_data.metadata.get("Celery worker")
        if worker is not None:
            out[record.step_key] = worker.value
    return out


@pytest.mark.parametrize(
    ("kind", "env", "expected"),
    [(None, None, "MultiprocessExecutor"), (None, "celery", "CeleryExecutor"),
     ("multiprocess", "celery", "MultiprocessExecutor"), ("celery", None, "CeleryExecutor")],
)
def test_lab_executor_builds_the_chosen_executor(kind, env, expected, monkeypatch):
    from research_lab.defs.executors import lab_executor
    from research_lab_tests.stack.celery_jobs import fan_out_job

    if env:
        monkeypatch.setenv("RESEARCH_LAB_EXECUTOR", env)
    else:
        monkeypatch.delenv("RESEARCH_LAB_EXECUTOR", raising=False)
    config = {"retries": {"enabled": {}}, "max_concurrent": 2, **({"kind": kind} if kind else {})}
    with dg.instance_for_test() as instance:
        executor = lab_executor.executor_creation_fn(dg.InitExecutorContext(
            job=dg.reconstructable(fan_out_job), executor_def=lab_executor,
            executor_config=config, instance=instance))
    assert type(executor).__name__ == expected
    if expected == "MultiprocessExecutor":
        assert executor._max_concurrent == 2  # noqa: SLF001


@pytest.mark.postgres
@pytest.mark.slow
def test_celery_executor_runs_steps_on_two_workers(tmp_path, pg_url, monkeypatch):
    from research_lab.defs.executors import celery_app_args
    from research_lab_tests.stack.celery_jobs import WIDTH, fan_out_job

    broker = next((url for port, url in BROKERS if port_open(port)), None)
    if broker is None:
        missing_tool("no Celery broker: neither RabbitMQ (5672) nor Redis (6379) answers")
    env_vars = {**_instance_env(tmp_path / "dh", pg_url), "RESEARCH_LAB_CELERY_BROKER": broker}
    env_vars.pop("RESEARCH_LAB_CELERY_BACKEND", None)
    for k, v in env_vars.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("RESEARCH_LAB_CELERY_BACKEND", raising=False)

    from dagster_celery.make_app import make_app

    app = make_app(celery_app_args())
    app.control.purge()  # nothing left over from an earlier run
    child_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = str(Path(sys.executable).parent / "research-lab")
    workers, logs = [], []
    try:
        for name in ("lab-a", "lab-b"):
            log = tmp_path / f"{name}.log"
            logs.append(log)
            with open(log, "wb") as out:
                workers.append(subprocess.Popen(
                    [cli, "stack", "celery-worker", "--name", name, "--concurrency", "1"],
                    env=child_env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True))
        wait_for(lambda: len(app.control.ping(timeout=1.0)) >= 2, 60,
                 "two Celery workers answering ping", workers[0], logs[0])

        with dg.DagsterInstance.get() as instance:
            with dg.execute_job(
                dg.reconstructable(fan_out_job), instance=instance, run_config=CELERY_RUN_CONFIG
            ) as result:
                assert result.success
                assert result.output_for_node("total") == sum(
                    sum(k * k for k in range(200_000 + i)) for i in range(WIDTH))
            by_step = _workers(result.run_id, instance)
        assert set(by_step) == {f"part_{i}" for i in range(WIDTH)} | {"total"}
        names = {w.split("@")[0] for w in by_step.values()}
        assert names == {"lab-a", "lab-b"}, by_step
    finally:
        for proc in workers:
            stop_group(proc, timeout=15)
        app.close()
