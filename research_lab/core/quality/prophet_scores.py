"""Prophet residual scores of log close and log volume, refit once per calendar year.

For each calendar year Y holding sessions to score, Prophet (linear trend with changepoints,
weekly seasonality) is fitted on the last ``prophet_window`` clean sessions before 1 January Y
and predicts every session from there to the end of Y. The score of session s is the
standardized one-step residual

    z_s = (e_s - rho * e_{s-1}) / sigma_s,    e = actual - Prophet forecast

rho is the lag-1 autocorrelation of the in-sample residuals, clipped to [0, 1] (1 for the
close: a year-long forecast of a price level drifts like the price itself, a random walk, so
only the one-step change is comparable across the year); sigma_s is the robust spread (IQR /
1.349) of the previous ``scale_window`` one-step residuals, so that a volatile month does not
look anomalous day after day, never below a quarter of the in-sample spread. The forecast is
thus anchored on the previous session's actual value, known the evening before.

Close is modelled as the *cleaned* log price: the cumulative sum of the robust, split-adjusted
returns with the returns of rule-critical sessions set to zero, so that a bad tick or an
unadjusted split neither trains the model nor shifts the level it forecasts. Volume is the
split-adjusted log volume; a symbol without volume (an index) gets no volume score. After a
session whose volume residual is beyond the warning threshold, the next session is anchored on
the forecast instead of that actual.

Cost: two fits per calendar year. Prophet's mode is solved in-process by default
(:mod:`.prophet_map`, ~2 ms a fit, so a 5,000-session history costs ~40 fits, ~0.1 s);
``SentinelConfig(prophet_solver="cmdstan")`` fits with Prophet itself (~70 ms a fit, most of
it cmdstan's process start, JSON and pandas).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .config import SentinelConfig
from .thresholds import Thresholds

IQR_TO_SIGMA = 1.0 / 1.349
# one trend changepoint per ~10 weeks of a 2-year window; 25 (Prophet's default) costs 2x
# per fit, mostly in encoding the changepoint matrix as JSON for cmdstan
N_CHANGEPOINTS = 10


def _fit_predict(ds: np.ndarray, y: np.ndarray, train: np.ndarray,
                 solver: str = "exact") -> np.ndarray:
    """Prophet fitted on (ds, y)[train]; the forecast for every ds. ``solver`` "exact" is the
    model's MAP computed in-process (:mod:`.prophet_map`, ~2 ms); "cmdstan" is Prophet itself
    (cmdstan's L-BFGS in a child process, ~70 ms, stopping short of the mode)."""
    if solver == "exact":
        from .prophet_map import fit_map

        ds = np.asarray(ds, dtype="datetime64[ns]")
        y = np.asarray(y, dtype="float64")
        return fit_map(ds[train], y[train], N_CHANGEPOINTS).forecast(ds)
    return _prophet_fit_predict(ds, y, train)


def _prophet_fit_predict(ds: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
    """The reference: Prophet (cmdstan) fitted on (ds, y)[train]; the forecast for every ds."""
    logging.getLogger("prophet.plot").disabled = True  # "Importing plotly failed" at import
    from prophet import Prophet

    noisy = [logging.getLogger(name) for name in ("cmdstanpy", "prophet", "prophet.models")]
    before = [lg.disabled for lg in noisy]
    for lg in noisy:  # two INFO lines per fit; a rare "falling back to Newton" (slower, same fit)
        lg.disabled = True
    try:
        model = Prophet(
            yearly_seasonality=False,
            weekly_seasonality=True,
            daily_seasonality=False,
            n_changepoints=N_CHANGEPOINTS,
            scaling="minmax",  # LBFGS failed (and fell back to Newton, 20x slower) on some
            uncertainty_samples=0,  # windows with the default absmax scaling; minmax did not
        )
        model.fit(pd.DataFrame({"ds": ds[train], "y": y[train]}))
    finally:
        for lg, was in zip(noisy, before):
            lg.disabled = was
    return forecast(model, ds)


def forecast(model, ds: np.ndarray) -> np.ndarray:
    """``model.predict(...)["yhat"]`` of a fitted linear-trend, weekly-only, additive Prophet,
    computed from its parameters in ~1 ms instead of ~30 ms (Prophet's ``predict`` rebuilds its
    feature frames with pandas); a test checks both agree."""
    from prophet import Prophet

    dates = pd.Series(pd.to_datetime(ds))
    t = ((dates - model.start) / model.t_scale).to_numpy(dtype="float64")
    k = np.nanmean(model.params["k"])
    m = np.nanmean(model.params["m"])
    deltas = np.nanmean(model.params["delta"], axis=0)
    floor = model.y_min if model.scaling == "minmax" else 0.0
    trend = Prophet.piecewise_linear(t, deltas, k, m, model.changepoints_t) * model.y_scale + floor
    weekly = model.seasonalities["weekly"]
    x = Prophet.fourier_series(dates, weekly["period"], weekly["fourier_order"])
    beta = np.nanmean(model.params["beta"], axis=0)
    return trend + (x @ beta) * model.y_scale


def _rho(e: np.ndarray, train: np.ndarray) -> float:
    """Lag-1 autocorrelation of the in-sample residuals (consecutive training rows), in [0, 1]."""
    idx = np.flatnonzero(train)
    pairs = idx[1:][np.diff(idx) == 1]
    a, b = e[pairs - 1], e[pairs]
    if len(pairs) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a, b)[0, 1], 0.0, 1.0))


