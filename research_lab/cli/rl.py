"""``research-lab rl``: train a policy on a symbol's stored history, evaluate it.

::

    research-lab rl train ACME [--algorithm A2C] [--timesteps 20000] [--seed 1]
    research-lab rl evaluate ACME [--strategy sma_cross --params fast=10 slow=50]

Both read the symbol's bars from the market-data store (``research-lab data ingest`` first)
and ``config/rl.yaml`` (``--config`` or ``RESEARCH_LAB_RL_CONFIG`` for another file). The
policy lives in ``$RESEARCH_LAB_HOME/rl/<symbol>/`` unless ``--out`` says otherwise. Training
shows a progress bar; both print one summary line per result.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("rl", help="train and evaluate reinforcement-learning policies")
    rsub = p.add_subparsers(dest="rl_command", required=True, metavar="ACTION")

    tr = rsub.add_parser("train", help="train a policy on a symbol (PPO by default)")
    tr.add_argument("symbol")
    tr.add_argument("--algorithm", type=str.upper, choices=("PPO", "A2C", "DQN"),
                    help="default: the config's (PPO)")
    tr.add_argument("--timesteps", type=int, help="environment steps (default: the config's)")
    tr.add_argument("--seed", type=int, help="random seed (default: the config's)")
    tr.add_argument("--wall-clock", type=float, metavar="SECONDS",
                    help="guardrail: stop training after this many seconds")
    tr.add_argument("--config", help="RL YAML file (default: config/rl.yaml)")
    tr.add_argument("--out", help="policy folder (default: $RESEARCH_LAB_HOME/rl/<symbol>)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.set_defaults(func=cmd_train)

    ev = rsub.add_parser("evaluate", help="play a policy back on the test period and compare")
    ev.add_argument("symbol")
    ev.add_argument("--policy", help="policy.zip (default: $RESEARCH_LAB_HOME/rl/<symbol>/)")
    ev.add_argument("--strategy", help="strategy to compare with (default: the best of the "
                    "config's baseline grid on the training period)")
    ev.add_argument("--params", nargs="*", default=[], metavar="NAME=VALUE",
                    help="the strategy's parameters")
    ev.set_defaults(func=cmd_evaluate)


def _bars(symbol: str):
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    with BarStore.from_url(load_settings().resolved_store_url) as store:
        frames = store.read_many([symbol, "^GSPC", "^VIX"])
    by_symbol = {s: f.reset_index(drop=True) for s, f in frames.groupby("symbol")}
    if symbol not in by_symbol:
        raise ValueError(f"no bars for {symbol} in the store; run `research-lab data ingest "
                         f"--symbols {symbol} --start YYYY-MM-DD` first")
    return by_symbol


def _folder(symbol: str, out: str | None) -> Path:
    from research_lab.core.rl.train import policy_dir
    from research_lab.core.settings import load_settings

    return Path(out) if out else policy_dir(load_settings().home, symbol)


def cmd_train(args: argparse.Namespace) -> int:
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.rl.train import train_policy

    symbol = args.symbol.upper()
    guard = {"wall_clock_seconds": args.wall_clock} if args.wall_clock else None
    config = load_rl_config(args.config, algorithm=args.algorithm, timesteps=args.timesteps,
                            seed=args.seed, guardrails=guard)
    bars = _bars(symbol)[symbol]
    folder = _folder(symbol, args.out)
    print(f"rl train: {config.algorithm} on {symbol} ({len(bars)} bars), "
          f"{config.timesteps} steps, seed {config.seed} -> {folder}")
    bars_shown: list = []  # the progress bar, created at the first step (after set-up)

    def progress(done: int, total: int) -> None:
        if not bars_shown:
            from tqdm import tqdm

            bars_shown.append(tqdm(total=total, unit="step", dynamic_ncols=True))
        bar = bars_shown[0]
        bar.update(min(done, total) - bar.n)  # PPO/A2C may finish their last rollout

    try:
        out = train_policy(bars, config, out_dir=folder, symbol=symbol,
                           progress=None if args.no_progress else progress)
    finally:
        for bar in bars_shown:
            bar.close()
    s = out.splits
    print(f"{out.algorithm} {symbol}: {out.timesteps} steps in {out.training_seconds:.1f} s, "
          f"stopped: {out.stop_reason} ({out.stop_detail}); best validation "
          f"{out.validation_metric} {out.validation_score:.3f} at step {out.best_step}")
    print(f"train {s.train[0]}..{s.train[1]}, validation {s.validation[0]}..{s.validation[1]}, "
          f"test {s.test[0]}..{s.test[1]}")
    print(f"policy: {out.policy_path}")
    return 0


def _params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--params: {item!r} is not NAME=VALUE")
        out[name] = value
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from research_lab.core.backtest.market_context import load_market_context
    from research_lab.core.backtest.params import get_space
    from research_lab.core.rl.evaluate import evaluate_policy, write_evaluation
    from research_lab.core.rl.playback import policy_config
    from research_lab.core.rl.splits import make_splits
    from research_lab.core.rl.train import POLICY_FILE

    symbol = args.symbol.upper()
    policy = Path(args.policy) if args.policy else _folder(symbol, None) / POLICY_FILE
    if not policy.exists():
        raise ValueError(f"no policy at {policy}; run `research-lab rl train {symbol}` first")
    if args.params and not args.strategy:
        raise ValueError("--params needs --strategy")
    best = (args.strategy, get_space(args.strategy).resolve(_params(args.params))) \
        if args.strategy else None
    config = policy_config(policy)
    frames = _bars(symbol)
    bars = frames[symbol]
    splits = make_splits(bars["session"], config.splits, config.env.window)
    market = load_market_context(*splits.test, frames=frames)
    ev = evaluate_policy(policy, bars, config=config, splits=splits, best_strategy=best,
                         market=market)
    paths = write_evaluation(ev, policy.parent)
    c = ev.comparison

    def num(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{x:+.3f}"

    print(ev.playback.report.summary_line())
    print(ev.comparison_markdown())
    print(f"Sharpe delta vs buy-and-hold {num(c['sharpe_delta_vs_buy_and_hold'])}, vs "
          f"{ev.best_strategy.title()} {num(c['sharpe_delta_vs_best_strategy'])}; max drawdown "
          f"{c['max_drawdown']:+.2%} (limit -{c['max_drawdown_limit']:.0%}: "
          f"{'compliant' if c['drawdown_compliant'] else 'NOT compliant'}); episodes "
          f"{c['episode_length_mean']:.0f} ± {c['episode_length_std']:.1f} steps, min "
          f"completion {c['episode_completion_min']:.0%}")
    for note in ev.playback.report.notes:
        print(f"note: {note}")
    print(f"written: {paths['evaluation']}")
    return 0
