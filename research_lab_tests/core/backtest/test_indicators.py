"""Indicator lines are bit-identical to backtrader's own indicators."""

from __future__ import annotations

import math

import numpy as np
import pytest

from research_lab.core.backtest import indicators as ind
from research_lab.core.backtest import lines as L
from research_lab.core.backtest.lines import LineCache
from research_lab.core.backtest.prices import prices_from_bars

from .helpers import bt_lines


def _fsum_sma(x: np.ndarray, period: int) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i in range(period - 1, x.shape[0]):
        out[i] = math.fsum(x[i - period + 1 : i + 1]) / period
    return out


@pytest.mark.parametrize("period", [2, 15, 200])
def test_sma_is_fsum_over_period(period):
    rng = np.random.default_rng(period)
    x = np.exp(np.cumsum(rng.normal(0, 0.03, 3000))) * 37.0  # arbitrary 53-bit mantissas
    np.testing.assert_array_equal(ind.sma(x, period), _fsum_sma(x, period))


def test_sma_falls_back_to_partials_when_prefixes_overflow_106_bits():
    rng = np.random.default_rng(3)
    x = 2.0 ** rng.integers(-60, 60, 400).astype(float) * rng.random(400)
    _, _, exact = ind.prefix_sums(x)
    assert not exact  # this input needs the slow, always-exact path
    np.testing.assert_array_equal(ind.sma(x, 7), _fsum_sma(x, 7))


def test_lines_start_after_leading_nan():
    x = np.concatenate((np.full(5, np.nan), np.arange(1.0, 11.0)))
    np.testing.assert_array_equal(ind.sma(x, 3)[7:], np.arange(2.0, 10.0))
    assert np.isnan(ind.sma(x, 3)[:7]).all()
    ema = ind.smooth(x, 3, 0.5)
    assert np.isnan(ema[:7]).all() and ema[7] == 2.0 and ema[8] == 2.0 * 0.5 + 4.0 * 0.5


def _ours_and_theirs(bt):
    """(our line, backtrader's line built on a data feed) pairs, with their parameters."""
    return {
        "sma": (L.sma("close", 30), lambda d: bt.ind.SMA(d.close, period=30)),
        "sma_2": (L.sma("close", 2), lambda d: bt.ind.SMA(d.close, period=2)),
        "ema": (L.ema("close", 26), lambda d: bt.ind.EMA(d.close, period=26)),
        "rsi": (L.rsi("close", 14), lambda d: bt.ind.RSI_Safe(d.close, period=14)),
        "bollinger_top": (
            L.bollinger_top("close", 20, 2.0),
            lambda d: bt.ind.BollingerBands(d.close, period=20, devfactor=2.0).top,
        ),
        "bollinger_bot": (
            L.bollinger_bot("close", 25, 1.5),
            lambda d: bt.ind.BollingerBands(d.close, period=25, devfactor=1.5).bot,
        ),
        "macd": (L.macd("close", 12, 26), lambda d: bt.ind.MACD(d.close).macd),
        "macd_signal": (
            L.macd_signal("close", 5, 35, 5),
            lambda d: bt.ind.MACD(d.close, period_me1=5, period_me2=35, period_signal=5).signal,
        ),
        "highest_before": (
            L.highest_before("high", 20), lambda d: bt.ind.Highest(d.high, period=20)(-1)
        ),
        "lowest_before": (L.lowest_before("low", 10), lambda d: bt.ind.Lowest(d.low, period=10)(-1)),
        "roc": (L.roc("close", 20), lambda d: bt.ind.ROC(d.close, period=20)),
    }


@pytest.mark.parametrize("name", ["ORCL", "NVDA", "IDX2006", "SYN"])
def test_indicators_match_backtrader(dataset, name):
    import backtrader as bt

    bars = dataset(name)
    pairs = _ours_and_theirs(bt)
    theirs = bt_lines(bars, lambda d: {k: build(d) for k, (_, build) in pairs.items()})
    cache = LineCache(prices_from_bars(bars))
    for key, (line, _) in pairs.items():
        ours = cache.get(line)
        assert np.isfinite(ours).sum() > len(ours) // 2, key
        np.testing.assert_array_equal(ours, theirs[key], err_msg=f"{name} {key}")


def test_indicators_match_backtrader_on_a_full_long_series(dataset):
    """Prefix sums over 5,036 bars stay exact (the SMA is where rounding would creep in)."""
    import backtrader as bt

    bars = dataset("ORCL", full=True)
    theirs = bt_lines(bars, lambda d: {p: bt.ind.SMA(d.close, period=p) for p in (5, 50, 200)})
    cache = LineCache(prices_from_bars(bars))
    for p in (5, 50, 200):
        np.testing.assert_array_equal(cache.get(L.sma("close", p)), theirs[p])
