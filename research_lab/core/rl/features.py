"""Market features of the observation: what the agent knows at the close of bar t.

Every column at row t is computed from bars 0..t only: trailing windows and recursions that
run forward in time, never a centred window, a full-sample mean or a later bar (tested: row t
is bit-identical when every bar after t changes). Features are scale-free (returns, ratios),
so no statistic of the data is fitted, and clipped to ``±CLIP``:

=================== ===========================================================================
column              definition at bar t (percent units: 0.01 -> 1.0)
=================== ===========================================================================
``ret_k``           log(close[t-k] / close[t-k-1]) x 100, k = 0 .. window - 1
``trend_10``        (close / SMA(close, 10) - 1) x 100
``trend_50``        (close / SMA(close, 50) - 1) x 100
``rsi_14``          (RSI(14), Wilder smoothing) / 50 - 1, in [-1, 1]
``vol_20``          standard deviation of the last 20 ``ret_0`` values (percent)
``range``           (high - low) / close x 100
``gap``             log(open / previous close) x 100
``volume_z``        log(volume / mean volume of the last 20 bars), 0 without volume
=================== ===========================================================================

The first :func:`warmup` bars lack a full window; the environment starts trading after them
(or takes them from the bars before its trading period, which are history, not look-ahead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLIP = 10.0
INDICATORS = ("trend_10", "trend_50", "rsi_14", "vol_20", "range", "gap", "volume_z")
LONGEST = 50  # the longest indicator window (SMA 50)


def feature_names(window: int) -> tuple[str, ...]:
    return (*(f"ret_{k}" for k in range(window)), *INDICATORS)


def warmup(window: int) -> int:
    """The first bar whose features are all defined."""
    return max(window, LONGEST, 21)


def compute_features(bars: pd.DataFrame, window: int) -> np.ndarray:
    """A float32 matrix, one row per bar, columns :func:`feature_names` (NaN before warmup)."""
    close = bars["close"].to_numpy(dtype=np.float64)
    prev = np.concatenate(([np.nan], close[:-1]))
    ret = pd.Series(np.log(close / prev) * 100.0)
    lags = np.column_stack([ret.shift(k).to_numpy() for k in range(window)])
    c = pd.Series(close)
    trend_10 = (close / c.rolling(10).mean().to_numpy() - 1.0) * 100.0
    trend_50 = (close / c.rolling(LONGEST).mean().to_numpy() - 1.0) * 100.0
    delta = c.diff()
    gain = delta.clip(lower=0.0).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    loss = (-delta.clip(upper=0.0)).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    total = (gain + loss).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = np.where(total > 0, gain.to_numpy() / total, 0.5) * 2.0 - 1.0
    rsi[np.isnan(total)] = np.nan
    vol_20 = ret.rolling(20).std().to_numpy()
    high = bars["high"].to_numpy(dtype=np.float64)
    low = bars["low"].to_numpy(dtype=np.float64)
    range_ = (high - low) / close * 100.0
    gap = np.log(bars["open"].to_numpy(dtype=np.float64) / prev) * 100.0
    volume = bars["volume"].to_numpy(dtype=np.float64) if "volume" in bars else np.zeros(len(close))
    mean_volume = pd.Series(volume).rolling(20).mean().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        volume_z = np.where((volume > 0) & (mean_volume > 0), np.log(volume / mean_volume), 0.0)
    volume_z[np.isnan(mean_volume)] = np.nan
    matrix = np.column_stack([lags, trend_10, trend_50, rsi, vol_20, range_, gap, volume_z])
    return np.clip(matrix, -CLIP, CLIP).astype(np.float32)
