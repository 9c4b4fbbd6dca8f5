"""The study's improvement over its baselines is direction-aware: positive means better, for a
maximized metric (best - baseline) and for a minimized one such as a user's loss
(baseline - best). Expected numbers are worked out by hand."""

import math

import pytest

from research_lab.core.optimize.baselines import Baselines, figure


def _b(direction, best, default, buy_hold, metric="custom_loss"):
    return Baselines(metric, direction, best, {"fast": 10, "slow": 30}, default, buy_hold,
                     trials_per_hour=3600.0)


def test_a_loss_below_the_default_is_an_improvement():
    # minimized: best -0.0005 vs default -0.0003 -> 0.0002 better; vs buy-and-hold -0.0008
    # the study is 0.0003 worse
    b = _b("minimize", best=-0.0005, default=-0.0003, buy_hold=-0.0008)
    assert b.improvement_vs_default == pytest.approx(0.0002, abs=1e-12)
    assert b.improvement_vs_buy_hold == pytest.approx(-0.0003, abs=1e-12)
    line = b.summary_line()
    assert "vs default params -0.0003: better by 0.0002;" in line
    assert "vs buy-and-hold -0.0008: worse by 0.0003" in line
    assert "minimize custom_loss: lower is better" in line


def test_a_loss_that_rounds_at_four_decimals_still_adds_up():
    # -0.00045 vs -0.00034: 0.00011 better. At 4 decimals this printed as -0.0005 vs -0.0003
    # with an improvement of +0.0001, which reads as a wrong difference.
    b = _b("minimize", best=-0.00045, default=-0.00034, buy_hold=0.0)
    assert b.improvement_vs_default == pytest.approx(0.00011, abs=1e-12)
    assert b.improvement_vs_buy_hold == pytest.approx(0.00045, abs=1e-12)
    line = b.summary_line()
    assert "vs default params -0.00034: better by 0.00011;" in line
    assert "vs buy-and-hold 0.0000: better by 0.00045" in line


def test_a_maximized_metric_above_the_default_is_an_improvement():
    # maximized: best 0.5369 vs default 0.4308 -> +0.1061; vs buy-and-hold 0.6 -> -0.0631
    b = _b("maximize", best=0.5369, default=0.4308, buy_hold=0.6, metric="sharpe_ratio")
    assert b.improvement_vs_default == pytest.approx(0.1061, abs=1e-12)
    assert b.improvement_vs_buy_hold == pytest.approx(-0.0631, abs=1e-12)
    line = b.summary_line()
    assert "vs default params 0.4308: better by 0.1061;" in line
    assert "vs buy-and-hold 0.6000: worse by 0.0631" in line
    assert "maximize sharpe_ratio: higher is better" in line
    assert line.endswith("3,600 trials/hour")


def test_a_minimized_metric_above_the_default_is_worse():
    # volatility (minimized): best 0.25 vs default 0.20 -> 0.05 worse
    b = _b("minimize", best=0.25, default=0.20, buy_hold=0.25, metric="volatility")
    assert b.improvement_vs_default == pytest.approx(-0.05, abs=1e-12)
    assert b.improvement_vs_buy_hold == 0.0
    assert "worse by 0.05;" in b.summary_line() and ": equal (" in b.summary_line()


def test_no_best_value_gives_no_improvement():
    b = _b("minimize", best=None, default=-0.0003, buy_hold=float("nan"))
    assert math.isnan(b.improvement_vs_default) and math.isnan(b.improvement_vs_buy_hold)
    assert b.to_dict()["improvement_vs_default"] is None
    assert "vs default params -0.0003: n/a; vs buy-and-hold n/a: n/a" in b.summary_line()


@pytest.mark.parametrize("value, text", [
    (0.43081, "0.4308"), (-1.23456, "-1.2346"), (0.0, "0.0000"), (-0.000493428, "-0.0004934"),
    (0.0123456, "0.01235"), (float("nan"), "n/a"),
])
def test_figures_keep_four_significant_digits_below_one_tenth(value, text):
    assert figure(value) == text
