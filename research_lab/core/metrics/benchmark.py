"""Strategy against a benchmark: a ``pd.Series`` of the benchmark's daily returns, never a ticker.

quantstats accepts a ticker string as benchmark and then calls yfinance to download it; offline,
that download fails quietly and the benchmark is dropped. Here a string raises ``TypeError``
before quantstats is touched, and so does anything else that is not a Series: fetch the
benchmark's bars yourself (market data store, CSV) and pass ``close.pct_change()``.

:func:`align_benchmark` pairs the two series by date (inner join: dates both have) and raises
``ValueError`` when fewer than two dates overlap. Every metric below is computed on that overlap,
so quantstats never reindexes or back-fills the benchmark itself.

=================== ===========================================================================
name                definition (quantstats function where there is one)
=================== ===========================================================================
alpha               (mean(r) - beta * mean(b)) * periods: annualized arithmetic Jensen's alpha,
                    rf not subtracted (``greeks``)
beta                cov(r, b) / var(b), sample covariance (``greeks``)
r_squared           squared Pearson correlation from a linear regression (``r_squared``)
information_ratio   mean(r - b) / std(r - b), *per bar, not annualized* (``information_ratio``);
                    multiply by sqrt(periods) for the annualized figure
tracking_error      std(r - b, ddof=1) * sqrt(periods), annualized (implemented here)
correlation         Pearson correlation of r and b (pandas ``Series.corr``, as quantstats'
                    report shows it)
up_capture          mean(r on days b > 0) / mean(b on days b > 0), daily arithmetic means
                    (implemented here); > 1 means the strategy gains more on up days
down_capture        mean(r on days b < 0) / mean(b on days b < 0) (implemented here); < 1 means
                    the strategy loses less on down days
=================== ===========================================================================
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._quantstats import as_float, qs_stats, quiet
from .returns import clean_returns

DEFINITIONS: dict[str, str] = {
    "alpha": "annualized Jensen's alpha: (mean(r) - beta * mean(b)) * periods (quantstats greeks)",
    "beta": "cov(r, b) / var(b) (quantstats greeks)",
    "r_squared": "squared correlation of r and b from a regression (quantstats r_squared)",
    "information_ratio": "mean(r - b) / std(r - b), per bar (quantstats information_ratio)",
    "tracking_error": "annualized std of r - b: std(ddof=1) * sqrt(periods)",
    "correlation": "Pearson correlation of r and b",
    "up_capture": "mean r / mean b over days with b > 0",
    "down_capture": "mean r / mean b over days with b < 0",
}
NAMES: tuple[str, ...] = tuple(DEFINITIONS)


def check_benchmark(benchmark: object) -> None:
    """Raise ``TypeError`` unless ``benchmark`` is a ``pd.Series`` (a ticker string never is)."""
    if isinstance(benchmark, str):
        raise TypeError(
            f"benchmark must be a pd.Series of daily returns, not the ticker {benchmark!r}: "
            "research_lab never downloads a benchmark; load its bars and pass close.pct_change()"
        )
    if not isinstance(benchmark, pd.Series):
        kind = type(benchmark).__name__
        raise TypeError(f"benchmark must be a pd.Series of daily returns, got {kind}")


def align_benchmark(returns: pd.Series, benchmark: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(returns, benchmark)`` restricted to the dates both have, in date order."""
    check_benchmark(benchmark)
    r = clean_returns(returns, "returns")
    b = clean_returns(benchmark, "benchmark")
    common = r.index.intersection(b.index)
    if len(common) < 2:
        raise ValueError(
            f"benchmark and returns share {len(common)} date(s), need at least 2: returns cover "
            f"{r.index[0].date()}..{r.index[-1].date()}, benchmark {b.index[0].date()}.."
            f"{b.index[-1].date()}"
        )
    b_aligned = b.loc[common]
    b_aligned.name = benchmark.name
    return r.loc[common], b_aligned


def _capture(r: np.ndarray, b: np.ndarray, days: np.ndarray) -> float:
    if not days.any():
        return math.nan
    return float(r[days].mean() / b[days].mean())


def benchmark_metrics(
    returns: pd.Series, benchmark: pd.Series, *, periods: int = 252
) -> dict[str, float]:
    """The metrics of :data:`NAMES` on the dates ``returns`` and ``benchmark`` share."""
    r, b = align_benchmark(returns, benchmark)
    qs = qs_stats()
    with quiet():
        greeks = qs.greeks(r, b, periods=periods)
        out = {
            "alpha": greeks["alpha"],
            "beta": greeks["beta"],
            # quantstats' regression raises on a constant series (a strategy never in the
            # market): R² is undefined there
            "r_squared": qs.r_squared(r, b) if r.nunique() > 1 and b.nunique() > 1 else math.nan,
            "information_ratio": qs.information_ratio(r, b),
        }
        active = (r - b).to_numpy()
        out["tracking_error"] = float(active.std(ddof=1) * np.sqrt(periods))
        out["correlation"] = r.corr(b)
        rv, bv = r.to_numpy(), b.to_numpy()
        out["up_capture"] = _capture(rv, bv, bv > 0)
        out["down_capture"] = _capture(rv, bv, bv < 0)
    return {name: as_float(out[name]) for name in NAMES}
