"""Materialize rectangles of ``market_data`` partitions in this process; add and remove symbols.

Used by the CLI (``research-lab data ingest|remove``, ``research-lab demo``) and the benchmarks;
the UI and the daemon do the same through backfills, which the single-run backfill policy also
runs as one run per range.

A run covers a rectangle: a range of the ``symbol`` partitions (in the instance's order) × the
``year`` partitions of a session range, with run config ``start``/``end`` restricting each year
to the range's sessions (``requests.session_config``). :func:`symbol_blocks` cuts a list of
symbols into as few contiguous blocks as the order allows, so that ingesting many symbols is
one run, not one per symbol (symbols added together are contiguous: new partitions are
appended).
"""

from datetime import date

import dagster as dg

from research_lab.core.marketdata.symbols import validate_symbols
from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.jobs import INGESTION_TAGS
from research_lab.defs.marketdata.requests import range_tags, session_config
from research_lab.defs.partitions import symbol_partitions
from research_lab.defs.resources import default_resources


def add_symbols(instance: dg.DagsterInstance, symbols: list[str]) -> list[str]:
    """Add the symbols the instance does not know yet (each validated first: a bad name adds
    nothing); returns all symbols in partition order."""
    wanted = validate_symbols(symbols)
    known = set(instance.get_dynamic_partitions(symbol_partitions.name))
    new = [s for s in wanted if s not in known]
    if new:
        instance.add_dynamic_partitions(symbol_partitions.name, new)
    return instance.get_dynamic_partitions(symbol_partitions.name)


def remove_symbol(instance: dg.DagsterInstance, symbol: str, *, store=None) -> dict:
    """Remove ``symbol`` from the ``symbol`` partitions; with ``store``, also delete its bars,
    anomaly scores and quarantined rows. ``ValueError`` when neither knows the symbol."""
    from research_lab.core.marketdata.symbols import validate_symbol

    sym = validate_symbol(symbol)
    known = sym in instance.get_dynamic_partitions(symbol_partitions.name)
    stored = store is not None and sym in store.symbols()
    if not known and not stored:
        raise ValueError(f"symbol {sym!r} is not registered in the Dagster instance"
                         + (" nor stored" if store is not None else ""))
    if known:
        instance.delete_dynamic_partition(symbol_partitions.name, sym)
    bars = store.delete_symbol(sym) if stored else 0
    return {"symbol": sym, "partition_removed": known, "bars_deleted": bars}


def symbol_blocks(order: list[str], symbols: list[str]) -> list[list[str]]:
    """``symbols`` cut into maximal runs that are contiguous in ``order`` (partition order)."""
    wanted = set(symbols)
    blocks: list[list[str]] = []
    current: list[str] = []
    for s in order:
        if s in wanted:
            current.append(s)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def materialize_range(
    instance: dg.DagsterInstance,
    symbols: list[str],
    start: date,
    end: date,
    resources: dict | None = None,
    raise_on_error: bool = True,
    log_level: str = "INFO",
) -> dg.ExecuteInProcessResult:
    """One run over ``symbols`` × the years of [start, end], ingesting sessions [start, end].

    ``symbols`` must be contiguous in the ``symbol`` partitions' order (one symbol always is;
    see :func:`symbol_blocks`).
    """
    order = add_symbols(instance, symbols)
    block = [s for s in order if s in set(symbols)]
    return dg.materialize(
        [market_data],
        instance=instance,
        resources=resources or default_resources(),
        tags={**INGESTION_TAGS, **range_tags(block, start, end)},
        raise_on_error=raise_on_error,
        run_config={**session_config(start, end),
                    "loggers": {"console": {"config": {"log_level": log_level}}}},
    )
