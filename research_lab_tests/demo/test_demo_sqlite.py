"""The demo's shortcuts on the instance. ``unsynced_instance_writes``: SQLite files under the
instance folder run with synchronous=OFF inside the context only; other files (the market
store, MLflow) keep the default; a Dagster instance's own storage connections are the ones it
applies to. ``one_planned_event_per_range``: a range run records one planned event inside the
context, one per partition outside."""

import os
from datetime import date


import dagster as dg
import sqlalchemy as sa

from research_lab.cli.demo_sqlite import (
    PLANNED_EVENTS_VARIABLE,
    one_planned_event_per_range,
    unsynced_instance_writes,
)
from research_lab_tests.defs.conftest import instance, lab_env  # noqa: F401 (fixtures)

FULL, OFF = 2, 0  # PRAGMA synchronous values


def _synchronous(path) -> int:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("PRAGMA synchronous")).scalar_one()
    finally:
        engine.dispose()


def test_only_files_under_the_instance_folder_and_only_inside_the_context(tmp_path):
    inside = tmp_path / "dagster_home" / "storage" / "runs.db"
    inside.parent.mkdir(parents=True)
    outside = tmp_path / "home" / "market.db"
    outside.parent.mkdir()
    assert _synchronous(inside) == FULL
    with unsynced_instance_writes(tmp_path / "dagster_home") as applied:
        assert _synchronous(inside) == OFF
        assert _synchronous(outside) == FULL
        assert _synchronous(":memory:") == FULL
    assert applied == [inside.resolve()]
    assert _synchronous(inside) == FULL  # the listener is gone


def test_a_dagster_instance_writes_its_events_unsynced(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()

    @dg.asset
    def tiny() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(home)) as instance:
        with unsynced_instance_writes(home) as applied:
            assert dg.materialize([tiny], instance=instance).success
        assert instance.get_latest_materialization_event(dg.AssetKey("tiny")) is not None
    names = {p.name for p in applied}
    assert {"runs.db", "index.db"} <= names, names
    assert all(p.is_relative_to(home.resolve()) for p in applied)


def _planned_events(instance, run_id) -> int:
    return sum(1 for e in instance.all_logs(run_id)
               if e.dagster_event is not None
               and e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)


def test_a_range_run_records_one_planned_event_inside_the_context(lab_env, instance,
                                                                  monkeypatch):
    from research_lab.defs.marketdata.backfill import materialize_range

    monkeypatch.delenv(PLANNED_EVENTS_VARIABLE, raising=False)
    week = (date(2023, 12, 27), date(2024, 1, 5))  # two year partitions per symbol
    outside = materialize_range(instance, ["ACME", "GLOBEX"], *week)
    with one_planned_event_per_range():
        assert os.environ[PLANNED_EVENTS_VARIABLE] == "1"
        inside = materialize_range(instance, ["ACME", "GLOBEX"], *week)
    assert PLANNED_EVENTS_VARIABLE not in os.environ  # restored
    assert outside.success and inside.success
    assert _planned_events(instance, outside.run_id) == 4  # 2 symbols × 2 years
    assert _planned_events(instance, inside.run_id) == 1
    # the materializations are the same: one per partition, each run
    assert len(inside.asset_materializations_for_node("market_data")) == 4
