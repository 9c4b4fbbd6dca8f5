"""market_data (symbol × year) materialized on a temporary instance with the synthetic source."""

from datetime import date

import dagster as dg
import pytest

from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.backfill import add_symbols, materialize_range
from research_lab.defs.marketdata.requests import session_config
from research_lab.defs.partitions import market_key
from research_lab.defs.resources import SourceResource, default_resources


def _materialize_one(instance, symbol, day, resources=None):
    """One session of one symbol: its year partition, run config start = end = day."""
    add_symbols(instance, [symbol])
    return dg.materialize(
        [market_data],
        instance=instance,
        partition_key=str(market_key(symbol, day)),
        resources=resources or default_resources(),
        run_config=session_config(day, day),
        raise_on_error=False,
    )


def _materialization(result):
    mats = result.asset_materializations_for_node("market_data")
    assert mats, "no materialization"
    return mats[0]


def test_one_session_is_written_with_metadata_and_checks(lab_env, instance, store):
    result = _materialize_one(instance, "ACME", date(2024, 3, 5))
    assert result.success
    mat = _materialization(result)
    assert mat.partition == "ACME|2024"
    md = mat.metadata
    assert md["rows"].value == 1 and md["sessions_written"].value == 1
    assert md["sessions_stored"].value == 1
    assert md["first_session"].value == md["last_session"].value == "2024-03-05"
    assert md["source"].value == "synthetic"
    assert md["last_close"].value > 0
    assert len(md["data_version"].value) == 16
    # every other exchange session of 2024 is missing (capped list, with the count)
    assert md["missing_sessions"].value == 251
    assert md["missing"].value.startswith("2024-01-02, 2024-01-03") and "and 231 more" in md[
        "missing"].value
    bars = store.read_bars("ACME")
    assert list(bars["session"].dt.date) == [date(2024, 3, 5)]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["schema_ohlc"].passed
    assert checks["missing_sessions"].passed


def test_a_holiday_is_recorded_empty_in_the_ledger(lab_env, instance, store):
    result = _materialize_one(instance, "ACME", date(2024, 7, 4))
    assert result.success
    md = _materialization(result).metadata
    assert md["rows"].value == 0 and md["sessions_stored"].value == 1
    assert "first_session" not in md
    assert store.sessions("ACME") == [date(2024, 7, 4)]  # in the ledger, 0 rows
    assert store.read_bars("ACME").empty
    assert store.partitions("ACME")["data_version"].tolist() == ["empty"]


def test_one_session_of_a_stored_year_is_reingested_alone(lab_env, instance, store):
    """Re-ingesting one session of one symbol through its year partition rewrites only that
    session in the store: every other session keeps its ledger row (written_at unchanged)."""
    assert materialize_range(instance, ["ACME"], date(2024, 6, 3), date(2024, 6, 14)).success
    before = store.partitions("ACME").set_index("session")
    result = _materialize_one(instance, "ACME", date(2024, 6, 5))
    assert result.success
    after = store.partitions("ACME").set_index("session")
    assert list(after.index) == list(before.index)
    changed = after.index[after["written_at"] != before["written_at"]]
    assert [d.date() for d in changed] == [date(2024, 6, 5)]
    md = _materialization(result).metadata
    assert md["sessions_written"].value == 1 and md["sessions_stored"].value == 10
    assert md["rows"].value == 10 and md["written"].value == "2024-06-05..2024-06-05"
    # the same bars again: the year's data version does not change
    first = instance.fetch_materializations(dg.AssetKey("market_data"), limit=10).records
    assert len({r.asset_materialization.tags["dagster/data_version"] for r in first}) == 1


def test_a_range_is_one_run_and_writes_every_session(lab_env, instance, store):
    result = materialize_range(instance, ["ACME"], date(2024, 1, 1), date(2024, 3, 29))
    assert result.success
    runs = instance.get_runs()
    assert len(runs) == 1
    bars = store.read_bars("ACME")
    # Q1 2024 has 65 weekdays of which 4 are NYSE holidays (Jan 1, Jan 15, Feb 19, Mar 29)
    assert len(store.sessions("ACME")) == 65
    assert len(bars) == 65 - 4
    materialized = instance.get_materialized_partitions(dg.AssetKey("market_data"))
    assert materialized == {"ACME|2024"}


