"""``unsynced_instance_writes``: SQLite files under the instance folder run with
synchronous=OFF inside the context only; other files (the market store, MLflow) keep the
default; a Dagster instance's own storage connections are the ones it applies to."""

import dagster as dg
import sqlalchemy as sa

from research_lab.cli.demo_sqlite import unsynced_instance_writes

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
