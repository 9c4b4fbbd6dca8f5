"""Stopping a study with real processes: ``research-lab optimize --workers 2`` runs an endless
study; SIGTERM, Ctrl-C (SIGINT) or a stop request from another process ends it: every worker
process it started is gone, no trial is RUNNING, the study records why, and no trial is added
afterwards. SIGKILL of the runner itself takes its workers down too (parent-death signal)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from research_lab_tests.signals import ctrl_c_as_at_a_terminal
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.stopping import STOPPED_ATTR, request_stop

from .conftest import make_bars

ROOT = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _worker_pids(study) -> set[int]:
    return {int(t.user_attrs["worker"].rsplit(":", 2)[1]) for t in study.trials
            if "worker" in t.user_attrs}


def _wait(predicate, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)  # polling real processes and a storage, with a deadline
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def endless(tmp_path):
    """Start an endless 2-worker study in a CLI process; yields (process, study loader)."""
    csv = tmp_path / "acme.csv"
    b = make_bars(800)
    b.assign(date=b["session"].dt.strftime("%Y-%m-%d"))[
        ["date", "open", "high", "low", "close", "volume"]].to_csv(csv, index=False)
    conf = tmp_path / "optimize.yaml"
    conf.write_text("market_hours: {policy: ignore}\n"
                    "storage: {heartbeat_interval: 1, grace_period: 2}\n")
    url = f"journal:///{tmp_path / 'studies.journal'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RESEARCH_LAB_HOME": str(tmp_path),
           "RESEARCH_LAB_STORE_URL": f"sqlite:///{tmp_path / 'market.db'}"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "research-lab"), "optimize", "--strategy", "sma_cross",
         "--csv", str(csv), "--n-trials", "1000000", "--workers", "2", "--study-name", "endless",
         "--storage", url, "--config", str(conf), "--no-tracking", "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=ctrl_c_as_at_a_terminal)

    def study():
        return S.load_study(url, "endless")

    def running_workers():
        if proc.poll() is not None:
            raise AssertionError(f"the study exited with {proc.returncode}: "
                                 f"{proc.stderr.read()[-2000:]}")
        try:
            s = study()
        except S.StorageError:
            return False
        return len(_worker_pids(s)) == 2 and sum(t.state.is_finished() for t in s.trials) > 20

    try:
        _wait(running_workers, 120, "two workers finishing trials")
        yield proc, study
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "request"])
def test_stopping_stops_every_worker_and_leaves_no_trial_running(endless, how):
    proc, study = endless
    workers = _worker_pids(study())
    assert all(_alive(pid) for pid in workers)
    if how == "request":   # what `optimize stop` and the API's DELETE do, from another process
        request_stop(study(), "canceled by a test")
    else:
        proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not any(_alive(pid) for pid in workers)
    s = study()
    states = [t.state.name for t in s.trials]
    assert "RUNNING" not in states
    assert s.user_attrs[STOPPED_ATTR]["reason"] == {
        "SIGTERM": "SIGTERM", "SIGINT": "KeyboardInterrupt",
        "request": "canceled by a test"}[how]
    count = len(s.trials)
    time.sleep(2)
    assert len(study().trials) == count        # nothing runs any more


def test_workers_die_with_a_killed_runner(endless):
    proc, study = endless
    workers = _worker_pids(study())
    proc.kill()                                  # SIGKILL: no handler can run in the runner
    proc.wait()
    _wait(lambda: not any(_alive(pid) for pid in workers), 30, "orphaned workers to exit")
    assert "RUNNING" not in [t.state.name for t in study().trials]   # each failed its own