def test_a_range_over_two_years_records_each_year_with_its_own_metadata(lab_env, instance,
                                                                        store):
    result = materialize_range(instance, ["ACME"], date(2023, 12, 27), date(2024, 1, 3))
    assert result.success
    mats = {m.partition: m for m in result.asset_materializations_for_node("market_data")}
    assert sorted(mats) == ["ACME|2023", "ACME|2024"]
    old, new = mats["ACME|2023"].metadata, mats["ACME|2024"].metadata
    # 2023-12-27..29 (3 sessions); 2024-01-01 (holiday), 01-02, 01-03
    assert (old["sessions_written"].value, old["rows"].value) == (3, 3)
    assert (new["sessions_written"].value, new["rows"].value) == (3, 2)
    assert old["last_session"].value == "2023-12-29"
    assert new["first_session"].value == "2024-01-02"
    assert old["data_version"].value != new["data_version"].value


def test_two_symbols_in_one_run(lab_env, instance, store):
    add_symbols(instance, ["ACME", "GLOBEX"])
    result = materialize_range(instance, ["ACME", "GLOBEX"], date(2024, 6, 3), date(2024, 6, 7))
    assert result.success
    assert len(instance.get_runs()) == 1
    assert len(store.read_bars("ACME")) == 5 and len(store.read_bars("GLOBEX")) == 5


def test_rewrite_is_idempotent(lab_env, instance, store):
    materialize_range(instance, ["ACME"], date(2024, 6, 3), date(2024, 6, 7))
    first = store.read_bars("ACME")
    materialize_range(instance, ["ACME"], date(2024, 6, 3), date(2024, 6, 7))
    assert store.read_bars("ACME").equals(first)


def test_a_future_session_fails_in_one_line_before_anything_is_written(lab_env, instance,
                                                                       store, monkeypatch):
    """On 2024-06-10 at 11:00 New York, ACME|2024 asked for 2024-06-03..06-11: today has not
    closed, tomorrow not happened; the run fails naming it and writes nothing."""
    import pandas as pd

    from research_lab.core.marketdata import ingest

    monkeypatch.setattr(ingest, "utc_now", lambda: pd.Timestamp("2024-06-10 15:00Z"))
    add_symbols(instance, ["ACME"])
    result = dg.materialize([market_data], instance=instance, partition_key="ACME|2024",
                            resources=default_resources(), raise_on_error=False,
                            run_config=session_config(date(2024, 6, 3), date(2024, 6, 11)))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "session 2024-06-10 (and 1 later) has not closed yet" in message
    assert store.sessions("ACME") == []
    assert not instance.get_materialized_partitions(dg.AssetKey("market_data"))


def test_the_current_year_without_an_end_ingests_only_closed_sessions(lab_env, instance, store,
                                                                      monkeypatch):
    """Partition ACME|2024 on the evening of 2024-06-10 (no config): every weekday of 2024 up
    to that day is ingested, never a later one."""
    import pandas as pd

    from research_lab.core.marketdata import ingest

    monkeypatch.setattr(ingest, "utc_now", lambda: pd.Timestamp("2024-06-10 21:00Z"))
    add_symbols(instance, ["ACME"])
    result = dg.materialize([market_data], instance=instance, partition_key="ACME|2024",
                            resources=default_resources())
    assert result.success
    sessions = store.sessions("ACME")
    assert sessions[0] == date(2024, 1, 1) and sessions[-1] == date(2024, 6, 10)
    md = _materialization(result).metadata
    assert md["last_session"].value == "2024-06-10" and md["missing_sessions"].value == 0


def test_failing_source_fails_the_run_and_writes_nothing(lab_env, instance, store, monkeypatch):
    """yfinance offline: a clear failure, never an empty partition written as if no trading."""
    from research_lab.core.marketdata.sources import SourceError

    def offline(*args, **kwargs):
        raise RuntimeError("could not resolve host")

    import yfinance

    monkeypatch.setattr(yfinance.Ticker, "history", offline)
    resources = {**default_resources(), "source": SourceResource(kind="yfinance", symbols=["ACME"])}
    result = _materialize_one(instance, "ACME", date(2024, 3, 5), resources)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    text = failure.event_specific_data.error.to_string()
    assert SourceError.__name__ in text
    assert "yfinance could not download ACME 2024-03-05" in text, "only the configured session"
    assert store.sessions("ACME") == []
    assert not instance.get_materialized_partitions(dg.AssetKey("market_data"))


def test_stale_prices_check_warns(lab_env, instance, store):
    """A frozen feed (identical OHLC for days) fails the stale_prices check as a warning."""
    import pandas as pd

    from research_lab.core.quality.bar_checks import check_stale_prices

    days = pd.bdate_range("2024-06-03", periods=8)
    bars = pd.DataFrame({
        "session": days, "open": 10.0, "high": 10.0, "low": 10.0, "close": 10.0,
    })
    outcome = check_stale_prices(bars, [d.date() for d in days], stale_run=5)
    assert not outcome.passed and outcome.severity == "WARN"
    assert outcome.failing[0][0] == date(2024, 6, 7)
