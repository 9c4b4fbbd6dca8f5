"""Benchmark metrics: quantstats where it has them, hand computations where it does not, and a
benchmark that is always a Series (a ticker string raises before anything can download)."""

from __future__ import annotations

import math
import socket

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import (
    align_benchmark,
    benchmark_metrics,
    performance_report,
    write_tearsheet,
)
from research_lab.core.metrics.benchmark import NAMES as BENCHMARK_NAMES


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def paired(orcl_returns, yhoo_returns) -> tuple[pd.Series, pd.Series]:
    """ORCL and YHOO on the dates both have (YHOO starts in April 1996)."""
    common = orcl_returns.index.intersection(yhoo_returns.index)
    return orcl_returns.loc[common], yhoo_returns.loc[common]


def test_benchmark_metrics_equal_quantstats(orcl_returns, yhoo_returns, paired, qs) -> None:
    r, b = paired
    ours = benchmark_metrics(orcl_returns, yhoo_returns)
    assert list(ours) == list(BENCHMARK_NAMES)
    greeks = qs.greeks(r.copy(), b.copy())
    assert close(ours["alpha"], float(greeks["alpha"]))
    assert close(ours["beta"], float(greeks["beta"]))
    assert close(ours["r_squared"], float(qs.r_squared(r.copy(), b.copy())))
    assert close(ours["information_ratio"], float(qs.information_ratio(r.copy(), b.copy())))


def test_benchmark_metrics_by_hand(paired) -> None:
    r, b = paired
    rv, bv = r.to_numpy(), b.to_numpy()
    ours = benchmark_metrics(r, b)
    cov = np.cov(rv, bv)
    beta = cov[0, 1] / cov[1, 1]
    assert close(ours["beta"], beta)
    assert close(ours["alpha"], (rv.mean() - beta * bv.mean()) * 252)
    assert close(ours["r_squared"], np.corrcoef(rv, bv)[0, 1] ** 2)
    assert close(ours["correlation"], np.corrcoef(rv, bv)[0, 1])
    assert close(ours["tracking_error"], (rv - bv).std(ddof=1) * math.sqrt(252))
    assert close(ours["information_ratio"], (rv - bv).mean() / (rv - bv).std(ddof=1))
    assert close(ours["up_capture"], rv[bv > 0].mean() / bv[bv > 0].mean())
    assert close(ours["down_capture"], rv[bv < 0].mean() / bv[bv < 0].mean())


def test_capture_ratios_on_four_days() -> None:
    idx = pd.bdate_range("2024-01-01", periods=4)
    r = pd.Series([0.02, -0.01, 0.01, -0.03], index=idx)
    b = pd.Series([0.01, -0.02, 0.02, -0.01], index=idx)
    ours = benchmark_metrics(r, b)
    assert ours["up_capture"] == pytest.approx(0.015 / 0.015)
    assert ours["down_capture"] == pytest.approx(-0.02 / -0.015)


def test_benchmark_is_aligned_by_date(orcl_returns, yhoo_returns, paired) -> None:
    r, b = align_benchmark(orcl_returns, yhoo_returns)
    assert r.index.equals(paired[0].index) and b.index.equals(paired[1].index)
    assert b.name == "YHOO"
    # a shuffled benchmark is the same benchmark
    shuffled = yhoo_returns.sample(frac=1.0, random_state=3)
    in_order = benchmark_metrics(orcl_returns, yhoo_returns)
    assert benchmark_metrics(orcl_returns, shuffled) == in_order


def test_no_overlap_is_a_clear_error(orcl_returns) -> None:
    later = pd.Series(0.001, index=pd.bdate_range("2020-01-01", periods=50), name="LATER")
    with pytest.raises(ValueError, match=r"share 0 date\(s\).*1995-01-04\.\.2014-12-31"):
        benchmark_metrics(orcl_returns, later)


def test_prices_as_benchmark_are_refused(orcl_returns, orcl_close) -> None:
    with pytest.raises(ValueError, match="benchmark.*prices"):
        benchmark_metrics(orcl_returns, orcl_close)


def test_report_computes_benchmark_metrics_on_the_overlap(orcl_returns, yhoo_returns) -> None:
    report = performance_report(orcl_returns, benchmark=yhoo_returns)
    assert {k: report[k] for k in BENCHMARK_NAMES} == benchmark_metrics(orcl_returns, yhoo_returns)
    # the strategy's own metrics still cover its whole history, not just the overlap
    assert report["total_return"] == performance_report(orcl_returns)["total_return"]


def test_ticker_string_raises_and_nothing_is_downloaded(orcl_returns, monkeypatch, tmp_path):
    import quantstats
    import yfinance

    calls: list[str] = []

    def no_network(name: str):
        def refuse(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"network call attempted: {name}")

        return refuse

    monkeypatch.setattr(quantstats.utils, "download_returns", no_network("download_returns"))
    monkeypatch.setattr(yfinance, "download", no_network("yfinance.download"))
    monkeypatch.setattr(yfinance.Ticker, "history", no_network("Ticker.history"))
    monkeypatch.setattr(socket.socket, "connect", no_network("socket.connect"))
    monkeypatch.setattr(socket, "getaddrinfo", no_network("getaddrinfo"))

    page = tmp_path / "spy.html"
    attempts = {
        "performance_report": lambda: performance_report(orcl_returns, benchmark="SPY"),
        "benchmark_metrics": lambda: benchmark_metrics(orcl_returns, "SPY"),
        "align_benchmark": lambda: align_benchmark(orcl_returns, "SPY"),
        "write_tearsheet": lambda: write_tearsheet(orcl_returns, "SPY", page, "t"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(TypeError, match="not the ticker 'SPY'"):
            attempt()
        assert calls == [], name
    assert not page.exists()
    with pytest.raises(TypeError, match="got DataFrame"):
        benchmark_metrics(orcl_returns, orcl_returns.to_frame())  # type: ignore[arg-type]


def test_a_strategy_never_in_the_market_gets_nan_r_squared_not_a_crash():
    import math

    import numpy as np
    import pandas as pd

    from research_lab.core.metrics import performance_report

    days = pd.bdate_range("2020-01-01", periods=300)
    bench = pd.Series(np.random.default_rng(1).normal(0, 0.01, 300), index=days)
    report = performance_report(pd.Series(0.0, index=days), benchmark=bench)
    assert math.isnan(report["r_squared"])
    assert report["beta"] == 0.0
