"""Anomaly scores, overrides and the alert log in the store, on SQLite and on PostgreSQL."""

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from research_lab.core.marketdata.store import (
    BarStore,
    add_override,
    read_alerts,
    read_overrides,
    read_scores,
    record_alert,
    score_partitions,
    write_scores,
)
from research_lab.core.quality.sentinel import score_bars

from .conftest import NO_PROPHET


@pytest.fixture(scope="module")
def some_scores(synthetic_bars):
    days = synthetic_bars["session"].dt.date.iloc[250:280]  # the first year has NaN model scores
    return score_bars(synthetic_bars, list(days) + [date(2017, 1, 16)], config=NO_PROPHET)


@pytest.fixture
def store(store_url):
    st = BarStore.from_url(store_url)
    yield st
    st.close()


def _days(frame):
    return list(frame["session"].dt.date)


def test_scores_round_trip_exactly_with_nulls(store, some_scores):
    assert some_scores["if_score"].isna().any()  # first-year rows and the holiday have no model
    assert write_scores(store, "acme", _days(some_scores), some_scores) == len(some_scores)
    back = read_scores(store, "ACME")
    cols = list(some_scores.columns)
    pd.testing.assert_frame_equal(back[cols], some_scores, check_dtype=False)
    assert str(back["scored_at"].dt.tz) == "UTC"
    ledger = score_partitions(store, "ACME")
    assert len(ledger) == len(some_scores) and set(ledger["source"]) == {"sentinel"}


def test_rewrite_is_idempotent_and_replaces_only_its_partitions(store, some_scores):
    days = _days(some_scores)
    write_scores(store, "ACME", days, some_scores)
    write_scores(store, "ACME", days, some_scores)
    assert len(read_scores(store, "ACME")) == len(some_scores)
    # rewrite the first 5 sessions as critical: the other rows are untouched
    changed = some_scores.iloc[:5].assign(severity="critical", rules="unit_error")
    write_scores(store, "ACME", days[:5], changed)
    back = read_scores(store, "ACME")
    assert (back["severity"].iloc[:5] == "critical").all()
    pd.testing.assert_frame_equal(back.iloc[5:][list(some_scores.columns)].reset_index(drop=True),
                                  some_scores.iloc[5:].reset_index(drop=True), check_dtype=False)
    assert len(read_scores(store, severities=["critical"])) == 5
    assert len(read_scores(store, "ACME", days[2], days[3])) == 2


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f.assign(severity="fatal"), "severity 'fatal'"),
        (lambda f: f.assign(symbol="OTHER"), "symbol 'OTHER'"),
        (lambda f: f.drop(columns=["reasons"]), "missing column"),
    ],
)
def test_bad_input_writes_nothing(store, some_scores, mutate, message):
    days = _days(some_scores)
    write_scores(store, "ACME", days, some_scores)
    with pytest.raises(ValueError, match=message):
        write_scores(store, "ACME", days, mutate(some_scores))
    with pytest.raises(ValueError, match="not one of the sessions"):
        write_scores(store, "ACME", days[:3], some_scores)
    assert len(read_scores(store, "ACME")) == len(some_scores)
    assert (read_scores(store, "ACME")["severity"] != "fatal").all()


def test_delete_symbol_clears_scores(tmp_path, some_scores):
    store = BarStore.from_url(f"sqlite:///{tmp_path / 'd.db'}")
    write_scores(store, "ACME", _days(some_scores), some_scores)
    store.delete_symbol("ACME")
    assert read_scores(store).empty and score_partitions(store).empty


def test_overrides_keep_history_and_the_alert_log_one_row(store):
    t0 = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()
    t1 = pd.Timestamp("2024-01-02", tz="UTC").to_pydatetime()
    add_override(store, "ACME", date(2019, 3, 5), bars_version="v1", verdict="confirmed",
                 reason="bad print", author="ana", created_at=t0)
    add_override(store, "ACME", "2019-03-05", bars_version="v1", verdict="false_positive",
                 reason="earnings gap, checked the filing", author="bo", created_at=t1)
    assert len(read_overrides(store, latest=False)) == 2
    latest = read_overrides(store, "ACME")
    assert latest[["verdict", "author"]].values.tolist() == [["false_positive", "bo"]]
    with pytest.raises(ValueError, match="verdict"):
        add_override(store, "ACME", date(2019, 3, 5), bars_version="v1", verdict="maybe",
                     reason="x", author="x")
    with pytest.raises(ValueError, match="author"):
        add_override(store, "ACME", date(2019, 3, 5), bars_version="v1", verdict="confirmed",
                     reason="x", author=" ")
    assert len(read_overrides(store, latest=False)) == 2

    record_alert(store, "ACME", date(2019, 3, 5), "v1", status="failed", attempts=4, detail="HTTP 500")
    record_alert(store, "ACME", date(2019, 3, 5), "v1", status="sent", attempts=1, detail="HTTP 200")
    assert read_alerts(store)[["status", "attempts"]].values.tolist() == [["sent", 1]]
    with pytest.raises(ValueError, match="status"):
        record_alert(store, "ACME", date(2019, 3, 5), "v1", status="lost", attempts=1)


def test_an_existing_store_gets_the_new_tables(tmp_path):
    """A store created before the sentinel existed gains its tables when opened."""
    from research_lab.core.marketdata.store import market_bars, market_partitions

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    old = sa.MetaData()
    for table in (market_bars, market_partitions):
        table.to_metadata(old)
    old.create_all(engine)
    engine.dispose()
    with BarStore.from_url(url) as st:
        names = set(sa.inspect(st.engine).get_table_names())
        assert {"anomaly_scores", "anomaly_overrides", "anomaly_alerts"} <= names
        assert read_scores(st).empty
