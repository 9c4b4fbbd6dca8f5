"""prophet_map: the in-process MAP of Prophet's model against Prophet itself (cmdstan)."""

import numpy as np
import pandas as pd
import pytest

from research_lab.core.quality.prophet_map import fit_map
from research_lab.core.quality.prophet_scores import N_CHANGEPOINTS, _fit_predict


def _series(kind: str, n: int = 400):
    days = pd.bdate_range("2018-01-02", periods=n).to_numpy()
    rng = np.random.default_rng({"price": 3, "volume": 4}[kind])
    dow = pd.DatetimeIndex(days).dayofweek.to_numpy()
    if kind == "price":  # a random walk that turns down two thirds of the way
        drift = np.where(np.arange(n) < 2 * n // 3, 0.002, -0.003)
        y = np.cumsum(drift + rng.normal(0, 0.015, n))
    else:  # log volume: level, weekly pattern, noise
        y = 14.0 + 0.15 * (dow == 0) - 0.1 * (dow == 4) + rng.normal(0, 0.3, n)
    return days, y


def _log_posterior(days, y, fit) -> float:
    """Prophet's Stan model's log density (no Jacobian, as cmdstan's optimizer reports it) at
    ``fit``'s parameters, written out from the Stan program."""
    t = (days - days[0]) / (days[-1] - days[0])
    ys = (y - y.min()) / (y.max() - y.min())
    trend = fit.k * t + fit.m
    for s, d in zip(fit.changepoints_t, fit.delta):
        trend = trend + d * np.where(t >= s, t - s, 0.0)
    day = (days - np.datetime64("1970-01-01")) / np.timedelta64(1, "D")
    x = np.column_stack([f(2 * np.pi * i * day / 7) for i in (1, 2, 3) for f in (np.sin, np.cos)])
    r = ys - trend - x @ fit.beta
    s = fit.sigma_obs
    return float(-(len(ys) * np.log(s) + r @ r / (2 * s * s) + s * s / (2 * 0.25)
                   + (fit.k**2 + fit.m**2) / 50 + fit.beta @ fit.beta / 200
                   + np.abs(fit.delta).sum() / 0.05))


@pytest.mark.parametrize("kind", ["price", "volume"])
def test_fit_map_is_the_mode_prophet_approaches(kind):
    from prophet import Prophet

    days, y = _series(kind)
    train = np.arange(len(y)) < 300
    model = Prophet(yearly_seasonality=False, weekly_seasonality=True, daily_seasonality=False,
                    n_changepoints=N_CHANGEPOINTS, scaling="minmax", uncertainty_samples=0)
    model.fit(pd.DataFrame({"ds": days[train], "y": y[train]}))
    fit = fit_map(days[train], y[train], N_CHANGEPOINTS)
    # same data preparation as Prophet's
    np.testing.assert_allclose(fit.changepoints_t, model.changepoints_t, rtol=0, atol=1e-12)
    assert fit.y_min == pytest.approx(model.y_min) and fit.y_scale == pytest.approx(model.y_scale)
    # a mode at least as high as the one cmdstan's L-BFGS stops at (its lp__)
    ours = _log_posterior(days[train], y[train], fit)
    assert ours >= float(np.ravel(model.params["lp__"])[0]) - 1e-6
    # and a local maximum: no small move of the parameters raises it
    rng = np.random.default_rng(0)
    for _ in range(20):
        step = {k: getattr(fit, k) + 1e-4 * rng.normal(size=np.shape(getattr(fit, k)))
                for k in ("k", "m", "delta", "beta", "sigma_obs")}
        assert _log_posterior(days[train], y[train], type(fit)(**{**fit.__dict__, **step})) <= ours
    # the forecasts agree with Prophet's within a fraction of the residual spread
    expected = model.predict(pd.DataFrame({"ds": days}))["yhat"].to_numpy()
    spread = np.std(y[train] - expected[train])
    assert np.max(np.abs(fit.forecast(days) - expected)) < 0.3 * spread
    np.testing.assert_allclose(_fit_predict(days, y, train, "exact"), fit.forecast(days))


def test_a_constant_series_is_forecast_as_itself_like_prophet():
    days = pd.bdate_range("2019-01-02", periods=150).to_numpy()
    y = np.full(150, 3.25)
    np.testing.assert_allclose(fit_map(days, y, N_CHANGEPOINTS).forecast(days), 3.25)


def test_exact_and_cmdstan_scores_agree_on_synthetic_bars(synthetic_bars):
    from research_lab.core.quality.config import SentinelConfig
    from research_lab.core.quality.sentinel import score_bars

    cfg = dict(prophet_window=160, prophet_min_train=80, use_iforest=False)
    ref = score_bars(synthetic_bars, config=SentinelConfig(prophet_solver="cmdstan", **cfg))
    new = score_bars(synthetic_bars, config=SentinelConfig(prophet_solver="exact", **cfg))
    assert new["prophet_close_z"].notna().sum() > 800
    for col in ("prophet_close_z", "prophet_volume_z"):
        assert np.array_equal(ref[col].isna(), new[col].isna())
        diff = np.abs(ref[col] - new[col]).dropna()
        assert diff.quantile(0.99) < 0.5 and diff.median() < 0.1, col
    assert (ref["severity"] == new["severity"]).mean() > 0.995
