"""The market-data store's bulk path at universe scale, next to its physical limit.

    PYTHONPATH=. python benchmarks/store_bulk.py                         # SQLite, 500 x 20 years
    PYTHONPATH=. python benchmarks/store_bulk.py --symbols 20 --years 20 --pg \\
        postgresql://postgres@127.0.0.1:5432/postgres                   # and PostgreSQL

For each backend (SQLite always, unless ``--no-sqlite``; PostgreSQL with ``--pg URL``, in a
temporary database named ``$BENCH_DB_PREFIX`` + ``_store_bulk_<pid>``, dropped afterwards) it
prints, each with rows/s and its ratio to (a):

(a) the physical limit: the raw bulk write alone of ``--symbols`` x ``--years`` of daily bars
    into the bars table (binary COPY on PostgreSQL, one ``executemany`` per transaction on
    SQLite, :data:`~research_lab.core.marketdata.ingest.WRITE_CHUNK` symbols per transaction),
    nothing else: no validation, no deletes, no ledger. The bars are generated before the clock
    starts. A second line adds the raw write of the ledger rows the store keeps as well (one per
    symbol and weekday: as many as the bars), the floor of what (b) must write;
(b) the whole core path, ``ingest_partitions`` (synthetic generation, validation, range
    deletes, bars, ledger, quarantine, per-session versions and results, commits) of the same
    history into an empty store, with its breakdown (source fetch / store write / the rest);
(c) the nightly: ``--nightly`` symbols x the next session through ``ingest_partitions`` into
    the store (b) filled.

Other benchmarks print the physical limit next to their own figures with::

    from store_bulk import physical_limit      # benchmarks/ on sys.path
    limit = physical_limit(store_url, symbols=500, years=20)   # {"rows", "seconds", ...}

Note ``uptime``'s load average (printed) next to the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

END = date(2025, 12, 31)  # a fixed, closed history: same rows every run


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _symbols(n: int) -> list[str]:
    return [f"S{i:04d}" for i in range(n)]


def _history(years: int) -> list[date]:
    from research_lab.core.marketdata.planning import weekdays

    return weekdays(date(END.year - years, END.month, END.day) + timedelta(days=1), END)


@contextmanager
def scratch_store(url: str):
    """A new empty store next to ``url`` (its URL), removed on exit: a SQLite file in the same
    folder as ``url``'s (a temporary folder for ``sqlite://``), or a temporary database
    ``$BENCH_DB_PREFIX_store_bulk_<pid>_<random>`` on the same PostgreSQL server."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database).parent if parsed.database else None
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            yield f"sqlite:///{Path(tmp) / 'scratch.db'}"
        return
    prefix = os.environ.get("BENCH_DB_PREFIX", "bench")
    name = f"{prefix}_store_bulk_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def physical_limit(store_url: str, symbols: int = 500, years: int = 20) -> dict:
    """The raw bulk write alone of ``symbols`` x ``years`` of synthetic daily bars into the
    bars table of a scratch store next to ``store_url`` (see :func:`scratch_store`): COPY /
    ``executemany`` in one transaction per ``WRITE_CHUNK`` symbols, nothing else.

    Returns ``{"backend", "rows", "seconds", "rows_per_s"}``, and ``ledger_seconds``: the same
    raw write of the ledger rows the store also keeps (one per symbol and requested weekday,
    the same count as the bars), timed separately. Generation is not timed.
    """
    from research_lab.core.marketdata.ingest import WRITE_CHUNK
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore, market_bars, write_transaction
    from research_lab.core.marketdata.store._partitions import bulk_insert
    import pandas as pd

    from research_lab.core.marketdata.store import market_partitions
    from research_lab.core.marketdata.store._partitions import _ledger_rows

    names = _symbols(symbols)
    days = _history(years)
    source = make_source("synthetic", symbols=tuple(names))
    rows, seconds, ledger_seconds = 0, 0.0, 0.0
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    with scratch_store(store_url) as url, BarStore.from_url(url) as store:
        for i in range(0, len(names), WRITE_CHUNK):
            frames = [source.fetch(s, days[0], days[-1]) for s in names[i:i + WRITE_CHUNK]]
            frame = pd.concat(frames, ignore_index=True)
            ledger = _ledger_rows(market_bars.name, [
                (s, days, f, {}) for s, f in zip(names[i:i + WRITE_CHUNK], frames)
            ], "synthetic", now)
            t0 = time.perf_counter()
            with write_transaction(store.engine, lock_name="store_bulk") as conn:
                bulk_insert(conn, market_bars, frame)
            t1 = time.perf_counter()
            with write_transaction(store.engine, lock_name="store_bulk") as conn:
                bulk_insert(conn, market_partitions, ledger)
            seconds += t1 - t0
            ledger_seconds += time.perf_counter() - t1
            rows += len(frame)
        backend = store.backend
    return {"backend": backend, "rows": rows, "seconds": seconds,
            "rows_per_s": rows / seconds if seconds else float("inf"),
            "ledger_seconds": ledger_seconds}


