"""``market_data_sensor``: reacts to new market data at the source.

Each tick asks ``core.marketdata.discovery.discover`` what is new (new symbols, sessions past
each symbol's watermark, new or changed landing files of the csv source), adds new symbols to the
``symbol`` partitions and requests exactly the missing sessions, one run per range (its
symbols × the years of the range, with run config ``start``/``end``: ``requests.py``). The cursor
records what was requested, so nothing is requested twice, and the partitions of ingestion
runs still queued or running (their symbols and session range, read from the run tags) are
never requested again (:func:`in_flight_rectangles`). A
changed landing file is compared with the store session by session, so a corrected price is
re-ingested. Names the source offers that are not valid symbols are logged, never registered.
"""


from datetime import date

import dagster as dg

from research_lab.core.settings import load_settings
from research_lab.defs.marketdata.jobs import INGESTION_TAGS, market_data_job
from research_lab.defs.marketdata.requests import to_run_request
from research_lab.defs.partitions import SESSION_START, symbol_partitions
from research_lab.defs.resources import CalendarResource, SourceResource, StoreResource


IN_FLIGHT = (
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
)


def in_flight_rectangles(instance: dg.DagsterInstance) -> list[tuple[frozenset, date, date]]:
    """(symbols, first, last session) of every ingestion run not finished yet: the symbols
    from the run's partition range, the sessions from its session tags (a run without them,
    e.g. one launched from the UI, covers its years)."""
    from research_lab.defs.marketdata.requests import (
        END_TAG,
        RANGE_END_TAG,
        RANGE_START_TAG,
        START_TAG,
    )
    from research_lab.defs.partitions import split_market_key

    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=list(IN_FLIGHT), tags=INGESTION_TAGS), limit=1000
    )
    order = instance.get_dynamic_partitions(symbol_partitions.name)
    out = []
    for run in runs:
        tags = run.tags
        if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
            (s0, y0), (s1, y1) = map(split_market_key, (tags[RANGE_START_TAG], tags[RANGE_END_TAG]))
        elif "dagster/partition" in tags:
            s0, y0 = s1, y1 = split_market_key(tags["dagster/partition"])
        else:
            continue
        d0 = date.fromisoformat(tags[START_TAG]) if START_TAG in tags else date(y0, 1, 1)
        d1 = date.fromisoformat(tags[END_TAG]) if END_TAG in tags else date(y1, 12, 31)
        i, j = (order.index(s0), order.index(s1)) if s0 in order and s1 in order else (0, -1)
        out.append((frozenset(order[i:j + 1] or [s0, s1]), d0, d1))
    return out


def _now():
    """The evaluation instant as a UTC ``pd.Timestamp`` (a function so tests can set the clock)."""
    from research_lab.core.marketdata.ingest import utc_now

    return utc_now()


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
        in_flight=in_flight_rectangles(context.instance),
    )
    for problem in found.invalid_symbols:
        context.log.warning(f"source offers symbol {problem}: not registered")
    dynamic = (
        [symbol_partitions.build_add_request(list(found.new_symbols))] if found.new_symbols else []
    )
    requests = [to_run_request(r, run_key_prefix="sensor") for r in found.requests]
    if not requests and not dynamic:
        return dg.SensorResult(skip_reason="no new market data", cursor=found.cursor.to_json())
    context.log.info(
        f"{len(found.new_symbols)} new symbol(s), {found.partitions} session(s) in "
        f"{len(requests)} run(s)"
    )
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=dynamic, cursor=found.cursor.to_json()
    )
