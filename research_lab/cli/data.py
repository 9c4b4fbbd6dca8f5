"""``research-lab data``: ingest market data through Dagster, list and show stored bars, list
quarantined rows, remove a symbol."""

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
        help="materialize market_data for symbols × sessions (one Dagster run for all symbols)",
    )
    ing.add_argument("--symbols", nargs="+", required=True, help="symbols (space or comma separated)")
    ing.add_argument("--start", type=iso_date, required=True, help="first session, YYYY-MM-DD")
    ing.add_argument("--end", type=iso_date, help="last session (default: last completed session)")
    ing.add_argument("--only-missing", action="store_true",
                     help="skip sessions the store already has (and whose year partition "
                     "is materialized)")
    ing.set_defaults(func=cmd_ingest)

    sym = dsub.add_parser("symbols", help="list the symbols in the store")
    sym.set_defaults(func=cmd_symbols)

    show = dsub.add_parser("show", help="print a symbol's stored bars")
    show.add_argument("symbol")
    show.add_argument("--start", type=iso_date)
    show.add_argument("--end", type=iso_date)
    show.add_argument("--tail", type=positive_int, default=10, help="rows to print (default 10)")
    show.set_defaults(func=cmd_show)

    quar = dsub.add_parser("quarantine", help="list source rows set aside as invalid, with why")
    quar.add_argument("symbol", nargs="?", help="only this symbol")
    quar.set_defaults(func=cmd_quarantine)

    rm = dsub.add_parser("remove", help="remove a symbol from the Dagster symbol partitions")
    rm.add_argument("symbol")
    rm.add_argument("--purge", action="store_true",
                    help="also delete its stored bars, anomaly scores and quarantined rows")
    rm.set_defaults(func=cmd_remove)


def _store():
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    return BarStore.from_url(load_settings().resolved_store_url)


def last_completed_session() -> date:
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.ingest import utc_now
    from research_lab.core.settings import load_settings

    day = TradingCalendar(load_settings().calendar).last_completed_session(utc_now())
    if day is None:
        raise ValueError("the exchange calendar has no completed session yet")
    return day


def _present(instance, symbol: str) -> set[date]:
    """Sessions of ``symbol`` that the store's ledger has and whose year partition the Dagster
    instance has materialized."""
    import dagster as dg

    from research_lab.defs.partitions import split_market_key

    store = _store()
    try:
        stored = set(store.sessions(symbol))
    finally:
        store.close()
    years = {
        year
        for sym, year in map(
            split_market_key, instance.get_materialized_partitions(dg.AssetKey("market_data"))
        )
        if sym == symbol
    }
    return {d for d in stored if d.year in years}


def ingest_plan(instance, symbols: list[str], start: date, end: date,
                only_missing: bool) -> list[tuple[list[str], date, date]]:
    """Runs to launch: (contiguous block of symbols, first, last session) rectangles, as few as
    the symbol partitions' order allows (all symbols × one range is one run, over their year
    partitions restricted to the range)."""
    from research_lab.core.marketdata.planning import missing_ranges, weekdays
    from research_lab.defs.marketdata.backfill import add_symbols, symbol_blocks

    order = add_symbols(instance, symbols)
    if not only_missing:
        return [(block, start, end) for block in symbol_blocks(order, symbols)]
    wanted = weekdays(start, end)
    by_range: dict[tuple[date, date], list[str]] = {}
    for s in symbols:
        for rng in missing_ranges(wanted, _present(instance, s)):
            by_range.setdefault(rng, []).append(s)
    return [(block, a, b) for (a, b), syms in sorted(by_range.items())
            for block in symbol_blocks(order, syms)]