def _forget_generated() -> None:
    """Empty the synthetic source's per-process caches: each phase pays its generation."""
    from research_lab.core.marketdata.sources import synthetic

    synthetic._path.cache_clear()


def _timed(obj, name: str, totals: dict, key: str):
    """Wrap ``obj.name`` so that its wall time adds to ``totals[key]``."""
    real = getattr(obj, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - t0

    setattr(obj, name, wrapper)


def core_path(url: str, symbols: int, years: int, nightly: int) -> tuple[dict, dict]:
    """(b) and (c): ingest_partitions of the history, then of the next session."""
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.ingest import ingest_partitions
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore

    days = _history(years)
    history, last = days[:-1], days[-1:]
    names = _symbols(max(symbols, nightly))
    source = make_source("synthetic", symbols=tuple(names))
    calendar = TradingCalendar()
    calendar.sessions(days[0], days[-1])  # build the exchange calendar before the clock
    out = []
    with scratch_store(url) as scratch, BarStore.from_url(scratch) as store:
        for wanted, sessions in ((names[:symbols], history), (names[:nightly], last)):
            _forget_generated()
            totals: dict[str, float] = {}
            _timed(source, "fetch_checked", totals, "fetch")
            _timed(store, "write_many", totals, "write")
            t0 = time.perf_counter()
            report = ingest_partitions(source, store, calendar, {s: sessions for s in wanted})
            wall = time.perf_counter() - t0
            del source.fetch_checked, store.write_many  # the class's methods again
            assert report.ok, report.failures[:3]
            out.append({"rows": sum(s.rows for s in report.summaries), "seconds": wall,
                        "partitions": len(wanted) * len(sessions), **totals})
    return out[0], out[1]


def _line(label: str, figure: dict, limit: dict | None) -> str:
    rate = figure["rows"] / figure["seconds"]
    ratio = f"  {figure['seconds'] / limit['seconds']:5.1f}x (a)" if limit else ""
    return (f"  {label:<44} {figure['rows']:>10,} rows {figure['seconds']:8.2f} s "
            f"{rate:>10,.0f} rows/s{ratio}")


def run(url: str, symbols: int, years: int, nightly: int) -> None:
    print(f"{url.split(':')[0]}  ({_load()})")
    limit = physical_limit(url, symbols, years)
    print(_line(f"(a) raw bulk write {symbols} x {years} y", limit, limit))
    both = {"rows": limit["rows"], "seconds": limit["seconds"] + limit["ledger_seconds"]}
    print(_line("    + the ledger rows (raw, same count)", both, limit))
    history, night = core_path(url, symbols, years, nightly)
    print(_line(f"(b) ingest_partitions {symbols} x {years} y", history, limit)
          + f"  [fetch {history.get('fetch', 0):.1f} s, store write "
          f"{history.get('write', 0):.1f} s, rest "
          f"{history['seconds'] - history.get('fetch', 0) - history.get('write', 0):.1f} s]")
    print(_line(f"(c) nightly {nightly} x 1 session", night, None)
          + f"  [fetch {night.get('fetch', 0):.1f} s, store write {night.get('write', 0):.1f} s]")
    print(f"  ({_load()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--nightly", type=int, default=500, help="symbols of the nightly (c)")
    parser.add_argument("--pg", metavar="URL", help="also PostgreSQL (server admin URL)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    for name in ("symbols", "years", "nightly"):
        if getattr(args, name) < 1:
            print(f"store_bulk: --{name} must be at least 1", file=sys.stderr)
            return 2
    if args.no_sqlite and not args.pg:
        print("store_bulk: --no-sqlite needs --pg URL", file=sys.stderr)
        return 2
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/store.db", args.symbols, args.years, args.nightly)
    if args.pg:
        run(args.pg, args.symbols, args.years, args.nightly)
    return 0


if __name__ == "__main__":
    sys.exit(main())
