"""``research-lab demo``: ``ingest`` the demo universe; ``run`` the whole research loop
(market data, anomaly scores and report, backtests, a study, a policy and its evaluation) on
embedded defaults, through Dagster (see ``cli/demo_run.py``)."""

from __future__ import annotations

import argparse
from datetime import timedelta


def register(sub) -> None:
    p = sub.add_parser("demo", help="set up the demo (used by ./scripts/lab demo)")
    dsub = p.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    ing = dsub.add_parser("ingest", help="ingest the configured universe for the last N years")
    ing.add_argument("--years", type=float, default=None,
                     help="history to ingest (default: ingest.history_years in the config)")
    ing.set_defaults(func=cmd_ingest)
    _register_run(dsub)


def cmd_ingest(args: argparse.Namespace) -> int:
    from research_lab.cli.data import ingest, last_completed_session
    from research_lab.core.marketdata.planning import last_weekday_on_or_before
    from research_lab.core.settings import load_settings, mask_url

    settings = load_settings()
    years = settings.history_years if args.years is None else args.years
    if not 0 < years < float("inf"):  # nan fails both comparisons
        raise ValueError(f"--years must be positive, got {years}")
    end = last_completed_session()
    start = last_weekday_on_or_before(end - timedelta(days=int(365 * years)))
    print(f"demo: {', '.join(settings.universe)} from {start} to {end} "
          f"({settings.source_kind} source, store {mask_url(settings.resolved_store_url)})")
    return ingest(list(settings.universe), start, end, only_missing=True)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _register_run(dsub) -> None:
    from research_lab.cli import demo_run as d

    run = dsub.add_parser("run", help="run the whole research loop on embedded defaults "
                          "(what ./scripts/lab demo runs before serving the UIs)")
    run.add_argument("--years", type=float, default=None,
                     help=f"history to ingest (default {d.DEMO_YEARS:g})")
    run.add_argument("--symbols", nargs="+", default=list(d.DEMO_SYMBOLS),
                     help=f"symbols backtested with every strategy (default: "
                     f"{' '.join(d.DEMO_SYMBOLS)}); the first also gets the study and the policy")
    run.add_argument("--strategies", nargs="+", default=None,
                     help="strategies to backtest (default: every strategy of the library)")
    run.add_argument("--study-strategy", default=d.STUDY_STRATEGY,
                     help=f"strategy of the study (default {d.STUDY_STRATEGY})")
    run.add_argument("--trials", type=_positive_int, default=d.STUDY_TRIALS,
                     help=f"trials of the study (default {d.STUDY_TRIALS})")
    run.add_argument("--timesteps", type=_positive_int, default=d.RL_TIMESTEPS,
                     help=f"training steps of the policy (default {d.RL_TIMESTEPS})")
    run.add_argument("--tearsheet", action="store_true",
                     help="also write the quantstats tearsheet of each backtest (~3 s each)")
    run.add_argument("--no-instigators", action="store_true",
                     help="leave the nightly schedule and the market-data sensor off")
    run.add_argument("--full-bookkeeping", action="store_true",
                     help="keep Dagster's defaults on the instance: synchronous SQLite commits "
                     "and one planned event per partition (slower; by default the demo takes "
                     "both shortcuts: see README, Quick start)")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from research_lab.cli import demo_run as d
    from research_lab.cli.common import symbols_arg

    symbols = tuple(symbols_arg(args.symbols))
    if args.years is not None and args.years <= 0:
        raise ValueError(f"--years must be positive, got {args.years}")
    plan = d.DemoPlan(symbols=symbols, study_symbol=symbols[0], rl_symbol=symbols[0],
                      study_strategy=args.study_strategy, trials=args.trials,
                      timesteps=args.timesteps, tearsheet=args.tearsheet,
                      strategies=tuple(args.strategies or ()))
    workspace = str(Path(__file__).resolve().parents[2] / "workspace.yaml")
    return d.run_demo(plan, years=args.years, workspace=workspace,
                      instigators=not args.no_instigators, full_bookkeeping=args.full_bookkeeping)
