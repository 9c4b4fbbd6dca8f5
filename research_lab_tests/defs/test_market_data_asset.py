"""market_data materialized on a temporary instance with the synthetic source."""

from datetime import date

import dagster as dg
import pytest

from research_lab.defs.marketdata.assets import market_data
from research_lab.defs.marketdata.backfill import add_symbols, materialize_range
from research_lab.defs.partitions import market_key
from research_lab.defs.resources import SourceResource, default_resources


def _materialize_one(instance, symbol, day, resources=None):
    add_symbols(instance, [symbol])
    return dg.materialize(
        [market_data],
        instance=instance,
        partition_key=str(market_key(symbol, day)),
        resources=resources or default_resources(),
        raise_on_error=False,
    )


def _materialization(result):
    mats = result.asset_materializations_for_node("market_data")
    assert mats, "no materialization"
    return mats[0]


def test_one_session_is_written_with_metadata_and_checks(lab_env, instance, store):
    result = _materialize_one(instance, "ACME", date(2024, 3, 5))
    assert result.success
    md = _materialization(result).metadata
    assert md["rows"].value == 1
    assert md["source"].value == "synthetic"
    assert md["last_close"].value > 0
    assert len(md["data_version"].value) == 16
    bars = store.read_bars("ACME")
    assert list(bars["session"].dt.date) == [date(2024, 3, 5)]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["schema_ohlc"].passed
    assert checks["missing_sessions"].passed


def test_holiday_partition_is_empty_and_says_so(lab_env, instance, store):
    result = _materialize_one(instance, "ACME", date(2024, 7, 4))
    assert result.success
    md = _materialization(result).metadata
    assert md["rows"].value == 0
    assert "holiday" in md["note"].value
    assert md["data_version"].value == "empty"
    assert store.sessions("ACME") == [date(2024, 7, 4)]  # recorded as materialized, 0 rows
    assert store.read_bars("ACME").empty


def test_a_range_is_one_run_and_writes_every_session(lab_env, instance, store):
    result = materialize_range(instance, ["ACME"], date(2024, 1, 1), date(2024, 3, 29))
    assert result.success
    runs = instance.get_runs()
    assert len(runs) == 1
    bars = store.read_bars("ACME")
    # Q1 2024 has 64 weekdays of which 3 are NYSE holidays (Jan 1, Jan 15, Feb 19; Mar 29 Good Friday)
    assert len(store.sessions("ACME")) == 65
    assert len(bars) == 65 - 4
    materialized = instance.get_materialized_partitions(dg.AssetKey("market_data"))
    assert len(materialized) == 65


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
    assert "yfinance could not download ACME 2024-03-05" in text
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
