"""Real worker processes on a real PostgreSQL study: created once, 2 workers x N trials,
a worker SIGKILLed mid-trial, the study completed with every trial accounted for."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import optuna
import pytest
from optuna.trial import TrialState

from research_lab.core.backtest.params import DEFAULT_SPACES_PATH
from research_lab.core.optimize import StudyRequest, load_space, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.objective import objective_spec

pytestmark = pytest.mark.postgres
SMA = DEFAULT_SPACES_PATH.parent / "param_spaces" / "sma_cross.yaml"


def test_two_creators_on_an_empty_database_do_not_race(pg_url):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: S.create_study(pg_url, "race", ["maximize"])[1], [0, 1]))
    assert sorted(results) == [False, True]
    assert S.list_studies(pg_url) == ["race"]


def test_a_worker_without_the_study_gets_a_clear_error(pg_url):
    with pytest.raises(S.StorageError, match="holds no Optuna schema yet"):
        S.load_study(pg_url, "missing")


def test_two_worker_processes_give_2n_distinct_trials(pg_url, bars, cfg, tmp_path):
    n = 8
    rep = run_study(StudyRequest("sma_cross", "ACME", bars, load_space(SMA), "pair", n_trials=2 * n,
                                 workers=2, storage_url=pg_url, config=cfg,
                                 output_dir=str(tmp_path)))
    trials = optuna.load_study(study_name="pair", storage=pg_url).get_trials()
    spent = [t for t in trials if not t.user_attrs.get("infeasible")
             and t.user_attrs.get("reused_from") is None]
    assert len(spent) == 2 * n and len({t.number for t in trials}) == len(trials)
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2 and all(str(os.getpid()) not in w.split(":")[1] for w in workers)
    assert rep.counts["done"] == 2 * n and rep.counts["fail"] == 0


def test_a_killed_worker_trial_is_failed_by_heartbeat_and_retried(pg_url, bars, cfg, tmp_path):
    """calmar_ratio goes through the full metric report (~0.1 s a fold), so trials are slow
    enough to be caught running."""
    total = 24  # enough trials that one is always caught running, even on a loaded machine
    request = StudyRequest("sma_cross", "ACME", bars, load_space(SMA), "kill", n_trials=total,
                           workers=2, storage_url=pg_url, config=cfg,
                           objective=objective_spec("calmar_ratio"), output_dir=str(tmp_path))
    result = {}
    runner = threading.Thread(target=lambda: result.update(report=run_study(request)))
    runner.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and runner.is_alive():  # poll
        try:  # never optuna.load_study(storage=url): that creates tables and races the runner
            running = S.load_study(pg_url, "kill").get_trials(states=(TrialState.RUNNING,))
        except S.StorageError:
            running = []
        for t in running:  # after its first fold, before its last (folds still to go)
            if "worker" in t.user_attrs and 1 <= len(t.intermediate_values) <= 2:
                victim = t.user_attrs["worker"]
                os.kill(int(victim.split(":")[1]), signal.SIGKILL)
                break
        time.sleep(0.05)
    assert victim is not None, "never saw a running trial"
    pid = int(victim.split(":")[1])
    gone = time.monotonic() + 30
    while time.monotonic() < gone and _alive(pid):  # the kernel takes the process down
        time.sleep(0.02)
    frozen = [t.number for t in S.load_study(pg_url, "kill").get_trials(
        states=(TrialState.RUNNING,)) if t.user_attrs.get("worker") == victim]
    assert len(frozen) == 1, f"the kill did not land mid-trial: {frozen}"
    runner.join(240)
    assert not runner.is_alive()
    assert "report" in result, "the study run failed (see the thread's exception above)"
    report = result["report"]
    trials = {t.number: t for t in optuna.load_study(study_name="kill", storage=pg_url).get_trials()}
    # the trial the killed worker was running when it died: failed by heartbeat, retried
    failed = [t for t in trials.values() if t.state == TrialState.FAIL]
    assert [t.number for t in failed] == frozen and failed[0].user_attrs["worker"] == victim
    killed = failed[0]
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].params == killed.params
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    # every trial accounted for: finished ones reach the target, the one failure was retried
    states = [t.state for t in trials.values()]
    assert states.count(TrialState.FAIL) == 1
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    assert report.counts["done"] == total     # infeasible and repeated points are free
    assert report.counts["fail"] == 1 and killed.number in report.retried


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped by the runner counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
