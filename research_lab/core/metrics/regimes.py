"""Regime-aware analysis: how a strategy did in bull / bear markets, calm / stressed.

Four regimes, from a market index (the benchmark's close) and a volatility gauge:

============== ==================================== ========================================
regime         trend (index close vs its SMA)       volatility level
============== ==================================== ========================================
bull_low_vol   close > 200-day SMA                  < 20
bull_high_vol  close > 200-day SMA                  >= 20
bear_low_vol   close <= 200-day SMA                 < 20
bear_high_vol  close <= 200-day SMA                 >= 20
============== ==================================== ========================================

*No look-ahead*: the regime of day t uses only closes up to and including day t (a trailing
``rolling(200).mean()``, never a centred window or a full-sample statistic), so changing any later
price never changes day t's regime (tested). Day t's return (close t-1 to close t) is labelled
with day t's regime. ``lag=1`` labels it with the regime known at the previous close instead, as
a trading rule would see it.

Volatility level, and where it comes from (``vol_source`` column and ``table.attrs``):

- ``"vix"``: the VIX close of the same date, when ``vix_close`` is given;
- ``"realized_vol_21d"``: otherwise a stand-in, the index's 21-day realized volatility,
  annualized and in VIX points: ``close.pct_change().rolling(21).std() * sqrt(252) * 100``. VIX
  is a 30-day *implied* volatility of the S&P 500 and runs a few points above realized volatility
  on average, so the stand-in labels slightly fewer days "high" than VIX would; the threshold
  stays 20 so that the two read the same way.

Days without a regime (the first 199 index days, a missing VIX print, dates the index does not
have) are left out of every row; ``table.attrs["unclassified_days"]`` counts them.

Per regime, over the strategy's returns on that regime's days, taken in date order and stitched
together (a regime's days are rarely contiguous):

================== ============================================================================
column             definition
================== ============================================================================
days               number of returns in the regime
time_fraction      days / all classified days (the four rows sum to 1)
total_return       prod(1 + r) - 1
annualized_return  (1 + total_return) ** (252 / days) - 1 (quantstats' CAGR convention)
sharpe_ratio       mean / std(ddof=1) * sqrt(252), rf = 0
volatility         std(ddof=1) * sqrt(252)
max_drawdown       worst fall of the stitched equity curve (starting at 1.0)
win_rate           positive days / non-zero days (quantstats' convention)
================== ============================================================================

A regime with no day has ``days == 0`` and NaN metrics; with one day, NaN Sharpe and volatility.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import fast
from .returns import as_date_series, clean_returns

REGIMES: tuple[tuple[str, str, str], ...] = (
    ("bull_low_vol", "bull", "low"),
    ("bull_high_vol", "bull", "high"),
    ("bear_low_vol", "bear", "low"),
    ("bear_high_vol", "bear", "high"),
)
METRIC_COLUMNS: tuple[str, ...] = (
    "days",
    "time_fraction",
    "total_return",
    "annualized_return",
    "sharpe_ratio",
    "volatility",
    "max_drawdown",
    "win_rate",
)


def classify_regimes(
    index_close: pd.Series,
    vix_close: pd.Series | None = None,
    *,
    sma_window: int = 200,
    vol_threshold: float = 20.0,
    realized_window: int = 21,
    periods: int = 252,
) -> pd.DataFrame:
    """Per date of ``index_close``: ``close, sma, vol_level, trend, vol_regime, regime``.

    ``regime`` is None where the SMA or the volatility level is not defined yet (or VIX is
    missing that day). ``frame.attrs["vol_source"]`` says which volatility gauge was used.
    """
    close = as_date_series(index_close, "index_close")
    sma = close.rolling(sma_window, min_periods=sma_window).mean()
    if vix_close is not None:
        vol_level = as_date_series(vix_close, "vix_close").reindex(close.index)
        source = "vix"
    else:
        realized = close.pct_change().rolling(realized_window, min_periods=realized_window).std()
        vol_level = realized * math.sqrt(periods) * 100.0
        source = f"realized_vol_{realized_window}d"
    defined = sma.notna() & vol_level.notna()
    trend = np.where(close > sma, "bull", "bear")
    vol_regime = np.where(vol_level < vol_threshold, "low", "high")
    regime = pd.Series(trend, index=close.index) + "_" + vol_regime + "_vol"
    frame = pd.DataFrame(
        {
            "close": close,
            "sma": sma,
            "vol_level": vol_level,
            "trend": pd.Series(trend, index=close.index).where(defined),
            "vol_regime": pd.Series(vol_regime, index=close.index).where(defined),
            "regime": regime.where(defined),
        }
    )
    frame.attrs["vol_source"] = source
    return frame


def _segment(values: np.ndarray, periods: int) -> dict[str, float]:
    n = values.size
    nan = math.nan
    if n == 0:
        return dict.fromkeys(METRIC_COLUMNS[2:], nan)
    total = fast.total_return(values)
    nonzero = np.count_nonzero(values)
    return {
        "total_return": total,
        "annualized_return": fast.cagr(values, periods),
        "sharpe_ratio": fast.sharpe_ratio(values, periods) if n > 1 else nan,
        "volatility": fast.volatility(values, periods) if n > 1 else nan,
        "max_drawdown": fast.max_drawdown(values),
        "win_rate": float((values > 0).sum() / nonzero) if nonzero else nan,
    }


def regime_table(
    returns: pd.Series,
    index_close: pd.Series,
    vix_close: pd.Series | None = None,
    *,
    sma_window: int = 200,
    vol_threshold: float = 20.0,
    realized_window: int = 21,
    periods: int = 252,
    lag: int = 0,
) -> pd.DataFrame:
    """One row per regime (in :data:`REGIMES` order) with the metrics of :data:`METRIC_COLUMNS`.

    Args:
        returns: the strategy's per-bar returns, indexed by session date.
        index_close: the market index's close (prices, not returns), ideally starting at least
            ``sma_window`` sessions before ``returns`` so that no early day goes unclassified.
        vix_close: VIX close by date; without it, the realized-volatility stand-in is used.
        lag: label day t's return with the regime of ``lag`` index sessions earlier.
    """
    r = clean_returns(returns)
    regimes = classify_regimes(
        index_close,
        vix_close,
        sma_window=sma_window,
        vol_threshold=vol_threshold,
        realized_window=realized_window,
        periods=periods,
    )
    if not r.index.isin(regimes.index).any():
        raise ValueError(
            f"index_close ({regimes.index[0].date()}..{regimes.index[-1].date()}) shares no date "
            f"with returns ({r.index[0].date()}..{r.index[-1].date()})"
        )
    labels = regimes["regime"].shift(lag) if lag else regimes["regime"]
    labels = labels.reindex(r.index)
    classified = int(labels.notna().sum())
    source = regimes.attrs["vol_source"]
    rows = []
    for name, trend, vol in REGIMES:
        values = r.to_numpy()[(labels == name).to_numpy()]
        rows.append(
            {
                "regime": name,
                "trend": trend,
                "vol_regime": vol,
                "days": int(values.size),
                "time_fraction": values.size / classified if classified else math.nan,
                **_segment(values, periods),
                "vol_source": source,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs.update(
        vol_source=source,
        unclassified_days=len(r) - classified,
        sma_window=sma_window,
        vol_threshold=vol_threshold,
        lag=lag,
    )
    return table
