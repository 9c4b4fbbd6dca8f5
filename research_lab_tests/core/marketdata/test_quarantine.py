"""One bad row never blocks the rest; sessions are ingested only after their close."""

from datetime import date

import pandas as pd
import pytest

from research_lab.core.marketdata.calendar import TradingCalendar
from research_lab.core.marketdata.ingest import FutureSessionError, ingest_partitions
from research_lab.core.marketdata.sources import CsvDirSource
from research_lab.core.marketdata.store import BarStore, read_quarantine, read_scores
from research_lab.core.quality.gate import (
    QualityGateError,
    acknowledge,
    require_no_open_criticals,
)

NOW = pd.Timestamp("2015-01-05 12:00", tz="UTC")
HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"


def _good(day: str, close: float = 10.5) -> str:
    return f"{day},10,11,9,{close},{close},1000"


def _write(path, lines):
    path.write_text("\n".join([HEADER, *lines]) + "\n")


@pytest.fixture
def landing(tmp_path):
    """ACME: good rows around a bad one in 2005, 2009 and 2013, plus an unreadable date."""
    folder = tmp_path / "landing"
    folder.mkdir()
    _write(folder / "acme.csv", [
        _good("2005-03-01"),
        "2005-03-02,10,8,9,10,10,1000",          # line 3: high 8 < low 9
        _good("2005-03-03"),
        _good("2009-06-01"),
        "2009-06-02,0,11,9,10,10,1000",          # line 6: zero open
        "2013-01-02,10,11,9,null,null,1000",     # line 7: Yahoo's null row
        "2013-13-45,10,11,9,10,10,1000",         # line 8: no such date
        _good("2014-12-01"),
    ])
    return folder


@pytest.fixture
def store(tmp_path):
    st = BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}")
    yield st
    st.close()


def _weekdays(a, b):
    return [d.date() for d in pd.bdate_range(a, b)]


def test_every_bad_row_is_named_and_the_valid_rows_are_returned(landing):
    src = CsvDirSource(landing)
    bars, rejects = src.fetch_checked("ACME", date(2000, 1, 3), date(2014, 12, 31))
    assert [d.date() for d in bars["session"]] == [
        date(2005, 3, 1), date(2005, 3, 3), date(2009, 6, 1), date(2014, 12, 1)]
    assert [(r.row, r.field, r.session) for r in rejects] == [
        (3, "High", date(2005, 3, 2)), (6, "Open", date(2009, 6, 2)),
        (7, "Close", date(2013, 1, 2)), (8, "Date", None)]
    assert "below low" in rejects[0].reason and "positive" in rejects[1].reason
    assert "null" in rejects[2].reason and "2013-13-45" in rejects[3].reason
    # a December 2014 range is not blocked by the bad rows of other years
    dec, dec_rejects = src.fetch_checked("ACME", date(2014, 12, 1), date(2014, 12, 31))
    assert len(dec) == 1 and [r.session for r in dec_rejects] == [None]


def test_valid_rows_stored_bad_rows_quarantined_and_gated_until_fixed(landing, store):
    src, cal = CsvDirSource(landing), TradingCalendar()
    days = _weekdays("2005-03-01", "2005-03-04") + _weekdays("2009-06-01", "2009-06-03")
    report = ingest_partitions(src, store, cal, {"ACME": days}, now=NOW)
    assert report.ok
    assert len(store.read_bars("ACME")) == 3
    q = read_quarantine(store, "ACME")
    assert list(q["row"]) == [8, 3, 6] or list(q["row"]) == [3, 6, 8]
    assert set(q["field"]) == {"High", "Open", "Date"}

    criticals = read_scores(store, "ACME", severities=["critical"])
    assert [d.date() for d in criticals["session"]] == [date(2005, 3, 2), date(2009, 6, 2)]
    with pytest.raises(QualityGateError, match="quarantined row: line 3"):
        require_no_open_criticals(store, "ACME")

    per = {p.session: p for p in report.summaries[0].per_session}
    assert per[date(2005, 3, 2)].rows == 0 and per[date(2005, 3, 2)].quarantined == 1

    # 2009 acknowledged by an analyst; 2005 fixed at the source and re-ingested
    acknowledge(store, "ACME", date(2009, 6, 2), verdict="confirmed", reason="vendor ticket",
                author="qa")
    text = (landing / "acme.csv").read_text().replace("2005-03-02,10,8,9", "2005-03-02,10,11,9")
    (landing / "acme.csv").write_text(text)
    ingest_partitions(src, store, cal, {"ACME": _weekdays("2005-03-01", "2005-03-04")}, now=NOW)
    assert date(2005, 3, 2) in set(store.read_bars("ACME")["session"].dt.date)
    assert date(2005, 3, 2) not in set(read_quarantine(store, "ACME")["session"].dt.date)
    require_no_open_criticals(store, "ACME")  # nothing open any more


def test_the_sentinel_keeps_a_quarantined_session_critical(landing, store):
    from research_lab.core.quality.sentinel import score_partitions

    cal = TradingCalendar()
    days = _weekdays("2005-03-01", "2005-03-04")
    ingest_partitions(CsvDirSource(landing), store, cal, {"ACME": days}, now=NOW)
    score_partitions(store, "ACME", days, calendar=cal)
    scores = read_scores(store, "ACME").set_index("session")
    row = scores.loc[pd.Timestamp("2005-03-02")]
    assert row["severity"] == "critical" and "quarantine" in row["rules"]
    assert scores.loc[pd.Timestamp("2005-03-01"), "severity"] != "critical"


def test_an_unserved_symbol_fails_alone(landing, store):
    report = ingest_partitions(CsvDirSource(landing), store, TradingCalendar(),
                               {"ACME": [date(2014, 12, 1)], "NOPE": [date(2014, 12, 1)]}, now=NOW)
    assert [f.symbol for f in report.failures] == ["NOPE"]
    assert "no file for 'NOPE'" in report.failures[0].reason
    assert store.sessions("ACME") == [date(2014, 12, 1)] and store.sessions("NOPE") == []


@pytest.mark.parametrize("now, day", [
    ("2014-12-01 15:00", date(2014, 12, 1)),   # 10:00 New York: before the close
    ("2014-12-01 21:30", date(2014, 12, 2)),   # tomorrow
    ("2014-12-01 21:30", date(2030, 1, 2)),    # far future
])
def test_a_session_that_has_not_closed_is_refused_before_anything_is_written(
        landing, store, now, day):
    with pytest.raises(FutureSessionError, match=f"session {day} has not closed yet"):
        ingest_partitions(CsvDirSource(landing), store, TradingCalendar(),
                          {"ACME": [date(2014, 11, 28), day]}, now=pd.Timestamp(now, tz="UTC"))
    assert store.sessions("ACME") == []


def test_a_session_is_ingested_after_its_close(landing, store):
    after = pd.Timestamp("2014-12-01 21:30", tz="UTC")  # 16:30 New York
    assert ingest_partitions(CsvDirSource(landing), store, TradingCalendar(),
                             {"ACME": [date(2014, 12, 1)]}, now=after).ok
    assert store.sessions("ACME") == [date(2014, 12, 1)]
