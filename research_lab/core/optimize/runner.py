"""Run a study: create it once, start the workers, recover from dead ones, resume, report.

::

    from research_lab.core.optimize import StudyRequest, run_study, load_space

    report = run_study(StudyRequest(
        strategy="sma_cross", symbol="ORCL", bars=bars,
        space=load_space("config/param_spaces/sma_cross.yaml"),
        study_name="orcl-sma", n_trials=100, workers=2,
    ))
    report.best_params, report.best_value, report.oos.efficiency, report.dsr.dsr, report.pbo.pbo

What :func:`run_study` does, in order:

1. **Budget** (:mod:`.budget`): refuses (or waits) during market hours, and sets the deadline
   ``margin`` minutes before the next market open (or the timeout, if earlier). The deadline
   is stored in the study, so workers started elsewhere stop at the same instant.
2. **Plan** (:mod:`.walkforward`): folds and the held-out period over the bars' sessions.
3. **Create once** (:func:`.storage.create_study`): the schema and the study, with its
   :class:`~.definition.StudyDefinition`, before any worker starts. An existing study of the
   same name resumes if its definition matches, else the run is refused naming what differs.
4. **Workers**: ``workers == 1`` runs in this process (a seeded study is then reproducible);
   more start as real processes (``python -m research_lab.core.optimize.worker``), each with an equal share of the trials still
   missing. Meanwhile a :class:`~.tracking.TrialMonitor` thread logs the finished trials to the
   tracker in batches and feeds the progress callback.
5. **Recovery**: when a round of workers ends with trials still RUNNING (a worker was killed),
   they are failed once their heartbeat is stale (PostgreSQL) or their process is gone
   (journal file), their retries are enqueued, and another round runs the missing trials.
   Rounds continue until ``n_trials`` trials are finished or the deadline passes (at most
   ``3 + max_retry`` rounds, so workers that fail at start-up end the run instead of looping). Running it
   again later resumes where it stopped: the trials already finished count.
6. **Report** (:mod:`.report`): leaderboard, best parameters, out-of-sample run, walk-forward
   efficiency, deflated Sharpe, PBO, plots; then the tracker's parent run is closed with them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from research_lab.core.optimize import storage as S
from research_lab.core.optimize.budget import TimeBudget, plan_budget
from research_lab.core.optimize.config import OptimizeConfig, load_optimize_config
from research_lab.core.optimize.definition import (
    ATTR, DEADLINE_ATTR, DefinitionError, StudyDefinition, read_definition,
)
from research_lab.core.optimize.objective import ObjectiveSpec, objective_spec
from research_lab.core.optimize.stopping import (
    STOP, StudyStopped, clear_stop, die_with_parent, stop_requested, stop_study, terminate,
)
from research_lab.core.optimize.space import SearchSpace
from research_lab.core.optimize.tracking import NoopTracker, StudyInfo, StudyTracker, TrialMonitor

log = logging.getLogger("research_lab.optimize")


@dataclass(frozen=True)
class StudyRequest:
    """One study to run. Unset values come from ``config`` (``config/optimize.yaml``)."""

    strategy: str
    symbol: str
    bars: Any                                  # one symbol's bar frame (all sessions: IS + OOS)
    space: SearchSpace
    study_name: str
    objective: ObjectiveSpec | None = None
    n_trials: int | None = None
    workers: int | None = None
    timeout: float | None = None
    seed: int | None = None
    storage_url: str | None = None
    config: OptimizeConfig = field(default_factory=load_optimize_config)
    output_dir: str | None = None              # plots and report JSON (default: a temp folder)
    feeds: tuple[Any, ...] = ()                # more symbols' bars, self.datas[1:] (.feeds)


def resolve_objective(request: StudyRequest) -> ObjectiveSpec:
    if request.objective is not None:
        return request.objective
    from research_lab.core.optimize.objective import objective_from_config

    return objective_from_config(request.config)


def build_definition(request: StudyRequest) -> StudyDefinition:
    """The study's definition from the request (validates the bars and the plan)."""
    from research_lab.core.backtest.prices import prices_from_bars
    from research_lab.core.optimize.feeds import feeds_data_version

    if request.space.strategy != request.strategy:
        raise ValueError(f"the search space {request.space.source} is for "
                         f"{request.space.strategy}, not {request.strategy}")
    cfg = request.config
    n_trials = request.n_trials or cfg.study.n_trials
    if cfg.sampler.type == "grid":  # a continuous parameter has no grid: refused here
        from math import prod

        from research_lab.core.optimize.sampler import grid_of

        n_trials = min(n_trials, prod(len(v) for v in grid_of(request.space).values()))
    prices = prices_from_bars(request.bars)
    from research_lab.core.optimize.folds import plan_study_folds

    plan = plan_study_folds(prices.sessions, cfg.walkforward)
    return StudyDefinition(
        study_name=request.study_name, strategy=request.strategy, symbol=request.symbol,
        start=str(prices.sessions[0].date()), end=str(prices.sessions[-1].date()),
        data_version=feeds_data_version(request.bars, request.feeds), space=request.space,
        objective=resolve_objective(request), plan=plan, broker=cfg.broker.to_dict(),
        sampler=cfg.sampler, pruner=cfg.pruner,
        seed=request.seed if request.seed is not None else cfg.study.seed,
        n_trials=n_trials,
        workers=request.workers or cfg.study.workers, max_retry=cfg.storage.max_retry,
        feeds=tuple(str(f["symbol"].iloc[0]) for f in request.feeds),
    )


