"""The fast engine's compiled loops: signal rules, the fill loop, and the sweep.

:func:`simulate` is backtrader's ``BackBroker`` reduced to what a one-symbol, market-order,
target-direction strategy needs, written to perform the *same floating-point operations in
the same order* (``bbroker.py``: ``check_submitted``, ``_execute``, ``next``, ``_get_value``;
``comminfo.py``; ``position.py``). That is why the parity tests can ask for identical orders
and final values, not just close ones. Per bar t:

1. an order created at t - 1 is checked against cash at its creation price (backtrader's
   ``checksubmit``), then executed at ``open[t]``; the opening part is cancelled if cash would
   go below zero (status ``Margin``), the closing part of a reversal still executes;
2. futures-like positions are marked to market into cash at ``close[t]``;
3. the account value is computed (``cash + position value``, with backtrader's
   unrealized-profit split, which is not always bit-equal to the plain product);
4. the signal at t is read; if it asks for another direction, an order to
   ``direction * units - position`` is created at ``close[t]``.

:func:`sweep_kernel` runs many parameter combinations of one rule over one price series: per
combination it evaluates the rule into a scratch row and runs :func:`simulate`, accumulating
the Sharpe ratio and drawdown on the way, so nothing per-bar is kept.

This module imports numba: it is imported only when the fast engine runs. ``cache=True``
writes compiled code to ``__pycache__`` so only the first process pays for compilation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .signals import BELOW_ABOVE, CROSS

_NAN = np.nan


@njit(cache=True)
def rule_signal(kind: int, a: np.ndarray, b: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    """Write the signal of a rule (see :mod:`.signals`) into ``out``."""
    n = a.shape[0]
    if kind == CROSS:
        seeded = False
        nzd = 0.0  # backtrader's NonZeroDifference: the last non-zero a - b
        for i in range(n):
            out[i] = _NAN
            ai = a[i]
            bi = b[i]
            if math.isnan(ai) or math.isnan(bi):
                continue
            d = ai - bi
            if not seeded:
                nzd = d
                seeded = True
                continue
            if nzd < 0.0 and ai > bi:
                out[i] = 1.0
            elif nzd > 0.0 and ai < bi:
                out[i] = -1.0
            if d != 0.0:
                nzd = d
    elif kind == BELOW_ABOVE:
        for i in range(n):
            out[i] = 1.0 if a[i] < b[i] else (-1.0 if a[i] > c[i] else _NAN)
    else:  # ABOVE_BELOW
        for i in range(n):
            out[i] = 1.0 if a[i] > b[i] else (-1.0 if a[i] < c[i] else _NAN)


@njit(cache=True, inline="always")
def _update(size0: float, price0: float, size: float, price: float):
    """backtrader's ``Position.update``: (new size, new price, opened, closed)."""
    new = size0 + size
    if new == 0.0:
        return new, 0.0, 0.0, size
    if size0 == 0.0:
        return new, price, size, 0.0
    if size0 > 0.0:
        if size > 0.0:
            return new, (price0 * size0 + size * price) / new, size, 0.0
        if new > 0.0:
            return new, price0, 0.0, size
        return new, price, new, -size0
    if size < 0.0:
        return new, (price0 * size0 + size * price) / new, size, 0.0
    if new < 0.0:
        return new, price0, 0.0, size
    return new, price, new, -size0


@njit(cache=True, inline="always")
def _comm(size: float, price: float, stocklike: bool, commission: float) -> float:
    if stocklike:
        return abs(size) * commission * price
    return abs(size) * commission


@njit(cache=True, inline="always")
def _valuesize(size: float, price: float, stocklike: bool, margin: float) -> float:
    if stocklike:
        return size * price
    return abs(size) * margin


