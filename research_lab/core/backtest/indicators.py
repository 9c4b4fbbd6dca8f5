"""Indicators, compiled with numba, that reproduce backtrader's to the last bit.

Why bit-exact: signals compare lines (close vs SMA, fast vs slow), and prices quoted in cents
make those lines *exactly equal* on some bars. backtrader's ``CrossOver`` treats a tie as "no
side" (it remembers the last non-zero difference), so a line that is one rounding away from
backtrader's turns a tie into a cross, or misses one, and the two engines then trade on
different days. Each function below performs backtrader's floating-point operations in
backtrader's order (no ``fastmath``, so no reassociation and no fused multiply-add):

========================= ==================================================================
backtrader                here
========================= ==================================================================
``SMA`` (``Average``)     :func:`sma`: ``math.fsum(window) / period``, the correctly rounded
                          sum, computed from exact double-double prefix sums (O(1) per bar;
                          falls back to Shewchuk partials, Python's fsum algorithm, if a
                          prefix ever needs more than 106 bits)
``EMA`` / ``SMMA``        :func:`smooth`: seed = SMA of the first window, then
                          ``prev * (1 - alpha) + x * alpha``; alpha = 2/(1+p) or 1/p
``Highest`` / ``Lowest``  :func:`rolling_max` / :func:`rolling_min` (exact)
``RSI_Safe``              :func:`rsi`: Wilder smoothing of up and down moves;
                          ``100 - 100 / (1 + up / down)``, 100 when down is 0, 50 when both are
``BollingerBands``        :func:`bollinger`: mid = SMA; ``devfactor * |SMA(x^2) - mid^2| ** 0.5``
                          with libm's ``pow`` as Python calls it (not ``x * x``, not ``sqrt``)
``ROC``                   :func:`roc`: ``(x - x[-p]) / x[-p]``
========================= ==================================================================

Every output has the input's length, with NaN where backtrader's line has no value yet (its
minimum period); an input may itself start with NaN (a MACD line), and nothing may be NaN after
its first value. All are causal: the value at bar t depends only on bars 0..t.

This module imports numba: import it only where a computation runs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_MAX_PARTIALS = 128


@njit(cache=True, inline="always")
def _two_sum(a: float, b: float) -> tuple[float, float]:
    """``s, e`` with ``s = fl(a + b)`` and ``s + e == a + b`` exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True)
def _grow(partials: np.ndarray, count: int, x: float) -> int:
    """Add ``x`` to the non-overlapping partials (Shewchuk's msum, as in ``math.fsum``)."""
    i = 0
    for j in range(count):
        y = partials[j]
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            partials[i] = lo
            i += 1
        x = hi
    if i >= _MAX_PARTIALS:
        raise ValueError("exact sum: too many partials")
    partials[i] = x
    return i + 1


@njit(cache=True)
def _round(partials: np.ndarray, count: int) -> float:
    """The partials' exact sum rounded to the nearest double, ties to even (fsum's tail)."""
    if count == 0:
        return 0.0
    n = count - 1
    hi = partials[n]
    lo = 0.0
    while n > 0:
        x = hi
        n -= 1
        y = partials[n]
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            break
    if n > 0 and ((lo < 0.0 and partials[n - 1] < 0.0) or (lo > 0.0 and partials[n - 1] > 0.0)):
        y = lo * 2.0
        x = hi + y
        if y == x - hi:
            hi = x
    return hi


@njit(cache=True)
def fsum(x: np.ndarray) -> float:
    """``math.fsum(x)``, compiled."""
    partials = np.empty(_MAX_PARTIALS)
    count = 0
    for v in x:
        count = _grow(partials, count, v)
    return _round(partials, count)


@njit(cache=True)
def first_valid(x: np.ndarray) -> int:
    for i in range(x.shape[0]):
        if not math.isnan(x[i]):
            return i
    return x.shape[0]


@njit(cache=True)
def _sma_partials(x: np.ndarray, period: int, start: int, out: np.ndarray) -> None:
    """Rolling exact sums with Shewchuk partials: always exact, ~5x slower than prefixes."""
    partials = np.empty(_MAX_PARTIALS)
    count = 0
    for i in range(start, x.shape[0]):
        count = _grow(partials, count, x[i])
        if i - period >= start:
            count = _grow(partials, count, -x[i - period])
        if i >= start + period - 1:
            out[i] = _round(partials, count) / period


