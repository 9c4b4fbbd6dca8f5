"""Shared by the optimize benchmarks: ORCL's real daily bars and the benchmark config."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RESEARCH_LAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def orcl_bars(folder: Path = DATA):
    """ORCL 1995-2014 (5,036 bars) in the bar schema, prices as given."""
    import pandas as pd

    raw = pd.read_csv(folder / "orcl-1995-2014.txt")
    session = pd.to_datetime(raw["Date"])
    return pd.DataFrame({
        "symbol": "ORCL", "session": session,
        "timestamp": (session + pd.Timedelta(hours=21)).dt.tz_localize("UTC"),
        "open": raw["Open"].astype(float), "high": raw["High"].astype(float),
        "low": raw["Low"].astype(float), "close": raw["Close"].astype(float),
        "adj_close": raw["Adj Close"].astype(float), "volume": raw["Volume"].astype(float),
    })


def bench_config(**study):
    """config/optimize.yaml with the market-hours policy off (benchmarks run any time)."""
    from research_lab.core.optimize.config import load_optimize_config

    cfg = load_optimize_config().override("market_hours", policy="ignore")
    return cfg.override("study", **study) if study else cfg
