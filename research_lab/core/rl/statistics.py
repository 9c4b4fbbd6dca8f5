"""Statistics over seeds and folds: interquartile mean, bootstrap confidence intervals,
probability of improvement (the conventions of rliable, Agarwal et al. 2021, "Deep RL at the
Edge of the Statistical Precipice").

Scores are a matrix ``(runs, tasks)``: one row per training seed, one column per walk-forward
fold (a fold is a "task": its test period is different market data). A deterministic baseline
(buy-and-hold, the best rule-based strategy) has one run per fold: ``(1, tasks)``.

==================================  ==========================================================
:func:`iqm`                         interquartile mean: the mean of the middle 50 % of all
                                    ``runs x tasks`` scores (``scipy.stats.trim_mean`` with
                                    ``proportiontocut=0.25, axis=None``, rliable's
                                    ``aggregate_iqm``); robust to one lucky or unlucky seed,
                                    less noisy than the median
:func:`probability_of_improvement`  P(X > Y) per fold — the Mann-Whitney U of the policy's
                                    runs against the baseline's over ``n_x * n_y`` (ties count
                                    half) — averaged over folds (rliable's
                                    ``probability_of_improvement``)
:func:`iqm_interval`,               percentile bootstrap confidence intervals, stratified by
:func:`improvement_interval`        fold: each resample draws runs with replacement *within*
                                    each fold (rliable's ``StratifiedBootstrap`` /
                                    ``StratifiedIndependentBootstrap``; the two samples of the
                                    probability of improvement are resampled independently)
==================================  ==========================================================

The bootstrap is written out here, vectorized over the resamples, instead of calling
rliable's ``get_interval_estimates``: rliable runs one Python function call per resample (and
one ``scipy.stats.mannwhitneyu`` per fold per resample), about a minute for 50,000 resamples
of the probability of improvement, against well under a second here. The resampling indices
are drawn from ``numpy.random.RandomState(seed)`` in exactly the order rliable draws them from
numpy's global generator, so for the same seed both give the same intervals: the tests hold
this module to rliable itself to 1e-12 (``research_lab_tests/core/rl/test_statistics.py``).
The point estimates call rliable directly.

Imports numpy, scipy and rliable (when a function runs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap confidence interval ``[low, high]``."""

    point: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"point": self.point, "low": self.low, "high": self.high}

    def __str__(self) -> str:
        return f"{self.point:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _matrix(scores: Any, what: str) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{what}: scores must be a (runs, folds) matrix, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError(f"{what}: scores contain NaN")
    return x


def iqm(scores: Any) -> float:
    """Interquartile mean of all scores (rliable's ``aggregate_iqm``)."""
    from rliable import metrics

    return float(metrics.aggregate_iqm(_matrix(scores, "iqm")))


def probability_of_improvement(x: Any, y: Any) -> float:
    """P(X > Y) averaged over folds (rliable's ``probability_of_improvement``)."""
    from rliable import metrics

    x, y = _matrix(x, "policy"), _matrix(y, "baseline")
    _same_folds(x, y)
    return float(metrics.probability_of_improvement(x, y))


def _same_folds(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"policy scores have {x.shape[1]} folds, the baseline's "
                         f"{y.shape[1]}: compare on the same folds")


def _percentiles(values: np.ndarray, size: float) -> tuple[float, float]:
    """arch's percentile interval: ``np.percentile`` at (1 - size) / 2 and its complement."""
    alpha = (1.0 - size) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1.0 - alpha)])
    return float(low), float(high)


def _iqm_rows(samples: np.ndarray) -> np.ndarray:
    """The interquartile mean of each row (``trim_mean(..., 0.25)`` of the row)."""
    n = samples.shape[1]
    cut = int(0.25 * n)
    return np.sort(samples, axis=1)[:, cut:n - cut].mean(axis=1)


def iqm_interval(scores: Any, *, reps: int = 50_000, size: float = 0.95,
                 seed: int = 0) -> Interval:
    """IQM of ``scores`` and its stratified percentile-bootstrap interval (``reps``
    resamples, coverage ``size``), equal to rliable's ``get_interval_estimates`` with
    ``np.random.seed(seed)``."""
    x = _matrix(scores, "iqm")
    runs, folds = x.shape
    rng = np.random.RandomState(seed)
    rows = rng.randint(0, runs, size=(reps, runs, folds))
    samples = x[rows, np.arange(folds)[None, None, :]].reshape(reps, runs * folds)
    return Interval(iqm(x), *_percentiles(_iqm_rows(samples), size))


def _improvement_rows(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Probability of improvement of each resample: ``xs`` (reps, nx, folds) against ``ys``
    (reps, ny, folds); U / (nx ny) with ties counting half, averaged over folds."""
    nx, ny = xs.shape[1], ys.shape[1]
    greater = (xs[:, :, None, :] > ys[:, None, :, :]).sum(axis=(1, 2))
    ties = (xs[:, :, None, :] == ys[:, None, :, :]).sum(axis=(1, 2))
    return ((greater + 0.5 * ties) / (nx * ny)).mean(axis=1)


def improvement_interval(x: Any, y: Any, *, reps: int = 50_000, size: float = 0.95,
                         seed: int = 0, chunk: int = 10_000) -> Interval:
    """Probability that the policy (``x``) beats the baseline (``y``) and its percentile
    bootstrap interval, each sample resampled independently within each fold; equal to
    rliable's ``get_interval_estimates`` of ``[x, y]`` with ``np.random.seed(seed)``."""
    x, y = _matrix(x, "policy"), _matrix(y, "baseline")
    _same_folds(x, y)
    (nx, folds), ny = x.shape, y.shape[0]
    rng = np.random.RandomState(seed)
    # one resample draws x's indices then y's, element by element (rliable's order); a
    # broadcast upper bound draws them in that order, and a bound of 1 draws nothing, as
    # numpy.random.choice(1, ...) does
    bounds = np.concatenate([np.full(nx * folds, nx), np.full(ny * folds, ny)])
    values = np.empty(reps)
    cols = np.arange(folds)[None, None, :]
    for start in range(0, reps, chunk):
        n = min(chunk, reps - start)
        idx = rng.randint(0, bounds, size=(n, bounds.size))
        xi = idx[:, :nx * folds].reshape(n, nx, folds)
        yi = idx[:, nx * folds:].reshape(n, ny, folds)
        values[start:start + n] = _improvement_rows(x[xi, cols], y[yi, cols])
    return Interval(probability_of_improvement(x, y), *_percentiles(values, size))


def summarize(policy: Any, baselines: Mapping[str, Any], *, reps: int = 50_000,
              size: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """The IQM of ``policy`` (runs x folds) and of each baseline, with intervals, and the
    probability of improvement over each baseline, with its interval."""
    x = _matrix(policy, "policy")
    out: dict[str, Any] = {"iqm": iqm_interval(x, reps=reps, size=size, seed=seed),
                           "baselines": {}}
    for name, scores in baselines.items():
        y = _matrix(scores, name)
        _same_folds(x, y)
        out["baselines"][name] = {
            "iqm": iqm(y),
            "probability_of_improvement": improvement_interval(x, y, reps=reps, size=size,
                                                               seed=seed),
        }
    return out


def clean_score(value: float) -> float:
    """A run's score for the statistics: a Sharpe ratio that is NaN (the run never held a
    position, so its returns are constant zero) counts as 0, the value of holding cash."""
    return 0.0 if math.isnan(value) else float(value)
