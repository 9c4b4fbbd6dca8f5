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

from research_lab.core.metrics.fast import ZERO_STD_REL

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


@njit(cache=True, inline="always")
def _slipped(p: float, buy: bool, high: float, low: float, capped: bool, slip_perc: float,
             slip_fixed: float) -> float:
    """backtrader's ``_slip_up`` / ``_slip_down`` with ``slip_match=True, slip_out=False``:
    the fill price moved against the order, capped at the bar's high (buys) or low (sells)."""
    if slip_perc != 0.0:
        q = p * (1.0 + slip_perc) if buy else p * (1.0 - slip_perc)
    elif slip_fixed != 0.0:
        q = p + slip_fixed if buy else p - slip_fixed
    else:
        return p
    if capped:
        if buy and q > high:
            return high
        if not buy and q < low:
            return low
    return q


@njit(cache=True)
def simulate_bars(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    signal: np.ndarray,
    capped: bool,
    cash0: float,
    fixed: bool,
    stake: float,
    fraction: float,
    stocklike: bool,
    commission: float,
    mult: float,
    margin: float,
    allow_short: bool,
    slip_perc: float,
    slip_fixed: float,
    initial_margin: float,
    maintenance_margin: float,
    equity: np.ndarray,
    fill_bar: np.ndarray,
    fill_size: np.ndarray,
    fill_price: np.ndarray,
    fill_comm: np.ndarray,
    state: np.ndarray,
):
    """Run the broker over all bars; fill ``equity`` and the fill arrays (one fill per bar
    at most) and ``state`` (margin calls, bar of bankruptcy or -1, short entries refused for
    initial margin). Returns (cash, fills, rejected, mean r, sum of squared deviations of r,
    min value/peak), the return moments accumulated with Welford's update."""
    n = close.shape[0]
    cash = cash0
    pos = 0.0
    pprice = 0.0
    adjbase = 0.0
    pending = False
    forced = False
    o_size = 0.0
    o_price = 0.0
    fills = 0
    rejected = 0
    margin_calls = 0
    bankrupt = -1
    short_refused = 0
    prev = cash0
    peak = cash0
    min_ratio = 1.0
    mean = 0.0
    m2 = 0.0
    for t in range(n):
        if pending:
            pending = False
            # checksubmit: pseudo-execution at the creation price with the current cash
            # (skipped for a forced liquidation, as backtrader's submit(check=False))
            c = cash
            if not forced:
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
                # execution at the open, slipped against the order
                p = _slipped(open_[t], o_size > 0.0, high[t], low[t], capped, slip_perc,
                             slip_fixed)
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
            forced = False
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
        # per-bar return: -1 on the bar the account reaches zero, 0 once it is gone
        if prev <= 0.0:
            r = 0.0
        elif value <= 0.0:
            r = -1.0
        else:
            r = value / prev - 1.0
        delta = r - mean
        mean += delta / (t + 1)
        m2 += delta * (r - mean)
        if value > peak:
            peak = value
        elif value < peak * min_ratio:  # a new deepest drawdown (divides only then)
            min_ratio = value / peak if value > 0.0 else 0.0
        prev = value
        if bankrupt >= 0:
            continue  # the account is closed: no more orders
        if value <= 0.0:
            bankrupt = t
            if pos != 0.0:
                pending = True
                forced = True
                o_size = -pos
                o_price = px
            continue
        if pos != 0.0 and maintenance_margin > 0.0:
            need = abs(pos) * (px * mult if stocklike else margin) * maintenance_margin
            if value < need:
                margin_calls += 1
                pending = True
                forced = True
                o_size = -pos
                o_price = px
                continue
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
                if want < 0.0 and stocklike and value < units * px * initial_margin:
                    want = 0.0  # a short needs initial_margin x its value in equity
                    short_refused += 1
                size = want * units - pos
                if size != 0.0:
                    pending = True
                    o_size = size
                    o_price = px
    state[0] = margin_calls
    state[1] = bankrupt
    state[2] = short_refused
    return cash, fills, rejected, mean, m2, min_ratio


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
    slip_perc: float,
    slip_fixed: float,
    initial_margin: float,
    maintenance_margin: float,
    equity: np.ndarray,
    fill_bar: np.ndarray,
    fill_size: np.ndarray,
    fill_price: np.ndarray,
    fill_comm: np.ndarray,
):
    """:func:`simulate_bars` without high/low: slippage is not capped at the bar's range
    (for callers that step a policy through open/close only)."""
    state = np.zeros(3, dtype=np.int64)
    return simulate_bars(
        open_, open_, open_, close, signal, False, cash0, fixed, stake, fraction, stocklike,
        commission, mult, margin, allow_short, slip_perc, slip_fixed, initial_margin,
        maintenance_margin, equity, fill_bar, fill_size, fill_price, fill_comm, state,
    )


@njit(cache=True)
def sharpe_from_moments(mean: float, m2: float, n: int, periods: float) -> float:
    """Annualized Sharpe (rf = 0, ddof = 1) from the mean and the sum of squared deviations
    (Welford); constant returns give +-inf or NaN (see
    :data:`research_lab.core.metrics.fast.ZERO_STD_REL`)."""
    if n < 2:
        return _NAN
    std = math.sqrt(max(m2, 0.0) / (n - 1))
    if std <= ZERO_STD_REL * abs(mean):
        if mean == 0.0:
            return _NAN
        return math.inf if mean > 0.0 else -math.inf
    return mean / std * math.sqrt(periods)


@njit(cache=True)
def sweep_kernel(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
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
    slip_perc: float,
    slip_fixed: float,
    initial_margin: float,
    maintenance_margin: float,
    periods: float,
    out: np.ndarray,
) -> None:
    """One row of ``out`` per combination k (rule lines ``ia[k], ib[k], ic[k]``):
    final value, final cash, Sharpe, max drawdown, fills, rejected orders, margin calls,
    bankruptcy bar (-1: none)."""
    n = close.shape[0]
    sig = np.empty(n)
    equity = np.empty(n)
    fill_bar = np.empty(n, dtype=np.int64)
    fill_size = np.empty(n)
    fill_price = np.empty(n)
    fill_comm = np.empty(n)
    state = np.zeros(3, dtype=np.int64)
    for k in range(ia.shape[0]):
        rule_signal(kind, lines[ia[k]], lines[ib[k]], lines[ic[k]], sig)
        cash, fills, rejected, mean, m2, min_ratio = simulate_bars(
            open_, high, low, close, sig, True, cash0, fixed, stake, fraction, stocklike,
            commission, mult, margin, allow_short, slip_perc, slip_fixed, initial_margin,
            maintenance_margin, equity, fill_bar, fill_size, fill_price, fill_comm, state,
        )
        out[k, 0] = equity[n - 1]
        out[k, 1] = cash
        out[k, 2] = sharpe_from_moments(mean, m2, n, periods)
        out[k, 3] = min_ratio - 1.0
        out[k, 4] = fills
        out[k, 5] = rejected
        out[k, 6] = state[0]
        out[k, 7] = state[1]
