"""How much of a study's best result is luck: the deflated Sharpe ratio and the probability
of backtest overfitting.

Deflated Sharpe ratio (DSR; Bailey & López de Prado, "The Deflated Sharpe Ratio", JPM 2014)
    The best of N trials has a high Sharpe ratio even when no trial has any skill. DSR is the
    probability that the selected strategy's true Sharpe ratio exceeds the Sharpe ratio one
    would expect from the best of N skill-less trials::

        SR0 = sqrt(V[SR_n]) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))   g = 0.5772...
        DSR = Z( (SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2) )

    with per-bar (not annualized) Sharpe ratios, V[SR_n] the variance of the N trials' Sharpe
    ratios, T the number of returns, skew and kurt (non-excess: normal = 3) of the selected
    strategy's returns. N is the study's real number of trials (completed + pruned: every
    configuration that was tried). Optuna's trials are not independent (TPE samples near good
    points), so this N overstates the independent trials and the DSR errs on the cautious
    side. The paper's example (SR 2.5 annualized, T = 1250, N = 100, V = 1/2 annualized, skew
    -3, kurt 10, 250 bars a year) gives SR0 = 0.1132 per bar and DSR = 0.9004 (tested).

Probability of backtest overfitting (PBO; Bailey, Borwein, López de Prado & Zhu,
"The Probability of Backtest Overfitting", 2015), by combinatorially symmetric cross-validation
    Given the T x N matrix of the N trials' per-bar returns, cut the rows into S equal
    groups; for each of the C(S, S/2) ways to pick half of them as in-sample (the rest
    out-of-sample), find the trial with the best in-sample Sharpe, and its relative rank
    w = rank / (N + 1) among all trials out-of-sample (rank 1 = worst); its logit is
    l = ln(w / (1 - w)). PBO is the share of splits with l <= 0: how often the in-sample
    winner is no better than the median out-of-sample. ~0 means the selection generalizes,
    ~0.5 or more that it is noise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

EULER_GAMMA = 0.5772156649015329


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _norm_ppf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def per_bar_sharpe(returns: np.ndarray) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    sd = float(r.std(ddof=1))
    return float(r.mean()) / sd if sd > 0 else math.nan


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """SR0: the expected best per-bar Sharpe of ``n_trials`` skill-less trials."""
    if n_trials < 2 or not sr_variance > 0:
        return 0.0
    z = ((1 - EULER_GAMMA) * _norm_ppf(1 - 1 / n_trials)
         + EULER_GAMMA * _norm_ppf(1 - 1 / (n_trials * math.e)))
    return math.sqrt(sr_variance) * z


def probabilistic_sharpe_ratio(sr: float, sr_benchmark: float, n_obs: int, skew: float,
                               kurtosis: float) -> float:
    """PSR: P(true SR > ``sr_benchmark``), per-bar SRs, non-excess ``kurtosis``."""
    denom = 1 - skew * sr + (kurtosis - 1) / 4 * sr * sr
    if n_obs < 2 or not denom > 0 or not math.isfinite(sr):
        return math.nan
    return _norm_cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom))


@dataclass(frozen=True)
class DeflatedSharpe:
    dsr: float
    sharpe: float          # per bar
    sr0: float             # per bar: expected best of n_trials skill-less trials
    n_trials: int
    sr_variance: float
    n_obs: int
    skew: float
    kurtosis: float        # non-excess

    def annualized(self, periods: int = 252) -> tuple[float, float]:
        """(SR, SR0) annualized, for reports."""
        return self.sharpe * math.sqrt(periods), self.sr0 * math.sqrt(periods)


def deflated_sharpe_ratio(best_returns: np.ndarray, trial_sharpes: np.ndarray,
                          n_trials: int | None = None) -> DeflatedSharpe:
    """DSR of the selected trial's per-bar ``best_returns`` given every trial's per-bar Sharpe
    (``trial_sharpes``, NaN ignored); ``n_trials`` defaults to ``len(trial_sharpes)``."""
    from scipy.stats import kurtosis, skew

    r = np.asarray(best_returns, dtype=np.float64)
    sharpes = np.asarray(trial_sharpes, dtype=np.float64)
    sharpes = sharpes[np.isfinite(sharpes)]
    n = int(n_trials if n_trials is not None else len(trial_sharpes))
    var = float(sharpes.var(ddof=1)) if sharpes.size > 1 else 0.0
    sr = per_bar_sharpe(r)
    g3 = float(skew(r)) if r.size > 2 and r.std() > 0 else 0.0
    g4 = float(kurtosis(r, fisher=False)) if r.size > 3 and r.std() > 0 else 3.0
    sr0 = expected_max_sharpe(n, var)
    return DeflatedSharpe(probabilistic_sharpe_ratio(sr, sr0, r.size, g3, g4), sr, sr0, n, var,
                          int(r.size), g3, g4)


@dataclass(frozen=True)
class PBOResult:
    pbo: float
    logits: np.ndarray
    n_splits: int          # S, groups of rows
    n_combinations: int    # C(S, S/2)
    n_trials: int


def _group_stats(matrix: np.ndarray, n_splits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: row count, sum and sum of squares of each column (S x N)."""
    bounds = np.linspace(0, matrix.shape[0], n_splits + 1).round().astype(int)
    counts = np.diff(bounds).astype(np.float64)
    sums = np.add.reduceat(matrix, bounds[:-1], axis=0)
    squares = np.add.reduceat(matrix * matrix, bounds[:-1], axis=0)
    return counts, sums, squares


