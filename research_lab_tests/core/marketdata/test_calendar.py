"""The NYSE calendar: holidays, early closes, DST, and the instants sensors and studies rely on."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from research_lab.core.marketdata.calendar import TradingCalendar

NY = "America/New_York"


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar("XNYS")


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=NY)


@pytest.mark.parametrize(
    "day",
    [date(2024, 7, 4), date(2024, 3, 29), date(2006, 1, 2), date(2024, 12, 25), date(2001, 9, 11)],
)
def test_holidays_are_not_sessions(cal, day):
    assert not cal.is_session(day)
    assert day in cal.holidays(day, day)


def test_sessions_skip_weekends_and_holidays(cal):
    assert cal.sessions(date(2024, 7, 1), date(2024, 7, 8)) == [
        date(2024, 7, 1), date(2024, 7, 2), date(2024, 7, 3), date(2024, 7, 5), date(2024, 7, 8)
    ]
    assert cal.sessions("2024-07-04", "2024-07-04") == []
    assert cal.sessions("2024-07-06", "2024-07-07") == []  # a weekend
    assert len(cal.sessions(date(2024, 1, 1), date(2024, 12, 31))) == 252


def test_holidays_2024_are_the_ten_nyse_holidays(cal):
    hols = cal.holidays(date(2024, 1, 1), date(2024, 12, 31))
    assert hols == [
        date(2024, 1, 1), date(2024, 1, 15), date(2024, 2, 19), date(2024, 3, 29),
        date(2024, 5, 27), date(2024, 6, 19), date(2024, 7, 4), date(2024, 9, 2),
        date(2024, 11, 28), date(2024, 12, 25),
    ]
    assert date(2024, 7, 6) not in cal.holidays(date(2024, 7, 1), date(2024, 7, 8))  # Saturday


def test_early_closes_end_at_13_new_york(cal):
    assert cal.early_closes(date(2024, 1, 1), date(2024, 12, 31)) == [
        date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24)
    ]
    assert cal.is_early_close(date(2024, 11, 29))
    assert not cal.is_early_close(date(2024, 11, 27))
    assert not cal.is_early_close(date(2024, 7, 4))  # not a session at all
    close = cal.close_time(date(2024, 11, 29))
    assert close == ny("2024-11-29 13:00")
    assert str(close.tz) == NY
    assert cal.close_time(date(2024, 7, 3)) == ny("2024-07-03 13:00")
    assert cal.close_time(date(2024, 7, 2)) == ny("2024-07-02 16:00")


def test_open_follows_daylight_saving_time(cal):
    assert cal.open_time(date(2024, 1, 2)).tz_convert("UTC") == pd.Timestamp("2024-01-02 14:30Z")
    assert cal.open_time(date(2024, 7, 2)).tz_convert("UTC") == pd.Timestamp("2024-07-02 13:30Z")
    # the spring-forward weekend: 2024-03-10 at 02:00 New York
    assert cal.open_time(date(2024, 3, 8)).tz_convert("UTC") == pd.Timestamp("2024-03-08 14:30Z")
    assert cal.open_time(date(2024, 3, 11)).tz_convert("UTC") == pd.Timestamp("2024-03-11 13:30Z")
    assert cal.next_open(ny("2024-03-08 17:00")) == ny("2024-03-11 09:30")
    assert cal.open_time(date(2024, 3, 11)).hour == 9


def test_open_time_of_a_non_session_is_an_error(cal):
    with pytest.raises(ValueError, match="not a XNYS session"):
        cal.open_time(date(2024, 7, 4))


@pytest.mark.parametrize(
    "instant, expected",
    [
        ("2024-03-22 18:00", "2024-03-25 09:30"),  # Friday evening -> Monday
        ("2024-03-29 12:00", "2024-04-01 09:30"),  # Good Friday -> Monday
        ("2024-07-04 09:30", "2024-07-05 09:30"),  # a holiday
        ("2024-07-02 11:00", "2024-07-03 09:30"),  # mid-session -> next session's open
        ("2024-07-02 09:30", "2024-07-02 09:30"),  # exactly at an open
        ("2024-07-02 05:00", "2024-07-02 09:30"),  # before the open
        ("2024-03-23 12:00", "2024-03-25 09:30"),  # Saturday
    ],
)
def test_next_open(cal, instant, expected):
    assert cal.next_open(ny(instant)) == ny(expected)


def test_next_open_accepts_any_timezone(cal):
    assert cal.next_open(pd.Timestamp("2024-03-22 23:00Z")) == ny("2024-03-25 09:30")


def test_next_close(cal):
    assert cal.next_close(ny("2024-07-03 10:00")) == ny("2024-07-03 13:00")
    assert cal.next_close(ny("2024-07-03 13:30")) == ny("2024-07-05 16:00")


def test_is_open(cal):
    assert cal.is_open(ny("2024-07-02 09:30"))
    assert cal.is_open(ny("2024-07-02 15:59"))
    assert not cal.is_open(ny("2024-07-02 16:00"))
    assert not cal.is_open(ny("2024-07-03 14:00"))  # after the early close
    assert not cal.is_open(ny("2024-07-04 12:00"))
    assert not cal.is_open(ny("2024-07-06 12:00"))


@pytest.mark.parametrize(
    "instant, expected",
    [
        ("2024-07-02 15:59", date(2024, 7, 1)),
        ("2024-07-02 16:00", date(2024, 7, 2)),  # the close itself completes the session
        ("2024-07-03 13:00", date(2024, 7, 3)),  # early close
        ("2024-07-04 20:00", date(2024, 7, 3)),  # holiday
        ("2024-07-06 12:00", date(2024, 7, 5)),  # Saturday
        ("1990-01-01 12:00", None),  # before the calendar's first close
    ],
)
def test_last_completed_session(cal, instant, expected):
    assert cal.last_completed_session(ny(instant)) == expected


def test_previous_and_next_session(cal):
    assert cal.previous_session(date(2024, 7, 5)) == date(2024, 7, 3)
    assert cal.previous_session(date(2024, 7, 4)) == date(2024, 7, 3)
    assert cal.next_session(date(2024, 7, 3)) == date(2024, 7, 5)
    assert cal.next_session(date(2024, 7, 6)) == date(2024, 7, 8)
    assert cal.previous_session(date(2024, 3, 29)) == date(2024, 3, 28)


def test_close_instants_stamp_non_sessions_at_16_new_york(cal):
    out = cal.close_instants([date(2006, 1, 2), date(2006, 1, 3), date(2024, 11, 29)])
    assert list(out) == [
        pd.Timestamp("2006-01-02 21:00Z"),  # a NYSE holiday: 16:00 New York
        pd.Timestamp("2006-01-03 21:00Z"),
        pd.Timestamp("2024-11-29 18:00Z"),  # early close
    ]
    assert str(out.tz) == "UTC"
    summer = cal.close_instants(pd.DatetimeIndex(["2024-07-04"]))  # holiday in summer time
    assert summer[0] == pd.Timestamp("2024-07-04 20:00Z")


def test_unknown_calendar_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown exchange calendar 'NOPE'.*XNYS"):
        TradingCalendar("NOPE")


def test_days_outside_bounds_are_refused(cal):
    with pytest.raises(ValueError, match="outside the XNYS calendar's bounds"):
        cal.is_session(date(1985, 1, 2))
    with pytest.raises(ValueError, match="outside"):
        cal.sessions(date(2020, 1, 1), date(2099, 1, 1))
    with pytest.raises(ValueError, match="outside"):
        cal.next_open(pd.Timestamp("2099-01-01", tz=NY))


def test_naive_instants_and_reversed_ranges_are_refused(cal):
    with pytest.raises(ValueError, match="no timezone"):
        cal.is_open(pd.Timestamp("2024-07-02 12:00"))
    with pytest.raises(ValueError, match="after end"):
        cal.sessions(date(2024, 7, 8), date(2024, 7, 1))


def test_another_exchange():
    lse = TradingCalendar("XLON")
    assert lse.is_session(date(2024, 7, 4))  # not a UK holiday
    assert not lse.is_session(date(2024, 8, 26))  # UK summer bank holiday