def prepare_study(defn: StudyDefinition, storage_url: str | None, budget: TimeBudget | None,
                  heartbeat: S.StorageOptions, warm_start: list[dict[str, Any]] = ()) -> Any:
    """Create the storage and the study once (or check the existing one); store the deadline;
    a new study gets the ``warm_start`` points enqueued. Returns the study (no sampler: for
    reading and monitoring)."""
    url = S.resolve_storage_url(storage_url)
    _, created = S.create_study(url, defn.study_name, list(defn.objective.directions),
                                {ATTR: defn.to_dict()})
    study = S.load_study(url, defn.study_name, heartbeat=heartbeat)
    if created:
        from research_lab.core.optimize.warmstart import enqueue_warm_start

        enqueue_warm_start(study, list(warm_start))
    if not created:
        existing = read_definition(study)
        diff = existing.differences(defn)
        if diff:
            raise DefinitionError(
                f"study {defn.study_name!r} in {S.mask(url)} exists with a different "
                f"{', '.join(diff)}; resume it with the same settings or choose another name")
        if existing.n_trials != defn.n_trials or existing.workers != defn.workers:
            study.set_user_attr(ATTR, replace(existing, n_trials=defn.n_trials,
                                              workers=defn.workers).to_dict())
    if budget is not None:
        study.set_user_attr(DEADLINE_ATTR, budget.deadline.timestamp())
    clear_stop(study)  # running a stopped study again resumes it
    return study


def split_quota(total: int, workers: int) -> list[int]:
    base, extra = divmod(total, workers)
    return [base + (1 if i < extra else 0) for i in range(workers) if base + (i < extra) > 0]


def _counts(study: Any) -> dict[str, int]:
    from research_lab.core.optimize.report import trial_counts

    return trial_counts(study.get_trials(deepcopy=False))


def recover(study: Any, max_retry: int, heartbeat: S.StorageOptions,
            wait: bool = True) -> list[int]:
    """Fail the trials of dead workers (and enqueue their retries). With ``wait``, polls until
    no trial is RUNNING, for at most one grace period plus two heartbeats."""
    failed = S.fail_stale_trials(study, max_retry)
    limit = time.monotonic() + heartbeat.grace_period + 2 * heartbeat.interval + 5
    while wait and _counts(study)["running"] and time.monotonic() < limit:
        time.sleep(0.25)  # polling the storage with a deadline, not synchronizing
        failed += S.fail_stale_trials(study, max_retry)
    return failed


