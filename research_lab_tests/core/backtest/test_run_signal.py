"""``run_signal``: a precomputed signal runs through both engines exactly like a strategy's.

An arbitrary signal (random +1 / -1 / 0 / NaN, as a learned policy might emit) must give the
same fills, rejections and equity in the fast engine and in backtrader, under every broker
scheme; and a strategy's own signal passed in must reproduce ``run_backtest``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest import run_backtest, strategy_signal
from research_lab.core.backtest.api import run_signal
from research_lab.core.backtest.params import ParameterError

from .helpers import assert_same_run

BROKERS = {
    "stake": {},
    "percent_commission_short": dict(sizing="percent", percent=95, commission=0.001,
                                     allow_short=True),
    "futures": dict(sizing="percent", percent=50, commission=2.0, mult=10.0, margin=1000.0,
                    allow_short=True),
    "all_in": dict(sizing="percent", percent=100, commission=0.001),
}


def _random_signal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.choice([-1.0, 0.0, 1.0, np.nan], size=n, p=[0.1, 0.1, 0.1, 0.7])
    return values


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_engines_agree_on_an_arbitrary_signal(synthetic_bars, broker):
    bars = synthetic_bars.iloc[:600]
    signal = _random_signal(len(bars), seed=3)
    fast = run_signal(bars, signal, **BROKERS[broker])
    ref = run_signal(bars, signal, engine="backtrader", **BROKERS[broker])
    assert len(fast.orders) >= 10, "the case must trade to mean anything"
    if broker == "all_in":
        assert fast.rejected_orders > 0, "the margin-rejection path must be exercised"
    assert (fast.engine, ref.engine) == ("fast", "backtrader")
    assert_same_run(fast, ref)


def test_a_strategy_signal_reproduces_run_backtest(synthetic_bars):
    params = {"fast": 10, "slow": 30}
    broker = BROKERS["percent_commission_short"]
    signal = strategy_signal(synthetic_bars, "sma_cross", params)
    via_signal = run_signal(synthetic_bars, signal, name="sma_cross", params=params, **broker)
    direct = run_backtest(synthetic_bars, "sma_cross", params, **broker)
    assert via_signal.strategy == "sma_cross" and via_signal.params == params
    np.testing.assert_array_equal(via_signal.equity.to_numpy(), direct.equity.to_numpy())
    pd.testing.assert_frame_equal(via_signal.orders, direct.orders)


def test_a_series_is_aligned_by_session_and_missing_sessions_hold(synthetic_bars):
    bars = synthetic_bars.iloc[:50]
    sessions = pd.DatetimeIndex(bars["session"])
    partial = pd.Series([1.0, 0.0], index=[sessions[5], sessions[20]])
    result = run_signal(bars, partial)
    assert list(result.orders["date"]) == [sessions[6], sessions[21]]
    assert list(result.orders["side"]) == ["buy", "sell"]


@pytest.mark.parametrize(
    ("signal", "broker", "message"),
    [
        (np.full(10, 2.0), {}, "bar 0"),
        (np.zeros(9), {}, "one per bar"),
        (np.zeros(10), {"slippage": 0.1}, "unknown setting(s) slippage"),
        (np.zeros(10), {"engine": "vectorbt"}, "unknown engine"),
    ],
)
def test_bad_input_names_the_problem(synthetic_bars, signal, broker, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_signal(synthetic_bars.iloc[:10], signal, **broker)


def test_a_session_outside_the_bars_is_an_error(synthetic_bars):
    bars = synthetic_bars.iloc[:10]
    late = pd.Series([1.0], index=[pd.Timestamp("2030-01-02")])
    with pytest.raises(ParameterError, match="not in the bars, first 2030-01-02"):
        run_signal(bars, late)
