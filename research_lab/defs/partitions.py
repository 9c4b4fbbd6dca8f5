"""Partition definitions, defined once and reused by assets, jobs, schedules and sensors.

- ``symbol``: dynamic; symbols are added at run time by the sensor, the CLI or the demo.
- ``session``: one per weekday in America/New_York (exchange holidays included: they
  materialize as empty partitions that say so). ``end_offset=1`` so that an evening schedule can
  ask for that same day's partition.
- ``market_partitions``: symbol × session; keys look like ``2024-01-02|ACME``.
"""

from datetime import date

import dagster as dg

SESSION_START = "2000-01-03"
SESSION_FMT = "%Y-%m-%d"
NEW_YORK = "America/New_York"

symbol_partitions = dg.DynamicPartitionsDefinition(name="symbol")

session_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    start=SESSION_START,
    fmt=SESSION_FMT,
    timezone=NEW_YORK,
    end_offset=1,
)

market_partitions = dg.MultiPartitionsDefinition(
    {"symbol": symbol_partitions, "session": session_partitions}
)


def market_key(symbol: str, session: date) -> str:
    """The multi-partition key string of one (symbol, session)."""
    return dg.MultiPartitionKey({"symbol": symbol, "session": session.strftime(SESSION_FMT)})


def split_market_key(key: str | dg.MultiPartitionKey) -> tuple[str, date]:
    """(symbol, session) of a multi-partition key."""
    if isinstance(key, dg.MultiPartitionKey):
        parts = key.keys_by_dimension
    else:
        parts = market_partitions.get_partition_key_from_str(key).keys_by_dimension
    return parts["symbol"], date.fromisoformat(parts["session"])