def _run_round(url: str, defn: StudyDefinition, prices: Any, missing: int, workers: int,
               options: S.StorageOptions, deadline: float, study: Any,
               started: list[int], feeds: tuple[Any, ...] = ()) -> list[int | None]:
    """One round: this process (one worker) or ``workers`` worker subprocesses, each with an
    equal share of the ``missing`` trials. Returns the exit codes (0 in-process). The pids
    of the processes go to ``started``; whatever interrupts the round (Ctrl-C, a Dagster
    cancel, a stop request) terminates them first (:mod:`.stopping`)."""
    import pickle
    import subprocess
    import sys
    import tempfile

    from research_lab.core.optimize.worker import run_worker

    quotas = split_quota(missing, workers)
    if workers == 1:
        run_worker(url, defn.study_name, prices=prices, quota=quotas[0], worker_index=0,
                   n_workers=1, heartbeat=options, feeds=feeds)
        return [0]
    with tempfile.TemporaryDirectory(prefix="optuna-workers-") as tmp:
        procs, logs = [], []
        try:
            for i, quota in enumerate(quotas):
                payload = Path(tmp) / f"worker-{i}.pkl"
                with open(payload, "wb") as fh:
                    pickle.dump(dict(storage_url=url, study_name=defn.study_name, prices=prices,
                                     quota=quota, worker_index=i, n_workers=workers,
                                     heartbeat=options, feeds=feeds), fh)
                logs.append(open(Path(tmp) / f"worker-{i}.err", "w+"))
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "research_lab.core.optimize.worker", str(payload)],
                    stdout=subprocess.DEVNULL, stderr=logs[-1], text=True,
                    start_new_session=True, preexec_fn=die_with_parent))
                started.append(procs[-1].pid)
            last_look = time.monotonic()
            # a worker stops itself at the deadline; the minute is for its last trial
            while any(p.poll() is None for p in procs):
                if time.time() > deadline + 60:
                    terminate(procs)
                    break
                if STOP.is_set() or (time.monotonic() - last_look > 1.0
                                     and stop_requested(study)):
                    terminate(procs)
                    break
                if time.monotonic() - last_look > 1.0:
                    last_look = time.monotonic()
                time.sleep(0.1)  # polling child processes and the stop flag
        except BaseException:
            terminate(procs)
            raise
        finally:
            codes = []
            for p, log in zip(procs, logs):
                log.seek(0)
                err = log.read().strip()
                log.close()
                if p.returncode not in (0, -9, -15, 143) and err:
                    log_warning(p, err)
                codes.append(p.returncode)
        return codes


def log_warning(proc: Any, err: str) -> None:
    log.warning("worker pid %s exited with %s: %s", proc.pid, proc.returncode,
                err.splitlines()[-1])


@dataclass(frozen=True)
class RunOutcome:
    study: Any
    definition: StudyDefinition
    budget: TimeBudget | None
    stopped: str
    rounds: int
    exit_codes: list[Any]
    retried: list[int]
    elapsed_s: float
    storage_url: str = ""
    wfe_target: float = 0.7
    child_runs: int | None = None   # tracking.child_runs: None = every trial already logged


