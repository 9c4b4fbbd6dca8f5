"""Trade statistics, exposure and turnover: implemented here, checked by hand."""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import exposure_metrics, trade_metrics, trades_frame
from research_lab.core.metrics.trades import NAMES as TRADE_NAMES

PNL = [100.0, -50.0, 30.0, 0.0, -20.0]
RET = [0.10, -0.05, 0.03, 0.0, -0.02]
ENTRY = pd.to_datetime(["2024-01-02", "2024-01-10", "2024-02-01", "2024-03-01", "2024-03-04"])
EXIT = pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-02", "2024-03-01", "2024-03-08"])


@dataclass(frozen=True)
class ClosedTrade:  # the shape an engine might hand over: ``return`` is a keyword in Python
    entry_date: pd.Timestamp
    exit_date: pd.Timestamp
    pnl: float
    return_pct: float


def test_trade_metrics_by_hand() -> None:
    m = trade_metrics(pd.DataFrame({"pnl": PNL, "return": RET}))
    assert list(m) == list(TRADE_NAMES)
    assert m["num_trades"] == 5
    assert m["trade_win_rate"] == pytest.approx(2 / 5)  # the breakeven trade is not a win
    assert m["avg_trade_pnl"] == pytest.approx(60 / 5)
    # 0.4 * mean(0.10, 0.03) - 0.4 * |mean(-0.05, -0.02)| = 0.026 - 0.014
    assert m["expectancy"] == pytest.approx(0.012)
    assert m["expectancy"] == pytest.approx(np.mean(RET))
    assert m["trade_profit_factor"] == pytest.approx(130 / 70)
    assert m["trade_payoff_ratio"] == pytest.approx(65 / 35)
    assert m["sqn"] == pytest.approx(math.sqrt(5) * 12 / np.std(PNL, ddof=1))
    assert math.isnan(m["avg_holding_days"])  # no dates given


@pytest.mark.parametrize("shape", ["frame", "dicts", "dataclasses", "namedtuples"])
def test_trades_in_any_plain_shape(shape: str) -> None:
    rows = [
        {"entry_date": e, "exit_date": x, "pnl": p, "return_pct": r}
        for e, x, p, r in zip(ENTRY, EXIT, PNL, RET, strict=True)
    ]
    Row = namedtuple("Row", ["entry_time", "exit_time", "pl", "ret"])
    trades = {
        "frame": pd.DataFrame(rows),
        "dicts": rows,
        "dataclasses": [ClosedTrade(**row) for row in rows],
        "namedtuples": [Row(*row.values()) for row in rows],
    }[shape]
    m = trade_metrics(trades)
    assert m["num_trades"] == 5 and m["avg_trade_pnl"] == pytest.approx(12.0)
    assert m["expectancy"] == pytest.approx(0.012)
    assert m["avg_holding_days"] == pytest.approx((3 + 10 + 1 + 0 + 4) / 5)


def test_no_trades_and_one_sided_trades() -> None:
    empty = trade_metrics([])
    assert empty["num_trades"] == 0
    assert all(math.isnan(v) for k, v in empty.items() if k != "num_trades")
    winners = trade_metrics(pd.DataFrame({"pnl": [10.0, 5.0], "return": [0.01, 0.005]}))
    assert winners["trade_profit_factor"] == math.inf
    assert math.isnan(winners["trade_payoff_ratio"])
    single = trade_metrics([{"pnl": 10.0, "return": 0.01}])
    assert single["num_trades"] == 1 and math.isnan(single["sqn"])


def test_trades_without_pnl_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'pnl' field"):
        trades_frame([{"profit_loss": 1.0, "return": 0.01}])


def test_exposure_and_turnover_by_hand() -> None:
    position = [0, 0, 10, 10, 0, -5]
    traded = [0.0, 0.0, 1000.0, 0.0, -1000.0, 500.0]  # sign ignored: buys and sells both count
    equity = [1000.0] * 6
    m = exposure_metrics(position, traded, equity, periods=252)
    assert m["exposure"] == pytest.approx(3 / 6)
    assert m["turnover"] == pytest.approx(2500 / 1000 * 252 / 6)


def test_one_round_trip_a_year_is_turnover_two() -> None:
    traded = np.zeros(252)
    traded[10], traded[200] = 50_000.0, -50_000.0
    m = exposure_metrics(traded_value=traded, equity=np.full(252, 50_000.0))
    assert m["turnover"] == pytest.approx(2.0)
    assert math.isnan(m["exposure"])


def test_turnover_needs_equity() -> None:
    with pytest.raises(ValueError, match="needs the equity"):
        exposure_metrics(traded_value=[1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        exposure_metrics(position=[0.0, float("nan")])
