"""Time in the market and turnover, from what the engine held and traded each bar.

Implemented here (quantstats only sees returns: its ``exposure`` counts non-zero return bars and
rounds up to the next percent, reported as ``time_in_market`` in :mod:`.performance`).

=========== ====================================================================================
name        definition
=========== ====================================================================================
exposure    bars with a non-zero position / bars, from the per-bar position (shares, contracts
            or fraction of equity: only "is anything held" matters); exact, no rounding
turnover    annualized two-sided turnover: sum(|traded value|) / mean(equity) * periods / n,
            n = number of bars of ``traded_value``; buying the whole account once and selling
            it once within a year is 2.0; equity below 0 counts as 0 and turnover is NaN when
            the mean is not positive
=========== ====================================================================================

Both are NaN when their inputs are not given. Inputs are plain arrays or Series; they cover the
engine's bars (one more than the returns, usually), so no date alignment is needed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DEFINITIONS: dict[str, str] = {
    "exposure": "bars holding a non-zero position / bars",
    "turnover": "annualized two-sided turnover: sum|traded value| / mean equity * periods / bars",
}
NAMES: tuple[str, ...] = tuple(DEFINITIONS)

ArrayLike = pd.Series | np.ndarray | list[float]


def _array(values: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype="float64").ravel()
    if arr.size == 0:
        raise ValueError(f"{what} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} has NaN or inf")
    return arr


def exposure(position: ArrayLike) -> float:
    """Fraction of bars holding a non-zero position."""
    pos = _array(position, "position")
    return float(np.count_nonzero(pos) / pos.size)


def turnover(traded_value: ArrayLike, equity: ArrayLike, periods: int = 252) -> float:
    """Annualized two-sided turnover (see the module docstring)."""
    traded = _array(traded_value, "traded_value")
    eq = _array(equity, "equity")
    mean_equity = float(np.maximum(eq, 0.0).mean())  # a debt counts as an empty account
    if mean_equity <= 0:
        return math.nan  # never divide by a non-positive equity
    return float(np.abs(traded).sum() / mean_equity * periods / traded.size)


def exposure_metrics(
    position: ArrayLike | None = None,
    traded_value: ArrayLike | None = None,
    equity: ArrayLike | None = None,
    periods: int = 252,
) -> dict[str, float]:
    """``exposure`` and ``turnover``; NaN for the one whose inputs are missing."""
    if traded_value is not None and equity is None:
        raise ValueError("turnover needs the equity curve (account value) to scale traded value")
    return {
        "exposure": math.nan if position is None else exposure(position),
        "turnover": math.nan if traded_value is None else turnover(traded_value, equity, periods),
    }
