"""A fast strategy: a numba signal function over the bars' arrays, and its parameters.

Runs on the fast engine (and on backtrader, for comparison: ``research-lab strategy check
close_breakout``)."""

import numba
import numpy as np

from research_lab.core.strategies import FastStrategy, Int


@numba.njit
def breakout_signal(close, period, exit_period):
    out = np.full(close.shape[0], np.nan)
    for t in range(max(period, exit_period), close.shape[0]):
        if close[t] > close[t - period:t].max():
            out[t] = 1.0
        elif close[t] < close[t - exit_period:t].min():
            out[t] = -1.0
    return out


class CloseBreakout(FastStrategy):
    name = "close_breakout"
    description = ("long when the close tops the previous `period` closes, out (or short) "
                   "when it breaks the lowest of the previous `exit_period`")
    params = {"period": Int(20, 2, 250), "exit_period": Int(10, 2, 250)}
    constraints = ("exit_period <= period",)

    def signal(self, bars, p):
        return breakout_signal(bars.close, p["period"], p["exit_period"])