@njit(cache=True)
def simulate(
    open_: np.ndarray,
    close: np.ndarray,
    signal: np.ndarray,
    cash0: float,
    fixed: bool,
    stake: float,
    fraction: float,
    stocklike: bool,
    commission: float,
    mult: float,
    margin: float,
    allow_short: bool,
    equity: np.ndarray,
    fill_bar: np.ndarray,
    fill_size: np.ndarray,
    fill_price: np.ndarray,
    fill_comm: np.ndarray,
):
    """Run the broker over all bars; fill ``equity`` and the fill arrays (one fill per bar
    at most). Returns (cash, fills, rejected, sum r, sum r^2, min value/peak)."""
    n = close.shape[0]
    cash = cash0
    pos = 0.0
    pprice = 0.0
    adjbase = 0.0
    pending = False
    o_size = 0.0
    o_price = 0.0
    fills = 0
    rejected = 0
    prev = cash0
    peak = cash0
    min_ratio = 1.0
    s1 = 0.0
    s2 = 0.0
    for t in range(n):
        if pending:
            pending = False
            # checksubmit: pseudo-execution at the creation price with the current cash
            c = cash
            _, _, opened, closed = _update(pos, pprice, o_size, o_price)
            if closed != 0.0:
                c += _valuesize(-closed, o_price, stocklike, margin)
                c -= _comm(closed, o_price, stocklike, commission)
            if opened != 0.0:
                c -= _valuesize(opened, o_price, stocklike, margin)
                c -= _comm(opened, o_price, stocklike, commission)
            if c < 0.0:
                rejected += 1
            else:
                # execution at the open
                p = open_[t]
                pprice_orig = pprice
                _, _, opened, closed = _update(pos, pprice, o_size, p)
                pnl = (-closed) * (p - pprice_orig) * mult
                c = cash
                comm = 0.0
                if closed != 0.0:
                    closedvalue = _valuesize(-closed, pprice_orig, stocklike, margin)
                    if stocklike:
                        c += closedvalue + pnl
                    else:
                        c += closedvalue
                    cc = _comm(closed, p, stocklike, commission)
                    c -= cc
                    comm += cc
                    if not stocklike:
                        c += (-closed) * (p - adjbase) * mult
                    cash = c
                if opened != 0.0:
                    c -= _valuesize(opened, p, stocklike, margin)
                    oc = _comm(opened, p, stocklike, commission)
                    c -= oc
                    if c < 0.0:
                        opened = 0.0
                        rejected += 1
                    else:
                        # (backtrader also re-bases contracts already held when a futures
                        # position grows; positions here only open, close or reverse)
                        adjbase = p
                        cash = c
                        comm += oc
                executed = closed + opened
                if executed != 0.0:
                    pos, pprice, _, _ = _update(pos, pprice, executed, p)
                    fill_bar[fills] = t
                    fill_size[fills] = executed
                    fill_price[fills] = p
                    fill_comm[fills] = comm
                    fills += 1
        px = close[t]
        if pos != 0.0 and not stocklike:
            cash += pos * (px - adjbase) * mult
            adjbase = px
        dvalue = _valuesize(pos, px, stocklike, margin)
        if dvalue > 0.0:
            dunrealized = pos * (px - pprice) * mult
            value = cash + ((dvalue - dunrealized) + dunrealized)
        else:
            value = cash + dvalue
        equity[t] = value
        r = value / prev - 1.0
        s1 += r
        s2 += r * r
        if value > peak:
            peak = value
        elif value < peak * min_ratio:  # a new deepest drawdown (divides only then)
            min_ratio = value / peak
        prev = value
        s = signal[t]
        if not math.isnan(s):
            want = s
            if want < 0.0 and not allow_short:
                want = 0.0
            have = 1.0 if pos > 0.0 else (-1.0 if pos < 0.0 else 0.0)
            if want != have:
                if fixed:
                    units = stake
                else:
                    units = math.floor(value * fraction / (px if stocklike else margin))
                size = want * units - pos
                if size != 0.0:
                    pending = True
                    o_size = size
                    o_price = px
    return cash, fills, rejected, s1, s2, min_ratio


@njit(cache=True)
def sharpe_from_sums(s1: float, s2: float, n: int, periods: float) -> float:
    """Annualized Sharpe (rf = 0, ddof = 1) from the sum and sum of squares of returns."""
    if n < 2:
        return _NAN
    mean = s1 / n
    var = (s2 - s1 * mean) / (n - 1)
    if var <= 0.0:
        if mean == 0.0:
            return _NAN
        return math.inf if mean > 0.0 else -math.inf
    return mean / math.sqrt(var) * math.sqrt(periods)


@njit(cache=True)
def sweep_kernel(
    open_: np.ndarray,
    close: np.ndarray,
    lines: np.ndarray,
    kind: int,
    ia: np.ndarray,
    ib: np.ndarray,
    ic: np.ndarray,
    cash0: float,
    fixed: bool,
    stake: float,
    fraction: float,
    stocklike: bool,
    commission: float,
    mult: float,
    margin: float,
    allow_short: bool,
    periods: float,
    out: np.ndarray,
) -> None:
    """One row of ``out`` per combination k (rule lines ``ia[k], ib[k], ic[k]``):
    final value, final cash, Sharpe, max drawdown, fills, rejected orders."""
    n = close.shape[0]
    sig = np.empty(n)
    equity = np.empty(n)
    fill_bar = np.empty(n, dtype=np.int64)
    fill_size = np.empty(n)
    fill_price = np.empty(n)
    fill_comm = np.empty(n)
    for k in range(ia.shape[0]):
        rule_signal(kind, lines[ia[k]], lines[ib[k]], lines[ic[k]], sig)
        cash, fills, rejected, s1, s2, min_ratio = simulate(
            open_, close, sig, cash0, fixed, stake, fraction, stocklike, commission, mult,
            margin, allow_short, equity, fill_bar, fill_size, fill_price, fill_comm,
        )
        out[k, 0] = equity[n - 1]
        out[k, 1] = cash
        out[k, 2] = sharpe_from_sums(s1, s2, n, periods)
        out[k, 3] = min_ratio - 1.0
        out[k, 4] = fills
        out[k, 5] = rejected
