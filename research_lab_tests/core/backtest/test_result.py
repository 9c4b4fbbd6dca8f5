"""The result object: fields, trades rebuilt from fills, JSON, and the fast metrics."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest import BacktestResult, fastmetrics, run_backtest
from research_lab.core.backtest.result import TRADE_COLUMNS, trades_from_orders


def test_result_fields(synthetic_bars):
    r = run_backtest(synthetic_bars, "sma_cross", {"fast": 5, "slow": 20}, cash=5_000.0,
                     commission=0.001, allow_short=True)
    assert isinstance(r, BacktestResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.final_value = 0.0  # type: ignore[misc]
    assert r.params == {"fast": 5, "slow": 20}
    assert r.broker["cash"] == 5_000.0 and r.broker["allow_short"] is True
    assert list(r.orders.columns) == ["date", "side", "size", "price", "commission"]
    sessions = pd.DatetimeIndex(synthetic_bars["session"])
    assert r.equity.index.equals(sessions) and r.returns.index.equals(sessions)
    assert r.final_value == r.equity.iloc[-1]
    assert r.returns.iloc[0] == r.equity.iloc[0] / 5_000.0 - 1.0
    np.testing.assert_allclose((1 + r.returns).prod() * 5_000.0, r.final_value, rtol=1e-9)
    # fills happen at the open of the session after the signal
    opens = synthetic_bars.set_index("session")["open"]
    np.testing.assert_array_equal(r.orders["price"], opens.loc[r.orders["date"]].to_numpy())
    signed = r.orders["size"].where(r.orders["side"] == "buy", -r.orders["size"]).sum()
    assert r.final_position == signed
    # value = cash + position marked at the last close
    assert r.final_value == pytest.approx(
        r.final_cash + r.final_position * synthetic_bars["close"].iloc[-1], rel=1e-12
    )
    # trades: reversals close one trade and open the next; net pnl adds up
    assert list(r.trades.columns) == list(TRADE_COLUMNS)
    assert set(r.trades["side"]) == {"long", "short"}
    open_pnl = r.final_position * (synthetic_bars["close"].iloc[-1] - r.orders["price"].iloc[-1])
    open_comm = r.orders["commission"].iloc[-1] * (
        abs(r.final_position) / r.orders["size"].iloc[-1]
    )
    assert r.trades["pnl"].sum() + open_pnl - open_comm == pytest.approx(
        r.final_value - 5_000.0, rel=1e-9
    )


def test_trades_from_orders_by_hand():
    sessions = pd.bdate_range("2024-01-01", periods=10)
    orders = pd.DataFrame(
        {
            "date": sessions[[1, 4, 8]],
            "side": ["buy", "sell", "buy"],
            "size": [1.0, 2.0, 1.0],
            "price": [10.0, 12.0, 11.0],
            "commission": [0.1, 0.2, 0.1],
        }
    )
    trades = trades_from_orders(orders, sessions)
    assert trades[["side", "size", "entry_price", "exit_price", "bars"]].values.tolist() == [
        ["long", 1.0, 10.0, 12.0, 3],
        ["short", 1.0, 12.0, 11.0, 4],
    ]
    np.testing.assert_allclose(trades["pnl_gross"], [2.0, 1.0])
    np.testing.assert_allclose(trades["commission"], [0.2, 0.2])
    np.testing.assert_allclose(trades["pnl"], [1.8, 0.8])
    np.testing.assert_allclose(trades["return"], [1.8 / 10.0, 0.8 / 12.0])
    futures = trades_from_orders(orders, sessions, mult=10.0, margin=500.0)
    np.testing.assert_allclose(futures["pnl"], [19.8, 9.8])
    np.testing.assert_allclose(futures["return"], [19.8 / 500.0, 9.8 / 500.0])


def test_to_dict_is_plain_json(synthetic_bars):
    r = run_backtest(synthetic_bars, "bollinger", commission=0.001)
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["strategy"] == "bollinger" and back["engine"] == "fast"
    assert back["params"] == {"period": 20, "devfactor": 2.0}
    assert back["final_value"] == r.final_value
    assert len(back["orders"]) == len(r.orders) and len(back["trades"]) == len(r.trades)
    assert back["orders"][0]["date"] == r.orders["date"].iloc[0].date().isoformat()
    assert back["equity"]["date"][0] == "2010-01-04"
    assert len(back["equity"]["value"]) == len(back["returns"]) == len(synthetic_bars)
    assert set(back["summary"]) == {"total_return", "sharpe", "max_drawdown"}


def test_fastmetrics_definitions():
    equity = np.array([100.0, 110.0, 99.0, 120.0, 60.0, 90.0])
    r = fastmetrics.returns_from_equity(equity, 100.0)
    np.testing.assert_allclose(r, [0.0, 0.1, -0.1, 120 / 99 - 1, -0.5, 0.5])
    assert fastmetrics.total_return(equity, 100.0) == pytest.approx(-0.1)
    assert fastmetrics.max_drawdown(equity, 100.0) == pytest.approx(-0.5)
    assert fastmetrics.max_drawdown(np.array([100.0, 101.0]), 100.0) == 0.0
    assert fastmetrics.max_drawdown(np.array([90.0, 95.0]), 100.0) == pytest.approx(-0.1)
    expected = np.mean(r) / np.std(r, ddof=1) * math.sqrt(252)
    assert fastmetrics.sharpe(r) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(fastmetrics.sharpe(np.zeros(10)))
    assert fastmetrics.sharpe(np.full(10, 0.25)) == math.inf