def ingest(symbols: list[str], start: date, end: date, *, only_missing: bool = False,
           debug: bool = False) -> int:
    """Materialize symbols × [start, end] on the current Dagster instance with a progress bar.

    Symbols are validated and every session must have closed before anything is registered or
    run. All symbols × the range are one run when the symbols are contiguous in the instance's
    ``symbol`` partitions (always for symbols added together); ``only_missing`` skips
    partitions the store and the instance already have. A symbol that fails does not stop the
    others: it is named with the reason and the exit code is 1.
    """
    import dagster as dg
    from tqdm import tqdm

    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.ingest import check_sessions_closed, utc_now
    from research_lab.core.marketdata.symbols import validate_symbols
    from research_lab.core.settings import load_settings
    from research_lab.defs.marketdata.backfill import materialize_range
    from research_lab.defs.partitions import SESSION_START

    symbols = validate_symbols(symbols)
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    if start < date.fromisoformat(SESSION_START):
        raise ValueError(f"--start {start} is before the first session {SESSION_START}")
    calendar = TradingCalendar(load_settings().calendar)
    check_sessions_closed(calendar, {"": [end]}, utc_now())
    failed: list[str] = []
    codes: list[int] = []
    with dg.DagsterInstance.get() as instance:
        known = set(instance.get_dynamic_partitions("symbol"))
        plan = ingest_plan(instance, symbols, start, end, only_missing)
        if not plan:
            print("nothing to ingest: every session is stored, its year already materialized",
                  file=sys.stderr)
            return 0
        for block, first, last in tqdm(plan, desc="ingest", unit="run", file=sys.stderr):
            result = materialize_range(
                instance, block, first, last, raise_on_error=False,
                log_level="WARNING" if debug else "CRITICAL",
            )
            if not result.success:
                code, line = run_failure(result) or (1, f"{block[0]}..{block[-1]}: see the run logs")
                codes.append(code)
                failed.append(line)
                for symbol in block:  # a refused new symbol leaves no partition behind
                    if symbol not in known and not _present(instance, symbol):
                        instance.delete_dynamic_partition("symbol", symbol)
    for message in failed:
        print(f"ingestion failed: {message}", file=sys.stderr)
    if failed:
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


def cmd_quarantine(args: argparse.Namespace) -> int:
    from research_lab.core.marketdata.store import read_quarantine

    store = _store()
    try:
        rows = read_quarantine(store, args.symbol)
    finally:
        store.close()
    if rows.empty:
        print("no quarantined rows" + (f" for {args.symbol.upper()}" if args.symbol else ""))
        return 0
    for r in rows.itertuples(index=False):
        day = "no date   " if r.session != r.session else r.session.date().isoformat()
        print(f"{r.symbol:8s} {day} line {r.row:<6d} {r.field:10s} {r.reason}  ({r.source})")
    print(f"{len(rows)} quarantined row(s); fix them at the source and re-ingest the session, "
          f"or acknowledge with `research-lab quality ack`")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    import dagster as dg

    from research_lab.defs.marketdata.backfill import remove_symbol

    store = _store() if args.purge else None
    try:
        with dg.DagsterInstance.get() as instance:
            done = remove_symbol(instance, args.symbol, store=store)
    finally:
        if store is not None:
            store.close()
    print(f"{done['symbol']}: removed from the symbol partitions"
          if done["partition_removed"] else f"{done['symbol']}: was not a symbol partition")
    if args.purge:
        print(f"{done['symbol']}: deleted {done['bars_deleted']} stored bars, their anomaly "
              f"scores and quarantined rows")
    kind = _offered_by(done["symbol"])
    if kind:
        print(f"{done['symbol']}: the {kind} source still offers it, so the market_data_sensor "
              f"will register it again; remove it from the source (landing file, universe) too")
    return 0


def _offered_by(symbol: str) -> str | None:
    """The configured source's kind when it still lists ``symbol`` (None otherwise, or when
    the source cannot be listed right now: the removal itself does not depend on it)."""
    from research_lab.core.marketdata.sources import SourceError, make_source
    from research_lab.core.settings import load_settings

    settings = load_settings()
    try:
        offered = make_source(settings.source_kind, **settings.source_options()).symbols()
    except (SourceError, ValueError, OSError):
        return None
    return settings.source_kind if symbol in offered else None


def cmd_show(args: argparse.Namespace) -> int:
    from research_lab.core.inputs import date_range, symbol

    name = symbol(args.symbol)
    date_range(args.start, args.end)
    bars = _store().read_bars(name, args.start, args.end)
    if bars.empty:
        raise ValueError(f"no bars stored for {name} in that range")
    print(bars.tail(args.tail).to_string(index=False))
    return 0
