"""``research-lab project`` and ``research-lab stack mlflow`` as a user runs them."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from research_lab_tests.signals import ctrl_c_as_at_a_terminal
from research_lab.cli import main
from research_lab.cli.project import add_tracking_arguments
from research_lab.core.tracking import ExperimentTracker
from research_lab.core.tracking.server import free_port, is_healthy

EXP = "Q1_2025.Equities.MeanReversion.SMACrossover"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def logged(lab_home, artifact):
    ids = {}
    with ExperimentTracker(background=False) as t:
        for name, sharpe, fast in (("a", 1.0, 10), ("b", 2.0, 20), ("c", 0.5, 10)):
            ids[name] = t.log_run(EXP, name, params={"fast": fast}, metrics={"sharpe": sharpe},
                                  artifacts={"result.json": artifact}).run_id
    return ids


def test_create_and_list(lab_home, capsys):
    code, out, _ = run(capsys, "project", "create", EXP)
    assert code == 0 and out.startswith(f"experiment {EXP} (id ")
    assert run(capsys, "project", "create", EXP)[1] == out  # idempotent: same id
    code, out, _ = run(capsys, "project", "list")
    assert out.splitlines() == ["Q1_2025", f"  {EXP}"]
    assert json.loads(run(capsys, "project", "list", "--json")[1]) == {"Q1_2025": [EXP]}


def test_bad_input_exits_2_with_one_line(lab_home, capsys):
    code, out, err = run(capsys, "project", "create", "Q1_2025.Equities.SMACrossover")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "has 3 part(s); expected 4" in err
    code, _, err = run(capsys, "project", "leaderboard", "--project", "Q1 2025", "--metric", "x")
    assert code == 2 and "Project 'Q1 2025'" in err
    code, _, err = run(capsys, "project", "archive", "--project", "Q1_2025")
    assert code == 2 and "--before DATE and/or --below" in err


def test_leaderboard_find_compare(logged, capsys):
    code, out, _ = run(capsys, "project", "leaderboard", "--project", "Q1_2025",
                       "--metric", "sharpe", "--top", "2")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:6] == ["#", "run_id", "run_name", "experiment",
                                                  "status", "sharpe"]
    assert [ln.split()[2] for ln in lines[1:]] == ["b", "a"]
    rows = json.loads(run(capsys, "project", "find", "--project", "Q1_2025", "--param",
                          "fast=10", "--json")[1])
    assert sorted(r["run_name"] for r in rows) == ["a", "c"]
    assert rows[0]["tags"]["project"] == "Q1_2025"
    code, out, _ = run(capsys, "project", "compare", logged["a"], logged["b"])
    assert code == 0 and "fast *" in out and "* differs: fast" in out


def test_status_archive_cleanup(logged, capsys):
    a = logged["a"]
    assert run(capsys, "project", "status", a)[1].strip() == (
        f"{a}: research (can move to: testing, archived)")
    assert run(capsys, "project", "status", a, "--set", "testing")[1].strip() == (
        f"{a}: research -> testing")
    code, _, err = run(capsys, "project", "status", a, "--set", "research2")
    assert code == 2 and "'research2' is not one of" in err
    code, out, _ = run(capsys, "project", "archive", "--project", "Q1_2025", "--below",
                       "sharpe=1.5", "--dry-run")
    assert out.startswith("would archive 2 run(s) in Q1_2025")
    assert run(capsys, "project", "archive", "--project", "Q1_2025",
               "--below", "sharpe=1.5")[1].startswith("archived 2 run(s)")
    assert run(capsys, "project", "cleanup", "--project", "Q1_2025")[1].strip() == (
        "deleted 2 artifact file(s) of 2 archived run(s)")
    assert run(capsys, "project", "cleanup")[1].strip() == (
        "deleted 0 artifact file(s) of 0 archived run(s)")


def test_replay_outbox_and_migrate(lab_home, artifact, capsys):
    from research_lab.core.tracking.outbox import Outbox
    from research_lab.core.tracking.records import RunRecord

    Outbox(lab_home / "mlflow" / "outbox").put(
        RunRecord(key="k-cli", experiment=EXP, run_name="late", metrics={"sharpe": 4.0}))
    out = run(capsys, "project", "replay-outbox", "--list")[1]
    assert out.startswith("1 run(s) wait in") and "k-cli" in out
    code, out, _ = run(capsys, "project", "replay-outbox")
    assert code == 0 and "1 written, 0 failed, 0 left" in out
    assert "late" in run(capsys, "project", "leaderboard", "--project", "Q1_2025",
                         "--metric", "sharpe")[1]
    out = run(capsys, "project", "migrate")[1]
    assert "rl_tags_value: created" in out
    assert "rl_tags_value: present" in run(capsys, "project", "migrate")[1]
    code, _, err = run(capsys, "project", "migrate", "--uri", "http://127.0.0.1:1")
    assert code == 2 and "give --db" in err


def test_tracking_arguments_for_the_backtest_command():
    import argparse

    p = argparse.ArgumentParser()
    add_tracking_arguments(p)
    assert p.parse_args([]).mlflow is None
    args = p.parse_args(["--mlflow", "--project", "Q1_2025", "--strategy-family", "Trend"])
    assert (args.mlflow, args.project, args.asset_class, args.strategy_family) == (
        "", "Q1_2025", "Equities", "Trend")
    assert p.parse_args(["--mlflow", "http://h:5000"]).mlflow == "http://h:5000"


@pytest.mark.slow
def test_stack_mlflow_serves_until_interrupted(tmp_path, mlflow_template):
    db = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, db)  # a ready schema: starts in ~7 s instead of ~13 s
    port = free_port()
    env = {**os.environ, "RESEARCH_LAB_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "research-lab"), "stack", "mlflow", "--backend",
         f"sqlite:///{db}", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
        preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"MLflow at http://127.0.0.1:{port} "), proc.stderr.read()
        assert is_healthy(f"http://127.0.0.1:{port}")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        assert not is_healthy(f"http://127.0.0.1:{port}", 1.0)
        assert (tmp_path / "mlflow" / "artifacts").is_dir()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
