"""``research-lab demo ingest``: the demo universe on embedded defaults, ready for the UI."""

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