@njit(cache=True)
def prefix_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Exact prefix sums ``P[k] = x[s] + ... + x[k - 1]`` (s = first valid index) as
    unevaluated pairs ``hi[k] + lo[k]``, and whether every step was exact (the pair holds
    106 bits: enough for any price history unless magnitudes span ~2^50 within it)."""
    n = x.shape[0]
    hi = np.zeros(n + 1)
    lo = np.zeros(n + 1)
    exact = True
    h = 0.0
    l = 0.0
    for k in range(first_valid(x), n):
        s, e = _two_sum(h, x[k])
        t, r = _two_sum(e, l)
        exact &= r == 0.0
        h, l = _two_sum(s, t)
        hi[k + 1] = h
        lo[k + 1] = l
    return hi, lo, exact


@njit(cache=True)
def sma_from_prefix(
    x: np.ndarray, hi: np.ndarray, lo: np.ndarray, exact: bool, period: int
) -> np.ndarray:
    """:func:`sma` from :func:`prefix_sums` of ``x`` (shared by every period of a sweep)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = first_valid(x)
    if n - start < period:
        return out
    for i in range(start + period - 1, n):
        # the window sum hi + lo (exact), rounded once: that is math.fsum's result
        s, e = _two_sum(hi[i + 1], -hi[i + 1 - period])
        t, r1 = _two_sum(lo[i + 1], -lo[i + 1 - period])
        u, r2 = _two_sum(e, t)
        exact &= (r1 == 0.0) & (r2 == 0.0)
        out[i] = (s + u) / period
    if not exact:
        _sma_partials(x, period, start, out)
    return out


@njit(cache=True)
def sma(x: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average, bit-identical to backtrader's ``SMA``."""
    hi, lo, exact = prefix_sums(x)
    return sma_from_prefix(x, hi, lo, exact, period)


@njit(cache=True)
def smooth(x: np.ndarray, period: int, alpha: float) -> np.ndarray:
    """backtrader's ``ExponentialSmoothing``: EMA with alpha=2/(1+p), SMMA with alpha=1/p."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = first_valid(x)
    seed = start + period - 1
    if seed >= n:
        return out
    alpha1 = 1.0 - alpha
    prev = fsum(x[start : seed + 1]) / period
    out[seed] = prev
    for i in range(seed + 1, n):
        prev = prev * alpha1 + x[i] * alpha
        out[i] = prev
    return out


@njit(cache=True)
def rolling_max(x: np.ndarray, period: int) -> np.ndarray:
    """``Highest``: max of the last ``period`` values, bar t included."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(first_valid(x) + period - 1, n):
        m = x[i - period + 1]
        for j in range(i - period + 2, i + 1):
            if x[j] > m:
                m = x[j]
        out[i] = m
    return out


@njit(cache=True)
def rolling_min(x: np.ndarray, period: int) -> np.ndarray:
    """``Lowest``: min of the last ``period`` values, bar t included (negation is exact)."""
    return -rolling_max(-x, period)


@njit(cache=True)
def rsi(x: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI as backtrader's ``RSI_Safe`` (SMMA of up and down moves)."""
    n = x.shape[0]
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    for i in range(first_valid(x) + 1, n):
        up[i] = max(x[i] - x[i - 1], 0.0)
        down[i] = max(x[i - 1] - x[i], 0.0)
    maup = smooth(up, period, 1.0 / period)
    madown = smooth(down, period, 1.0 / period)
    out = np.full(n, np.nan)
    for i in range(n):
        u = maup[i]
        d = madown[i]
        if math.isnan(u) or math.isnan(d):
            continue
        if d == 0.0:
            out[i] = 50.0 if u == 0.0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + u / d)
    return out


def _pow(x: np.ndarray, exponent: float) -> np.ndarray:
    """``x ** exponent`` through C ``pow`` as Python computes it. numba and numpy turn
    ``x ** 2`` into ``x * x`` and ``x ** 0.5`` into ``sqrt``; libm's ``pow`` is not always
    correctly rounded, so backtrader's ``pow(line, 2)`` differs from ``x * x`` in a few bars
    per thousand, and a difference in ``mid ** 2`` is amplified by the cancellation in
    ``SMA(x^2) - mid^2``. ~0.1 us per value."""
    return np.array([v**exponent for v in x.tolist()], dtype=np.float64)


def bollinger(x: np.ndarray, period: int, devfactor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``BollingerBands``: (mid, top, bot); ``devfactor * |SMA(x^2) - mid^2| ** 0.5``."""
    mid = sma(x, period)
    meansq = sma(_pow(x, 2.0), period)
    dev = devfactor * _pow(np.abs(meansq - _pow(mid, 2.0)), 0.5)
    return mid, mid + dev, mid - dev


@njit(cache=True)
def roc(x: np.ndarray, period: int) -> np.ndarray:
    """Rate of change ``(x - x[-period]) / x[-period]``."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(first_valid(x) + period, n):
        out[i] = (x[i] - x[i - period]) / x[i - period]
    return out


@njit(cache=True)
def shift(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` bars (backtrader's ``line(-lag)``), NaN-filled in front."""
    out = np.full(x.shape[0], np.nan)
    out[lag:] = x[: x.shape[0] - lag]
    return out
