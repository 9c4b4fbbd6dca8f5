"""Several symbols feeding one backtrader strategy, and what the report says about them."""

from __future__ import annotations

import pytest

from research_lab.core.backtest.report import backtest_report


def test_a_pairs_strategy_trades_both_feeds_and_the_report_names_them(year_bars, examples):
    acme, globex = year_bars["ACME"], year_bars["GLOBEX"].iloc[3:]  # GLOBEX starts later
    report = backtest_report(acme, f"{examples}/strategies/pairs.py:PairsSpread",
                             {"entry": 1.0}, feeds=[globex])
    orders = report.result.orders
    assert set(orders["data"]) == {"ACME", "GLOBEX"}
    assert [f["symbol"] for f in report.lineage["feeds"]] == ["ACME", "GLOBEX"]
    assert report.lineage["feeds"][0]["bars"] == len(acme) - 3  # aligned on shared sessions
    assert "feeds (datas in order): ACME, GLOBEX" in report.notes
    assert any("ACME: 3 session(s) not shared" in n for n in report.notes)
    assert "on ACME+GLOBEX" in report.title()
    assert set(report.result.trades["data"]) == {"ACME", "GLOBEX"}
    assert len(report.metrics) == 50


def test_the_futures_commission_set_in_start_applies(year_bars, examples):
    report = backtest_report(year_bars["ACME"],
                             f"{examples}/strategies/futures_commission.py:FuturesTrend")
    result = report.result
    assert (result.broker["commission"], result.broker["mult"], result.broker["margin"]) == \
        (2.0, 10.0, 2000.0)
    assert (result.orders["commission"] == 2.0 * result.orders["size"]).all()
    assert report.lineage["strategy"]["kind"] == "backtrader"
    assert report.lineage["strategy"]["code_version"]


def test_a_strategy_needing_two_feeds_fails_on_one(year_bars, examples):
    with pytest.raises(ValueError, match=r"PairsSpread raised during the run: .*pairs\.py:\d+: "
                                         r"ValueError: PairsSpread needs two datas"):
        backtest_report(year_bars["ACME"], f"{examples}/strategies/pairs.py:PairsSpread")
