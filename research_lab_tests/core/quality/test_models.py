"""The two models: the numpy Isolation Forest against scikit-learn's, Prophet's fast forecast."""

import numpy as np
import pandas as pd
import pytest

from research_lab.core.quality.isolation import IsolationForest, average_path_length


def test_average_path_length_matches_the_paper():
    # c(n) = 2 H(n-1) - 2 (n-1) / n, with c(2) = 1 and c(1) = 0
    n = 256
    harmonic = sum(1.0 / i for i in range(1, n))
    assert average_path_length(n)[0] == pytest.approx(2 * harmonic - 2 * (n - 1) / n, rel=1e-3)
    assert list(average_path_length([0, 1, 2])) == [0.0, 0.0, 1.0]


def test_isolation_forest_agrees_with_scikit_learn():
    from scipy.stats import spearmanr
    from sklearn.ensemble import IsolationForest as SkForest

    rng = np.random.default_rng(5)
    x = rng.standard_t(4, size=(600, 4))
    x[:10] *= 10  # ten clear outliers
    ours = IsolationForest(200, 256, seed=1).fit(x).score(x)
    theirs = -SkForest(n_estimators=150, random_state=1).fit(x).score_samples(x)
    assert spearmanr(ours, theirs).statistic > 0.95
    assert abs(ours.mean() - theirs.mean()) < 0.01
    top_ours, top_theirs = set(np.argsort(-ours)[:10]), set(np.argsort(-theirs)[:10])
    assert len(top_ours & set(range(10))) >= 9 and len(top_ours & top_theirs) >= 8


def test_isolation_forest_is_deterministic_per_seed():
    x = np.random.default_rng(0).normal(size=(300, 3))
    a = IsolationForest(50, 128, seed=4).fit(x).score(x)
    b = IsolationForest(50, 128, seed=4).fit(x).score(x)
    c = IsolationForest(50, 128, seed=5).fit(x).score(x)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError):
        IsolationForest(0, 128)


def test_fast_forecast_equals_prophet_predict():
    from prophet import Prophet

    from research_lab.core.quality import prophet_scores

    days = pd.bdate_range("2020-01-02", periods=300)
    rng = np.random.default_rng(2)
    y = np.cumsum(rng.normal(0, 0.02, 300)) + 0.1 * (days.dayofweek == 0)
    train = np.arange(300) < 220
    yhat = prophet_scores._fit_predict(days.to_numpy(), y, train, "cmdstan")
    model = Prophet(yearly_seasonality=False, weekly_seasonality=True, daily_seasonality=False,
                    n_changepoints=prophet_scores.N_CHANGEPOINTS, scaling="minmax",
                    uncertainty_samples=0)
    model.fit(pd.DataFrame({"ds": days[train], "y": y[train]}))
    expected = model.predict(pd.DataFrame({"ds": days}))["yhat"].to_numpy()
    np.testing.assert_allclose(yhat, expected, rtol=1e-9, atol=1e-9)
