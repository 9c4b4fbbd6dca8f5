"""The PNG chart and the quantstats HTML tearsheet are written, readable and say what they show."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from research_lab.core.metrics import equity_drawdown_plot, write_tearsheet

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_equity_drawdown_png(orcl_close: pd.Series, tmp_path) -> None:
    equity = 100_000 * orcl_close / orcl_close.iloc[0]
    path = equity_drawdown_plot(equity, tmp_path / "charts" / "orcl.png", title="ORCL hold")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 30_000  # two panels of 5,000 points, not an empty canvas
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1100, 682)  # 10 x 6.2 in at 110 dpi


def test_tearsheet_with_a_named_benchmark_series(
    orcl_returns: pd.Series, yhoo_returns: pd.Series, tmp_path, caplog
) -> None:
    r = orcl_returns.loc["2011":"2014"]
    with caplog.at_level(logging.WARNING):
        path = write_tearsheet(r, yhoo_returns, tmp_path / "ts.html", title="SMA cross on ORCL")
    html = path.read_text(encoding="utf-8")
    assert len(html) > 100_000
    assert "SMA cross on ORCL" in html
    assert "Benchmark: YHOO" in html  # the header of a page that really has the benchmark
    assert html.count("YHOO") >= 5  # metrics table, yearly table, charts
    assert not [rec for rec in caplog.records if rec.name.startswith("matplotlib")]


def test_tearsheet_without_benchmark(orcl_returns: pd.Series, tmp_path) -> None:
    path = write_tearsheet(orcl_returns.loc["2014"], None, tmp_path / "alone.html", "ORCL 2014")
    html = path.read_text(encoding="utf-8")
    assert "ORCL 2014" in html and "Benchmark:" not in html


def test_plot_needs_two_points(tmp_path) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        one_point = pd.Series([1.0], index=pd.to_datetime(["2024-01-02"]))
        equity_drawdown_plot(one_point, tmp_path / "x.png")
