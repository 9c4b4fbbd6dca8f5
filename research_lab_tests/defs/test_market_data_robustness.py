"""market_data (symbol × year) on a temporary instance: one bad symbol, bad rows, removal,
per-year-partition metadata, partitions that have not closed, and the sensor picking up a
corrected price (also one made while the run re-ingesting the previous one was in flight)."""

from datetime import date

import dagster as dg
import pandas as pd
import pytest

from research_lab.defs.marketdata import sensors
from research_lab.defs.marketdata.backfill import add_symbols, materialize_range, remove_symbol
from research_lab.defs.marketdata.sensors import in_flight_rectangles, market_data_sensor
from research_lab.defs.partitions import market_key, market_partitions
from research_lab.defs.resources import (
    CalendarResource,
    SourceResource,
    StoreResource,
    default_resources,
)
from research_lab_tests.defs.rects import rect

MARKET = dg.AssetKey("market_data")


def _status(instance, keys):
    return instance.get_status_by_partition(MARKET, partition_keys=keys,
                                            partitions_def=market_partitions)


def _materializations(instance):
    records = instance.fetch_materializations(MARKET, limit=1000).records
    return {r.partition_key: r.asset_materialization for r in records}


def test_an_unserved_symbol_fails_alone_in_a_nightly_run(lab_env, instance, store):
    """BOGUS is not offered by the source: ACME and GLOBEX are stored and materialized, BOGUS's
    partitions are marked failed and the failure names it."""
    add_symbols(instance, ["ACME", "BOGUS", "GLOBEX"])
    day = date(2024, 6, 4)
    result = materialize_range(instance, ["ACME", "BOGUS", "GLOBEX"], day, day,
                               raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "BOGUS" in failure.event_specific_data.error.message
    assert "synthetic source has no symbol 'BOGUS'" in failure.event_specific_data.error.message
    keys = [str(market_key(s, day)) for s in ("ACME", "BOGUS", "GLOBEX")]
    status = _status(instance, keys)
    assert status[keys[0]] == dg.AssetPartitionStatus.MATERIALIZED
    assert status[keys[1]] == dg.AssetPartitionStatus.FAILED
    assert status[keys[2]] == dg.AssetPartitionStatus.MATERIALIZED
    assert store.sessions("ACME") == [day] and store.sessions("GLOBEX") == [day]
    assert store.sessions("BOGUS") == []
    mats = _materializations(instance)
    assert mats[keys[0]].tags["dagster/data_version"] == mats[keys[0]].metadata["data_version"].value
    assert mats[keys[0]].metadata["rows"].value == 1


def test_each_year_partition_of_a_range_run_has_its_own_metadata(lab_env, instance, store):
    """2023-12-18..2024-01-12 for ACME: ACME|2023 and ACME|2024 each record their own sessions,
    rows, first/last session and version (a holiday in each: Dec 25th, Jan 1st)."""
    result = materialize_range(instance, ["ACME"], date(2023, 12, 18), date(2024, 1, 12))
    assert result.success
    mats = _materializations(instance)
    assert sorted(mats) == ["ACME|2023", "ACME|2024"]
    old, new = mats["ACME|2023"].metadata, mats["ACME|2024"].metadata
    assert (old["sessions_written"].value, old["rows"].value) == (10, 9)
    assert (new["sessions_written"].value, new["rows"].value) == (10, 9)
    assert (old["first_session"].value, old["last_session"].value) == ("2023-12-18",
                                                                       "2023-12-29")
    assert (new["first_session"].value, new["last_session"].value) == ("2024-01-02",
                                                                       "2024-01-12")
    for mat, day in ((mats["ACME|2023"], date(2023, 12, 29)), (mats["ACME|2024"],
                                                               date(2024, 1, 12))):
        ts = pd.Timestamp(mat.metadata["last_timestamp"].value, unit="s", tz="UTC")
        assert ts.tz_convert("America/New_York").date() == day
        assert mat.tags["dagster/data_version"] == mat.metadata["data_version"].value
    assert old["data_version"].value != new["data_version"].value
    assert old["missing_sessions"].value > 200  # the rest of 2023 was never ingested


def _landing(tmp_path, csv_text: str) -> dict:
    """The default resources with a csv source whose landing folder holds ``acme.csv``."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "acme.csv").write_text(csv_text)
    return {**default_resources(), "source": SourceResource(kind="csv", csv_dir=str(landing))}


def test_bad_rows_are_quarantined_and_fail_schema_ohlc(lab_env, instance, store, tmp_path):
    resources = _landing(tmp_path,
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-06-03,10,11,9,10.5,10.5,1000\n"
        "2024-06-04,10,8,9,10.5,10.5,1000\n"
        "2024-06-05,10,11,9,10.5,10.5,1000\n"
    )
    result = materialize_range(instance, ["ACME"], date(2024, 6, 3), date(2024, 6, 5),
                               resources=resources, raise_on_error=False)
    assert result.success, "a bad row does not fail the run"
    assert len(store.read_bars("ACME")) == 2
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["schema_ohlc"].passed
    assert "line 3" in checks["schema_ohlc"].metadata["details"].value
    bad = _materializations(instance)["ACME|2024"]
    assert bad.metadata["quarantined_rows"].value == 1
    assert "below low" in bad.metadata["quarantine"].value
    assert bad.metadata["rows"].value == 2 and bad.metadata["sessions_stored"].value == 3


def test_bad_rows_in_several_years_each_stay_in_their_own_year_partition(
        lab_env, instance, store, tmp_path):
    resources = _landing(tmp_path,
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2005-03-01,10,11,9,10.5,10.5,1000\n"
        "2005-03-02,10,8,9,10.5,10.5,1000\n"      # line 3: high below low
        "2006-05-01,10,11,9,10.5,10.5,1000\n"
        "2007-06-01,0,11,9,10.5,10.5,1000\n"      # line 5: zero open
        "2007-06-04,10,11,9,10.5,10.5,1000\n"
    )
    result = materialize_range(instance, ["ACME"], date(2005, 3, 1), date(2007, 6, 4),
                               resources=resources, raise_on_error=False)
    assert result.success, "bad rows in two years do not fail the run"
    assert len(store.read_bars("ACME")) == 3
    details = {e.check_name: e for e in result.get_asset_check_evaluations()}["schema_ohlc"]
    assert not details.passed
    assert "line 3" in details.metadata["details"].value
    assert "line 5" in details.metadata["details"].value  # every bad row named, not the first
    mats = _materializations(instance)
    assert mats["ACME|2005"].metadata["quarantined_rows"].value == 1
    assert "below low" in mats["ACME|2005"].metadata["quarantine"].value
    assert "quarantined_rows" not in mats["ACME|2006"].metadata
    assert mats["ACME|2006"].metadata["rows"].value == 1
    assert mats["ACME|2007"].metadata["quarantined_rows"].value == 1
    assert "line 5" in mats["ACME|2007"].metadata["quarantine"].value
    assert "line 3" not in mats["ACME|2007"].metadata["quarantine"].value


def test_remove_symbol_from_partitions_and_with_purge_from_the_store(lab_env, instance, store):
    from research_lab.core.marketdata.store import read_scores, write_scores

    materialize_range(instance, ["ACME", "GLOBEX"], date(2024, 6, 3), date(2024, 6, 4))
    remove_symbol(instance, "GLOBEX")
    assert instance.get_dynamic_partitions("symbol") == ["ACME"]
    assert len(store.sessions("GLOBEX")) == 2, "without purge the bars stay"

    write_scores(store, "ACME", [date(2024, 6, 3)], pd.DataFrame({
        "symbol": ["ACME"], "session": [pd.Timestamp("2024-06-03")], "bars_version": ["x"],
        "severity": ["info"], "reasons": ["[]"], "rules": [""], "jump_z": [0.0],
        "price_ratio": [1.0], "if_score": [0.1], "prophet_close_z": [0.0],
        "prophet_volume_z": [0.0], "thresholds": ["t"]}))
    done = remove_symbol(instance, "acme", store=store)
    assert done == {"symbol": "ACME", "partition_removed": True, "bars_deleted": 2}
    assert instance.get_dynamic_partitions("symbol") == []
    assert store.read_bars("ACME").empty and read_scores(store, "ACME").empty
    with pytest.raises(ValueError, match="'NOPE' is not registered"):
        remove_symbol(instance, "NOPE")


def test_a_bad_symbol_name_registers_nothing(lab_env, instance):
    with pytest.raises(ValueError, match="'B\\|C' contains '\\|'"):
        add_symbols(instance, ["ACME", "B|C"])
    assert instance.get_dynamic_partitions("symbol") == []


def _tick(instance, cursor, now, monkeypatch, source):
    monkeypatch.setattr(sensors, "_now", lambda: pd.Timestamp(now))
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        "source": source, "store": StoreResource(), "calendar": CalendarResource(),
    }) as ctx:
        return market_data_sensor(ctx)


def _rects(result):
    return [rect(r) for r in result.run_requests]


def _frozen_csv(landing, close):
    """A csv source reading a copy of ``landing`` whose June 4th close is ``close`` (what a run
    that read the file before the last edit saw)."""
    copy = landing.parent / f"seen-{close}"
    copy.mkdir(exist_ok=True)
    text = (landing / "acme.csv").read_text().splitlines()
    text[-1] = f"2024-06-04,10,11,9,{close},{close},1000"
    (copy / "acme.csv").write_text("\n".join(text) + "\n")
    return SourceResource(kind="csv", csv_dir=str(copy))


def test_sensor_reingests_a_corrected_price_and_skips_ranges_in_flight(
        lab_env, instance, store, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    csv = landing / "acme.csv"
    header = "Date,Open,High,Low,Close,Adj Close,Volume\n"
    csv.write_text(header + "2024-06-03,10,11,9,10.5,10.5,1000\n2024-06-04,10,11,9,10.6,10.6,1000\n")
    source = SourceResource(kind="csv", csv_dir=str(landing))
    now = "2024-06-14 21:00Z"
    first = _tick(instance, None, now, monkeypatch, source)
    assert _rects(first) == [("ACME", "ACME", date(2024, 6, 3), date(2024, 6, 4))]
    resources = {**default_resources(), "source": source}
    assert materialize_range(instance, ["ACME"], date(2024, 6, 3), date(2024, 6, 4),
                             resources=resources).success

    # the vendor corrects the close of June 4th: exactly that session, under a new run key
    csv.write_text(header + "2024-06-03,10,11,9,10.5,10.5,1000\n2024-06-04,10,11,9,10.7,10.7,1000\n")
    fixed = _tick(instance, first.cursor, now, monkeypatch, source)
    assert _rects(fixed) == [("ACME", "ACME", date(2024, 6, 4), date(2024, 6, 4))]
    assert fixed.run_requests[0].run_key != first.run_requests[0].run_key

    # while that run is queued, a further edit does not request the same session again
    monkeypatch.setattr(sensors, "in_flight_rectangles",
                        lambda inst: [(frozenset({"ACME"}), date(2024, 6, 4), date(2024, 6, 4))])
    csv.write_text(header + "2024-06-03,10,11,9,10.5,10.5,1000\n2024-06-04,10,11,9,10.8,10.8,1000\n")
    busy = _tick(instance, fixed.cursor, now, monkeypatch, source)
    assert not busy.run_requests
    # that run ends having read the file before the last edit (the store holds 10.7): the next
    # tick compares the file with the store again and requests the session, under a new key
    assert materialize_range(instance, ["ACME"], date(2024, 6, 4), date(2024, 6, 4),
                             resources={**resources, "source": _frozen_csv(landing, 10.7)}).success
    assert store.read_bars("ACME")["close"].iloc[-1] == 10.7
    monkeypatch.setattr(sensors, "in_flight_rectangles", lambda inst: [])
    after = _tick(instance, busy.cursor, now, monkeypatch, source)
    assert _rects(after) == [("ACME", "ACME", date(2024, 6, 4), date(2024, 6, 4))]
    assert after.run_requests[0].run_key not in {fixed.run_requests[0].run_key}
    # once seen and ingested, the same file is not requested again
    assert materialize_range(instance, ["ACME"], date(2024, 6, 4), date(2024, 6, 4),
                             resources=resources).success
    assert not _tick(instance, after.cursor, now, monkeypatch, source).run_requests
    # materialize the correction: the store now holds the new close
    assert materialize_range(instance, ["ACME"], date(2024, 6, 4), date(2024, 6, 4),
                             resources=resources).success
    assert store.read_bars("ACME")["close"].iloc[-1] == 10.8


def test_queued_and_running_ingestion_runs_are_in_flight(lab_env, instance):
    from dagster._core.test_utils import create_run_for_test

    from research_lab.defs.marketdata.requests import RANGE_END_TAG, range_tags

    add_symbols(instance, ["ACME", "GLOBEX", "INITECH"])
    tags = {"research_lab/kind": "ingestion",
            **range_tags(["ACME", "GLOBEX"], date(2024, 6, 3), date(2024, 6, 7))}
    assert (tags[RANGE_END_TAG], tags["research_lab/start"]) == ("GLOBEX|2024", "2024-06-03")
    create_run_for_test(instance, job_name="market_data_job", status=dg.DagsterRunStatus.STARTED,
                        tags=tags)
    create_run_for_test(instance, job_name="market_data_job", status=dg.DagsterRunStatus.SUCCESS,
                        tags={**tags, RANGE_END_TAG: str(market_key("INITECH", date(2024, 6, 7)))})
    # a run launched from the UI on one year partition, without a session range: its year
    create_run_for_test(instance, job_name="market_data_job", status=dg.DagsterRunStatus.STARTING,
                        tags={"research_lab/kind": "ingestion",
                              "dagster/partition": "INITECH|2023"})
    assert sorted(in_flight_rectangles(instance), key=lambda r: r[1]) == [
        (frozenset({"INITECH"}), date(2023, 1, 1), date(2023, 12, 31)),
        (frozenset({"ACME", "GLOBEX"}), date(2024, 6, 3), date(2024, 6, 7))]


@pytest.mark.parametrize("now, day, last_closed", [
    # 11:00 New York: today's session before the close
    ("2024-06-04 15:00Z", date(2024, 6, 4), date(2024, 6, 3)),
    # after today's close, tomorrow's session
    ("2024-06-04 21:30Z", date(2024, 6, 5), date(2024, 6, 4)),
])
def test_a_partition_that_has_not_closed_fails_in_one_line_and_records_nothing(
        lab_env, instance, store, monkeypatch, now, day, last_closed):
    """Launched from the UI or a backfill: the run fails with one line naming the session, the
    store is untouched and the partition is failed, never an empty materialization."""
    from research_lab.core.marketdata import ingest

    monkeypatch.setattr(ingest, "utc_now", lambda: pd.Timestamp(now))
    result = materialize_range(instance, ["ACME"], date(2024, 6, 3), day, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    line = (f"session {day} has not closed yet (last closed session: {last_closed}); "
            "a session is ingested only after its close")
    assert failure.event_specific_data.user_failure_data.description == line
    assert failure.event_specific_data.error.message.strip().endswith(line)
    assert len(failure.event_specific_data.error.message.strip().splitlines()) == 1
    assert store.symbols() == [] and store.sessions("ACME") == []
    assert _materializations(instance) == {}
    key = str(market_key("ACME", day))
    assert key == "ACME|2024"
    assert _status(instance, [key])[key] == dg.AssetPartitionStatus.FAILED

    # after the close the same partitions are ingested
    monkeypatch.setattr(ingest, "utc_now", lambda: pd.Timestamp(f"{day} 21:30Z"))
    assert materialize_range(instance, ["ACME"], date(2024, 6, 3), day).success
    assert store.sessions("ACME")[-1] == day
