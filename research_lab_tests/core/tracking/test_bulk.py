"""Finished runs written in one transaction (tracking/bulk.py): the same runs as MLflow's own
calls write, none lost when the transaction fails, none duplicated when written twice; on the
embedded SQLite store and on a PostgreSQL database."""

import math
import threading

import pytest

from research_lab.core.tracking import ExperimentTracker, open_client
from research_lab.core.tracking.bulk import BulkRunWriter, bulk_eligible
from research_lab.core.tracking.config import resolve_target
from research_lab.core.tracking.records import RunRecord
from research_lab.core.tracking.writer import MlflowWriter, run_key_filter
from research_lab_tests.conftest import temp_pg_database

EXP = "Q1_2025.Equities.MeanReversion.SMACrossover"
SKIP_TAGS = {"research_lab.run_key", "mlflow.runName"}


def _records(prefix, parent_key=None, n=3):
    return [RunRecord(key=f"{prefix}-{i}", experiment=EXP, run_name=f"trial {i}",
                      params={"fast": str(5 + i), "slow": "30"},
                      metrics={"sharpe": 0.5 + i, "fold_0": math.nan, "big": math.inf,
                               "trial_number": float(i)},
                      tags={"kind": "trial", "state": "COMPLETE", "mlflow.user": "ana"},
                      parent_key=parent_key, start_time=1_700_000_000_000 + i,
                      end_time=1_700_000_001_000 + i,
                      status="FAILED" if i == 2 else "FINISHED")
            for i in range(n)]


def _same_run(a, b):
    """Two runs that differ only in their ids, keys and names."""
    assert a.info.status == b.info.status
    assert (a.info.start_time, a.info.end_time) == (b.info.start_time, b.info.end_time)
    assert a.info.lifecycle_stage == b.info.lifecycle_stage == "active"
    assert a.info.user_id == b.info.user_id == "ana"
    assert a.info.experiment_id == b.info.experiment_id
    assert a.info.artifact_uri.replace(a.info.run_id, "ID") == \
        b.info.artifact_uri.replace(b.info.run_id, "ID")
    assert a.data.params == b.data.params
    assert a.data.metrics.keys() == b.data.metrics.keys()
    for k, v in a.data.metrics.items():
        w = b.data.metrics[k]
        assert (math.isnan(v) and math.isnan(w)) or v == w, k
    assert ({k: v for k, v in a.data.tags.items() if k not in SKIP_TAGS}
            == {k: v for k, v in b.data.tags.items() if k not in SKIP_TAGS})


def _compare_with_call_by_call():
    writer = MlflowWriter(resolve_target())
    parent = RunRecord(key="parent", experiment=EXP, finished=False)
    parent_id = writer.write(parent, lookup=False)
    one_by_one = {r.key: writer.write(r, lookup=False) for r in _records("single", "parent")}
    bulk = BulkRunWriter(writer)
    assert bulk.available()
    records = _records("bulk", "parent")
    assert all(bulk_eligible(r) for r in records)
    written, rest = bulk.write_many(records)
    assert rest == [] and sorted(written) == ["bulk-0", "bulk-1", "bulk-2"]
    client = open_client()
    for i in range(3):
        a = client.get_run(one_by_one[f"single-{i}"])
        b = client.get_run(written[f"bulk-{i}"])
        _same_run(a, b)
        assert b.data.tags["mlflow.parentRunId"] == parent_id
        assert b.data.tags["research_lab.run_key"] == f"bulk-{i}"
        assert b.info.run_name == f"trial {i}"
        for key in ("sharpe", "fold_0"):  # metric history, not only the latest values
            ha = client.get_metric_history(a.info.run_id, key)
            hb = client.get_metric_history(b.info.run_id, key)
            assert [(m.step, m.timestamp) for m in ha] == [(m.step, m.timestamp) for m in hb]
    exp_id = client.get_experiment_by_name(EXP).experiment_id
    # searches read latest_metrics and tags: bulk runs are found like the others
    found = client.search_runs([exp_id], "metrics.sharpe > 1 and tags.kind = 'trial'")
    assert len(found) == 4
    children = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    assert len(children) == 6
    # written twice: nothing added, every record handed back to the one-by-one path
    again, rest = BulkRunWriter(MlflowWriter(resolve_target())).write_many(records)
    assert again == {} and [r.key for r in rest] == [r.key for r in records]
    assert len(client.search_runs([exp_id], run_key_filter("bulk-1"))) == 1


def test_bulk_runs_read_back_like_runs_written_call_by_call(lab_home):
    _compare_with_call_by_call()


@pytest.mark.postgres
def test_bulk_runs_on_a_postgresql_mlflow_database(lab_home, monkeypatch):
    with temp_pg_database("rl_test_mlbulk") as url:
        monkeypatch.setenv("RESEARCH_LAB_MLFLOW_URI", url)
        _compare_with_call_by_call()


def test_what_is_not_eligible_goes_one_by_one():
    fresh = _records("x")[0]
    assert bulk_eligible(fresh)
    assert not bulk_eligible(RunRecord(key="p", experiment=EXP, finished=False))
    assert not bulk_eligible(fresh.with_attempt("server down"))
    assert not bulk_eligible(RunRecord(key="a", experiment=EXP, artifacts={"r.json": "/x"}))


def _held_tracker(monkeypatch):
    """A tracker whose writer thread is held while the parent run is written, so that the
    children queue up behind it; returns (tracker, release)."""
    release = threading.Event()
    real = MlflowWriter.write

    def write(self, record, *, lookup):
        if not record.finished:
            assert release.wait(30)
        return real(self, record, lookup=lookup)

    monkeypatch.setattr(MlflowWriter, "write", write)
    return ExperimentTracker(), release


def test_a_burst_of_children_is_one_transaction_and_none_is_lost(lab_home, monkeypatch):
    calls = []
    real = BulkRunWriter.write_many

    def write_many(self, records):
        calls.append(len(records))
        return real(self, records)

    monkeypatch.setattr(BulkRunWriter, "write_many", write_many)
    tracker, release = _held_tracker(monkeypatch)
    study = tracker.start_parent(EXP, "study")
    tickets = [tracker.log_child(study, f"trial {i}", params={"fast": i}, metrics={"s": i})
               for i in range(300)]
    release.set()
    tracker.finish_parent(study, metrics={"best": 299.0})
    tracker.close()
    assert calls == [300]
    client = open_client()
    parent_id = study.wait(10)
    exp_id = client.get_experiment_by_name(EXP).experiment_id
    children = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{parent_id}'",
                                  max_results=1000)
    assert len(children) == 300
    assert {t.run_id for t in tickets} == {r.info.run_id for r in children}
    assert client.get_run(parent_id).data.metrics == {"best": 299.0}
    assert tracker.pending() == 0


def test_a_failed_transaction_writes_every_run_one_by_one(lab_home, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(self, records):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(BulkRunWriter, "write_many", broken)
    tracker, release = _held_tracker(monkeypatch)
    study = tracker.start_parent(EXP, "study")
    tickets = [tracker.log_child(study, f"trial {i}", metrics={"s": i}) for i in range(20)]
    release.set()
    tracker.close()
    client = open_client()
    exp_id = client.get_experiment_by_name(EXP).experiment_id
    children = client.search_runs([exp_id], "tags.kind = 'trial'", max_results=100)
    assert len(children) == 20
    assert all(t.run_id for t in tickets)
    assert tracker.pending() == 0
