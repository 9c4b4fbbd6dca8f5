"""Materialize a rectangle of ``market_data`` partitions in this process, as one run.

Used by the CLI (``research-lab data ingest``, ``research-lab demo``) and the benchmarks; the UI
and the daemon do the same through backfills, which the single-run backfill policy also runs
as one run per range.
"""

from datetime import date

import dagster as dg

from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.jobs import INGESTION_TAGS
from research_lab.defs.marketdata.requests import RANGE_END_TAG, RANGE_START_TAG
from research_lab.defs.partitions import market_key, symbol_partitions
from research_lab.defs.resources import default_resources


def add_symbols(instance: dg.DagsterInstance, symbols: list[str]) -> list[str]:
    """Add the symbols the instance does not know yet; returns all symbols in partition order."""
    known = instance.get_dynamic_partitions(symbol_partitions.name)
    new = [s for s in dict.fromkeys(symbols) if s not in known]
    if new:
        instance.add_dynamic_partitions(symbol_partitions.name, new)
    return instance.get_dynamic_partitions(symbol_partitions.name)


def materialize_range(
    instance: dg.DagsterInstance,
    symbols: list[str],
    start: date,
    end: date,
    resources: dict | None = None,
    raise_on_error: bool = True,
    log_level: str = "INFO",
) -> dg.ExecuteInProcessResult:
    """One run over ``symbols`` × weekday partitions [start, end].

    ``symbols`` must be contiguous in the ``symbol`` partitions' order (one symbol always is).
    """
    add_symbols(instance, symbols)
    return dg.materialize(
        [market_data],
        instance=instance,
        resources=resources or default_resources(),
        tags={
            **INGESTION_TAGS,
            RANGE_START_TAG: str(market_key(symbols[0], start)),
            RANGE_END_TAG: str(market_key(symbols[-1], end)),
        },
        raise_on_error=raise_on_error,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
