"""What the engines accept as bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest import ParameterError, prices_from_bars, run_backtest


def test_prices_keep_values_unrounded(synthetic_bars):
    bars = synthetic_bars.copy()
    bars.loc[5, ["open", "close"]] = [50.123456789, 50.987654321]
    bars.loc[5, "high"] = 51.5
    prices = prices_from_bars(bars)
    assert prices.open[5] == 50.123456789 and prices.close[5] == 50.987654321
    assert prices.symbol == "SYN" and len(prices) == len(bars)
    head = prices.head(10)
    assert len(head) == 10 and head.sessions.equals(prices.sessions[:10])
    assert prices_from_bars(prices) is prices


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b.drop(columns=["open"]), "missing column"),
        (lambda b: pd.concat([b, b.assign(symbol="XYZ")]), "one symbol per backtest"),
        (lambda b: b.iloc[::-1], "strictly increasing"),
        (lambda b: b.assign(close=b["close"].where(b.index != 3, 0.0)), "close must be finite and > 0"),
        (lambda b: b.assign(high=b["high"].where(b.index != 3, np.nan)), "high must be finite"),
        (lambda b: b.iloc[:1], "at least 2 bars"),
        (lambda b: b["close"], "must be a DataFrame"),
    ],
)
def test_bad_bars_are_refused(synthetic_bars, change, expected):
    with pytest.raises(ParameterError, match=expected):
        run_backtest(change(synthetic_bars), "sma_cross")


def test_a_run_without_signals_keeps_the_cash(synthetic_bars):
    r = run_backtest(synthetic_bars.iloc[:100], "close_sma_cross", {"period": 150})
    assert r.orders.empty and r.trades.empty and r.rejected_orders == 0
    assert (r.equity == 10_000.0).all() and r.final_cash == 10_000.0
    assert np.isnan(r.summary()["sharpe"])
