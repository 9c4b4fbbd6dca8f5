"""``research-lab stack up`` against real PostgreSQL: Dagster + MLflow start, work, and stop.

One test (the stack takes ~10-25 s to serve on 2 cores): fresh databases under a unique
prefix, free ports, then through the webserver's GraphQL API: the ``market_data`` asset is
there, a partition launched with ``launchRun`` is QUEUED, dequeued by the daemon's queued run
coordinator and succeeds; the bars land in the PostgreSQL store; the MLflow server stores an
experiment in its PostgreSQL database. SIGTERM stops every service.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from research_lab.cli.stack_supervisor import graphql
from research_lab_tests.stack.conftest import (
    ADD_SYMBOL, LAUNCH, free_port, port_open, stop_group, wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = {"repositoryLocationName": "research_lab", "repositoryName": "__repository__"}

ASSETS = """query($s: RepositorySelector!) { repositoryOrError(repositorySelector: $s) {
  ... on Repository { assetNodes { assetKey { path } } } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status
  assetMaterializations { assetKey { path } partition } } } }"""
QUEUE = """{ instance { runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } } }"""


def _mlflow_create_experiment(base: str, name: str) -> str:
    req = urllib.request.Request(
        f"{base}/api/2.0/mlflow/experiments/create",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["experiment_id"]


def test_stack_up_serves_dagster_and_mlflow_on_postgres(
    tmp_path, pg_prefix, pg_server_url, lab_subprocess_env
):
    import psycopg2

    dagster_port, code_port, mlflow_port = free_port(), free_port(), free_port()
    log = tmp_path / "stack.out"
    cmd = [str(Path(sys.executable).parent / "research-lab"), "stack", "up",
           "--pg-url", pg_server_url, "--db-prefix", pg_prefix, "--home", str(tmp_path / "stack"),
           "--dagster-port", str(dagster_port), "--code-port", str(code_port),
           "--mlflow-port", str(mlflow_port), "--ready-timeout", "150"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=lab_subprocess_env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), 170, "stack up ready",
                 proc, log)
        base = f"http://127.0.0.1:{dagster_port}"

        # the asset graph is served, and the run queue is the one of docker/dagster.yaml
        nodes = graphql(base, ASSETS, {"s": REPO})["repositoryOrError"]["assetNodes"]
        assert ["market_data"] in [n["assetKey"]["path"] for n in nodes]
        queue = graphql(base, QUEUE)["instance"]["runQueueConfig"]
        assert queue["maxConcurrentRuns"] == 8
        assert "rl_training" in queue["tagConcurrencyLimitsYaml"]

        # one session of one symbol through the queue (its year partition, config start = end):
        # QUEUED -> the daemon starts it -> SUCCESS
        added = graphql(base, ADD_SYMBOL, {"s": REPO, "k": "ACME"})["addDynamicPartition"]
        assert added["__typename"] == "AddDynamicPartitionSuccess", added
        key = "ACME|2024"
        launched = graphql(base, LAUNCH, {"p": {
            "selector": {**REPO, "jobName": "market_data_job"},
            "runConfigData": {"ops": {"market_data": {"config": {"start": "2024-01-02",
                                                                 "end": "2024-01-02"}}}},
            "executionMetadata": {"tags": [
                {"key": "dagster/partition", "value": key},
                {"key": "dagster/partition/symbol", "value": "ACME"},
                {"key": "dagster/partition/year", "value": "2024"},
            ]},
        }})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        assert launched["run"]["status"] == "QUEUED"  # the queued run coordinator holds it
        run_id = launched["run"]["runId"]
        statuses = []

        def finished():
            run = graphql(base, RUN, {"id": run_id})["runOrError"]
            if not statuses or statuses[-1] != run["status"]:
                statuses.append(run["status"])
            return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None

        run = wait_for(finished, 90, "the queued run to finish", proc, log)
        assert run["status"] == "SUCCESS", (statuses, (tmp_path / "stack/logs").iterdir())
        assert {"QUEUED", "SUCCESS"} <= set(statuses)
        assert run["assetMaterializations"] == [
            {"assetKey": {"path": ["market_data"]}, "partition": key}
        ]
        with psycopg2.connect(f"{pg_server_url}/{pg_prefix}market") as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM market_bars WHERE symbol = 'ACME'")
            assert cur.fetchone()[0] == 1
        with psycopg2.connect(f"{pg_server_url}/{pg_prefix}dagster") as conn, conn.cursor() as cur:
            cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
            assert cur.fetchone()[0] == "SUCCESS"

        # MLflow: its server answers and keeps experiments in its PostgreSQL database
        exp_id = _mlflow_create_experiment(f"http://127.0.0.1:{mlflow_port}", "stack-test")
        with psycopg2.connect(f"{pg_server_url}/{pg_prefix}mlflow") as conn, conn.cursor() as cur:
            cur.execute("SELECT name FROM experiments WHERE experiment_id = %s", (int(exp_id),))
            assert cur.fetchone()[0] == "stack-test"
            cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'rl_%%'")
            assert cur.fetchone()[0] >= 3  # the tracking domain's indexes, added by stack up
    finally:
        t0 = time.monotonic()
        code = stop_group(proc, timeout=30)
        stopped_in = time.monotonic() - t0
    assert code == 0, log.read_text()[-3000:]
    assert "stack: stopped" in log.read_text()
    assert stopped_in < 30
    for port in (dagster_port, code_port, mlflow_port):
        assert not port_open(port), f"port {port} still served after the stack stopped"
