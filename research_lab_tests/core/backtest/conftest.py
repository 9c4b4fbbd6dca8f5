"""Bars for the backtest tests: real daily files from ``shared_data`` and seeded synthetic ones.

``load_bars`` reads the Yahoo-style and backtrader-style CSV files of ``../shared/data`` into
the bar schema without rounding. ``synthetic_bars`` is a seeded geometric random walk quoted
in 1/16 dollars with flat stretches, so lines tie exactly (close == SMA, fast SMA == slow SMA)
and backtrader's crossover tie rule is exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research_lab.core.marketdata.schema import validate_bars

REAL_FILES = {
    "ORCL": "orcl-1995-2014.txt",
    "NVDA": "nvda-1999-2014.txt",
    "YHOO": "yhoo-1996-2015.txt",
    "IDX2006": "2006-day-001.txt",
}
TAIL = 1500  # most parity combinations use the last 1,500 bars of the long files


def load_bars(folder: Path, symbol: str) -> pd.DataFrame:
    raw = pd.read_csv(folder / REAL_FILES[symbol])
    session = pd.to_datetime(raw["Date"])
    close = raw["Close"].astype(float)
    return validate_bars(
        pd.DataFrame(
            {
                "symbol": symbol,
                "session": session,
                "timestamp": (session + pd.Timedelta(hours=21)).dt.tz_localize("UTC"),
                "open": raw["Open"].astype(float),
                "high": raw["High"].astype(float),
                "low": raw["Low"].astype(float),
                "close": close,
                "adj_close": raw["Adj Close"].astype(float) if "Adj Close" in raw else close,
                "volume": raw["Volume"].astype(float),
            }
        ),
        source=REAL_FILES[symbol],
    )


def make_synthetic(n: int = 1500, seed: int = 7, start: float = 50.0) -> pd.DataFrame:
    """A seeded GBM-like bar frame quoted in 1/16 dollars (pre-2001 US ticks), with flat
    stretches: binary-exact prices make window sums exact, so lines tie exactly and often."""
    rng = np.random.default_rng(seed)
    tick = 1.0 / 16.0
    steps = rng.normal(0.0003, 0.018, n)
    flat = np.zeros(n, dtype=bool)
    for s in np.flatnonzero(rng.random(n) < 0.02):
        flat[s : s + rng.integers(5, 40)] = True
    steps[flat] = 0.0
    close = np.maximum(np.round(start * np.exp(np.cumsum(steps)) / tick) * tick, tick)
    prev = np.concatenate(([start], close[:-1]))
    gap = np.where(flat | (rng.random(n) < 0.3), 0.0, rng.normal(0.0, 0.006, n))
    open_ = np.maximum(np.round(prev * np.exp(gap) / tick) * tick, tick)
    wick = np.abs(rng.normal(0.0, 0.008, (2, n)))
    high = np.ceil(np.maximum(open_, close) * (1 + wick[0]) / tick) * tick
    low = np.maximum(np.floor(np.minimum(open_, close) * (1 - wick[1]) / tick) * tick, tick)
    session = pd.bdate_range("2010-01-04", periods=n)
    return validate_bars(
        pd.DataFrame(
            {
                "symbol": "SYN",
                "session": session,
                "timestamp": (session + pd.Timedelta(hours=21)).tz_localize("UTC"),
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "adj_close": close,
                "volume": rng.integers(1_000, 100_000, n).astype(float),
            }
        ),
        source="synthetic",
    )


DATASETS = ("ORCL", "NVDA", "YHOO", "IDX2006", "SYN")


@pytest.fixture(scope="session")
def synthetic_bars() -> pd.DataFrame:
    return make_synthetic()


@pytest.fixture(scope="session")
def dataset(request: pytest.FixtureRequest):
    """``dataset(name, full=False)``: bars of one of :data:`DATASETS` (real files need
    ``shared_data``; the long ones are cut to their last :data:`TAIL` bars unless ``full``)."""
    cache: dict[str, pd.DataFrame] = {}

    def get(name: str, full: bool = False) -> pd.DataFrame:
        if name == "SYN":
            return request.getfixturevalue("synthetic_bars")
        if name not in cache:
            cache[name] = load_bars(request.getfixturevalue("shared_data"), name)
        bars = cache[name]
        return bars if full or len(bars) <= TAIL else bars.iloc[-TAIL:].reset_index(drop=True)

    return get
