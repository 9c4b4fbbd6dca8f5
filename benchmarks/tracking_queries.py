"""Queries at scale: 10,000 runs in an MLflow server on PostgreSQL.

    ./scripts/lab shell python benchmarks/tracking_queries.py
    ./scripts/lab shell python benchmarks/tracking_queries.py --runs 10000 --repeat 7 \
        --pg postgresql://postgres@127.0.0.1:5432/postgres

What it does:

1. creates a fresh PostgreSQL database and starts ``mlflow server`` on it (``--workers 1``;
   the server creates MLflow's schema);
2. creates 24 experiments by convention through the server (3 projects x 2 asset classes x
   2 strategy families x 2 strategies);
3. bulk-creates the runs straight into the database with MLflow's own SQLAlchemy models
   (``mlflow.store.tracking.dbmodels.models``: runs, params, tags, metrics, latest_metrics),
   30-70 s on 2 cores, where the REST API would need three calls per run (~10 minutes).
   Each run looks like a logged backtest: 8 params, 30 metrics, the 14 standard tags
   (hierarchy, team, status, kind, lineage, run key);
4. times each query of the cookbook through the HTTP server (median of ``--repeat``), before
   and after ``research-lab project migrate`` (the extra indexes), and the same queries on
   MLflow's SQL store in-process (no HTTP), and prints them with the ratio. The target is
   < 1 s per query, the goal < 300 ms.

The database is dropped at the end (``--keep`` keeps it and prints its URL).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
PROJECTS = ("Q1_2025", "Q2_2025", "Q3_2025")
ASSET_CLASSES = ("Equities", "Futures")
FAMILIES = {"MeanReversion": ("SMACrossover", "Bollinger"), "Momentum": ("RSI", "Breakout")}
METRICS = (
    "sharpe", "sortino", "calmar", "total_return", "cagr", "volatility", "max_drawdown",
    "max_drawdown_days", "win_rate", "profit_factor", "avg_trade", "trades", "exposure",
    "turnover", "skew", "kurtosis", "var_95", "cvar_95", "best_day", "worst_day", "omega",
    "tail_ratio", "alpha", "beta", "information_ratio", "r_squared", "final_value",
    "avg_win", "avg_loss", "payoff_ratio",
)


def experiment_names() -> list[str]:
    return [f"{p}.{a}.{f}.{s}" for p in PROJECTS for a in ASSET_CLASSES
            for f, strategies in FAMILIES.items() for s in strategies]


def seed_runs(db_url: str, exp_ids: dict[str, str], n: int, rng: random.Random) -> float:
    """Insert ``n`` finished runs spread over the experiments; returns seconds taken."""
    import sqlalchemy as sa
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag,
    )

    from research_lab.core.tracking.bulk import insert_rows

    started = time.perf_counter()
    engine = sa.create_engine(db_url)
    now = int(time.time() * 1000)
    names = list(exp_ids)
    symbols = [f"SYM{i:02d}" for i in range(10)]
    code_versions = [uuid.uuid4().hex + uuid.uuid4().hex[:8] for _ in range(5)]
    data_versions = [uuid.uuid4().hex[:16] for _ in range(50)]
    runs, params, tags, metrics, latest = [], [], [], [], []
    for i in range(n):
        name = names[i % len(names)]
        project, asset, family, strategy = name.split(".")
        run_id = uuid.uuid4().hex
        start = now - rng.randint(0, 400 * 86_400_000)
        runs.append(dict(
            run_uuid=run_id, name=f"{strategy}-{i}", source_type="LOCAL", source_name="",
            entry_point_name="", user_id="bench", status="FINISHED", start_time=start,
            end_time=start + 500, source_version="", lifecycle_stage="active",
            artifact_uri=f"mlflow-artifacts:/{exp_ids[name]}/{run_id}/artifacts",
            experiment_id=int(exp_ids[name]),
        ))
        p = {"fast": rng.choice(range(5, 55, 5)), "slow": rng.choice(range(20, 220, 20)),
             "symbol": rng.choice(symbols), "engine": "fast", "broker.cash": 10000,
             "broker.commission": rng.choice((0.0, 0.001)), "broker.sizing": "fixed",
             "broker.stake": 1}
        params += [dict(key=k, value=str(v), run_uuid=run_id) for k, v in p.items()]
        status = rng.choices(("research", "testing", "production"), (75, 20, 5))[0]
        t = {"project": project, "asset_class": asset, "strategy_family": family,
             "strategy": strategy, "team": rng.choice(("alpha", "beta", "gamma")),
             "status": status, "kind": "backtest", "code_version": rng.choice(code_versions),
             "data_version": rng.choice(data_versions), "seed": str(rng.randint(0, 99)),
             "dagster.run_id": str(uuid.uuid4()), "dagster.partition_key": p["symbol"],
             "research_lab.run_key": uuid.uuid4().hex, "mlflow.runName": f"{strategy}-{i}"}
        tags += [dict(key=k, value=v, run_uuid=run_id) for k, v in t.items()]
        for m in METRICS:
            value = rng.gauss(0.5, 1.0)
            metrics.append(dict(key=m, value=value, timestamp=start + 500, step=0,
                                is_nan=False, run_uuid=run_id))
            latest.append(dict(key=m, value=value, timestamp=start + 500, step=0,
                               is_nan=False, run_uuid=run_id))
    with engine.begin() as conn:
        insert_rows(conn, {SqlRun: runs, SqlParam: params, SqlTag: tags, SqlMetric: metrics,
                           SqlLatestMetric: latest})
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def queries(client, sample_run_key: str, data_version: str) -> dict[str, callable]:
    from research_lab.core.tracking import queries as q
    from research_lab.core.tracking.naming import Scope
    from research_lab.core.tracking.writer import run_key_filter

    exp_ids = list(q.experiments(client, Scope("Q1_2025")))
    return {
        "leaderboard: project, top 10 by sharpe":
            lambda: q.leaderboard(client, Scope("Q1_2025"), "sharpe", top=10),
        "leaderboard: asset class + status=testing, top 10":
            lambda: q.leaderboard(client, Scope("Q1_2025", "Equities"), "sharpe", top=10,
                                  tags={"status": "testing"}),
        "leaderboard: one strategy, top 10 by max_drawdown":
            lambda: q.leaderboard(client, Scope("Q1_2025", "Equities", "MeanReversion",
                                                "SMACrossover"), "max_drawdown", top=10),
        "tag search: project, status=production (<=100)":
            lambda: q.find_runs(client, Scope("Q1_2025"), tags={"status": "production"},
                                limit=100),
        "tag search: project, status=production (<=25)":
            lambda: q.find_runs(client, Scope("Q1_2025"), tags={"status": "production"},
                                limit=25),
        "tag search: all projects, team + data_version (<=100)":
            lambda: q.find_runs(client, Scope(), tags={"team": "alpha",
                                                       "data_version": data_version}, limit=100),
        "param search: fast=10 AND slow=60 (<=100)":
            lambda: q.find_runs(client, Scope("Q1_2025"), params={"fast": 10, "slow": 60},
                                limit=100),
        "run key lookup (outbox replay)":
            lambda: client.search_runs(exp_ids, run_key_filter(sample_run_key), max_results=2),
        "list projects":
            lambda: q.list_projects(client),
    }


def time_queries(client, repeat: int, sample_key: str, data_version: str) -> dict[str, tuple]:
    out = {}
    for label, fn in queries(client, sample_key, data_version).items():
        fn()  # warm caches and the connection
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = fn()
            times.append(time.perf_counter() - t0)
        count = len(rows) if hasattr(rows, "__len__") else 0
        out[label] = (statistics.median(times), count)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg", default=os.environ.get(
        "RESEARCH_LAB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="admin URL of the PostgreSQL server (a fresh database is created on it)")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = ap.parse_args(argv)

    import psycopg2
    from mlflow.tracking import MlflowClient

    from research_lab.core.tracking import lifecycle, migrate
    from research_lab.core.tracking.config import resolve_target
    from research_lab.core.tracking.server import MlflowServer, ServerSpec, free_port

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(other processes slow every figure)")
    dbname = f"rl_bench_mlflow_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(args.pg)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{dbname}"')
    db_url = args.pg.rsplit("/", 1)[0] + f"/{dbname}"
    rng = random.Random(7)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            spec = ServerSpec(db_url, str(Path(tmp) / "artifacts"), port=free_port())
            t0 = time.perf_counter()
            with MlflowServer(spec, log_path=Path(tmp) / "server.log") as server:
                print(f"mlflow server on a fresh database answered /health in "
                      f"{time.perf_counter() - t0:.1f} s")
                target = resolve_target(server.url, outbox_dir=Path(tmp) / "outbox")
                client = MlflowClient(server.url)
                exp_ids = {n: lifecycle.create_experiment(target, n, client)
                           for n in experiment_names()}
                took = seed_runs(db_url, exp_ids, args.runs, rng)
                print(f"bulk-created {args.runs:,} runs ({args.runs * 8:,} params, "
                      f"{args.runs * 14:,} tags, {args.runs * 30 * 2:,} metric rows) in "
                      f"{took:.1f} s through MLflow's SQLAlchemy models")
                probe = client.search_runs([exp_ids[experiment_names()[0]]], max_results=1)[0]
                key = probe.data.tags["research_lab.run_key"]
                dv = probe.data.tags["data_version"]
                before = time_queries(client, args.repeat, key, dv)
                created = migrate.apply(db_url)
                print(f"migrate: {sum(1 for _, new in created if new)} index(es) created")
                after = time_queries(client, args.repeat, key, dv)
                direct = time_queries(MlflowClient(db_url), args.repeat, key, dv)
            print(f"\nmedian of {args.repeat} ({args.runs:,} runs, PostgreSQL); 'before'/'indexed':"
                  " through the HTTP server, before/after `project migrate`; 'no HTTP': the same"
                  " query on MLflow's SQL store in-process (indexed)")
            print(f"{'query':<56} {'rows':>5} {'before':>9} {'indexed':>9} {'ratio':>6} "
                  f"{'no HTTP':>9}")
            for label, (t_before, rows) in before.items():
                t_after = after[label][0]
                print(f"{label:<56} {rows:>5} {t_before * 1000:>7.0f}ms {t_after * 1000:>7.0f}ms "
                      f"{t_before / t_after:>5.1f}x {direct[label][0] * 1000:>7.0f}ms")
            worst = max(t for t, _ in after.values())
            print(f"\nslowest query after migrate: {worst * 1000:.0f} ms "
                  f"(target < 1000 ms, goal < 300 ms: {'met' if worst < 0.3 else 'missed'})")
    finally:
        if args.keep:
            print(f"kept database: {db_url}")
        else:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
