"""Pruners compared on the same studies: the project's walk-forward median pruner, Optuna's
``WilcoxonPruner`` and no pruner.

Space: ``config/param_spaces/sma_cross_grid1000.yaml`` (SMA crossover, 1,000 grid points) on
ORCL's in-sample period (the first 80 % of 1995-2014); the objective is the study's own: the
mean Sharpe ratio over ``--folds`` walk-forward folds. For each pruner and each of ``--seeds``
seeds, one TPE study (the project's sampler settings, in memory, one worker) runs
``--trials`` trials. Printed per pruner, median over seeds:

* trials completed (not pruned);
* fold evaluations (backtests of one fold: the work the pruner saves);
* the best value found (mean fold Sharpe of the best completed trial);
* wall time of the study.

The better pruner is the one that keeps the best value of the unpruned study with the fewest
fold evaluations. Usage: ``python benchmarks/optimize_pruners.py [--seeds 5] [--trials 100]
[--folds 4]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimize_common import bench_config, orcl_bars  # noqa: E402

SPACE = Path(__file__).resolve().parents[1] / "config" / "param_spaces" / "sma_cross_grid1000.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--folds", type=int, default=4)
    args = ap.parse_args()
    import optuna

    from research_lab.core.optimize import StudyRequest, load_space
    from research_lab.core.optimize.config import PrunerSettings
    from research_lab.core.optimize.definition import ATTR
    from research_lab.core.optimize.objective import Evaluator
    from research_lab.core.optimize.runner import build_definition
    from research_lab.core.optimize.sampler import make_pruner, make_sampler
    from research_lab.core.optimize.worker import make_objective

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    bars = orcl_bars()
    cfg = bench_config(workers=1).override("walkforward", folds=args.folds)
    defn = build_definition(StudyRequest("sma_cross", "ORCL", bars, load_space(SPACE), "prune",
                                         config=cfg))
    prices = defn.plan.in_sample(bars)
    project = cfg.pruner
    pruners = [
        ("median (project default)", project),
        ("wilcoxon", project.model_copy(update={"type": "wilcoxon"})),
        ("none", PrunerSettings(type="none")),
    ]
    print(f"ORCL in-sample {defn.plan.describe()}; {args.seeds} seeds x {args.trials} TPE "
          f"trials per pruner")
    for label, settings in pruners:
        rows = []
        for seed in range(args.seeds):
            study = optuna.create_study(direction="maximize",
                                        sampler=make_sampler(defn.sampler, seed=seed),
                                        pruner=make_pruner(settings))
            study.set_user_attr(ATTR, defn.to_dict())
            objective = make_objective(defn, Evaluator(prices, "sma_cross", defn.broker), "b")
            t0 = time.perf_counter()
            study.optimize(objective, n_trials=args.trials)
            secs = time.perf_counter() - t0
            trials = study.get_trials(deepcopy=False)
            done = [t for t in trials if t.state.name == "COMPLETE"]
            folds = sum(len(t.intermediate_values) for t in trials
                        if t.user_attrs.get("reused_from") is None)
            rows.append((len(done), folds, max(t.value for t in done), secs))
        med = [statistics.median(r[i] for r in rows) for i in range(4)]
        print(f"{label:26s} completed {med[0]:5.0f}  fold evaluations {med[1]:5.0f}  "
              f"best {med[2]:.4f}  time {med[3]:.2f} s   (per seed best: "
              f"{' '.join(f'{r[2]:.4f}' for r in rows)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
