"""score_bars: every kind of evidence, the robust reference, missing/holiday rows, causality."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from research_lab.core.quality.injection import inject
from research_lab.core.quality.sentinel import SCORE_ROW_COLUMNS, score_bars
from research_lab.core.quality.thresholds import Thresholds

from .conftest import NO_PROPHET, SMALL_PROPHET


def _next_sessions(bars: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    days = pd.DatetimeIndex(bars["session"])
    pos = days.searchsorted(pd.DatetimeIndex(labels["session"]), side="right")
    return pd.Series(days[pos[pos < len(days)]])


@pytest.fixture(scope="module")
def clean_scores(synthetic_bars):
    return score_bars(synthetic_bars, config=NO_PROPHET)


def test_clean_synthetic_history_has_no_critical_and_few_warnings(clean_scores):
    assert list(clean_scores.columns) == list(SCORE_ROW_COLUMNS)
    assert (clean_scores["severity"] != "critical").all()
    assert (clean_scores["severity"] == "warning").mean() < 0.01
    # the first calendar year has no earlier year to fit the models on: it says so
    first = clean_scores[clean_scores["session"] < "2017-01-01"]
    assert first["if_score"].isna().all()
    assert first["reasons"].str.contains("models not fitted yet").any()
    assert clean_scores.loc[clean_scores["session"] >= "2017-01-01", "if_score"].notna().all()


@pytest.mark.parametrize(
    "kind, rule",
    [
        ("unit_error", "unit_error"),
        ("unadjusted_split", "split_like"),
        ("ohlc_break", "ohlc_inconsistent"),
        ("non_positive_price", "non_positive_price"),
    ],
)
def test_gross_errors_are_critical_with_their_rule_and_only_where_they_start(
    synthetic_bars, kind, rule
):
    bars, labels = inject(synthetic_bars, [kind], 6, seed=11, first_row=300, spacing=60)
    scores = score_bars(bars, config=NO_PROPHET)
    hit = scores[scores["session"].isin(labels["session"])]
    assert len(hit) == 6
    assert (hit["severity"] == "critical").all(), hit[["session", "severity", "reasons"]]
    assert hit["rules"].str.contains(rule).all()
    # after a bad tick the next session is compared with the last good close, after a split
    # with the new level: neither repeats the alarm
    after = scores[scores["session"].isin(_next_sessions(bars, labels))]
    assert (after["severity"] != "critical").all(), after[["session", "reasons"]]


def test_split_reason_names_the_ratio(synthetic_bars):
    frame = synthetic_bars.copy()
    day = frame["session"].iloc[700]
    later = frame["session"] >= day
    for col in ("open", "high", "low", "close", "adj_close"):
        frame.loc[later, col] /= 2  # a 2:1 split nobody adjusted
    frame.loc[later, "volume"] *= 2
    row = score_bars(frame, [day.date()], config=NO_PROPHET).iloc[0]
    assert row["severity"] == "critical"
    assert "2:1 split" in row["reasons"]
    assert row["price_ratio"] == pytest.approx(0.5, rel=0.1)


def test_frozen_feed_warns_at_once_and_is_critical_from_stale_run(synthetic_bars):
    frame = synthetic_bars.copy().reset_index(drop=True)
    cols = ["open", "high", "low", "close", "adj_close", "volume"]
    frame.loc[501:506, cols] = frame.loc[500, cols].to_numpy()  # bar 500 repeated 6 times
    scores = score_bars(frame, frame["session"].iloc[499:508].dt.date, config=NO_PROPHET)
    sev = scores["severity"].tolist()
    assert sev[:2] == ["info", "info"]
    assert sev[2:5] == ["warning"] * 3  # 2, 3, 4 identical bars
    assert sev[5:8] == ["critical"] * 3  # 5, 6, 7 identical bars (stale_run 5)
    assert "frozen feed: OHLC identical for 7 bars" in scores["reasons"].iloc[7]


def test_zero_volume_warns(synthetic_bars):
    frame = synthetic_bars.copy().reset_index(drop=True)
    frame.loc[600, "volume"] = 0.0
    row = score_bars(frame, [frame["session"].iloc[600].date()], config=NO_PROPHET).iloc[0]
    assert row["severity"] == "warning"
    assert "zero_volume" in row["rules"]


def test_sessions_without_bars_are_missing_or_holidays(synthetic_bars, calendar):
    frame = synthetic_bars[synthetic_bars["session"] != "2019-03-05"]
    days = [date(2019, 3, 4), date(2019, 3, 5), date(2019, 1, 21), date(2015, 12, 31)]
    exchange = calendar.sessions(date(2015, 12, 28), date(2020, 12, 31))
    scores = score_bars(frame, days, exchange_sessions=exchange, config=NO_PROPHET)
    by_day = scores.set_index(scores["session"].dt.date)
    assert by_day.loc[date(2019, 3, 5), "severity"] == "warning"
    assert by_day.loc[date(2019, 3, 5), "rules"] == "missing_session"
    assert by_day.loc[date(2019, 3, 5), "bars_version"] == "empty"
    assert by_day.loc[date(2019, 1, 21), "severity"] == "info"  # Martin Luther King Jr. Day
    assert "exchange holiday" in by_day.loc[date(2019, 1, 21), "reasons"]
    assert "before the symbol's first stored bar" in by_day.loc[date(2015, 12, 31), "reasons"]
    assert by_day.loc[date(2019, 3, 4), "bars_version"] != "empty"


def test_models_see_unusual_volume_and_moves(synthetic_bars):
    frame = synthetic_bars.copy().reset_index(drop=True)
    frame.loc[900, "volume"] *= 25
    i = 1000
    frame.loc[i, "close"] *= 1.35
    frame.loc[i, "high"] = max(frame.loc[i, "high"], frame.loc[i, "close"])
    days = frame["session"].iloc[[899, 900, 999, 1000]].dt.date
    scores = score_bars(frame, days, config=SMALL_PROPHET).set_index("session")
    burst, spike = scores.iloc[1], scores.iloc[3]
    assert burst["prophet_volume_z"] > 6 and burst["if_score"] > scores.iloc[0]["if_score"]
    assert spike["jump_z"] > 9 and spike["prophet_close_z"] > 9
    assert spike["severity"] in ("warning", "critical") and burst["severity"] == "warning"


def test_scores_never_depend_on_later_bars(synthetic_bars):
    """Scoring up to s gives the same rows whatever comes after s (changed, split, missing)."""
    cut = pd.Timestamp("2019-07-15")
    later = synthetic_bars["session"] > cut
    changed = synthetic_bars.copy()
    for col in ("open", "high", "low", "close", "adj_close"):
        changed.loc[later, col] *= 3.0  # an unadjusted 1:3 reverse split right after s
    changed.loc[later, "volume"] /= 3.0
    changed = changed.drop(changed.index[later][5:40])  # and a hole
    days = synthetic_bars.loc[(synthetic_bars["session"] > "2019-06-01") & ~later, "session"].dt.date
    a = score_bars(synthetic_bars, days, config=SMALL_PROPHET)
    b = score_bars(changed, days, config=SMALL_PROPHET)
    assert a["prophet_close_z"].notna().all() and a["if_score"].notna().all()
    pd.testing.assert_frame_equal(a.drop(columns=["if_score", "prophet_close_z", "prophet_volume_z"]),
                                  b.drop(columns=["if_score", "prophet_close_z", "prophet_volume_z"]))
    for col in ("if_score", "prophet_close_z", "prophet_volume_z"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-6, atol=1e-6)


def test_thresholds_change_the_verdict(synthetic_bars):
    frame = synthetic_bars.copy().reset_index(drop=True)
    frame.loc[800, "close"] *= 1.12
    frame.loc[800, "high"] = max(frame.loc[800, "high"], frame.loc[800, "close"])
    day = [frame["session"].iloc[800].date()]
    strict = score_bars(frame, day, thresholds=Thresholds(jump_warn_z=3.0), config=NO_PROPHET)
    lax = score_bars(frame, day, thresholds=Thresholds(jump_warn_z=40.0, jump_crit_z=50.0,
                                                       if_warn=0.95, if_crit=0.99),
                     config=NO_PROPHET)
    assert strict["severity"].iloc[0] == "warning" and "jump" in strict["rules"].iloc[0]
    assert lax["severity"].iloc[0] == "info"


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="jump_warn_z"):
        Thresholds(jump_warn_z=-1)
    with pytest.raises(ValueError, match="critical thresholds"):
        Thresholds(jump_warn_z=10, jump_crit_z=5)
    with pytest.raises(ValueError, match="stale_run"):
        Thresholds(stale_run=1)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="volume"):
        score_bars(pd.DataFrame({"session": [], "open": [], "high": [], "low": [], "close": []}))
