"""The synthetic source: deterministic, valid, fast, and shaped like a real market."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research_lab.core.marketdata.schema import BAR_COLUMNS, data_version, validate_bars
from research_lab.core.marketdata.sources import SourceError, SyntheticSource, make_source

START, END = date(2000, 1, 3), date(2024, 12, 31)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def src() -> SyntheticSource:
    return SyntheticSource(seed=42)


@pytest.fixture(scope="module")
def market(src) -> pd.DataFrame:
    """Daily log returns of every symbol, 2000..2024, one column per symbol."""
    closes = {s: src.fetch(s, START, END).set_index("session")["adj_close"] for s in src.symbols()}
    return np.log(pd.DataFrame(closes)).diff().dropna()


def test_universe_always_has_the_index_and_vix():
    assert SyntheticSource().symbols() == ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE",
                                           "^GSPC", "^VIX"]
    assert SyntheticSource(symbols=["xyz"]).symbols() == ["XYZ", "^GSPC", "^VIX"]


def test_bars_are_valid_and_on_sessions(src):
    bars = src.fetch("ACME", date(2024, 7, 1), date(2024, 7, 8))
    assert tuple(bars.columns) == BAR_COLUMNS
    pd.testing.assert_frame_equal(validate_bars(bars), bars)
    assert [d.date() for d in bars["session"]] == src.calendar.sessions("2024-07-01", "2024-07-08")
    early = bars.set_index("session").loc["2024-07-03", "timestamp"]
    assert early == pd.Timestamp("2024-07-03 17:00Z")  # 13:00 New York early close


def test_same_seed_same_bars_other_seed_other_bars(src):
    a = src.fetch("INITECH", date(2010, 1, 1), date(2010, 12, 31))
    b = SyntheticSource(seed=42, symbols=["INITECH"]).fetch("INITECH", date(2010, 1, 1),
                                                            date(2010, 12, 31))
    c = SyntheticSource(seed=43).fetch("INITECH", date(2010, 1, 1), date(2010, 12, 31))
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"], c["close"])


def test_one_session_equals_the_slice_of_a_range(src):
    whole = src.fetch("WAYNE", date(2015, 1, 1), date(2015, 12, 31)).set_index("session")
    for day in (date(2015, 1, 2), date(2015, 6, 15), date(2015, 12, 31)):
        alone = src.fetch("WAYNE", day, day)
        assert len(alone) == 1
        pd.testing.assert_series_equal(alone.set_index("session").iloc[0], whole.loc[str(day)])


def test_bars_do_not_depend_on_the_process():
    code = (
        "from datetime import date\n"
        "from research_lab.core.marketdata.schema import data_version\n"
        "from research_lab.core.marketdata.sources import SyntheticSource\n"
        "print(data_version(SyntheticSource(seed=7).fetch('ACME', date(2020, 3, 2), "
        "date(2020, 3, 31))))\n"
    )
    here = data_version(SyntheticSource(seed=7).fetch("ACME", date(2020, 3, 2), date(2020, 3, 31)))
    env = {**os.environ, "PYTHONHASHSEED": "123"}  # another salt for str hash()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == here


def test_holidays_weekends_and_days_before_the_start_are_empty(src):
    assert src.fetch("ACME", date(2024, 7, 4), date(2024, 7, 4)).empty
    assert src.fetch("ACME", date(2024, 7, 6), date(2024, 7, 7)).empty
    assert src.fetch("^VIX", date(1995, 1, 1), date(1999, 12, 31)).empty
    first = src.fetch("ACME", date(1995, 1, 1), date(2000, 1, 5))
    assert first["session"].iloc[0] == pd.Timestamp("2000-01-03")


def test_no_bars_after_the_last_completed_session(src):
    assert src.fetch("ACME", date(2031, 1, 1), date(2031, 12, 31)).empty
    fixed = SyntheticSource(end="2024-01-05").fetch("ACME", date(2024, 1, 1), date(2024, 1, 31))
    assert fixed["session"].iloc[-1] == pd.Timestamp("2024-01-05")


def test_unknown_symbol_is_an_error_not_an_empty_frame(src):
    with pytest.raises(SourceError, match="synthetic source has no symbol 'NOPE'"):
        src.fetch("NOPE", date(2024, 1, 2), date(2024, 1, 2))


def test_the_path_is_generated_once_per_process(src):
    """Later fetches slice a cached path (speed lives in benchmarks, not in a timed test)."""
    from research_lab.core.marketdata.sources import synthetic

    src.fetch("GLOBEX", START, END)
    before = synthetic._path.cache_info().misses
    bars = src.fetch("GLOBEX", START, END)
    src.fetch("GLOBEX", date(2010, 1, 4), date(2010, 1, 8))
    assert synthetic._path.cache_info().misses == before
    assert len(bars) > 6000


def test_returns_have_fat_tails(market):
    for symbol in ("^GSPC", "ACME", "INITECH"):
        pearson_kurtosis = market[symbol].kurt() + 3.0
        assert pearson_kurtosis > 4.0, symbol


def test_stocks_move_with_the_index(market):
    index = market["^GSPC"]
    for symbol in ("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE"):
        beta = market[symbol].cov(index) / index.var()
        assert 0.4 < beta < 1.8, (symbol, beta)
        assert market[symbol].corr(index) > 0.3, symbol
    assert market["^VIX"].corr(index) < -0.3  # the fear gauge rises when the market falls


def test_index_is_plausible(src, market):
    gspc = src.fetch("^GSPC", START, END)
    assert (gspc["adj_close"] == gspc["close"]).all()
    assert 1000 < gspc["close"].iloc[0] < 2000
    annual_vol = market["^GSPC"].std() * np.sqrt(252)
    assert 0.10 < annual_vol < 0.30


def test_vix_tracks_the_regime(src):
    vix = src.fetch("^VIX", START, END).set_index("session")["close"]
    regime = src.regimes(START, END)
    assert regime.index.equals(vix.index)
    assert set(regime) == {"calm", "volatile", "crash"}
    by_regime = vix.groupby(regime).mean()
    assert 10 < by_regime["calm"] < 20
    assert by_regime["volatile"] > 20
    assert by_regime["crash"] > by_regime["volatile"]
    assert vix.max() > 40  # crashes spike it
    assert 0.8 < vix.between(10, 40).mean()  # typically 10..40
    assert (src.fetch("^VIX", START, END)["volume"] == 0).all()


def test_volume_rises_with_absolute_returns(src, market):
    volume = src.fetch("ACME", START, END).set_index("session")["volume"]
    assert np.log(volume.loc[market.index]).corr(market["ACME"].abs()) > 0.3


def test_dividend_payers_have_an_adjusted_close_below_the_close(src):
    bars = [src.fetch(s, START, END) for s in ("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE")]
    ratios = [(b["adj_close"] / b["close"]).iloc[0] for b in bars]
    assert all(0 < r <= 1 for r in ratios)
    assert any(r < 0.99 for r in ratios)


def test_factory_builds_it():
    source = make_source("synthetic", seed=3, symbols=("AAA",), calendar="XNYS")
    assert isinstance(source, SyntheticSource) and source.name == "synthetic"
    assert source.symbols() == ["AAA", "^GSPC", "^VIX"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        SyntheticSource(seed=-1)
    with pytest.raises(ValueError, match="after end"):
        SyntheticSource().fetch("ACME", date(2024, 2, 1), date(2024, 1, 1))
