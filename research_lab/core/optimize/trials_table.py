"""Every trial of a study as one flat table, and the top K trials that become child runs.

A study of 10^4-10^5 trials cannot be one MLflow child run per trial: each run is rows in
five tables, the experiment page lists runs one page at a time, and the writer would take
minutes after the study ended. So, with ``tracking.child_runs: K`` in
``config/optimize.yaml`` (``null`` = every trial, the default for small studies):

* every finished trial goes to ``trials.csv``, written once, in bulk, when the study ends
  (:func:`write_trials_table`): trial number, state, objective value(s), parameters
  (``param_<name>``), fold scores (``fold_<k>``), duration, worker, retry and
  infeasible/reused flags. It is an artifact of the study's parent run (the MLflow UI shows
  CSV artifacts as a table) and sits next to ``report.json`` in the report folder;
* only the ``K`` best trials (:func:`top_trials`) are logged as child runs, so the runs list
  stays readable and comparable in the UI whatever the study's size.

With ``child_runs: null`` the table is written as well; the trials are then also child runs,
logged while the study runs (:class:`~.tracking.TrialMonitor`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FILE_NAME = "trials.csv"


def trial_rows(trials: Sequence[Any], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """One row per finished trial (COMPLETE, PRUNED, FAIL), in trial-number order.
    ``trials`` are Optuna ``FrozenTrial`` objects."""
    from research_lab.core.optimize.tracking import TrialRecord

    rows = []
    for t in sorted(trials, key=lambda t: t.number):
        if t.state.name not in ("COMPLETE", "PRUNED", "FAIL"):
            continue
        rec = TrialRecord.from_trial(t)
        row: dict[str, Any] = {"trial": rec.number, "state": rec.state}
        for i, name in enumerate(metrics):
            row[name] = _num(rec.values[i]) if rec.values else None
        for k, v in rec.params.items():
            row[f"param_{k}"] = v
        for k, v in enumerate(rec.fold_scores):
            row[f"fold_{k}"] = _num(v[0] if isinstance(v, (list, tuple)) else v)
        row["duration_s"] = None if rec.duration_s is None else round(rec.duration_s, 6)
        row["worker"] = rec.worker
        row["retry_of"] = rec.retry_of
        row["infeasible"] = rec.infeasible
        row["reused_from"] = t.user_attrs.get("reused_from")
        rows.append(row)
    return rows


def _num(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def write_trials_table(trials: Sequence[Any], metrics: Sequence[str], folder: Path) -> Path:
    """``folder/trials.csv`` with :func:`trial_rows` (columns: the union over all rows, in
    first-seen order; a cell a trial has no value for is empty)."""
    rows = trial_rows(trials, metrics)
    columns: dict[str, None] = {"trial": None, "state": None, **{m: None for m in metrics}}
    for row in rows:
        columns.update(dict.fromkeys(row))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), restval="")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return path


def top_trials(trials: Sequence[Any], directions: Sequence[str], k: int) -> list[Any]:
    """The ``k`` best COMPLETE trials: by the first objective (its direction), ties by trial
    number; a multi-objective study ranks its Pareto front first. Repeats of a point already
    tried (``reused_from``) are skipped: they are the same configuration."""
    done = [t for t in trials if t.state.name == "COMPLETE" and t.values is not None
            and t.user_attrs.get("reused_from") is None]
    sign = -1.0 if directions[0] == "maximize" else 1.0
    front: set[int] = set()
    if len(directions) > 1:
        front = {t.number for t in _pareto(done, directions)}
    done.sort(key=lambda t: (t.number not in front, sign * t.values[0], t.number))
    return done[:max(k, 0)]


def _pareto(trials: Sequence[Any], directions: Sequence[str]) -> list[Any]:
    """The non-dominated trials (Optuna's own sort: O(n log n), fine for 10^5 trials)."""
    from optuna.study import StudyDirection
    from optuna.study._multi_objective import _get_pareto_front_trials_by_trials

    dirs = [StudyDirection.MAXIMIZE if d == "maximize" else StudyDirection.MINIMIZE
            for d in directions]
    return _get_pareto_front_trials_by_trials(list(trials), dirs)
