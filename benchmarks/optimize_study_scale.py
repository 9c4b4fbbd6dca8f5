"""A study of 10^4 trials end to end, tracking on: trial loop, report, MLflow.

Runs :func:`research_lab.core.optimize.run_study` on ORCL (5,036 bars, 4 walk-forward folds,
the project's median pruner) over the Bollinger space (a log-scaled integer period and a
continuous band width, so that 20,000 trials are 20,000 different points: the SMA space has
~2,000 and a repeated point does not spend the budget), with ``tracking.child_runs: K``:
every trial goes to the parent run's ``trials.csv`` and only the K best become MLflow child
runs. Prints:

* the trial loop's rate and the median seconds per trial in windows of 1,000 trials (TPE's
  model and the storage grow with the study);
* the report (leaderboard, OOS, DSR, PBO over every tried configuration, plots, trials
  table) and the MLflow flush after it;
* the end-to-end time, and what MLflow holds at the end (child runs = K, the trials table's
  rows = the finished trials): nothing lost.

Usage::

    nice python benchmarks/optimize_study_scale.py [--trials 20000] [--child-runs 100]
        [--workers 1] [--storage URL (default: the embedded journal file)]
        [--space config/param_spaces/bollinger.yaml] [--sampler cmaes]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimize_common import bench_config, orcl_bars  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "config" / "param_spaces" / "bollinger.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20_000)
    ap.add_argument("--child-runs", type=int, default=100)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--storage", default=None,
                    help="Optuna storage URL (default: a fresh embedded journal file)")
    ap.add_argument("--space", default=str(SPACE))
    ap.add_argument("--sampler", default=None,
                    help="sampler.type for this study (default: config/optimize.yaml's, TPE)")
    args = ap.parse_args()
    for name in ("trials", "workers"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.child_runs < 0:
        ap.error(f"--child-runs must be >= 0, got {args.child_runs}")
    os.environ["RESEARCH_LAB_HOME"] = tempfile.mkdtemp(prefix="optimize-scale-")
    os.environ.pop("RESEARCH_LAB_OPTUNA_STORAGE", None)
    for var in ("RESEARCH_LAB_MLFLOW_URI", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)

    from research_lab.core.optimize import MlflowStudyTracker, StudyRequest, load_space, run_study
    from research_lab.core.optimize import storage as S

    bars = orcl_bars()
    space = load_space(args.space)
    cfg = bench_config(workers=args.workers).override("tracking", child_runs=args.child_runs)
    cfg = cfg.override("sampler", type=args.sampler)
    name = f"scale-{uuid.uuid4().hex[:8]}"
    out = Path(os.environ["RESEARCH_LAB_HOME"]) / "report"
    tracker = MlflowStudyTracker()
    t0 = time.perf_counter()
    outcome = run_study(StudyRequest(space.strategy, "ORCL", bars, space, name,
                                     n_trials=args.trials, workers=args.workers,
                                     storage_url=args.storage, config=cfg, seed=1,
                                     output_dir=str(out)),
                        tracker=tracker, report=False)
    t_loop = time.perf_counter() - t0
    from research_lab.core.optimize.report import finish_study

    report = finish_study(outcome, bars, tracker=tracker, output_dir=out)
    t_report = time.perf_counter() - t0 - t_loop
    tracker.close()
    total = time.perf_counter() - t0
    t_flush = total - t_loop - t_report

    study = S.load_study(S.resolve_storage_url(args.storage), name)
    trials = sorted((t for t in study.get_trials(deepcopy=False) if t.datetime_complete),
                    key=lambda t: t.datetime_complete)
    span = (trials[-1].datetime_complete - trials[0].datetime_start).total_seconds()
    gaps = [(b.datetime_complete - a.datetime_complete).total_seconds()
            for a, b in zip(trials, trials[1:])]
    windows = [statistics.median(gaps[i:i + 1000]) * 1000 for i in range(0, len(gaps), 1000)]
    with open(out / "trials.csv", newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    children = mlflow_children(name, space.strategy)
    load = open("/proc/loadavg").read().split()[:3]
    print(f"{space.strategy} on ORCL ({len(bars)} bars), {args.trials} trials, "
          f"{args.workers} worker(s), storage {S.mask(outcome.storage_url)}, "
          f"sampler {cfg.sampler.type}, tracking.child_runs {args.child_runs}; "
          f"load average {' '.join(load)}")
    print(f"trials: {report.counts}")
    print(f"trial loop: {t_loop:.0f} s ({len(trials) / span:.1f} trials/s between the first "
          f"start and the last completion)")
    print("median ms per trial by 1,000-trial window: " + ", ".join(f"{w:.0f}" for w in windows))
    print(f"report (OOS, DSR, PBO over {report.counts.get('done')} trials, plots, trials "
          f"table): {t_report:.0f} s; MLflow flush after it: {t_flush:.1f} s")
    print(f"end to end: {total:.0f} s = {total / 60:.1f} min "
          f"({args.trials / total:.1f} trials/s)")
    print(f"MLflow: {children} child runs (expected {min(args.child_runs, report.complete)}); "
          f"trials.csv: {rows} rows (finished trials in the study: {len(trials)})")
    print(f"best {report.best_value:.4f} at {report.best_params}; PBO "
          f"{report.pbo.pbo if report.pbo else None}; DSR {report.dsr.dsr if report.dsr else None}")
    return 0


def mlflow_children(study_name: str, strategy: str) -> int:
    from mlflow.tracking import MlflowClient

    from research_lab.core.tracking.config import resolve_target

    client = MlflowClient(resolve_target().uri)
    exp = client.get_experiment_by_name(f"Default.Equities.General.{strategy}")
    if exp is None:
        return 0
    runs = client.search_runs([exp.experiment_id], f"tags.study_name = '{study_name}' "
                              "and tags.kind = 'trial'", max_results=50_000)
    return len(runs)


if __name__ == "__main__":
    sys.exit(main())
