"""Deflated Sharpe ratio and PBO against the paper's example and hand computations."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from research_lab.core.optimize.overfitting import (
    EULER_GAMMA, deflated_sharpe_ratio, expected_max_sharpe, per_bar_sharpe,
    probabilistic_sharpe_ratio, probability_of_backtest_overfitting,
)


def test_dsr_reproduces_the_papers_numerical_example():
    # Bailey & Lopez de Prado (2014): annualized SR 2.5 after N = 100 trials whose annualized
    # Sharpe ratios have variance 1/2; T = 1250 daily returns (250 a year), skew -3, kurt 10.
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_deflated_sharpe_from_returns_matches_the_formula_by_hand():
    rng = np.random.default_rng(7)
    best = rng.standard_t(5, 1000) * 0.01 + 0.0012
    sharpes = rng.normal(0.02, 0.03, 40)
    out = deflated_sharpe_ratio(best, sharpes, n_trials=60)
    sr = best.mean() / best.std(ddof=1)
    g3, g4 = stats.skew(best), stats.kurtosis(best, fisher=False)
    v = sharpes.var(ddof=1)
    z = ((1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / 60)
         + EULER_GAMMA * stats.norm.ppf(1 - 1 / (60 * math.e)))
    sr0 = math.sqrt(v) * z
    hand = stats.norm.cdf((sr - sr0) * math.sqrt(999) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    assert (out.n_trials, out.n_obs) == (60, 1000)
    assert out.sr0 == pytest.approx(sr0, rel=1e-12)
    assert out.dsr == pytest.approx(hand, rel=1e-10)
    # more trials tried -> a higher bar -> a lower DSR
    assert deflated_sharpe_ratio(best, sharpes, n_trials=1000).dsr < out.dsr
    assert per_bar_sharpe(best) == pytest.approx(sr)


def _hand_matrix():
    # 4 groups of 2 rows; each trial's group total sits in the group's first row
    totals = {"A": [4.5, 1, 0, 0], "B": [0, 0, 3, 1], "C": [2.5, 2.5, 2.5, 2.5]}
    m = np.zeros((8, 3))
    for j, key in enumerate("ABC"):
        for g, v in enumerate(totals[key]):
            m[2 * g, j] = v
    return m


def test_pbo_matches_a_hand_computed_cscv():
    # splits (IS groups): {0,1}: A wins IS (5.5 vs C 5), OOS {2,3}: A=0 is the worst -> w=1/4
    # {0,2},{0,3},{1,2},{1,3}: C wins IS (5) and is the best OOS -> w = 3/4
    # {2,3}: C wins IS (5 vs B 4), OOS {0,1}: A=5.5 > C=5 > B=0 -> w = 2/4, logit 0 (counts)
    out = probability_of_backtest_overfitting(_hand_matrix(), n_splits=4, metric="mean")
    assert out.n_combinations == 6 and out.n_trials == 3
    expected = [math.log(1 / 3), math.log(3), math.log(3), math.log(3), math.log(3), 0.0]
    assert np.allclose(out.logits, expected)
    assert out.pbo == pytest.approx(2 / 6)


def test_pbo_sharpe_by_brute_force_and_extremes():
    rng = np.random.default_rng(11)
    noise = rng.normal(0, 0.01, (400, 12))
    out = probability_of_backtest_overfitting(noise, n_splits=8)
    # brute force: the same CSCV written plainly
    groups = np.array_split(np.arange(400), 8)
    logits = []
    for is_ in itertools.combinations(range(8), 4):
        is_rows = np.concatenate([groups[g] for g in is_])
        oos_rows = np.concatenate([groups[g] for g in range(8) if g not in is_])
        sr = lambda rows: noise[rows].mean(0) / noise[rows].std(0, ddof=1)  # noqa: E731
        best = int(np.argmax(sr(is_rows)))
        oos = sr(oos_rows)
        rank = (oos < oos[best]).sum() + 1
        logits.append(math.log(rank / 13 / (1 - rank / 13)))
    assert np.allclose(out.logits, logits)
    assert 0.2 < out.pbo < 0.8                      # pure noise: a coin flip
    skilled = noise.copy()
    skilled[:, 3] += 0.004                          # one trial with a real edge
    assert probability_of_backtest_overfitting(skilled, n_splits=8).pbo == 0.0


def test_pbo_rejects_bad_input():
    with pytest.raises(ValueError, match="N >= 2"):
        probability_of_backtest_overfitting(np.zeros((10, 1)))
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(np.zeros((10, 3)), n_splits=5)
    with pytest.raises(ValueError, match="NaN"):
        probability_of_backtest_overfitting(np.full((10, 3), np.nan))
