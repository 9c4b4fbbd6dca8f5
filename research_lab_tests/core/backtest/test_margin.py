"""Margin calls, initial margin for shorts and bankruptcy: the rule of core/backtest/costs.py,
the same in both engines, checked by hand on scripted prices over real NVDA sessions and on
the two NVDA commands of issue 15 that used to end at -12,000 or crash."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest import run_backtest, run_signal
from research_lab.core.backtest.report import backtest_report

from .helpers import assert_same_run

ENGINES = ("fast", "backtrader")
# the hand computations below count whole shares and no commission: a fixed stake, no fees
FIXED = dict(sizing="fixed", commission=0.0)


def scripted(dataset, opens: list[float], closes: list[float]) -> pd.DataFrame:
    """Real NVDA sessions (no calendar gap) carrying scripted prices."""
    n = len(closes)
    bars = dataset("NVDA").iloc[:n].copy().reset_index(drop=True)
    bars["open"] = opens
    bars["close"] = closes
    bars["adj_close"] = closes
    bars["high"] = np.maximum(opens, closes)
    bars["low"] = np.minimum(opens, closes)
    return bars


def short_once(n: int) -> np.ndarray:
    signal = np.full(n, np.nan)
    signal[0] = -1.0  # short at bar 1's open, then hold
    return signal


@pytest.mark.parametrize("engine", ENGINES)
def test_margin_call_closes_the_short_at_the_next_open(dataset, engine):
    # short 100 @ 50: cash 15,000, value 15,000 - 100 c; maintenance 25 %: call when
    # 15,000 - 100 c < 25 c, i.e. c > 120 -> bar 4 (121); closed at bar 5's open, 125
    closes = [50, 50, 80, 110, 121, 130, 140]
    opens = [50, 50, 80, 110, 121, 125, 140]
    bars = scripted(dataset, opens, closes)
    r = run_signal(bars, short_once(len(bars)), engine=engine, stake=100, allow_short=True,
                   **FIXED)
    assert r.margin_calls == 1 and r.bankrupt_session is None
    assert list(r.orders["side"]) == ["sell", "buy"]
    assert list(r.orders["price"]) == [50.0, 125.0]
    assert r.orders["date"].iloc[1] == bars["session"].iloc[5]
    assert r.final_value == pytest.approx(15_000 - 12_500)
    assert r.final_position == 0.0
    assert any("margin call" in note for note in r.notes())


@pytest.mark.parametrize("engine", ENGINES)
def test_bankruptcy_liquidates_and_stops_trading(dataset, engine):
    # at c = 160 the value is 15,000 - 16,000 < 0: bankrupt at bar 3, closed at 170 (cash
    # -2,000); the signal asks for a short again at bar 5: nothing more happens
    closes = [50, 50, 80, 160, 170, 150, 100, 90]
    opens = [50, 50, 80, 160, 170, 150, 100, 90]
    bars = scripted(dataset, opens, closes)
    signal = short_once(len(bars))
    signal[5] = -1.0
    signal[6] = 1.0
    r = run_signal(bars, signal, engine=engine, stake=100, allow_short=True,
                   maintenance_margin=0.0, **FIXED)
    assert r.bankrupt_session == bars["session"].iloc[3]
    assert list(r.orders["price"]) == [50.0, 170.0] and len(r.orders) == 2
    assert r.final_value == pytest.approx(-2_000.0)
    # returns: -1 on the bankrupt bar, 0 afterwards: nothing divides by a value <= 0
    assert r.returns.iloc[3] == -1.0 and (r.returns.iloc[4:] == 0.0).all()
    assert r.summary()["max_drawdown"] == -1.0
    assert r.summary()["total_return"] == pytest.approx(-1.2)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_short_beyond_the_initial_margin_is_refused(dataset, engine):
    closes = [50.0] * 6
    bars = scripted(dataset, closes, closes)
    # 500 x 50 = 25,000 short; initial margin 50 % needs 12,500 > 10,000 of value
    r = run_signal(bars, short_once(6), engine=engine, stake=500, allow_short=True, **FIXED)
    assert r.orders.empty and r.shorts_refused == 1
    ok = run_signal(bars, short_once(6), engine=engine, stake=400, allow_short=True, **FIXED)
    assert len(ok.orders) == 1 and ok.shorts_refused == 0


@pytest.mark.parametrize("strategy", ["bollinger", "rsi_reversion"])
def test_issue_commands_keep_equity_sane_in_both_engines(dataset, strategy):
    bars = dataset("NVDA", full=True)
    broker = dict(sizing="percent", percent=95, commission=0.001, allow_short=True)
    fast = run_backtest(bars, strategy, engine="fast", **broker)
    ref = run_backtest(bars, strategy, engine="backtrader", **broker)
    assert_same_run(fast, ref)
    assert fast.margin_calls == ref.margin_calls and fast.margin_calls > 0
    assert fast.bankrupt_session == ref.bankrupt_session
    # before the rule: -12,000 and a -175.9 % drawdown (bollinger), a crash (rsi_reversion)
    assert fast.equity.min() > 0.0
    report = backtest_report(bars, strategy, **broker)
    m = report.metrics
    assert -1.0 <= m["max_drawdown"] < 0.0
    assert math.isfinite(m["turnover"]) and m["turnover"] > 0
    assert any("margin call" in note for note in report.notes)
    assert report.lineage["margin_calls"] == fast.margin_calls


@pytest.mark.parametrize("strategy", ["bollinger", "rsi_reversion"])
def test_issue_commands_run_from_the_command_line(shared_data, tmp_path, strategy, monkeypatch,
                                                  capsys):
    from research_lab.cli import main

    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path / "home"))
    out = tmp_path / "r.json"
    code = main(["backtest", "--strategy", strategy, "--csv",
                 str(shared_data / "nvda-1999-2014.txt"), "--percent", "95", "--commission",
                 "0.001", "--allow-short", "--json", str(out)])
    assert code in (0, None)
    doc = json.loads(out.read_text())
    assert min(doc["equity"]["value"]) > 0
    assert doc["metrics"]["max_drawdown"] >= -1.0
    assert doc["margin_calls"] > 0
    assert "margin call" in capsys.readouterr().out
