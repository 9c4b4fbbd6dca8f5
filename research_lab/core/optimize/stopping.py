"""Stopping a study: every worker it started stops, no trial stays RUNNING, the study says so.

What stops a study, and what happens then:

* **Ctrl-C** (SIGINT) in the process running it: ``KeyboardInterrupt``; Optuna fails the trial
  that was running in this process.
* **SIGTERM** (``kill``, a container stop, a supervisor) in that process or in a worker:
  :func:`handle_sigterm` turns it into a request (:data:`STOP`) that the trial checks between
  folds and the worker loop between trials (a worker process then fails its trial and exits
  143), so no storage write is cut in half.
* **Cancelling the Dagster run**: Dagster interrupts the step (an exception raised in the
  step's thread); the runner catches any exception the same way.
* **Another process** (``research-lab optimize stop``, the HTTP API's ``DELETE``):
  :func:`request_stop` writes the study attribute ``research_lab.stopped``; every worker,
  wherever it runs, reads it every couple of seconds and stops, and the runner stops its round.

Then the runner (:func:`terminate` and :func:`stop_study`): SIGTERM to each worker process it
started (each in its own process group, so a terminal's Ctrl-C reaches only the runner), a
grace period, SIGKILL to what is left; the RUNNING trials of those workers (and of this
process) are failed without a retry, and ``research_lab.stopped`` records why and when.
Worker processes also get ``PR_SET_PDEATHSIG``: if the runner is killed outright (SIGKILL),
the kernel sends them SIGTERM, so they never outlive it as orphans. Running the same study
again resumes it (the attribute is cleared).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

STOPPED_ATTR = "research_lab.stopped"
STOP = threading.Event()           # set by SIGTERM (this process): stop at the next fold
GRACE_S = 10.0


class StudyStopped(Exception):
    """The study was stopped before its target (the message says why; resumable)."""


def handle_sigterm() -> None:
    """In the main thread: SIGTERM sets :data:`STOP` instead of killing the process."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: STOP.set())


def die_with_parent() -> None:
    """``preexec_fn`` of a worker process: SIGTERM when the parent dies (Linux prctl)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the runner's own termination still applies
        pass


def stop_requested(study: Any) -> str | None:
    """Why the study was asked to stop (this process's SIGTERM or the study attribute)."""
    if STOP.is_set():
        return "SIGTERM"
    raw = study.user_attrs.get(STOPPED_ATTR)
    return raw.get("reason", "stopped") if isinstance(raw, dict) else None


def request_stop(study: Any, reason: str) -> None:
    """Ask every worker of ``study`` to stop (from any process that reaches the storage)."""
    study.set_user_attr(STOPPED_ATTR, {"reason": reason, "at": time.time()})


def clear_stop(study: Any) -> None:
    if study.user_attrs.get(STOPPED_ATTR) is not None:
        study.set_user_attr(STOPPED_ATTR, None)


def terminate(procs: Iterable[Any], grace_s: float = GRACE_S) -> None:
    """SIGTERM to each process's group, wait up to ``grace_s``, SIGKILL the rest; reaps all."""
    procs = [p for p in procs if p.poll() is None]
    for p in procs:
        _signal_group(p.pid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(timeout=max(0.0, end - time.monotonic()))
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
            _signal_group(p.pid, signal.SIGKILL)
            p.wait()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)        # each worker leads its own process group
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_study(study: Any, reason: str, pids: Iterable[int] = ()) -> list[int]:
    """Fail (no retry) the RUNNING trials of this process and of ``pids`` (or without a
    worker yet), and record ``reason``; returns the failed trial numbers."""
    import optuna
    from optuna.trial import TrialState

    from research_lab.core.optimize.storage import WORKER_ATTR

    host = socket.gethostname()
    ours = tuple(f"{host}:{pid}:" for pid in {os.getpid(), *pids})
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get(WORKER_ATTR)
        if worker is not None and not worker.startswith(ours):
            continue  # a worker this study did not start (docker): it stops by itself
        try:
            if study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                failed.append(t.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    study.set_user_attr(STOPPED_ATTR, {"reason": reason, "at": time.time(),
                                       "failed_trials": failed})
    return failed
