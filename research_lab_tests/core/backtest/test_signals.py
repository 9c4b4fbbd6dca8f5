"""Signal rules: backtrader's crossover tie rule, level rules, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest import STRATEGIES, strategy_signal, target_positions
from research_lab.core.backtest.kernels import rule_signal
from research_lab.core.backtest.prices import prices_from_bars
from research_lab.core.backtest.signals import ABOVE_BELOW, BELOW_ABOVE, CROSS

NAN = np.nan


def _signal(kind: int, a, b, c=None) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    c = b if c is None else np.asarray(c, float)
    out = np.empty(a.shape[0])
    rule_signal(kind, a, b, c, out)
    return out


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        # below -> equal -> above is a cross (the last non-zero difference was negative)
        ([-1, 0, 1, 2], [NAN, NAN, 1, NAN]),
        ([1, 0, 0, -1, -2], [NAN, NAN, NAN, -1, NAN]),
        # touching and going back is not a cross
        ([-1, 0, -1, 1], [NAN, NAN, NAN, 1]),
        # the first bar with both lines only seeds the memory, even when it is a tie
        ([0, 1, -1], [NAN, NAN, -1]),
        ([NAN, -1, 1], [NAN, NAN, 1]),
    ],
)
def test_cross_uses_the_last_non_zero_difference(a, expected):
    np.testing.assert_array_equal(_signal(CROSS, a, np.zeros(len(a))), expected)


def test_level_rules():
    a = [1.0, 5.0, 9.0, NAN, 5.0]
    np.testing.assert_array_equal(_signal(BELOW_ABOVE, a, [3] * 5, [7] * 5), [1, NAN, -1, NAN, NAN])
    np.testing.assert_array_equal(_signal(ABOVE_BELOW, a, [7] * 5, [3] * 5), [-1, NAN, 1, NAN, NAN])


def test_target_positions_carry_holds_and_map_shorts():
    s = pd.Series([NAN, 1, NAN, -1, NAN, 0])
    assert target_positions(s).tolist() == [0, 1, 1, 0, 0, 0]
    assert target_positions(s, allow_short=True).tolist() == [0, 1, 1, -1, -1, 0]


NON_DEFAULT = {
    "close_sma_cross": {"period": 40},
    "sma_cross": {"fast": 5, "slow": 60},
    "ema_cross": {"fast": 8, "slow": 21},
    "rsi_reversion": {"period": 7, "lower": 25, "upper": 60},
    "bollinger": {"period": 30, "devfactor": 1.5},
    "macd": {"fast": 8, "slow": 30, "signal": 5, "cross": "zero"},
    "donchian_breakout": {"period": 55, "exit_period": 20},
    "momentum": {"period": 60, "threshold": 0.05},
}


@pytest.mark.parametrize("name", ["ORCL", "SYN"])
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_no_look_ahead(dataset, name, strategy):
    """The signal at bar t from bars 0..t equals the signal at t from the whole history."""
    prices = prices_from_bars(dataset(name))
    for params in ({}, NON_DEFAULT[strategy]):
        full = strategy_signal(prices, strategy, params).to_numpy()
        assert (~np.isnan(full)).sum() >= 4, "the strategy must actually signal"
        for t in (0, 1, 59, 60, 61, 250, 777, len(prices) - 2):
            part = strategy_signal(prices.head(t + 1), strategy, params).to_numpy()
            np.testing.assert_array_equal(part, full[: t + 1], err_msg=f"{strategy} t={t}")


def test_signal_is_indexed_by_session(synthetic_bars):
    s = strategy_signal(synthetic_bars, "sma_cross", {"fast": 5, "slow": 20})
    assert s.index.equals(pd.DatetimeIndex(synthetic_bars["session"]))
    assert set(np.unique(s.dropna())) == {-1.0, 1.0}


def test_synthetic_data_crosses_through_exact_ties(synthetic_bars):
    """SYN makes the tie rule matter: a strict ``prev < 0 < now`` rule would signal on other
    bars (so the native-backtrader comparisons in test_parity cover crosses through ties)."""
    from research_lab.core.backtest import indicators as ind

    close = prices_from_bars(synthetic_bars).close
    fast, slow = ind.sma(close, 5), ind.sma(close, 20)
    d = fast - slow
    strict = np.full(d.shape[0], NAN)
    strict[1:][(d[:-1] < 0) & (d[1:] > 0)] = 1.0
    strict[1:][(d[:-1] > 0) & (d[1:] < 0)] = -1.0
    ours = strategy_signal(synthetic_bars, "sma_cross", {"fast": 5, "slow": 20}).to_numpy()
    assert (d == 0).sum() > 50
    differs = ~((ours == strict) | (np.isnan(ours) & np.isnan(strict)))
    assert differs.sum() >= 3
