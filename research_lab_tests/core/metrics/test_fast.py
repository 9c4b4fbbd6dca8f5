"""The numpy hot path equals the full report to 1e-9 and stays far below a backtest's 1 ms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import (
    fast_metrics,
    fast_metrics_from_equity,
    performance_report,
    returns_from_equity,
)
from research_lab.core.metrics import fast


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_fast_equals_full_report(any_returns: pd.Series, rf: float) -> None:
    report = performance_report(any_returns, rf=rf)
    quick = fast_metrics(any_returns.to_numpy(), rf=rf)
    assert list(quick) == list(fast.NAMES)
    for name, value in quick.items():
        assert close(value, report[name]), (name, value, report[name])


def test_single_metric_functions_equal_fast_metrics(any_returns: pd.Series) -> None:
    a = any_returns.to_numpy()
    quick = fast_metrics(a, rf=0.02)
    assert close(fast.total_return(a), quick["total_return"])
    assert close(fast.cagr(a), quick["cagr"])
    assert close(fast.volatility(a), quick["volatility"])
    assert close(fast.sharpe_ratio(a, rf=0.02), quick["sharpe_ratio"])
    assert close(fast.sortino_ratio(a, rf=0.02), quick["sortino_ratio"])
    assert close(fast.max_drawdown(a), quick["max_drawdown"])


def test_from_equity_equals_report_from_equity(orcl_close: pd.Series) -> None:
    equity = 100_000 * orcl_close / orcl_close.iloc[0]
    quick = fast_metrics_from_equity(equity.to_numpy())
    report = performance_report(returns_from_equity(equity))
    for name, value in quick.items():
        assert close(value, report[name]), name


def test_edge_cases_match_the_report() -> None:
    idx = pd.bdate_range("2024-01-01", periods=6)
    cases = {
        "flat": [0.0] * 6,
        "only gains": [0.01, 0.02, 0.0, 0.01, 0.03, 0.01],
        "first-day loss": [-0.2, 0.1, 0.05, -0.01, 0.02, 0.0],
        "wiped out": [0.1, -1.0, 0.0, 0.0, 0.0, 0.0],
    }
    for name, values in cases.items():
        report = performance_report(pd.Series(values, index=idx))
        for metric, value in fast_metrics(np.array(values)).items():
            assert close(value, report[metric]), (name, metric, value, report[metric])
    with pytest.raises(ValueError, match="at least 2"):
        fast_metrics(np.array([0.01]))


