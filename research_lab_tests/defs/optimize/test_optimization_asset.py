"""optimization_study materialized on a temporary instance; the schedule ticked."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from research_lab.defs.optimize.assets import optimization_study
from research_lab.defs.optimize.partitions import study_key, study_partitions
from research_lab.defs.optimize.schedules import optimization_schedule
from research_lab.defs.resources import default_resources
from research_lab.defs.tracking.resources import TrackingResource



def _run(instance, **config):
    instance.add_dynamic_partitions("symbol", ["ACME"])
    instance.add_dynamic_partitions("strategy", ["sma_cross"])
    return dg.materialize(
        [optimization_study], instance=instance,
        partition_key=str(study_key("sma_cross", "ACME")),
        resources={**default_resources(), "tracking": TrackingResource()},
        run_config={"ops": {"optimization_study": {"config": config}}},
        raise_on_error=False,
    )


def test_the_asset_runs_a_study_and_reports_it(optimize_env, instance):
    selects = []
    listen = lambda conn, cur, stmt, *a: stmt.lstrip().upper().startswith("SELECT") and \
        "market_bars" in stmt and selects.append(stmt)  # noqa: E731
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", listen)
    try:
        result = _run(instance, n_trials=12, tracking=True, seed=3)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", listen)
    assert result.success
    assert len(selects) == 1                                     # the history in one query
    md = result.asset_materializations_for_node("optimization_study")[0].metadata
    assert md["trials_done"].value == 12          # infeasible / repeated points are free
    for key in ("improvement_vs_default", "improvement_vs_buy_hold", "trials_per_hour"):
        assert isinstance(md[key], dg.FloatMetadataValue), key
    assert md["leaderboard"].value.startswith("| rank | trial | sharpe_ratio | fast | slow |")
    assert set(md["best_params"].value) == {"fast", "slow"}
    for key in ("best_value", "is_value", "oos_value", "deflated_sharpe", "pbo"):
        assert isinstance(md[key], dg.FloatMetadataValue), key
    assert md["study_name"].value == "sma_cross.ACME"
    # MLflow: one parent run, one child run per trial, nothing lost
    from mlflow.tracking import MlflowClient

    from research_lab.core.tracking.config import resolve_target

    client = MlflowClient(resolve_target().uri)
    exp = client.get_experiment_by_name("Default.Equities.General.sma_cross")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("kind") == "study"]
    children = [r for r in runs if r.data.tags.get("kind") == "trial"]
    assert len(parents) == 1 and (  # every finished trial, free ones too
        len(children) == md["trials_completed"].value + md["trials_pruned"].value)
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert parents[0].data.metrics["trials_completed"] == md["trials_completed"].value
    assert parents[0].data.metrics["improvement_vs_buy_hold"] == pytest.approx(
        md["improvement_vs_buy_hold"].value)                     # the KPI in the parent run
    assert "dagster.run_id" in parents[0].data.tags
    artifacts = {a.path for a in client.list_artifacts(parents[0].info.run_id, "plots")}
    assert artifacts == {"plots/optimization_history.png", "plots/param_importances.png"}


def test_bad_config_fails_before_any_study(optimize_env, instance):
    result = _run(instance, metric="sharp", tracking=False)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    assert "unknown metric 'sharp'" in str(error.message) + str(error.cause and error.cause.message)
    from research_lab.core.optimize import storage as S

    assert S.list_studies(S.resolve_storage_url(None)) == []


def test_a_loss_that_does_not_load_fails_before_any_study(optimize_env, instance):
    result = _run(instance, loss="nosuchmodule_xyz:f", min_trades=3, tracking=False)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    text = str(error.message) + str(error.cause and error.cause.message)
    assert "--loss 'nosuchmodule_xyz:f': no module named 'nosuchmodule_xyz'" in text
    from research_lab.core.optimize import storage as S

    assert S.list_studies(S.resolve_storage_url(None)) == []


def test_the_schedule_tags_runs_for_the_queue(optimize_env, instance):
    instance.add_dynamic_partitions("symbol", ["ACME", "^GSPC", "^VIX"])
    from research_lab.defs.backtest.partitions import register_strategies

    register_strategies(instance)
    when = dt.datetime(2024, 5, 10, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    from research_lab.definitions import defs

    repo = defs.get_repository_def()
    ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                    repository_def=repo)
    requests = optimization_schedule.evaluate_tick(ctx).run_requests
    assert len(requests) == 3
    by_symbol = {r.partition_key.keys_by_dimension["symbol"]: r for r in requests}
    assert by_symbol["ACME"].tags["research_lab/kind"] == "optimization"
    assert by_symbol["ACME"].tags["research_lab/asset_class"] == "equity"
    assert by_symbol["^GSPC"].tags["dagster/priority"] == "10"
    assert by_symbol["^VIX"].tags["research_lab/asset_class"] == "volatility"
    assert by_symbol["ACME"].tags["research_lab/budget_until"].startswith("2024-05-13T09:00")
    day = dt.datetime(2024, 5, 8, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    skipped = optimization_schedule.evaluate_tick(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=day,
                                  repository_def=repo))
    assert not skipped.run_requests and "market is open" in skipped.skip_message
    assert study_partitions.get_partition_key_from_str("sma_cross|ACME")
