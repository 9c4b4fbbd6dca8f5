"""score_quality(workers=N): symbols scored in worker processes give the scores of workers=1."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from research_lab.core.marketdata.store import BarStore, read_scores
from research_lab.core.usecases.quality import score_quality

SYMBOLS = ("ACME", "BOLT", "CRUX")


@pytest.fixture
def calendar():
    from research_lab.core.marketdata.calendar import TradingCalendar

    return TradingCalendar("XNYS")


@pytest.fixture
def store(store_url, calendar):
    from research_lab.core.marketdata.sources import SyntheticSource

    st = BarStore.from_url(store_url)
    src = SyntheticSource(seed=11, symbols=SYMBOLS, start="2016-01-04", end="2019-06-28",
                          calendar=calendar)
    for sym in SYMBOLS:
        bars = src.fetch(sym, date(2016, 1, 4), date(2019, 6, 28))
        if sym == "BOLT":  # a unit error (prices 100x) on one session: a critical
            hit = bars["session"] == pd.Timestamp("2019-03-14")
            for col in ("open", "high", "low", "close", "adj_close"):
                bars.loc[hit, col] *= 100.0
        st.write_partitions(sym, bars["session"].dt.date, bars, source="test")
    yield st
    st.close()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_two_workers_write_the_scores_of_one(store, calendar):
    days = calendar.sessions(date(2018, 11, 1), date(2019, 6, 28))
    requests = {sym: days for sym in SYMBOLS}
    one = score_quality(store, requests, calendar=calendar, workers=1)
    first = read_scores(store)
    two = score_quality(store, requests, calendar=calendar, workers=2)
    second = read_scores(store)
    assert len(first) == len(SYMBOLS) * len(days)
    assert (second["scored_at"] > first["scored_at"].max()).all()  # really rewritten
    pd.testing.assert_frame_equal(first.drop(columns="scored_at"),
                                  second.drop(columns="scored_at"))
    assert [r.symbol for r in two.runs] == list(SYMBOLS)
    assert [r.counts for r in two.runs] == [r.counts for r in one.runs]
    assert two.open_criticals == one.open_criticals
    assert any(line.startswith("BOLT 2019-03-14: unit error") for line in one.open_criticals)
    assert two.warnings == one.warnings


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_a_bad_worker_count_is_refused_before_anything_is_scored(bad, calendar, tmp_path):
    st = BarStore.from_url(f"sqlite:///{tmp_path / 'store.db'}")
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        score_quality(st, {"ACME": [date(2019, 1, 2)]}, calendar=calendar, workers=bad)
    assert read_scores(st).empty
