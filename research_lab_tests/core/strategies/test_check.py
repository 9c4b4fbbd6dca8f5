"""The checks a researcher runs on their own strategy: look-ahead for any strategy (a peeking
one fails, naming the first bar where its orders differ) and engine parity for a fast one."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from research_lab.core.strategies import FastStrategy, Int, check_strategy, inspect


class PeekingFast(FastStrategy):
    """Long when tomorrow's close is higher: reads close[t + 1]."""

    name = "peeking_fast"
    params = {"period": Int(1, 1, 5)}

    def signal(self, bars, p):
        close = bars.close
        out = np.full(close.shape[0], np.nan)
        out[:-1] = np.where(close[1:] > close[:-1], 1.0, 0.0)
        return out


class PeekingBacktrader(bt.Strategy):
    """Buys before a rise it can see: reads self.data.close[1] while a later bar exists."""

    def next(self):
        if len(self.data) < self.data.buflen():
            rising = self.data.close[1] > self.data.close[0]
            if rising and not self.position:
                self.buy()
            elif not rising and self.position:
                self.close()


def test_the_builtins_and_examples_pass(year_bars, examples):
    bars = year_bars["ACME"]
    for name in ("sma_cross", "strategies.sma_crossover.SMACrossover",
                 "strategies.futures_commission.FuturesTrend",
                 "strategies.fast_breakout.CloseBreakout"):
        result = check_strategy(name, bars, cuts=4, paths=[str(examples)])
        assert result.ok, result.lines()
        assert result.outcomes[0].check == "look-ahead"
    assert [o.check for o in result.outcomes] == ["look-ahead", "parity"]  # fast: both


def test_a_peeking_fast_strategy_fails_with_the_first_differing_bar(year_bars):
    bars = year_bars["ACME"]
    result = check_strategy(inspect(PeekingFast), bars, cuts=4)
    assert not result.ok
    look = result.outcomes[0]
    assert not look.ok and "signal differs at bar" in look.detail
    # the first cut is at bar len // 4 (63): without bar 64 the peek has nothing to read
    assert look.detail.startswith(f"signal differs at bar {len(bars) // 4} (")
    with pytest.raises(AssertionError, match="peeking_fast: FAIL look-ahead"):
        result.raise_for_failure()


def test_a_peeking_backtrader_strategy_fails(year_bars):
    result = check_strategy(inspect(PeekingBacktrader), year_bars["ACME"], cuts=4)
    assert not result.ok
    assert result.outcomes[0].detail.startswith(f"orders differ at bar {len(year_bars['ACME']) // 4} (")


def test_parity_of_a_fast_user_strategy(year_bars, examples):
    from research_lab.core.backtest import run_backtest

    name = f"{examples}/strategies/fast_breakout.py:CloseBreakout"
    broker = dict(sizing="percent", percent=90, commission=0.001, allow_short=True)
    fast = run_backtest(year_bars["ACME"], name, engine="fast", **broker)
    ref = run_backtest(year_bars["ACME"], name, engine="backtrader", **broker)
    assert len(fast.orders) >= 4
    pd.testing.assert_frame_equal(fast.orders, ref.orders, rtol=1e-9)
    assert fast.final_value == pytest.approx(ref.final_value, rel=1e-9)
