"""nightly_ingest_schedule ticked with build_schedule_context, and its request executed."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from research_lab.defs.marketdata.requests import RANGE_END_TAG, RANGE_START_TAG
from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.schedules import nightly_ingest_schedule
from research_lab.defs.partitions import split_market_key
from research_lab.defs.resources import StoreResource, default_resources

NY = ZoneInfo("America/New_York")


def _tick(instance, when):
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources={"store": StoreResource()}
    ) as ctx:
        return nightly_ingest_schedule(ctx)


def test_skips_without_symbols(lab_env, instance):
    result = _tick(instance, datetime(2024, 6, 10, 18, 30, tzinfo=NY))
    assert isinstance(result, dg.SkipReason)


def test_today_for_all_symbols_in_one_run_plus_gaps(lab_env, instance, store):
    instance.add_dynamic_partitions("symbol", ["ACME", "GLOBEX"])
    # ACME has the whole look-back window but 2024-06-05; GLOBEX has nothing yet
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.defs.resources import SourceResource

    src = SourceResource().get()
    days = [d for d in weekdays(date(2023, 1, 2), date(2024, 6, 7)) if d != date(2024, 6, 5)]
    bars = src.fetch("ACME", days[0], days[-1])
    bars = bars[bars["session"].dt.date.isin(set(days))]
    store.write_partitions("ACME", days, bars, source="synthetic")

    requests = _tick(instance, datetime(2024, 6, 10, 18, 30, tzinfo=NY))
    rects = [
        (*(s for s, _ in map(split_market_key, (r.partition_key_range.start,
                                                 r.partition_key_range.end))),
         split_market_key(r.partition_key_range.start)[1],
         split_market_key(r.partition_key_range.end)[1])
        for r in requests
    ]
    assert rects[0] == ("ACME", "GLOBEX", date(2024, 6, 10), date(2024, 6, 10))
    assert ("ACME", "ACME", date(2024, 6, 5), date(2024, 6, 5)) in rects
    globex = [r for r in rects if r[0] == "GLOBEX" and r[1] == "GLOBEX"]
    assert len(globex) == 1 and globex[0][3] == date(2024, 6, 7)
    assert len(requests) == 3
    assert len({r.run_key for r in requests}) == 3

    # the first request, run as Dagster runs it (range tags), ingests both symbols in one run
    first = requests[0]
    result = dg.materialize(
        [market_data], instance=instance, resources=default_resources(),
        tags={RANGE_START_TAG: first.partition_key_range.start,
              RANGE_END_TAG: first.partition_key_range.end},
    )
    assert result.success
    assert store.last_session("GLOBEX") == date(2024, 6, 10)
    assert store.last_session("ACME") == date(2024, 6, 10)
