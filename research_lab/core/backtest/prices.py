"""The price arrays a backtest runs on, taken once from a bar frame.

Both engines read one symbol's bars (the schema of :mod:`research_lab.core.marketdata.schema`)
as float64 numpy arrays: ``open`` (fills), ``high``/``low`` (channels), ``close`` (signals,
marking to market) and ``session`` (the index of equity curves and the dates of orders).
Prices are used as given, with no rounding: backtrader's Yahoo CSV feed rounds to 2 decimals,
its pandas feeds (used here) do not.

:func:`prices_from_bars` checks only what the engines rely on (one symbol, strictly
increasing sessions, finite positive prices); full schema validation belongs where bars enter
the system (:func:`~research_lab.core.marketdata.schema.validate_bars`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .costs import PRICE_BASES
from .params import ParameterError

PRICE_FIELDS = ("open", "high", "low", "close")
# "raw": prices as traded (splits adjusted by the source, dividends not); "adjusted":
# total-return prices, open/high/low/close scaled by adj_close / close of the same bar, so
# dividends are reinvested in the price series itself (signals and fills both use it)

DEFAULT_PRICE_BASIS = PRICE_BASES[0]


@dataclass(frozen=True, eq=False)
class Prices:
    """One symbol's bars as contiguous float64 arrays plus the session index."""

    symbol: str
    sessions: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    basis: str = "raw"  # which prices: see PRICE_BASES
    gaps: dict | None = None  # the gap check's outcome (see .gaps), None when not checked

    def conditions(self) -> dict:
        """How these prices were prepared, for every result: price basis and gap handling."""
        return {"price_basis": self.basis, "gaps": self.gaps}

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def field(self, name: str) -> np.ndarray:
        if name not in PRICE_FIELDS:
            raise ParameterError(f"unknown price field {name!r}; valid: {list(PRICE_FIELDS)}")
        return getattr(self, name)

    def head(self, n: int) -> "Prices":
        """The first ``n`` bars (what a strategy could have seen at bar ``n - 1``)."""
        return self.window(0, n)

    def window(self, start: int, stop: int) -> "Prices":
        """Bars ``start .. stop - 1``."""
        return Prices(
            self.symbol,
            self.sessions[start:stop],
            *(np.ascontiguousarray(getattr(self, f)[start:stop]) for f in PRICE_FIELDS),
            basis=self.basis, gaps=self.gaps,
        )


def prices_from_bars(bars: pd.DataFrame | Prices, basis: str = DEFAULT_PRICE_BASIS) -> Prices:
    """:class:`Prices` from a bar frame of one symbol (a :class:`Prices` passes through).

    ``basis="adjusted"`` scales every price of a bar by ``adj_close / close`` (needs the
    ``adj_close`` column)."""
    if basis not in PRICE_BASES:
        raise ParameterError(f"price_basis={basis!r} is not one of {list(PRICE_BASES)}")
    if isinstance(bars, Prices):
        if bars.basis != basis:
            raise ParameterError(
                f"price_basis={basis!r} but the prices given are {bars.basis!r}"
            )
        return bars
    if not isinstance(bars, pd.DataFrame):
        raise ParameterError(f"bars must be a DataFrame of bars, got {type(bars).__name__}")
    missing = [c for c in ("session", *PRICE_FIELDS) if c not in bars.columns]
    if missing:
        raise ParameterError(f"bars: missing column(s) {', '.join(missing)}")
    if len(bars) < 2:
        raise ParameterError(f"bars: need at least 2 bars, got {len(bars)}")
    symbols = bars["symbol"].unique() if "symbol" in bars.columns else np.array(["?"])
    if len(symbols) != 1:
        raise ParameterError(f"bars: one symbol per backtest, got {sorted(map(str, symbols))}")
    session = bars["session"]
    if not pd.api.types.is_datetime64_any_dtype(session):
        session = pd.to_datetime(session)
    sessions = pd.DatetimeIndex(session, name="session")
    if not sessions.is_monotonic_increasing or sessions.has_duplicates:
        raise ParameterError("bars: sessions must be strictly increasing")
    arrays = []
    for name in PRICE_FIELDS:
        values = np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64))
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ParameterError(f"bars: column {name} must be finite and > 0")
        arrays.append(values)
    if basis == "adjusted":
        if "adj_close" not in bars.columns:
            raise ParameterError("price_basis='adjusted' needs an adj_close column in the bars")
        adj = bars["adj_close"].to_numpy(dtype=np.float64)
        if not (np.isfinite(adj).all() and (adj > 0).all()):
            raise ParameterError("bars: column adj_close must be finite and > 0")
        factor = adj / arrays[3]
        arrays = [np.ascontiguousarray(a * factor) for a in arrays]
    return Prices(str(symbols[0]), sessions, *arrays, basis=basis)
