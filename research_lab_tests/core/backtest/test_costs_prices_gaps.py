"""Slippage and spread (parity with backtrader's own set_slippage_perc / set_slippage_fixed),
raw vs adjusted prices, and calendar gaps, on the real ORCL file, in both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest import run_backtest
from research_lab.core.backtest.costs import PRICE_BASES, BrokerConfig
from research_lab.core.backtest.params import ParameterError
from research_lab.core.backtest.prices import PRICE_FIELDS
from research_lab.core.backtest.report import backtest_report

from .helpers import assert_same_run

SMA = {"fast": 10, "slow": 30}


def both(bars, strategy="sma_cross", params=SMA, **broker):
    fast = run_backtest(bars, strategy, params, engine="fast", **broker)
    ref = run_backtest(bars, strategy, params, engine="backtrader", **broker)
    assert_same_run(fast, ref)
    return fast


def _fill_rows(bars: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    return bars.set_index("session").loc[pd.DatetimeIndex(orders["date"])]


def test_percentage_slippage_matches_backtrader_and_moves_fills_against_the_order(dataset):
    bars = dataset("ORCL")
    plain = both(bars, allow_short=True)
    slipped = both(bars, allow_short=True, slippage_perc=0.002)
    assert list(plain.orders["date"]) == list(slipped.orders["date"])
    rows = _fill_rows(bars, slipped.orders)
    buy = (slipped.orders["side"] == "buy").to_numpy()
    open_ = rows["open"].to_numpy()
    expected = np.where(buy, np.minimum(open_ * 1.002, rows["high"]),
                        np.maximum(open_ * 0.998, rows["low"]))
    np.testing.assert_allclose(slipped.orders["price"], expected, rtol=1e-12)
    capped = np.where(buy, open_ * 1.002 > rows["high"], open_ * 0.998 < rows["low"])
    assert capped.any() and not capped.all(), "both the cap and the plain slip are exercised"
    assert slipped.final_value < plain.final_value


def test_fixed_slippage_matches_backtrader(dataset):
    bars = dataset("ORCL")
    r = both(bars, sizing="percent", percent=90, commission=0.001, slippage_fixed=0.05)
    rows = _fill_rows(bars, r.orders)
    buy = (r.orders["side"] == "buy").to_numpy()
    expected = np.where(buy, np.minimum(rows["open"] + 0.05, rows["high"]),
                        np.maximum(rows["open"] - 0.05, rows["low"]))
    np.testing.assert_allclose(r.orders["price"], expected, rtol=1e-12)


def test_spread_pays_half_on_each_fill(dataset):
    bars = dataset("ORCL")
    spread = both(bars, spread=0.004)
    half = both(bars, slippage_perc=0.002)
    np.testing.assert_array_equal(spread.orders["price"], half.orders["price"])
    assert spread.broker["spread"] == 0.004


def test_slippage_settings_are_checked():
    with pytest.raises(ParameterError, match="slippage_fixed excludes"):
        BrokerConfig(slippage_fixed=0.05, slippage_perc=0.001)
    with pytest.raises(ParameterError, match=r"slippage_perc=0.7 must be a fraction in \[0, 0.5\]"):
        BrokerConfig(slippage_perc=0.7)
    with pytest.raises(ParameterError, match="maintenance_margin=-0.1"):
        BrokerConfig(maintenance_margin=-0.1)


def test_adjusted_prices_scale_every_field_by_adj_close_over_close(dataset):
    bars = dataset("ORCL")
    factor = (bars["adj_close"] / bars["close"]).to_numpy()
    assert factor.min() < 0.99, "ORCL paid dividends in the window: adjusted differs"
    raw = both(bars, price_basis="raw")
    adj = both(bars, price_basis="adjusted")
    rows = bars.set_index("session").loc[pd.DatetimeIndex(adj.orders["date"])]
    np.testing.assert_allclose(
        adj.orders["price"], rows["open"] * rows["adj_close"] / rows["close"], rtol=1e-12
    )
    assert raw.conditions["price_basis"] == "raw" and adj.conditions["price_basis"] == "adjusted"
    assert adj.to_dict()["conditions"]["price_basis"] == "adjusted"
    report = backtest_report(bars, "sma_cross", SMA, price_basis="adjusted")
    assert report.lineage["price_basis"] == "adjusted"
    assert any(note.startswith("prices: adjusted (total-return") for note in report.notes)
    assert PRICE_BASES == ("raw", "adjusted") and PRICE_FIELDS == ("open", "high", "low", "close")


def test_adjusted_needs_adj_close(dataset):
    with pytest.raises(ParameterError, match="adj_close"):
        run_backtest(dataset("ORCL").drop(columns="adj_close"), "sma_cross", SMA,
                     price_basis="adjusted")


def holed(dataset) -> tuple[pd.DataFrame, int]:
    """ORCL with 2013-06-10 .. 2014-02-14 cut out (a five-month hole, as in issue 15)."""
    bars = dataset("ORCL")
    cut = (bars["session"] > "2013-06-10") & (bars["session"] < "2014-02-14")
    return bars.loc[~cut].reset_index(drop=True), int(cut.sum())


def test_a_hole_is_refused_by_default(dataset):
    bars, n = holed(dataset)
    assert n > 100
    with pytest.raises(ParameterError, match=rf"{n} session\(s\) of the XNYS calendar are "
                       r"missing .*first: 2013-06-11.*longest hole 172 session\(s\) 2013-06-11..2014-02-13"):
        run_backtest(bars, "sma_cross", SMA)


def test_a_filled_hole_is_flat_and_said(dataset):
    bars, n = holed(dataset)
    # no commission: the SMAs still cross on the flat bars, and those trades at the previous
    # close would move the value by their commission alone
    r = both(bars, gaps="fill", allow_short=True, commission=0.0)
    assert len(r.equity) == len(bars) + n
    assert r.conditions["gaps"]["missing_sessions"] == n
    assert r.conditions["gaps"]["filled"] == n
    hole = r.equity.loc["2013-06-11":"2014-02-13"]
    # flat bars at the previous close: the account value does not move inside the hole
    assert hole.nunique() == 1
    report = backtest_report(bars, "sma_cross", SMA, gaps="fill")
    assert any("filled with flat bars" in note and f"{n} session(s)" in note
               for note in report.notes)
    assert report.lineage["gaps"]["longest_gap"]["from"] == "2013-06-11"


def test_an_ignored_hole_is_still_reported(dataset):
    bars, n = holed(dataset)
    r = both(bars, gaps="ignore")
    assert len(r.equity) == len(bars)
    report = backtest_report(bars, "sma_cross", SMA, gaps="ignore")
    assert any("bridged" in note and f"{n} session(s)" in note for note in report.notes)
    clean = run_backtest(dataset("ORCL"), "sma_cross", SMA)
    assert clean.conditions["gaps"]["missing_sessions"] == 0
