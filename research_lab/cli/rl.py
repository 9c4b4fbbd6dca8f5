"""``research-lab rl``: train a policy on a symbol's stored history, evaluate it.

::

    research-lab rl train ACME [--algorithm A2C] [--timesteps 20000] [--seed 1]
                               [--seeds 5 --folds 3 --seed-timesteps 10000 | --no-statistics]
    research-lab rl evaluate ACME [--strategy sma_cross --params fast=10 slow=50]
                                  [--seeds N --folds K --seed-timesteps T | --no-statistics]
                                  [--allow-truncated]

Both call the use cases of the ``rl_policy`` / ``rl_evaluation`` assets
(:func:`research_lab.core.usecases.train_policy` / :func:`~research_lab.core.usecases.
evaluate_policy`): a symbol with open critical anomalies is refused (exit 2, one line naming
the symbol, the session and ``research-lab quality ack``; nothing written); the bars come from
the market-data store (``research-lab data ingest`` first), the settings from
``config/rl.yaml`` (``--config`` or ``RESEARCH_LAB_RL_CONFIG`` for another file) and the broker
from ``config/research_lab.yaml``. The policy lives in ``$RESEARCH_LAB_HOME/rl/<symbol>/``
unless ``--out`` says otherwise. Training shows a progress bar. The evaluation compares the
policy with buy-and-hold and with the strategy baseline (the best parameters of the newest
study of the symbol whose data end by the test start; if every study reaches into the test,
the grid fitted on the training period; with no study, the strategy's defaults) and prints the
Sharpe deltas and the baseline's source; then (unless
``--no-statistics``) it trains and scores ``--seeds`` x ``--folds`` policies over walk-forward
folds and prints their interquartile mean with its bootstrap confidence interval and the
probability of beating each baseline (``seeds.json``, ``seeds.png``). The statistics flags of
``rl train`` are recorded in the policy's ``policy.json`` (what ``rl evaluate`` uses unless
its own flags say otherwise).

Exit codes beyond the usual ones: ``rl train`` exits 3 when a guardrail (``max_timesteps``,
wall clock, memory) cut the training short (the policy is saved, marked ``truncated``);
``rl evaluate`` refuses a truncated policy (exit 2, nothing written) unless
``--allow-truncated``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

TRUNCATED_EXIT = 3  # rl train: a guardrail cut the training short (policy marked truncated)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def _statistics_flags(p) -> None:
    g = p.add_argument_group("statistics over seeds (config/rl.yaml `statistics:`)")
    g.add_argument("--seeds", type=_positive, help="training seeds (default: the config's, 5)")
    g.add_argument("--folds", type=_positive, help="walk-forward folds (default: 3)")
    g.add_argument("--seed-timesteps", type=_positive, metavar="STEPS",
                   help="training steps of each seed and fold (default: 10000)")
    g.add_argument("--no-statistics", action="store_true",
                   help="no seed study (statistics.enabled: false)")


def statistics_overrides(args: argparse.Namespace) -> dict | None:
    """The ``statistics`` section overrides the flags give (None: none given)."""
    out = {k: v for k, v in {"seeds": args.seeds, "folds": args.folds,
                             "timesteps": args.seed_timesteps}.items() if v is not None}
    if args.no_statistics:
        if out:
            raise ValueError("--no-statistics with --seeds/--folds/--seed-timesteps: "
                             "choose one")
        out["enabled"] = False
    return out or None


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
    _statistics_flags(tr)
    tr.set_defaults(func=cmd_train)

    ev = rsub.add_parser("evaluate", help="play a policy back on the test period and compare")
    ev.add_argument("symbol")
    ev.add_argument("--policy", help="policy.zip (default: $RESEARCH_LAB_HOME/rl/<symbol>/)")
    ev.add_argument("--strategy", help="strategy to compare with (default: the config's "
                    "evaluation.baseline_strategy with the best parameters of the newest study of "
                    "the symbol ending by the test start, else the training-period grid, else "
                    "its defaults)")
    ev.add_argument("--params", nargs="*", default=[], metavar="NAME=VALUE",
                    help="the strategy's parameters")
    ev.add_argument("--allow-truncated", action="store_true",
                    help="evaluate a policy whose training a guardrail cut short")
    _statistics_flags(ev)
    ev.set_defaults(func=cmd_evaluate)


def _store():
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    url = load_settings().resolved_store_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise ValueError(f"no market-data store at {url}; run `research-lab data ingest` first")
    return BarStore.from_url(url)


def _folder(symbol: str, out: str | None) -> Path:
    from research_lab.core.rl.train import policy_dir
    from research_lab.core.settings import load_settings

    return Path(out) if out else policy_dir(load_settings().home, symbol)


def cmd_train(args: argparse.Namespace) -> int:
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.usecases import train_policy

    symbol = args.symbol.upper()
    guard = {"wall_clock_seconds": args.wall_clock} if args.wall_clock else None
    config = load_rl_config(args.config, algorithm=args.algorithm, timesteps=args.timesteps,
                            seed=args.seed, guardrails=guard,
                            statistics=statistics_overrides(args))
    folder = _folder(symbol, args.out)
    bars_shown: list = []  # the progress bar, created at the first step (after set-up)

    def progress(done: int, total: int) -> None:
        if not bars_shown:
            from tqdm import tqdm

            bars_shown.append(tqdm(total=total, unit="step", dynamic_ncols=True))
        bar = bars_shown[0]
        bar.update(min(done, total) - bar.n)  # PPO/A2C may finish their last rollout

    with _store() as store:
        try:
            run = train_policy(store, symbol, config, out_dir=folder,
                               progress=None if args.no_progress else progress)
        finally:
            for bar in bars_shown:
                bar.close()
    out, s = run.result, run.result.splits
    print(f"{out.algorithm} {symbol}: {out.timesteps} steps (seed {config.seed}) on "
          f"{run.bars} bars in {out.training_seconds:.1f} s, stopped: {out.stop_reason} "
          f"({out.stop_detail}); best validation {out.validation_metric} "
          f"{out.validation_score:.3f} at step {out.best_step}")
    print(f"train {s.train[0]}..{s.train[1]}, validation {s.validation[0]}..{s.validation[1]}, "
          f"test {s.test[0]}..{s.test[1]}")
    print(f"policy: {out.policy_path}")
    if out.truncated:
        print(f"truncated: a guardrail stopped the training ({out.stop_reason}); the policy is "
              "marked truncated and `rl evaluate` refuses it unless --allow-truncated",
              file=sys.stderr)
        return TRUNCATED_EXIT
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
    from research_lab.core.rl.train import POLICY_FILE
    from research_lab.core.settings import load_settings
    from research_lab.core.usecases import evaluate_policy

    symbol = args.symbol.upper()
    policy = Path(args.policy) if args.policy else _folder(symbol, None) / POLICY_FILE
    if args.params and not args.strategy:
        raise ValueError("--params needs --strategy")
    overrides = statistics_overrides(args)

    def progress(done: int, total: int, line: str) -> None:
        print(f"seed study {done}/{total}: {line}", file=sys.stderr, flush=True)

    with _store() as store:
        run = evaluate_policy(store, symbol, policy=policy, home=load_settings().home,
                              strategy=args.strategy,
                              params=_params(args.params) if args.strategy else None,
                              statistics=overrides, allow_truncated=args.allow_truncated,
                              progress=progress)
    ev, c = run.evaluation, run.evaluation.comparison

    def num(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{x:+.3f}"

    print(ev.playback.report.summary_line())
    print(ev.comparison_markdown())
    print(f"baseline: {run.baseline['strategy']} {run.baseline['params']} "
          f"({run.baseline['source']})")
    print(f"Sharpe {num(c['sharpe'])}; Sharpe delta vs buy-and-hold "
          f"{num(c['sharpe_delta_vs_buy_and_hold'])}, vs {ev.best_strategy.title()} "
          f"{num(c['sharpe_delta_vs_best_strategy'])}; max drawdown "
          f"{c['max_drawdown']:+.2%} (limit -{c['max_drawdown_limit']:.0%}: "
          f"{'compliant' if c['drawdown_compliant'] else 'NOT compliant'}); episodes "
          f"{c['episode_length_mean']:.0f} ± {c['episode_length_std']:.1f} steps, min "
          f"completion {c['episode_completion_min']:.0%}")
    for note in ev.playback.report.notes:
        print(f"note: {note}")
    if run.truncated:
        print(f"note: the policy is truncated ({run.truncated}); evaluated as asked")
    written = [run.files["evaluation"]]
    if run.seeds is not None:
        print(run.seeds.headline())
        if run.seeds.truncated_runs:
            print(f"note: {run.seeds.truncated_runs} seed run(s) stopped by a guardrail")
        written += [run.files["seeds"], run.files["seeds_plot"]]
    print(f"written: {', '.join(map(str, written))}")
    return 0
