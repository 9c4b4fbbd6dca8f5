"""Turn core ``RangeRequest``s into Dagster run requests (one run per rectangle of partitions)."""

from __future__ import annotations

import dagster as dg

from research_lab.core.marketdata.planning import RangeRequest
from research_lab.defs.marketdata.jobs import INGESTION_TAGS
from research_lab.defs.partitions import market_key

# Dagster's run tags for a partition range (a RunRequest's range is read from these tags)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def to_run_request(request: RangeRequest, *, run_key_prefix: str) -> dg.RunRequest:
    """One run for ``request``: the range from (first symbol, start) to (last symbol, end).

    The symbols of a multi-symbol request must be contiguous in the ``symbol`` partitions' order
    (``group_requests`` only merges all known symbols, in that order).
    """
    return dg.RunRequest(
        run_key=f"{run_key_prefix}:{request.run_key}",
        tags={
            **INGESTION_TAGS,
            RANGE_START_TAG: str(market_key(request.symbols[0], request.start)),
            RANGE_END_TAG: str(market_key(request.symbols[-1], request.end)),
            "research_lab/symbols": ",".join(request.symbols)[:200],
        },
    )
