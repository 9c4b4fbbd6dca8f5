"""Market data at universe scale: the store's bulk write, Dagster's bookkeeping and the sentinel.

    PYTHONPATH=. python benchmarks/ingest_scale.py                       # embedded (SQLite)
    PYTHONPATH=. python benchmarks/ingest_scale.py --pg postgresql://postgres@127.0.0.1:5432/postgres

Fresh temporary Dagster instance and store (synthetic source) per backend. Prints, each with
its rate and the 500 symbols × 20 years goal it extrapolates to (labelled "extrapolated"):

1. physical limit: the store's bulk write alone (``BarStore.write_partitions``, one transaction
   per symbol; COPY on PostgreSQL) of ``--history-symbols`` × ``--years`` of bars;
2. Dagster: the same kind of history through ``market_data`` (one run for all symbols, every
   partition recorded) for ``--dagster-symbols`` × ``--years``;
3. the sentinel: ``score_partitions`` of one symbol's whole history;
4. nightly: ``--nightly`` symbols × 1 session as ONE run, then scored, measured directly.

``DAGSTER_EVENT_BATCH_SIZE`` (default here 1000) batches materialization events on PostgreSQL.
Note ``uptime``'s load average next to the figures: the machine is shared.
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ingest import environment  # noqa: E402  (the temporary instance + store of ingest.py)

GOAL_SYMBOLS, GOAL_YEARS = 500, 20


def _load():
    return os.getloadavg()[0]


def _sessions(years: int, end: date) -> list[date]:
    from research_lab.core.marketdata.planning import weekdays

    return weekdays(date(end.year - years, end.month, end.day), end)


def physical_limit(symbols, years, end):
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore

    src = make_source("synthetic", symbols=tuple(symbols))
    store = BarStore.from_url(os.environ["RESEARCH_LAB_STORE_URL"])
    days = _sessions(years, end)
    fetch = write = 0.0
    rows = 0
    for s in symbols:
        t0 = time.perf_counter()
        bars = src.fetch(s, days[0], days[-1])
        t1 = time.perf_counter()
        store.write_partitions(s, days, bars, source="synthetic")
        write += time.perf_counter() - t1
        fetch += t1 - t0
        rows += len(bars)
    store.close()
    scale = GOAL_SYMBOLS * (years and GOAL_YEARS / years) / len(symbols)
    print(f"  store bulk write  {len(symbols)} x {years} y: {rows:,} rows, "
          f"{len(symbols) * len(days):,} partitions in {write:6.1f} s ({rows / write:,.0f} rows/s);"
          f" synthetic generation {fetch:.1f} s  -> 500 x 20 y write alone: "
          f"{write * scale / 60:.1f} min (extrapolated)")
    return write * scale


def through_dagster(instance, symbols, years, end):
    from research_lab.defs.marketdata.backfill import materialize_range

    days = _sessions(years, end)
    t0 = time.perf_counter()
    result = materialize_range(instance, symbols, days[0], days[-1], log_level="WARNING")
    wall = time.perf_counter() - t0
    assert result.success
    parts = len(symbols) * len(days)
    total = GOAL_SYMBOLS * GOAL_YEARS * len(days) / years / parts * wall
    print(f"  Dagster run       {len(symbols)} x {years} y: {parts:,} partitions in {wall:6.1f} s "
          f"({parts / wall:,.0f} partitions/s, runs={len(instance.get_runs())})  -> 500 x 20 y: "
          f"{total / 60:.1f} min (extrapolated)")
    return total


def scoring(symbol, years, end):
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.quality.sentinel import score_partitions

    store = BarStore.from_url(os.environ["RESEARCH_LAB_STORE_URL"])
    days = _sessions(years, end)
    t0 = time.perf_counter()
    score_partitions(store, symbol, days, calendar=TradingCalendar())
    wall = time.perf_counter() - t0
    store.close()
    print(f"  sentinel score    1 x {years} y: {wall:6.1f} s  -> 500 x 20 y: "
          f"{wall * GOAL_SYMBOLS * GOAL_YEARS / years / 60:.1f} min (extrapolated)")
    return wall * GOAL_SYMBOLS * GOAL_YEARS / years


def nightly(instance, n, day):
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.quality.sentinel import score_partitions
    from research_lab.defs.marketdata.backfill import add_symbols, materialize_range

    symbols = [f"N{i:03d}" for i in range(n)]
    os.environ["RESEARCH_LAB_UNIVERSE"] = ",".join(symbols)
    add_symbols(instance, symbols)
    before = len(instance.get_runs())
    t0 = time.perf_counter()
    assert materialize_range(instance, symbols, day, day, log_level="WARNING").success
    ingest = time.perf_counter() - t0
    store = BarStore.from_url(os.environ["RESEARCH_LAB_STORE_URL"])
    cal = TradingCalendar()
    t1 = time.perf_counter()
    for s in symbols:
        score_partitions(store, s, [day], calendar=cal)
    score = time.perf_counter() - t1
    # the physical limit: the same rows written by the store alone
    src = make_source("synthetic", symbols=tuple(symbols))
    frames = {s: src.fetch(s, day, day) for s in symbols}
    t2 = time.perf_counter()
    for s in symbols:
        store.write_partitions(s, [day], frames[s], source="synthetic")
    alone = time.perf_counter() - t2
    store.close()
    print(f"  nightly           {n} x 1 session: ingest {ingest:5.1f} s in "
          f"{len(instance.get_runs()) - before} run, scored {score:5.1f} s, total "
          f"{ingest + score:5.1f} s (goal < 60 s); store write alone {alone:4.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL admin URL: run the instance and store there")
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--history-symbols", type=int, default=20)
    parser.add_argument("--dagster-symbols", type=int, default=1)
    parser.add_argument("--dagster-years", type=int, default=2)
    parser.add_argument("--nightly", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
    end = date(2024, 12, 31)
    print(f"{'PostgreSQL' if args.pg else 'SQLite (embedded)'}; load average {_load():.1f}; "
          f"DAGSTER_EVENT_BATCH_SIZE={os.environ['DAGSTER_EVENT_BATCH_SIZE']}")
    history = [f"H{i:03d}" for i in range(args.history_symbols)]
    dagster = [f"D{i:03d}" for i in range(args.dagster_symbols)]
    os.environ["RESEARCH_LAB_UNIVERSE"] = ",".join(history + dagster)
    with environment(args.pg) as instance:
        write = physical_limit(history, args.years, end)
        book = through_dagster(instance, dagster, args.dagster_years, end)
        score = scoring(history[0], args.years, end)
        print(f"  500 x 20 y total: {(book + score) / 60:.1f} min (extrapolated: Dagster run + "
              f"scoring; physical limit {write / 60:.1f} min); load average {_load():.1f}")
        nightly(instance, args.nightly, date(2024, 6, 4))
        print(f"  load average {_load():.1f}")


if __name__ == "__main__":
    main()
