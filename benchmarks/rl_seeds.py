"""How long the RL seed study takes, and what it says, on the demo data (synthetic ACME,
seed 42, 2023-01-03..2024-12-31: the demo's two years).

    ./scripts/lab shell python benchmarks/rl_seeds.py [--seeds 5] [--folds 3]
        [--timesteps 10000] [--reps 50000]

Runs :func:`research_lab.core.rl.seeds.run_seeds` with ``config/rl.yaml`` (PPO, its
hyperparameters and early stopping, 1 torch thread) and the given statistics settings, then
prints: the wall clock and CPU time of the whole study, per policy and per 1,000 training
steps; the bootstrap's own time (``--reps`` resamples of the IQM and both probabilities of
improvement); the IQM with its interval and the probabilities of beating buy-and-hold and
the best sma_cross. The load average is printed with the figures: on a shared 2-core machine
they are orders of magnitude.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time


def main() -> None:
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.rl.seeds import run_seeds
    from research_lab.core.rl.statistics import summarize

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--timesteps", type=int, default=10_000, help="per seed and fold")
    p.add_argument("--reps", type=int, default=50_000, help="bootstrap resamples")
    p.add_argument("--start", default="2023-01-03")
    p.add_argument("--end", default="2024-12-31")
    a = p.parse_args()

    start, end = dt.date.fromisoformat(a.start), dt.date.fromisoformat(a.end)
    bars = SyntheticSource(seed=42, end=end + dt.timedelta(days=7)).fetch("ACME", start, end)
    config = load_rl_config(statistics={"seeds": a.seeds, "folds": a.folds,
                                        "timesteps": a.timesteps, "bootstrap_reps": a.reps})
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print(f"{len(bars)} bars of ACME {bars['session'].iloc[0].date()}.."
          f"{bars['session'].iloc[-1].date()}; {a.seeds} seeds x {a.folds} folds x "
          f"{a.timesteps} steps, {a.reps} bootstrap resamples")
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        study = run_seeds(bars, config, out_dir=tmp, symbol="ACME")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(study.runs)
    steps = sum(r.timesteps for r in study.runs)
    t0 = time.perf_counter()
    summarize(study.scores(), {k: [v] for k, v in study.baselines.items()}, reps=a.reps,
              seed=config.statistics.bootstrap_seed)
    boot = time.perf_counter() - t0
    print(f"study: {wall:.1f} s wall clock, {cpu:.1f} s CPU; {wall / n:.2f} s per policy; "
          f"{wall / steps * 1000:.3f} s per 1,000 steps ({steps} steps run; early stopping "
          f"and rollouts decide the exact count)")
    print(f"bootstrap (IQM + 2 probabilities of improvement, {a.reps} resamples): {boot:.2f} s")
    for k, f in enumerate(study.folds):
        print(f"fold {k}: test {f.test[0]}..{f.test[1]}; policy "
              f"{', '.join(f'{s:+.3f}' for s in study.scores()[:, k])}; buy-and-hold "
              f"{study.baselines['buy_and_hold'][k]:+.3f}; best sma_cross "
              f"{study.best_params[k]} {study.baselines['best_strategy'][k]:+.3f}")
    print(study.headline())
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
