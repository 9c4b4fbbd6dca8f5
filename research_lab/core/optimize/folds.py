"""Fold schemes of a study (``walkforward.scheme``) and the overfitting figures over CPCV paths.

Every scheme keeps the held-out period of :mod:`.walkforward` (the last ``oos_fraction`` of
the sessions, never seen by the study) and cuts the in-sample period into the folds a trial
scores in time order (its value: the mean fold score; the pruner watches the folds):

``walk_forward`` (default)
    ``folds`` consecutive folds of equal length (:func:`.walkforward.plan_walkforward`).
``calendar``
    One fold per calendar period of ``calendar_freq`` (``MS`` months, ``QS`` quarters, ``YS``
    years: pandas frequencies), cut by skfolio's ``WalkForward(test_size=1, freq=...,
    train_size=7 days)``: the test periods are the folds. A period needs history before it,
    so the first period the sessions touch is not a fold (it warms the indicators), nor is a
    trailing partial period.
``cpcv``
    Combinatorial purged cross-validation (López de Prado, *Advances in Financial Machine
    Learning*, ch. 12) by skfolio's ``CombinatorialPurgedCV``: the in-sample period is cut
    into ``folds`` groups (the folds a trial scores); each of the C(``folds``,
    ``cpcv_test_folds``) splits tests ``cpcv_test_folds`` groups, with the training bars
    within ``cpcv_purge_bars`` before and ``cpcv_embargo_bars`` after a test group removed.
    The test groups recombine into C(``folds`` - 1, ``cpcv_test_folds`` - 1) backtest paths,
    each covering the whole in-sample period once. When the study ends
    (:func:`cpcv_overfitting`): in each split the configuration with the best Sharpe ratio on
    the training bars is "selected"; the probability of backtest overfitting (PBO) is the
    share of splits where it ranks at or below the median on the test groups, and each path
    (the selected configurations' test returns, stitched in time order) gets its deflated
    Sharpe ratio (path-wise DSR).

skfolio is imported only for the ``calendar`` and ``cpcv`` schemes (~2 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from research_lab.core.optimize.walkforward import (
    Fold, WalkForwardError, WalkForwardPlan, plan_walkforward,
)

MIN_FOLD_BARS = 20


def plan_study_folds(sessions: Any, settings: Any) -> WalkForwardPlan:
    """The study's plan for ``sessions`` under ``settings`` (a
    :class:`~.config.WalkForwardSettings`); :class:`WalkForwardError` (a ``ValueError``) when
    the sessions are too few for the scheme."""
    scheme = settings.scheme
    n_groups = settings.folds if scheme != "calendar" else 1
    base = plan_walkforward(sessions, folds=n_groups, oos_fraction=settings.oos_fraction,
                            embargo_bars=settings.embargo_bars, min_fold_bars=MIN_FOLD_BARS)
    if scheme == "walk_forward":
        return base
    if scheme == "calendar":
        folds, cv = _calendar_folds(sessions, base.is_stop, settings.calendar_freq)
    else:
        folds, cv = _cpcv_folds(base.is_stop, settings)
    return WalkForwardPlan(base.n_bars, folds, base.is_stop, base.oos_start, base.sessions,
                           scheme, cv)


def _calendar_folds(sessions: Any, is_stop: int, freq: str) -> tuple[tuple[Fold, ...], dict]:
    import datetime as dt

    import pandas as pd
    from skfolio.model_selection import WalkForward

    index = pd.DatetimeIndex(pd.to_datetime(list(sessions[:is_stop])))
    frame = pd.DataFrame({"x": np.zeros(is_stop)}, index=index)
    try:
        splits = list(WalkForward(test_size=1, train_size=dt.timedelta(days=7),
                                  freq=freq).split(frame))
    except (ValueError, TypeError) as exc:
        raise WalkForwardError(f"walkforward.calendar_freq {freq!r}: {exc}") from None
    folds = tuple(Fold(i, int(test[0]), int(test[-1]) + 1) for i, (_, test) in enumerate(splits)
                  if len(test))
    if len(folds) < 2 or min(len(f) for f in folds) < MIN_FOLD_BARS // 2:
        raise WalkForwardError(
            f"{is_stop} in-sample sessions give {len(folds)} calendar fold(s) of {freq}; need "
            f">= 2 folds of >= {MIN_FOLD_BARS // 2} bars (a longer range or a shorter period)")
    return folds, {"freq": freq}


def cpcv(cv: dict[str, Any]) -> Any:
    """skfolio's ``CombinatorialPurgedCV`` of a plan's ``cv`` settings."""
    from skfolio.model_selection import CombinatorialPurgedCV

    return CombinatorialPurgedCV(n_folds=cv["n_folds"], n_test_folds=cv["n_test_folds"],
                                 purged_size=cv["purged_size"], embargo_size=cv["embargo_size"])


def _cpcv_folds(is_stop: int, settings: Any) -> tuple[tuple[Fold, ...], dict]:
    n, k = settings.folds, settings.cpcv_test_folds
    if n < 3 or not 2 <= k < n:
        raise WalkForwardError(f"CPCV needs walkforward.folds >= 3 (got {n}) and "
                               f"walkforward.cpcv_test_folds in 2..folds-1, got {k}")
    cv = {"n_folds": n, "n_test_folds": k, "purged_size": settings.cpcv_purge_bars,
          "embargo_size": settings.cpcv_embargo_bars}
    model = cpcv(cv)
    groups: set[tuple[int, int]] = set()
    for _, tests in model.split(np.zeros((is_stop, 1))):
        groups.update((int(t[0]), int(t[-1]) + 1) for t in tests)
    folds = tuple(Fold(i, a, b) for i, (a, b) in enumerate(sorted(groups)))
    cv.update(n_splits=int(model.n_splits), n_paths=int(model.n_test_paths))
    return folds, cv


@dataclass(frozen=True)
class CPCVFigures:
    """PBO over the CPCV splits and the deflated Sharpe ratio of each backtest path."""

    pbo: Any                       # overfitting.PBOResult (n_splits: groups, combos: splits)
    path_dsr: tuple[float, ...]
    path_sharpe: tuple[float, ...]  # per bar
    n_paths: int

    @property
    def median_dsr(self) -> float:
        finite = [d for d in self.path_dsr if math.isfinite(d)]
        return float(np.median(finite)) if finite else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"n_paths": self.n_paths, "path_dsr": list(self.path_dsr),
                "path_sharpe": list(self.path_sharpe), "median_path_dsr": self.median_dsr}


def cpcv_overfitting(matrix: np.ndarray, plan: WalkForwardPlan,
                     n_trials: int | None = None) -> CPCVFigures:
    """PBO and path-wise DSR from ``matrix`` (in-sample bars x configurations of per-bar
    returns) over the splits and paths of ``plan`` (a ``cpcv`` plan); see the module
    docstring. ``n_trials``: the study's real number of trials for the DSR (default: the
    number of columns)."""
    from research_lab.core.optimize.overfitting import (
        PBOResult, deflated_sharpe_ratio, per_bar_sharpe,
    )

    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"CPCV overfitting needs a T x N matrix with N >= 2, got {m.shape}")
    if m.shape[0] != plan.is_stop:
        raise ValueError(f"{m.shape[0]} rows; the plan has {plan.is_stop} in-sample bars")
    model = cpcv(plan.cv)
    splits = list(model.split(np.zeros((m.shape[0], 1))))
    path_ids = np.asarray(model.get_path_ids())
    n = m.shape[1]

    def sharpes(rows: np.ndarray) -> np.ndarray:
        sub = m[rows]
        sd = sub.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(sd > 0, sub.mean(axis=0) / sd, -np.inf)

    logits, chosen = [], []
    for train, tests in splits:
        best = int(np.argmax(sharpes(train)))
        chosen.append(best)
        oos = sharpes(np.concatenate(tests))
        below = float((oos < oos[best]).sum())
        equal = float((oos == oos[best]).sum())
        w = (below + (equal + 1) / 2.0) / (n + 1)
        logits.append(math.log(w / (1 - w)))
    logits_arr = np.array(logits)
    pbo = PBOResult(float(np.mean(logits_arr <= 0)), logits_arr, int(plan.cv["n_folds"]),
                    len(splits), n)
    all_sharpes = np.array([per_bar_sharpe(m[:, j]) for j in range(n)])
    paths: dict[int, list[tuple[int, np.ndarray]]] = {}
    for s, (_, tests) in enumerate(splits):
        for j, test in enumerate(tests):
            paths.setdefault(int(path_ids[s][j]), []).append(
                (int(test[0]), m[test, chosen[s]]))
    dsr, sr = [], []
    for p in sorted(paths):
        r = np.concatenate([seg for _, seg in sorted(paths[p], key=lambda x: x[0])])
        d = deflated_sharpe_ratio(r, all_sharpes, n_trials=n_trials or n)
        dsr.append(float(d.dsr))
        sr.append(float(d.sharpe))
    return CPCVFigures(pbo, tuple(dsr), tuple(sr), len(paths))
