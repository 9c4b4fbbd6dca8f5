"""Per-session evidence from daily bars: robust returns, split adjustment, standardized features.

Everything here is causal: the value for a session uses that session's bar and earlier ones.

**Robust reference.** A close is compared with two candidates, the previous close and the last
close that no price rule flagged (no jump, unit error or split-like move), and the candidate
giving the smaller move wins. After a bad tick (a spike, a 100x print) the next session
compares with the last good close and is not flagged again; after a real level change (an
unadjusted split, a crash that holds) it compares with the previous close and is not flagged
either. Either way only the session where the error starts is flagged.

**Split adjustment.** A session whose move is a split ratio (new/old price 1/2, 1/3, 2...) is
flagged; for the features, every earlier bar is rescaled by that ratio, as a split adjustment
would. Rescaling *all* earlier bars by one factor leaves every ratio among bars before the
split unchanged, so using splits detected later in the frame changes nothing for earlier
sessions: causality holds.

**Features** (for the Isolation Forest; robust z's on trailing ``scale_window`` sessions,
median and IQR/1.349, excluding the session itself):

- ``z_ret``: close-to-reference log return; ``z_gap``: open-to-reference log return;
- ``z_range``: log of the high/low range over its trailing median;
- ``z_vol``: log volume against its trailing median and spread.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .config import SentinelConfig
from .thresholds import Thresholds

# new/old price ratios of common splits (2:1 -> 1/2) and reverse splits (1:2 -> 2)
SPLIT_RATIOS = (1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 10, 2.0, 3.0, 4.0, 5.0, 10.0)
LOG_SPLITS = np.log(SPLIT_RATIOS)
LOG_UNIT = math.log(100.0)
FEATURES = ("z_ret", "z_gap", "z_range", "z_vol")
IQR_TO_SIGMA = 1.0 / 1.349
MIN_SIGMA = 1e-4
FEATURE_CLIP = 50.0


def to_daily(bars: pd.DataFrame) -> pd.DataFrame:
    """One row per session (several bars of a session are aggregated), sorted by session."""
    need = ("session", "open", "high", "low", "close", "volume")
    missing = [c for c in need if c not in bars.columns]
    if missing:
        raise ValueError(f"bars: missing column(s) {', '.join(missing)}")
    frame = bars.copy()
    frame["session"] = pd.to_datetime(frame["session"]).dt.normalize().astype("datetime64[ns]")
    frame = frame.sort_values("session", kind="stable")
    if frame["session"].duplicated().any():
        frame = frame.groupby("session", as_index=False, sort=True).agg(
            open=("open", "first"), high=("high", "max"), low=("low", "min"),
            close=("close", "last"), volume=("volume", "sum"),
        )
    cols = [c for c in ("session", "open", "high", "low", "close", "adj_close", "volume") if c in frame]
    out = frame[cols].reset_index(drop=True)
    for c in cols[1:]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out


def _trailing(values: np.ndarray, window: int, min_obs: int, q: float) -> np.ndarray:
    """Trailing quantile over the previous ``window`` values (excluding the current one)."""
    s = pd.Series(values).shift(1)
    return s.rolling(window, min_periods=min_obs).quantile(q).to_numpy()


def _robust_loc_scale(values: np.ndarray, cfg: SentinelConfig, floor: float):
    w, m = cfg.scale_window, cfg.min_scale_obs
    med = _trailing(values, w, m, 0.5)
    iqr = _trailing(values, w, m, 0.75) - _trailing(values, w, m, 0.25)
    return med, np.maximum(iqr * IQR_TO_SIGMA, floor)


def _reference_pass(close, valid, sigma, mu, th: Thresholds):
    """The sequential part: robust reference, unit errors, split-like moves (see module doc)."""
    n = len(close)
    lr = np.full(n, np.nan)
    ref = np.full(n, np.nan)
    unit = np.zeros(n, dtype=bool)
    split = np.full(n, np.nan)
    prev = clean = np.nan
    # no split ratio within split_tolerance of a smaller move: skip the search (same result)
    split_reach = float(np.min(np.abs(LOG_SPLITS))) - th.split_tolerance
    # Python lists: indexing them per row is several times cheaper than numpy scalars
    closes, valids = np.asarray(close, dtype="float64").tolist(), np.asarray(valid).tolist()
    sigmas = np.asarray(sigma, dtype="float64").tolist()
    mus = np.asarray(mu, dtype="float64").tolist()
    unit_tol, jump_warn_z = th.unit_tolerance, th.jump_warn_z
    for i in range(n):
        c = closes[i]
        if not valids[i]:
            continue
        if prev != prev:  # first valid bar: nothing to compare with
            prev = clean = c
            continue
        a, b = math.log(c / prev), math.log(c / clean)
        r, x = (prev, a) if abs(a) <= abs(b) else (clean, b)
        lr[i], ref[i] = x, r
        s = sigmas[i] if sigmas[i] == sigmas[i] else 0.02
        m = mus[i] if mus[i] == mus[i] else 0.0
        if abs(abs(x) - LOG_UNIT) < unit_tol:
            unit[i] = True
        elif abs(x) > split_reach:
            k = int(np.argmin(np.abs(LOG_SPLITS - x)))
            if abs(LOG_SPLITS[k] - x) < th.split_tolerance and abs(x - m) / s >= th.split_min_z:
                split[i] = SPLIT_RATIOS[k]
        prev = c
        if not unit[i] and split[i] != split[i] and abs(x - m) / s < jump_warn_z:
            clean = c
    return lr, ref, unit, split


def _stale_length(o, h, l, c, v) -> np.ndarray:
    """Bars in the current run of identical OHLC (1 = not a repeat); a flat bar at the previous
    close with zero volume counts as a repeat too."""
    same = np.zeros(len(c), dtype=bool)
    if len(c) > 1:
        same[1:] = (o[1:] == o[:-1]) & (h[1:] == h[:-1]) & (l[1:] == l[:-1]) & (c[1:] == c[:-1])
        flat = (o[1:] == c[1:]) & (h[1:] == c[1:]) & (l[1:] == c[1:]) & (c[1:] == c[:-1])
        same[1:] |= flat & (v[1:] == 0)
    idx = np.arange(len(c))
    starts = np.maximum.accumulate(np.where(~same, idx, 0))
    return idx - starts + 1


def compute_evidence(daily: pd.DataFrame, th: Thresholds, cfg: SentinelConfig) -> pd.DataFrame:
    """Rule inputs and model features for every row of ``daily`` (from :func:`to_daily`)."""
    o, h, l, c, v = (daily[k].to_numpy(dtype="float64")
                     for k in ("open", "high", "low", "close", "volume"))
    prices = [o, h, l, c]
    if "adj_close" in daily:
        prices.append(daily["adj_close"].to_numpy(dtype="float64"))
    with np.errstate(invalid="ignore"):
        valid = np.logical_and.reduce([np.isfinite(p) & (p > 0) for p in prices])
        top, bottom = np.maximum(o, c), np.minimum(o, c)
        tol = 1e-9 * np.abs(c)
        ohlc_ok = ~valid | ((h + tol >= top) & (l - tol <= bottom) & (h + tol >= l))
    n = len(c)
    safe_c = np.where(valid, c, np.nan)
    prev_c = pd.Series(safe_c).ffill().shift(1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_lr = np.log(safe_c / prev_c)
    mu, sigma = _robust_loc_scale(raw_lr, cfg, MIN_SIGMA)
    lr, ref, unit, split = _reference_pass(c, valid, sigma, mu, th)

    log_split = np.where(np.isnan(split), 0.0, np.log(np.where(np.isnan(split), 1.0, split)))
    lr_adj = lr - log_split
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_adj = np.log(np.where(valid, o, np.nan) / ref) - log_split
        rng = np.log(np.where(valid, h, np.nan) / np.where(valid, l, np.nan))
        logv = np.log1p(np.where(np.isfinite(v) & (v >= 0), v, np.nan))
    # rescale earlier volumes by later splits (a 2:1 split doubles the share count)
    later = np.cumsum(log_split[::-1])[::-1] - log_split
    logv_adj = logv - later
    jump_z = (lr_adj - mu) / sigma
    rng_med = _trailing(np.abs(rng), cfg.scale_window, cfg.min_scale_obs, 0.5)
    v_med, v_sig = _robust_loc_scale(logv_adj, cfg, 0.05)
    finite_v = np.where(np.isfinite(v), v, np.nan)
    vol_med_raw = _trailing(finite_v, cfg.scale_window, cfg.min_scale_obs, 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = {
            "z_ret": jump_z,
            "z_gap": (gap_adj - mu) / sigma,
            "z_range": np.log((np.abs(rng) + 1e-4) / (rng_med + 1e-4)),
            "z_vol": np.where(v_med > 0, (logv_adj - v_med) / v_sig, 0.0),
        }
    out = pd.DataFrame({
        "session": daily["session"].to_numpy(),
        "open": o, "high": h, "low": l, "close": c, "volume": v,
        "valid": valid, "ohlc_ok": ohlc_ok, "ref": ref,
        "ratio": np.where(np.isfinite(ref), c / np.where(np.isfinite(ref), ref, 1.0), np.nan),
        "lr_adj": lr_adj, "jump_z": jump_z, "unit": unit, "split": split,
        "stale_len": _stale_length(o, h, l, c, v) if n else np.zeros(0, dtype=int),
        "zero_volume": valid & (v == 0) & (np.nan_to_num(vol_med_raw) > 0),
        "logv_adj": logv_adj,
    })
    for name in FEATURES:
        out[name] = np.clip(feats[name], -FEATURE_CLIP, FEATURE_CLIP)
    stale_crit = out["stale_len"].to_numpy() >= th.stale_run
    out["rule_critical"] = ~valid | ~ohlc_ok | unit | ~np.isnan(split) | stale_crit
    out["rule_any"] = out["rule_critical"] | (out["stale_len"].to_numpy() >= 2) | out["zero_volume"] | (
        np.abs(np.nan_to_num(jump_z)) >= th.jump_warn_z
    )
    return out
