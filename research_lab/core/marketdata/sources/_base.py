"""The contract every market-data source keeps.

A :class:`BarSource` offers a universe of symbols and, for one symbol and an inclusive range of
days, returns daily bars in the shared bar schema (:mod:`research_lab.core.marketdata.schema`):
one row per day the source has data for, ``timestamp`` = the session's close instant in UTC from
the trading calendar (early closes respected; a day that is not a session, such as an index
that traded on an exchange holiday, is stamped 16:00 New York and kept).

Three outcomes, never confused:

- bars: a validated frame;
- no bars: :func:`~research_lab.core.marketdata.schema.empty_bars`, only when there truly are
  none (a holiday, a weekend, a range before the data begins);
- failure: :class:`SourceError` (network down, file missing, file unreadable, unknown symbol),
  or :class:`~research_lab.core.marketdata.schema.BarValidationError` when the data itself is
  bad (naming the file, line and field). A failure is never returned as an empty frame, so a
  pipeline cannot mistake an outage for a market holiday.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import pandas as pd

from research_lab.core.marketdata.calendar import TradingCalendar, as_date


class SourceError(RuntimeError):
    """A source could not deliver bars: names the symbol, the source and the cause."""

    def __init__(self, message: str, *, symbol: str | None = None, source: str = "") -> None:
        self.symbol = symbol
        self.source = source
        super().__init__(message)


class BarSource(ABC):
    """Where daily bars come from: ``symbols()`` to list, ``fetch()`` to read."""

    name: ClassVar[str]  # the kind, as given to make_source(): "synthetic", "csv", "yfinance"
    calendar: TradingCalendar

    @abstractmethod
    def symbols(self) -> list[str]:
        """The symbols this source offers now (upper case, sorted)."""

    @abstractmethod
    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Validated bars of ``symbol`` for the days in [start, end] (inclusive)."""

    def fetch_checked(self, symbol: str, start: dt.date, end: dt.date) -> FetchResult:
        """Like :meth:`fetch`, but invalid rows are returned as rejects instead of failing the
        whole fetch. Sources whose rows can be checked one by one (files) override it; the
        default has no rejects and fails as :meth:`fetch` does."""
        return FetchResult(self.fetch(symbol, start, end), ())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FetchResult(NamedTuple):
    """The valid bars of a fetch and the rows that were set aside (``quarantine.RejectedRow``)."""

    bars: pd.DataFrame
    rejects: tuple


def check_range(start: Any, end: Any) -> tuple[dt.date, dt.date]:
    """``(start, end)`` as dates; ``ValueError`` when start is after end."""
    a, b = as_date(start), as_date(end)
    if a > b:
        raise ValueError(f"start {a} is after end {b}")
    return a, b


def resolve_calendar(calendar: TradingCalendar | str | None) -> TradingCalendar:
    """A calendar from an instance, an exchange name, or None (NYSE)."""
    if calendar is None:
        return TradingCalendar()
    if isinstance(calendar, str):
        return TradingCalendar(calendar)
    return calendar


def between(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The rows of a validated bar frame whose session lies in [start, end], as a copy."""
    sessions = frame["session"]
    lo = sessions.searchsorted(pd.Timestamp(start), "left")
    hi = sessions.searchsorted(pd.Timestamp(end), "right")
    return frame.iloc[lo:hi].reset_index(drop=True).copy()
