"""`research-lab demo run` runs the whole loop: every asset gets a materialization with
metadata, and MLflow holds the backtests, the study (parent + children) and the policy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RESEARCH_LAB_", "MLFLOW_", "DAGSTER_"))}
    env.update(
        RESEARCH_LAB_HOME=str(base / "home"), DAGSTER_HOME=str(base / "dagster_home"),
        RESEARCH_LAB_UNIVERSE="ACME,GLOBEX,^GSPC,^VIX", PYTHONPATH=str(ROOT),
    )
    (base / "dagster_home").mkdir()
    shutil.copy(ROOT / "dagster.yaml", base / "dagster_home" / "dagster.yaml")
    # small on purpose: 2 stocks + 2 indices, ~8 months, 2 strategies, 4 trials, 600 steps
    # `research-lab demo run ...` (the console script's entry point, with this interpreter)
    argv = [sys.executable, "-c", "import sys; from research_lab.cli import main; "
            "sys.exit(main())", "demo", "run", "--years", "0.7",
            "--symbols", "ACME", "--strategies", "sma_cross", "macd", "--trials", "4",
            "--timesteps", "600"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    return base, env, done


@pytest.mark.slow
def test_demo_run_succeeds_and_shows_progress(demo_home):
    _, _, done = demo_home
    assert done.returncode == 0, done.stderr[-3000:]
    for stage in ("1/5 market_data", "2/5 anomaly_scores", "3/5 backtest_results",
                  "4/5 optimization_study", "5/5 rl_policy"):
        assert stage in done.stderr
    assert "0 failed" in done.stderr
    assert "demo shortcuts on the instance" in done.stderr  # it says what it trades for speed


@pytest.mark.slow
def test_every_asset_key_has_a_materialization_with_metadata(demo_home):
    import dagster as dg

    base, _, done = demo_home
    assert done.returncode == 0, done.stderr[-3000:]
    from research_lab.definitions import defs
    from research_lab.defs.partitions import market_partitions

    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert len(keys) >= 7
    with dg.DagsterInstance.from_config(str(base / "dagster_home")) as instance:
        for key in keys:
            event = instance.get_latest_materialization_event(key)
            assert event is not None, f"{key.to_user_string()} was never materialized"
            metadata = event.asset_materialization.metadata
            assert len(metadata) >= 3, f"{key.to_user_string()}: metadata {sorted(metadata)}"
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        # the universe's scores are one range run, covering every ingested partition
        [scores_run] = instance.get_runs(dg.RunsFilter(job_name="anomaly_scores_job"))
        assert scores_run.status == dg.DagsterRunStatus.SUCCESS
        ingested = instance.get_materialized_partitions(dg.AssetKey("market_data"))
        scored = instance.get_materialized_partitions(dg.AssetKey("anomaly_scores"))
        assert len(ingested) >= 4 and scored == ingested  # symbol × year partitions
        symbols = {k.keys_by_dimension["symbol"] for k in map(
            market_partitions.get_partition_key_from_str, scored)}
        assert symbols == {"ACME", "GLOBEX", "^GSPC", "^VIX"}
        latest = {}
        for record in instance.fetch_materializations(dg.AssetKey("market_data"),
                                                      limit=1000).records:
            latest.setdefault(record.partition_key, record.asset_materialization.metadata)
        assert set(latest) == ingested
        # 0.7 years of sessions per symbol, each in the store's ledger and its year's metadata
        assert sum(md["sessions_stored"].value for md in latest.values()) > 4 * 150
    assert states.get("nightly_ingest_schedule") == "RUNNING"
    assert states.get("market_data_sensor") == "RUNNING"


@pytest.mark.slow
def test_mlflow_has_the_backtests_the_study_and_its_trials_and_the_policy(demo_home):
    from mlflow.tracking import MlflowClient

    base, _, done = demo_home
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{base / 'home' / 'mlflow' / 'mlflow.db'}")
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    by_kind: dict[str, list] = {}
    for run in runs:
        by_kind.setdefault(run.data.tags.get("kind"), []).append(run)
    assert len(by_kind.get("backtest", [])) == 2  # sma_cross and macd on ACME
    [study] = by_kind["study"]
    children = [r for r in by_kind.get("trial", [])
                if r.data.tags.get("mlflow.parentRunId") == study.info.run_id]
    assert len(children) >= 4 - int(study.data.metrics.get("trials_pruned", 0))
    assert len(children) >= 1
    assert len(by_kind.get("policy", [])) >= 2  # training and evaluation
