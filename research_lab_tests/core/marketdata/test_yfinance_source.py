"""The yfinance source, patched at the library boundary, plus one real call that must fail fast.

Patches replace ``yfinance.Ticker.history`` (the real ``Ticker`` object is still built), with a
frame shaped as Yahoo returns it: a DatetimeIndex named ``Date`` in America/New_York and the
columns ``Open High Low Close Adj Close Volume``.
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
import pytest

from research_lab.core.marketdata.schema import BAR_COLUMNS, BarValidationError
from research_lab.core.marketdata.sources import SourceError, YFinanceSource, make_source

yfinance = pytest.importorskip("yfinance")


def yahoo_frame(days: list[str], closes: list[float] | None = None) -> pd.DataFrame:
    closes = closes or [100.0 + i for i in range(len(days))]
    index = pd.DatetimeIndex(pd.to_datetime(days), name="Date").tz_localize("America/New_York")
    return pd.DataFrame(
        {
            "Open": [c - 0.5 for c in closes],
            "High": [c + 1.0 for c in closes],
            "Low": [c - 1.0 for c in closes],
            "Close": closes,
            "Adj Close": [c * 0.98 for c in closes],
            "Volume": [1_000_000 + i for i in range(len(days))],
        },
        index=index,
    )


@pytest.fixture
def calls(monkeypatch):
    """Record each history() call; the test sets ``calls.answer`` (a frame or an exception)."""

    class Calls(list):
        answer: object = None

    record = Calls()

    def history(self, *args, **kwargs):
        record.append((self.ticker, kwargs))
        if isinstance(record.answer, BaseException):
            raise record.answer
        return record.answer

    monkeypatch.setattr(yfinance.Ticker, "history", history)
    return record


def test_converts_yahoo_frame_to_bars(calls):
    # Yahoo may answer with a row past the end asked for: it must be dropped
    calls.answer = yahoo_frame(["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05",
                                "2024-07-08"])
    bars = YFinanceSource(symbols=["orcl"]).fetch("orcl", date(2024, 7, 1), date(2024, 7, 5))
    assert tuple(bars.columns) == BAR_COLUMNS
    assert bars["session"].dt.date.tolist() == [date(2024, 7, 1), date(2024, 7, 2),
                                                date(2024, 7, 3), date(2024, 7, 5)]
    assert (bars["symbol"] == "ORCL").all()
    assert bars["close"].tolist() == [100.0, 101.0, 102.0, 103.0]
    assert bars["adj_close"].tolist() == pytest.approx([98.0, 98.98, 99.96, 100.94])
    assert bars["volume"].iloc[0] == 1_000_000.0
    assert bars["timestamp"].tolist() == [
        pd.Timestamp("2024-07-01 20:00Z"), pd.Timestamp("2024-07-02 20:00Z"),
        pd.Timestamp("2024-07-03 17:00Z"),  # early close, 13:00 New York
        pd.Timestamp("2024-07-05 20:00Z"),
    ]
    ticker, kwargs = calls[0]
    assert ticker == "ORCL"
    assert kwargs == {"start": "2024-07-01", "end": "2024-07-06", "interval": "1d",
                      "auto_adjust": False, "actions": False, "raise_errors": True,
                      "timeout": 10.0}


def test_download_error_is_a_source_error(calls):
    calls.answer = ConnectionError("Could not resolve host: query2.finance.yahoo.com")
    with pytest.raises(SourceError) as err:
        YFinanceSource().fetch("ORCL", date(2024, 1, 2), date(2024, 1, 5))
    message = str(err.value)
    assert message.startswith("yfinance could not download ORCL 2024-01-02..2024-01-05: ")
    assert "Could not resolve host" in message and "synthetic/csv source" in message
    assert (err.value.symbol, err.value.source) == ("ORCL", "yfinance")


def test_no_rows_for_a_range_with_sessions_is_a_source_error(calls):
    calls.answer = yahoo_frame([])
    with pytest.raises(SourceError, match="returned no rows for ORCL 2024-01-02..2024-01-05"):
        YFinanceSource().fetch("ORCL", date(2024, 1, 2), date(2024, 1, 5))


def test_a_range_without_sessions_is_empty_without_calling_yahoo(calls):
    calls.answer = AssertionError("the network must not be called")
    assert YFinanceSource().fetch("ORCL", date(2024, 7, 4), date(2024, 7, 4)).empty
    assert YFinanceSource().fetch("ORCL", date(2024, 7, 6), date(2024, 7, 7)).empty
    assert calls == []


def test_missing_columns_are_a_source_error(calls):
    calls.answer = yahoo_frame(["2024-07-01"]).drop(columns=["Volume"])
    with pytest.raises(SourceError, match="lacks column.*Volume"):
        YFinanceSource().fetch("ORCL", date(2024, 7, 1), date(2024, 7, 1))


def test_bad_rows_from_yahoo_fail_validation(calls):
    frame = yahoo_frame(["2024-07-01", "2024-07-02"])
    frame.loc[frame.index[1], "Close"] = float("nan")
    calls.answer = frame
    with pytest.raises(BarValidationError, match="yfinance:ORCL.*row 1.*'close'"):
        YFinanceSource().fetch("ORCL", date(2024, 7, 1), date(2024, 7, 2))


def test_one_bad_row_from_yahoo_is_quarantined_and_the_rest_stored(calls, tmp_path):
    """Yahoo's answer for a 5-session range has a NaN close (July 2nd) and high < low (July 5th):
    ``fetch_checked`` returns the three valid rows and both rejects; ingestion stores the valid
    rows and quarantines the two, each a critical anomaly of its session."""
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.ingest import ingest_partitions
    from research_lab.core.marketdata.store import BarStore, read_quarantine, read_scores

    frame = yahoo_frame(["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08"])
    frame.loc[frame.index[1], "Close"] = float("nan")
    frame.loc[frame.index[3], "High"] = 50.0
    calls.answer = frame
    source = YFinanceSource(symbols=["ORCL"])
    bars, rejects = source.fetch_checked("ORCL", date(2024, 7, 1), date(2024, 7, 8))
    assert bars["session"].dt.date.tolist() == [date(2024, 7, 1), date(2024, 7, 3),
                                                date(2024, 7, 8)]
    assert [(r.session, r.row, r.field) for r in rejects] == [
        (date(2024, 7, 2), 2, "Close"), (date(2024, 7, 5), 4, "High")]
    assert "missing value" in rejects[0].reason and "below low" in rejects[1].reason

    store = BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}")
    try:
        days = [d.date() for d in pd.bdate_range("2024-07-01", "2024-07-08")]
        report = ingest_partitions(source, store, TradingCalendar(), {"ORCL": days},
                                   now=pd.Timestamp("2024-07-09 12:00Z"))
        assert report.ok
        assert store.read_bars("ORCL")["session"].dt.date.tolist() == [
            date(2024, 7, 1), date(2024, 7, 3), date(2024, 7, 8)]
        assert read_quarantine(store, "ORCL")["session"].dt.date.tolist() == [
            date(2024, 7, 2), date(2024, 7, 5)]
        critical = read_scores(store, "ORCL", severities=["critical"])
        assert critical["session"].dt.date.tolist() == [date(2024, 7, 2), date(2024, 7, 5)]
    finally:
        store.close()


def test_factory_and_universe():
    source = make_source("yfinance", symbols=("spy", "ORCL"), timeout=3)
    assert isinstance(source, YFinanceSource)
    assert source.symbols() == ["ORCL", "SPY"]
    with pytest.raises(ValueError, match="valid kinds: synthetic, csv, yfinance"):
        make_source("bloomberg")


def test_real_call_without_network_fails_fast():
    """A real download through yfinance, its traffic sent to a dead local proxy (port 9), so
    that it is offline on every machine, a CI runner with internet included."""
    network = yfinance.config.network
    saved = network.proxy
    network.proxy = "http://127.0.0.1:9"
    try:
        t0 = time.perf_counter()
        with pytest.raises(SourceError, match="could not download ORCL 2024-01-02..2024-01-05"):
            YFinanceSource(timeout=5).fetch("ORCL", date(2024, 1, 2), date(2024, 1, 5))
        assert time.perf_counter() - t0 < 20
    finally:
        network.proxy = saved
