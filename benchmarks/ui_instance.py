"""A Dagster instance holding N ``market_data`` partitions' bookkeeping, fast (no bars ingested).

    PYTHONPATH=. python benchmarks/ui_instance.py --design year --symbols 500 --years 20 \\
        --home /tmp/ui-year --pg postgresql://postgres@127.0.0.1:5432/postgres
    PYTHONPATH=. python benchmarks/ui_instance.py --design session --symbols 100 --years 5 \\
        --home /tmp/ui-session                                       # embedded (SQLite)

For the partition-design decision: the UI (``benchmarks/ui_pages.py``) and the daemon are
measured against an instance that holds what Dagster keeps for a universe, without the cost of
ingesting it. Registers ``--symbols`` symbols in the ``symbol`` dynamic partitions, then writes
one materialization per (symbol, date partition) of the last ``--years`` years up to
``--end-year`` (each with the metadata the real asset records: rows, source, data version,
first/last timestamp, last close) through Dagster's own event path (``report_dagster_event``
with batch metadata, as a run's step writes a range: one statement per
``DAGSTER_EVENT_BATCH_SIZE`` events on PostgreSQL, one by one on SQLite), and one evaluation
of each ``market_data`` check per symbol (what one run per symbol records). Prints the time
per partition, which is the part of Dagster's bookkeeping that grows with the partition count.

Two designs, defined here (not the project's): ``session`` is today's symbol × every weekday
since 2000-01-03 (``research_lab/defs/partitions.py``); ``year`` is symbol × calendar year since
2000 (``end_offset=1``: the current year is a partition). ``--home DIR`` is the Dagster home
written (``dagster.yaml``) and kept, with ``location.py`` + ``workspace.yaml``: a code location
whose ``market_data`` asset has the design's partitions and the same check names, so that
``ui_pages.py --dagster-home DIR --workspace DIR/workspace.yaml`` shows that design. With
``--pg`` (an admin URL) the instance lives in a new database ``rl_ui_<design>_<random>``, kept
for the UI measurement: drop it afterwards (the script prints the command).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

DESIGNS = ("session", "year")
NEW_YORK = "America/New_York"
CHECK_NAMES = ("schema_ohlc", "missing_sessions", "stale_prices", "extreme_moves")
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))  # bench_db


def date_partitions(design: str):
    """The date dimension of ``design``."""
    import dagster as dg

    if design == "session":
        return dg.TimeWindowPartitionsDefinition(
            cron_schedule="0 0 * * 1-5", start="2000-01-03", fmt="%Y-%m-%d", timezone=NEW_YORK,
            end_offset=1)
    if design == "year":
        return dg.TimeWindowPartitionsDefinition(
            cron_schedule="0 0 1 1 *", start="2000", fmt="%Y", timezone=NEW_YORK, end_offset=1)
    raise ValueError(f"--design: {design!r} is not one of {', '.join(DESIGNS)}")


def market_partitions(design: str):
    import dagster as dg

    return dg.MultiPartitionsDefinition({
        "symbol": dg.DynamicPartitionsDefinition(name="symbol"),
        design: date_partitions(design),
    })


def location_defs(design: str):
    """A code location with a ``market_data`` asset of ``design``'s partitions and checks."""
    import dagster as dg

    specs = [dg.AssetCheckSpec(name, asset="market_data", blocking=False) for name in CHECK_NAMES]

    @dg.asset(partitions_def=market_partitions(design), check_specs=specs,
              backfill_policy=dg.BackfillPolicy.single_run(), output_required=False,
              group_name="market_data", description=f"UI benchmark: the {design} design")
    def market_data(context):
        context.log.info(f"{len(context.partition_keys)} partitions (nothing ingested)")
        yield dg.MaterializeResult(check_results=[
            dg.AssetCheckResult(check_name=name, passed=True) for name in CHECK_NAMES])

    return dg.Definitions(assets=[market_data])


def date_keys(design: str, years: int, end_year: int) -> list[str]:
    """The date partition keys of the ``years`` calendar years ending with ``end_year``."""
    first = end_year - years + 1
    return [k for k in date_partitions(design).get_partition_keys()
            if first <= int(k[:4]) <= end_year]


def write_location(home: Path, design: str) -> Path:
    """``location.py`` and ``workspace.yaml`` in ``home``; returns the workspace file."""
    (home / "location.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(BENCH_DIR)!r})\n"
        "from ui_instance import location_defs\n\n"
        f"defs = location_defs({design!r})\n"
    )
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_file:\n"
        f"      relative_path: {home / 'location.py'}\n"
        "      attribute: defs\n      location_name: research_lab\n"
    )
    return workspace


