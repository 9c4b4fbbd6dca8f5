"""The team stack in real containers (podman): build, up, work through the webserver, down.

One test, phase by phase (each phase timed; the figures go to
``test-artifacts/containers/timings.json`` and docs/stack.md):

1. build: ``docker/build-images`` (the base image made once by debootstrap, then reused; the
   engine's layer cache makes a rebuild after a code change cheap);
2. up: ``podman-compose up -d`` of docker/docker-compose.yml under a unique project name, on
   free 127.0.0.1 ports, two study workers; every container healthy (``docker/stack-health``
   runs the compose file's own health checks);
3. market data: through the stack's webserver (GraphQL), with the quality automation sensor
   stopped (its scoring runs would compete with the measured phases), a ``market_data`` run
   over a year of three synthetic symbols: SUCCESS;
4. backtest: a ``backtest_results`` run: SUCCESS;
5. study: an ``optimization_study`` run whose trials the run and both worker containers share on
   the stack's PostgreSQL (polled once the run has made the Optuna schema and the study); one
   worker container is stopped mid-study; the run still succeeds with every trial finished;
   MLflow (the stack's server) has the parent run and its child runs;
6. down: ``podman-compose down -v``: no container, no volume of the project left.

Skips without podman and podman-compose (``docker/install-podman`` installs them), fails under
``CI=true``. Runs with ``-m containers``; ``.ci/run`` runs it on its own after the suite.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from research_lab.cli.stack_supervisor import graphql
from research_lab_tests.conftest import IN_CI
from research_lab_tests.stack.conftest import (
    ADD_SYMBOL, ARTIFACTS, LAUNCH, ROOT, SENSOR, STOP_SENSOR, free_port, wait_for,
)

pytestmark = [pytest.mark.containers, pytest.mark.slow]

COMPOSE = ROOT / "docker" / "docker-compose.yml"
REPO = {"repositoryLocationName": "research_lab", "repositoryName": "__repository__"}
SYMBOLS = ["ACME", "GLOBEX", "INITECH"]  # the synthetic source's symbols
SESSIONS = ("2023-01-03", "2023-12-29")
STRATEGY = "sma_cross"
# on by default: it would score every new market_data partition in runs of its own, competing
# with the phases measured here for the same cores
QUIET_SENSORS = ("quality_automation_sensor",)
N_TRIALS = 120
SPACE = {"strategy": STRATEGY, "params": {"fast": {"type": "int", "low": 3, "high": 30},
                                          "slow": {"type": "int", "low": 10, "high": 80}},
         "constraints": ["fast < slow"]}

RUN = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
RUN_ERRORS = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
  __typename ... on MessageEvent { message level } } } } }"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (docker/install-podman installs it)"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: .ci/run installs it)")
        pytest.skip(reason)
    return path


class Stack:
    """One compose project of docker/docker-compose.yml, run by podman-compose."""

    def __init__(self, project: str, env: dict[str, str], log: Path):
        self.project, self.env, self.log = project, env, log

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        with open(self.log, "a") as out:
            out.write(f"$ {' '.join(args)}\n")
            proc = subprocess.run(args, env=self.env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=out, text=True, timeout=timeout)
            out.write(proc.stdout)
        if check and proc.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited with {proc.returncode}\n"
                        f"{self.log.read_text()[-4000:]}")
        return proc.stdout

    def compose(self, *args: str, **kw) -> str:
        return self.run("podman-compose", "-p", self.project, "-f", str(COMPOSE), *args, **kw)

    def containers(self, service: str | None = None) -> list[str]:
        label = f"io.podman.compose.project={self.project}"
        filters = ["--filter", f"label={label}"]
        if service:
            filters += ["--filter", f"label=io.podman.compose.service={service}"]
        out = self.run("podman", "ps", "-a", *filters, "--format", "{{.Names}}")
        return sorted(out.split())

    def healthy(self) -> bool:
        out = self.run(str(ROOT / "docker" / "stack-health"), self.project, check=False)
        return bool(out.strip()) and all(line.endswith(" healthy") for line in out.splitlines())

    def logs(self, name: str) -> str:
        return self.run("podman", "logs", "--tail", "60", name, check=False)


def _launch(base: str, job: str, tags: dict[str, str], run_config: dict | None = None) -> str:
    launched = graphql(base, LAUNCH, {"p": {
        "selector": {**REPO, "jobName": job},
        "runConfigData": run_config or {},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _finish(base: str, run_id: str, timeout: float) -> str:
    def done():
        status = graphql(base, RUN, {"id": run_id})["runOrError"]["status"]
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    status = wait_for(done, timeout, f"run {run_id}", interval=2)
    if status != "SUCCESS":
        events = graphql(base, RUN_ERRORS, {"id": run_id})["logsForRun"].get("events", [])
        errors = [e.get("message") for e in events if e.get("level") in ("ERROR", "CRITICAL")]
        pytest.fail(f"run {run_id}: {status}: {errors[-5:]}")
    return status


def _stop_sensor(base: str, name: str) -> None:
    sensor = graphql(base, SENSOR, {"s": {**REPO, "sensorName": name}})["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    stopped = graphql(base, STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]
    assert stopped["__typename"] == "StopSensorMutationResult", stopped
    assert stopped["instigationState"]["status"] == "STOPPED", stopped


def _study_exists(pg: str, study: str) -> bool:
    """The run has made the Optuna schema and the study (before that, ``trials`` is no table)."""
    import contextlib

    import psycopg2

    with contextlib.closing(psycopg2.connect(pg, connect_timeout=5)) as conn, \
            conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.studies') IS NOT NULL"
                    " AND to_regclass('public.trials') IS NOT NULL"
                    " AND to_regclass('public.trial_user_attributes') IS NOT NULL")
        if not cur.fetchone()[0]:
            return False
        cur.execute("SELECT 1 FROM studies WHERE study_name = %s", (study,))
        return cur.fetchone() is not None


def _trials(pg: str, study: str) -> list[tuple[str, str | None]]:
    """(state, worker) of every trial of ``study`` in the stack's Optuna database."""
    import psycopg2

    with psycopg2.connect(pg, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("""SELECT t.state, a.value_json FROM trials t
                       JOIN studies s ON s.study_id = t.study_id
                       LEFT JOIN trial_user_attributes a
                              ON a.trial_id = t.trial_id AND a.key = 'worker'
                       WHERE s.study_name = %s""", (study,))
        return [(state, json.loads(w) if w else None) for state, w in cur.fetchall()]


def _mlflow(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(f"{base}/api/2.0/mlflow/{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _pins(text: str) -> dict[str, str]:
    import re

    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, _, version in
            (line.strip().partition("==") for line in text.splitlines()) if version}


def _check_images(stack: Stack) -> None:
    """What the build lent (wheel folder, CA, index) is not in the images; torch is the CPU
    build; every Python package installed is the version constraints.txt pins."""
    for image in ("research-lab", "research-lab-mlflow"):
        env = stack.run("podman", "image", "inspect", "-f", "{{.Config.Env}}", image)
        assert "PIP_CERT" not in env and "PIP_FIND_LINKS" not in env and "/build" not in env, env
        # podman leaves the empty mount points (/build/wheels, a 0-byte /build/ca.crt): no
        # wheel, no certificate may be behind them
        listing = stack.run("podman", "run", "--rm", "--entrypoint", "sh", image, "-c",
                            "find /build -mindepth 1 ! -empty 2>/dev/null; true")
        assert listing.strip() == "", f"{image} keeps what the build lent: {listing}"
    torch = stack.run("podman", "run", "--rm", "research-lab",
                      "python", "-c", "import torch; print(torch.__version__)")
    assert torch.strip() == "2.13.0+cpu"
    pins = _pins((ROOT / "constraints.txt").read_text())
    for image in ("research-lab", "research-lab-mlflow"):
        installed = _pins(stack.run("podman", "run", "--rm", image, "python", "-m", "pip",
                                    "freeze", "--exclude-editable"))
        unpinned = {n: v for n, v in installed.items()
                    if n not in ("pip", "setuptools") and pins.get(n) != v.split("+")[0]}
        assert unpinned == {}, f"{image}: not as constraints.txt pins: {unpinned}"


def test_stack_builds_comes_up_runs_a_study_and_goes_away(tmp_path):
    _tool("podman")
    _tool("podman-compose")
    phases: dict[str, float] = {}
    out_dir = ARTIFACTS / "containers"
    out_dir.mkdir(parents=True, exist_ok=True)
    project = f"rl-ci-{uuid.uuid4().hex[:8]}"
    pg_port, dagster_port, mlflow_port = free_port(), free_port(), free_port()
    password = secrets.token_hex(12)
    env = {**os.environ, "POSTGRES_USER": "lab", "POSTGRES_PASSWORD": password,
           "RABBITMQ_PASSWORD": secrets.token_hex(8), "POSTGRES_PORT": str(pg_port),
           "DAGSTER_PORT": str(dagster_port), "MLFLOW_PORT": str(mlflow_port),
           "OPTUNA_WORKERS": "2", "BASE_IMAGE": "localhost/debian:bookworm",
           "RESEARCH_LAB_IMAGE_TAG": "latest", "CONTAINER_ENGINE": "podman"}
    stack = Stack(project, env, out_dir / f"{project}.log")

    def phase(name: str, started: float) -> None:
        phases[name] = round(time.monotonic() - started, 1)
        (out_dir / "timings.json").write_text(json.dumps(phases, indent=2))

    t = time.monotonic()
    stack.run(str(ROOT / "docker" / "build-images"), timeout=2400)
    phase("build", t)
    _check_images(stack)
    try:
        # --- up: every service healthy, ports on 127.0.0.1
        t = time.monotonic()
        stack.compose("up", "-d")
        wait_for(stack.healthy, 420, "every container healthy", interval=5)
        phase("up", t)
        names = stack.containers()
        assert len(names) == 7, names  # postgres, mlflow, user-code, webserver, daemon, 2 workers
        ports = "".join(stack.run("podman", "port", name) for name in names)
        published = [line.split("->")[-1].strip() for line in ports.splitlines() if "->" in line]
        assert len(published) == 3, ports  # PostgreSQL, MLflow, Dagster
        assert all(p.startswith("127.0.0.1:") for p in published), ports
        base = f"http://127.0.0.1:{dagster_port}"
        mlflow = f"http://127.0.0.1:{mlflow_port}"
        pg = f"postgresql://lab:{password}@127.0.0.1:{pg_port}"

        for sensor in QUIET_SENSORS:
            _stop_sensor(base, sensor)

        # --- market data: one run over a year of three synthetic symbols
        t = time.monotonic()
        for symbol in SYMBOLS:
            added = graphql(base, ADD_SYMBOL, {"s": REPO, "k": symbol})["addDynamicPartition"]
            assert added["__typename"] == "AddDynamicPartitionSuccess", added
        run_id = _launch(base, "market_data_job", {  # their 2023 partitions (symbol × year)
            "dagster/asset_partition_range_start": f"{SYMBOLS[0]}|{SESSIONS[0][:4]}",
            "dagster/asset_partition_range_end": f"{SYMBOLS[-1]}|{SESSIONS[1][:4]}",
        }, {"ops": {"market_data": {"config": {"start": SESSIONS[0], "end": SESSIONS[1]}}}})
        _finish(base, run_id, 600)
        phase("market_data", t)

        # --- backtest of one symbol's history
        t = time.monotonic()
        key = {"dagster/partition": f"{STRATEGY}|{SYMBOLS[0]}",
               "dagster/partition/strategy": STRATEGY, "dagster/partition/symbol": SYMBOLS[0]}
        _finish(base, _launch(base, "backtest_job", key), 300)
        phase("backtest", t)

        # --- a study shared by the run and both worker containers; one worker stopped mid-way
        t = time.monotonic()
        study = f"ci.{project}"
        workers = stack.containers("worker")
        assert len(workers) == 2, workers
        hosts = {stack.run("podman", "inspect", "-f", "{{.Config.Hostname}}", w).strip(): w
                 for w in workers}
        run_id = _launch(base, "optimization_job", {**key, "research_lab/kind": "optimization"},
                         {"ops": {"optimization_study": {"config": {
                             "n_trials": N_TRIALS, "workers": 1, "market_hours": "ignore",
                             "study_name": study, "param_space_json": json.dumps(SPACE)}}}})

        wait_for(lambda: _study_exists(f"{pg}/optuna", study), 300,
                 f"study {study} in the stack's Optuna database", interval=1)

        def a_worker_container_ran_trials():
            done = [w for s, w in _trials(f"{pg}/optuna", study) if s in ("COMPLETE", "PRUNED")]
            if len(done) >= N_TRIALS * 0.9:
                pytest.fail(f"the study was nearly over before a worker could be stopped: {done}")
            ran = {w.split(":")[0] for w in done if w}
            return next((hosts[h] for h in ran if h in hosts), None)

        victim = wait_for(a_worker_container_ran_trials, 300, "a worker container's trial",
                          interval=0.5)
        stack.run("podman", "stop", "--time", "1", victim)
        stopped_at = len(_trials(f"{pg}/optuna", study))
        _finish(base, run_id, 900)
        phase("study", t)

        trials = _trials(f"{pg}/optuna", study)
        finished = [w for s, w in trials if s in ("COMPLETE", "PRUNED")]
        assert len(finished) >= N_TRIALS, (len(finished), stopped_at)
        by_host = {h: sum(1 for w in finished if w and w.startswith(h + ":")) for h in hosts}
        survivor = next(h for h, w in hosts.items() if w != victim)
        assert by_host[survivor] > 0, by_host  # the other container kept working
        assert len(trials) > stopped_at  # trials went on after the stop
        assert stack.run("podman", "inspect", "-f", "{{.State.Status}}", victim).strip() == "exited"

        # the stack's MLflow: the study's parent run with one child run per trial
        experiments = _mlflow(mlflow, "experiments/search", {"max_results": 100})["experiments"]
        runs = _mlflow(mlflow, "runs/search", {
            "experiment_ids": [e["experiment_id"] for e in experiments], "max_results": 1000,
        }).get("runs", [])
        parents = {r["info"]["run_id"] for r in runs}
        children = [r for r in runs if any(
            tag["key"] == "mlflow.parentRunId" and tag["value"] in parents
            for tag in r["data"].get("tags", []))]
        assert children, [r["info"]["run_name"] for r in runs]
        parent_ids = {tag["value"] for r in children for tag in r["data"]["tags"]
                      if tag["key"] == "mlflow.parentRunId"}
        assert len(children) >= N_TRIALS // 2, (len(children), parent_ids)
    except BaseException:
        for name in stack.containers():
            with open(stack.log, "a") as out:
                out.write(f"--- logs of {name}\n{stack.logs(name)}\n")
        raise
    finally:
        t = time.monotonic()
        stack.compose("down", "-v", "-t", "5", check=False)
        phase("down", t)
        print(f"\ncontainer stack phases (s): {phases}")

    assert stack.containers() == []
    volumes = stack.run("podman", "volume", "ls", "--format", "{{.Name}}").split()
    assert [v for v in volumes if v.startswith(f"{project}_")] == [], volumes
