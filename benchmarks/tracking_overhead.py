"""What logging a backtest to MLflow adds: embedded store and HTTP server, median of 100 runs.

    ./scripts/lab shell python benchmarks/tracking_overhead.py
    ./scripts/lab shell python benchmarks/tracking_overhead.py --runs 100 --modes embedded http-pg \
        --pg postgresql://postgres@127.0.0.1:5432/postgres

Each logged run is what a backtest logs: ~12 params (strategy + broker), 50 metrics (the
``performance_report`` keys), the standard tags, and four artifact files (result.json,
equity.csv, trades.csv, orders.csv of a 5,000-bar backtest, ~0.5 MB). The artifacts are written
once beforehand: the backtest writes its JSON result whether or not it is tracked.

Per mode it prints, in milliseconds:

* ``log_run``: what the caller waits for (validation, journaling the record and copying the
  artifacts to the outbox, queueing) — the overhead a backtest sees, median and p95;
* ``per run, flushed``: wall time of the 100 calls *plus* waiting until all are written,
  divided by 100 — the throughput cost when backtests are faster than the writer;
* ``sync write``: one run written in the caller's thread (``background=False``) — what the
  cost would be without the background writer;
* ``child, bulk / one by one, flushed``: a study's trials — 3 x ``--runs`` child runs without
  artifacts logged back to back under one parent, per run including the final flush, with the
  SQL stores' one-transaction path (tracking/bulk.py) and with it turned off.

Modes: ``embedded`` (SQLite + artifact folder, no server), ``http-pg`` (``mlflow server`` on a
fresh PostgreSQL database, artifacts proxied), ``http-sqlite`` (server on SQLite). Target
< 200 ms per logged backtest; goals <= 20 ms embedded, <= 50 ms through the server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
GOALS = {"embedded": 20.0, "http-pg": 50.0, "http-sqlite": 50.0}


def payload(folder: Path):
    """Params, 50 metrics and four artifact files of a real 5,000-bar backtest."""
    from research_lab.core.backtest import run_backtest
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.tracking.backtest import (
        backtest_metrics, backtest_params, write_backtest_artifacts,
    )

    bars = SyntheticSource(seed=3).fetch("ACME", date(2005, 1, 3), date(2024, 12, 31))
    run_backtest(bars, "sma_cross", {"fast": 10, "slow": 30})  # compile once
    t0 = time.perf_counter()
    result = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 30})
    backtest_ms = (time.perf_counter() - t0) * 1000
    metrics = backtest_metrics(result)
    metrics.update({f"report_metric_{i:02d}": 0.01 * i for i in range(50 - len(metrics))})
    files = write_backtest_artifacts(result, folder)
    size = sum(Path(p).stat().st_size for p in files.values())
    return backtest_params(result, "ACME"), metrics, files, len(bars), backtest_ms, size


@contextmanager
def target(mode: str, tmp: Path, pg_admin: str):
    """Yields the tracking URI for ``mode`` (starting and stopping a server if needed)."""
    if mode == "embedded":
        yield f"sqlite:///{tmp / 'embedded' / 'mlflow.db'}"
        return
    from research_lab.core.tracking.server import MlflowServer, ServerSpec, free_port

    admin = dbname = None
    if mode == "http-pg":
        import psycopg2

        dbname = f"rl_bench_overhead_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect(pg_admin)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{dbname}"')
        backend = pg_admin.rsplit("/", 1)[0] + f"/{dbname}"
    else:
        backend = f"sqlite:///{tmp / 'server.db'}"
    spec = ServerSpec(backend, str(tmp / f"{mode}-artifacts"), port=free_port())
    try:
        with MlflowServer(spec, log_path=tmp / f"{mode}.log") as server:
            yield server.url
    finally:
        if admin is not None:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()


def measure(uri: str, tmp: Path, runs: int, params, metrics, files) -> dict[str, float]:
    from research_lab.core.tracking import ExperimentTracker, Lineage

    exp = "Bench.Equities.MeanReversion.SMACrossover"
    lineage = Lineage(data_version="0123456789abcdef", seed=0)

    def log(tracker, i):
        return tracker.log_run(exp, f"run-{i}", params=params, metrics=metrics,
                               artifacts=files, lineage=lineage)

    out = {}
    with ExperimentTracker(uri, outbox_dir=tmp / "outbox-warm", background=False) as t:
        log(t, -1)  # warm-up: mlflow import, schema, experiment creation, connections
    tracker = ExperimentTracker(uri, outbox_dir=tmp / "outbox-bg")
    calls = []
    start = time.perf_counter()
    tickets = []
    for i in range(runs):
        t0 = time.perf_counter()
        tickets.append(log(tracker, i))
        calls.append(time.perf_counter() - t0)
    tracker.flush()
    total = time.perf_counter() - start
    tracker.close()
    lost = sum(1 for t in tickets if not t.run_id)
    calls.sort()
    out["log_run median"] = statistics.median(calls) * 1000
    out["log_run p95"] = calls[int(0.95 * (len(calls) - 1))] * 1000
    out["per run, flushed"] = total / runs * 1000
    sync = []
    with ExperimentTracker(uri, outbox_dir=tmp / "outbox-sync", background=False) as t:
        for i in range(runs):
            t0 = time.perf_counter()
            log(t, 10_000 + i)
            sync.append(time.perf_counter() - t0)
    out["sync write median"] = statistics.median(sync) * 1000
    for label, bulk in (("child, bulk", True), ("child, one by one", False)):
        ms, missing = children(uri, tmp / label.replace(" ", "-"), runs * 3, bulk)
        out[f"{label}, flushed"] = ms
        lost += missing
    out["not written"] = lost
    return out


def children(uri: str, outbox: Path, n: int, bulk: bool) -> tuple[float, int]:
    """A study's trials: ``n`` child runs (2 params, 8 metrics, no artifacts) logged back to
    back under one parent; milliseconds per run including the final flush, and how many are
    not in MLflow. ``bulk=False`` turns the one-transaction path (tracking/bulk.py) off."""
    from research_lab.core.tracking import ExperimentTracker

    tracker = ExperimentTracker(uri, outbox_dir=outbox)
    if not bulk:
        tracker._bulk_available = False
    parent = tracker.start_parent("Bench.Equities.MeanReversion.SMACrossover", "study")
    parent.wait(60)
    start = time.perf_counter()
    tickets = [tracker.log_child(parent, f"trial {i}", params={"fast": i, "slow": 200},
                                 metrics={f"m{k}": k * 0.1 + i for k in range(8)},
                                 tags={"state": "COMPLETE"}) for i in range(n)]
    tracker.flush()
    took = time.perf_counter() - start
    tracker.close()
    return took / n * 1000, sum(1 for t in tickets if not t.run_id)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--modes", nargs="+", default=["embedded", "http-pg"],
                    choices=["embedded", "http-pg", "http-sqlite"])
    ap.add_argument("--pg", default=os.environ.get(
        "RESEARCH_LAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args(argv)
    os.environ.setdefault("RESEARCH_LAB_CODE_VERSION", "bench")

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(other processes slow every figure)")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        params, metrics, files, bars, backtest_ms, size = payload(tmp / "artifacts")
        print(f"payload: {len(params)} params, {len(metrics)} metrics, {len(files)} artifacts "
              f"({size / 1e6:.2f} MB) from a {bars:,}-bar backtest that takes "
              f"{backtest_ms:.1f} ms (fast engine)")
        results = {}
        for mode in args.modes:
            with target(mode, tmp, args.pg) as uri:
                results[mode] = measure(uri, tmp / mode, args.runs, params, metrics, files)
        keys = list(next(iter(results.values())))
        print(f"\nmilliseconds, {args.runs} runs per mode")
        print(f"{'':<28}" + "".join(f"{m:>14}" for m in results))
        for key in keys:
            print(f"{key:<28}" + "".join(f"{r[key]:>14.1f}" for r in results.values()))
        print()
        for mode, r in results.items():
            goal = GOALS[mode]
            print(f"{mode}: log_run median {r['log_run median']:.1f} ms = "
                  f"{r['log_run median'] / 200:.1%} of the 200 ms target, "
                  f"{'within' if r['log_run median'] <= goal else 'over'} the {goal:.0f} ms goal; "
                  f"background writing is {r['sync write median'] / r['log_run median']:.0f}x "
                  f"cheaper for the caller than writing inline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
