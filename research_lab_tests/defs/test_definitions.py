import subprocess
import sys

import dagster as dg
import pytest


def test_definitions_load_and_validate():
    from research_lab.definitions import defs

    repo = defs.get_repository_def()
    assert repo.has_job("market_data_job")
    assert {s.name for s in repo.schedule_defs} >= {"nightly_ingest_schedule"}
    assert {s.name for s in repo.sensor_defs} >= {"market_data_sensor"}
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= {"market_data", "anomaly_scores", "anomaly_report", "backtest_results",
                    "rl_policy", "rl_evaluation"}
    checks = {k.name for k in graph.asset_check_keys}
    assert checks >= {"schema_ohlc", "missing_sessions", "stale_prices", "extreme_moves"}
    dg.Definitions.validate_loadable(defs)


def test_a_pairs_study_config_is_accepted_and_a_bad_feeds_value_is_not():
    from research_lab.definitions import defs

    job = defs.resolve_job_def("optimization_job")
    config = {"n_trials": 5, "feeds": ["GLOBEX"],
              "param_space_json": '{"params": {"period": {"type": "int", "low": 5, "high": 40}}}'}
    ok = dg.validate_run_config(job, {"ops": {"optimization_study": {"config": config}}})
    assert ok["ops"]["optimization_study"]["config"]["feeds"] == ["GLOBEX"]
    with pytest.raises(dg.DagsterInvalidConfigError, match="feeds"):
        dg.validate_run_config(job, {"ops": {"optimization_study": {"config": {
            "feeds": "GLOBEX"}}}})


HEAVY = ("torch", "stable_baselines3", "prophet", "mlflow", "backtrader", "quantstats",
         "yfinance", "sklearn", "numba", "exchange_calendars", "optuna", "pandas", "numpy")


def test_loading_definitions_imports_no_heavy_library():
    code = (
        "import sys, research_lab.definitions; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported at load: {out.stdout.strip()}"
