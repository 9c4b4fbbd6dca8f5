"""The tracking resource in a materialized asset, the outbox sensor and the replay job."""

import dagster as dg

from research_lab.core.tracking import open_client
from research_lab.core.tracking.outbox import Outbox
from research_lab.core.tracking.records import RunRecord
from research_lab.core.tracking.server import free_port
from research_lab.defs.tracking.jobs import replay_tracking_outbox_job
from research_lab.defs.tracking.resources import TrackingResource
from research_lab.defs.tracking.sensors import tracking_outbox_sensor

EXP = "Q1_2025.Equities.MeanReversion.SMACrossover"


def test_definitions_hold_the_tracking_domain():
    from research_lab.definitions import defs

    repo = defs.get_repository_def()
    assert repo.has_job("replay_tracking_outbox_job")
    assert "tracking_outbox_sensor" in {s.name for s in repo.sensor_defs}
    assert isinstance(defs.resources["tracking"], TrackingResource)


def test_an_asset_logs_with_dagster_lineage_and_the_step_flushes(lab_home, instance):
    parts = dg.StaticPartitionsDefinition(["ACME", "GLOBEX"])

    @dg.asset(partitions_def=parts)
    def tracked(context: dg.AssetExecutionContext, tracking: TrackingResource):
        tracker = tracking.get_tracker()
        ticket = tracker.log_run(EXP, context.partition_key, metrics={"sharpe": 1.0},
                                 lineage=tracking.lineage(context, data_version="dv", seed=3))
        return ticket.key  # written in the background; the step's teardown flushes it

    result = dg.materialize([tracked], partition_key="GLOBEX", instance=instance,
                            resources={"tracking": TrackingResource(team="quant")})
    assert result.success
    key = result.output_for_node("tracked")
    client = open_client()
    (run,) = client.search_runs([client.get_experiment_by_name(EXP).experiment_id],
                                f"tags.`research_lab.run_key` = '{key}'")
    tags = run.data.tags
    assert tags["dagster.run_id"] == result.run_id
    assert tags["dagster.partition_key"] == "GLOBEX"
    assert (tags["team"], tags["data_version"], tags["seed"]) == ("quant", "dv", "3")
    assert Outbox(lab_home / "mlflow" / "outbox").entries() == []


def _pending(lab_home, *records):
    box = Outbox(lab_home / "mlflow" / "outbox")
    for rec in records:
        box.put(rec)
    return box


def tick(**resource_fields):
    with dg.build_sensor_context(
            resources={"tracking": TrackingResource(**resource_fields)}) as ctx:
        return tracking_outbox_sensor(ctx)


def test_sensor_skips_an_empty_outbox_and_a_silent_server(lab_home):
    assert "empty" in tick().skip_message
    _pending(lab_home, RunRecord(key="k1", experiment=EXP))
    silent = tick(tracking_uri=f"http://127.0.0.1:{free_port()}")
    assert "1 run(s) wait in the outbox; the tracking server does not answer" in (
        silent.skip_message)


def test_sensor_requests_one_replay_per_outbox_state(lab_home):
    box = _pending(lab_home, RunRecord(key="k1", experiment=EXP))
    first = tick()
    assert isinstance(first, dg.RunRequest) and first.run_key.startswith("outbox-")
    assert tick().run_key == first.run_key  # the same outbox: the same key, requested once
    entry = box.entries()[0]
    box.update(entry, entry.record().with_attempt("down"))  # a failed replay rewrites it
    assert tick().run_key != first.run_key


def test_replay_job_writes_the_outbox(lab_home, instance):
    _pending(lab_home, RunRecord(key="k-job", experiment=EXP, run_name="late",
                                 metrics={"sharpe": 2.0}))
    result = replay_tracking_outbox_job.execute_in_process(
        instance=instance, resources={"tracking": TrackingResource()})
    assert result.success and result.output_for_node("replay_tracking_outbox") == 1
    client = open_client()
    runs = client.search_runs([client.get_experiment_by_name(EXP).experiment_id])
    assert [r.info.run_name for r in runs] == ["late"]
    assert Outbox(lab_home / "mlflow" / "outbox").entries() == []


def test_replay_job_fails_on_a_run_mlflow_refuses_and_keeps_it(lab_home, instance):
    _pending(lab_home, RunRecord(key="orphan-child", experiment=EXP, parent_key="no-such-parent"))
    result = replay_tracking_outbox_job.execute_in_process(
        instance=instance, resources={"tracking": TrackingResource()}, raise_on_error=False)
    assert not result.success
    (entry,) = Outbox(lab_home / "mlflow" / "outbox").entries()
    assert "parent run no-such-parent is not in MLflow" in entry.record().last_error
