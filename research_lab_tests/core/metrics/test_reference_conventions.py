"""research_lab's metrics against the references' OWN numbers on the same input: empyrical
(empyrical-reloaded 0.7.1) on real ORCL/YHOO returns, and backtrader's analyzers on a real
ORCL backtest. Where research_lab keeps a different convention, the test pins the reference's
value and the exact relation between the two (docs/backtesting.md, "Conventions and the
references", lists the same figures)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import performance_report

ep = pytest.importorskip("empyrical")
P = 252


@pytest.fixture(scope="module")
def report(orcl_returns, yhoo_returns) -> dict[str, float]:
    return performance_report(orcl_returns, benchmark=yhoo_returns)


@pytest.fixture(scope="module")
def paired(orcl_returns, yhoo_returns) -> tuple[pd.Series, pd.Series]:
    common = orcl_returns.index.intersection(yhoo_returns.index)
    return orcl_returns.loc[common], yhoo_returns.loc[common]


SAME = {  # our metric -> empyrical's function of (returns) or (returns, benchmark)
    "sharpe_ratio": lambda r, b: ep.sharpe_ratio(r),
    "sortino_ratio": lambda r, b: ep.sortino_ratio(r),
    "volatility": lambda r, b: ep.annual_volatility(r),
    "cagr": lambda r, b: ep.annual_return(r),
    "total_return": lambda r, b: ep.cum_returns_final(r),
    "max_drawdown": lambda r, b: ep.max_drawdown(r),
    "calmar_ratio": lambda r, b: ep.calmar_ratio(r),
    "omega_ratio": lambda r, b: ep.omega_ratio(r),
    "tail_ratio": lambda r, b: ep.tail_ratio(r),
    "beta": lambda r, b: ep.beta(r, b),
    "information_ratio": lambda r, b: ep.excess_sharpe(r, b),
}


@pytest.mark.parametrize("name", list(SAME))
def test_same_convention_as_empyrical(name, report, orcl_returns, paired) -> None:
    r, b = paired
    theirs = float(SAME[name](orcl_returns if name != "beta" and name != "information_ratio"
                              else r, b))
    assert math.isfinite(theirs)
    assert report[name] == pytest.approx(theirs, rel=1e-9), (name, report[name], theirs)


@pytest.mark.parametrize("rf", [0.03, -0.01])
def test_risk_free_rate_any_sign_equals_empyrical(orcl_returns, rf) -> None:
    ours = performance_report(orcl_returns, rf=rf)
    per_bar = (1 + rf) ** (1 / P) - 1
    assert ours["sharpe_ratio"] == pytest.approx(
        ep.sharpe_ratio(orcl_returns, risk_free=per_bar), rel=1e-9)
    assert ours["sortino_ratio"] == pytest.approx(
        ep.sortino_ratio(orcl_returns, required_return=per_bar), rel=1e-9)


def test_var_and_cvar_are_parametric_where_empyricals_are_historical(report, orcl_returns):
    v = orcl_returns.to_numpy()
    hist_var = float(ep.value_at_risk(orcl_returns))
    hist_cvar = float(ep.conditional_value_at_risk(orcl_returns))
    assert hist_var == pytest.approx(np.percentile(v, 5), rel=1e-12)
    assert hist_var == pytest.approx(-0.04227730142175244, rel=1e-9)
    assert hist_cvar == pytest.approx(-0.06373903255966734, rel=1e-9)
    assert report["value_at_risk"] == pytest.approx(-0.04688567835509327, rel=1e-9)
    assert report["cvar"] == pytest.approx(-0.059058270128482575, rel=1e-9)


def test_alpha_is_arithmetic_where_empyricals_is_compounded(report, paired):
    r, b = paired
    theirs_alpha, theirs_beta = ep.alpha_beta(r, b)
    assert theirs_beta == pytest.approx(report["beta"], rel=1e-9)
    # ours: mean daily alpha x 252; empyrical: (1 + mean daily alpha) ** 252 - 1
    assert theirs_alpha == pytest.approx((1 + report["alpha"] / P) ** P - 1, rel=1e-9)
    assert report["alpha"] == pytest.approx(0.14295690365141, rel=1e-9)
    assert theirs_alpha == pytest.approx(0.15363332, rel=1e-6)


def test_capture_ratios_are_daily_means_where_empyricals_are_annualized(report, paired):
    r, b = paired
    up, down = b > 0, b < 0
    assert report["up_capture"] == pytest.approx(r[up].mean() / b[up].mean(), rel=1e-12)
    assert report["down_capture"] == pytest.approx(r[down].mean() / b[down].mean(), rel=1e-12)
    assert float(ep.up_capture(r, b)) == pytest.approx(0.011663239252380183, rel=1e-9)
    assert float(ep.down_capture(r, b)) == pytest.approx(0.863650714445662, rel=1e-9)
    assert report["up_capture"] == pytest.approx(0.3447430963175894, rel=1e-9)


def test_edge_cases_named_differences() -> None:
    idx = pd.bdate_range("2020-01-01", periods=10)
    gains = pd.Series([0.01, 0.02, 0.0, 0.01, 0.03, 0.01, 0.0, 0.02, 0.01, 0.01], index=idx)
    ours = performance_report(gains, benchmark=gains.rename("same"))
    # a curve that never falls: Calmar inf here (quantstats), NaN in empyrical
    assert ours["calmar_ratio"] == math.inf and math.isnan(ep.calmar_ratio(gains))
    # the strategy is its benchmark: information ratio 0 here (quantstats), NaN in empyrical
    assert ours["information_ratio"] == 0.0 and math.isnan(ep.excess_sharpe(gains, gains))
    # constant returns: Sharpe inf here and in empyrical (quantstats: ~7e16)
    const = pd.Series(0.001, index=idx)
    assert performance_report(const)["sharpe_ratio"] == math.inf == ep.sharpe_ratio(const)


@pytest.fixture(scope="module")
def bt_run(shared_data):
    """sma_cross 10/30 on all of ORCL, 90 % sizing, 0.1 % commission, shorts: our report,
    and backtrader's analyzers on the same signal through backtrader's own broker."""
    import backtrader as bt

    from research_lab.core.backtest import run_backtest
    from research_lab.core.backtest.api import broker_from, prepare_prices
    from research_lab.core.backtest.bt_engine import _classes, bars_frame
    from research_lab.core.backtest.lines import LineCache
    from research_lab.core.backtest.report import report_from_result
    from research_lab.core.backtest.signals import rule_signal
    from research_lab.core.backtest.strategies import strategy_rule
    from research_lab_tests.core.backtest.conftest import load_bars

    bars = load_bars(shared_data, "ORCL")
    settings = dict(sizing="percent", percent=90, commission=0.001, allow_short=True)
    prices = prepare_prices(bars, broker_from(settings))
    _, rule = strategy_rule("sma_cross", {"fast": 10, "slow": 30})
    feed, strategy = _classes()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed(dataname=bars_frame(prices, rule_signal(LineCache(prices), rule))))
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(strategy, fixed=False, fraction=0.9, allow_short=True)
    cerebro.addanalyzer(bt.analyzers.SQN, _name="sqn")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe", timeframe=bt.TimeFrame.Days,
                        riskfreerate=0.0, annualize=True, factor=P)
    cerebro.addanalyzer(bt.analyzers.Returns, _name="returns", tann=P)
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="timereturn")
    analyzers = cerebro.run()[0].analyzers
    result = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 30}, **settings)
    return report_from_result(result, bars), analyzers


def test_backtrader_analyzers_on_the_same_run(bt_run):
    report, a = bt_run
    m = report.metrics
    n_trades = int(m["num_trades"])
    trades = a.trades.get_analysis()
    assert n_trades == trades.total.closed == 194
    assert m["trade_win_rate"] == pytest.approx(trades.won.total / trades.total.closed)
    assert m["avg_trade_pnl"] == pytest.approx(trades.pnl.net.average, rel=1e-9)
    # SQN: backtrader divides by the population std (ddof=0), research_lab by the sample std
    sqn = a.sqn.get_analysis()
    assert sqn.trades == n_trades
    assert sqn.sqn == pytest.approx(m["sqn"] * math.sqrt(n_trades / (n_trades - 1)), rel=1e-9)
    assert (sqn.sqn, m["sqn"]) == (pytest.approx(-0.38030710388665395, rel=1e-9),
                                   pytest.approx(-0.3793256645630608, rel=1e-9))
    # DrawDown: the same worst fall, in percent
    assert a.drawdown.get_analysis().max.drawdown == pytest.approx(-100 * m["max_drawdown"],
                                                                   rel=1e-9)
    # SharpeRatio (daily, annualized, rf 0): population std again
    n = len(report.result.returns)
    assert a.sharpe.get_analysis()["sharperatio"] == pytest.approx(
        m["sharpe_ratio"] * math.sqrt(n / (n - 1)), rel=1e-9)
    # Returns: rnorm = exp(252 * mean log return) - 1 is exactly the bar-count CAGR
    assert a.returns.get_analysis()["rnorm"] == pytest.approx(m["cagr"], rel=1e-9)
    # TimeReturn: the per-bar returns the metrics start from
    np.testing.assert_allclose(list(a.timereturn.get_analysis().values()),
                               report.result.returns.to_numpy(), rtol=1e-12, atol=1e-15)
