"""Return series the metrics tests share: real ORCL/YHOO close-to-close and a seeded synthetic.

The real series come from ``../shared/data`` through the ``shared_data`` fixture (skipped with a
reason where that folder is absent). The synthetic one is fat-tailed (Student t, 4 d.o.f.) with
8 % of its days exactly flat, so that the "non-zero days" conventions of quantstats matter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def read_close(shared_data: Path, filename: str) -> pd.Series:
    frame = pd.read_csv(shared_data / filename, parse_dates=["Date"], index_col="Date")
    return frame["Close"].astype("float64")


@pytest.fixture(scope="session")
def orcl_close(shared_data: Path) -> pd.Series:
    return read_close(shared_data, "orcl-1995-2014.txt").rename("ORCL")


@pytest.fixture(scope="session")
def orcl_returns(orcl_close: pd.Series) -> pd.Series:
    """ORCL close-to-close returns, 1995-01-04 .. 2014-12-31 (5,035 values)."""
    return orcl_close.pct_change().dropna()


@pytest.fixture(scope="session")
def yhoo_returns(shared_data: Path) -> pd.Series:
    """YHOO close-to-close returns, used as a benchmark series named "YHOO"."""
    return read_close(shared_data, "yhoo-1996-2015.txt").pct_change().dropna().rename("YHOO")


def make_synthetic(n: int = 2520, seed: int = 20240611) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = 0.0004 + 0.009 * rng.standard_t(df=4, size=n)
    values[rng.random(n) < 0.08] = 0.0
    index = pd.bdate_range("2010-01-04", periods=n, name="session")
    return pd.Series(values, index=index, name="synthetic")


@pytest.fixture(scope="session")
def synthetic_returns() -> pd.Series:
    return make_synthetic()


@pytest.fixture(scope="session", params=["orcl", "synthetic"])
def any_returns(request: pytest.FixtureRequest) -> pd.Series:
    """Each test that takes it runs on the real ORCL returns and on the synthetic series."""
    if request.param == "orcl":
        return request.getfixturevalue("orcl_returns")
    return request.getfixturevalue("synthetic_returns")


@pytest.fixture(scope="session")
def qs():
    """``quantstats.stats`` (imported once per session: ~2 s)."""
    import quantstats.stats

    return quantstats.stats
