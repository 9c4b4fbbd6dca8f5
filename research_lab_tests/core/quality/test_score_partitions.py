"""score_partitions: one read that ends at the last partition, same scores alone or in a range."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from research_lab.core.marketdata.store import BarStore, read_scores
from research_lab.core.quality.sentinel import score_partitions

from .conftest import SMALL_PROPHET


@pytest.fixture
def store(tmp_path, synthetic_bars):
    st = BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}")
    st.write_partitions("ACME", synthetic_bars["session"].dt.date, synthetic_bars, source="test")
    yield st
    st.close()


def _bar_selects(store):
    """Record every SQL statement that reads market_bars."""
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "market_bars" in statement:
            seen.append(parameters)

    sa.event.listen(store.engine, "before_cursor_execute", listen)
    return seen


def test_reads_once_and_never_after_the_last_partition(store, calendar, monkeypatch):
    days = [d.date() for d in pd.bdate_range("2019-06-03", "2019-06-28")]
    calls = []
    real = store.read_bars
    monkeypatch.setattr(store, "read_bars", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    selects = _bar_selects(store)
    run = score_partitions(store, "ACME", days, calendar=calendar, config=SMALL_PROPHET)
    assert len(calls) == 1 and len(selects) == 1
    (symbol, start, end), _ = calls[0]
    assert symbol == "ACME" and end == date(2019, 6, 28)
    assert start == SMALL_PROPHET.context_start(date(2019, 6, 3)) < date(2016, 1, 1)
    assert run.counts["info"] + run.counts["warning"] + run.counts["critical"] == len(days)
    assert len(read_scores(store, "ACME")) == len(days)


def test_later_sessions_do_not_change_earlier_scores(store, calendar, synthetic_bars):
    days = [date(2019, 6, 12), date(2019, 6, 13), date(2019, 6, 14)]
    score_partitions(store, "ACME", days, calendar=calendar, config=SMALL_PROPHET)
    before = read_scores(store, "ACME")
    # a unit error and a 100x volume on the following sessions, stored
    later = synthetic_bars[synthetic_bars["session"] > "2019-06-14"].copy()
    for col in ("open", "high", "low", "close", "adj_close"):
        later[col] *= 100.0
    store.write_partitions("ACME", later["session"].dt.date, later, source="test")
    score_partitions(store, "ACME", days, calendar=calendar, config=SMALL_PROPHET)
    after = read_scores(store, "ACME")
    pd.testing.assert_frame_equal(before.drop(columns="scored_at"), after.drop(columns="scored_at"))
    score_partitions(store, "ACME", [date(2019, 6, 17)], calendar=calendar, config=SMALL_PROPHET)
    assert read_scores(store, "ACME", date(2019, 6, 17))["severity"].iloc[0] == "critical"


def test_a_partition_scores_the_same_alone_or_in_a_long_range(store, calendar):
    """Model blocks are calendar years: the run's shape does not change a partition's scores."""
    day = date(2019, 6, 14)
    range_days = [d.date() for d in pd.bdate_range("2018-11-01", "2019-06-28")]
    score_partitions(store, "ACME", range_days, calendar=calendar, config=SMALL_PROPHET)
    in_range = read_scores(store, "ACME", day, day)
    score_partitions(store, "ACME", [day], calendar=calendar, config=SMALL_PROPHET)
    alone = read_scores(store, "ACME", day, day)
    text = ["bars_version", "severity", "reasons", "rules", "thresholds"]
    assert in_range[text].values.tolist() == alone[text].values.tolist()
    for col in ("jump_z", "price_ratio", "if_score", "prophet_close_z", "prophet_volume_z"):
        np.testing.assert_allclose(in_range[col], alone[col], rtol=1e-6, atol=1e-6)
    assert alone["if_score"].notna().all() and alone["prophet_volume_z"].notna().all()
    # the rest of the range was left as it was
    assert len(read_scores(store, "ACME")) == len(range_days)


def test_holiday_and_missing_partitions(store, calendar):
    store.write_partitions("ACME", [date(2019, 3, 5)], pd.DataFrame(
        columns=store.read_bars("ACME", date(2019, 3, 4), date(2019, 3, 4)).columns), source="test")
    run = score_partitions(store, "ACME", [date(2019, 1, 21), date(2019, 3, 5)], calendar=calendar,
                           config=SMALL_PROPHET)
    assert run.counts == {"info": 1, "warning": 1, "critical": 0}
    assert run.warnings[0][0] == date(2019, 3, 5)
    with pytest.raises(ValueError, match="no sessions"):
        score_partitions(store, "ACME", [], calendar=calendar)
