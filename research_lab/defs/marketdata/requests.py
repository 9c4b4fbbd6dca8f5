"""Runs over a session range: the partitions (symbols × years), the run config and the tags.

A request for symbols × sessions [start, end] is one run over the rectangle of partitions
(first symbol, year of start) .. (last symbol, year of end), Dagster's range tags, with the run
config ``start``/``end`` that restricts each year partition to those sessions, and the session
range also as tags (:data:`START_TAG`, :data:`END_TAG`), from which the sensor reads what is in
flight. The symbols must be contiguous in the ``symbol`` partitions' order (one symbol always
is; ``group_requests`` only merges all known symbols, in that order).
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from research_lab.core.marketdata.planning import RangeRequest
from research_lab.defs.marketdata.jobs import INGESTION_TAGS
from research_lab.defs.partitions import market_key

# Dagster's run tags for a partition range (a RunRequest's range is read from these tags)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# the session range of a run (its config), readable without parsing the run config
START_TAG = "research_lab/start"
END_TAG = "research_lab/end"
SYMBOLS_TAG = "research_lab/symbols"


def range_tags(symbols: list[str] | tuple[str, ...], start: date, end: date) -> dict[str, str]:
    """The tags of a run over ``symbols`` (contiguous, in partition order) × [start, end]."""
    return {
        RANGE_START_TAG: str(market_key(symbols[0], start)),
        RANGE_END_TAG: str(market_key(symbols[-1], end)),
        START_TAG: start.isoformat(),
        END_TAG: end.isoformat(),
        SYMBOLS_TAG: ",".join(symbols)[:200],
    }


def session_config(start: date | None, end: date | None, *assets: str, **extra) -> dict:
    """Run config restricting each asset in ``assets`` (default ``market_data``) to sessions
    [start, end] of its partitions (``None``: the bound of the year); ``extra`` goes into each
    asset's config too (e.g. ``rescore=True``)."""
    config = {k: v for k, v in (("start", start and start.isoformat()),
                                ("end", end and end.isoformat())) if v is not None}
    config.update(extra)
    return {"ops": {name: {"config": dict(config)} for name in (assets or ("market_data",))}}


def to_run_request(request: RangeRequest, *, run_key_prefix: str) -> dg.RunRequest:
    """One run for ``request``: its symbols × the years of [start, end], restricted by config
    to those sessions."""
    return dg.RunRequest(
        run_key=f"{run_key_prefix}:{request.run_key}",
        run_config=session_config(request.start, request.end),
        tags={**INGESTION_TAGS, **range_tags(request.symbols, request.start, request.end)},
    )
