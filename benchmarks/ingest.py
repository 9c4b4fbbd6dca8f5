"""Ingestion through Dagster: a 10 symbols × 10 years backfill and 50 symbols × 1 session.

    ./scripts/lab shell python benchmarks/ingest.py                 # embedded (SQLite) instance
    ./scripts/lab shell python benchmarks/ingest.py --pg postgresql://postgres@127.0.0.1:5432/postgres

Each scenario runs on a fresh temporary Dagster instance and store (synthetic source), the way
the single-run backfill policy runs a range: one run per rectangle of symbol × year partitions
restricted to the range's sessions by run config. With --pg,
the Dagster instance (runs, events) and the store live in a new PostgreSQL database that is
dropped afterwards (named ``$BENCH_DB_PREFIX`` + a random suffix; default prefix ``rl_bench_``). Prints wall time, runs, partitions and rows per second.
"""

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).parent))  # bench_db


@contextmanager
def environment(pg_admin: str | None):
    from bench_db import bench_name, create_database, dagster_storage_yaml, drop_database

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        dbname = None
        if pg_admin:
            dbname = bench_name()
            url = create_database(pg_admin, dbname)
            (home / "dagster.yaml").write_text(dagster_storage_yaml(url))
            os.environ["RESEARCH_LAB_STORE_URL"] = url
        else:
            (home / "dagster.yaml").write_text("")
            os.environ["RESEARCH_LAB_STORE_URL"] = f"sqlite:///{home / 'market.db'}"
        os.environ["RESEARCH_LAB_SOURCE"] = "synthetic"
        try:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                yield instance
        finally:
            if dbname:
                drop_database(pg_admin, dbname)


def scenario(name, pg, symbols, start, end):
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.defs.marketdata.backfill import add_symbols, materialize_range

    os.environ["RESEARCH_LAB_UNIVERSE"] = ",".join(symbols)
    with environment(pg) as instance:
        add_symbols(instance, symbols)
        t0 = time.perf_counter()
        result = materialize_range(instance, symbols, start, end)
        wall = time.perf_counter() - t0
        assert result.success
        runs = len(instance.get_runs())
        mats = result.asset_materializations_for_node("market_data")
        parts = len(mats)  # symbol × year partitions
        sessions = len(symbols) * len(weekdays(start, end))
        rows = sum(m.metadata["rows_written"].value for m in mats)
        print(f"{name:34s} {wall:8.1f} s  runs={runs}  partitions={parts:5d}  "
              f"sessions={sessions:6d} ({sessions / wall:7.1f} sessions/s; rows written={rows})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL admin URL: run the instance and store there")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--wide", type=int, default=50)
    args = parser.parse_args()
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"instance + store on {backend}, synthetic source")
    wide = [f"S{i:03d}" for i in range(args.wide)]
    scenario(f"{args.wide} symbols x 1 session", args.pg, wide, date(2024, 6, 3), date(2024, 6, 3))
    syms = [f"B{i:02d}" for i in range(args.symbols)]
    scenario(f"{args.symbols} symbols x {args.years} years backfill", args.pg, syms,
             date(2024 - args.years, 1, 1), date(2023, 12, 29))


if __name__ == "__main__":
    main()
