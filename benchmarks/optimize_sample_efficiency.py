"""Sample efficiency of TPE against an exhaustive grid, on real data.

Space: ``config/param_spaces/sma_cross_grid1000.yaml`` (SMA crossover, fast 5..100 step 5 x
slow 105..350 step 5: 1,000 grid points, all feasible) on ORCL's in-sample period (the first
80 % of 1995-2014). Objective: the study's own trial value, the mean Sharpe ratio over 4
walk-forward folds.

* **grid**: all 1,000 points evaluated (the same function, no pruning): the best value, and
  the wall time;
* **TPE**: for each of 10 seeds, a study with the project's sampler settings (10 start-up
  trials, multivariate, seeded) and the project's median pruner (running mean of the folds),
  in memory and on the embedded journal file: the number of trials until a completed trial
  reaches 99 % of the grid's best (pruned trials count as trials); the median over seeds, and
  the wall time of that many trials; the same with Optuna's MedianPruner on single fold
  scores, and without a pruner.

Prints the figures and the ratios (user's targets: < 100 trials vs 1,000; study 10x faster
than the grid). The wall-time ratio depends on what one trial costs against Optuna's own work
per trial (~3-4 ms: TPE, pruner, storage):

* ``--engine fast`` (default): a grid point costs ~1 ms, less than Optuna's overhead, so a
  1,000-point grid takes about a second and the study cannot be 10x faster than that;
* ``--engine backtrader``: both the grid and the study score every fold with the reference
  engine (:class:`~research_lab.core.optimize.objective.Evaluator` with
  ``engine="backtrader"``: the same signal and broker, the same returns). That is the
  brute-force grid the user had, measured, not projected (~5 min for the grid, a few
  minutes for the study rows, which are limited to the project's own configuration unless
  ``--all-variants``). The fast grid runs too and the largest difference between the two
  engines' objective values is printed (expected: 0).

``--samplers``: one row per sampler type instead (``sampler.type``: tpe, random, grid, qmc,
cmaes, gp, nsga2, nsga3; ``--only gp,nsga2`` for some of them), each with the project's
sampler settings and median pruner (``--pruner none``: without; GP is never pruned, as in a
study: :data:`~research_lab.core.optimize.sampler.UNPRUNED_SAMPLERS`), in memory, on the
same single-objective study (NSGA-II and NSGA-III run single-objective here: Optuna's NSGA
samplers accept one objective; their first generation, ``population_size`` = 50 completed
trials, is random). Each seed's count and time go to stderr as it finishes (a GP seed of 400
trials takes minutes).

Usage: ``python benchmarks/optimize_sample_efficiency.py [--seeds 10] [--max-trials 400]
[--engine fast|backtrader] [--all-variants] [--samplers [--only KIND[,KIND]]
[--pruner median|none]]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimize_common import bench_config, orcl_bars  # noqa: E402

SPACE = Path(__file__).resolve().parents[1] / "config" / "param_spaces" / "sma_cross_grid1000.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--max-trials", type=int, default=400)
    ap.add_argument("--engine", choices=("fast", "backtrader"), default="fast")
    ap.add_argument("--samplers", action="store_true",
                    help="one row per sampler type (project pruner, in memory) instead")
    ap.add_argument("--only", metavar="KIND[,KIND]",
                    help="with --samplers, only these sampler types (e.g. gp,nsga2,nsga3)")
    ap.add_argument("--pruner", choices=("median", "none"), default="median",
                    help="with --samplers: the project's median pruner (default) or none")
    ap.add_argument("--all-variants", action="store_true",
                    help="with --engine backtrader, every pruner/storage row (slow)")
    args = ap.parse_args()
    from research_lab.core.optimize.config import SAMPLERS

    kinds = args.only.split(",") if args.only else list(SAMPLERS)
    unknown = sorted(set(kinds) - set(SAMPLERS))
    if unknown:
        print(f"--only {unknown[0]!r} is not one of {', '.join(SAMPLERS)}", file=sys.stderr)
        return 2
    os.environ["RESEARCH_LAB_HOME"] = tempfile.mkdtemp(prefix="optimize-eff-")
    import optuna

    from research_lab.core.optimize import StudyRequest, load_space
    from research_lab.core.optimize import storage as S
    from research_lab.core.optimize.config import PrunerSettings
    from research_lab.core.optimize.definition import ATTR
    from research_lab.core.optimize.objective import Evaluator
    from research_lab.core.optimize.runner import build_definition
    from research_lab.core.optimize.sampler import UNPRUNED_SAMPLERS, make_pruner, make_sampler
    from research_lab.core.optimize.walkforward import evaluate_folds
    from research_lab.core.optimize.worker import make_objective

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    bars = orcl_bars()
    space = load_space(SPACE)
    cfg = bench_config(workers=1)
    defn = build_definition(StudyRequest("sma_cross", "ORCL", bars, space, "eff", config=cfg))
    engine = args.engine

    def evaluator_for(prices, kind=None):
        return Evaluator(prices, "sma_cross", defn.broker, engine=kind or engine)

    evaluator = evaluator_for(defn.plan.in_sample(bars))
    score = defn.objective.scorer()
    grid = space.grid()

    def run_grid(kind: str) -> tuple[list[float], float]:
        evaluate_folds(evaluator_for(evaluator.prices, kind), grid[0], defn.plan, score)  # warm
        t0 = time.perf_counter()
        out = [sum(f[0] for f in evaluate_folds(evaluator_for(evaluator.prices, kind), p,
                                                defn.plan, score)) / len(defn.plan.folds)
               for p in grid]
        return out, time.perf_counter() - t0

    values, grid_s = run_grid(engine)
    best = max(values)
    target = 0.99 * best if best > 0 else best * 1.01
    print(f"grid ({engine} engine): {len(grid)} points in {grid_s:.2f} s "
          f"({grid_s / len(grid) * 1000:.2f} ms each, fresh indicator cache per point); best mean "
          f"fold Sharpe {best:.4f} at {grid[values.index(best)]}; target (99 %) {target:.4f}")
    if engine != "fast":
        fast_values, fast_s = run_grid("fast")
        diff = max(abs(a - b) for a, b in zip(values, fast_values))
        print(f"cross-check: the fast grid takes {fast_s:.2f} s; largest difference between "
              f"the engines' objective values over the {len(grid)} points: {diff:.2e}")

    def trials_to_target(seed: int, pruner, storage, sampler=None) -> tuple[int | None, float]:
        study = optuna.create_study(direction="maximize", storage=storage,
                                    sampler=make_sampler(sampler or defn.sampler, seed=seed,
                                                         space=space),
                                    pruner=pruner, study_name=f"s{seed}-{time.time_ns()}")
        study.set_user_attr(ATTR, defn.to_dict())
        objective = make_objective(defn, evaluator_for(evaluator.prices), "bench")
        hit: list[int] = []

        def stop(study, trial):
            # a pruned trial carries its last fold's score as value: only completed ones count
            if trial.state.name == "COMPLETE" and trial.values[0] >= target:
                hit.append(trial.number + 1)
                study.stop()

        t = time.perf_counter()
        study.optimize(objective, n_trials=args.max_trials, callbacks=[stop])
        return (hit[0] if hit else None), time.perf_counter() - t

    variants = [
        ("TPE + median pruner (running mean), journal file", cfg.pruner, "journal", None),
        ("TPE + median pruner (running mean), in memory", cfg.pruner, None, None),
        ("TPE + Optuna's MedianPruner (fold score), in memory",
         PrunerSettings(type="optuna_median", n_warmup_steps=cfg.pruner.n_warmup_steps), None,
         None),
        ("TPE, no pruner, in memory", PrunerSettings(type="none"), None, None),
    ]
    if args.samplers:
        pruned = args.pruner == "median"
        variants = [(f"{kind} + " + ("median pruner (running mean)"
                                     if pruned and kind not in UNPRUNED_SAMPLERS else
                                     "no pruner")
                     + ", in memory", cfg.pruner if pruned else PrunerSettings(type="none"),
                     None, defn.sampler.model_copy(update={"type": kind})) for kind in kinds]
    if engine != "fast" and not args.all_variants:
        variants = variants[:1]
    for label, pruner_cfg, storage, sampler in variants:
        counts, times = [], []
        for seed in range(args.seeds):
            st = S.open_storage(S.resolve_storage_url(None)) if storage else None
            pruner = make_pruner(pruner_cfg, sampler=(sampler or defn.sampler).type)
            n, secs = trials_to_target(seed, pruner, st, sampler)
            counts.append(n if n is not None else args.max_trials * 10)
            times.append(secs)
            print(f"  {label}: seed {seed}: {n if n is not None else 'not reached'} trials, "
                  f"{secs:.1f} s", file=sys.stderr, flush=True)
        med = statistics.median(counts)
        reached = sum(c <= args.max_trials for c in counts)
        med_s = statistics.median(times)
        print(f"{label}, {engine} engine: median {med:.0f} trials to 99 % of the grid's best "
              f"(reached by {reached}/{args.seeds} seeds within {args.max_trials}; "
              f"per seed {sorted(counts)}); median {med_s:.2f} s -> grid / study wall time "
              f"{grid_s / med_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
