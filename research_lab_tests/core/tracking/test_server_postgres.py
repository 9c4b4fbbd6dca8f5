"""A real ``mlflow server`` on PostgreSQL (a fresh database): log, query, stop it (runs go to
the outbox), restart it, replay, and check that nothing is duplicated; then the indexes,
archiving and artifact clean-up through the server.

One scenario in one test: the server costs ~13 s to start on a fresh database (MLflow creates
its schema) and ~7 s to restart, and the suite runs with ``pytest -n 2 --dist load``, which
would give each of several tests of this module its own worker, and so its own server.
"""


import pytest

from research_lab.core.tracking import ExperimentTracker, Scope, lifecycle, migrate, queries
from research_lab.core.tracking.outbox import Outbox
from research_lab.core.tracking.retry import Backoff
from research_lab.core.tracking.server import MlflowServer, ServerSpec, free_port
from research_lab.core.tracking.writer import run_key_filter
from research_lab_tests.conftest import temp_pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
EXP = "Q3_2025.Equities.MeanReversion.SMACrossover"


@pytest.fixture(scope="module")
def pg_db():
    with temp_pg_database("rl_test_mlflow") as url:
        yield url


@pytest.fixture(scope="module")
def server(pg_db, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow_server")
    spec = ServerSpec(backend_uri=pg_db, artifacts_dir=str(tmp / "artifacts"), port=free_port())
    srv = MlflowServer(spec, log_path=tmp / "server.log")
    srv.start(wait=120)
    yield srv
    srv.kill()  # the database is dropped next; a graceful stop would only cost ~4 s


@pytest.fixture
def outbox_dir(tmp_path, monkeypatch):
    for var in ("RESEARCH_LAB_MLFLOW_URI", "MLFLOW_TRACKING_URI", "RESEARCH_LAB_MLFLOW_OUTBOX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    return tmp_path / "outbox"


def _client(server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(server.url)


def _count(client, key=None):
    from mlflow.entities import ViewType

    exp = client.get_experiment_by_name(EXP)
    return len(client.search_runs([exp.experiment_id], run_key_filter(key) if key else "",
                                  run_view_type=ViewType.ALL, max_results=1000))


def test_a_real_server_on_postgres(server, pg_db, outbox_dir, artifact):
    import psycopg2

    client = _client(server)
    # 1. log backtests and a study through HTTP; query them back
    with ExperimentTracker(server.url, outbox_dir=outbox_dir) as t:
        tickets = [t.log_run(EXP, f"bt-{i}", params={"fast": 10 * i, "slow": 50},
                             metrics={"sharpe": float(i)}, artifacts={"result.json": artifact})
                   for i in range(1, 4)]
        study = t.start_parent(EXP, "study")
        trials = [t.log_child(study, f"trial-{i}", params={"fast": i}, metrics={"sharpe": -i})
                  for i in range(2)]
        t.finish_parent(study, metrics={"best_sharpe": 0.0})
    assert all(x.run_id for x in tickets + trials + [study])
    assert _count(client) == 6
    top = queries.leaderboard(client, Scope("Q3_2025"), "sharpe", top=2, kind="backtest")
    assert [r.run_name for r in top] == ["bt-3", "bt-2"]
    assert [r.run_name for r in queries.find_runs(client, Scope("Q3_2025"),
                                                  params={"fast": 20})] == ["bt-2"]
    # artifacts went through the server (proxied) into its artifact folder
    assert [f.path for f in client.list_artifacts(tickets[0].run_id)] == ["result.json"]
    assert client.get_run(trials[0].run_id).data.tags["mlflow.parentRunId"] == study.run_id
    assert Outbox(outbox_dir).entries() == []

    # 2. the server dies: the backtests go on, their runs wait in the outbox
    server.kill()
    t = ExperimentTracker(server.url, outbox_dir=outbox_dir, backoff=Backoff(attempts=2, base=0.05))
    down = t.log_run(EXP, "while-down", params={"fast": 99}, metrics={"sharpe": 9.0},
                     artifacts={"result.json": artifact})
    study2 = t.start_parent(EXP, "study-down")
    child = t.log_child(study2, "trial-down", metrics={"sharpe": 1.0})
    t.finish_parent(study2, metrics={"best_sharpe": 1.0})
    t.close()
    assert down.wait(30) is None and child.wait(30) is None
    assert len(Outbox(outbox_dir).entries()) == 4  # run, parent start, child, parent finish
    replayer = ExperimentTracker(server.url, outbox_dir=outbox_dir, background=False,
                                 backoff=Backoff(attempts=1))
    still_down = replayer.replay_outbox()
    assert (len(still_down.written), len(still_down.failed), still_down.left) == (0, 1, 3)

    # 3. restarted, a replay writes them all once; a second replay writes nothing
    server.start(wait=120)
    report = replayer.replay_outbox()
    assert (len(report.written), report.failed) == (4, [])
    assert replayer.replay_outbox().written == []
    replayer.close()
    assert _count(client) == 9
    for key in (down.key, study2.key, child.key):
        assert _count(client, key) == 1
    exp_id = client.get_experiment_by_name(EXP).experiment_id
    parent = client.search_runs([exp_id], run_key_filter(study2.key))[0]
    assert parent.info.status == "FINISHED" and parent.data.metrics == {"best_sharpe": 1.0}
    kid = client.search_runs([exp_id], run_key_filter(child.key))[0]
    assert kid.data.tags["mlflow.parentRunId"] == parent.info.run_id
    late = client.search_runs([exp_id], run_key_filter(down.key))[0]
    assert [f.path for f in client.list_artifacts(late.info.run_id)] == ["result.json"]

    # 4. the extra indexes: created once, then present; long values still log
    first = migrate.apply(pg_db)
    assert all(created for _, created in first)
    assert not any(created for _, created in migrate.apply(pg_db))
    with psycopg2.connect(pg_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'rl_%'")
        assert {r[0] for r in cur.fetchall()} == {n for n, _ in first}
    conn.close()
    client.set_tag(late.info.run_id, "data_version", "x" * 7000)  # a B-tree would refuse it
    client.log_param(late.info.run_id, "long", "y" * 5000)

    # 5. archive the weak backtests, then free their artifacts through the server
    archived = lifecycle.archive_runs(client, Scope("Q3_2025", "Equities"),
                                      lifecycle.ArchiveRule(metric="sharpe", below=2.5))
    assert {r.run_name for r in archived} == {"bt-1", "bt-2", "trial-0", "trial-1", "trial-down"}
    cleaned = lifecycle.cleanup_artifacts(client, Scope("Q3_2025"))
    assert sum(c.files for c in cleaned) == 2
    assert client.list_artifacts(tickets[0].run_id) == []
    assert lifecycle.cleanup_artifacts(client, Scope("Q3_2025")) == []