def _standardized(u: np.ndarray, ok: np.ndarray, train: np.ndarray, cfg: SentinelConfig) -> np.ndarray:
    """``u / sigma``: sigma is the robust spread of the previous ``scale_window`` one-step
    residuals (volatility changes within a year), never below a quarter of the in-sample one."""
    q75, q25 = np.percentile(u[train & ok], [75, 25])
    base = max(float(q75 - q25) * IQR_TO_SIGMA, 1e-6)
    series = pd.Series(np.where(ok, u, np.nan)).shift(1)
    roll = series.rolling(cfg.scale_window, min_periods=cfg.min_scale_obs)
    local = ((roll.quantile(0.75) - roll.quantile(0.25)) * IQR_TO_SIGMA).to_numpy()
    sigma = np.where(np.isfinite(local), np.maximum(local, 0.25 * base), base)
    return u / sigma


def _one_step(y_obs: np.ndarray, y_prev: np.ndarray, yhat: np.ndarray, rho: float) -> np.ndarray:
    """One-step residual: e_s - rho * e_{s-1}, anchored on the previous actual ``y_prev``."""
    e_prev = np.r_[np.nan, (y_prev - yhat)[:-1]]
    return (y_obs - yhat) - rho * e_prev


def prophet_scores(
    ev: pd.DataFrame, score_mask: np.ndarray, th: Thresholds, cfg: SentinelConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(close z, volume z) for the rows where ``score_mask`` (NaN without enough history)."""
    n = len(ev)
    close_z, volume_z = np.full(n, np.nan), np.full(n, np.nan)
    if not score_mask.any():
        return close_z, volume_z
    sessions = ev["session"].to_numpy()
    years = pd.DatetimeIndex(sessions).year.to_numpy()
    critical = ev["rule_critical"].to_numpy()
    valid = ev["valid"].to_numpy()
    lr = ev["lr_adj"].to_numpy()
    level = np.cumsum(np.where(valid & ~critical & np.isfinite(lr), lr, 0.0))
    prev_level = np.r_[np.nan, level[:-1]]
    logv = ev["logv_adj"].to_numpy()
    volume = ev["volume"].to_numpy()

    for year in np.unique(years[score_mask]):
        first = int(np.argmax(years >= year))
        usable = np.flatnonzero(valid[:first] & ~critical[:first])[-cfg.prophet_window :]
        if len(usable) < cfg.prophet_min_train:
            continue
        span = np.arange(usable[0], int(np.flatnonzero(years <= year)[-1]) + 1)
        train = np.isin(span, usable)
        block = score_mask[span] & (years[span] == year)
        ok = valid[span] & ~critical[span]
        anchor = level[usable[-1]]
        # close: cleaned log level, anchored so the fit only sees the window's own returns
        y = level[span] - anchor
        yhat = _fit_predict(sessions[span], y, train, cfg.prophet_solver)
        y_obs = prev_level[span] - anchor + np.where(np.isfinite(lr[span]), lr[span], 0.0)
        u = _one_step(y_obs, y, yhat, 1.0)  # a price's forecast error is a random walk
        z = _standardized(u, ok & np.isfinite(u), train, cfg)
        keep = block & valid[span] & np.isfinite(z)
        close_z[span[keep]] = z[keep]
        # volume: split-adjusted log volume, where the symbol trades
        vtrain = train & (volume[span] > 0) & np.isfinite(logv[span])
        if vtrain.sum() < cfg.prophet_min_train or np.std(logv[span][vtrain]) < 1e-6:
            continue
        yv = logv[span]
        vhat = _fit_predict(sessions[span], yv, vtrain, cfg.prophet_solver)
        uv = _one_step(yv, yv, vhat, _rho(yv - vhat, vtrain))
        vok = ok & (volume[span] > 0) & np.isfinite(uv)
        zv = _standardized(uv, vok, vtrain, cfg)
        # after a flagged session, anchor on the forecast instead of that session's actual
        flagged = (np.abs(np.nan_to_num(zv)) >= th.prophet_warn_z) | critical[span]
        plain = _standardized(yv - vhat, vok, vtrain, cfg)
        zv = np.where(np.r_[False, flagged[:-1]], plain, zv)
        keep = block & valid[span] & np.isfinite(zv)
        volume_z[span[keep]] = zv[keep]
    return close_z, volume_z
