"""The tracker end to end on the embedded store (SQLite + artifact folder), and against a
server address where nothing listens (outbox, replay, no duplicates)."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from research_lab.core.tracking import ExperimentTracker, Lineage, open_client
from research_lab.core.tracking.outbox import Outbox
from research_lab.core.tracking.records import RunRecord
from research_lab.core.tracking.retry import Backoff
from research_lab.core.tracking.server import free_port
from research_lab.core.tracking.writer import MlflowWriter, run_key_filter

EXP = "Q1_2025.Equities.MeanReversion.SMACrossover"


def _runs(client, view="all"):
    from mlflow.entities import ViewType

    exp = client.get_experiment_by_name(EXP)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id],
                              run_view_type=ViewType.ALL if view == "all" else ViewType.ACTIVE_ONLY)


def test_log_run_writes_params_metrics_tags_and_artifacts(lab_home, artifact):
    with ExperimentTracker(team="alpha") as tracker:
        ticket = tracker.log_run(
            EXP, "ACME 10/30", params={"fast": 10, "slow": 30},
            metrics={"sharpe": 1.25, "max_drawdown": -0.1},
            artifacts={"result.json": artifact, "plots/copy.json": artifact},
            lineage=Lineage(dagster_run_id="d-1", data_version="dv1", seed=7),
        )
        artifact.unlink()  # the caller may delete its files once log_run returned
    assert ticket.wait(30) is not None and not ticket.outboxed
    client = open_client()
    run = client.get_run(ticket.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"fast": "10", "slow": "30"}
    assert run.data.metrics == {"sharpe": 1.25, "max_drawdown": -0.1}
    tags = run.data.tags
    assert {k: tags[k] for k in ("project", "asset_class", "strategy_family", "strategy", "team",
                                 "status", "kind", "dagster.run_id", "data_version", "seed",
                                 "code_version")} == {
        "project": "Q1_2025", "asset_class": "Equities", "strategy_family": "MeanReversion",
        "strategy": "SMACrossover", "team": "alpha", "status": "research", "kind": "backtest",
        "dagster.run_id": "d-1", "data_version": "dv1", "seed": "7", "code_version": "test-sha"}
    assert tags["research_lab.run_key"] == ticket.key
    names = sorted(f.path for f in client.list_artifacts(ticket.run_id))
    assert names == ["plots", "result.json"]
    assert [f.path for f in client.list_artifacts(ticket.run_id, "plots")] == ["plots/copy.json"]
    # embedded: artifacts live in the folder beside the SQLite file, not in ./mlruns
    assert run.info.artifact_uri.startswith((lab_home / "mlflow" / "artifacts").as_uri())
    assert Outbox(lab_home / "mlflow" / "outbox").entries() == []


def test_bad_input_fails_in_the_caller_and_journals_nothing(lab_home):
    with ExperimentTracker() as tracker:
        with pytest.raises(ValueError, match="experiment name 'Q1.Equities' has 2 part"):
            tracker.log_run("Q1.Equities", params={"a": 1})
        with pytest.raises(ValueError, match="metric 'sharpe' must be a number"):
            tracker.log_run(EXP, metrics={"sharpe": "n/a"})
        with pytest.raises(ValueError, match="status 'live' is not one of"):
            tracker.log_run(EXP, status="live")
    assert not (lab_home / "mlflow" / "outbox" / "pending").exists()


def test_study_parent_and_children(lab_home):
    with ExperimentTracker() as tracker:
        study = tracker.start_parent(EXP, "study-1", params={"sampler": "tpe"})
        trials = [tracker.log_child(study, f"trial-{i}", params={"fast": i},
                                    metrics={"sharpe": i / 10}) for i in range(3)]
        tracker.finish_parent(study, metrics={"best_sharpe": 0.2})
    client = open_client()
    parent = client.get_run(study.wait(10))
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics == {"best_sharpe": 0.2}
    assert parent.data.tags["kind"] == "study"
    for t in trials:
        child = client.get_run(t.wait(10))
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["kind"] == "trial"
    assert len(_runs(client)) == 4
    with ExperimentTracker(background=False) as later:  # a study resumed in another process
        resumed = later.log_run(EXP, "trial-late", parent_run_id=parent.info.run_id, kind="trial")
    assert client.get_run(resumed.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    with pytest.raises(ValueError, match="belongs in its parent's experiment"):
        ExperimentTracker().log_run("Q1_2025.Equities.Momentum.RSI", parent=study)


def test_writing_a_record_again_never_duplicates_it(lab_home):
    from research_lab.core.tracking.config import resolve_target

    rec = RunRecord(key="fixed-key-1", experiment=EXP, params={"a": "1"}, metrics={"m": 2.0},
                    end_time=1_700_000_000_000)
    writer = MlflowWriter(resolve_target())
    first = writer.write(rec, lookup=False)
    again = MlflowWriter(resolve_target()).write(rec, lookup=True)  # a fresh writer: no cache
    assert first == again
    client = open_client()
    exp_id = client.get_experiment_by_name(EXP).experiment_id
    assert len(client.search_runs([exp_id], run_key_filter("fixed-key-1"))) == 1


def test_a_half_written_run_is_completed_not_recreated(lab_home):
    from research_lab.core.tracking.config import resolve_target

    client = open_client()
    writer = MlflowWriter(resolve_target(), client)
    exp_id = writer.experiment_id(EXP)
    # an attempt that died after create_run: the run exists, RUNNING, without metrics
    half = client.create_run(exp_id, tags={"research_lab.run_key": "k-half"}).info.run_id
    rec = RunRecord(key="k-half", experiment=EXP, params={"a": "1"}, metrics={"m": 3.0})
    assert writer.write(rec, lookup=True) == half
    run = client.get_run(half)
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 3.0}
    assert len(_runs(client)) == 1


def test_unreachable_server_outbox_then_replay_without_duplicates(lab_home, artifact):
    outbox_dir = lab_home / "mlflow" / "outbox"
    dead = f"http://127.0.0.1:{free_port()}"
    tracker = ExperimentTracker(dead, backoff=Backoff(attempts=2, base=0.01), workers=1)
    first = tracker.log_run(EXP, "r1", params={"fast": 1}, metrics={"sharpe": 1.0},
                            artifacts={"result.json": artifact})
    assert first.wait(60) is None and first.outboxed
    assert "ConnectionError" in first.error or "failed with exception" in first.error
    # offline now: the next run goes straight to the outbox without waiting on the server
    second = tracker.log_run(EXP, "r2", params={"fast": 2}, metrics={"sharpe": 2.0})
    assert second.wait(5) is None and "offline" in second.error
    tracker.close()
    pending = Outbox(outbox_dir).entries()
    assert [e.record().key for e in pending] == [first.key, second.key]
    assert pending[0].record().attempts == 1

    replayer = ExperimentTracker()  # the embedded store stands in for the restarted server
    report = replayer.replay_outbox()
    assert (len(report.written), report.failed, report.left) == (2, [], 0)
    assert replayer.replay_outbox().written == []  # nothing left: a second replay is a no-op
    replayer.close()
    client = open_client()
    runs = _runs(client)
    assert sorted(r.info.run_name for r in runs) == ["r1", "r2"]
    by_name = {r.info.run_name: r for r in runs}
    assert [f.path for f in client.list_artifacts(by_name["r1"].info.run_id)] == ["result.json"]


def test_replay_of_an_already_written_record_finds_it(lab_home):
    with ExperimentTracker() as tracker:
        ticket = tracker.log_run(EXP, "once", metrics={"m": 1.0})
    assert ticket.wait(10)
    # the same record also waits in the outbox (e.g. a write whose answer was lost)
    box = Outbox(lab_home / "mlflow" / "outbox")
    box.put(RunRecord(key=ticket.key, experiment=EXP, run_name="once", metrics={"m": 1.0}))
    report = ExperimentTracker(background=False).replay_outbox()
    assert report.written == [(ticket.key, ticket.run_id)]
    assert len(_runs(open_client())) == 1


def test_runs_logged_just_before_exit_are_flushed(lab_home):
    code = textwrap.dedent(f"""
        from research_lab.core.tracking import ExperimentTracker
        t = ExperimentTracker()
        for i in range(3):
            t.log_run({EXP!r}, f"exit-{{i}}", metrics={{"m": i}})
        # no close(): the atexit hook flushes
    """)
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy(), timeout=120)
    assert sorted(r.info.run_name for r in _runs(open_client())) == ["exit-0", "exit-1", "exit-2"]
    assert Outbox(lab_home / "mlflow" / "outbox").entries() == []


def test_a_killed_process_loses_nothing(lab_home, artifact):
    dead = f"http://127.0.0.1:{free_port()}"
    code = textwrap.dedent(f"""
        import sys, time
        from research_lab.core.tracking import ExperimentTracker, Backoff
        t = ExperimentTracker({dead!r}, backoff=Backoff(attempts=5, base=60))
        t.log_run({EXP!r}, "killed", metrics={{"m": 1}}, artifacts={{"r.json": {str(artifact)!r}}})
        print("logged", flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "logged"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    report = ExperimentTracker(background=False).replay_outbox()  # adopts the dead journal
    assert len(report.written) == 1
    (run,) = _runs(open_client())
    assert run.info.run_name == "killed"
    assert [f.path for f in open_client().list_artifacts(run.info.run_id)] == ["r.json"]