def _scores(mask: np.ndarray, counts, sums, squares, metric: str) -> np.ndarray:
    """Each trial's score over the groups selected by each row of ``mask`` (C x S -> C x N)."""
    m = mask.astype(np.float64)
    n = m @ counts
    s = m @ sums
    mean = s / n[:, None]
    if metric == "mean":
        return mean
    var = (m @ squares - n[:, None] * mean * mean) / (n[:, None] - 1)
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / sd, -np.inf)
    return out


def probability_of_backtest_overfitting(matrix: np.ndarray, n_splits: int = 16,
                                        metric: str = "sharpe") -> PBOResult:
    """PBO by CSCV over ``matrix`` (T bars x N trials of per-bar returns); ``metric`` is
    ``sharpe`` (mean / std) or ``mean``. ``n_splits`` must be even; it is lowered (to an even
    number >= 2) when T is too short for groups of at least 2 rows."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"PBO needs a T x N matrix with N >= 2 trials, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("PBO: the returns matrix has NaN or infinite values")
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits must be an even number >= 2, got {n_splits}")
    n_splits = min(n_splits, (m.shape[0] // 2) // 2 * 2)
    if n_splits < 2:
        raise ValueError(f"PBO needs at least 4 rows, got {m.shape[0]}")
    counts, sums, squares = _group_stats(m, n_splits)
    combos = list(itertools.combinations(range(n_splits), n_splits // 2))
    mask = np.zeros((len(combos), n_splits), dtype=bool)
    for i, c in enumerate(combos):
        mask[i, list(c)] = True
    n = m.shape[1]
    rank = np.empty(len(combos))
    # by blocks of splits: C(16, 8) = 12,870 splits x 20,000 trials would be 2 GB per array
    step = max(1, 2_000_000 // n)
    for lo in range(0, len(combos), step):
        part = mask[lo:lo + step]
        is_scores = _scores(part, counts, sums, squares, metric)
        oos_scores = _scores(~part, counts, sums, squares, metric)
        best = np.argmax(is_scores, axis=1)
        best_oos = oos_scores[np.arange(len(part)), best]
        # rank 1 = worst; ties share the average rank
        below = (oos_scores < best_oos[:, None]).sum(axis=1)
        equal = (oos_scores == best_oos[:, None]).sum(axis=1)
        rank[lo:lo + step] = below + (equal + 1) / 2.0
    w = rank / (n + 1)
    logits = np.log(w / (1 - w))
    return PBOResult(float(np.mean(logits <= 0)), logits, n_splits, len(combos), n)
