"""The statistics over seeds equal rliable's own functions: the point estimates are rliable's,
and the vectorized bootstrap gives rliable's intervals to 1e-12 for the same seed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from research_lab.core.rl import statistics as st

REPS = 1500


def _rliable(scores, func, seed):
    from rliable import library as rly

    np.random.seed(seed)  # rliable resamples with numpy's global generator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point, ci = rly.get_interval_estimates({"x": scores}, func, reps=REPS)
    return float(np.ravel(point["x"])[0]), np.ravel(ci["x"])


@pytest.mark.parametrize("shape,seed", [((5, 3), 0), ((2, 1), 3), ((7, 4), 11)])
def test_iqm_interval_equals_rliable(shape, seed):
    from rliable import metrics

    scores = np.random.default_rng(seed + 100).normal(0.3, 1.0, size=shape)
    point, ci = _rliable(scores, lambda x: np.array([metrics.aggregate_iqm(x)]), seed)
    mine = st.iqm_interval(scores, reps=REPS, seed=seed)
    assert mine.point == pytest.approx(point, abs=1e-12)
    assert mine.low == pytest.approx(ci[0], abs=1e-12)
    assert mine.high == pytest.approx(ci[1], abs=1e-12)
    assert mine.low < mine.point < mine.high


@pytest.mark.parametrize("runs_y", [1, 4])
def test_probability_of_improvement_interval_equals_rliable(runs_y):
    from rliable import metrics

    g = np.random.default_rng(5)
    x = g.normal(0.2, 1.0, size=(5, 3))
    y = g.normal(0.0, 1.0, size=(runs_y, 3))
    x[0, 0] = y[0, 0]  # a tie counts half
    point, ci = _rliable([x, y], lambda a, b: np.array([metrics.probability_of_improvement(a, b)]),
                         9)
    mine = st.improvement_interval(x, y, reps=REPS, seed=9, chunk=400)  # chunks: same stream
    assert mine.point == pytest.approx(point, abs=1e-12)
    assert mine.low == pytest.approx(ci[0], abs=1e-12)
    assert mine.high == pytest.approx(ci[1], abs=1e-12)


def test_iqm_trims_a_quarter_at_each_end():
    # 8 scores: the 2 lowest and 2 highest are dropped, the mean of 3, 4, 5, 6 is 4.5
    scores = np.array([[1.0, 100.0], [3.0, 4.0], [5.0, 6.0], [-50.0, 7.0]])
    assert st.iqm(scores) == 4.5


def test_probability_of_improvement_by_hand():
    x = np.array([[1.0, 0.0], [3.0, 0.0]])
    y = np.array([[2.0, 0.0]])
    # fold 0: one of two runs beats 2.0 -> 0.5; fold 1: all ties -> 0.5
    assert st.probability_of_improvement(x, y) == 0.5
    assert st.probability_of_improvement(x + 10, y) == 1.0
    assert st.probability_of_improvement(x, y + 10) == 0.0


def test_same_seed_same_interval_other_seed_differs():
    scores = np.random.default_rng(0).normal(size=(5, 3))
    a = st.iqm_interval(scores, reps=2000, seed=1)
    assert a == st.iqm_interval(scores, reps=2000, seed=1)
    assert a != st.iqm_interval(scores, reps=2000, seed=2)


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        st.iqm(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="same folds"):
        st.probability_of_improvement(np.ones((3, 2)), np.ones((1, 3)))


def test_never_trading_scores_zero():
    assert st.clean_score(float("nan")) == 0.0 and st.clean_score(-0.5) == -0.5
