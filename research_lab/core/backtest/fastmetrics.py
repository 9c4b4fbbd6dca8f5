"""The three numbers a parameter sweep ranks by: total return, Sharpe ratio, max drawdown.

Conventions are those of :mod:`research_lab.core.metrics` (the full 30+ metric report), so a
sweep's ranking and a run's report agree:

============== ===================================================================
total_return   final value / starting cash - 1
sharpe         mean(r) / std(r, ddof=1) * sqrt(periods), r the per-bar simple returns
               (the first against the starting cash), no risk-free rate; constant
               returns (std <= 1e-9 x |mean|, float rounding) give NaN when the mean
               is zero and +-inf by its sign otherwise
max_drawdown   min(value / running peak) - 1 (<= 0, >= -1: a negative value counts as
               0), the starting cash being the first peak
============== ===================================================================

The sweep computes the same numbers inside its compiled loop from running sums
(:func:`.kernels.sharpe_from_moments`); these numpy versions work on a result's curves and are
what the tests hold the loop to (1e-9).
"""

from __future__ import annotations

import math

import numpy as np

from research_lab.core.metrics.fast import ZERO_STD_REL

PERIODS_PER_YEAR = 252


def returns_from_equity(equity: np.ndarray, start: float) -> np.ndarray:
    """Per-bar simple returns, the first one against ``start`` (the starting cash).

    An account that reaches zero is gone: the return is -1 on the bar its value becomes <= 0
    and 0 on every bar after a non-positive value, so nothing divides by a non-positive
    equity (the engines' in-loop Sharpe uses the same rule)."""
    equity = np.asarray(equity, dtype=np.float64)
    prev = np.concatenate(([start], equity[:-1]))
    alive = prev > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(alive, equity / np.where(alive, prev, 1.0) - 1.0, 0.0)
    out[alive & (equity <= 0.0)] = -1.0
    return out


def total_return(equity: np.ndarray, start: float) -> float:
    equity = np.asarray(equity, dtype=np.float64)
    return float(equity[-1] / start - 1.0) if equity.size else 0.0


def sharpe(returns: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    mean = float(r.mean())
    std = float(r.std(ddof=1))
    if std <= ZERO_STD_REL * abs(mean):  # constant returns (up to float rounding)
        return math.nan if mean == 0.0 else math.copysign(math.inf, mean)
    return mean / std * math.sqrt(periods)


def max_drawdown(equity: np.ndarray, start: float) -> float:
    equity = np.asarray(equity, dtype=np.float64)
    if not equity.size:
        return 0.0
    curve = np.maximum(np.concatenate(([start], equity)), 0.0)  # a debt is a 100 % loss
    peak = np.maximum.accumulate(curve)
    return float(min(0.0, (curve / peak).min() - 1.0))


def summary(equity: np.ndarray, start: float, periods: int = PERIODS_PER_YEAR) -> dict[str, float]:
    """``total_return``, ``sharpe`` and ``max_drawdown`` of an equity curve."""
    return {
        "total_return": total_return(equity, start),
        "sharpe": sharpe(returns_from_equity(equity, start), periods),
        "max_drawdown": max_drawdown(equity, start),
    }
