"""The documented definitions, checked against hand computations (no quantstats in the check).

These pin the conventions a reader relies on: bar-count CAGR, Sortino's downside over all bars,
flat days left out of win rate and average return, the 1.0 start before the first bar in
drawdowns, calendar-day drawdown duration, the rounding of time in market.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import clean_returns, performance_report


def series(values: list[float], start: str = "2024-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"))


def test_hand_computed_return_metrics(synthetic_returns: pd.Series) -> None:
    r = synthetic_returns
    v = r.to_numpy()
    n = v.size
    report = performance_report(r)
    total = np.prod(1 + v) - 1
    assert report["total_return"] == pytest.approx(total, rel=1e-12)
    assert report["cagr"] == pytest.approx((1 + total) ** (252 / n) - 1, rel=1e-12)
    assert report["volatility"] == pytest.approx(v.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert report["sharpe_ratio"] == pytest.approx(
        v.mean() / v.std(ddof=1) * math.sqrt(252), rel=1e-12
    )
    downside = math.sqrt((v[v < 0] ** 2).sum() / n)
    assert report["sortino_ratio"] == pytest.approx(v.mean() / downside * math.sqrt(252), rel=1e-12)
    nonzero = v[v != 0]
    assert (v == 0).sum() > 100  # the synthetic series does have flat days
    assert report["avg_return"] == pytest.approx(nonzero.mean(), rel=1e-12)
    assert report["win_rate"] == pytest.approx((v > 0).sum() / nonzero.size, rel=1e-12)
    assert report["profit_factor"] == pytest.approx(v[v > 0].sum() / -v[v < 0].sum(), rel=1e-12)
    assert report["omega_ratio"] == pytest.approx(v[v > 0].sum() / -v[v < 0].sum(), rel=1e-12)
    assert report["best_day"] == v.max() and report["worst_day"] == v.min()
    assert report["time_in_market"] == math.ceil(nonzero.size / n * 100) / 100
    assert report["calmar_ratio"] == pytest.approx(
        report["cagr"] / abs(report["max_drawdown"]), rel=1e-12
    )


def test_cagr_counts_bars_not_calendar_years() -> None:
    """Same 252 returns on a daily and on a weekly calendar: quantstats 0.0.86 gives one CAGR."""
    values = list(np.full(252, 0.001))
    daily = performance_report(series(values, "2020-01-01"))["cagr"]
    weekly = pd.Series(values, index=pd.date_range("2020-01-01", periods=252, freq="W"))
    assert performance_report(weekly)["cagr"] == pytest.approx(daily, rel=1e-12)
    assert daily == pytest.approx(1.001**252 - 1, rel=1e-12)


def test_a_first_day_loss_is_a_drawdown() -> None:
    report = performance_report(series([-0.10, 0.05, 0.10, -0.02]))
    assert report["max_drawdown"] == pytest.approx(-0.10, abs=1e-12)


def test_drawdown_depth_and_duration_by_hand() -> None:
    # equity: 1.01, 0.9898, 0.99970, 1.01469 (new high), 1.00455 (under water to the end)
    report = performance_report(series([0.01, -0.02, 0.01, 0.015, -0.01]))
    assert report["max_drawdown"] == pytest.approx(0.9898 / 1.01 - 1, rel=1e-12)
    # under water Jan 2 and Jan 3 (recovered Jan 4): 2 calendar days; Jan 5 alone: 1
    assert report["max_drawdown_duration_days"] == 2.0


def test_drawdown_duration_is_in_calendar_days() -> None:
    # a Friday loss recovered on Tuesday: under water Fri, (Sat, Sun,) Mon = 4 calendar days
    idx = pd.bdate_range("2024-01-01", periods=7)  # Mon 1 .. Tue 9
    r = pd.Series([0.01, 0.01, 0.01, 0.01, -0.02, 0.001, 0.05], index=idx)
    assert performance_report(r)["max_drawdown_duration_days"] == 4.0


def test_flat_strategy_gives_a_full_report_without_errors() -> None:
    flat = pd.Series(0.0, index=pd.bdate_range("2020-01-01", periods=300))
    report = performance_report(flat)
    assert report["total_return"] == 0.0 and report["max_drawdown"] == 0.0
    assert report["max_drawdown_duration_days"] == 0.0
    assert report["time_in_market"] == 0.0
    assert math.isnan(report["sharpe_ratio"]) and math.isnan(report["sortino_ratio"])


def test_clean_returns_drops_a_leading_nan_only() -> None:
    equity = series([100.0, 101.0, 99.0, 102.0])
    r = clean_returns(equity.pct_change())
    assert len(r) == 3 and r.index[0] == pd.Timestamp("2024-01-02")
    with pytest.raises(ValueError, match="NaN or inf inside"):
        clean_returns(series([0.01, float("nan"), 0.02]))
    with pytest.raises(ValueError, match="NaN or inf inside"):
        clean_returns(series([0.01, float("inf"), 0.02]))


def test_clean_returns_refuses_what_quantstats_would_read_as_prices() -> None:
    with pytest.raises(ValueError, match="read these as prices"):
        clean_returns(series([100.0, 101.0, 102.0]))


def test_clean_returns_needs_dates_and_normalizes_them() -> None:
    with pytest.raises(ValueError, match="date index"):
        clean_returns(pd.Series([0.01, 0.02], index=["a", "b"]))
    with pytest.raises(ValueError, match="duplicate dates"):
        clean_returns(pd.Series([0.01, 0.02], index=pd.to_datetime(["2024-01-02"] * 2)))
    with pytest.raises(TypeError, match="pandas Series"):
        clean_returns(np.array([0.01, 0.02]))  # type: ignore[arg-type]
    aware = pd.Series(
        [0.02, 0.01], index=pd.DatetimeIndex(["2024-01-03", "2024-01-02"], tz="America/New_York")
    )
    out = clean_returns(aware)
    assert out.index.tz is None and out.index.is_monotonic_increasing
    assert list(out) == [0.01, 0.02]
