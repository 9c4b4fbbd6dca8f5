"""Figures for docs/scaling.md: what the team stack costs and buys on this machine.

    ./scripts/lab shell python benchmarks/stack_scaling.py startup      # stack up: ready, queue, stop
    ./scripts/lab shell python benchmarks/stack_scaling.py instance     # SQLite vs PostgreSQL instance
    ./scripts/lab shell python benchmarks/stack_scaling.py executors    # multiprocess vs Celery
    ./scripts/lab shell python benchmarks/stack_scaling.py optuna       # study storage, 1 vs 2 workers

PostgreSQL: the server at RESEARCH_LAB_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/
postgres); every database made here is dropped afterwards. Celery: the local RabbitMQ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("RESEARCH_LAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SERVER = PG.rpartition("/")[0]


@contextmanager
def databases(*names: str):
    import psycopg2

    admin = psycopg2.connect(PG)
    admin.autocommit = True
    prefix = f"rl_bench_{uuid.uuid4().hex[:6]}_"
    with admin.cursor() as cur:
        for n in names:
            cur.execute(f'CREATE DATABASE "{prefix}{n}"')
    try:
        yield prefix
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))
            for (n,) in cur.fetchall():
                cur.execute(f'DROP DATABASE "{n}" WITH (FORCE)')
        admin.close()


def pg_instance_env(home: Path, db: str) -> dict[str, str]:
    from research_lab.cli.stack_up import DAGSTER_YAML, PgServer

    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    s = PgServer.from_url(SERVER)
    return {"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": s.host, "DAGSTER_PG_PORT": str(s.port),
            "DAGSTER_PG_USER": s.user, "DAGSTER_PG_PASSWORD": s.password, "DAGSTER_PG_DB": db,
            "DAGSTER_STORAGE_DIR": str(home / "storage"), "DAGSTER_LOGS_DIR": str(home / "logs")}


def startup(args) -> None:
    """`research-lab stack up` on fresh databases: time to ready, one queued run, stop."""
    from research_lab.cli.stack_supervisor import graphql
    from research_lab_tests.stack.conftest import free_port
    from research_lab_tests.stack.test_stack_up import ADD_SYMBOL, LAUNCH, REPO, RUN

    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp, databases() as prefix:
            ports = [free_port() for _ in range(3)]
            env = {**os.environ, "RESEARCH_LAB_HOME": tmp, "RESEARCH_LAB_UNIVERSE": "ACME"}
            env.pop("RESEARCH_LAB_STORE_URL", None)
            out = Path(tmp) / "out"
            t0 = time.monotonic()
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "research-lab"), "stack", "up", "--pg-url",
                 SERVER, "--db-prefix", prefix, "--home", f"{tmp}/stack", "--dagster-port",
                 str(ports[0]), "--code-port", str(ports[1]), "--mlflow-port", str(ports[2])],
                env=env, stdout=open(out, "w"), stderr=subprocess.STDOUT, start_new_session=True)
            while "Ctrl-C" not in out.read_text():
                if proc.poll() is not None:
                    raise SystemExit(out.read_text())
                time.sleep(0.2)
            ready = time.monotonic() - t0
            lines = [ln for ln in out.read_text().splitlines() if "ready in" in ln]
            base = f"http://127.0.0.1:{ports[0]}"
            graphql(base, ADD_SYMBOL, {"s": REPO, "k": "ACME"})
            t1 = time.monotonic()
            run = graphql(base, LAUNCH, {"p": {"selector": {**REPO, "jobName": "market_data_job"},
                "runConfigData": {}, "executionMetadata": {"tags": [
                    {"key": "dagster/partition", "value": "2024-01-02|ACME"}]}}})
            run_id = run["launchRun"]["run"]["runId"]
            seen = {}
            while True:
                st = graphql(base, RUN, {"id": run_id})["runOrError"]["status"]
                seen.setdefault(st, time.monotonic() - t1)
                if st in ("SUCCESS", "FAILURE"):
                    break
                time.sleep(0.2)
            t2 = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            print(f"[{i + 1}] stack up ready in {ready:5.1f} s ({'; '.join(ln.split(': ', 1)[1] for ln in lines)})")
            print(f"    queued run: " + ", ".join(f"{k} +{v:.1f} s" for k, v in seen.items()))
            print(f"    stop (SIGTERM -> every group gone): {time.monotonic() - t2:.1f} s")


def instance(args) -> None:
    """One symbol × N sessions as one run: SQLite vs PostgreSQL Dagster instance (+ store)."""
    import dagster as dg

    from research_lab.core.marketdata.planning import weekdays
    from research_lab.defs.marketdata.backfill import materialize_range

    start, end = date(2023, 1, 2), None
    days = weekdays(start, date(2025, 12, 31))[: args.sessions]
    end = days[-1]
    os.environ.update(RESEARCH_LAB_SOURCE="synthetic", RESEARCH_LAB_UNIVERSE="ACME")
    for kind in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as tmp, databases("dagster", "market") as prefix:
            home = Path(tmp) / "dh"
            if kind == "sqlite":
                home.mkdir()
                (home / "dagster.yaml").write_text("")
                os.environ["RESEARCH_LAB_STORE_URL"] = f"sqlite:///{tmp}/market.db"
            else:
                os.environ.update(pg_instance_env(home, prefix + "dagster"))
                os.environ["RESEARCH_LAB_STORE_URL"] = f"{SERVER}/{prefix}market"
            with dg.DagsterInstance.from_config(str(home)) as inst:
                t0 = time.perf_counter()
                result = materialize_range(inst, ["ACME"], start, end, log_level="WARNING")
                took = time.perf_counter() - t0
                assert result.success
            print(f"{kind:10s} instance+store: {len(days)} partitions in one run {took:6.1f} s "
                  f"({1000 * took / len(days):5.1f} ms per partition)")


def executors(args) -> None:
    """The fan-out job (4 steps of ~0.1 s, then a fan-in) on a PostgreSQL instance:
    multiprocess vs Celery with 2 workers."""
    import dagster as dg

    from research_lab.defs.executors import CELERY_RUN_CONFIG
    from research_lab_tests.stack.celery_jobs import WIDTH, fan_out_job

    with tempfile.TemporaryDirectory() as tmp, databases("dagster") as prefix:
        os.environ.update(pg_instance_env(Path(tmp) / "dh", prefix + "dagster"))
        os.environ["RESEARCH_LAB_CELERY_BROKER"] = "pyamqp://guest@127.0.0.1:5672//"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        workers = [subprocess.Popen(
            [str(Path(sys.executable).parent / "research-lab"), "stack", "celery-worker",
             "--name", n, "--concurrency", "1", "--loglevel", "WARNING"], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            for n in ("bench-a", "bench-b")]
        try:
            from dagster_celery.make_app import make_app

            from research_lab.defs.executors import celery_app_args

            app = make_app(celery_app_args())
            while len(app.control.ping(timeout=1.0)) < 2:
                time.sleep(0.5)
            with dg.DagsterInstance.get() as inst:
                for name, cfg in (("multiprocess", {}), ("celery x2", CELERY_RUN_CONFIG)):
                    times = []
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        with dg.execute_job(dg.reconstructable(fan_out_job), instance=inst,
                                            run_config=cfg) as res:
                            assert res.success
                        times.append(time.perf_counter() - t0)
                    print(f"{name:13s} {WIDTH + 1} steps: median {statistics.median(times):5.1f} s "
                          f"(min {min(times):.1f}, max {max(times):.1f})")
        finally:
            for w in workers:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait()


def _trials(storage: str, name: str, n: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=storage)
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=n)


def optuna_bench(args) -> None:
    """A trivial objective: per-trial storage cost, and 2 worker processes on one study."""
    import multiprocessing as mp

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, databases("optuna") as prefix:
        for kind, url in (("sqlite", f"sqlite:///{tmp}/optuna.db"),
                          ("postgresql", f"{SERVER.replace('postgresql://', 'postgresql+psycopg2://')}/{prefix}optuna")):
            for workers in (1, 2):
                name = f"bench-{kind}-{workers}"
                # create storage + study once before the workers start (MEASURED.md: the race)
                optuna.create_study(study_name=name, storage=url)
                per = args.trials // workers
                ctx = mp.get_context("spawn")
                procs = [ctx.Process(target=_trials, args=(url, name, per)) for _ in range(workers)]
                t0 = time.perf_counter()
                for p in procs:
                    p.start()
                for p in procs:
                    p.join()
                took = time.perf_counter() - t0
                n = len(optuna.load_study(study_name=name, storage=url).trials)
                print(f"{kind:10s} {workers} worker(s): {n} trials in {took:5.1f} s "
                      f"({1000 * took / n:5.1f} ms per trial, incl. process start)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("startup")
    s.add_argument("--repeat", type=int, default=2)
    i = sub.add_parser("instance")
    i.add_argument("--sessions", type=int, default=250)
    e = sub.add_parser("executors")
    e.add_argument("--repeat", type=int, default=3)
    o = sub.add_parser("optuna")
    o.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    {"startup": startup, "instance": instance, "executors": executors,
     "optuna": optuna_bench}[args.what](args)


if __name__ == "__main__":
    main()
