"""The exchange trading calendar: which days are sessions, and when each one opens and closes.

:class:`TradingCalendar` is a small, date-oriented face over the ``exchange_calendars``
library (New York Stock Exchange, ``"XNYS"``, by default). Everything the lab needs to know
about exchange time goes through it: the sessions to ingest, the close instant stamped on each
bar, the sensor that waits for a session to complete, the study that must stop before the
next open.

Conventions:

- A *day* (``session``, ``start``, ``end``) is a ``datetime.date``; ``str``, ``datetime`` and
  ``pandas.Timestamp`` are accepted too (a tz-aware timestamp counts as its New York date).
- An *instant* is a tz-aware ``pandas.Timestamp``; results are in the exchange's timezone
  (America/New_York for XNYS). A naive instant is refused: it is ambiguous.
- Ranges are inclusive at both ends.
- The calendar covers 1990-01-01 to December 31 five years after today. A day outside that
  raises ``ValueError`` (the calendar cannot know), except in :meth:`close_instants`, which
  exists for files and feeds that may hold such days.

Example::

    cal = TradingCalendar()
    cal.is_session(date(2024, 7, 4))            # False: Independence Day
    cal.close_time(date(2024, 11, 29))          # 13:00 New York: the day after Thanksgiving
    cal.next_open(pd.Timestamp("2024-03-29 12:00", tz="America/New_York"))  # Monday 09:30
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
import pandas as pd

TZ = "America/New_York"
CALENDAR_START = "1990-01-01"
YEARS_AHEAD = 5
# the instant stamped on a bar whose day is not a session of the calendar (local time)
DEFAULT_CLOSE = dt.time(16, 0)


def _xc():
    import exchange_calendars  # lazy: only code that asks about exchange time pays for it

    return exchange_calendars


@lru_cache(maxsize=None)
def calendar_bounds() -> tuple[dt.date, dt.date]:
    """The first and last day any :class:`TradingCalendar` knows (fixed for the process)."""
    last = dt.date(dt.date.today().year + YEARS_AHEAD, 12, 31)
    return dt.date.fromisoformat(CALENDAR_START), last


@lru_cache(maxsize=None)
def _exchange_calendar(name: str) -> Any:
    start, end = calendar_bounds()
    return _xc().get_calendar(name, start=start.isoformat(), end=end.isoformat())


def as_date(value: Any, tz: str = TZ) -> dt.date:
    """A day from a date, datetime, ``pandas.Timestamp`` or ISO string.

    A tz-aware timestamp counts as its date in ``tz``.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a date: {value!r}") from exc
    if ts is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(tz)
    return ts.date()


