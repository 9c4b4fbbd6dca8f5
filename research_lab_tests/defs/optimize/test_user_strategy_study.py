"""optimization_study of a user's backtrader strategy: its own code runs every fold."""

import json
import os
import sys
from pathlib import Path

import dagster as dg

from research_lab.defs.optimize.assets import optimization_study
from research_lab.defs.optimize.partitions import study_key
from research_lab.defs.resources import default_resources
from research_lab.defs.tracking.resources import TrackingResource

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"


def test_a_backtrader_strategy_study_materializes(optimize_env, instance, monkeypatch):
    from research_lab.core.strategies import clear_cache
    from research_lab.defs.backtest.partitions import register_strategies

    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", str(EXAMPLES))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.setattr(sys, "path", list(sys.path))
    clear_cache()
    instance.add_dynamic_partitions("symbol", ["ACME"])
    register_strategies(instance)
    space = {"params": {"fast": {"type": "int", "low": 3, "high": 12},
                        "slow": {"type": "int", "low": 15, "high": 40}}}
    result = dg.materialize(
        [optimization_study], instance=instance,
        partition_key=str(study_key("SMACrossover", "ACME")),
        resources={**default_resources(), "tracking": TrackingResource()},
        run_config={"ops": {"optimization_study": {"config": {
            "n_trials": 3, "tracking": False, "seed": 1,
            "param_space_json": json.dumps(space)}}}},
        raise_on_error=False,
    )
    clear_cache()
    assert result.success
    md = result.asset_materializations_for_node("optimization_study")[0].metadata
    assert md["trials_completed"].value + md["trials_pruned"].value == 3
    assert {"fast", "slow"} <= set(md["best_params"].value)
