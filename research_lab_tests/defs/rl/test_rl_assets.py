"""rl_policy and rl_evaluation materialized on a temporary instance; the jobs' tags; the CLI.

The store is filled directly with the synthetic source's bars (ACME, ^GSPC, ^VIX, 2021-2024)
instead of materializing ~1,000 market_data partitions; the assets read it in one query.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest
import yaml

from research_lab.defs.resources import default_resources
from research_lab.defs.tracking.resources import TrackingResource
from research_lab.defs.rl.assets import (RLEvaluationConfig, RLPolicyConfig, rl_evaluation,
                                         rl_policy)
from research_lab_tests.core.rl.conftest import TINY, demo_bars


@pytest.fixture
def filled_store(store):
    for symbol in ("ACME", "^GSPC", "^VIX"):
        bars = demo_bars(symbol)
        store.write_partitions(symbol, sorted(bars["session"].dt.date), bars, source="synthetic")
    return store


@pytest.fixture
def tiny_yaml(tmp_path):
    path = tmp_path / "rl_tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "timesteps": 256}))
    return str(path)


def test_policy_and_evaluation_materialize(lab_env, instance, filled_store, tiny_yaml, tmp_path):
    instance.add_dynamic_partitions("symbol", ["ACME"])
    # an optimization study of sma_cross on ACME whose data end before the policy's test
    # (2024-03-15..): its best parameters are the baseline; a newer one over the whole
    # history has seen the test period and is passed over
    study = tmp_path / "studies" / "sma_cross.ACME" / "report.json"
    study.parent.mkdir(parents=True)
    study.write_text(json.dumps({"study_name": "sma_cross.ACME", "strategy": "sma_cross",
                                 "symbol": "ACME", "best_params": {"fast": 7, "slow": 40},
                                 "start": "2021-01-04", "end": "2023-12-29"}))
    peeking = tmp_path / "studies" / "sma_cross.ACME.all" / "report.json"
    peeking.parent.mkdir(parents=True)
    peeking.write_text(json.dumps({"study_name": "sma_cross.ACME.all", "strategy": "sma_cross",
                                   "symbol": "ACME", "best_params": {"fast": 3, "slow": 90},
                                   "start": "2021-01-04", "end": "2024-12-31"}))
    os.utime(study, (1_000, 1_000))
    result = dg.materialize(
        [rl_policy, rl_evaluation],
        instance=instance,
        partition_key="ACME",
        resources={**default_resources(), "tracking": TrackingResource(background=False)},
        run_config=dg.RunConfig({
            "rl_policy": RLPolicyConfig(config_path=tiny_yaml, seed=3),
            "rl_evaluation": RLEvaluationConfig(seeds=2, folds=1, seed_timesteps=256),
        }),
    )
    assert result.success
    policy_md = result.asset_materializations_for_node("rl_policy")[0].metadata
    assert policy_md["algorithm"].value == "PPO"
    assert policy_md["timesteps"].value == 256
    assert policy_md["stop_reason"].value == "completed"
    assert policy_md["seed"].value == 3
    path = Path(policy_md["path"].value)
    assert path == tmp_path / "rl" / "ACME" / "policy.zip" and path.is_file()
    assert policy_md["test"].value.endswith("2024-12-31")

    ev_md = result.asset_materializations_for_node("rl_evaluation")[0].metadata
    assert "| rl_policy" in ev_md["comparison"].value
    assert "bull_low_vol" in ev_md["regimes"].value
    assert isinstance(ev_md["drawdown_compliant"].value, bool)
    assert ev_md["sharpe_delta_vs_buy_and_hold"].value == pytest.approx(
        ev_md["sharpe"].value - ev_md["sharpe_buy_and_hold"].value)
    assert ev_md["best_strategy"].value.startswith("sma_cross(fast=7, slow=40)")
    assert ev_md["baseline_source"].value == ("study sma_cross.ACME (ends 2023-12-29, on or "
                                              f"before the test start 2024-03-15; {study})")
    assert ev_md["sharpe_delta_vs_best_strategy"].value == pytest.approx(
        ev_md["sharpe"].value - ev_md["sharpe_best_strategy"].value)
    kpis = ev_md["kpis"].value
    assert f"{ev_md['sharpe_delta_vs_buy_and_hold'].value:+.3f} |" in kpis
    assert "sma_cross {'fast': 7, 'slow': 40} (study sma_cross.ACME" in kpis
    doc = json.loads(Path(ev_md["path"].value).read_text())
    assert doc["symbol"] == "ACME" and doc["splits"]["test_end"] == "2024-12-31"
    assert doc["best_strategy"]["source"] == ev_md["baseline_source"].value
    # the seed study: 2 seeds x 1 fold (launchpad), IQM with its interval, files beside
    assert ev_md["seeds.n_seeds"].value == 2 and ev_md["seeds.n_folds"].value == 1
    assert ev_md["seeds.iqm_low"].value <= ev_md["seeds.iqm"].value <= ev_md["seeds.iqm_high"].value
    assert ev_md["truncated"].value is False and policy_md["truncated"].value is False
    seeds_doc = json.loads(Path(ev_md["seeds_path"].value).read_text())
    assert seeds_doc["seeds"] == [3, 4] and len(seeds_doc["runs"]) == 2

    # both runs in MLflow under the same experiment hierarchy as backtests
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    assert policy_md["mlflow_experiment"].value == "Default.Equities.ReinforcementLearning.PPO"
    train_run = client.get_run(policy_md["mlflow_run_id"].value)
    assert train_run.data.tags["kind"] == "policy"
    assert train_run.data.tags["seed"] == "3"
    assert "policy" in {a.path for a in client.list_artifacts(train_run.info.run_id)}
    eval_run = client.get_run(ev_md["mlflow_run_id"].value)
    assert eval_run.data.metrics["sharpe_ratio"] == pytest.approx(ev_md["sharpe"].value)
    assert eval_run.data.metrics["sharpe_delta_vs_best_strategy"] == pytest.approx(
        ev_md["sharpe_delta_vs_best_strategy"].value)
    assert eval_run.data.params["baseline.fast"] == "7"
    assert eval_run.data.metrics["seeds.iqm"] == pytest.approx(ev_md["seeds.iqm"].value)
    assert {"seeds.json", "seeds.png"} <= {a.path for a in
                                           client.list_artifacts(eval_run.info.run_id)}
    assert eval_run.data.tags["rl.baseline_source"].startswith("study sma_cross.ACME")


def test_evaluation_without_a_policy_fails_clearly(lab_env, instance):
    instance.add_dynamic_partitions("symbol", ["ACME"])
    result = dg.materialize([rl_evaluation], instance=instance, partition_key="ACME",
                            resources={**default_resources(), "tracking": TrackingResource()},
                            raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "materialize rl_policy" in failure.event_specific_data.error.to_string()


def test_training_runs_are_tagged_for_the_run_queue():
    from research_lab.definitions import defs

    job = defs.resolve_job_def("rl_training_job")
    assert job.tags["research_lab/kind"] == "rl_training"
    assert job.partitions_def.name == "symbol"
    assert "research_lab/kind" not in defs.resolve_job_def("rl_evaluation_job").tags
    assert rl_policy.op.tags["research_lab/kind"] == "rl_training"
    assert rl_policy.op.pool == "rl_training"
    graph = defs.resolve_asset_graph()
    deps = graph.get(dg.AssetKey("rl_evaluation")).parent_keys
    assert deps == {dg.AssetKey("rl_policy"), dg.AssetKey("market_data")}
    assert dg.AssetKey("anomaly_scores") in graph.get(dg.AssetKey("rl_policy")).parent_keys


def test_cli_train_and_evaluate(lab_env, filled_store, tiny_yaml, tmp_path, capsys):
    from research_lab.cli import main

    out = tmp_path / "cli_policy"
    assert main(["rl", "train", "acme", "--config", tiny_yaml, "--timesteps", "128",
                 "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "PPO ACME: 128 steps" in text and "stopped: completed" in text
    assert main(["rl", "evaluate", "ACME", "--policy", str(out / "policy.zip"),
                 "--strategy", "sma_cross", "--params", "fast=10", "slow=50",
                 "--no-statistics"]) == 0
    text = capsys.readouterr().out
    assert "sma_cross(fast=10, slow=50)" in text and "Sharpe delta vs buy-and-hold" in text
    assert (out / "evaluation.json").is_file() and not (out / "seeds.json").exists()
    assert main(["rl", "evaluate", "NOPE"]) == 2
    assert "no policy for NOPE at" in capsys.readouterr().err
    assert main(["rl", "train", "NOPE", "--config", tiny_yaml]) == 2
    assert "has no bars of NOPE" in capsys.readouterr().err


def test_cli_statistics_flags(lab_env, filled_store, tiny_yaml, tmp_path, capsys):
    """rl train records --seeds/--folds/--seed-timesteps in policy.json; rl evaluate uses
    them (its own flags win); bad values are one line and exit 2."""
    from research_lab.cli import main

    out = tmp_path / "stats_policy"
    assert main(["rl", "train", "ACME", "--config", tiny_yaml, "--timesteps", "128",
                 "--out", str(out), "--no-progress", "--seeds", "2", "--folds", "1",
                 "--seed-timesteps", "128"]) == 0
    recorded = json.loads((out / "policy.json").read_text())["config"]["statistics"]
    assert (recorded["seeds"], recorded["folds"], recorded["timesteps"]) == (2, 1, 128)
    capsys.readouterr()
    assert main(["rl", "evaluate", "ACME", "--policy", str(out / "policy.zip")]) == 0
    captured = capsys.readouterr()
    assert "2 seeds x 1 folds: IQM sharpe" in captured.out
    assert "seed study 2/2" in captured.err
    doc = json.loads((out / "seeds.json").read_text())
    assert doc["seeds"] == [0, 1] and len(doc["folds"]) == 1
    assert (out / "seeds.png").is_file()
    assert main(["rl", "evaluate", "ACME", "--policy", str(out / "policy.zip"),
                 "--seeds", "1", "--folds", "2"]) == 0
    doc = json.loads((out / "seeds.json").read_text())
    assert doc["seeds"] == [0] and len(doc["folds"]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:  # argparse: one line, exit 2
        main(["rl", "evaluate", "ACME", "--seeds", "0"])
    assert bad.value.code == 2
    assert "--seeds: '0' is not an integer >= 1" in capsys.readouterr().err
    assert main(["rl", "evaluate", "ACME", "--policy", str(out / "policy.zip"),
                 "--no-statistics", "--seeds", "2"]) == 2
    assert "choose one" in capsys.readouterr().err


def test_cli_truncated_policy(lab_env, filled_store, tiny_yaml, tmp_path, capsys):
    """A guardrail stop: rl train exits 3 (policy saved, marked truncated); rl evaluate
    refuses it with exit 2 and writes nothing, unless --allow-truncated."""
    from research_lab.cli import main

    out = tmp_path / "cut_policy"
    assert main(["rl", "train", "ACME", "--config", tiny_yaml, "--out", str(out),
                 "--no-progress", "--wall-clock", "1e-6"]) == 3
    captured = capsys.readouterr()
    assert "stopped: wall_clock" in captured.out and "truncated" in captured.err
    assert json.loads((out / "policy.json").read_text())["truncated"] is True
    before = sorted(p.name for p in out.iterdir())
    assert main(["rl", "evaluate", "ACME", "--policy", str(out / "policy.zip")]) == 2
    err = capsys.readouterr().err
    assert "is truncated" in err and "--allow-truncated" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == before, "a refusal writes nothing"
    assert main(["rl", "evaluate", "ACME", "--policy", str(out / "policy.zip"),
                 "--allow-truncated", "--no-statistics"]) == 0
    assert "the policy is truncated (wall_clock" in capsys.readouterr().out
    assert (out / "evaluation.json").is_file()


def test_truncated_policy_fails_rl_evaluation_unless_allowed(lab_env, instance, filled_store,
                                                             tiny_yaml, tmp_path):
    instance.add_dynamic_partitions("symbol", ["ACME"])
    resources = {**default_resources(), "tracking": TrackingResource(background=False)}
    trained = dg.materialize([rl_policy], instance=instance, partition_key="ACME",
                             resources=resources, run_config=dg.RunConfig({"rl_policy":
                             RLPolicyConfig(config_path=tiny_yaml, max_timesteps=100,
                                            mlflow=False)}))
    md = trained.asset_materializations_for_node("rl_policy")[0].metadata
    assert md["truncated"].value is True and md["stop_reason"].value == "max_timesteps"
    refused = dg.materialize([rl_evaluation], instance=instance, partition_key="ACME",
                             resources=resources, raise_on_error=False,
                             run_config=dg.RunConfig({"rl_evaluation": RLEvaluationConfig(
                                 statistics=False, mlflow=False)}))
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    assert "is truncated" in failure.event_specific_data.error.to_string()
    allowed = dg.materialize([rl_evaluation], instance=instance, partition_key="ACME",
                             resources=resources, run_config=dg.RunConfig({"rl_evaluation":
                             RLEvaluationConfig(statistics=False, allow_truncated=True,
                                                mlflow=False)}))
    md = allowed.asset_materializations_for_node("rl_evaluation")[0].metadata
    assert md["truncated"].value is True and "seeds.iqm" not in md
