"""Optimization throughput, end to end: backtest + Optuna storage + MLflow child runs.

Runs real studies with :func:`research_lab.core.optimize.run_study` on ORCL (5,036 bars,
SMA crossover, 4 walk-forward folds, MedianPruner) and prints:

* **embedded defaults, tracking on** (journal file storage, MLflow on embedded SQLite, one
  child run per trial, every one checked to be in MLflow at the end: nothing lost):
  trials per second per worker, over the trial loop and end to end (worker start-up, report,
  tracking flush included);
* **PostgreSQL, 1 vs 2 workers** (``--pg URL``): trials per second and the speed-up,
  ``--pg-repeat`` times (alternating, each on a fresh database) and the median: on a 2-core
  machine that also runs the database, one comparison varies by +-0.2x. ``--pg-kinds`` picks
  the PostgreSQL storages: ``rdb`` (Optuna's RDBStorage, ``postgresql://``), ``journal``
  (the project's JournalStorage on PostgreSQL, ``postgresql+journal://``) and ``grpc``
  (Optuna's ``GrpcStorageProxy`` in front of an RDBStorage: storage-only, since a study
  URL cannot name it). Each kind first gets a **storage-only** figure
  (``--storage-trials``: the trial's storage calls with no backtest and a random sampler,
  one process: the ceiling the storage puts on a worker) and its round-trips per trial;
* **time per trial as the study grows to 1,000 trials**: median seconds per trial in windows
  of 100 (TPE's model and the storage grow with the trial count).

Goals: >= 20 trials/s per worker on the embedded defaults with tracking on (issue 5); >= 30
trials/s per worker end to end on PostgreSQL with tracking on, and 2 workers >= 1.7x one
(issue 16). This machine has 2 cores shared with other work: figures vary; the load average
is printed with each.

Usage::

    python benchmarks/optimize_throughput.py [--trials 300] [--growth 1000]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--pg-kinds rdb,journal,grpc]
        [--pg-repeat 3] [--storage-trials 300] [--skip-embedded] [--no-tracking]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimize_common import bench_config, orcl_bars  # noqa: E402

SPACE = Path(__file__).resolve().parents[1] / "config" / "param_spaces" / "sma_cross.yaml"


def trial_rate(study) -> tuple[float, list[float]]:
    """Trials/s between the first trial's start and the last one's end, and the per-trial
    durations (wall time between consecutive completions) in trial order."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete]
    trials.sort(key=lambda t: t.datetime_complete)
    span = (trials[-1].datetime_complete - min(t.datetime_start for t in trials)).total_seconds()
    gaps = [(b.datetime_complete - a.datetime_complete).total_seconds()
            for a, b in zip(trials, trials[1:])]
    return len(trials) / span, gaps


def run(bars, n_trials: int, workers: int, storage: str | None, tracking: bool):
    from research_lab.core.optimize import MlflowStudyTracker, NoopTracker, StudyRequest, load_space
    from research_lab.core.optimize import run_study

    cfg = bench_config(workers=workers)
    tracker = MlflowStudyTracker() if tracking else NoopTracker()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    report = run_study(StudyRequest("sma_cross", "ORCL", bars, load_space(SPACE), name,
                                    n_trials=n_trials, workers=workers, storage_url=storage,
                                    config=cfg, seed=1), tracker=tracker)
    t_study = time.perf_counter() - t0
    tracker.close()  # waits until every child run is in MLflow (or the outbox)
    total = time.perf_counter() - t0
    print(f"  [{n_trials} trials, {workers} worker(s)] run_study {t_study:.1f} s (report "
          f"included), tracking flush after it {total - t_study:.1f} s", file=sys.stderr)
    from research_lab.core.optimize import storage as S

    study = S.load_study(S.resolve_storage_url(storage), name)
    rate, gaps = trial_rate(study)
    lost = None
    if tracking:  # every finished trial (warm start and repeats included) is a child run
        finished = sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished())
        lost = finished - mlflow_children(name)
    return report, rate, n_trials / total, gaps, lost


def mlflow_children(study_name: str) -> int:
    from mlflow.tracking import MlflowClient

    from research_lab.core.tracking.config import resolve_target

    client = MlflowClient(resolve_target().uri)
    exp = client.get_experiment_by_name("Default.Equities.General.sma_cross")
    runs = client.search_runs([exp.experiment_id], f"tags.study_name = '{study_name}' "
                              "and tags.kind = 'trial'", max_results=50_000)
    return len(runs)