def run_study(request: StudyRequest, *, tracker: StudyTracker | None = None, now: Any = None,
              calendar: Any = None, sleep: Callable[[float], None] = time.sleep,
              on_progress: Callable[[dict[str, int]], None] | None = None,
              enforce_market_hours: bool = True, report: bool = True) -> Any:
    """Run (or resume) the study of ``request``; returns a :class:`~.report.StudyReport`
    (``report=False``: the :class:`RunOutcome`, for callers that report themselves)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    STOP.clear()
    cfg = request.config
    t0 = time.monotonic()
    mh = cfg.market_hours
    timeout = request.timeout if request.timeout is not None else cfg.study.timeout
    if calendar is None:
        from research_lab.core.marketdata.calendar import TradingCalendar

        calendar = TradingCalendar(mh.calendar)
    budget = plan_budget(now, calendar=calendar, timeout=timeout,
                         margin_minutes=mh.margin_minutes,
                         policy=mh.policy if enforce_market_hours else "ignore", sleep=sleep)
    defn = build_definition(request)
    heartbeat = S.StorageOptions(cfg.storage.heartbeat_interval, cfg.storage.grace_period,
                                 cfg.storage.max_retry, cfg.storage.journal_fsync,
                                 cfg.storage.pg_synchronous_commit)
    url = S.resolve_storage_url(request.storage_url or cfg.storage.url)
    from research_lab.core.backtest.params import get_space
    from research_lab.core.optimize.warmstart import warm_start_points

    warm = warm_start_points(defn.space, get_space(defn.strategy).defaults()
                             if cfg.study.enqueue_defaults else None, cfg.study.enqueue)
    study = prepare_study(defn, url, budget, heartbeat, warm)
    tracker = tracker or NoopTracker()
    tracker.start_study(StudyInfo(
        defn.study_name, defn.strategy, defn.symbol, defn.objective.metrics,
        params={"n_trials": defn.n_trials, "workers": defn.workers, "seed": defn.seed,
                "metric": ",".join(defn.objective.metrics),
                "direction": ",".join(defn.objective.directions),
                "folds": len(defn.plan.folds), "storage": S.mask(url),
                "space": str(defn.space.to_dict()["params"])[:500]},
        tags={"plan": defn.plan.describe(),
              **({"feeds": ",".join([defn.symbol, *defn.feeds])} if defn.feeds else {})}))
    monitor = TrialMonitor(study, tracker, interval=cfg.tracking.batch_seconds,
                           on_progress=on_progress,
                           log_each=cfg.tracking.child_runs is None).start()
    prices = defn.plan.in_sample(request.bars)
    feeds = tuple(defn.plan.in_sample(f) for f in request.feeds)
    deadline = budget.deadline.timestamp()
    rounds, codes, retried, stopped, started = 0, [], [], "n_trials", []
    done_before, last = -1, []
    try:
        retried += recover(study, defn.max_retry, heartbeat, wait=False)
        while True:
            why = stop_requested(study)
            if why:
                raise StudyStopped(why)
            c = _counts(study)
            missing = defn.n_trials - c["done"]
            if missing <= 0:
                stopped = "n_trials"
                break
            if time.time() >= deadline:
                stopped = "deadline"
                break
            if rounds >= 3 + defn.max_retry:
                stopped = "workers keep failing"
                break
            if rounds and c["done"] == done_before and not any(last):
                stopped = "no new points"  # healthy workers found only known or infeasible ones
                break
            done_before = c["done"]
            rounds += 1
            last = _run_round(url, defn, prices, missing, defn.workers, heartbeat, deadline,
                              study, started, feeds)
            codes += last
            if stop_requested(study):
                continue  # stopped: raise above, without recovering (no retries)
            retried += recover(study, defn.max_retry, heartbeat, wait=True)
    except BaseException as exc:  # Ctrl-C, a Dagster cancel, SIGTERM, a stop request
        reason = str(exc) if isinstance(exc, StudyStopped) else (type(exc).__name__ or "stop")
        failed = stop_study(study, reason, started)
        monitor.stop()
        finished = _counts(study)
        log.warning("study %s stopped (%s): %d trial(s) finished, running ones failed: %s",
                    defn.study_name, reason, finished["done"], failed)
        if isinstance(exc, StudyStopped):
            raise StudyStopped(
                f"study {defn.study_name!r} stopped ({reason}) after "
                f"{finished['done']} of {defn.n_trials} trials; run "
                "it again to resume") from None
        raise
    finally:
        monitor.stop()
    # a surviving worker's heartbeat check may have failed and re-enqueued a dead worker's trial
    # before this process did: the storage says which trials were retried, whoever did it
    retried = sorted(set(retried) | {
        t.system_attrs["failed_trial"] for t in study.get_trials(deepcopy=False)
        if "failed_trial" in t.system_attrs
    })
    outcome = RunOutcome(study, defn, budget, stopped, rounds, codes, retried,
                         time.monotonic() - t0, url, cfg.walkforward.wfe_target,
                         cfg.tracking.child_runs)
    if not report:
        return outcome
    from research_lab.core.optimize.report import finish_study

    return finish_study(outcome, request.bars, tracker=tracker,
                        output_dir=Path(request.output_dir) if request.output_dir else None,
                        feeds=request.feeds)
