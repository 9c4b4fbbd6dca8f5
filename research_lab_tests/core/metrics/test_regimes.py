"""Regime table: labels recomputed independently, no look-ahead, per-regime metrics by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import REGIMES, classify_regimes, markdown_table, regime_table

N = 700


@pytest.fixture(scope="module")
def index_close() -> pd.Series:
    """A random-walk index with a calm first half and a stormy second half."""
    rng = np.random.default_rng(11)
    vol = np.where(np.arange(N) < N // 2, 0.006, 0.02)
    steps = rng.normal(0.0003, 1.0, N) * vol
    return pd.Series(1000 * np.cumprod(1 + steps), index=pd.bdate_range("2015-01-01", periods=N))


@pytest.fixture(scope="module")
def strategy(index_close: pd.Series) -> pd.Series:
    rng = np.random.default_rng(12)
    r = 0.8 * index_close.pct_change() + rng.normal(0, 0.004, N)
    return r.iloc[1:]


def expected_labels(close: np.ndarray, vol_level: np.ndarray, window: int = 200) -> list:
    """Trailing SMA with a plain loop: only closes up to and including day t."""
    labels = []
    for t in range(close.size):
        if t + 1 < window or math.isnan(vol_level[t]):
            labels.append(None)
            continue
        sma = close[t + 1 - window : t + 1].sum() / window
        trend = "bull" if close[t] > sma else "bear"
        labels.append(f"{trend}_{'low' if vol_level[t] < 20 else 'high'}_vol")
    return labels


def realized_vol(close: np.ndarray, window: int = 21) -> np.ndarray:
    rets = close[1:] / close[:-1] - 1
    out = np.full(close.size, np.nan)
    for t in range(window, close.size):
        out[t] = rets[t - window : t].std(ddof=1) * math.sqrt(252) * 100
    return out


def test_labels_with_the_realized_volatility_stand_in(index_close: pd.Series) -> None:
    frame = classify_regimes(index_close)
    close = index_close.to_numpy()
    expected = expected_labels(close, realized_vol(close))
    got = [None if pd.isna(x) else x for x in frame["regime"]]
    assert got == expected
    assert frame.attrs["vol_source"] == "realized_vol_21d"
    assert set(got) - {None} == {name for name, _, _ in REGIMES}  # all four occur


def test_labels_with_vix(index_close: pd.Series) -> None:
    vix = pd.Series(np.where(np.arange(N) % 3 == 0, 25.0, 15.0), index=index_close.index)
    vix.iloc[400] = 20.0  # the threshold itself is "high"
    vix = vix.drop(vix.index[450])  # a missing print leaves that day unclassified
    frame = classify_regimes(index_close, vix)
    close = index_close.to_numpy()
    expected = expected_labels(close, vix.reindex(index_close.index).to_numpy())
    assert [None if pd.isna(x) else x for x in frame["regime"]] == expected
    assert frame["vol_regime"].iloc[400] == "high" and pd.isna(frame["regime"].iloc[450])
    assert frame.attrs["vol_source"] == "vix"


def test_no_look_ahead(index_close: pd.Series) -> None:
    """Rewriting every price after day t leaves the regimes up to day t unchanged."""
    t = 450
    altered = index_close.copy()
    altered.iloc[t + 1 :] = altered.iloc[t + 1 :] * 0.5
    before = classify_regimes(index_close)["regime"].iloc[: t + 1]
    after = classify_regimes(altered)["regime"].iloc[: t + 1]
    pd.testing.assert_series_equal(before, after)
    assert not classify_regimes(altered)["regime"].iloc[t + 1 :].equals(
        classify_regimes(index_close)["regime"].iloc[t + 1 :]
    )


def test_table_metrics_by_hand(strategy: pd.Series, index_close: pd.Series) -> None:
    table = regime_table(strategy, index_close)
    labels = classify_regimes(index_close)["regime"].reindex(strategy.index)
    classified = labels.notna().sum()
    assert list(table["regime"]) == [name for name, _, _ in REGIMES]
    assert table["time_fraction"].sum() == pytest.approx(1.0)
    assert table["days"].sum() == classified
    assert table.attrs["unclassified_days"] == len(strategy) - classified
    assert (table["vol_source"] == "realized_vol_21d").all()
    for row in table.itertuples():
        v = strategy[labels == row.regime].to_numpy()
        assert row.days == v.size and v.size > 1
        total = np.prod(1 + v) - 1
        equity = np.cumprod(1 + v)
        drawdown = min((equity / np.maximum(np.maximum.accumulate(equity), 1.0)).min() - 1, 0)
        assert row.time_fraction == pytest.approx(v.size / classified)
        assert row.total_return == pytest.approx(total, rel=1e-12)
        assert row.annualized_return == pytest.approx((1 + total) ** (252 / v.size) - 1)
        assert row.volatility == pytest.approx(v.std(ddof=1) * math.sqrt(252))
        assert row.sharpe_ratio == pytest.approx(v.mean() / v.std(ddof=1) * math.sqrt(252))
        assert row.max_drawdown == pytest.approx(drawdown)
        assert row.win_rate == pytest.approx((v > 0).sum() / (v != 0).sum())


def test_lag_uses_the_previous_sessions_regime(strategy, index_close) -> None:
    lagged = regime_table(strategy, index_close, lag=1)
    labels = classify_regimes(index_close)["regime"].shift(1).reindex(strategy.index)
    for row in lagged.itertuples():
        assert row.days == (labels == row.regime).sum()
    assert lagged.attrs["lag"] == 1


def test_empty_regime_and_no_overlap(strategy, index_close) -> None:
    calm_vix = pd.Series(12.0, index=index_close.index)
    table = regime_table(strategy, index_close, calm_vix).set_index("regime")
    assert table.loc["bull_high_vol", "days"] == 0 and table.loc["bear_high_vol", "days"] == 0
    assert math.isnan(table.loc["bull_high_vol", "sharpe_ratio"])
    other = pd.Series(100.0, index=pd.bdate_range("1990-01-01", periods=300))
    with pytest.raises(ValueError, match="shares no date"):
        regime_table(strategy, other)


def test_real_orcl_against_yhoo_as_index(orcl_returns, shared_data) -> None:
    from .conftest import read_close

    table = regime_table(orcl_returns, read_close(shared_data, "yhoo-1996-2015.txt"))
    assert table["time_fraction"].sum() == pytest.approx(1.0)
    assert (table["days"] > 0).all()
    text = markdown_table(table)
    assert text.splitlines()[0].startswith("| regime") and len(text.splitlines()) == 6
    assert all(name in text for name, _, _ in REGIMES)
