"""One worker: join a study by name and run trials until its share, the study's target or the
deadline is reached.

A trial (:func:`make_objective`):

1. records its worker (``host:pid:start``) in user attribute ``worker``;
2. samples the space (fixed distributions, so multivariate TPE sees one joint space); a point
   that breaks a constraint is pruned at once without a backtest (``infeasible``);
3. backtests the walk-forward folds in order on the in-sample prices; after each fold it
   reports the fold's score (``trial.report(score, fold)``) and stops if the pruner says so
   (never after the last fold: a fully evaluated trial completes; single objective; a multi-objective trial stores its fold scores in ``fold_scores``);
4. with a minimum number of trades (``objective.min_trades``), counts the trades over its
   folds (user attribute ``trades``): for the samplers that model constraints (TPE, GP,
   NSGA-II/III: :data:`~.sampler.CONSTRAINED`) it sets the Optuna constraint
   ``min_trades - trades`` (> 0: infeasible; the sampler learns to avoid such points and
   the best trial and the Pareto front are feasible ones); for the others it prunes the
   trial with user attribute ``pruned_reason = too_few_trades``;
5. returns the mean fold score (one per metric).

:func:`run_worker` is the loop, the same in the runner's own processes and in a worker started
alone (``research-lab optimize worker --study-name ... --storage ...``, e.g. N docker
containers on one PostgreSQL study). It stops when it has finished ``quota`` trials (when
given), when the study has ``n_trials`` finished trials (completed + pruned; a failed trial
does not count: its retry does), or at the deadline (study attribute
``research_lab.deadline``, set by the runner from the market-hours budget).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from research_lab.core.optimize import storage as S
from research_lab.core.optimize.definition import DEADLINE_ATTR, StudyDefinition, read_definition
from research_lab.core.optimize.objective import Evaluator
from research_lab.core.optimize.stopping import STOP, StudyStopped, stop_requested
from research_lab.core.optimize.walkforward import evaluate_folds

RECOVERY_EVERY_S = 2.0
FREE_ATTRS = ("infeasible", "reused_from")   # finished trials that do not spend the budget
TOO_FEW_TRADES = "too_few_trades"
TRADES_UNAVAILABLE = ("min_trades is not available for backtrader-engine studies (their folds "
                      "report returns, not trades): set study.min_trades to 0")
FREE_FACTOR = 10                             # at most this many free trials per budgeted one
STANDALONE_INDEX_BASE = 1000                 # a runner's own workers are 0..workers-1
STANDALONE_INDEX_SPAN = 1_000_000


def standalone_worker_index(host: str | None = None, pid: int | None = None) -> int:
    """The sampler seed offset of a worker started on its own (``research-lab optimize
    worker`` without ``--worker-index``), from this host's name and this process's pid.

    The pid alone is not enough: replicas of one container image each run the worker as pid 1,
    so with the same study seed they would sample the same points; their host names (the
    container ids) differ. A stable hash (not Python's per-process ``hash``) of ``host:pid``,
    offset past the indices a runner gives its own workers.
    """
    import hashlib
    import socket

    host = socket.gethostname() if host is None else host
    pid = os.getpid() if pid is None else pid
    digest = hashlib.blake2b(f"{host}:{pid}".encode(), digest_size=8).digest()
    return STANDALONE_INDEX_BASE + int.from_bytes(digest, "big") % STANDALONE_INDEX_SPAN


def _key(params: dict[str, Any]) -> str:
    import json

    return json.dumps(params, sort_keys=True, default=str)


class _Seen:
    """The finished trials' results by parameter set (read from the study, incrementally):
    a repeated point reuses the earlier result instead of a second backtest."""

    def __init__(self) -> None:
        self.by_key: dict[str, Any] = {}
        self.numbers: set[int] = set()

    def lookup(self, study: Any, params: dict[str, Any]) -> Any:
        from optuna.trial import TrialState

        key = _key(params)
        if key not in self.by_key:
            for t in study.get_trials(deepcopy=False,
                                      states=(TrialState.COMPLETE, TrialState.PRUNED)):
                if t.number in self.numbers:
                    continue
                self.numbers.add(t.number)
                if t.user_attrs.get("infeasible") or t.user_attrs.get("reused_from") is not None:
                    continue
                self.by_key.setdefault(_key(dict(t.params)), t)
        return self.by_key.get(key)


def suggest(trial: Any, space: Any) -> dict[str, Any]:
    out = {}
    for d in space.dims:
        if d.kind == "categorical":
            out[d.name] = trial.suggest_categorical(d.name, list(d.choices))
        elif d.kind == "int":
            out[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high),
                                            step=1 if d.log else int(d.step or 1), log=d.log)
        else:
            out[d.name] = trial.suggest_float(d.name, d.low, d.high, step=d.step, log=d.log)
    return out


def make_objective(defn: StudyDefinition, evaluator: Evaluator, worker: str) -> Callable:
    """The function Optuna calls once per trial (see the module docstring)."""
    import optuna

    space, plan, objective = defn.space, defn.plan, defn.objective
    score = objective.scorer()
    multi = objective.multi
    last = len(plan.folds) - 1
    seen = _Seen()
    from research_lab.core.optimize.sampler import CONSTRAINED

    min_trades = objective.min_trades
    constrained = defn.sampler.type in CONSTRAINED

    def run(trial: Any):
        trial.set_user_attr(S.WORKER_ATTR, worker)
        if STOP.is_set():  # SIGTERM: fail this trial (Optuna records it) and end the loop
            raise StudyStopped("SIGTERM")
        sampled = suggest(trial, space)
        params = space.complete(sampled)
        if not space.feasible(params):
            trial.set_user_attr("infeasible", True)
            raise optuna.TrialPruned(f"infeasible: {params}")
        earlier = seen.lookup(trial.study, sampled)
        if earlier is not None:  # the same point again: its result, without a backtest
            trial.set_user_attr("reused_from", earlier.number)
            for key, value in earlier.constraints.items():
                trial.set_constraint(key, value)
            for key in ("trades", "pruned_reason"):
                if key in earlier.user_attrs:
                    trial.set_user_attr(key, earlier.user_attrs[key])
            if earlier.state.name == "PRUNED":
                raise optuna.TrialPruned(f"repeat of pruned trial {earlier.number}")
            return tuple(earlier.values) if multi else earlier.values[0]

        def on_fold(k: int, s: tuple[float, ...]) -> None:
            if STOP.is_set():
                raise StudyStopped("SIGTERM")
            if multi:
                return
            trial.report(s[0], k)
            if k < last and trial.should_prune():  # after the last fold: nothing left to save
                raise optuna.TrialPruned(f"pruned after fold {k}")

        trades: list[int | None] = []
        folds = evaluate_folds(evaluator, params, plan, score, on_fold, trades)
        if min_trades:
            if any(t is None for t in trades):
                raise ValueError(TRADES_UNAVAILABLE)
            total = sum(trades)
            trial.set_user_attr("trades", total)
            if constrained:
                trial.set_constraint("min_trades", float(min_trades - total))
            elif total < min_trades:
                trial.set_user_attr("pruned_reason", TOO_FEW_TRADES)
                raise optuna.TrialPruned(f"{TOO_FEW_TRADES}: {total} < {min_trades}")
        means = [sum(f[i] for f in folds) / len(folds) for i in range(len(objective.metrics))]
        if multi:
            trial.set_user_attr("fold_scores", [list(f) for f in folds])
            return tuple(means)
        return means[0]
    return run


@dataclass(frozen=True)
class WorkerResult:
    worker: str
    finished: int
    stopped: str


def _finished(study: Any) -> int:
    """Finished trials that spend the budget (infeasible and repeated points do not)."""
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False,
                                           states=(TrialState.COMPLETE, TrialState.PRUNED))
               if all(t.user_attrs.get(a) is None for a in FREE_ATTRS))


def _deadline(study: Any) -> float | None:
    raw = study.user_attrs.get(DEADLINE_ATTR)
    return float(raw) if raw is not None else None


def load_in_sample(defn: StudyDefinition, store_url: str | None = None) -> Any:
    """The study's in-sample bars from this machine's market-data store (one query), checked
    against the data version the study was created with."""
    import datetime as dt

    from research_lab.core.marketdata.schema import data_version
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    url = store_url or load_settings().resolved_store_url
    store = BarStore.from_url(url)
    try:
        bars = store.read_bars(defn.symbol, dt.date.fromisoformat(defn.start),
                               dt.date.fromisoformat(defn.end))
    finally:
        store.close()
    if data_version(bars) != defn.data_version:
        raise S.StorageError(
            f"the bars of {defn.symbol} {defn.start}..{defn.end} in {S.mask(url)} have data "
            f"version {data_version(bars) if len(bars) else '(none)'}, the study was created "
            f"on {defn.data_version}: this worker would search different data")
    return defn.plan.in_sample(bars)


def run_worker(storage_url: str, study_name: str, *, prices: Any = None, quota: int | None = None,
               worker_index: int = 0, n_workers: int | None = None,
               heartbeat: S.StorageOptions | None = None,
               store_url: str | None = None, feeds: Any = ()) -> WorkerResult:
    """Join ``study_name`` and run trials (see the module docstring). ``prices``: the
    in-sample bars (the runner passes them, with ``feeds``: the in-sample bars of the study's
    other symbols); ``None`` loads them from the store."""
    import optuna

    from research_lab.core.optimize.sampler import make_pruner, make_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    heartbeat = heartbeat or S.StorageOptions()
    probe = S.load_study(storage_url, study_name)
    defn = read_definition(probe)
    n_workers = n_workers or defn.workers
    study = S.load_study(
        storage_url, study_name,
        sampler=make_sampler(defn.sampler, seed=defn.seed, workers=n_workers,
                             worker_index=worker_index, space=defn.space),
        pruner=make_pruner(defn.pruner, n_objectives=len(defn.objective.metrics),
                           sampler=defn.sampler.type),
        heartbeat=heartbeat, worker=True)
    if prices is None and defn.feeds:  # a multi-feed study (.feeds): every symbol, aligned
        from research_lab.core.optimize.feeds import load_in_sample_feeds

        prices, feeds = load_in_sample_feeds(defn, store_url)
    in_sample = prices if prices is not None else load_in_sample(defn, store_url)
    evaluator = Evaluator(in_sample, defn.strategy, defn.broker, feeds=feeds or ())
    if len(evaluator) != defn.plan.is_stop:
        raise S.StorageError(f"{len(evaluator)} in-sample bars; the study's plan has "
                             f"{defn.plan.is_stop}")
    wid = S.worker_id()
    S.fail_stale_trials(study, defn.max_retry)
    deadline = _deadline(study)
    done = free = 0
    stopped = "quota"
    last_recovery = time.monotonic()

    def check(study: Any, trial: Any) -> None:
        # with a quota (the runner's workers) the quotas add up to n_trials: no need to read
        # the study-wide count after every trial (a storage query each time); a worker on
        # its own reads it after every trial, so that N of them overshoot by < N trials
        nonlocal done, free, last_recovery
        if STOP.is_set():
            study.stop()
        if any(trial.user_attrs.get(a) is not None for a in FREE_ATTRS):
            free += 1  # no backtest ran: it does not count against the quota
            if free > FREE_FACTOR * max(quota or defn.n_trials, 1):
                study.stop()  # the sampler keeps proposing known or infeasible points
            return
        done += 1
        now = time.monotonic()
        if now - last_recovery > RECOVERY_EVERY_S:
            last_recovery = now
            S.fail_stale_trials(study, defn.max_retry)
            if stop_requested(study):  # stopped from another process (CLI, API, runner)
                study.stop()
        if STOP.is_set():
            study.stop()
        if quota is not None and done >= quota:
            study.stop()
        elif (quota is None or done % 10 == 0) and _finished(study) >= defn.n_trials:
            study.stop()  # (a runner's worker also looks every 10 trials: others may help)

    objective = make_objective(defn, evaluator, wid)
    while True:
        if stop_requested(study):
            stopped = "stopped"
            break
        if _finished(study) >= defn.n_trials:
            stopped = "target"
            break
        if quota is not None and done >= quota:
            stopped = "quota"
            break
        if free > FREE_FACTOR * max(quota or defn.n_trials, 1):
            stopped = "only known or infeasible points left"
            break
        left = None if deadline is None else deadline - time.time()
        if left is not None and left <= 0:
            stopped = "deadline"
            break
        batch = None if quota is None else quota - done
        before, free_before = done, free
        try:
            study.optimize(objective, n_trials=batch, timeout=left, callbacks=[check],
                           gc_after_trial=False, show_progress_bar=False)
        except StudyStopped:  # the running trial is already FAIL (Optuna recorded it)
            stopped = "stopped"
            break
        if stop_requested(study):
            stopped = "stopped"
            break
        if done == before and free == free_before:  # nothing ran: avoid a busy loop
            stopped = "target" if _finished(study) >= defn.n_trials else "deadline"
            break
    return WorkerResult(wid, done, stopped)


def open_studies(storage_url: str) -> list[str]:
    """Studies of the storage that still want trials: created by research_lab, fewer finished
    trials than their target, and a deadline (if any) in the future."""
    from research_lab.core.optimize.definition import ATTR

    out = []
    try:
        names = S.list_studies(storage_url)
    except S.StorageError:  # a server blip: a polling worker asks again on its next round
        return out
    for name in names:
        try:
            study = S.load_study(storage_url, name)
        except S.StorageError:
            continue
        raw = study.user_attrs.get(ATTR)
        deadline = _deadline(study)
        if raw is None or (deadline is not None and deadline <= time.time()):
            continue
        if stop_requested(study):
            continue
        if _finished(study) < int(raw.get("n_trials", 0)):
            out.append(name)
    return out


def serve_studies(storage_url: str, *, poll_s: float = 5.0, idle_exit_s: float | None = None,
                  heartbeat: S.StorageOptions | None = None, worker_index: int = 0,
                  sleep: Any = time.sleep) -> int:
    """A long-running worker (a docker service): join whichever study wants trials, one at a
    time; poll every ``poll_s`` when none does; return after ``idle_exit_s`` idle seconds
    (``None``: never). Returns the number of trials run."""
    total, idle_since = 0, time.monotonic()
    while True:
        names = open_studies(storage_url)
        if names:
            result = run_worker(storage_url, names[0], heartbeat=heartbeat,
                                worker_index=worker_index)
            total += result.finished
            idle_since = time.monotonic()
            continue
        if idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
            return total
        sleep(poll_s)  # a service waiting for work, not a synchronization


def worker_main(payload_path: str) -> int:
    """Entry point of a worker process started by the runner:
    ``python -m research_lab.core.optimize.worker PAYLOAD`` where PAYLOAD is a pickle of
    ``run_worker``'s arguments (the in-sample prices included). A subprocess, not
    ``multiprocessing``: it works whatever the parent's ``__main__`` is (a script without a
    main guard, a notebook, a Dagster step)."""
    import pickle

    from research_lab.core.optimize.stopping import handle_sigterm

    handle_sigterm()  # the runner's SIGTERM: fail the running trial, then exit 143
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with open(payload_path, "rb") as fh:
        kwargs = pickle.load(fh)
    result = run_worker(**kwargs)
    print(f"worker {result.worker}: {result.finished} trial(s), stopped: {result.stopped}",
          flush=True)
    return 143 if STOP.is_set() else 0


if __name__ == "__main__":  # pragma: no cover - exercised through the runner's subprocesses
    import sys

    sys.exit(worker_main(sys.argv[1]))