def load() -> str:
    return "load " + " ".join(open("/proc/loadavg").read().split()[:3])


def _storage_objective(trial) -> float:
    """A trial's storage calls without the backtest: worker attribute, two parameters, four
    fold reports each followed by the pruner's question."""
    trial.set_user_attr("worker", "bench")
    fast = trial.suggest_int("fast", 5, 50)
    slow = trial.suggest_int("slow", 20, 250, step=5)
    for fold in range(4):
        trial.report((slow - fast) / 100.0, fold)
        trial.should_prune()
    return (slow - fast) / 100.0


def storage_only(storage, n_trials: int) -> tuple[float, float | None]:
    """Trials/s of :func:`_storage_objective` on ``storage`` (one process, random sampler),
    and the round-trips per trial where the backend counts them."""
    import optuna

    name = f"storage-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=1),
                                pruner=optuna.pruners.MedianPruner())
    backend = getattr(storage, "_backend", None)
    before = getattr(backend, "round_trips", None)
    t0 = time.perf_counter()
    study.optimize(_storage_objective, n_trials=n_trials)
    rate = n_trials / (time.perf_counter() - t0)
    trips = None if before is None else (backend.round_trips - before) / n_trials
    return rate, trips


def grpc_storage_only(rdb_url: str, n_trials: int) -> float:
    """Optuna's GrpcStorageProxy: a proxy server process on the RDBStorage, this process
    its client."""
    import socket
    import subprocess

    import optuna

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    optuna.storages.RDBStorage(rdb_url)  # the schema, before the proxy opens it
    server = subprocess.Popen(
        [sys.executable, "-c", "import optuna, sys; optuna.logging.set_verbosity(30); "
         "optuna.storages.run_grpc_proxy_server(optuna.storages.RDBStorage(sys.argv[1]), "
         "host='127.0.0.1', port=int(sys.argv[2]))", rdb_url, str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proxy = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port)
            proxy.wait_server_ready(timeout=60)
        return storage_only(proxy, n_trials)[0]
    finally:
        server.terminate()
        server.wait(timeout=30)


def pg_kind_url(kind: str, url: str) -> str:
    return url.replace("postgresql://", "postgresql+journal://", 1) if kind == "journal" else url


def pg_section(args, bars, tracking: bool) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from research_lab.core.optimize import storage as S

    for kind in args.pg_kinds:
        url = create_db(args.pg)
        try:
            if kind == "grpc":
                rate = grpc_storage_only(url, args.storage_trials)
                print(f"PostgreSQL {kind}: storage-only {rate:.1f} trials/s "
                      f"({args.storage_trials} trials, 1 process; {load()})")
                continue
            storage = S.open_storage(pg_kind_url(kind, url), create_tables=True, worker=True)
            rate, trips = storage_only(storage, args.storage_trials)
        finally:
            drop_db(args.pg, url)
        print(f"PostgreSQL {kind}: storage-only {rate:.1f} trials/s ({args.storage_trials} "
              f"trials, 1 process" + (f", {trips:.1f} round-trips a trial" if trips else "")
              + f"; {load()})")
        if kind == "grpc":
            continue
        ratios, ratios_e2e, per_worker = [], [], []
        for rep in range(args.pg_repeat):  # 1 and 2 workers alternate: drifting load hits both
            url = create_db(args.pg)
            try:
                _, r1, e1, _, lost1 = run(bars, args.trials, 1, pg_kind_url(kind, url), tracking)
                _, r2, e2, _, lost2 = run(bars, args.trials, 2, pg_kind_url(kind, url), tracking)
            finally:
                drop_db(args.pg, url)
            ratios.append(r2 / r1)
            ratios_e2e.append(e2 / e1)
            per_worker.append((e1, e2 / 2))
            print(f"PostgreSQL {kind} #{rep + 1}, {args.trials} trials: 1 worker {r1:.1f} "
                  f"trials/s ({e1:.1f} end to end); 2 workers {r2:.1f} trials/s ({r2 / 2:.1f} "
                  f"each; {e2:.1f} end to end, {e2 / 2:.1f} each); speed-up {r2 / r1:.2f}x "
                  f"({e2 / e1:.2f}x end to end); child runs missing: {lost1}, {lost2}; {load()}")
        print(f"PostgreSQL {kind}: speed-up with 2 workers, median of {len(ratios)}: "
              f"{statistics.median(ratios):.2f}x in the trial loop (range {min(ratios):.2f}-"
              f"{max(ratios):.2f}), {statistics.median(ratios_e2e):.2f}x end to end; end to "
              f"end per worker: 1 worker {statistics.median(p[0] for p in per_worker):.1f}, "
              f"2 workers {statistics.median(p[1] for p in per_worker):.1f} trials/s each")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--growth", type=int, default=1000, help="trials of the growth study (0: skip)")
    ap.add_argument("--pg", help="PostgreSQL URL (a database is created and dropped)")
    ap.add_argument("--pg-repeat", type=int, default=3,
                    help="1-vs-2-worker PostgreSQL comparisons (each on a fresh database)")
    ap.add_argument("--pg-kinds", default="rdb",
                    help="comma-separated PostgreSQL storages: rdb, journal, grpc")
    ap.add_argument("--storage-trials", type=int, default=300,
                    help="trials of each storage-only measurement")
    ap.add_argument("--skip-embedded", action="store_true",
                    help="skip the embedded journal-file rows")
    ap.add_argument("--no-tracking", action="store_true")
    args = ap.parse_args()
    if args.pg_repeat < 1:
        ap.error(f"--pg-repeat must be at least 1, got {args.pg_repeat}")
    if args.storage_trials < 1:
        ap.error(f"--storage-trials must be at least 1, got {args.storage_trials}")
    args.pg_kinds = [k.strip() for k in args.pg_kinds.split(",") if k.strip()]
    bad = sorted(set(args.pg_kinds) - {"rdb", "journal", "grpc"})
    if bad or not args.pg_kinds:
        ap.error(f"--pg-kinds: unknown kind(s) {', '.join(bad) or '(none)'}; "
                 "valid: rdb, journal, grpc")
    os.environ["RESEARCH_LAB_HOME"] = tempfile.mkdtemp(prefix="optimize-bench-")
    os.environ.pop("RESEARCH_LAB_OPTUNA_STORAGE", None)
    for var in ("RESEARCH_LAB_MLFLOW_URI", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    bars = orcl_bars()
    tracking = not args.no_tracking
    # warm-up: numba caches, imports, and (tracking on) MLflow's embedded database, which a
    # fresh RESEARCH_LAB_HOME creates once (~60 migrations) in the tracker's thread
    t0 = time.perf_counter()
    run(bars, 15, 1, None, tracking)
    print(f"warm-up (15 trials; first use of a fresh home: imports, numba, MLflow database): "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"ORCL {len(bars)} bars, sma_cross, 4 folds, MedianPruner; tracking "
          f"{'on (MLflow embedded SQLite)' if tracking else 'off'}")
    if not args.skip_embedded:
        rep, rate, e2e, _, lost = run(bars, args.trials, 1, None, tracking)
        print(f"embedded journal, 1 worker, {args.trials} trials: {rate:.1f} trials/s in the "
              f"trial loop, {e2e:.1f} trials/s end to end ({rep.pruned} pruned); "
              f"child runs missing in MLflow: {lost}; {load()}")
        _, r2, e2, _, lost2 = run(bars, args.trials, 2, None, tracking)
        print(f"embedded journal, 2 workers, {args.trials} trials: {r2:.1f} trials/s "
              f"({r2 / 2:.1f} per worker; {r2 / rate:.2f}x one worker), {e2:.1f} end to end; "
              f"child runs missing: {lost2}; {load()}")
    if args.pg:
        pg_section(args, bars, tracking)
    if args.growth:
        _, rate, e2e, gaps, lost = run(bars, args.growth, 1, None, tracking)
        windows = [statistics.median(gaps[i:i + 100]) * 1000 for i in range(0, len(gaps), 100)]
        print(f"growth to {args.growth} trials (embedded, 1 worker): {rate:.1f} trials/s overall, "
              f"{e2e:.1f} end to end; child runs missing: {lost}")
        print("median ms per trial by 100-trial window: "
              + ", ".join(f"{w:.0f}" for w in windows))
    return 0


def create_db(admin_url: str) -> str:
    import psycopg2

    name = f"{os.environ.get('BENCH_DB_PREFIX', 'rl_bench')}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_db(admin_url: str, url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
