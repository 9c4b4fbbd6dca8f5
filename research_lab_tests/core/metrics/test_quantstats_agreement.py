"""Every metric quantstats provides equals quantstats' own value for the same input, to 1e-9.

Metric by metric, on the real ORCL close-to-close returns and on the seeded synthetic series;
the reference column calls quantstats directly on the raw test series, never through our code.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import pytest

from research_lab.core.metrics import performance_metrics, performance_report, risk_metrics
from research_lab.core.metrics.performance import NAMES as PERFORMANCE_NAMES
from research_lab.core.metrics.risk import NAMES as RISK_NAMES

Reference = Callable[[object, pd.Series], float]


def _duration(qs, r: pd.Series) -> float:
    return qs.drawdown_details(qs.to_drawdown_series(r))["days"].max()


REFERENCES: dict[str, Reference] = {
    "total_return": lambda qs, r: qs.comp(r),
    "cagr": lambda qs, r: qs.cagr(r),
    "avg_return": lambda qs, r: qs.avg_return(r),
    "expected_return": lambda qs, r: qs.expected_return(r),
    "avg_win": lambda qs, r: qs.avg_win(r),
    "avg_loss": lambda qs, r: qs.avg_loss(r),
    "volatility": lambda qs, r: qs.volatility(r),
    "sharpe_ratio": lambda qs, r: qs.sharpe(r),
    "sortino_ratio": lambda qs, r: qs.sortino(r),
    "smart_sharpe_ratio": lambda qs, r: qs.smart_sharpe(r),
    "smart_sortino_ratio": lambda qs, r: qs.smart_sortino(r),
    "calmar_ratio": lambda qs, r: qs.calmar(r),
    "omega_ratio": lambda qs, r: qs.omega(r),
    "probabilistic_sharpe_ratio": lambda qs, r: qs.probabilistic_sharpe_ratio(r),
    "best_day": lambda qs, r: qs.best(r),
    "worst_day": lambda qs, r: qs.worst(r),
    "win_rate": lambda qs, r: qs.win_rate(r),
    "payoff_ratio": lambda qs, r: qs.payoff_ratio(r),
    "profit_factor": lambda qs, r: qs.profit_factor(r),
    "gain_to_pain_ratio": lambda qs, r: qs.gain_to_pain_ratio(r),
    "kelly_criterion": lambda qs, r: qs.kelly_criterion(r),
    "max_consecutive_wins": lambda qs, r: qs.consecutive_wins(r),
    "max_consecutive_losses": lambda qs, r: qs.consecutive_losses(r),
    "time_in_market": lambda qs, r: qs.exposure(r),
    "max_drawdown": lambda qs, r: qs.max_drawdown(r),
    "max_drawdown_duration_days": _duration,
    "ulcer_index": lambda qs, r: qs.ulcer_index(r),
    "value_at_risk": lambda qs, r: qs.value_at_risk(r),
    "cvar": lambda qs, r: qs.cvar(r),
    "tail_ratio": lambda qs, r: qs.tail_ratio(r),
    "skew": lambda qs, r: qs.skew(r),
    "kurtosis": lambda qs, r: qs.kurtosis(r),
}

# with a risk-free rate, the three metrics that subtract it
RF_REFERENCES: dict[str, Reference] = {
    "sharpe_ratio": lambda qs, r: qs.sharpe(r, rf=0.04),
    "sortino_ratio": lambda qs, r: qs.sortino(r, rf=0.04),
    "omega_ratio": lambda qs, r: qs.omega(r, rf=0.04),
    "smart_sharpe_ratio": lambda qs, r: qs.smart_sharpe(r, rf=0.04),
    "cagr": lambda qs, r: qs.cagr(r, rf=0.04),  # quantstats ignores rf in CAGR
}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def ours(any_returns: pd.Series) -> dict[str, float]:
    return {**performance_metrics(any_returns), **risk_metrics(any_returns)}


def test_reference_table_covers_every_quantstats_metric() -> None:
    assert set(REFERENCES) == set(PERFORMANCE_NAMES) | set(RISK_NAMES)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_metric_equals_quantstats(name: str, ours: dict[str, float], any_returns, qs) -> None:
    expected = float(REFERENCES[name](qs, any_returns.copy()))
    assert math.isfinite(ours[name]), name
    assert close(ours[name], expected), (name, ours[name], expected)


@pytest.mark.parametrize("name", list(RF_REFERENCES))
def test_risk_free_rate_is_applied_as_quantstats_does(name, orcl_returns, qs) -> None:
    ours = performance_metrics(orcl_returns, rf=0.04)
    expected = float(RF_REFERENCES[name](qs, orcl_returns.copy()))
    assert close(ours[name], expected), (name, ours[name], expected)
    if name != "cagr":
        assert ours[name] < performance_metrics(orcl_returns)[name]


def test_report_carries_the_same_values(orcl_returns, qs) -> None:
    report = performance_report(orcl_returns)
    for name, reference in REFERENCES.items():
        assert close(report[name], float(reference(qs, orcl_returns.copy()))), name


def test_orcl_values_are_the_known_ones(orcl_returns) -> None:
    """Pinned figures (ORCL 1995-2014), so that a quantstats upgrade that moves them shows up."""
    report = performance_report(orcl_returns)
    assert report["total_return"] == pytest.approx(20.2394751955807, rel=1e-12)
    assert report["sharpe_ratio"] == pytest.approx(0.5614500698938754, rel=1e-12)
    assert report["max_drawdown"] == pytest.approx(-0.8419433198380568, rel=1e-12)
    assert report["max_drawdown_duration_days"] == 5231.0  # 2000-09-05 .. end, never recovered
    assert report["time_in_market"] == 0.99  # quantstats rounds up to the next percent
