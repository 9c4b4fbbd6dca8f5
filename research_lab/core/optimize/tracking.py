"""What a study tells the experiment tracker, behind a small interface of its own.

The study is a parent run; each trial a child run (params, objective value(s), fold scores,
state, worker, duration); the parent ends with the best parameters, the summary figures (best
value, IS/OOS, walk-forward efficiency, deflated Sharpe, PBO, counts) and the artifacts
(leaderboard, optimization history and parameter importance plots, the report JSON).

:class:`StudyTracker` is that interface; :class:`NoopTracker` does nothing and
:class:`MlflowStudyTracker` adapts :class:`research_lab.core.tracking.ExperimentTracker`
(experiment ``{Project}.{AssetClass}.{StrategyFamily}.{Strategy}``; kinds ``study`` and
``trial``; a background writer with an outbox, so nothing is lost when MLflow is slow or away).

Studies of 10^4-10^5 trials: ``tracking.child_runs: K`` makes only the K best trials child
runs, logged by the report at the end; every trial is in the parent's ``trials.csv`` artifact
(:mod:`.trials_table`).

Who logs the trials: the process that runs the study (the CLI, the Dagster asset), never the
workers. A monitor thread reads the finished trials from the Optuna storage in batches
(:class:`TrialMonitor`, every ``tracking.batch_seconds``) and hands them to the tracker. So a
worker's trial loop never waits on MLflow, workers started elsewhere (docker) are tracked too,
and a worker killed mid-study loses nothing: the Optuna storage is the record, and every trial
that finished there becomes a child run. The numbers of the trials already logged are kept in
the study (user attribute ``research_lab.tracked_trials``, as ranges), so a resumed study logs
only its new trials, under the parent run of the session that ran them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

ASSET_CLASS_NAMES = {"equity": "Equities", "index": "Indices", "volatility": "Volatility"}


def asset_class(symbol: str) -> str:
    """``equity``, ``index`` or ``volatility`` from ``asset_classes`` in
    ``config/optimize.yaml`` (the run queue's tags read the same)."""
    from research_lab.core.optimize.config import load_optimize_config

    return load_optimize_config().asset_classes.of(symbol)


def experiment_name(project: str, symbol: str, family: str, strategy: str) -> str:
    return f"{project}.{ASSET_CLASS_NAMES[asset_class(symbol)]}.{family}.{strategy}"


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as the tracker sees it."""

    number: int
    state: str                      # COMPLETE | PRUNED | FAIL
    params: dict[str, Any]
    values: tuple[float, ...] | None
    fold_scores: tuple[float, ...]
    duration_s: float | None
    worker: str | None = None
    retry_of: int | None = None
    infeasible: bool = False

    @classmethod
    def from_trial(cls, trial: Any) -> TrialRecord:
        fold = trial.intermediate_values
        scores = tuple(fold[k] for k in sorted(fold)) if fold else tuple(
            trial.user_attrs.get("fold_scores", ()))
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        complete = trial.state.name == "COMPLETE" and trial.values is not None
        return cls(trial.number, trial.state.name, dict(trial.params),
                   tuple(trial.values) if complete else None, scores, duration,
                   trial.user_attrs.get("worker"), trial.system_attrs.get("failed_trial"),
                   bool(trial.user_attrs.get("infeasible", False)))

    def metrics(self, names: Sequence[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, v in zip(names, self.values or ()):
            out[name] = float(v)
        for k, v in enumerate(self.fold_scores):
            out[f"fold_{k}"] = float(v[0] if isinstance(v, (list, tuple)) else v)
        if self.duration_s is not None:
            out["duration_s"] = self.duration_s
        out["trial_number"] = float(self.number)
        return {k: v for k, v in out.items() if math.isfinite(v)}


@dataclass(frozen=True)
class StudyInfo:
    study_name: str
    strategy: str
    symbol: str
    metrics: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class StudyTracker(Protocol):
    """What a study needs from an experiment tracker."""

    def start_study(self, info: StudyInfo) -> None: ...

    def log_trials(self, trials: Sequence[TrialRecord]) -> None: ...

    def finish_study(self, metrics: Mapping[str, float], artifacts: Mapping[str, str],
                     tags: Mapping[str, str], failed: bool = False) -> None: ...

    def close(self) -> None: ...


class NoopTracker:
    """Tracking off: every call does nothing (the counts stay for tests and reports)."""

    def __init__(self) -> None:
        self.logged: list[int] = []

    def start_study(self, info: StudyInfo) -> None:
        self.info = info

    def log_trials(self, trials: Sequence[TrialRecord]) -> None:
        self.logged.extend(t.number for t in trials)

    def finish_study(self, metrics, artifacts, tags, failed: bool = False) -> None:
        self.final = dict(metrics)

    def close(self) -> None:
        pass


class MlflowStudyTracker:
    """:class:`StudyTracker` on :class:`research_lab.core.tracking.ExperimentTracker`."""

    def __init__(self, uri: str | None = None, *, project: str = "Default",
                 strategy_family: str = "General", lineage: Any = None,
                 close_timeout: float = 600.0, tracker: Any = None) -> None:
        self.uri = uri
        self.project = project
        self.family = strategy_family
        self.lineage = lineage
        self.close_timeout = close_timeout
        self._tracker = tracker
        self._parent = None
        self._metrics: tuple[str, ...] = ()
        self._study_name = ""
        self.logged = 0

    @property
    def tracker(self):
        if self._tracker is None:
            from research_lab.core.tracking import ExperimentTracker

            self._tracker = ExperimentTracker(self.uri, close_timeout=self.close_timeout)
        return self._tracker

    def start_study(self, info: StudyInfo) -> None:
        name = experiment_name(self.project, info.symbol, self.family, info.strategy)
        self._metrics = info.metrics
        self._study_name = info.study_name
        self._parent = self.tracker.start_parent(
            name, info.study_name, params=info.params,
            tags={"study_name": info.study_name, "symbol": info.symbol, **info.tags},
            lineage=self.lineage, kind="study")

    def log_trials(self, trials: Sequence[TrialRecord]) -> None:
        if self._parent is None:
            return
        for t in trials:
            tags = {"state": t.state, "study_name": self._study_name, "trial": str(t.number)}
            if t.worker:
                tags["worker"] = t.worker
            if t.retry_of is not None:
                tags["retry_of"] = str(t.retry_of)
            if t.infeasible:
                tags["infeasible"] = "true"
            self.tracker.log_child(
                self._parent, f"trial {t.number}", params=t.params,
                metrics=t.metrics(self._metrics), tags=tags,
                run_status="FINISHED" if t.state != "FAIL" else "FAILED")
            self.logged += 1

    def finish_study(self, metrics, artifacts, tags, failed: bool = False) -> None:
        if self._parent is None:
            return
        self.tracker.finish_parent(self._parent, metrics=dict(metrics),
                                   artifacts=dict(artifacts), tags=dict(tags),
                                   run_status="FAILED" if failed else "FINISHED")

    @property
    def parent_run_id(self) -> str | None:
        return None if self._parent is None else self._parent.wait(60)

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()


TRACKED_ATTR = "research_lab.tracked_trials"


def encode_ranges(numbers: set[int]) -> str:
    """``{0, 1, 2, 5, 7, 8}`` -> ``"0-2,5,7-8"`` (what a study stores as tracked)."""
    out, run = [], []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def decode_ranges(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part.strip():
            out.add(int(part))
    return out


class TrialMonitor:
    """Reads finished trials from the study every ``interval`` seconds (a thread) and hands
    each one once to ``tracker.log_trials``; ``on_progress(counts)`` sees the running counts
    (for a progress bar). ``stop()`` does a last sweep, so every finished trial is logged.
    ``log_each=False`` (``tracking.child_runs: K``): progress only; the report logs the top K
    trials and the trials table at the end (:mod:`.trials_table`)."""

    def __init__(self, study: Any, tracker: StudyTracker, *, interval: float = 0.5,
                 on_progress: Callable[[dict[str, int]], None] | None = None,
                 skip: set[int] | None = None, log_each: bool = True) -> None:
        self.study = study
        self.tracker = tracker
        self.interval = interval
        self.on_progress = on_progress
        self.log_each = log_each
        self.seen: set[int] = set(skip or ()) | decode_ranges(study.user_attrs.get(TRACKED_ATTR))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="study-monitor", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> TrialMonitor:
        self._thread.start()
        return self

    def sweep(self) -> int:
        from optuna.trial import TrialState

        done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        trials = self.study.get_trials(deepcopy=False)
        new = [TrialRecord.from_trial(t) for t in trials
               if t.state in done and t.number not in self.seen] if self.log_each else []
        if new:
            self.tracker.log_trials(new)
            self.seen.update(t.number for t in new)
        if self.on_progress is not None:
            from research_lab.core.optimize.report import trial_counts

            self.on_progress(trial_counts(trials))
        return len(new)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - reported by stop(); the study goes on
                self.error = exc
        return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        start = time.monotonic()
        while True:  # the final sweep: every finished trial is handed over
            try:
                self.sweep()
                if self.log_each:
                    self.study.set_user_attr(TRACKED_ATTR, encode_ranges(self.seen))
                return
            except Exception:  # noqa: BLE001 - a storage hiccup: retry briefly
                if time.monotonic() - start > 10:
                    raise
                time.sleep(0.2)
