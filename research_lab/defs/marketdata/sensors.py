"""``market_data_sensor``: reacts to new market data at the source.

Each tick asks ``core.marketdata.discovery.discover`` what is new (new symbols, sessions past
each symbol's watermark, new or changed landing files of the csv source), adds new symbols to the
``symbol`` partitions and requests exactly the missing partitions, one run per range. The cursor
records what was requested, so nothing is requested twice.
"""


from datetime import date

import dagster as dg

from research_lab.core.settings import load_settings
from research_lab.defs.marketdata.jobs import market_data_job
from research_lab.defs.marketdata.requests import to_run_request
from research_lab.defs.partitions import SESSION_START, symbol_partitions
from research_lab.defs.resources import CalendarResource, SourceResource, StoreResource


def _now():
    """The evaluation instant as a UTC ``pd.Timestamp`` (a function so tests can set the clock)."""
    import pandas as pd

    return pd.Timestamp.now(tz="UTC")


@dg.sensor(
    job=market_data_job,
    minimum_interval_seconds=300,
    description="Requests market_data partitions for new symbols, sessions and landing files.",
)
def market_data_sensor(
    context: dg.SensorEvaluationContext,
    source: SourceResource,
    store: StoreResource,
    calendar: CalendarResource,
) -> dg.SensorResult:
    from research_lab.core.marketdata.discovery import DiscoveryCursor, discover

    known = context.instance.get_dynamic_partitions(symbol_partitions.name)
    now = _now()
    found = discover(
        source.get(),
        store.open(),
        calendar.get(),
        known,
        DiscoveryCursor.from_json(context.cursor),
        now,
        history_years=load_settings().history_years,
        earliest=date.fromisoformat(SESSION_START),
    )
    dynamic = (
        [symbol_partitions.build_add_request(list(found.new_symbols))] if found.new_symbols else []
    )
    requests = [to_run_request(r, run_key_prefix="sensor") for r in found.requests]
    if not requests and not dynamic:
        return dg.SensorResult(skip_reason="no new market data", cursor=found.cursor.to_json())
    context.log.info(
        f"{len(found.new_symbols)} new symbol(s), {found.partitions} partition(s) in "
        f"{len(requests)} run(s)"
    )
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=dynamic, cursor=found.cursor.to_json()
    )
