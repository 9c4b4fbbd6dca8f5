"""backtest_results materialized on a temporary instance over a few months of synthetic bars."""

import json
import re
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from research_lab.defs.backtest.assets import BacktestConfig, backtest_results
from research_lab.defs.backtest.partitions import (
    backtest_key,
    backtest_partitions,
    market_history_mapping,
    register_strategies,
)
from research_lab.defs.marketdata.backfill import materialize_range
from research_lab.defs.partitions import market_key, market_partitions
from research_lab.defs.resources import default_resources
from research_lab.defs.tracking.resources import TrackingResource

BARS_SELECT = re.compile(r"^\s*SELECT\b.*\bFROM market_bars\b", re.IGNORECASE | re.DOTALL)


@pytest.fixture
def bar_selects():
    """Every SELECT on the bars table that any engine runs while the fixture is active."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if BARS_SELECT.match(statement):
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", listen)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", listen)


FIRST, LAST = date(2024, 1, 2), date(2024, 2, 29)  # 43 weekdays, 2 holidays: 41 bars


@pytest.fixture
def acme_stored(lab_env, instance):
    """ACME's sessions of January and February 2024 in the store (not ^GSPC / ^VIX)."""
    assert materialize_range(instance, ["ACME"], FIRST, LAST, log_level="WARNING").success
    return instance


def _run(instance, strategy="sma_cross", symbol="ACME", **config):
    config = {"tearsheet": False, **config}
    register_strategies(instance)
    return dg.materialize(
        [backtest_results],
        instance=instance,
        partition_key=str(backtest_key(strategy, symbol)),
        resources={**default_resources(), "tracking": TrackingResource(background=False)},
        run_config={"ops": {"backtest_results": {"config": config}}},
        raise_on_error=False,
    )


def test_a_partition_reads_the_history_once_and_reports(acme_stored, lab_env, bar_selects):
    result = _run(acme_stored, params={"fast": 5, "slow": 20})
    assert result.success
    assert len(bar_selects) == 1, bar_selects  # symbol + ^GSPC + ^VIX in one query
    assert "IN" in bar_selects[0].upper()
    md = result.asset_materializations_for_node("backtest_results")[0].metadata

    assert md["bars"].value == 41
    assert md["first_session"].value == "2024-01-02" and md["last_session"].value == "2024-02-29"
    assert len(md["data_version"].value) == 16
    assert md["params"].value == {"fast": 5, "slow": 20}
    for name in ("final_value", "total_return", "sharpe_ratio", "max_drawdown", "beta"):
        assert isinstance(md[name], dg.FloatMetadataValue), name
    assert isinstance(md["num_trades"], dg.IntMetadataValue)
    assert md["metrics"].value.count("\n") >= 50  # 50 metric rows
    # ^GSPC and ^VIX are not in the store: they came from the synthetic source, with lookback
    assert md["benchmark"].value.startswith("^GSPC from source:synthetic")
    assert "volatility: vix" in md["regimes"].value
    # the equity curve is embedded (markdown with a PNG data URI), not only a path
    curve = md["equity_curve"].value
    assert curve.startswith("### ") and "![equity curve](data:image/png;base64,iVBORw0KGgo" in curve
    assert "bull_low_vol" in md["regimes"].value

    folder = Path(lab_env.removeprefix("sqlite:///")).parent / "backtests" / "sma_cross" / "ACME"
    assert md["result_json"].value == str(folder / "result.json")
    assert {p.name for p in folder.iterdir()} == {"result.json", "equity.png", "trades.csv"}
    assert "tearsheet" not in md
    doc = json.loads((folder / "result.json").read_text())
    assert doc["lineage"]["data_version"] == md["data_version"].value
    assert doc["final_value"] == pytest.approx(md["final_value"].value)

    # logged to the embedded MLflow store with the naming hierarchy and Dagster lineage
    import mlflow

    assert md["mlflow_experiment"].value == "Default.Equities.General.sma_cross"
    run = mlflow.MlflowClient(f"sqlite:///{folder.parents[2] / 'mlflow' / 'mlflow.db'}").get_run(
        md["mlflow_run_id"].value
    )
    assert run.data.params["fast"] == "5"
    assert run.data.tags["dagster.run_id"] == result.run_id
    assert run.data.tags["dagster.partition_key"] == "sma_cross|ACME"
    assert run.data.tags["data_version"] == md["data_version"].value


