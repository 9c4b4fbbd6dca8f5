"""The report's shape: stable names, every group, NaN for what was not given, and a light import."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import (
    METRIC_DEFINITIONS,
    METRIC_NAMES,
    exposure_metrics,
    markdown_table,
    metrics_markdown,
    performance_report,
    trade_metrics,
)


def test_names_are_stable_snake_case_and_defined() -> None:
    assert len(METRIC_NAMES) == len(set(METRIC_NAMES)) == 50
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in METRIC_NAMES)
    assert all(METRIC_DEFINITIONS[name].strip() for name in METRIC_NAMES)
    for required in (
        "total_return", "cagr", "avg_return", "volatility", "sharpe_ratio", "sortino_ratio",
        "calmar_ratio", "omega_ratio", "max_drawdown", "max_drawdown_duration_days",
        "value_at_risk", "cvar", "tail_ratio", "skew", "kurtosis", "win_rate", "payoff_ratio",
        "profit_factor", "expectancy", "sqn", "num_trades", "avg_trade_pnl", "exposure",
        "turnover", "best_day", "worst_day", "alpha", "beta", "r_squared", "information_ratio",
        "tracking_error", "up_capture", "down_capture",
    ):  # fmt: skip
        assert required in METRIC_NAMES, required


def test_a_bare_returns_series_gives_at_least_30_metrics(any_returns: pd.Series) -> None:
    report = performance_report(any_returns)
    assert tuple(report) == METRIC_NAMES
    assert all(isinstance(v, float) for v in report.values())
    finite = [name for name, value in report.items() if math.isfinite(value)]
    assert len(finite) >= 30, finite
    assert all(math.isnan(report[n]) for n in ("num_trades", "exposure", "turnover", "alpha"))


def test_every_input_fills_its_group(orcl_close: pd.Series, yhoo_returns: pd.Series) -> None:
    equity = 100_000 * orcl_close / orcl_close.iloc[0]
    position = np.where(np.arange(len(equity)) % 3 == 0, 0.0, 100.0)
    traded = np.abs(np.diff(position, prepend=0.0)) * orcl_close.to_numpy()
    trades = pd.DataFrame(
        {
            "entry_date": pd.to_datetime(["2001-03-01", "2004-06-01", "2010-01-04"]),
            "exit_date": pd.to_datetime(["2001-04-02", "2004-06-10", "2010-03-01"]),
            "pnl": [120.0, -40.0, 15.0],
            "return": [0.012, -0.004, 0.0015],
        }
    )
    report = performance_report(
        equity.pct_change(),
        benchmark=yhoo_returns,
        trades=trades,
        position=position,
        traded_value=traded,
        equity=equity,
    )
    assert all(math.isfinite(v) for v in report.values()), [
        k for k, v in report.items() if not math.isfinite(v)
    ]
    assert {k: report[k] for k in trade_metrics(trades)} == trade_metrics(trades)
    assert report["exposure"] == exposure_metrics(position)["exposure"]
    assert report["turnover"] == exposure_metrics(traded_value=traded, equity=equity)["turnover"]


def test_markdown_tables_render_exactly() -> None:
    frame = pd.DataFrame(
        {"regime": ["bull", "bear|x"], "days": [3, 12], "sharpe": [1.23456, np.nan]}
    )
    assert markdown_table(frame).splitlines() == [
        "| regime  | days | sharpe |",
        "|:--------|-----:|-------:|",
        "| bull    |    3 |  1.235 |",
        "| bear\\|x |   12 |        |",
    ]
    text = metrics_markdown({"sharpe_ratio": 0.5, "max_drawdown": -0.25}, floatfmt=".2%")
    assert text.splitlines()[2:] == [
        "| sharpe_ratio |  50.00% |",
        "| max_drawdown | -25.00% |",
    ]


def test_importing_the_package_loads_neither_quantstats_nor_matplotlib() -> None:
    code = (
        "import sys, research_lab.core.metrics; "
        "print(sorted(m for m in ('quantstats', 'matplotlib', 'yfinance', 'scipy', 'dagster') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("bad", [pd.Series([0.01, 0.02], index=["x", "y"])])
def test_report_refuses_returns_without_dates(bad: pd.Series) -> None:
    with pytest.raises(ValueError, match="date index"):
        performance_report(bad)
