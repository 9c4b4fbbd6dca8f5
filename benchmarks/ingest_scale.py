"""Market data at universe scale through Dagster: full history, then the nightly update.

    PYTHONPATH=. python benchmarks/ingest_scale.py --symbols 20 --years 20          # embedded
    PYTHONPATH=. python benchmarks/ingest_scale.py --symbols 500 --years 20 \\
        --pg postgresql://postgres@127.0.0.1:5432/postgres [--keep]

On a fresh temporary Dagster instance and store (synthetic source), per backend: the embedded
default (SQLite instance and store in a temporary folder), or with ``--pg`` a new PostgreSQL
database named ``$BENCH_DB_PREFIX`` + a random suffix (default prefix ``rl_bench_``) holding
both, dropped at the end unless ``--keep`` (which prints ``DAGSTER_HOME`` and the store URL, so
that the UI can be measured against the instance: ``DAGSTER_HOME=... dagster dev``).

Phases, each timed with partitions/s and rows/s, and the physical limit next to it (the
store's bulk write of the same rows alone, ``BarStore.write_many`` in chunks of 100 symbols as
the ingest writes them; for the history also ``store_bulk.physical_limit``, the raw COPY /
``executemany`` of the bars without validation or ledger):

1. history ingest: ``--symbols`` × ``--years`` through ``market_data`` (symbol × year
   partitions, every one recorded), as ONE run, or ``--block`` symbols per run launched in
   sequence, or ``--processes 2`` blocks in parallel processes;
2. history scoring: ``anomaly_scores`` over the same partitions (one run per block);
3. nightly: every symbol × 1 session as ONE ingest run (the schedule's request), then the
   scoring run the automation condition starts (no config: only the changed sessions).

Goals (issue #14, 500 × 20 years): history ingested and scored in < 15 min on PostgreSQL,
< 30 min embedded; nightly ingest + score < 60 s. Printed with PASS/FAIL (at a smaller size
the figures are measured, not extrapolated: PASS/FAIL then says whether that size met the
goal). Quote ``uptime``'s load next to the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # bench_db, store_bulk

GOALS_MIN = {"PostgreSQL": 15, "SQLite": 30}
NIGHTLY_GOAL_S = 60
WRITE_CHUNK = 100
END = date(2024, 12, 30)  # last session of the history
NIGHT = date(2024, 12, 31)  # the nightly session (same year partition)


def _load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _line(name, seconds, partitions, rows, limit=None, unit="rows"):
    limit_text = f"; store write alone {limit:6.1f} s" if limit is not None else ""
    print(f"  {name:34s} {seconds:8.1f} s  {partitions:7,d} partitions "
          f"({partitions / seconds:8.1f}/s)  {rows:11,d} {unit} ({rows / seconds:10,.0f}/s)"
          f"{limit_text}   [{_load()}]", flush=True)


def setup(pg_admin: str | None) -> tuple[Path, str, str | None]:
    """A temporary DAGSTER_HOME and store URL (and the PostgreSQL database's name)."""
    from bench_db import bench_name, create_database, dagster_storage_yaml

    home = Path(tempfile.mkdtemp(prefix="rl_ingest_scale_"))
    dbname = None
    telemetry = "telemetry:\n  enabled: false\n"
    if pg_admin:
        dbname = bench_name()
        url = create_database(pg_admin, dbname)
        (home / "dagster.yaml").write_text(telemetry + dagster_storage_yaml(url))
    else:
        (home / "dagster.yaml").write_text(telemetry)
        url = f"sqlite:///{home / 'market.db'}"
    return home, url, dbname


def teardown(pg_admin, home: Path, dbname) -> None:
    from bench_db import drop_database

    if dbname:
        drop_database(pg_admin, dbname)
    shutil.rmtree(home, ignore_errors=True)


def _env(home: Path, url: str, symbols: list[str]) -> None:
    os.environ.update({
        "DAGSTER_HOME": str(home), "RESEARCH_LAB_STORE_URL": url,
        "RESEARCH_LAB_SOURCE": "synthetic", "RESEARCH_LAB_UNIVERSE": ",".join(symbols),
        "RESEARCH_LAB_HOME": str(home / "lab"),
    })
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")


def _instance(home: Path):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def ingest_block(home: str, url: str, universe: list[str], block: list[str], start: date,
                 end: date) -> tuple[int, int]:
    """One ``market_data`` run over ``block`` × [start, end]; (partitions, rows written)."""
    from research_lab.defs.marketdata.backfill import materialize_range

    _env(Path(home), url, universe)
    with _instance(Path(home)) as instance:
        result = materialize_range(instance, block, start, end, log_level="ERROR")
        assert result.success, f"ingest of {block[0]}..{block[-1]} failed"
        mats = result.asset_materializations_for_node("market_data")
        return len(mats), sum(m.metadata["rows_written"].value for m in mats)


def score_block(home: str, url: str, universe: list[str], block: list[str], start: date | None,
                end: date | None, use_prophet: bool, bounded: bool = False) -> tuple[int, int]:
    """One ``anomaly_scores`` run over ``block`` × the years of [start, end] (no session range
    in the config, what the automation condition runs; ``bounded``: config start/end too);
    (partitions, sessions scored)."""
    import dagster as dg

    from research_lab.defs.marketdata.requests import range_tags
    from research_lab.defs.quality.assets import anomaly_scores
    from research_lab.defs.quality.resources import AlertWebhookResource
    from research_lab.defs.resources import default_resources

    _env(Path(home), url, universe)
    with _instance(Path(home)) as instance:
        result = dg.materialize(
            [anomaly_scores], instance=instance,
            resources={**default_resources(), "alert_webhook": AlertWebhookResource()},
            tags={k: v for k, v in range_tags(block, start, end).items()
                  if k.startswith("dagster/")},
            run_config={"ops": {"anomaly_scores": {"config": {
                "use_prophet": use_prophet,
                **({"start": start.isoformat(), "end": end.isoformat()} if bounded else {})}}},
                        "loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            raise_on_error=False,  # open criticals fail the blocking check, not the scoring
        )
        mats = result.asset_materializations_for_node("anomaly_scores")
        assert mats, f"scoring of {block[0]}..{block[-1]} failed"
        return len(mats), mats[0].metadata["sessions_scored"].value


def _blocks(symbols: list[str], size: int) -> list[list[str]]:
    return [symbols[i:i + size] for i in range(0, len(symbols), size)]


def _run_blocks(fn, blocks, processes: int, *args) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    if processes > 1:
        import multiprocessing

        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
            out = list(pool.map(fn, *zip(*[(*args[:3], b, *args[3:]) for b in blocks])))
    else:
        out = [fn(*args[:3], b, *args[3:]) for b in blocks]
    return time.perf_counter() - t0, sum(o[0] for o in out), sum(o[1] for o in out)


def store_limit(url: str, symbols: list[str], start: date, end: date) -> tuple[float, int]:
    """The store's bulk write of the same rows alone (scratch symbols, deleted afterwards):
    (seconds, rows). Synthetic generation is not timed."""
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore

    scratch = [f"ZZ{s}" for s in symbols]
    src = make_source("synthetic", symbols=tuple(scratch))
    days = weekdays(start, end)
    store = BarStore.from_url(url)
    seconds, rows = 0.0, 0
    try:
        for chunk in _blocks(scratch, WRITE_CHUNK):
            items = [(s, days, src.fetch(s, days[0], days[-1]), ()) for s in chunk]
            t0 = time.perf_counter()
            store.write_many(items, source="synthetic")
            seconds += time.perf_counter() - t0
            rows += sum(len(i[2]) for i in items)
    finally:
        for s in scratch:
            store.delete_symbol(s)
        store.close()
    return seconds, rows


def nightly(home: Path, url: str, symbols: list[str], use_prophet: bool,
            bounded: bool = False) -> float:
    """Every symbol × the night's session as ONE ingest run, then its scoring run (``bounded``:
    config start = end = that session; else what the automation condition runs: only the
    changed sessions); prints both and the total against the goal; the total in seconds."""
    limit, _ = store_limit(url, symbols, NIGHT, NIGHT)
    nwall, nparts, nrows = _run_blocks(ingest_block, [symbols], 1, str(home), url, symbols,
                                       NIGHT, NIGHT)
    _line(f"nightly ingest {len(symbols)} × 1 (1 run)", nwall, nparts, nrows, limit)
    swall, sparts, scored = _run_blocks(score_block, [symbols], 1, str(home), url, symbols,
                                        NIGHT, NIGHT, use_prophet, bounded)
    _line("nightly scoring (that session)" if bounded else "nightly scoring (changed only)",
          swall, sparts, scored, unit="sessions")
    total = nwall + swall
    print(f"  nightly total {total:.1f} s; goal < {NIGHTLY_GOAL_S} s -> "
          f"{'PASS' if total < NIGHTLY_GOAL_S else 'FAIL'}  [{_load()}]", flush=True)
    return total


def nightly_only(args, home: Path, url: str, symbols: list[str], start: date) -> int:
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore

    src, days = make_source("synthetic", symbols=tuple(symbols)), weekdays(start, END)
    store = BarStore.from_url(url)
    for chunk in _blocks(symbols, WRITE_CHUNK):
        store.write_many([(s, days, src.fetch(s, days[0], days[-1]), ()) for s in chunk],
                         source="synthetic")
    store.close()
    print(f"  history written by the store alone ({len(symbols)} × {len(days)} sessions)  "
          f"[{_load()}]", flush=True)
    nightly(home, url, symbols, not args.no_prophet, bounded=True)
    return 0


def raw_limit(url: str, symbols: int, years: int) -> str:
    """``benchmarks/store_bulk.py``'s raw bulk write (COPY / executemany of the bars alone, no
    validation, deletes or ledger) of the same size, as text for the summary line."""
    sys.path.insert(0, str(Path(__file__).parent))
    from store_bulk import physical_limit

    raw = physical_limit(url, symbols=symbols, years=years)
    return (f"; raw bulk write of the bars alone (store_bulk.py) {raw['seconds']:.1f} s for "
            f"{raw['rows']:,} rows, + ledger {raw['ledger_seconds']:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL admin URL: instance and store in a new database")
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--block", type=int, default=0,
                        help="symbols per run (default 0: all symbols in one run)")
    parser.add_argument("--processes", type=int, default=1,
                        help="run the blocks in this many processes at once")
    parser.add_argument("--no-prophet", action="store_true",
                        help="score without the Prophet residuals (default: as configured)")
    parser.add_argument("--skip-history-scoring", action="store_true")
    parser.add_argument("--nightly-only", action="store_true",
                        help="skip the history through Dagster: write --years of bars with the "
                        "store alone, then measure the nightly ingest, and the scoring of that "
                        "one session (config start = end: the steady state, where every earlier "
                        "session is scored)")
    parser.add_argument("--keep", action="store_true", help="keep the instance and the store")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.pg else "SQLite"
    symbols = [f"S{i:03d}" for i in range(args.symbols)]
    start = date(END.year - args.years + 1, 1, 1)
    blocks = _blocks(symbols, args.block or len(symbols))
    home, url, dbname = setup(args.pg)
    _env(home, url, symbols)
    from research_lab.defs.marketdata.backfill import add_symbols

    with _instance(home) as instance:
        add_symbols(instance, symbols)  # in order: each block is contiguous
    print(f"{backend}: {args.symbols} symbols × {args.years} years ({start}..{END}), "
          f"{len(blocks)} run(s) of {len(blocks[0])} symbols, {args.processes} process(es); "
          f"DAGSTER_EVENT_BATCH_SIZE={os.environ['DAGSTER_EVENT_BATCH_SIZE']}  [{_load()}]",
          flush=True)
    try:
        if args.nightly_only:
            return nightly_only(args, home, url, symbols, start)
        limit, limit_rows = store_limit(url, symbols, start, END)
        raw = raw_limit(url, args.symbols, args.years)
        wall, parts, rows = _run_blocks(ingest_block, blocks, args.processes, str(home), url,
                                        symbols, start, END)
        _line("history ingest (market_data)", wall, parts, rows, limit)
        total = wall
        if not args.skip_history_scoring:
            swall, sparts, scored = _run_blocks(score_block, blocks, args.processes, str(home),
                                                url, symbols, start, END, not args.no_prophet)
            _line("history scoring (anomaly_scores)", swall, sparts, scored, unit="sessions")
            total += swall
        goal = GOALS_MIN[backend] * 60 * (args.symbols * args.years) / (500 * 20)
        print(f"  history total {total:8.1f} s; goal for this size (scaled from "
              f"{GOALS_MIN[backend]} min for 500 × 20 y): {goal:.0f} s -> "
              f"{'PASS' if total < goal else 'FAIL'}; physical limit (store write alone) "
              f"{limit:.1f} s for {limit_rows:,} rows{raw}", flush=True)

        nightly(home, url, symbols, not args.no_prophet)
        with _instance(home) as instance:
            print(f"  runs: {len(instance.get_runs())}")
    finally:
        if args.keep:
            print(f"kept: DAGSTER_HOME={home} RESEARCH_LAB_STORE_URL={url}")
        else:
            teardown(args.pg, home, dbname)
    return 0


if __name__ == "__main__":
    sys.exit(main())