def fill(instance, design: str, symbols: list[str], dates: list[str],
         progress=print) -> tuple[float, float]:
    """Record a materialization of every (symbol, date) and one evaluation of each check per
    symbol; returns the seconds spent writing them (materializations, checks; building the
    events excluded)."""
    import dagster as dg
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluation,
    )
    from dagster._core.events import (
        DagsterEvent,
        DagsterEventBatchMetadata,
        DagsterEventType,
        StepMaterializationData,
        generate_event_batch_id,
    )
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    key = dg.AssetKey("market_data")
    instance.add_dynamic_partitions("symbol", symbols)
    rows = 1 if design == "session" else 252
    spent = checks = 0.0
    t_start = time.perf_counter()
    for n, symbol in enumerate(symbols, 1):
        events = []
        for d in dates:
            pk = dg.MultiPartitionKey({"symbol": symbol, design: d})
            version = uuid.uuid5(uuid.NAMESPACE_URL, f"{symbol}|{d}").hex[:16]
            mat = dg.AssetMaterialization(
                asset_key=key, partition=str(pk),
                metadata={
                    "rows": dg.MetadataValue.int(rows),
                    "source": dg.MetadataValue.text("synthetic"),
                    "data_version": dg.MetadataValue.text(version),
                    "first_timestamp": dg.MetadataValue.timestamp(946_900_000.0),
                    "last_timestamp": dg.MetadataValue.timestamp(947_000_000.0),
                    "last_close": dg.MetadataValue.float(101.25),
                },
                tags={"dagster/data_version": version, "dagster/code_version": "ui-bench",
                      "dagster/partition/symbol": symbol, f"dagster/partition/{design}": d},
            )
            events.append(DagsterEvent(
                event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                event_specific_data=StepMaterializationData(mat), job_name=RUNLESS_JOB_NAME))
        batch_id = generate_event_batch_id()
        t0 = time.perf_counter()
        for i, event in enumerate(events):
            instance.report_dagster_event(
                event, run_id=RUNLESS_RUN_ID,
                batch_metadata=DagsterEventBatchMetadata(batch_id, i == len(events) - 1))
        t1 = time.perf_counter()
        spent += t1 - t0
        for name in CHECK_NAMES:
            instance.report_runless_asset_event(AssetCheckEvaluation(
                asset_key=key, check_name=name, passed=True,
                metadata={"failing_sessions": dg.MetadataValue.int(0)},
                severity=dg.AssetCheckSeverity.WARN))
        checks += time.perf_counter() - t1
        if n % max(1, len(symbols) // 10) == 0 or n == len(symbols):
            done = n * len(dates)
            progress(f"  {n:4d}/{len(symbols)} symbols, {done:,} partitions: materializations "
                     f"{spent:7.1f} s ({spent / done * 1000:.2f} ms/partition), checks "
                     f"{checks:5.1f} s, wall "
                     f"{time.perf_counter() - t_start:7.1f} s, load {os.getloadavg()[0]:.1f}")
    return spent, checks


def _instance_yaml(home: Path, pg_admin: str | None, design: str) -> str | None:
    """Write ``home/dagster.yaml``; returns the database URL created, if any."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".nux").mkdir(exist_ok=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # no newsletter pop-up over the UI
    lines = ["telemetry:\n  enabled: false\n",
             # a backfill's runs (ui_pages.py --backfill) two at a time: the machine is shared
             "run_coordinator:\n  module: dagster.core.run_coordinator\n"
             "  class: QueuedRunCoordinator\n  config:\n    max_concurrent_runs: 2\n"]
    url = None
    if pg_admin:
        from bench_db import create_database, dagster_storage_yaml

        url = create_database(pg_admin, f"rl_ui_{design}_{uuid.uuid4().hex[:6]}")
        lines.append(dagster_storage_yaml(url))
    (home / "dagster.yaml").write_text("".join(lines))
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=DESIGNS, required=True)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--end-year", type=int, default=2024)
    parser.add_argument("--home", required=True, help="Dagster home to write (must not exist)")
    parser.add_argument("--pg", help="PostgreSQL admin URL: the instance in a new rl_ui_ database")
    args = parser.parse_args(argv)
    home = Path(args.home)
    if home.exists():
        print(f"--home: {home} exists (give a new folder)", file=sys.stderr)
        return 2
    if args.symbols < 1 or args.years < 1:
        print("--symbols/--years: must be at least 1", file=sys.stderr)
        return 2
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
    import dagster as dg

    dates = date_keys(args.design, args.years, args.end_year)
    symbols = [f"S{i:03d}" for i in range(args.symbols)]
    url = _instance_yaml(home, args.pg, args.design)
    write_location(home, args.design)
    total = len(symbols) * len(dates)
    print(f"{args.design} design, {'PostgreSQL ' + url if url else 'SQLite (embedded)'}: "
          f"{len(symbols)} symbols x {len(dates)} date partitions = {total:,} partitions; "
          f"DAGSTER_EVENT_BATCH_SIZE={os.environ['DAGSTER_EVENT_BATCH_SIZE']}; "
          f"load {os.getloadavg()[0]:.1f}")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        spent, checks = fill(instance, args.design, symbols, dates)
    print(f"recorded {total:,} partitions in {spent:.1f} s: {spent / total * 1000:.2f} ms per "
          f"partition ({total / spent:,.0f}/s); {len(symbols) * len(CHECK_NAMES):,} check "
          f"evaluations in {checks:.1f} s; load {os.getloadavg()[0]:.1f}")
    print(f"Dagster home: {home} (workspace: {home / 'workspace.yaml'})")
    if url:
        print(f"drop afterwards: psql {args.pg} -c 'DROP DATABASE \"{url.rsplit('/', 1)[1]}\" "
              "WITH (FORCE)'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