def _as_instant(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise ValueError(f"instant {value!r} has no timezone; pass a tz-aware timestamp")
    return ts


class TradingCalendar:
    """Sessions, holidays and open/close instants of one exchange (``XNYS`` by default)."""

    def __init__(self, name: str = "XNYS") -> None:
        names = _xc().get_calendar_names(include_aliases=True)
        if name not in names:
            some = ", ".join(n for n in ("XNYS", "XNAS", "XLON", "XTKS", "XFRA", "CMES"))
            raise ValueError(
                f"unknown exchange calendar {name!r}; valid names include {some} "
                f"(see exchange_calendars.get_calendar_names() for all {len(names)})"
            )
        self.name = name

    def __repr__(self) -> str:
        return f"TradingCalendar({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TradingCalendar) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("TradingCalendar", self.name))

    # -- the underlying arrays -----------------------------------------------------------------

    @property
    def tz(self) -> str:
        """The exchange's timezone (America/New_York for XNYS): instants are returned in it."""
        return _timezone(self.name)

    @property
    def _cal(self) -> Any:
        return _exchange_calendar(self.name)

    @property
    def _arrays(self) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
        return _arrays(self.name)

    @property
    def first_session(self) -> dt.date:
        return self._arrays[0][0].date()

    @property
    def last_session(self) -> dt.date:
        return self._arrays[0][-1].date()

    def _check(self, day: Any) -> pd.Timestamp:
        d = as_date(day, self.tz)
        lo, hi = calendar_bounds()
        if not lo <= d <= hi:
            raise ValueError(f"{d} is outside the {self.name} calendar's bounds [{lo}, {hi}]")
        return pd.Timestamp(d)

    def _pair(self, start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
        a, b = self._check(start), self._check(end)
        if a > b:
            raise ValueError(f"start {a.date()} is after end {b.date()}")
        return a, b

    def _range(self, start: Any, end: Any) -> tuple[int, int]:
        """Positions [i, j) of the sessions within [start, end]."""
        a, b = self._pair(start, end)
        sessions = self._arrays[0]
        return int(sessions.searchsorted(a, "left")), int(sessions.searchsorted(b, "right"))

    # -- days ------------------------------------------------------------------------------------

    def sessions(self, start: Any, end: Any) -> list[dt.date]:
        """Trading sessions in [start, end]."""
        i, j = self._range(start, end)
        return list(self._arrays[0][i:j].date)

    def session_index(self, start: Any, end: Any) -> pd.DatetimeIndex:
        """Like :meth:`sessions`, as naive midnight timestamps (the bar schema's ``session``)."""
        i, j = self._range(start, end)
        return self._arrays[0][i:j]

    def is_session(self, day: Any) -> bool:
        d = self._check(day)
        sessions = self._arrays[0]
        i = int(sessions.searchsorted(d, "left"))
        return i < len(sessions) and sessions[i] == d

    def holidays(self, start: Any, end: Any) -> list[dt.date]:
        """Weekdays (Monday..Friday) in [start, end] on which the exchange is closed."""
        days = pd.bdate_range(*self._pair(start, end))
        return list(days[~days.isin(self._arrays[0])].date)

    def is_early_close(self, day: Any) -> bool:
        """True for a session that closes before the regular close (e.g. 13:00 New York)."""
        return bool(self._check(day) in self._cal.early_closes)

    def early_closes(self, start: Any, end: Any) -> list[dt.date]:
        """Sessions in [start, end] that close early."""
        a, b = self._pair(start, end)
        ec = self._cal.early_closes
        return list(ec[(ec >= a) & (ec <= b)].date)

    def previous_session(self, day: Any) -> dt.date:
        """The latest session strictly before ``day`` (a session or not)."""
        sessions = self._arrays[0]
        i = int(sessions.searchsorted(self._check(day), "left")) - 1
        if i < 0:
            raise ValueError(f"no {self.name} session before {as_date(day)} within the calendar")
        return sessions[i].date()

    def next_session(self, day: Any) -> dt.date:
        """The earliest session strictly after ``day`` (a session or not)."""
        sessions = self._arrays[0]
        i = int(sessions.searchsorted(self._check(day), "right"))
        if i >= len(sessions):
            raise ValueError(f"no {self.name} session after {as_date(day)} within the calendar")
        return sessions[i].date()

    # -- instants --------------------------------------------------------------------------------

    def _session_pos(self, session: Any) -> int:
        d = self._check(session)
        sessions = self._arrays[0]
        i = int(sessions.searchsorted(d, "left"))
        if i >= len(sessions) or sessions[i] != d:
            raise ValueError(f"{d.date()} is not a {self.name} session")
        return i

    def _local(self, ns: int) -> pd.Timestamp:
        return pd.Timestamp(ns, tz="UTC").tz_convert(self.tz)

    def open_time(self, session: Any) -> pd.Timestamp:
        """The session's open, in the exchange's time (New York for XNYS)."""
        return self._local(self._arrays[1][self._session_pos(session)])

    def close_time(self, session: Any) -> pd.Timestamp:
        """The session's close, in the exchange's time (13:00 New York on an early close)."""
        return self._local(self._arrays[2][self._session_pos(session)])

    def _instant_ns(self, ts: Any) -> int:
        t = _as_instant(ts)
        lo = pd.Timestamp(CALENDAR_START, tz=self.tz)
        hi = pd.Timestamp(self._arrays[2][-1], tz="UTC")
        if not lo <= t <= hi:
            raise ValueError(
                f"{t} is outside the {self.name} calendar's bounds [{lo}, {hi.tz_convert(self.tz)}]"
            )
        return t.as_unit("ns").value

    def is_open(self, ts: Any) -> bool:
        """True while a session is in progress: open <= ts < close."""
        ns = self._instant_ns(ts)
        i = int(np.searchsorted(self._arrays[1], ns, "right")) - 1
        return i >= 0 and ns < self._arrays[2][i]

    def next_open(self, ts: Any) -> pd.Timestamp:
        """The first open at or after ``ts`` (during a session: the next session's open)."""
        return self._next(self._arrays[1], ts, "open")

    def next_close(self, ts: Any) -> pd.Timestamp:
        """The first close at or after ``ts`` (during a session: that session's close)."""
        return self._next(self._arrays[2], ts, "close")

    def _next(self, instants: np.ndarray, ts: Any, what: str) -> pd.Timestamp:
        i = int(np.searchsorted(instants, self._instant_ns(ts), "left"))
        if i >= len(instants):
            raise ValueError(f"no {self.name} {what} after {ts} within the calendar")
        return self._local(instants[i])

    def last_completed_session(self, ts: Any) -> dt.date | None:
        """The latest session whose close is at or before ``ts``; None before the first close."""
        i = int(np.searchsorted(self._arrays[2], self._instant_ns(ts), "right")) - 1
        return self._arrays[0][i].date() if i >= 0 else None

    def close_instants(self, days: Iterable[Any]) -> pd.DatetimeIndex:
        """The UTC instant each day's bar closed, vectorized (for stamping bars).

        A session gets its close (early closes respected). A day that is not a session (an index
        that traded on an exchange holiday, a weekend row, a day outside the calendar's bounds)
        gets 16:00 local time (New York for XNYS) of that day: such rows are stamped, never dropped.
        """
        idx = pd.DatetimeIndex(days if isinstance(days, pd.Index) else list(days))
        if idx.tz is not None:
            idx = idx.tz_convert(self.tz).tz_localize(None)
        idx = idx.normalize().as_unit("ns")
        sessions, _, closes = self._arrays
        pos = sessions.get_indexer(idx)
        local = idx + pd.Timedelta(hours=DEFAULT_CLOSE.hour, minutes=DEFAULT_CLOSE.minute)
        values = local.tz_localize(self.tz).tz_convert("UTC").asi8.copy()
        hit = pos >= 0
        values[hit] = closes[pos[hit]]
        return pd.DatetimeIndex(values.view("datetime64[ns]")).tz_localize("UTC")


@lru_cache(maxsize=None)
def _timezone(name: str) -> str:
    return str(_exchange_calendar(name).tz)


@lru_cache(maxsize=None)
def _arrays(name: str) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Sessions (naive midnight), opens and closes (UTC nanoseconds, int64) of a calendar."""
    cal = _exchange_calendar(name)
    sessions = pd.DatetimeIndex(cal.sessions).as_unit("ns")
    if sessions.tz is not None:
        sessions = sessions.tz_localize(None)

    def ns(instants: pd.Series) -> np.ndarray:
        return pd.DatetimeIndex(instants).tz_convert("UTC").as_unit("ns").asi8.copy()

    return sessions, ns(cal.opens), ns(cal.closes)
