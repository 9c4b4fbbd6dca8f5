"""nightly_ingest_schedule ticked with build_schedule_context, and its request executed."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.schedules import nightly_ingest_schedule
from research_lab.defs.partitions import market_key, market_partitions
from research_lab.defs.resources import CalendarResource, StoreResource, default_resources
from research_lab_tests.defs.rects import rect

NY = ZoneInfo("America/New_York")


def _tick(instance, when):
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when,
        resources={"store": StoreResource(), "calendar": CalendarResource()},
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
    rects = [rect(r) for r in requests]
    assert rects[0] == ("ACME", "GLOBEX", date(2024, 6, 10), date(2024, 6, 10))
    assert ("ACME", "ACME", date(2024, 6, 5), date(2024, 6, 5)) in rects
    globex = [r for r in rects if r[0] == "GLOBEX" and r[1] == "GLOBEX"]
    assert len(globex) == 1 and globex[0][3] == date(2024, 6, 7)
    assert len(requests) == 3
    assert len({r.run_key for r in requests}) == 3

    # the first request, run as Dagster runs it (range tags, run config), ingests both symbols'
    # day in one run over their 2024 partitions, and touches no other session
    first = requests[0]
    assert (first.partition_key_range.start, first.partition_key_range.end) == (
        "ACME|2024", "GLOBEX|2024")
    before = store.partitions("ACME")
    result = dg.materialize(
        [market_data], instance=instance, resources=default_resources(),
        tags=first.tags, run_config=first.run_config,
    )
    assert result.success
    assert store.sessions("GLOBEX") == [date(2024, 6, 10)]
    assert store.last_session("ACME") == date(2024, 6, 10)
    after = store.partitions("ACME")
    assert len(after) == len(before) + 1
    assert after.iloc[:-1]["written_at"].equals(before["written_at"])


def _rect(request):
    return rect(request)


def _run(instance, request, **kwargs):
    """The request run as the daemon runs it: market_data_job with the request's tags and
    run config."""
    from research_lab.definitions import defs

    job = defs.resolve_job_def("market_data_job")
    return job.execute_in_process(instance=instance, tags=request.tags,
                                  run_config=request.run_config, **kwargs)


def test_an_exchange_holiday_is_requested_the_next_evening_not_the_same(lab_env, instance, store):
    """July 4th 2024 (Thursday) is no session: at 18:30 that day has not ended, so no run for it
    (the asset would refuse it); on Friday evening it comes as a gap, with Friday itself."""
    instance.add_dynamic_partitions("symbol", ["ACME"])
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.defs.resources import SourceResource

    days = weekdays(date(2023, 1, 2), date(2024, 7, 3))
    store.write_partitions("ACME", days, SourceResource().get().fetch("ACME", days[0], days[-1]),
                           source="synthetic")
    holiday = _tick(instance, datetime(2024, 7, 4, 18, 30, tzinfo=NY))
    assert isinstance(holiday, dg.SkipReason) and "2024-07-04" in holiday.skip_message
    friday = _tick(instance, datetime(2024, 7, 5, 18, 30, tzinfo=NY))
    assert sorted(_rect(r) for r in friday) == [
        ("ACME", "ACME", date(2024, 7, 4), date(2024, 7, 4)),
        ("ACME", "ACME", date(2024, 7, 5), date(2024, 7, 5)),
    ]


def test_an_unserved_symbol_fails_alone_in_the_nightly_run(lab_env, instance, store):
    """BOGUS (a typo, a delisting) is registered but the source does not serve it: the nightly
    run of every symbol stores ACME and GLOBEX and materializes their year partitions, and
    marks BOGUS's partition failed with the reason."""
    instance.add_dynamic_partitions("symbol", ["ACME", "BOGUS", "GLOBEX"])
    requests = _tick(instance, datetime(2024, 6, 10, 18, 30, tzinfo=NY))
    tonight = requests[0]
    assert _rect(tonight) == ("ACME", "GLOBEX", date(2024, 6, 10), date(2024, 6, 10))

    result = _run(instance, tonight, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "1 symbol(s) failed" in message and "BOGUS (1 sessions)" in message
    assert "no symbol 'BOGUS'" in message
    day = date(2024, 6, 10)
    keys = {s: str(market_key(s, day)) for s in ("ACME", "BOGUS", "GLOBEX")}
    assert keys["BOGUS"] == "BOGUS|2024"
    status = instance.get_status_by_partition(
        dg.AssetKey("market_data"), partition_keys=list(keys.values()),
        partitions_def=market_partitions)
    assert status[keys["ACME"]] == dg.AssetPartitionStatus.MATERIALIZED
    assert status[keys["GLOBEX"]] == dg.AssetPartitionStatus.MATERIALIZED
    assert status[keys["BOGUS"]] == dg.AssetPartitionStatus.FAILED
    assert store.last_session("ACME") == day and store.last_session("GLOBEX") == day
    assert store.sessions("BOGUS") == []

    # the next evening: the others get their day; BOGUS's failed day stays a gap, requested
    # for BOGUS alone (the others' gap runs are not held back by it)
    later = [_rect(r) for r in _tick(instance, datetime(2024, 6, 11, 18, 30, tzinfo=NY))]
    assert later[0] == ("ACME", "GLOBEX", date(2024, 6, 11), date(2024, 6, 11))
    bogus = [r for r in later if r[0] == "BOGUS"]
    assert bogus and bogus[0][1] == "BOGUS" and bogus[0][3] == day


def test_the_nightly_run_of_many_symbols_is_one_run_of_one_session_each(lab_env, instance,
                                                                        store, monkeypatch):
    """20 symbols, each stored up to the day before: the evening's request is ONE run over
    their 2024 partitions with config start = end = that day, and it writes exactly one session
    per symbol."""
    from research_lab.core.marketdata.planning import weekdays
    from research_lab.defs.resources import SourceResource

    symbols = [f"S{i:02d}" for i in range(20)]
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", ",".join(symbols))
    instance.add_dynamic_partitions("symbol", symbols)
    src = SourceResource().get()
    days = weekdays(date(2023, 6, 1), date(2024, 6, 7))
    for s in symbols:
        store.write_partitions(s, days, src.fetch(s, days[0], days[-1]), source="synthetic")

    requests = _tick(instance, datetime(2024, 6, 10, 18, 30, tzinfo=NY))
    assert isinstance(requests, list) and len(requests) == 1
    assert _rect(requests[0]) == ("S00", "S19", date(2024, 6, 10), date(2024, 6, 10))
    from research_lab.definitions import defs

    job = defs.resolve_job_def("market_data_job")
    result = job.execute_in_process(
        instance=instance, tags=requests[0].tags, run_config=requests[0].run_config)
    assert result.success
    mats = result.asset_materializations_for_node("market_data")
    assert sorted(m.partition for m in mats) == [f"{s}|2024" for s in symbols]
    assert {m.metadata["sessions_written"].value for m in mats} == {1}
    for s in symbols:
        assert store.sessions(s)[-1] == date(2024, 6, 10)
        assert len(store.sessions(s)) == len(days) + 1
