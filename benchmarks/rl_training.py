"""RL training speed and evaluation figures on the demo data (synthetic ACME, seed 42).

    ./scripts/lab shell python benchmarks/rl_training.py [--steps 10000] [--threads 1]
        [--algorithm PPO] [--years 2] [--end 2024-12-31] [--compare-threads]

Trains with ``config/rl.yaml`` (PPO, its hyperparameters, early stopping disabled so that the
full step count runs) and prints: seconds per 10K steps, the environment's own cost per step
(random actions) and the policy's per-step inference cost, then the evaluation on the test
period: the policy's Sharpe, buy-and-hold's and the best sma_cross's, the deltas, the max
drawdown against its limit, and episode length stability. ``--compare-threads`` trains again
with 2 torch threads and prints the ratio (on a busy 2-core machine, 2 threads is much slower).
Figures depend on the machine and its load: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time


def _bars(symbol: str, start: dt.date, end: dt.date):
    from research_lab.core.marketdata.sources import SyntheticSource

    return SyntheticSource(seed=42, end=end + dt.timedelta(days=7)).fetch(symbol, start, end)


def env_step_cost(bars, config) -> float:
    from research_lab.core.rl.splits import make_splits, period_env

    splits = make_splits(bars["session"], config.splits, config.env.window)
    env = period_env(bars, splits, "train", config, random_start=False)
    env.action_space.seed(0)
    env.reset(seed=0)
    env.step(0)  # loads the compiled broker loop (numba cache) once
    env.reset(seed=0)
    n, t0 = 0, time.perf_counter()
    done = False
    while not done:
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
        n += 1
    return (time.perf_counter() - t0) / n


def train_once(bars, config, out: str):
    from research_lab.core.rl.train import train_policy

    return train_policy(bars, config, out_dir=out, symbol="ACME")


def main() -> None:
    from research_lab.core.backtest.market_context import MarketContext
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.rl.evaluate import evaluate_policy
    from research_lab.core.rl.playback import load_policy, rollout
    from research_lab.core.rl.splits import period_env

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--algorithm", default="PPO")
    p.add_argument("--years", type=float, default=2.0, help="history (the demo's default: 2)")
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2024, 12, 31))
    p.add_argument("--compare-threads", action="store_true")
    args = p.parse_args()

    start = args.end - dt.timedelta(days=int(365.25 * args.years))
    t0 = time.perf_counter()
    bars = _bars("ACME", start, args.end)
    ctx_start = start - dt.timedelta(days=420)
    market = MarketContext.from_frames(_bars("^GSPC", ctx_start, args.end),
                                       _bars("^VIX", ctx_start, args.end))
    config = load_rl_config(
        algorithm=args.algorithm, timesteps=args.steps,
        guardrails={"torch_threads": args.threads},
        early_stopping={"patience": 10**6},  # run every step: this measures speed
    )
    print(f"data: synthetic ACME (seed 42) {bars['session'].iloc[0].date()}.."
          f"{bars['session'].iloc[-1].date()}, {len(bars)} bars ({time.perf_counter() - t0:.1f} s)")
    print(f"env step (random actions, incl. the broker loop): "
          f"{env_step_cost(bars, config) * 1e6:.0f} us")

    with tempfile.TemporaryDirectory() as out:
        trained = train_once(bars, config, out)
        per_10k = trained.training_seconds / trained.timesteps * 10_000
        cpu_10k = trained.cpu_seconds / trained.timesteps * 10_000
        print(f"{config.algorithm}, {args.threads} torch thread(s): {trained.timesteps} steps in "
              f"{trained.training_seconds:.1f} s -> {per_10k:.1f} s per 10K steps wall clock, "
              f"{cpu_10k:.1f} s CPU (incl. {len(trained.evaluations)} validation runs; the wall "
              f"clock grows with the machine's load, the CPU time much less); stop: "
              f"{trained.stop_reason}; peak RSS {trained.peak_rss_mb:.0f} MB")
        if args.compare_threads:
            two = train_once(bars, config.replace(guardrails={"torch_threads": 2}), out + "/2")
            two_10k = two.training_seconds / two.timesteps * 10_000
            print(f"  2 torch threads: {two_10k:.1f} s per 10K steps wall clock "
                  f"({two_10k / per_10k:.2f}x the 1-thread time), "
                  f"{two.cpu_seconds / two.timesteps * 10_000:.1f} s CPU")
        model = load_policy(trained.policy_path)
        test_env = period_env(bars, trained.splits, "test", config, random_start=False)
        t1 = time.perf_counter()
        played = rollout(model, test_env)
        print(f"deterministic playback: {(time.perf_counter() - t1) / played.steps * 1e6:.0f} "
              f"us per step (predict + env), {played.steps} steps")
        t2 = time.perf_counter()
        ev = evaluate_policy(trained.policy_path, bars, market=market)
        print(f"evaluation (playback + 2 baselines + {len(ev.episodes)} episodes + reports): "
              f"{time.perf_counter() - t2:.1f} s")

    c, s = ev.comparison, trained.splits
    print(f"splits: train {s.train[0]}..{s.train[1]}, validation {s.validation[0]}.."
          f"{s.validation[1]}, test {s.test[0]}..{s.test[1]}")
    print(f"best validation {trained.validation_metric}: {trained.validation_score:.3f} at step "
          f"{trained.best_step}")
    print(ev.comparison_markdown())
    print(f"Sharpe: policy {c['sharpe']:.3f}, buy-and-hold {c['sharpe_buy_and_hold']:.3f} "
          f"(delta {c['sharpe_delta_vs_buy_and_hold']:+.3f}), {ev.best_strategy.title()} "
          f"{c['sharpe_best_strategy']:.3f} (delta {c['sharpe_delta_vs_best_strategy']:+.3f})")
    print(f"max drawdown {c['max_drawdown']:+.2%} vs limit -{c['max_drawdown_limit']:.0%}: "
          f"{'compliant' if c['drawdown_compliant'] else 'NOT compliant'}")
    print(f"episodes: {len(ev.episodes)} x {c['episode_length_mean']:.0f} steps "
          f"(std {c['episode_length_std']:.1f}, min completion {c['episode_completion_min']:.0%}),"
          f" return std {c['episode_return_std']:.3f}")
    print(ev.regime_markdown())


if __name__ == "__main__":
    main()
