"""``research-lab data``: ingest market data through Dagster, list and show stored bars."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from research_lab.cli.common import iso_date, positive_int, run_failure, symbols_arg


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
    show.add_argument("--tail", type=positive_int, default=10, help="rows to print (default 10)")
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


def ingest(symbols: list[str], start: date, end: date, *, only_missing: bool = False,
           debug: bool = False) -> int:
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
    failed: list[str] = []
    codes: list[int] = []
    with dg.DagsterInstance.get() as instance:
        plan = [(s, start, end) for s in symbols]
        if only_missing:
            plan = [(s, a, b) for s in symbols for a, b in missing_ranges(wanted, _present(instance, s))]
        if not plan:
            print("nothing to ingest: every partition is already materialized", file=sys.stderr)
            return 0
        known = set(instance.get_dynamic_partitions("symbol"))
        for symbol, first, last in tqdm(plan, desc="ingest", unit="run", file=sys.stderr):
            result = materialize_range(
                instance, [symbol], first, last, raise_on_error=False,
                log_level="WARNING" if debug else "CRITICAL",
            )
            if not result.success:
                failed.append(symbol)
                if symbol not in known:  # a refused new symbol leaves no partition behind
                    instance.delete_dynamic_partition("symbol", symbol)
                code, line = run_failure(result) or (1, "see the run logs")
                codes.append(code)
                print(f"{symbol}: ingestion failed: {line}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 2 if all(c == 2 for c in codes) else 1
    return 0


def _check_served(symbols: list[str]) -> None:
    """Refuse, before any run is launched, symbols a listing source (synthetic, csv) lacks."""
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.settings import load_settings

    settings = load_settings()
    if settings.source_kind == "yfinance":  # serves symbols it does not list
        return
    offered = set(make_source(settings.source_kind, **settings.source_options()).symbols())
    missing = [s for s in symbols if s not in offered]
    if missing:
        raise ValueError(f"the {settings.source_kind} source has no symbol "
                         f"{', '.join(missing)}; it offers {', '.join(sorted(offered)) or 'none'}")


def cmd_ingest(args: argparse.Namespace) -> int:
    from research_lab.core.inputs import not_after

    symbols = symbols_arg(args.symbols)
    _check_served(symbols)
    last = last_completed_session()
    end = not_after(args.end or last, last, "--end")
    not_after(args.start, last, "--start")
    return ingest(symbols, args.start, end, only_missing=args.only_missing,
                  debug=getattr(args, "debug", False))


def cmd_symbols(args: argparse.Namespace) -> int:
    store = _store()
    for symbol in store.symbols():
        sessions = store.sessions(symbol)
        print(f"{symbol:10s} {len(sessions):6d} sessions  {sessions[0]} .. {sessions[-1]}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from research_lab.core.inputs import date_range, symbol

    name = symbol(args.symbol)
    date_range(args.start, args.end)
    bars = _store().read_bars(name, args.start, args.end)
    if bars.empty:
        raise ValueError(f"no bars stored for {name} in that range")
    print(bars.tail(args.tail).to_string(index=False))
    return 0