def test_index_data_in_the_store_is_used_from_the_same_query(lab_env, instance, store,
                                                            bar_selects):
    """The store holds ACME, ^GSPC and ^VIX (written directly: the asset reads only the store);
    the indexes with the 200 sessions before the window that the SMA-200 warm-up needs."""
    from datetime import timedelta

    from research_lab.core.marketdata.sources import SyntheticSource

    source = SyntheticSource(symbols=["ACME"])
    for symbol in ("ACME", "^GSPC", "^VIX"):
        first = FIRST if symbol == "ACME" else FIRST - timedelta(days=400)
        bars = source.fetch(symbol, first, LAST)
        store.write_partitions(symbol, list(bars["session"].dt.date), bars, source="synthetic")
    instance.add_dynamic_partitions("symbol", ["ACME"])
    bar_selects.clear()
    result = _run(instance, "macd", output_dir=str(Path(lab_env.removeprefix("sqlite:///")).parent
                                                  / "elsewhere"))
    assert result.success
    assert len(bar_selects) == 1
    md = result.asset_materializations_for_node("backtest_results")[0].metadata
    assert md["benchmark"].value.startswith("^GSPC from store sqlite:")
    assert md["vix"].value.startswith("^VIX from store sqlite:")
    assert "/elsewhere/macd/ACME/result.json" in md["result_json"].value
    # the SMA-200 reads the stored history before the window: every day is classified
    assert "unclassified days: 0" in md["regimes"].value


@pytest.mark.parametrize(
    "config, message",
    [
        ({"params": {"fast": 500}}, "fast=500 is invalid; expected int in [2, 200]"),
        ({"params_json": "{fast: 5"}, "params_json is not valid JSON"),
        ({"start": "2024-02-30"}, "config start='2024-02-30' is not a date"),
        ({}, "has no bars of ACME: ingest them first"),
    ],
)
def test_bad_config_fails_the_run_naming_the_problem(lab_env, instance, config, message):
    instance.add_dynamic_partitions("symbol", ["ACME"])
    result = _run(instance, **config)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert message in failure.event_specific_data.error.to_string()
    assert not (Path(lab_env.removeprefix("sqlite:///")).parent / "backtests").exists()


def test_an_open_critical_anomaly_blocks_until_acknowledged(acme_stored, lab_env, store):
    """The real gate: a critical score in the store blocks; an analyst's ack unblocks."""
    import pandas as pd

    from research_lab.core.marketdata.store import write_scores
    from research_lab.core.quality.gate import acknowledge

    day = date(2024, 2, 1)
    version = store.partitions("ACME").set_index("session").loc[pd.Timestamp(day), "data_version"]
    write_scores(store, "ACME", [day], pd.DataFrame([{
        "symbol": "ACME", "session": day, "bars_version": version, "severity": "critical",
        "reasons": '["close is 100x the previous close"]', "rules": "unit_error",
        "jump_z": 40.0, "price_ratio": 100.0, "if_score": 0.9, "prophet_close_z": 30.0,
        "prophet_volume_z": 0.1, "thresholds": "{}",
    }]))
    blocked = _run(acme_stored)
    assert not blocked.success
    text = next(e for e in blocked.all_events if e.is_step_failure).event_specific_data.error
    assert "ACME has 1 open critical data anomaly: 2024-02-01: close is 100x" in text.to_string()
    assert "research-lab quality ack ACME" in text.to_string()
    assert not (Path(lab_env.removeprefix("sqlite:///")).parent / "backtests").exists()

    acknowledge(store, "ACME", day, verdict="false_positive", reason="checked the tape",
                author="analyst")
    assert _run(acme_stored).success


def test_params_keyed_by_strategy():
    config = BacktestConfig(params={"sma_cross": {"fast": 7}, "macd": {"signal": 5}})
    assert config.strategy_params("sma_cross") == {"fast": 7}
    assert config.strategy_params("momentum") == {}
    assert BacktestConfig(params_json='{"fast": 3}').strategy_params("sma_cross") == {"fast": 3}
    with pytest.raises(ValueError, match="mixes strategy names"):
        BacktestConfig(params={"sma_cross": {}, "fast": 3}).strategy_params("sma_cross")


def test_strategy_partitions_are_what_discovery_registers(instance):
    from research_lab.core.backtest import STRATEGIES

    assert instance.get_dynamic_partitions("strategy") == []
    added, problems = register_strategies(instance)
    assert set(STRATEGIES) <= set(added) and problems == []
    assert register_strategies(instance)[0] == []  # idempotent


def test_a_backtest_depends_on_every_year_of_its_symbol(lab_env, instance):
    instance.add_dynamic_partitions("symbol", ["ACME", "GLOBEX"])
    instance.add_dynamic_partitions("strategy", ["macd"])
    upstream = market_history_mapping.get_upstream_mapped_partitions_result_for_partitions(
        backtest_partitions.subset_with_partition_keys([str(backtest_key("macd", "ACME"))]),
        backtest_partitions,
        market_partitions,
        dynamic_partitions_store=instance,
    ).partitions_subset
    keys = list(upstream.get_partition_keys())
    assert str(market_key("ACME", date(2024, 3, 5))) == "ACME|2024"
    # every year since 2000 (the current one included), of ACME only: 27 upstream partitions
    # in 2026, few enough for Dagster's staleness to follow them
    assert sorted(keys) == [f"ACME|{y}" for y in range(2000, date.today().year + 1)]
