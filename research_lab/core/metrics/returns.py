"""Daily returns: the one input every metric here starts from.

A *returns series* is a ``pd.Series`` of simple (not log) per-bar returns as fractions
(``0.01`` is +1 %), indexed by session date (a ``DatetimeIndex``, sorted, unique). A backtest
gives an *equity curve* (account value per session); :func:`returns_from_equity` turns it into
returns, and :func:`equity_from_returns` goes back (growth of 1.0).

:func:`clean_returns` is the gate every public function in this package passes its returns
through. It is strict on purpose, because quantstats silently guesses where it should not:

- the leading NaN of ``equity.pct_change()`` is dropped; any other NaN or inf raises (a hole in
  a backtest's returns is a bug upstream, and quantstats would compute ratios over it quietly);
- the index must be (or convert to) a ``DatetimeIndex``: quantstats' drawdown functions subtract
  a day from the first date, and its tearsheet groups by month and year;
- a timezone-aware index is converted to UTC and made naive, as quantstats does;
- a series that quantstats would take for *prices* (no value below 0 and some value above 1)
  raises, since every quantstats metric would then be computed on ``pct_change`` of the returns.

Drawdown convention (shared with quantstats and :mod:`.fast`): the account starts at 1.0 *before*
the first return, so a loss on the very first bar is a drawdown.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def _datetime_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    if isinstance(index, pd.DatetimeIndex):
        out = index
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
                out = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError) as exc:
            kind = type(index).__name__
            raise ValueError(f"{what} needs a date index (DatetimeIndex); got {kind}") from exc
    if out.tz is not None:
        out = out.tz_convert("UTC").tz_localize(None)
    return out


def as_date_series(values: pd.Series, what: str = "series") -> pd.Series:
    """``values`` as float64 on a sorted, unique, naive ``DatetimeIndex`` (a copy)."""
    if not isinstance(values, pd.Series):
        kind = type(values).__name__
        raise TypeError(f"{what} must be a pandas Series indexed by date, got {kind}")
    out = values.astype("float64", copy=True)
    out.index = _datetime_index(values.index, what)
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise ValueError(f"{what} has duplicate dates (first: {dup.date()})")
    if not out.index.is_monotonic_increasing:
        out = out.sort_index()
    return out


def clean_returns(returns: pd.Series, what: str = "returns") -> pd.Series:
    """Validate a returns series for the metrics in this package; see the module docstring."""
    out = as_date_series(returns, what)
    values = out.to_numpy()
    finite = np.isfinite(values)
    if not finite.all():
        first_ok = int(np.argmax(finite)) if finite.any() else len(values)
        if np.isnan(values[:first_ok]).all() and finite[first_ok:].all():
            out = out.iloc[first_ok:]
        else:
            bad = out.index[~finite & (np.arange(len(values)) >= first_ok)][0]
            raise ValueError(f"{what} has a NaN or inf inside the series (first at {bad.date()})")
    if len(out) == 0:
        raise ValueError(f"{what} is empty (after dropping leading NaN)")
    if out.min() >= 0 and out.max() > 1:
        raise ValueError(
            f"{what}: no value below 0 and max {out.max():.4g} > 1, so quantstats would read these "
            "as prices; pass simple returns such as prices.pct_change()"
        )
    return out


def returns_from_equity(equity: pd.Series) -> pd.Series:
    """Per-bar simple returns of an equity curve (one fewer row: the first bar has no return)."""
    eq = as_date_series(equity, "equity")
    if (eq <= 0).any():
        raise ValueError("equity must stay above 0 to have simple returns")
    return eq.pct_change().iloc[1:]


def equity_from_returns(returns: pd.Series, start: float = 1.0) -> pd.Series:
    """Growth of ``start`` through ``returns`` (value *after* each bar)."""
    r = clean_returns(returns)
    return start * (1.0 + r).cumprod()


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Fraction below the running peak (0 at a new high, -0.25 is 25 % under the peak).

    The peak starts at the first value of ``equity``; to count a first-bar loss, start the curve
    at the initial capital (an engine's equity curve does).
    """
    eq = as_date_series(equity, "equity")
    return eq / eq.cummax() - 1.0
