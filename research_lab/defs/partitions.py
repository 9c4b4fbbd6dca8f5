"""Partition definitions, defined once and reused by assets, jobs, schedules and sensors.

- ``symbol``: dynamic; symbols are added at run time by the sensor, the CLI or the demo.
- ``year``: one per calendar year since 2000 in America/New_York, ``end_offset=1`` so that the
  current year is a partition (the evening schedule ingests today into it).
- ``market_partitions``: symbol × year; keys look like ``ACME|2024`` (Dagster orders the
  dimensions by name). 500 symbols × 27 years = 13,500 partitions, within Dagster's guidance of
  100,000 per asset (symbol × session was 2.6 million: docs/architecture.md, "Partition design
  at scale").

Each session of a year partition is kept in the store's ledger (one row per dataset, symbol and
session: rows, data version, source, written_at) and shown in the year partition's metadata. A
run reads the sessions it works on from its partitions and its run config's ``start``/``end``
(:func:`sessions_of_keys`): so one symbol's one session is the partition ``ACME|2024`` with
``start = end = 2024-06-04``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

import dagster as dg

SESSION_START = "2000-01-03"  # the first weekday of the first year partition
YEAR_START = "2000"
YEAR_FMT = "%Y"
NEW_YORK = "America/New_York"

symbol_partitions = dg.DynamicPartitionsDefinition(name="symbol")

year_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *",
    start=YEAR_START,
    fmt=YEAR_FMT,
    timezone=NEW_YORK,
    end_offset=1,
)

market_partitions = dg.MultiPartitionsDefinition(
    {"symbol": symbol_partitions, "year": year_partitions}
)


def year_of(session: date | int) -> int:
    """The year partition a session belongs to (an int passes through)."""
    return session if isinstance(session, int) else session.year


def market_key(symbol: str, year: int | date) -> dg.MultiPartitionKey:
    """The multi-partition key of (symbol, year); a session stands for its year."""
    return dg.MultiPartitionKey({"symbol": symbol, "year": str(year_of(year))})


def split_market_key(key: str | dg.MultiPartitionKey) -> tuple[str, int]:
    """(symbol, year) of a multi-partition key."""
    if isinstance(key, dg.MultiPartitionKey):
        parts = key.keys_by_dimension
    else:
        parts = market_partitions.get_partition_key_from_str(key).keys_by_dimension
    return parts["symbol"], int(parts["year"])


def years_between(start: date, end: date) -> list[int]:
    """The year partitions a session range [start, end] touches."""
    return list(range(start.year, end.year + 1))


def sessions_of_year(year: int, start: date | None = None, end: date | None = None) -> list[date]:
    """The weekdays of ``year`` within [start, end] (either bound optional)."""
    from research_lab.core.marketdata.planning import weekdays

    first, last = date(year, 1, 1), date(year, 12, 31)
    return weekdays(max(first, start) if start else first, min(last, end) if end else last)


def years_of_keys(keys: Iterable[str | dg.MultiPartitionKey]) -> dict[str, list[int]]:
    """``{symbol: [years]}`` of partition keys, sorted."""
    out: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        symbol, year = split_market_key(key)
        out[symbol].add(year)
    return {s: sorted(years) for s, years in out.items()}


def sessions_of_keys(
    keys: Iterable[str | dg.MultiPartitionKey], start: date | None = None, end: date | None = None
) -> dict[str, list[date]]:
    """``{symbol: [sessions]}``: the weekdays of each key's year within [start, end]; a symbol
    whose years hold none of them is left out."""
    out = {}
    for symbol, years in years_of_keys(keys).items():
        days = [d for y in years for d in sessions_of_year(y, start, end)]
        if days:
            out[symbol] = days
    return out
