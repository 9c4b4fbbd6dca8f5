"""``research-lab data``: ingest market data through Dagster, list and show stored bars."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from research_lab.cli.common import iso_date, symbols_arg


def register(sub) -> None:
    p = sub.add_parser("data", help="ingest and inspect market data")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    ing = dsub.add_parser(
        "ingest",
        help="materialize market_data for symbols × sessions (one Dagster run per symbol)",
    )
    ing.add_argument("--symbols", nargs="+", required=True, help="symbols (space or comma separated)")
    ing.add_argument("--start", type=iso_date, required=True, help="first session, YYYY-MM-DD")
    ing.add_argument("--end", type=iso_date, help="last session (default: last completed session)")
    ing.add_argument("--only-missing", action="store_true",
                     help="skip partitions the store already has")
    ing.set_defaults(func=cmd_ingest)

    sym = dsub.add_parser("symbols", help="list the symbols in the store")
    sym.set_defaults(func=cmd_symbols)

    show = dsub.add_parser("show", help="print a symbol's stored bars")
    show.add_argument("symbol")
    show.add_argument("--start", type=iso_date)
    show.add_argument("--end", type=iso_date)
    show.add_argument("--tail", type=int, default=10, help="rows to print (default 10)")
    show.set_defaults(func=cmd_show)


def _store():
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    return BarStore.from_url(load_settings().resolved_store_url)


def last_completed_session() -> date:
    import pandas as pd

    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.settings import load_settings

    day = TradingCalendar(load_settings().calendar).last_completed_session(pd.Timestamp.now(tz="UTC"))
    if day is None:
        raise ValueError("the exchange calendar has no completed session yet")
    return day


def _present(instance, symbol: str) -> set[date]:
    """Sessions of ``symbol`` that both the store and the Dagster instance have."""
    import dagster as dg

    from research_lab.defs.partitions import split_market_key

    store = _store()
    try:
        stored = set(store.sessions(symbol))
    finally:
        store.close()
    materialized = {
        day
        for sym, day in map(
            split_market_key, instance.get_materialized_partitions(dg.AssetKey("market_data"))
        )
        if sym == symbol
    }
    return stored & materialized


def ingest(symbols: list[str], start: date, end: date, *, only_missing: bool = False) -> int:
    """Materialize symbols × [start, end] on the current Dagster instance with a progress bar.

    One run per symbol (per gap with ``only_missing``, which skips partitions the store has).
    """
    import dagster as dg
    from tqdm import tqdm

    from research_lab.core.marketdata.planning import missing_ranges, weekdays
    from research_lab.defs.marketdata.backfill import materialize_range
    from research_lab.defs.partitions import SESSION_START

    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    if start < date.fromisoformat(SESSION_START):
        raise ValueError(f"--start {start} is before the first session partition {SESSION_START}")
    wanted = weekdays(start, end)
    failed = []
    with dg.DagsterInstance.get() as instance:
        plan = [(s, start, end) for s in symbols]
        if only_missing:
            plan = [(s, a, b) for s in symbols for a, b in missing_ranges(wanted, _present(instance, s))]
        if not plan:
            print("nothing to ingest: every partition is already materialized", file=sys.stderr)
            return 0
        for symbol, first, last in tqdm(plan, desc="ingest", unit="run", file=sys.stderr):
            result = materialize_range(
                instance, [symbol], first, last, raise_on_error=False, log_level="WARNING"
            )
            if not result.success:
                failed.append(symbol)
                errors = [
                    e.event_specific_data.error.message.strip()
                    for e in result.all_events
                    if e.is_step_failure and e.event_specific_data is not None
                ]
                print(f"{symbol}: ingestion failed: {errors[0] if errors else 'see the run logs'}",
                      file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    end = args.end or last_completed_session()
    return ingest(symbols_arg(args.symbols), args.start, end, only_missing=args.only_missing)


def cmd_symbols(args: argparse.Namespace) -> int:
    store = _store()
    for symbol in store.symbols():
        sessions = store.sessions(symbol)
        print(f"{symbol:10s} {len(sessions):6d} sessions  {sessions[0]} .. {sessions[-1]}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    bars = _store().read_bars(args.symbol.upper(), args.start, args.end)
    if bars.empty:
        raise ValueError(f"no bars stored for {args.symbol.upper()} in that range")
    print(bars.tail(args.tail).to_string(index=False))
    return 0
