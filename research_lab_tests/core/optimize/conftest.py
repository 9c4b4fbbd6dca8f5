"""Bars and settings for the optimization tests: a seeded random walk with regimes (fast to
make, long enough for 4 folds + a held-out period) and a config that never waits on the clock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research_lab.core.optimize.config import load_optimize_config


def make_bars(n: int = 1200, seed: int = 3, symbol: str = "ACME") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.normal(0.0, 0.002, n // 100 + 1), 100)[:n]
    close = 50 * np.exp(np.cumsum(drift + rng.normal(0, 0.012, n)))
    open_ = close * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * 1.004
    low = np.minimum(open_, close) * 0.996
    session = pd.bdate_range("2015-01-02", periods=n)
    return pd.DataFrame({
        "symbol": symbol, "session": session,
        "timestamp": (session + pd.Timedelta(hours=21)).tz_localize("UTC"),
        "open": open_, "high": high, "low": low, "close": close, "adj_close": close,
        "volume": np.full(n, 1e6),
    })


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    return make_bars()


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """config/optimize.yaml with market hours ignored and quick heartbeats; RESEARCH_LAB_HOME
    in a temporary folder (the embedded journal lands there)."""
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.delenv("RESEARCH_LAB_OPTUNA_STORAGE", raising=False)
    c = load_optimize_config()
    c = c.override("market_hours", policy="ignore")
    c = c.override("storage", heartbeat_interval=1, grace_period=2)
    return c.override("study", workers=1, n_trials=20)
