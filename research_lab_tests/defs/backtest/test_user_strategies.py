"""User strategies in Dagster: a new strategy file becomes a partition of backtest_results
without a code change; the definitions never import strategy modules; each example strategy
materializes, with its code version in the metadata and an MLflow run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from research_lab.defs.backtest.assets import backtest_results
from research_lab.defs.backtest.partitions import backtest_key, register_strategies
from research_lab.defs.backtest.sensors import strategy_partitions_sensor
from research_lab.defs.resources import default_resources
from research_lab.defs.tracking.resources import TrackingResource

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "strategies"
NEW = """
import backtrader as bt

class BrandNew(bt.Strategy):
    params = (("period", 3),)

    def next(self):
        if not self.position:
            self.buy()
"""


def test_a_new_strategy_file_becomes_a_partition(tmp_path, monkeypatch, instance,
                                                 fresh_discovery):
    folder = tmp_path / "mine"
    folder.mkdir()
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", str(folder))
    first = strategy_partitions_sensor(dg.build_sensor_context(instance=instance))
    register_strategies(instance)
    assert "BrandNew" not in instance.get_dynamic_partitions("strategy")
    assert "sma_cross" in first.dynamic_partitions_requests[0].partition_keys

    (folder / "brand_new.py").write_text(NEW)  # no edit of the project's code
    result = strategy_partitions_sensor(dg.build_sensor_context(instance=instance))
    assert result.dynamic_partitions_requests[0].partition_keys == ["BrandNew"]
    assert register_strategies(instance)[0] == ["BrandNew"]
    assert "BrandNew" in instance.get_dynamic_partitions("strategy")


def test_loading_the_definitions_imports_no_strategy_module(tmp_path):
    marker = tmp_path / "imported"
    (tmp_path / "sneaky.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    code = ("import sys, research_lab.definitions; "
            "print(any(m.startswith('research_lab.core.strategies') for m in sys.modules))")
    env = {**os.environ, "RESEARCH_LAB_STRATEGIES": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
    assert not marker.exists()


CASES = {
    "SMACrossover": {"params": {"fast": 3, "slow": 8}},
    "FuturesTrend": {"params": {"period": 5}},
    "PairsSpread": {"params": {"period": 5, "entry": 1.0}, "feeds": ["GLOBEX"]},
    "close_breakout": {"params": {"period": 5, "exit_period": 3}},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_example_strategy_materializes_and_is_tracked(name, lab_env, instance, tmp_path,
                                                         monkeypatch, fresh_discovery):
    from datetime import date

    from research_lab.defs.marketdata.backfill import materialize_range

    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", str(EXAMPLES))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert materialize_range(instance, ["ACME", "GLOBEX"], date(2024, 1, 2), date(2024, 3, 28),
                             log_level="WARNING").success
    register_strategies(instance)
    result = dg.materialize(
        [backtest_results], instance=instance, partition_key=str(backtest_key(name, "ACME")),
        resources={**default_resources(),
                   "tracking": TrackingResource(tracking_uri=uri, background=False)},
        run_config={"ops": {"backtest_results": {"config": {"tearsheet": False,
                                                            **CASES[name]}}}},
        raise_on_error=False,
    )
    assert result.success
    md = result.asset_materializations_for_node("backtest_results")[0].metadata
    assert len(md["strategy_code_version"].value) == 16
    assert md["strategy_file"].value.startswith(str(EXAMPLES))
    assert md["metrics"].value.count("\n") >= 50
    if "feeds" in CASES[name]:
        assert md["feeds"].value == "ACME, GLOBEX"
    import mlflow

    run = mlflow.MlflowClient(uri).get_run(md["mlflow_run_id"].value)
    assert run.data.tags["strategy_code_version"] == md["strategy_code_version"].value
    from research_lab.core.tracking.tags import PARTITION_KEY

    assert run.data.tags[PARTITION_KEY] == str(backtest_key(name, "ACME"))
