"""market_data_sensor ticked with build_sensor_context against a real embedded store."""

from datetime import date

import dagster as dg
import pandas as pd
import pytest

from research_lab.defs.marketdata import sensors
from research_lab.defs.marketdata.sensors import market_data_sensor
from research_lab.defs.resources import CalendarResource, SourceResource, StoreResource
from research_lab_tests.defs.rects import rect


def _tick(instance, cursor, now, monkeypatch, source=None):
    monkeypatch.setattr(sensors, "_now", lambda: pd.Timestamp(now))
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "source": source or SourceResource(),
            "store": StoreResource(),
            "calendar": CalendarResource(),
        },
    ) as ctx:
        return market_data_sensor(ctx)


def _rect(run_request):
    return rect(run_request)


def test_new_symbols_are_added_and_requested_once(lab_env, instance, monkeypatch):
    result = _tick(instance, None, "2024-06-10 21:00Z", monkeypatch)
    assert [r.partitions_def_name for r in result.dynamic_partitions_requests] == ["symbol"]
    universe = ["ACME", "GLOBEX", "^GSPC", "^VIX"]  # the synthetic source adds its two indexes
    assert list(result.dynamic_partitions_requests[0].partition_keys) == universe
    assert len(result.run_requests) == 1, "all symbols share one range: one run"
    s0, s1, d0, d1 = _rect(result.run_requests[0])
    assert (s0, s1) == ("ACME", "^VIX")
    assert d1 == date(2024, 6, 10)
    # one run over the symbols' year partitions 2022..2024
    rng = result.run_requests[0].partition_key_range
    assert (rng.start, rng.end) == ("ACME|2022", "^VIX|2024")
    assert date(2022, 6, 1) <= d0 <= date(2022, 6, 13)
    assert result.run_requests[0].tags["research_lab/kind"] == "ingestion"

    instance.add_dynamic_partitions("symbol", universe)
    again = _tick(instance, result.cursor, "2024-06-10 23:00Z", monkeypatch)
    assert not again.run_requests, "nothing is requested twice"

    # the next session closes: exactly that session, for both symbols, in one run
    nxt = _tick(instance, again.cursor, "2024-06-11 20:30Z", monkeypatch)
    assert len(nxt.run_requests) == 1
    assert _rect(nxt.run_requests[0]) == ("ACME", "^VIX", date(2024, 6, 11), date(2024, 6, 11))


def test_before_the_close_the_session_is_not_requested(lab_env, instance, monkeypatch):
    instance.add_dynamic_partitions("symbol", ["ACME", "GLOBEX", "^GSPC", "^VIX"])
    first = _tick(instance, None, "2024-06-10 21:00Z", monkeypatch)
    mid = _tick(instance, first.cursor, "2024-06-11 15:00Z", monkeypatch)  # 11:00 New York
    assert not mid.run_requests


def _write_csv(path, rows):
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    lines += [f"{d},10,11,9,10.5,10.5,1000" for d in rows]
    path.write_text("\n".join(lines) + "\n")


def test_landing_files_request_exactly_the_missing_partitions(lab_env, instance, tmp_path,
                                                              monkeypatch, store):
    landing = tmp_path / "landing"
    landing.mkdir()
    _write_csv(landing / "acme.csv", ["2024-06-03", "2024-06-04", "2024-06-05"])
    source = SourceResource(kind="csv", csv_dir=str(landing))
    now = "2024-06-14 21:00Z"

    first = _tick(instance, None, now, monkeypatch, source)
    assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["ACME"]]
    assert [_rect(r) for r in first.run_requests] == [
        ("ACME", "ACME", date(2024, 6, 3), date(2024, 6, 5))
    ]
    instance.add_dynamic_partitions("symbol", ["ACME"])
    assert not _tick(instance, first.cursor, now, monkeypatch, source).run_requests

    # the run happened: the store has those sessions; the file grows by two sessions
    from research_lab.core.marketdata.sources import make_source

    src = source.get()
    days = [date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 5)]
    store.write_partitions("ACME", days, src.fetch("ACME", days[0], days[-1]), source="csv")
    _write_csv(landing / "acme.csv",
               ["2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06", "2024-06-07"])
    _write_csv(landing / "globex.csv", ["2024-06-07"])
    grown = _tick(instance, first.cursor, now, monkeypatch, source)
    assert sorted(_rect(r) for r in grown.run_requests) == [
        ("ACME", "ACME", date(2024, 6, 6), date(2024, 6, 7)),
        ("GLOBEX", "GLOBEX", date(2024, 6, 7), date(2024, 6, 7)),
    ]
    assert [list(r.partition_keys) for r in grown.dynamic_partitions_requests] == [["GLOBEX"]]
    assert make_source  # the factory is the public way in
