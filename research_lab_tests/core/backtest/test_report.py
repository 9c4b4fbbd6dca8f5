"""BacktestReport: metrics (50, benchmark included), regimes with their source, lineage, JSON."""

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest.market_context import close_series, load_market_context
from research_lab.core.backtest.report import (
    KEY_METRICS,
    backtest_report,
    position_and_traded,
    report_from_result,
)
from research_lab.core.marketdata.schema import data_version
from research_lab.core.marketdata.sources import SyntheticSource
from research_lab.core.metrics import METRIC_NAMES

BENCHMARK_METRICS = ("alpha", "beta", "r_squared", "information_ratio", "tracking_error",
                     "correlation", "up_capture", "down_capture")


@pytest.fixture(scope="module")
def source():
    return SyntheticSource(seed=42, symbols=["ACME"])


@pytest.fixture(scope="module")
def acme(source):
    return source.fetch("ACME", date(2019, 1, 2), date(2023, 12, 29))


@pytest.fixture(scope="module")
def market(source, acme):
    return load_market_context(date(2019, 1, 2), date(2023, 12, 29), source=source)


@pytest.fixture(scope="module")
def report(acme, market):
    return backtest_report(acme, "sma_cross", {"fast": 10, "slow": 40}, market=market,
                           origin="source:synthetic", sizing="percent", commission=0.001)


def test_every_metric_is_reported_with_the_benchmark(report):
    assert list(report.metrics) == list(METRIC_NAMES)
    finite = [k for k, v in report.metrics.items() if not math.isnan(v)]
    assert len(finite) >= 45
    for name in BENCHMARK_METRICS:
        assert math.isfinite(report.metrics[name]), name
    assert report.metrics["num_trades"] == len(report.result.trades) > 5
    assert report.metrics["total_return"] == pytest.approx(report.result.final_value / 1e4 - 1)
    assert set(report.key_metrics()) == {"final_value", *KEY_METRICS}


def test_exposure_and_turnover_come_from_the_fills(report):
    position, traded = position_and_traded(report.result)
    assert position.iloc[-1] == report.result.final_position
    orders = report.result.orders
    assert traded.sum() == pytest.approx((orders["size"] * orders["price"]).sum())
    assert report.metrics["exposure"] == pytest.approx((position != 0).mean())
    assert 0 < report.metrics["exposure"] < 1 and report.metrics["turnover"] > 0


def test_regimes_use_the_index_trend_and_vix(report):
    table = report.regimes
    assert list(table["regime"]) == ["bull_low_vol", "bull_high_vol", "bear_low_vol",
                                     "bear_high_vol"]
    assert set(table["vol_source"]) == {"vix"}
    assert report.lineage["regime_index"] == "^GSPC" and report.lineage["vol_source"] == "vix"
    # the source's lookback defines the 200-day SMA from the first backtest day on
    assert table.attrs["unclassified_days"] == 0
    assert table["days"].sum() == len(report.result.returns)
    assert report.notes == ("prices: raw (as traded: dividends not reinvested); risk-free "
                            "rate 0.00% a year",)


def test_lineage_traces_the_bars_and_the_indices(report, acme):
    lin = report.lineage
    assert lin["symbol"] == "ACME" and lin["bars"] == len(acme)
    assert (lin["start"], lin["end"]) == ("2019-01-02", "2023-12-29")
    assert lin["data_version"] == data_version(acme) == report.data_version
    assert lin["origin"] == "source:synthetic"
    assert lin["benchmark"]["symbol"] == "^GSPC"
    assert lin["benchmark"]["origin"] == "source:synthetic"
    assert lin["benchmark"]["first"] < "2018-01-01"  # lookback for the SMA
    assert lin["vix"]["symbol"] == "^VIX"


def test_the_json_document(report):
    doc = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    for key in ("final_value", "final_cash", "metrics", "orders", "params", "regimes",
                "equity", "lineage", "notes", "trades", "broker"):
        assert key in doc, key
    assert doc["params"] == {"fast": 10, "slow": 40}
    assert doc["final_value"] == pytest.approx(report.result.final_value)
    assert len(doc["metrics"]) == 50
    first = doc["orders"][0]
    assert set(first) == {"date", "side", "size", "price", "commission"}
    assert first["date"] == report.result.orders["date"].iloc[0].date().isoformat()
    assert doc["regimes"]["vol_source"] == "vix" and doc["regimes"]["trend_index"] == "^GSPC"
    assert [r["regime"] for r in doc["regimes"]["table"]][0] == "bull_low_vol"
    assert len(doc["equity"]["value"]) == len(report.result.equity)


def test_without_vix_the_realized_vol_stand_in_is_used_and_named(acme, market):
    rep = backtest_report(acme, "sma_cross", benchmark_close=market.benchmark_close)
    assert rep.lineage["vol_source"] == "realized_vol_21d"
    assert set(rep.regimes["vol_source"]) == {"realized_vol_21d"}
    assert rep.lineage["regime_index"] == "^GSPC"
    assert math.isfinite(rep.metrics["beta"])
    assert any("realized-volatility stand-in" in n for n in rep.notes)


def test_without_index_data_benchmark_metrics_are_nan_and_it_says_so(acme):
    rep = backtest_report(acme, "ema_cross")
    for name in BENCHMARK_METRICS:
        assert math.isnan(rep.metrics[name]), name
    assert sum(not math.isnan(v) for v in rep.metrics.values()) >= 30
    assert rep.lineage["regime_index"] == "ACME (own close: no index data)"
    assert rep.lineage["benchmark"] is None and rep.lineage["vix"] is None
    assert rep.regimes.attrs["vol_source"] == "realized_vol_21d"
    assert any("no benchmark index data" in n for n in rep.notes)
    assert json.loads(json.dumps(rep.to_dict(), allow_nan=False))["metrics"]["beta"] is None


def test_a_strategy_that_never_trades_still_gets_a_report(acme, market):
    bars = acme.iloc[:30]  # SMA(30) of 30 bars: no crossover, no position
    rep = backtest_report(bars, "sma_cross", market=market)
    assert rep.metrics["num_trades"] == 0 and rep.result.final_value == 10_000
    assert math.isnan(rep.metrics["beta"])
    assert any("never held a position" in n for n in rep.notes)
    assert rep.benchmark_returns is None  # quantstats' tearsheet would fail on it too
    assert rep.lineage["benchmark"]["symbol"] == "^GSPC"  # it was there, and lineage says so


def test_a_ticker_is_never_taken_for_a_benchmark(acme):
    with pytest.raises(TypeError, match="not the ticker '\\^GSPC': research_lab never downloads"):
        backtest_report(acme, "sma_cross", benchmark_close="^GSPC")


def test_a_benchmark_without_shared_dates_is_refused(acme):
    far = pd.Series(np.linspace(100, 110, 50), index=pd.bdate_range("2001-01-01", periods=50),
                    name="^OLD")
    with pytest.raises(ValueError, match=r"benchmark \^OLD .* shares 0 session"):
        backtest_report(acme, "sma_cross", benchmark_close=far)


def test_market_and_series_are_exclusive(report, acme, market):
    with pytest.raises(ValueError, match="not both"):
        report_from_result(report.result, acme, market=market,
                           benchmark_close=close_series(acme))


def test_summary_line(report):
    line = report.summary_line()
    assert line.startswith("sma_cross(fast=10, slow=40) on ACME [fast] 2019-01-02..2023-12-29")
    assert "vs ^GSPC" in line and "\n" not in line
