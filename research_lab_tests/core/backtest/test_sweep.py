"""The sweep: many parameter sets per compiled call, equal to one backtest per set."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from research_lab.core.backtest import ParameterError, fastmetrics, run_backtest, sweep

GRIDS = {
    "sma_cross": {"fast": [5, 10, 20], "slow": [20, 30, 60]},
    "rsi_reversion": {"period": [7, 14], "lower": [25, 35], "upper": [60, 75]},
    "donchian_breakout": {"period": [20, 55], "exit_period": [10, 20]},
    "macd": {"cross": ["signal", "zero"], "signal": [5, 9]},
}
BROKER = dict(sizing="percent", percent=80, commission=0.001, allow_short=True)


@pytest.mark.parametrize("strategy", sorted(GRIDS))
def test_sweep_equals_one_backtest_per_combination(synthetic_bars, strategy):
    table = sweep(synthetic_bars, strategy, GRIDS[strategy], **BROKER)
    assert len(table) >= 4
    for row in table.to_dict(orient="records"):
        params = {k: row[k] for k in GRIDS[strategy]}
        r = run_backtest(synthetic_bars, strategy, params, **BROKER)
        assert row["final_value"] == r.final_value
        assert row["final_cash"] == r.final_cash
        assert row["fills"] == len(r.orders) and row["rejected"] == r.rejected_orders
        assert row["margin_calls"] == r.margin_calls
        assert row["bankrupt"] == (r.bankrupt_session is not None)
        s = r.summary()
        assert row["total_return"] == pytest.approx(s["total_return"], rel=1e-12)
        assert row["sharpe"] == pytest.approx(s["sharpe"], rel=1e-9)
        assert row["max_drawdown"] == pytest.approx(s["max_drawdown"], rel=1e-12)
    assert table["final_value"].nunique() > 1


def test_sweep_drops_constraint_violations_unless_asked(synthetic_bars):
    grid = {"fast": range(5, 55, 5), "slow": range(20, 220, 20)}
    table = sweep(synthetic_bars, "sma_cross", grid)
    assert len(table) == 90 and (table["fast"] < table["slow"]).all()
    assert len(sweep(synthetic_bars, "sma_cross", grid, constraints=False)) == 100
    empty = sweep(synthetic_bars, "sma_cross", {"fast": [50], "slow": [20]})
    assert empty.empty and list(empty.columns) == list(table.columns)
    assert list(table.columns) == [
        "fast", "slow", "final_value", "final_cash", "total_return", "sharpe",
        "max_drawdown", "fills", "rejected", "margin_calls", "bankrupt",
    ]


def test_sweep_default_grid_is_the_whole_space(synthetic_bars):
    table = sweep(synthetic_bars.iloc[:300], "close_sma_cross")
    assert table["period"].tolist() == list(range(2, 251))
    flat = table[table["fills"] == 0]
    assert (flat["final_value"] == 10_000.0).all() and flat["sharpe"].isna().all()


def test_sweep_through_backtrader_gives_the_same_table(synthetic_bars):
    grid = {"fast": [5, 10], "slow": [30]}
    fast = sweep(synthetic_bars, "sma_cross", grid, **BROKER)
    ref = sweep(synthetic_bars, "sma_cross", grid, engine="backtrader", **BROKER)
    assert list(ref.columns) == list(fast.columns)
    np.testing.assert_allclose(ref.drop(columns=["fast", "slow"]).to_numpy(dtype=float),
                               fast.drop(columns=["fast", "slow"]).to_numpy(dtype=float),
                               rtol=1e-9)


def test_sweep_rejects_bad_values(synthetic_bars):
    with pytest.raises(ParameterError, match="slow=1000 is invalid"):
        sweep(synthetic_bars, "sma_cross", {"slow": [30, 1000]})
    with pytest.raises(ParameterError, match="sizing='kelly'"):
        sweep(synthetic_bars, "sma_cross", {"slow": [30]}, sizing="kelly")
    with pytest.raises(ParameterError, match="unknown setting.*comission; valid: cash, sizing"):
        sweep(synthetic_bars, "sma_cross", {"slow": [30]}, comission=0.001)


def test_kernel_sharpe_matches_numpy_on_a_long_series(dataset):
    bars = dataset("ORCL", full=True)
    table = sweep(bars, "ema_cross", {"fast": [5, 12], "slow": [26, 100]})
    for row in table.to_dict(orient="records"):
        r = run_backtest(bars, "ema_cross", {"fast": row["fast"], "slow": row["slow"]})
        assert row["sharpe"] == pytest.approx(
            fastmetrics.sharpe(r.returns.to_numpy()), rel=1e-9
        )


def test_importing_the_package_loads_neither_numba_nor_backtrader():
    code = (
        "import sys, research_lab.core.backtest as b; "
        "print(sorted(m for m in ('numba', 'backtrader', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("c", [0.001, 0.0003, -0.0007, 0.0])
def test_constant_returns_sharpe_is_inf_or_nan_in_every_path(c):
    """Before: the kernel gave ~-4.8e8 for -0.0007, numpy and quantstats ~1e16."""
    import math

    import pandas as pd

    from research_lab.core.backtest.kernels import sharpe_from_moments
    from research_lab.core.metrics import fast_metrics, performance_report

    r = np.full(1000, c)
    expected = math.nan if c == 0 else math.copysign(math.inf, c)
    # the kernel's Welford moments of a constant series: mean c, m2 ~ 0 (float rounding)
    values = [
        sharpe_from_moments(c, 1e-35 if c else 0.0, 1000, 252.0),  # all-zero: m2 exactly 0
        fastmetrics.sharpe(r),
        fast_metrics(r)["sharpe_ratio"],
        performance_report(pd.Series(r, index=pd.bdate_range("2020-01-01", periods=1000)))[
            "sharpe_ratio"],
    ]
    for v in values:
        assert (math.isnan(v) and math.isnan(expected)) or v == expected, values
    # an equity curve growing 0.1 % a bar: returns equal up to rounding (std ~1e-16)
    equity = 10_000 * 1.001 ** np.arange(1, 1001)
    assert fastmetrics.sharpe(fastmetrics.returns_from_equity(equity, 10_000)) == math.inf
